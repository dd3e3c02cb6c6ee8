"""Course-wide switches: seeds, determinism, and the CI smoke mode.

Notebooks and the CLI read their sizes through `course_params`, so CI (TFCOURSE_SMOKE=1)
shrinks steps and epochs without any notebook carrying its own copy of that logic.
"""

import os
import random

SMOKE_ENV = "TFCOURSE_SMOKE"


def smoke_mode():
    """True when TFCOURSE_SMOKE is set to 1/true/yes (CI, quick checks)."""
    return os.environ.get(SMOKE_ENV, "").strip().lower() in ("1", "true", "yes")


def course_params(full, smoke):
    """Returns `full` (the real course values) or `full` updated with `smoke` in smoke mode.

    Args:
      full: dict of parameter -> value used in the classroom.
      smoke: dict of the parameters that shrink for CI; keys must be a subset of `full`.
    """
    unknown = set(smoke) - set(full)
    if unknown:
        raise ValueError(f"smoke values for unknown parameters {sorted(unknown)}; expected keys of {sorted(full)}")
    params = dict(full)
    if smoke_mode():
        params.update(smoke)
    return params


def set_seed(seed, deterministic=True):
    """Seeds Python, numpy and TensorFlow; with `deterministic`, also fixes op order.

    Op determinism makes two runs with the same seed bit-identical on CPU (and GPU),
    at some cost in speed; tests that compare numbers rely on it.
    """
    import numpy as np
    import tensorflow as tf

    random.seed(seed)
    np.random.seed(seed)
    tf.random.set_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()

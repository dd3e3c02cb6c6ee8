"""Course-wide switches: seeds, determinism, the CI smoke mode, and where runs are written.

Notebooks and the CLI read their sizes through `course_params`, so CI (TFCOURSE_SMOKE=1)
shrinks steps and epochs without any notebook carrying its own copy of that logic.

Every run (the CLI's, the notebooks', `tfcourse tensorboard`'s default) writes under one
folder per user, `runs_dir()`: on a lab server with many students, a folder the first
student created would otherwise refuse every other student's writes.
"""

import os
import random
import re
import shutil
import stat
import tempfile

from tfcourse.errors import CourseError

SMOKE_ENV = "TFCOURSE_SMOKE"
RUNS_ENV = "TFCOURSE_RUNS"


def default_runs_dir(uid=None):
    """`<temp dir>/tfcourse-<uid>` for the user `uid` (default: this process's user).

    Under the temp directory (not the home directory) so CI's TMPDIR holds everything a
    test session writes, and a quota-limited home never fills up with checkpoints.
    """
    if uid is None:
        uid = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    return os.path.join(tempfile.gettempdir(), f"tfcourse-{uid}")


def runs_dir():
    """This user's run folder ($TFCOURSE_RUNS, else `default_runs_dir()`), created mode 0700.

    Raises:
      CourseError: the folder exists but belongs to another user, or is not a directory;
        nothing is ever written into it then.
    """
    path = os.environ.get(RUNS_ENV) or default_runs_dir()
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
    except OSError as e:
        raise CourseError(f"cannot create the run folder {path} ({e.strerror}); "
                          f"set {RUNS_ENV} to a folder of your own") from None
    # lstat for the shared default: a symlink planted in /tmp by someone else must not
    # redirect our writes; an explicit $TFCOURSE_RUNS may be a symlink of the user's own.
    info = os.stat(path) if os.environ.get(RUNS_ENV) else os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise CourseError(f"the run folder {path} is not a directory; set {RUNS_ENV} to a folder of your own")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise CourseError(f"the run folder {path} belongs to another user (uid {info.st_uid}); "
                          f"set {RUNS_ENV} to a folder of your own")
    return path


def default_log_dir():
    """Where `tfcourse train` writes runs and `tfcourse tensorboard` looks by default."""
    return os.path.join(runs_dir(), "mnist", "logs")


def notebook_dir(name):
    """An empty folder `<runs_dir>/notebook<name>` for one run of a notebook.

    Emptied on every call, so a notebook never depends on what an earlier run left there
    (nor fails because an earlier run left nothing).
    """
    path = os.path.join(runs_dir(), f"notebook{name}")
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def smoke_mode():
    """True when TFCOURSE_SMOKE is set to 1/true/yes (CI, quick checks)."""
    return os.environ.get(SMOKE_ENV, "").strip().lower() in ("1", "true", "yes")


def course_params(notebook, full):
    """Returns `full` (the real course values), or in smoke mode `full` updated with the
    notebook's smaller values from `tfcourse.smoke.SMOKE`.

    Args:
      notebook: the notebook's number, "00" to "10" (a key of `tfcourse.smoke.SMOKE`).
      full: dict of parameter -> value used in the classroom.

    Raises:
      ValueError: an unknown notebook, or smoke values for keys `full` does not have.
    """
    from tfcourse.smoke import SMOKE

    if notebook not in SMOKE:
        raise ValueError(f"unknown notebook {notebook!r}; expected one of {sorted(SMOKE)}")
    smoke = SMOKE[notebook]
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


def _root_pattern(root):
    """A regex matching `root` as a whole path: not inside a longer name on either side."""
    sep = re.escape(os.sep)
    # Before: not a path character (so /a/x/fresh does not match /x/fresh). After: a separator
    # (group 1), or the path's end (so /x/fresh does not match inside /x/freshtmp).
    return re.compile(rf"(?<![\w.~{sep}-]){re.escape(root)}(?:({sep})|(?![\w-]|\.\w))")


def shown(text):
    """`text` with this machine's folders written as a reader can follow them anywhere.

    A path inside the checkout becomes relative to it, the temp folder becomes `<tmp>` and the
    home folder `~`, so a notebook's stored output names no one's machine (the run folder prints
    as `<tmp>/tfcourse-<uid>`). A folder is replaced only as a whole path, the deepest first:
    with the checkout at /x/fresh, /x/freshtmp/a stays as it is.
    """
    checkout = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    roots = [(os.path.realpath(tempfile.gettempdir()), "<tmp>"), (os.path.abspath(tempfile.gettempdir()), "<tmp>"),
             (os.path.expanduser("~"), "~")]
    if os.path.isfile(os.path.join(checkout, "pyproject.toml")):  # a checkout, not site-packages
        roots.append((checkout, "."))
    text = str(text)
    # Deepest first: a temp folder inside the home folder is <tmp>, not ~/tmp.
    for root, name in sorted(roots, key=lambda pair: -len(pair[0])):
        if root in ("", os.sep):
            continue
        text = _root_pattern(root).sub(
            lambda match, name=name: (name + os.sep if name != "." else "") if match.group(1) else name, text)
    return text

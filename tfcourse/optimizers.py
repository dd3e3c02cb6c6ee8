"""Optimizers and learning-rate schedules the trainer offers, by name.

The tutorial used plain gradient descent at 0.01; the course default is Adam, which
reaches the same network's best accuracy in a fraction of the steps (see docs/train.md).
"""

import keras
import numpy as np
import tensorflow as tf

from tfcourse.errors import CourseError
from tfcourse.train_config import DEFAULT_LEARNING_RATES, OPTIMIZERS, SCHEDULES  # noqa: F401 (re-exported)


def make_schedule(name, learning_rate, total_steps):
    """A learning rate (float) or a keras LearningRateSchedule of the optimizer step.

    Args:
      name: "constant"; "cosine" (decay to 0 over total_steps, the usual choice for a
        fixed budget); "exponential" (x0.1 over total_steps, smoothly).
      learning_rate: the initial rate, > 0.
      total_steps: length of the run in steps, > 0.
    """
    if name not in SCHEDULES:
        raise CourseError(f"lr_schedule must be one of {', '.join(SCHEDULES)}, got {name!r}")
    if not learning_rate > 0:
        raise CourseError(f"learning_rate must be > 0, got {learning_rate!r}")
    if name == "constant":
        return float(learning_rate)
    if name == "cosine":
        return keras.optimizers.schedules.CosineDecay(float(learning_rate), decay_steps=int(total_steps))
    return keras.optimizers.schedules.ExponentialDecay(float(learning_rate), decay_steps=int(total_steps),
                                                       decay_rate=0.1)


def make_optimizer(name, learning_rate, momentum=0.9):
    """A keras optimizer by name: sgd (the tutorial's GradientDescent), momentum, adam.

    Create it under the strategy's scope so its slot variables are mirrored too.
    """
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate)
    if name == "momentum":
        return keras.optimizers.SGD(learning_rate, momentum=momentum)
    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    raise CourseError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}")


def current_learning_rate(optimizer):
    """The rate the optimizer's next step will use, as a Python float."""
    return float(np.asarray(tf.convert_to_tensor(optimizer.learning_rate)))

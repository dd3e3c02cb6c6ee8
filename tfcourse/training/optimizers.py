"""Optimizers and learning-rate schedules the trainer offers, by name.

The tutorial used plain gradient descent at 0.01; the course default is Adam, which
reaches the same network's best accuracy in a fraction of the steps (see docs/train.md).
"""

import keras
import numpy as np
import tensorflow as tf

from tfcourse.errors import check_choice, check_positive_number
from tfcourse.training.config import DEFAULT_LEARNING_RATES, OPTIMIZERS, SCHEDULES  # noqa: F401 (re-exported)


def make_schedule(name, learning_rate, total_steps):
    """A learning rate (float) or a keras LearningRateSchedule of the optimizer step.

    Args:
      name: "constant"; "cosine" (decay to 0 over total_steps, the usual choice for a
        fixed budget); "exponential" (x0.1 over total_steps, smoothly).
      learning_rate: the initial rate, > 0.
      total_steps: length of the run in steps, > 0.
    """
    check_choice("lr_schedule", name, SCHEDULES)
    check_positive_number("learning_rate", learning_rate)
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
    check_choice("optimizer", name, OPTIMIZERS)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate)
    if name == "momentum":
        return keras.optimizers.SGD(learning_rate, momentum=momentum)
    return keras.optimizers.Adam(learning_rate)


def current_learning_rate(optimizer):
    """The rate the optimizer's next step will use, as a Python float."""
    return float(np.asarray(tf.convert_to_tensor(optimizer.learning_rate)))

"""One training step of the TF2 face, spelled out for the notebooks.

`tfcourse.training.Trainer` runs the same forward / loss / gradients / update sequence,
wrapped for distribution strategies and many steps per call; this is the single-device
step a student can read in one screen and trace into a graph (notebooks 02 and 03).
"""

import tensorflow as tf

from tfcourse import mnist


def training_step(model, optimizer, images, labels):
    """One step of gradient descent on one batch; the TF2 counterpart of v1's train_op.

    Args:
      model: a tfcourse.mnist.MLP.
      optimizer: a keras optimizer (e.g. keras.optimizers.SGD(0.01), the tutorial's).
      images: float32 [batch, 784].
      labels: integer [batch], values 0..9.
    Returns:
      the batch's loss before the update, float32 scalar.
    """
    with tf.GradientTape() as tape:
        batch_loss = mnist.loss(model(images), labels)
    gradients = tape.gradient(batch_loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    return batch_loss

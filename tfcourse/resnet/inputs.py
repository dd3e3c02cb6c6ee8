"""Images for the ResNet lab: synthetic ImageNet-shaped batches made on the device, and MNIST.

Synthetic data is how tf_cnn_benchmarks and MLPerf separate the network's speed from the
input pipeline's: the batch is drawn with tf.random inside the compiled step, on the replica's
own device, so the timed loop holds no host-to-device copy and no file reading.

The real-image path reuses MNIST so that the same network and training step can be seen to
learn: each 28x28 grey digit is padded (or resized) to the net's input and repeated over
three channels, as an ImageNet network expects colour images.
"""

import tensorflow as tf

from tfcourse.datasets.mnist_files import IMAGE_SIZE
from tfcourse.datasets.pipeline import make_dataset
from tfcourse.errors import check_int


def synthetic_batch(batch_size, image_size, num_classes, seed=0):
    """One batch of random ImageNet-shaped data, created where the calling op runs.

    Call it inside the replica function of a tf.function: the ops are placed on that
    replica's device, so nothing is copied from the host per step.

    Args:
      batch_size: examples per replica.
      image_size: S; images are [B, S, S, 3].
      num_classes: labels are drawn from [0, num_classes).
      seed: with the replica's id, keys a stateless generator: runs are reproducible (also
        under op determinism and XLA, which ignore stateful seeds) and replicas differ.
    Returns:
      (images [B, S, S, 3] float32 in [0, 1), labels [B] int32); the model casts the images
      to its compute dtype, exactly as it would real data.
    """
    context = tf.distribute.get_replica_context()
    replica = context.replica_id_in_sync_group if context is not None else 0
    key = tf.stack([tf.constant(seed, tf.int32), tf.cast(replica, tf.int32)])
    images = tf.random.stateless_uniform([batch_size, image_size, image_size, 3], seed=key)
    labels = tf.random.stateless_uniform([batch_size], seed=key + 1, maxval=num_classes, dtype=tf.int32)
    return images, labels


def mnist_to_rgb(images, image_size=32):
    """Turns flat MNIST digits into colour images of the net's size.

    Args:
      images: [B, 784] float32 in [0, 1] (a DataSet's .images or a batch of them).
      image_size: output side S >= 28 is reached by zero padding (the digit stays sharp and
        centred, like the 32x32 LeNet input); S < 28 by bilinear resizing.
    Returns:
      [B, S, S, 3] float32.
    """
    check_int("image_size", image_size, 8)
    x = tf.reshape(tf.convert_to_tensor(images, tf.float32), [-1, IMAGE_SIZE, IMAGE_SIZE, 1])
    if image_size >= IMAGE_SIZE:
        before = (image_size - IMAGE_SIZE) // 2
        after = image_size - IMAGE_SIZE - before
        x = tf.pad(x, [[0, 0], [before, after], [before, after], [0, 0]])
    else:
        x = tf.image.resize(x, [image_size, image_size])
    return tf.repeat(x, 3, axis=-1)


def mnist_dataset(data_set, batch_size, image_size=32, shuffle=True, epochs=None, seed=0):
    """Batches of (images [B, S, S, 3] float32, labels [B] int32) from a MNIST DataSet split.

    Built on the course's index-gather pipeline, with the pad/resize done per batch.
    """
    dataset = make_dataset(data_set, batch_size, shuffle=shuffle, epochs=epochs, seed=seed)
    return dataset.map(lambda images, labels: (mnist_to_rgb(images, image_size), labels),
                       num_parallel_calls=tf.data.AUTOTUNE)

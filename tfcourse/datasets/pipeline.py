"""tf.data pipelines over a `DataSet` split.

Two pipelines, on purpose:
  * `textbook_pipeline`: the idiom every TensorFlow guide shows (from_tensor_slices ->
    cache -> shuffle -> batch -> repeat -> prefetch). It is per-example work, so a small
    MLP can out-run it.
  * `make_dataset`: what the trainer uses. Each epoch is one in-graph permutation of
    indices, cut into batches, and each batch is one `tf.gather` from the tensors held
    in memory: per-batch rather than per-example work (benchmarks/input_pipeline.py).
Both shuffle reproducibly from `seed`, reshuffle every epoch, and can drop the last
short batch (needed where every replica must see the same batch shape).
"""

import numpy as np
import tensorflow as tf

from tfcourse.datasets.mnist import IMAGE_PIXELS
from tfcourse.errors import CourseError, check_positive_int

AUTOTUNE = tf.data.AUTOTUNE


def _check_batch_size(batch_size, num_examples):
    check_positive_int("batch_size", batch_size)
    if batch_size > num_examples:
        raise CourseError(f"batch_size {batch_size} is larger than the split ({num_examples} examples)")


def _check_positive_or_none(name, value):
    check_positive_int(name, value, allow_none=True)


def check_split(data_set, batch_size):
    """Raises CourseError unless `data_set` holds images [N, 784] float32 and N labels, N >= batch_size.

    Runs once in Python when a pipeline is built: nothing is added to the per-batch work.
    """
    images, labels = data_set.images, data_set.labels
    if np.ndim(images) != 2 or images.shape[1] != IMAGE_PIXELS or images.dtype != np.float32:
        raise CourseError(f"images must be [N, {IMAGE_PIXELS}] float32 (read_data_sets gives that), "
                          f"got shape {list(np.shape(images))} dtype {images.dtype}")
    if np.ndim(labels) == 0 or len(labels) != images.shape[0]:
        raise CourseError(f"{images.shape[0]} images but {np.size(labels)} labels: counts must match")
    _check_batch_size(batch_size, int(images.shape[0]))


def make_dataset(data_set, batch_size, shuffle=True, epochs=None, seed=0, drop_remainder=True,
                 labels_dtype=tf.int32, batches_per_element=1):
    """Batches of (images [B, 784] float32, labels [B] int32) from a DataSet.

    Args:
      data_set: a tfcourse.datasets.DataSet (or any object with .images and .labels).
      batch_size: examples per batch.
      shuffle: a fresh permutation each epoch, derived from (seed, epoch).
      epochs: number of passes; None repeats forever.
      drop_remainder: drop each epoch's last short batch so every batch has shape [B, ...].
      batches_per_element: k > 1 yields blocks (images [k, B, 784], labels [k, B]) for an
        in-graph loop running k steps per call: tf.data's fixed cost per element is then
        paid once per k batches (benchmarks/input_pipeline.py measures the difference).
    Returns:
      A tf.data.Dataset, prefetched.
    """
    check_split(data_set, batch_size)
    _check_positive_or_none("epochs", epochs)
    _check_positive_or_none("batches_per_element", batches_per_element)
    num_examples = int(data_set.images.shape[0])
    images = tf.constant(data_set.images)
    labels = tf.cast(tf.constant(data_set.labels), labels_dtype) if np.ndim(data_set.labels) == 1 \
        else tf.constant(data_set.labels)

    num_full = num_examples // batch_size

    def epoch_indices(epoch):
        indices = tf.range(num_examples, dtype=tf.int64)
        if shuffle:
            indices = tf.random.experimental.stateless_shuffle(
                indices, seed=tf.stack([tf.constant(seed, tf.int64), epoch]))
        # Reshape the permutation into [num_batches, B] rows: one dataset element per
        # batch, not per example, which is what makes this pipeline fast.
        batches = tf.data.Dataset.from_tensor_slices(tf.reshape(indices[:num_full * batch_size], [num_full, batch_size]))
        if not drop_remainder and num_examples % batch_size:
            batches = batches.concatenate(tf.data.Dataset.from_tensors(indices[num_full * batch_size:]))
        return batches

    epoch_numbers = tf.data.Dataset.range(epochs) if epochs is not None else tf.data.Dataset.range(2**62)
    dataset = epoch_numbers.flat_map(epoch_indices)
    if batches_per_element > 1:
        if not drop_remainder:
            raise CourseError("batches_per_element > 1 needs drop_remainder=True (blocks of equal batches)")
        dataset = dataset.batch(batches_per_element, drop_remainder=True)
    dataset = dataset.map(lambda idx: (tf.gather(images, idx), tf.gather(labels, idx)),
                          num_parallel_calls=AUTOTUNE, deterministic=True)
    return dataset.prefetch(AUTOTUNE)


def textbook_pipeline(data_set, batch_size, shuffle=True, epochs=None, seed=0, drop_remainder=True,
                      shuffle_buffer=10000):
    """The canonical per-example pipeline, kept for teaching and as the benchmark baseline."""
    check_split(data_set, batch_size)
    dataset = tf.data.Dataset.from_tensor_slices(
        (data_set.images, data_set.labels.astype(np.int32) if data_set.labels.ndim == 1 else data_set.labels))
    dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    dataset = dataset.repeat(epochs)
    return dataset.prefetch(AUTOTUNE)

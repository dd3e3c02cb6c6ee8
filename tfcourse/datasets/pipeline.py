"""tf.data pipelines over a `DataSet` split.

Two pipelines, on purpose:
  * `textbook_pipeline`: the idiom every TensorFlow guide shows (from_tensor_slices ->
    cache -> shuffle -> batch -> repeat -> prefetch). It is per-example work, so a small
    MLP can out-run it.
  * `make_dataset`: what the trainer (tfcourse.training) uses. Each epoch is one in-graph
    permutation of indices, cut into batches, and each batch is one `tf.gather` from the
    tensors held in memory: per-batch rather than per-example work
    (benchmarks/input_pipeline.py).
Both shuffle reproducibly from `seed`, reshuffle every epoch, and can drop the last
short batch (needed where every replica must see the same batch shape).

`make_dataset`'s order is a pure function of (seed, step): every batch is a slice of one
epoch's permutation, and the permutation depends only on (seed, epoch). So
  * a run resumed at step s sees exactly the batches the uninterrupted run saw from s on
    (`start_step` skips index rows, never gathering the skipped images), and
  * with N replicas (`input_context`: one or several workers), replica r of step s gets
    rows [r * B/N, (r + 1) * B/N) of the same global batch a single device would have
    used, so the averaged gradient is the single-device gradient up to float rounding.
"""

import numpy as np
import tensorflow as tf

from tfcourse.datasets.mnist_files import IMAGE_PIXELS
from tfcourse.errors import CourseError, check_int, check_positive_int

AUTOTUNE = tf.data.AUTOTUNE


def check_batch(batch_size, num_examples, num_replicas=1, split=None):
    """Raises CourseError unless the (global) batch fits the split and splits evenly over replicas.

    `split` names the split in the message ("training" -> "the training split").
    """
    check_positive_int("batch_size", batch_size)
    if batch_size > num_examples:
        where = f"the {split} split" if split else "the split"
        raise CourseError(f"batch_size {batch_size} is larger than {where} ({num_examples} examples)")
    if batch_size % num_replicas:
        raise CourseError(f"batch_size {batch_size} must be a multiple of the {num_replicas} replicas in sync")


def check_split(data_set, batch_size, num_replicas=1):
    """Raises CourseError unless `data_set` holds images [N, 784] float32 and N labels, N >= batch_size.

    batch_size must also split evenly over `num_replicas`. Runs once in Python when a pipeline
    is built: nothing is added to the per-batch work.
    """
    images, labels = data_set.images, data_set.labels
    if np.ndim(images) != 2 or images.shape[1] != IMAGE_PIXELS or images.dtype != np.float32:
        raise CourseError(f"images must be [N, {IMAGE_PIXELS}] float32 (read_data_sets gives that), "
                          f"got shape {list(np.shape(images))} dtype {images.dtype}")
    if np.ndim(labels) == 0 or len(labels) != images.shape[0]:
        raise CourseError(f"{images.shape[0]} images but {np.size(labels)} labels: counts must match")
    check_batch(batch_size, int(images.shape[0]), num_replicas)


def steps_per_epoch(num_examples, batch_size):
    """Full batches in one epoch (the short last batch is dropped)."""
    return num_examples // batch_size


def _epoch_order(num_examples, seed, epoch, shuffle=True):
    """Example indices of one epoch, int64 [num_examples]: a permutation fixed by (seed, epoch)."""
    indices = tf.range(num_examples, dtype=tf.int64)
    if not shuffle:
        return indices
    return tf.random.experimental.stateless_shuffle(indices, seed=tf.stack([tf.constant(seed, tf.int64), epoch]))


def epoch_batches(num_examples, batch_size, seed, epoch):
    """One epoch's full batches of example indices: int64 [steps_per_epoch, B] (make_dataset's order)."""
    num_full = steps_per_epoch(num_examples, batch_size)
    indices = _epoch_order(num_examples, seed, tf.constant(epoch, tf.int64))
    return tf.reshape(indices[:num_full * batch_size], [num_full, batch_size])


def make_dataset(data_set, batch_size, shuffle=True, epochs=None, seed=0, drop_remainder=True,
                 labels_dtype=tf.int32, batches_per_element=1, start_step=0, input_context=None):
    """Batches of (images [B, 784] float32, labels [B] int32) from a DataSet.

    Args:
      data_set: a tfcourse.datasets.DataSet (or any object with .images and .labels).
      batch_size: examples per batch (per step: the global batch, summed over replicas).
      shuffle: a fresh permutation each epoch, derived from (seed, epoch).
      epochs: number of passes; None repeats forever.
      drop_remainder: drop each epoch's last short batch so every batch has shape [B, ...].
      batches_per_element: k > 1 yields blocks (images [k, B, 784], labels [k, B]) for an
        in-graph loop running k steps per call: tf.data's fixed cost per element is then
        paid once per k batches (benchmarks/input_pipeline.py measures the difference).
      start_step: the first batch the dataset yields (a resumed run starts where it stopped).
      input_context: a tf.distribute.InputContext (from
        `strategy.distribute_datasets_from_function`): this input pipeline then yields its
        replicas' per-replica slices of each batch, [B / num_replicas, ...] each, in order.
    Returns:
      A tf.data.Dataset, prefetched.
    """
    check_split(data_set, batch_size, input_context.num_replicas_in_sync if input_context else 1)
    check_positive_int("epochs", epochs, allow_none=True)
    check_positive_int("batches_per_element", batches_per_element, allow_none=True)
    start_step = check_int("start_step", start_step, 0)
    num_examples = int(data_set.images.shape[0])
    if input_context is not None and (batches_per_element > 1 or not drop_remainder):
        raise CourseError("input_context needs batches_per_element=1 and drop_remainder=True")
    if batches_per_element > 1 and not drop_remainder:
        raise CourseError("batches_per_element > 1 needs drop_remainder=True (blocks of equal batches)")
    images = tf.constant(data_set.images)
    labels = tf.cast(tf.constant(data_set.labels), labels_dtype) if np.ndim(data_set.labels) == 1 \
        else tf.constant(data_set.labels)

    num_full = steps_per_epoch(num_examples, batch_size)
    short_batch = not drop_remainder and num_examples % batch_size
    start_epoch, offset = divmod(start_step, num_full + bool(short_batch))

    def epoch_indices(epoch):
        indices = _epoch_order(num_examples, seed, epoch, shuffle)
        # Reshape the permutation into [num_batches, B] rows: one dataset element per
        # batch, not per example, which is what makes this pipeline fast.
        batches = tf.data.Dataset.from_tensor_slices(tf.reshape(indices[:num_full * batch_size], [num_full, batch_size]))
        if short_batch:
            batches = batches.concatenate(tf.data.Dataset.from_tensors(indices[num_full * batch_size:]))
        return batches

    dataset = tf.data.Dataset.range(start_epoch, 2**62 if epochs is None else epochs).flat_map(epoch_indices)
    # Skipping index rows is cheap: no images are gathered for the skipped steps.
    dataset = dataset.skip(offset)
    if input_context is not None:
        dataset = dataset.flat_map(_replica_rows(batch_size, input_context))
    if batches_per_element > 1:
        dataset = dataset.batch(batches_per_element, drop_remainder=True)
    dataset = dataset.map(lambda idx: (tf.gather(images, idx), tf.gather(labels, idx)),
                          num_parallel_calls=AUTOTUNE, deterministic=True)
    return dataset.prefetch(AUTOTUNE)


def _replica_rows(batch_size, input_context):
    """Maps a global batch's indices [B] to this pipeline's per-replica rows, one element each.

    This pipeline's replicas take consecutive per-replica slices of each global batch; the
    strategy hands consecutive elements to its local replicas in order.
    """
    per_replica = batch_size // input_context.num_replicas_in_sync
    local_replicas = input_context.num_replicas_in_sync // input_context.num_input_pipelines
    first = input_context.input_pipeline_id * local_replicas * per_replica

    def rows(indices):
        mine = indices[first:first + local_replicas * per_replica]
        return tf.data.Dataset.from_tensor_slices(tf.reshape(mine, [local_replicas, per_replica]))

    return rows


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

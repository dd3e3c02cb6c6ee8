"""The trainer's input: a data order that is a pure function of (seed, step).

Every global batch is a slice of one epoch's permutation, and the permutation depends
only on (seed, epoch) -- the same as `datasets.pipeline.make_dataset`. So
  * a run resumed at step s sees exactly the batches the uninterrupted run saw from s on
    (the dataset starts at s rather than replaying and discarding earlier batches), and
  * with N replicas (one or several workers), replica r of step s gets rows
    [r * B/N, (r + 1) * B/N) of the same global batch a single device would have used,
    so the averaged gradient is the single-device gradient up to float rounding.
"""

import tensorflow as tf

from tfcourse.errors import CourseError, check_positive_int

AUTOTUNE = tf.data.AUTOTUNE


def steps_per_epoch(num_examples, global_batch_size):
    """Full global batches in one epoch (the short last batch is dropped)."""
    return num_examples // global_batch_size


def check_batch(global_batch_size, num_examples, num_replicas=1):
    """Raises CourseError unless the global batch fits the split and splits evenly over replicas."""
    check_positive_int("batch_size", global_batch_size)
    if global_batch_size > num_examples:
        raise CourseError(f"batch_size {global_batch_size} is larger than the training split ({num_examples} examples)")
    if global_batch_size % num_replicas:
        raise CourseError(
            f"batch_size {global_batch_size} must be a multiple of the {num_replicas} replicas in sync")


def epoch_batches(num_examples, global_batch_size, seed, epoch):
    """One epoch's global batches of example indices: int64 [steps_per_epoch, B]."""
    indices = tf.random.experimental.stateless_shuffle(
        tf.range(num_examples, dtype=tf.int64), seed=tf.stack([tf.constant(seed, tf.int64), epoch]))
    num_full = steps_per_epoch(num_examples, global_batch_size)
    return tf.reshape(indices[:num_full * global_batch_size], [num_full, global_batch_size])


def train_dataset_fn(data_set, global_batch_size, seed=0, start_step=0):
    """A `dataset_fn(input_context)` for `strategy.distribute_datasets_from_function`.

    Args:
      data_set: a tfcourse DataSet (images float32 [N, 784], labels [N]).
      global_batch_size: examples per step summed over all replicas.
      seed: fixes every epoch's permutation.
      start_step: the first global step the dataset yields (resume).
    Returns:
      A function of a tf.distribute.InputContext (or None for a plain, single-device
      dataset) returning a dataset of per-replica (images float32 [b, 784], labels
      int32 [b]) with b = global_batch_size // num_replicas, repeating forever.
    """
    num_examples = int(data_set.images.shape[0])
    check_batch(global_batch_size, num_examples)
    per_epoch = steps_per_epoch(num_examples, global_batch_size)
    start_epoch, offset = divmod(int(start_step), per_epoch)

    def dataset_fn(input_context=None):
        num_pipelines = input_context.num_input_pipelines if input_context else 1
        pipeline_id = input_context.input_pipeline_id if input_context else 0
        num_replicas = input_context.num_replicas_in_sync if input_context else 1
        check_batch(global_batch_size, num_examples, num_replicas)
        per_replica = global_batch_size // num_replicas
        local_replicas = num_replicas // num_pipelines
        images = tf.constant(data_set.images)
        labels = tf.cast(tf.constant(data_set.labels), tf.int32)

        epochs = tf.data.Dataset.range(start_epoch, 2**62)
        batches = epochs.flat_map(lambda epoch: tf.data.Dataset.from_tensor_slices(
            epoch_batches(num_examples, global_batch_size, seed, epoch)))
        # Skipping index rows is cheap: no images are gathered for the skipped steps.
        batches = batches.skip(offset)
        # This pipeline's replicas take consecutive per-replica slices of each global
        # batch; the strategy hands consecutive elements to its local replicas in order.
        first = pipeline_id * local_replicas * per_replica

        def replica_rows(indices):
            mine = indices[first:first + local_replicas * per_replica]
            return tf.data.Dataset.from_tensor_slices(tf.reshape(mine, [local_replicas, per_replica]))

        batches = batches.flat_map(replica_rows)
        dataset = batches.map(lambda idx: (tf.gather(images, idx), tf.gather(labels, idx)),
                              num_parallel_calls=AUTOTUNE, deterministic=True)
        return dataset.prefetch(AUTOTUNE)

    return dataset_fn


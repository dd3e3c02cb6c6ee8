"""The ResNet training step, shared by the benchmark (synthetic data) and the MNIST check.

One step is the tf_cnn_benchmarks recipe in TF 2 form: each replica runs forward and
backward on its own batch inside `strategy.run`, the Keras optimizer sums the gradients
across replicas (an all-reduce) and applies the same update everywhere. The loss is divided
by the GLOBAL batch size, so that summing the replicas' gradients gives the mean gradient.
"""

import contextlib

import keras
import tensorflow as tf

from tfcourse.errors import CourseError
from tfcourse.resnet import inputs
from tfcourse.training import optimizers

# What each --precision means: the Keras dtype policy, and whether float16's narrow exponent
# needs dynamic loss scaling (bfloat16 has float32's exponent range, so it does not).
PRECISIONS = {
    "float32": ("float32", False),
    "mixed_float16": ("mixed_float16", True),
    "mixed_bfloat16": ("mixed_bfloat16", False),
}


def check_precision(precision):
    if precision not in PRECISIONS:
        raise CourseError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return precision


@contextlib.contextmanager
def dtype_policy(precision):
    """Builds layers under `precision`'s Keras policy, restoring the previous one afterwards."""
    policy, _ = PRECISIONS[check_precision(precision)]
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def resnet_optimizer(precision="float32", learning_rate=0.1, momentum=0.9):
    """SGD with momentum (the ResNet recipe, the trainer's "momentum" optimizer); wrapped in a
    LossScaleOptimizer for float16."""
    optimizer = optimizers.make_optimizer("momentum", learning_rate, momentum=momentum)
    if PRECISIONS[check_precision(precision)][1]:
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def compute_loss(labels, logits, global_batch_size):
    """Cross-entropy summed over this replica's examples / global batch: a scalar float32.

    labels: [B] int32; logits: [B, num_classes] float32.
    """
    per_example = keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    return tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)


def make_train_step(model, optimizer, strategy, global_batch_size, xla=False, synthetic=None):
    """Returns step(inputs=None) -> loss summed over replicas (a scalar float32 tensor).

    Args:
      model, optimizer: built under `strategy.scope()`.
      global_batch_size: batch per replica x replicas.
      xla: compile with XLA. On one device the whole step (forward, backward, update) is one
        XLA cluster; with several replicas the all-reduce must stay outside XLA, so each
        replica's forward and backward are compiled and the update runs as ordinary ops.
      synthetic: None for real data, or (batch_per_replica, image_size, num_classes): then each
        replica draws its batch with tf.random inside the step, and step() takes no inputs.
    """
    scales_loss = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    variables = model.trainable_variables
    if not optimizer.built:
        # Slots (momentum) must exist, mirrored, before the first step: created lazily inside
        # a replica function, MirroredStrategy would make them on one replica only.
        with strategy.scope():
            optimizer.build(variables)

    def forward_backward(images, labels):
        with tf.GradientTape() as tape:
            logits = model(images, training=True)
            loss = compute_loss(labels, logits, global_batch_size)
            scaled = optimizer.scale_loss(loss) if scales_loss else loss
        return loss, tape.gradient(scaled, variables)

    one_device = strategy.num_replicas_in_sync == 1
    if xla and not one_device:
        forward_backward = tf.function(forward_backward, jit_compile=True)

    def replica_step(images=None, labels=None):
        if synthetic is not None:
            images, labels = inputs.synthetic_batch(*synthetic)
        loss, grads = forward_backward(images, labels)
        optimizer.apply_gradients(zip(grads, variables))
        return loss

    def step(inputs=None):
        args = () if inputs is None else inputs
        per_replica = strategy.run(replica_step, args=args)
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    return tf.function(step, jit_compile=bool(xla and one_device))


def evaluate_accuracy(model, dataset):
    """Fraction of correct top-1 predictions over a finite dataset of (images, labels)."""
    correct = total = 0
    for images, labels in dataset:
        predictions = tf.argmax(model(images, training=False), axis=-1, output_type=tf.int32)
        correct += int(tf.reduce_sum(tf.cast(predictions == labels, tf.int32)))
        total += int(labels.shape[0])
    return correct / max(total, 1)


def train_on_mnist(model, data_sets, steps=200, batch_size=64, learning_rate=0.05, image_size=None,
                   eval_examples=2000, seed=0):
    """Trains `model` on MNIST digits with the benchmark's own step; returns test accuracy.

    Args:
      model: a ResNet built for 10 classes; its input side sets the image size.
      data_sets: tfcourse.datasets.read_data_sets(...) result.
      steps: training steps of `batch_size` examples.
      eval_examples: test examples scored at the end (the first ones, in file order).
    Returns:
      dict(accuracy=float in [0, 1], loss=last training loss, steps=steps).
    """
    if model.output_shape[-1] != 10:
        raise CourseError(f"MNIST has 10 classes; the model has {model.output_shape[-1]} outputs")
    image_size = image_size or int(model.input_shape[1])
    strategy = tf.distribute.get_strategy()
    optimizer = resnet_optimizer("float32", learning_rate=learning_rate)
    step = make_train_step(model, optimizer, strategy, batch_size)
    batches = iter(inputs.mnist_dataset(data_sets.train, batch_size, image_size, seed=seed))
    loss = float("nan")
    for _ in range(steps):
        loss = float(step(next(batches)))
    test = data_sets.test
    count = min(eval_examples, test.num_examples)
    eval_batches = tf.data.Dataset.from_tensor_slices(
        (test.images[:count], test.labels[:count].astype("int32"))).batch(500)
    eval_batches = eval_batches.map(lambda x, y: (inputs.mnist_to_rgb(x, image_size), y))
    return {"accuracy": evaluate_accuracy(model, eval_batches), "loss": loss, "steps": steps}

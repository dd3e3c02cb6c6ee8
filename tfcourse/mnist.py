"""The MNIST tutorial's model in TensorFlow 2: inference, loss and evaluation.

The talk's four functions map onto this module and `tfcourse.training`:
  * inference  -> `MLP.__call__` (two ReLU hidden layers and a linear softmax layer);
  * loss       -> `loss` (one-hot labels, softmax cross-entropy, mean over the batch);
  * training   -> `tfcourse.training.Trainer` (optimizer, global step, summaries);
  * evaluation -> `evaluation` (how many top-1 predictions are right).
The graph/session face of the same math lives in `tfcourse.v1`.
"""

import math

import numpy as np
import tensorflow as tf

# The MNIST shapes are the data's; the model re-exports them (mnist.IMAGE_PIXELS in notebook 02).
from tfcourse.datasets.mnist_files import IMAGE_PIXELS, IMAGE_SIZE, NUM_CLASSES  # noqa: F401
from tfcourse.errors import CourseError, check_positive_int

LAYER_NAMES = ("hidden1", "hidden2", "softmax_linear")


def layer_shapes(hidden1_units, hidden2_units):
    """{layer name: (fan_in, fan_out)} for the three layers of the MLP."""
    return {
        "hidden1": (IMAGE_PIXELS, hidden1_units),
        "hidden2": (hidden1_units, hidden2_units),
        "softmax_linear": (hidden2_units, NUM_CLASSES),
    }


def initial_weights(hidden1_units, hidden2_units, seed=0):
    """The tutorial's initial values as numpy arrays, a pure function of `seed`.

    Call it eagerly (outside `tf.Graph().as_default()`): it returns concrete arrays.

    Weights come from a normal with stddev 1/sqrt(fan_in) truncated at two stddevs, which
    leaves a standard deviation of about 0.88/sqrt(fan_in) (notebook 02 measures it); biases
    start at zero.

    Returns:
      {"hidden1/weights": float32 [784, h1], "hidden1/biases": float32 [h1], ...}.
    """
    hidden1_units = check_positive_int("hidden1_units", hidden1_units)
    hidden2_units = check_positive_int("hidden2_units", hidden2_units)
    values = {}
    for index, (name, (fan_in, fan_out)) in enumerate(layer_shapes(hidden1_units, hidden2_units).items()):
        weights = tf.random.stateless_truncated_normal(
            [fan_in, fan_out], seed=[seed, index], stddev=1.0 / math.sqrt(float(fan_in)))
        values[f"{name}/weights"] = weights.numpy()
        values[f"{name}/biases"] = np.zeros([fan_out], np.float32)
    return values


class Dense(tf.Module):
    """One fully connected layer: `weights` [fan_in, fan_out] and `biases` [fan_out]."""

    def __init__(self, weights, biases, name):
        super().__init__(name=name)
        # Variable names like "hidden1/weights" are what the talk's graph picture and the
        # v1 Saver show, and what checkpoint-shape errors quote.
        self.weights = tf.Variable(weights, name=f"{name}/weights")
        self.biases = tf.Variable(biases, name=f"{name}/biases")

    def __call__(self, inputs):
        return tf.matmul(inputs, self.weights) + self.biases


def check_images(images):
    """Raises CourseError unless `images` is a [batch, 784] float32 tensor or array."""
    dtype = tf.as_dtype(images.dtype) if hasattr(images, "dtype") else None
    shape = tuple(images.shape) if hasattr(images, "shape") else None
    if dtype != tf.float32 or shape is None or len(shape) != 2 or shape[1] not in (None, IMAGE_PIXELS):
        raise CourseError(
            f"images must be a [batch, {IMAGE_PIXELS}] float32 tensor, got shape "
            f"{list(shape) if shape is not None else None} dtype {dtype.name if dtype else type(images).__name__}"
        )


def check_weights(weights, hidden1_units, hidden2_units):
    """Raises CourseError unless `weights` has every layer's weights and biases in the right shape."""
    for name, (fan_in, fan_out) in layer_shapes(hidden1_units, hidden2_units).items():
        for kind, expected in (("weights", [fan_in, fan_out]), ("biases", [fan_out])):
            key = f"{name}/{kind}"
            if key not in weights:
                raise CourseError(f"weights has no {key!r}; expected the keys of initial_weights(): "
                                  f"{', '.join(f'{n}/weights, {n}/biases' for n in LAYER_NAMES)}")
            shape = list(np.shape(weights[key]))
            if shape != expected:
                raise CourseError(f"weights[{key!r}] has shape {shape}, expected {expected} "
                                  f"for hidden1_units={hidden1_units}, hidden2_units={hidden2_units}")


class MLP(tf.Module):
    """The tutorial's network: 784 -> hidden1 (ReLU) -> hidden2 (ReLU) -> 10 logits.

    Args:
      hidden1_units: size of the first hidden layer (the tutorial: 128).
      hidden2_units: size of the second hidden layer (the tutorial: 32).
      seed: seeds the initial weights (see `initial_weights`).
      weights: optional dict like `initial_weights` returns, to start from given values.
    """

    def __init__(self, hidden1_units=128, hidden2_units=32, seed=0, weights=None, name="mlp"):
        super().__init__(name=name)
        self.hidden1_units = check_positive_int("hidden1_units", hidden1_units)
        self.hidden2_units = check_positive_int("hidden2_units", hidden2_units)
        if weights is None:
            weights = initial_weights(self.hidden1_units, self.hidden2_units, seed)
        check_weights(weights, self.hidden1_units, self.hidden2_units)
        self.hidden1 = Dense(weights["hidden1/weights"], weights["hidden1/biases"], "hidden1")
        self.hidden2 = Dense(weights["hidden2/weights"], weights["hidden2/biases"], "hidden2")
        self.softmax_linear = Dense(weights["softmax_linear/weights"], weights["softmax_linear/biases"],
                                    "softmax_linear")

    def activations(self, images):
        """The forward pass keeping every layer's output (for TensorBoard histograms).

        Args:
          images: float32 [batch, 784].
        Returns:
          {"hidden1": [batch, h1], "hidden2": [batch, h2], "softmax_linear": [batch, 10]}.
        """
        check_images(images)
        hidden1 = tf.nn.relu(self.hidden1(images))
        hidden2 = tf.nn.relu(self.hidden2(hidden1))
        return {"hidden1": hidden1, "hidden2": hidden2, "softmax_linear": self.softmax_linear(hidden2)}

    def __call__(self, images):
        """inference: float32 images [batch, 784] -> float32 logits [batch, 10]."""
        return self.activations(images)["softmax_linear"]

    def get_weights(self):
        """{"hidden1/weights": numpy array, ...}: the current values, by tutorial name."""
        return {f"{name}/{kind}": getattr(getattr(self, name), kind).numpy()
                for name in LAYER_NAMES for kind in ("weights", "biases")}


def _static_shape(tensor):
    """The shape as a list (None where unknown), or None when the rank is unknown."""
    shape = tensor.shape if hasattr(tensor, "shape") else np.shape(tensor)
    shape = tf.TensorShape(shape)
    return None if shape.rank is None else shape.as_list()


def check_labels(labels, logits=None):
    """Raises CourseError unless `labels` is an integer [batch] vector of class ids 0..9.

    Dtype and shape are checked always (inside tf.function that happens once, while
    tracing); the values only when they are known now (eager), so a compiled training
    step pays nothing per step. With `logits`, they must be [batch, 10] of the same batch.
    """
    dtype = tf.as_dtype(labels.dtype) if hasattr(labels, "dtype") else tf.as_dtype(np.asarray(labels).dtype)
    if not dtype.is_integer:
        raise CourseError(f"labels must be integer class ids 0..{NUM_CLASSES - 1} (e.g. int32), got dtype "
                          f"{dtype.name}; pass one_hot=False to read_data_sets")
    shape = _static_shape(labels)
    if shape is not None and len(shape) != 1:
        raise CourseError(f"labels must be a [batch] vector of class ids, got shape {shape}")
    if logits is not None:
        logits_shape = _static_shape(logits)
        if logits_shape is not None and (len(logits_shape) != 2 or logits_shape[1] not in (None, NUM_CLASSES)):
            raise CourseError(f"logits must be [batch, {NUM_CLASSES}], got shape {logits_shape}")
        if None not in (shape, logits_shape) and None not in (shape[0], logits_shape[0]) \
                and shape[0] != logits_shape[0]:
            raise CourseError(f"labels hold {shape[0]} examples but logits {logits_shape[0]}; "
                              "expected one label per row of logits")
    if tf.is_symbolic_tensor(labels):
        return
    values = np.asarray(labels)
    if values.size and (values.min() < 0 or values.max() >= NUM_CLASSES):
        raise CourseError(f"labels must lie in 0..{NUM_CLASSES - 1}, got values {values.min()}..{values.max()}")


def per_example_loss(logits, labels):
    """Softmax cross-entropy of each example against its one-hot label.

    Args:
      logits: float32 [batch, 10].
      labels: integer [batch], values 0..9 (3 -> [0,0,0,1,0,0,0,0,0,0]).
    Returns:
      float32 [batch]. Distribution strategies average this over the global batch.
    """
    check_labels(labels, logits)
    one_hot = tf.one_hot(tf.cast(labels, tf.int32), NUM_CLASSES, dtype=logits.dtype)
    return tf.nn.softmax_cross_entropy_with_logits(labels=one_hot, logits=logits)


def loss(logits, labels):
    """The tutorial's loss: mean softmax cross-entropy over the batch.

    Args:
      logits: float32 [batch, 10], the output of `inference`.
      labels: integer [batch], values 0..9 (one-hot encoded inside).
    Returns:
      float32 scalar: the mean of the per-example cross-entropies.
    """
    return tf.reduce_mean(per_example_loss(logits, labels), name="xentropy_mean")


def evaluation(logits, labels):
    """Number of examples whose top-1 prediction is the label (int32 scalar).

    Args:
      logits: float32 [batch, 10].
      labels: integer [batch], values 0..9.
    Returns:
      int32 scalar; precision@1 = evaluation(...) / batch.
    """
    check_labels(labels, logits)
    correct = tf.math.in_top_k(tf.cast(labels, tf.int32), logits, 1)
    return tf.reduce_sum(tf.cast(correct, tf.int32))

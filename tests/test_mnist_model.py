"""The TF2 model: shapes, names, initialisation, loss and evaluation against hand computations."""

import numpy as np
import pytest
import tensorflow as tf

from tfcourse import mnist


def test_constants():
    assert (mnist.IMAGE_SIZE, mnist.IMAGE_PIXELS, mnist.NUM_CLASSES) == (28, 784, 10)


def test_variables_are_named_and_shaped_like_the_tutorial():
    model = mnist.MLP(128, 32)
    shapes = {v.name: v.shape.as_list() for v in model.trainable_variables}
    assert shapes == {
        "hidden1/weights:0": [784, 128], "hidden1/biases:0": [128],
        "hidden2/weights:0": [128, 32], "hidden2/biases:0": [32],
        "softmax_linear/weights:0": [32, 10], "softmax_linear/biases:0": [10],
    }


def test_initial_weights_truncated_normal_with_stddev_one_over_sqrt_fan_in():
    weights = mnist.initial_weights(256, 64, seed=1)
    w1 = weights["hidden1/weights"]
    stddev = 1 / np.sqrt(784)
    assert np.abs(w1).max() <= 2 * stddev + 1e-7  # truncated at two standard deviations
    # A normal truncated at 2 sigma has standard deviation 0.88 sigma.
    assert w1.std() == pytest.approx(0.88 * stddev, rel=0.02)
    assert weights["hidden2/weights"].std() == pytest.approx(0.88 / np.sqrt(256), rel=0.05)
    assert all(not weights[f"{layer}/biases"].any() for layer in mnist.LAYER_NAMES)
    again = mnist.initial_weights(256, 64, seed=1)
    other = mnist.initial_weights(256, 64, seed=2)
    assert all(np.array_equal(weights[k], again[k]) for k in weights)
    assert not np.array_equal(weights["hidden1/weights"], other["hidden1/weights"])


def test_forward_pass_matches_numpy():
    model = mnist.MLP(20, 12, seed=5)
    images = np.random.default_rng(0).random((7, 784), dtype=np.float32)
    w = model.get_weights()
    hidden1 = np.maximum(images @ w["hidden1/weights"] + w["hidden1/biases"], 0)
    hidden2 = np.maximum(hidden1 @ w["hidden2/weights"] + w["hidden2/biases"], 0)
    expected = hidden2 @ w["softmax_linear/weights"] + w["softmax_linear/biases"]
    logits = model(tf.constant(images))
    assert logits.shape == (7, 10) and logits.dtype == tf.float32
    np.testing.assert_allclose(logits.numpy(), expected, rtol=1e-5, atol=1e-5)
    activations = model.activations(images)
    assert activations["hidden1"].shape == (7, 20) and float(tf.reduce_min(activations["hidden1"])) >= 0


@pytest.mark.parametrize("images, expected", [
    (np.zeros((2, 28, 28), np.float32), "got shape [2, 28, 28] dtype float32"),
    (np.zeros((2, 784), np.float64), "got shape [2, 784] dtype float64"),
    (np.zeros((2, 100), np.float32), "got shape [2, 100]"),
])
def test_bad_images_raise_a_clear_value_error(images, expected):
    with pytest.raises(ValueError, match=r"images must be a \[batch, 784\] float32 tensor, " + expected.replace("[", r"\[")):
        mnist.MLP(8, 8)(images)


@pytest.mark.parametrize("units", [0, -3, 2.5, True])
def test_bad_units_raise(units):
    with pytest.raises(ValueError, match="hidden1_units must be a positive integer"):
        mnist.MLP(units, 8)


def test_loss_is_mean_cross_entropy_against_one_hot_labels():
    logits = np.random.default_rng(1).normal(size=(6, 10)).astype(np.float32)
    labels = np.array([3, 0, 9, 3, 5, 1])
    one_hot = np.eye(10)[labels]
    assert one_hot[0].tolist() == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
    log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    expected = -(one_hot * log_softmax).sum(axis=1)
    np.testing.assert_allclose(mnist.per_example_loss(logits, labels).numpy(), expected, rtol=1e-5)
    assert float(mnist.loss(logits, labels)) == pytest.approx(expected.mean(), rel=1e-5)
    in_graph = tf.function(mnist.loss)(tf.constant(logits), tf.constant(labels, tf.int32))
    assert float(in_graph) == pytest.approx(expected.mean(), rel=1e-5)


@pytest.mark.parametrize("labels", [[0, 10], [-1, 2]])
def test_labels_out_of_range_raise(labels):
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.9"):
        mnist.loss(np.zeros((2, 10), np.float32), labels)
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.9"):
        mnist.evaluation(np.zeros((2, 10), np.float32), labels)


def test_evaluation_counts_correct_top1():
    logits = np.full((4, 10), -1.0, np.float32)
    logits[0, 3] = logits[1, 7] = logits[2, 0] = logits[3, 9] = 5.0
    count = mnist.evaluation(logits, np.array([3, 7, 1, 2]))
    assert count.dtype == tf.int32 and int(count) == 2

"""Exercises of notebook 02: oracles (numpy forward pass, the library's model and its traced step),
other right answers, wrong answers no catalogue names, and float64 variables refused."""

import textwrap

import numpy as np
import pytest
import tensorflow as tf

from tfcourse import mnist
from tfcourse.exercises import core, nb02


def answer(source, name):
    return core.run_source(textwrap.dedent(source), name, f"<{name} test>")


Q1_RIGHT = [
    """\
    import math

    def init_layer(fan_in, fan_out, seed):
        initializer = tf.keras.initializers.TruncatedNormal(stddev=1 / math.sqrt(fan_in), seed=seed)
        return tf.Variable(initializer([fan_in, fan_out])), tf.Variable(tf.zeros(fan_out))
    """,
    """\
    def init_layer(fan_in, fan_out, seed):
        weights = tf.random.stateless_truncated_normal((fan_in, fan_out), seed=[seed, 7], stddev=fan_in ** -0.5)
        return [tf.Variable(weights, name="w"), tf.Variable(np.zeros(fan_out, np.float32), name="b")]
    """,
]


def test_q1_reference_statistics_match_numpy_truncated_normal():
    # Oracle: the spread of a normal cut at 2 stddevs, by rejection sampling in numpy.
    draws = np.random.default_rng(0).normal(size=2_000_000)
    factor = draws[np.abs(draws) <= 2].std()
    assert abs(factor - nb02.TRUNCATED_STD) < 1e-3
    weights, biases = nb02.q1.reference()(784, 128, 0)
    assert weights.dtype == tf.float32 and abs(float(tf.math.reduce_std(weights)) * 28 - factor) < 0.02


@pytest.mark.parametrize("source", Q1_RIGHT)
def test_q1_other_right_answers_pass(source):
    result = nb02.q1.evaluate(answer(source, "init_layer"))
    assert result.status == "passed", result.message


@pytest.mark.parametrize("source,says", [
    ("""\
    def init_layer(fan_in, fan_out, seed):
        weights = tf.random.truncated_normal([fan_in, fan_out], stddev=2.0 / np.sqrt(fan_in), seed=seed)
        return tf.Variable(weights), tf.Variable(tf.zeros([fan_out]))
    """, "on the first layer (784 x 128): a weight of"),
    ("""\
    def init_layer(fan_in, fan_out, seed):
        weights = tf.random.truncated_normal([fan_in, fan_out], stddev=1.0 / np.sqrt(fan_in), seed=seed)
        return tf.Variable(weights), tf.Variable(tf.zeros([fan_out + 1]))
    """, "on the first layer (784 x 128): biases of shape [129], expected [fan_out] = [128]"),
])
def test_q1_uncatalogued_wrong_answers_say_what_and_where(source, says):
    result = nb02.q1.evaluate(answer(source, "init_layer"))
    assert (result.status, result.mistake) == ("mistake", core.WRONG_RESULT)
    assert says in result.message, result.message


def test_q1_float64_variables_are_refused():
    # Issue 21's hole: float64 variables passed.
    wrong = answer("""\
    def init_layer(fan_in, fan_out, seed):
        weights = tf.random.stateless_truncated_normal([fan_in, fan_out], seed=[seed, 1], stddev=1 / np.sqrt(fan_in),
                                                       dtype=tf.float64)
        return tf.Variable(weights), tf.Variable(np.zeros(fan_out))  # np.zeros: float64 too
    """, "init_layer")
    result = nb02.q1.evaluate(wrong)
    assert (result.status, result.mistake) == ("mistake", "float64_variables"), result.message


def _numpy_forward(images, layers):
    outputs = images.astype(np.float64)
    for index, (weights, biases) in enumerate(layers):
        outputs = outputs @ weights + biases
        if index < len(layers) - 1:
            outputs = np.maximum(outputs, 0)
    return outputs


def test_q2_reference_agrees_with_numpy_and_the_library_model():
    for case in nb02.q2.cases():
        images, layers = case.input
        np.testing.assert_allclose(nb02.q2.reference()(images, layers), _numpy_forward(images, layers),
                                   rtol=1e-4, atol=1e-4, err_msg=case.label)
    model = mnist.MLP(16, 8, seed=3)
    layers = [(layer.weights, layer.biases) for layer in (model.hidden1, model.hidden2, model.softmax_linear)]
    images = np.random.default_rng(0).uniform(size=[3, 784]).astype(np.float32)
    np.testing.assert_allclose(nb02.q2.reference()(images, layers), model(images), rtol=1e-5, atol=1e-5)


Q2_RIGHT = [
    """\
    def deep_inference(images, layers):
        *hidden, (last_weights, last_biases) = layers
        for weights, biases in hidden:
            images = tf.maximum(images @ weights + biases, 0.0)
        return tf.add(tf.matmul(images, last_weights), last_biases)
    """,
    """\
    import functools

    def deep_inference(images, layers):
        def layer(x, index):
            weights, biases = layers[index]
            y = tf.nn.bias_add(tf.matmul(x, weights), biases)
            return y if index == len(layers) - 1 else tf.nn.relu(y)
        return functools.reduce(layer, range(len(layers)), tf.convert_to_tensor(images))
    """,
]


@pytest.mark.parametrize("source", Q2_RIGHT)
def test_q2_other_right_answers_pass(source):
    result = nb02.q2.evaluate(answer(source, "deep_inference"))
    assert result.status == "passed", result.message


@pytest.mark.parametrize("source,says", [
    ("""\
    def deep_inference(images, layers):
        outputs = images
        for weights, biases in layers[:2]:
            outputs = tf.nn.relu(tf.matmul(outputs, weights) + biases)
        weights, biases = layers[-1]
        return tf.matmul(outputs, weights) + biases
    """, "on a batch of 3 through 784-32-16-16-12-10 (four hidden layers): "),
    ("""\
    def deep_inference(images, layers):
        outputs = images
        for weights, biases in layers[:-1]:
            outputs = tf.nn.relu(tf.matmul(outputs, weights)) + biases
        weights, biases = layers[-1]
        return tf.matmul(outputs, weights) + biases
    """, "on a batch of 4 through 784-16-8-10 (two hidden layers): expected [["),
])
def test_q2_uncatalogued_wrong_answers_say_what_and_where(source, says):
    result = nb02.q2.evaluate(answer(source, "deep_inference"))
    assert result.status in ("mistake", "error") and result.mistake != "forgot_relu"
    assert says in result.message, result.message


@pytest.mark.parametrize("exercise,right,wrong", [
    (nb02.q3, [218058, 218058.0, np.int64(218058)], [(104938, "expected 218058, got 104938"),
                                                     (218048, "expected 218058, got 218048")]),
    (nb02.q4, [11, 11.0, np.int32(11)], [(10, "expected 11, got 10"), (14, "expected 11, got 14")]),
])
def test_value_answers_in_any_form(exercise, right, wrong):
    for value in right:
        assert exercise.evaluate(value).status == "passed", value
    for value, says in wrong:
        result = exercise.evaluate(value)
        assert result.status == "mistake" and says in result.message, result.message


def test_q3_oracle_counts_parameters_from_layer_shapes():
    shapes = mnist.layer_shapes(256, 64)
    assert nb02.q3.reference() == sum(fan_in * fan_out + fan_out for fan_in, fan_out in shapes.values())

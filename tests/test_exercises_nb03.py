"""Notebook 03's exercises, judged against oracles that do not use the reference solutions: numpy for the
losses and the gradient, Keras' own SGD for the momentum step. Other right answers must pass; wrong answers
no catalogue names must be refused with a message that says what was expected, what came and where."""

import numpy as np
import pytest
from exercise_answers import (
    assert_passes,
    assert_uncatalogued_wrong,
    evaluate,
)

from tfcourse.exercises import nb03


def numpy_log_softmax(logits):
    logits = np.asarray(logits, np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


# ---------------------------------------------------------------- q1: the label-smoothed loss

def test_q1_reference_agrees_with_a_numpy_oracle():
    for case, expected in zip(nb03.q1.cases(), nb03.q1._expected()):
        logits, labels, smoothing = case.input
        targets = (1 - smoothing) * np.eye(10)[labels] + smoothing / 10
        oracle = np.mean(-np.sum(targets * numpy_log_softmax(logits), axis=1))
        assert np.isfinite(oracle)
        np.testing.assert_allclose(float(expected.value["loss"]), oracle, rtol=1e-5, err_msg=case.label)


@pytest.mark.parametrize("source", [
    # the fused op with smoothed labels
    """\
def smoothed_loss(logits, labels, smoothing):
    targets = tf.one_hot(labels, 10) * (1 - smoothing) + smoothing / 10
    return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=targets, logits=logits))
""",
    # Keras' loss object, which implements the same smoothing
    """\
import keras

def smoothed_loss(logits, labels, smoothing):
    loss = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=smoothing)
    return loss(tf.one_hot(labels, 10), logits)
""",
    # the split form: (1 - s) times the usual loss plus s times the mean -log p over the digits
    """\
def smoothed_loss(logits, labels, smoothing):
    log_p = tf.nn.log_softmax(logits)
    label_term = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    uniform_term = -tf.reduce_mean(log_p, axis=1)
    return tf.reduce_mean((1 - smoothing) * label_term + smoothing * uniform_term)
""",
], ids=["fused-op", "keras-loss", "split-terms"])
def test_q1_other_right_answers_pass(source):
    assert_passes(nb03.q1, source)


@pytest.mark.parametrize("source", [
    # the smoothing spread over the 9 other digits only
    """\
def smoothed_loss(logits, labels, smoothing):
    one_hot = tf.one_hot(labels, 10)
    targets = (1 - smoothing) * one_hot + smoothing / 9 * (1 - one_hot)
    return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=targets, logits=logits))
""",
    # the mean over every entry of [batch, 10] instead of a sum over the digits
    """\
def smoothed_loss(logits, labels, smoothing):
    targets = (1 - smoothing) * tf.one_hot(labels, 10) + smoothing / 10
    return tf.reduce_mean(-targets * tf.nn.log_softmax(logits))
""",
], ids=["smoothing-over-9", "mean-over-entries"])
def test_q1_uncatalogued_wrong_answers_are_refused_with_expected_got_and_case(source):
    assert_uncatalogued_wrong(nb03.q1, source, "on a batch of 4")


def test_q1_a_float64_loss_is_refused():
    result = evaluate(nb03.q1, """\
def smoothed_loss(logits, labels, smoothing):
    logits = np.asarray(logits, np.float64)
    log_p = logits - logits.max(axis=1, keepdims=True)
    log_p = log_p - np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    targets = (1 - smoothing) * np.eye(10)[labels] + smoothing / 10
    return np.mean(-np.sum(targets * log_p, axis=1))
""")
    assert result.status == "error" and "float32" in result.message and "float64" in result.message, result.message


# ---------------------------------------------------------------- q2: the momentum step

def test_q2_reference_agrees_with_keras_sgd_momentum():
    import keras
    import tensorflow as tf

    from tfcourse import mnist

    for case, expected in zip(nb03.q2.cases(), nb03.q2._expected()):
        model = mnist.MLP(16, 8, seed=case.input["seed"])
        optimizer = keras.optimizers.SGD(nb03.LEARNING_RATE, momentum=case.input["momentum"])
        for index, (images, labels) in enumerate(case.input["batches"]):
            with tf.GradientTape() as tape:
                loss = mnist.loss(model(images), labels)
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables))
            np.testing.assert_allclose(float(expected.value["losses"][index]), float(loss), rtol=1e-5)
            for name, value in model.get_weights().items():
                np.testing.assert_allclose(expected.value["weights"][index][name], value, rtol=1e-4, atol=1e-6,
                                           err_msg=f"{case.label}, step {index + 1}, {name}")


@pytest.mark.parametrize("source", [
    # an explicit velocity update with assign_sub/assign_add
    """\
from tfcourse import mnist

def momentum_step(model, velocities, images, labels, learning_rate, momentum):
    with tf.GradientTape() as tape:
        loss = mnist.loss(model(images), labels)
    grads = tape.gradient(loss, model.trainable_variables)
    for i, variable in enumerate(model.trainable_variables):
        velocities[i].assign(velocities[i] * momentum)
        velocities[i].assign_sub(learning_rate * grads[i])
        variable.assign(variable + velocities[i])
    return loss.numpy()
""",
    # the loss written out, the tape around the model call only
    """\
def momentum_step(model, velocities, images, labels, learning_rate, momentum):
    with tf.GradientTape() as tape:
        logits = model(images)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    for v, w, g in zip(velocities, model.trainable_variables, tape.gradient(loss, model.trainable_variables)):
        v.assign(momentum * v - learning_rate * g)
        w.assign_add(v)
    return loss
""",
], ids=["indexed-assign", "sparse-loss"])
def test_q2_other_right_answers_pass(source):
    assert_passes(nb03.q2, source)


@pytest.mark.parametrize("source", [
    # the learning rate applied twice (velocity already holds it)
    """\
from tfcourse import mnist

def momentum_step(model, velocities, images, labels, learning_rate, momentum):
    with tf.GradientTape() as tape:
        loss = mnist.loss(model(images), labels)
    for v, w, g in zip(velocities, model.trainable_variables, tape.gradient(loss, model.trainable_variables)):
        v.assign(momentum * v - learning_rate * g)
        w.assign_add(learning_rate * v)
    return loss
""",
    # momentum on the gradient (v = m * v + g), scaled at the update: another optimizer
    """\
from tfcourse import mnist

def momentum_step(model, velocities, images, labels, learning_rate, momentum):
    with tf.GradientTape() as tape:
        loss = mnist.loss(model(images), labels)
    for v, w, g in zip(velocities, model.trainable_variables, tape.gradient(loss, model.trainable_variables)):
        v.assign(momentum * v + (1 - momentum) * g)
        w.assign_sub(learning_rate * v)
    return loss
""",
], ids=["learning-rate-twice", "averaged-gradient"])
def test_q2_uncatalogued_wrong_answers_are_refused_with_expected_got_and_case(source):
    assert_uncatalogued_wrong(nb03.q2, source, "on two steps on batches of 5", "after step 1, the model's hidden1/")


# ---------------------------------------------------------------- q3 and q4: predictions

def test_q3_expected_value_is_the_mean_of_two_hand_computed_losses():
    assert np.isclose(nb03.q3._expected()[0].value, (np.log(10) + np.log(2)) / 2, rtol=1e-6)


@pytest.mark.parametrize("answer", ["predicted_loss = 1.498\n", "predicted_loss = np.float32(np.log(20) / 2)\n",
                                    "predicted_loss = tf.constant(0.5 * np.log(20))\n"])
def test_q3_right_value_in_any_form_passes(answer):
    assert_passes(nb03.q3, answer)


@pytest.mark.parametrize("answer", ["predicted_loss = 1.2\n", "predicted_loss = np.log(2)\n"])
def test_q3_plausible_wrong_values_are_refused_with_both_numbers(answer):
    result = assert_uncatalogued_wrong(nb03.q3, answer)
    assert "1.49787" in result.message, result.message


def test_q4_expected_value_is_softmax_minus_one_hot_over_the_batch():
    oracle = (np.full([2, 10], 0.1) - np.eye(10)[[3, 7]]) / 2
    np.testing.assert_allclose(nb03.q4._expected()[0].value, oracle, atol=1e-6)


@pytest.mark.parametrize("answer", [
    "predicted_gradient = [[0.05] * 3 + [-0.45] + [0.05] * 6, [0.05] * 7 + [-0.45] + [0.05] * 2]\n",
    "predicted_gradient = tf.constant((np.full([2, 10], 0.1) - tf.one_hot([3, 7], 10).numpy()) / 2)\n",
])
def test_q4_right_value_as_list_or_tensor_passes(answer):
    assert_passes(nb03.q4, answer)


@pytest.mark.parametrize("answer", [
    "predicted_gradient = (np.full([2, 10], 0.1) - np.eye(10)[[7, 3]]) / 2\n",  # the labels swapped
    "predicted_gradient = (np.full([2, 10], 0.1) - np.eye(10)[[3, 7]]) / 10\n",  # divided by the digits
])
def test_q4_plausible_wrong_values_are_refused(answer):
    assert_uncatalogued_wrong(nb03.q4, answer, "-0.45")


def test_q4_a_flat_vector_is_told_the_shape():
    result = evaluate(nb03.q4, "predicted_gradient = np.zeros(20)\n")
    assert result.status == "error" and "[2, 10]" in result.message and "[20]" in result.message, result.message

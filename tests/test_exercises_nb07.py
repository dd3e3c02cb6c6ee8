"""Notebook 07's exercises against independent oracles, other right answers and uncatalogued wrong ones.

The oracles compute in numpy (the model's forward pass, a truncated normal's statistics) or by
another TensorFlow path (a GradientTape step with momentum written out), never with the
exercise module's helpers.
"""

import math
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from tfcourse.exercises import core, nb07


def evaluate(exercise, source):
    return exercise.evaluate(core.run_source(textwrap.dedent(source), exercise.answer, f"<{exercise.id} test>"))


def assert_mistake_shows(result, *texts):
    assert (result.status, result.mistake) == ("mistake", core.WRONG_RESULT), result.message
    assert "\n" not in result.message
    for text in texts:
        assert text in result.message, result.message


# ---------------------------------------------------------------- q1

def test_q1_reference_computes_numpys_forward_pass_and_starts_truncated():
    reference = nb07.q1.reference()
    for case, expected in zip(nb07.q1.cases(), nb07.q1._expected()):
        x = case.input["images"].astype(np.float64)
        for index, (kernel, bias) in enumerate(case.input["weights"]):
            x = x @ kernel + bias
            x = np.maximum(x, 0) if index < len(case.input["weights"]) - 1 else x
        np.testing.assert_allclose(expected.value["logits"], x, rtol=1e-4, atol=1e-5, err_msg=case.label)
    # Its initial kernels: a normal truncated at 2 stddevs of 1/sqrt(fan_in): std 0.88/sqrt(fan_in), none
    # beyond 2/sqrt(fan_in) (scipy's truncnorm gives the 0.8796; here: the bound and the spread).
    model = reference([256, 96], 20)
    for layer, fan_in in zip(model.layers, [784, 256, 96]):
        kernel = layer.kernel.numpy()
        assert np.abs(kernel).max() <= 2 / math.sqrt(fan_in) + 1e-7
        assert abs(kernel.std() * math.sqrt(fan_in) - 0.8796) < 0.05


Q1_RIGHT = {
    "LecunNormal, ReLU as layers of their own, tf.keras": """\
        def build_classifier(hidden_units, num_classes):
            model = tf.keras.Sequential()
            model.add(tf.keras.Input(shape=(784,)))
            for units in hidden_units:
                model.add(tf.keras.layers.Dense(units, kernel_initializer=tf.keras.initializers.LecunNormal()))
                model.add(tf.keras.layers.ReLU())
            model.add(tf.keras.layers.Dense(num_classes, kernel_initializer="lecun_normal"))
            return model
        """,
    "VarianceScaling by name, no Input layer, sizes zipped": """\
        import keras

        def build_classifier(hidden_units, num_classes):
            sizes = [784] + list(hidden_units)
            start = keras.initializers.VarianceScaling(scale=1.0, mode="fan_in", distribution="truncated_normal")
            layers = [keras.layers.Dense(out, activation=keras.activations.relu, kernel_initializer=start)
                      for fan_in, out in zip(sizes[:-1], sizes[1:])]
            return keras.Sequential(layers + [keras.layers.Dense(num_classes, kernel_initializer=start)])
        """,
    "TruncatedNormal with the 0.88 undone (a spread of exactly 1/sqrt(fan_in))": """\
        import math
        import keras

        def build_classifier(hidden_units, num_classes):
            def start(fan_in):
                return keras.initializers.TruncatedNormal(stddev=1 / math.sqrt(fan_in) / 0.87962566)
            inputs = keras.Input(shape=(784,))
            x, fan_in = inputs, 784
            for units in hidden_units:
                x = keras.layers.Dense(units, activation="relu", kernel_initializer=start(fan_in))(x)
                fan_in = units
            return keras.Model(inputs, keras.layers.Dense(num_classes, kernel_initializer=start(fan_in))(x))
        """,
}


@pytest.mark.parametrize("name", sorted(Q1_RIGHT))
def test_q1_other_right_answers_pass(name):
    # LecunNormal was refused before (issue 21) as "a plain normal distribution".
    result = evaluate(nb07.q1, Q1_RIGHT[name])
    assert result.status == "passed", result.message


def test_q1_glorot_on_the_later_layers_is_refused_naming_the_layer():
    # Issue 21: only the first kernel was measured, so glorot-initialised layers 2-3 passed.
    first_only = nb07.MODEL_SOLUTION.replace(
        "        stack.append(keras.layers.Dense(units, activation=\"relu\", kernel_initializer=start))",
        "        stack.append(keras.layers.Dense(units, activation=\"relu\",\n"
        "                                        kernel_initializer=start if fan_in == 784 else \"glorot_normal\"))")
    assert first_only != nb07.MODEL_SOLUTION
    assert_mistake_shows(evaluate(nb07.q1, first_only), "layer 2 of 3 (Dense 256 -> 96)", "standard deviation 1.2")


def test_q1_an_untruncated_normal_of_the_right_spread_is_refused():
    plain = nb07.MODEL_SOLUTION.replace("TruncatedNormal(stddev=1 / math.sqrt(fan_in))",
                                        "RandomNormal(stddev=0.88 / math.sqrt(fan_in))")
    result = evaluate(nb07.q1, plain)
    assert result.status == "mistake" and "largest initial weight is" in result.message, result.message


def test_q1_uncatalogued_wrong_answers_show_expected_got_and_where():
    tanh = nb07.MODEL_SOLUTION.replace('Dense(units, activation="relu"', 'Dense(units, activation="tanh"')
    assert_mistake_shows(evaluate(nb07.q1, tanh), "on hidden layers [256, 96], 20 classes",
                         "the output of layer 1 of 3 (Dense 784 -> 256), after its activation, differs: example",
                         "expected [", "got [")
    he = nb07.MODEL_SOLUTION.replace("keras.initializers.TruncatedNormal(stddev=1 / math.sqrt(fan_in))",
                                     "keras.initializers.HeNormal()")
    assert_mistake_shows(evaluate(nb07.q1, he), "layer 1 of 3 (Dense 784 -> 256)", "standard deviation 1.4")


# ---------------------------------------------------------------- q2

def momentum_steps(case_input, steps=2, learning_rate=0.05, momentum=0.9):
    """Oracle: the case's model trained by hand (GradientTape, cross-entropy of probabilities, SGD momentum
    as Keras defines it: v = momentum * v - lr * g; w += v) -> (losses, accuracies, weights)."""
    weights = [tf.Variable(w) for w in case_input["weights"]]
    velocity = [tf.zeros_like(w) for w in weights]
    images, one_hot = tf.constant(case_input["images"]), tf.constant(case_input["one_hot"])
    losses, accuracies = [], []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            hidden = tf.nn.relu(images @ weights[0] + weights[1])
            probabilities = tf.nn.softmax(hidden @ weights[2] + weights[3])
            loss = -tf.reduce_mean(tf.reduce_sum(one_hot * tf.math.log(probabilities), axis=1))
        accuracies.append(float(np.mean(np.argmax(probabilities, 1) == np.argmax(one_hot, 1))))
        losses.append(float(loss))
        for index, gradient in enumerate(tape.gradient(loss, weights)):
            velocity[index] = momentum * velocity[index] - learning_rate * gradient
            weights[index].assign_add(velocity[index])
    return losses, accuracies, [w.numpy() for w in weights]


def test_q2_reference_steps_agree_with_a_momentum_step_written_out():
    for case, expected in zip(nb07.q2.cases(), nb07.q2._expected()):
        losses, accuracies, weights = momentum_steps(case.input)
        np.testing.assert_allclose(expected.value["losses"], losses, rtol=1e-5, err_msg=case.label)
        assert expected.value["accuracies"] == pytest.approx(accuracies), case.label
        assert 0 < accuracies[0] < 1  # the cases make the accuracy informative
        for want, got in zip(weights, expected.value["moved"]):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6, err_msg=case.label)


Q2_RIGHT = {
    'strings: "categorical_crossentropy", "acc"': """\
        import keras

        def compile_for_one_hot(model):
            model.compile(keras.optimizers.SGD(0.05, 0.9), "categorical_crossentropy", metrics=["acc"])
        """,
    "tf.keras classes, CategoricalAccuracy()": """\
        def compile_for_one_hot(model):
            model.compile(loss=tf.keras.losses.CategoricalCrossentropy(from_logits=False),
                          optimizer=tf.keras.optimizers.SGD(momentum=0.9, learning_rate=0.05),
                          metrics=[tf.keras.metrics.CategoricalAccuracy()])
            return model
        """,
    '"categorical_accuracy", the loss function itself': """\
        import keras

        def compile_for_one_hot(model):
            model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=False),
                          loss=keras.losses.categorical_crossentropy, metrics=["categorical_accuracy"])
        """,
}


@pytest.mark.parametrize("name", sorted(Q2_RIGHT))
def test_q2_other_right_answers_pass(name):
    result = evaluate(nb07.q2, Q2_RIGHT[name])
    assert result.status == "passed", result.message


def test_q2_a_metric_that_reports_another_value_is_refused():
    # Issue 21: the accuracy's value was never compared (categorical_accuracy on integer labels passed).
    top2 = nb07.COMPILE_SOLUTION.replace('metrics=["accuracy"]', "metrics=[keras.metrics.TopKCategoricalAccuracy(k=2)]")
    assert_mistake_shows(evaluate(nb07.q2, top2), "on 5 classes, a batch of 16",
                         "your metric `top_k_categorical_accuracy` reports", "at training step 1, but 0.375 of the "
                         "batch's predictions are right")


def test_q2_uncatalogued_wrong_loss_shows_expected_got_and_where():
    squared = nb07.COMPILE_SOLUTION.replace("keras.losses.CategoricalCrossentropy()", "keras.losses.MeanSquaredError()")
    assert_mistake_shows(evaluate(nb07.q2, squared), "on 5 classes, a batch of 16", "the loss of training step 1: "
                         "expected", ", got ")


# ---------------------------------------------------------------- q3 and q4: values

@pytest.mark.parametrize("answer", ["32", "32.0", "np.int64(32)", "2 * -(-1000 // 64)"])
def test_q3_the_right_count_passes_in_every_numeric_form(answer):
    result = evaluate(nb07.q3, f"fit_batches = {answer}\n")
    assert result.status == "passed", result.message


def test_q3_wrong_counts_show_expected_and_got():
    assert_mistake_shows(evaluate(nb07.q3, "fit_batches = 31\n"), "expected 32, got 31")
    assert_mistake_shows(evaluate(nb07.q3, "fit_batches = 34\n"), "expected 32, got 34")


def test_q4_the_lesson_shows_another_backup_than_the_exercise_asks_about():
    # The lesson's backup is per epoch; the exercise's is per 10 batches, and its answer is not the lesson's.
    assert nb07.SAVE_FREQ != "epoch" and nb07.q4._expected()[0].value == 3 * nb07.BATCHES_PER_EPOCH


@pytest.mark.parametrize("answer", ["30", "30.0", "np.int32(30)"])
def test_q4_the_right_count_passes_in_every_numeric_form(answer):
    result = evaluate(nb07.q4, f"restart_batches = {answer}\n")
    assert result.status == "passed", result.message


def test_q4_wrong_counts_show_expected_and_got():
    assert_mistake_shows(evaluate(nb07.q4, "restart_batches = 25\n"), "expected 30, got 25")
    assert_mistake_shows(evaluate(nb07.q4, "restart_batches = 10\n"), "expected 30, got 10")

"""Notebook 10's exercises against independent oracles, other right answers and wrong answers no
catalogue names (issue 21): right ones pass, wrong ones are mistakes whose message shows
expected, got and where."""

import textwrap

import numpy as np
import pytest

from tfcourse.exercises import core
from tfcourse.exercises import nb10 as ex
from tfcourse.resnet import predict


def answer(source, name):
    return core.run_source(textwrap.dedent(source), name, f"<test {name}>")


def assert_uncatalogued(result, *fragments):
    assert result.status == "mistake" and result.mistake == core.WRONG_RESULT, (result.status, result.message)
    for fragment in ("expected", "got", *fragments):
        assert fragment in result.message, result.message


# ---------------------------------------------------------------- q1: the basic block


def oracle_basic_block(case_input):
    """The basic block computed with tf.nn ops from the check's weights (no Keras layers)."""
    import tensorflow as tf

    shape, filters, strides = case_input["shape"], case_input["filters"], case_input["strides"]
    channels = shape[-1]
    x = tf.constant(np.random.default_rng(9).normal(size=shape).astype(np.float32))

    def weight(name, weight_shape):
        return tf.constant(ex._fixed_value(name, weight_shape).astype(np.float32))

    def conv(inputs, kernel, in_channels, stride):
        return tf.nn.conv2d(inputs, weight("kernel", (kernel, kernel, in_channels, filters)), stride, "SAME")

    def batch_norm(inputs):
        size = (filters,)
        return tf.nn.batch_normalization(inputs, weight("moving_mean", size), weight("moving_variance", size),
                                         weight("beta", size), weight("gamma", size), 1e-3)

    main = tf.nn.relu(batch_norm(conv(x, 3, channels, strides)))
    main = batch_norm(conv(main, 3, filters, 1))
    shortcut = x if strides == 1 and channels == filters else batch_norm(conv(x, 1, channels, strides))
    return tf.nn.relu(main + shortcut).numpy()


def test_q1_reference_matches_the_tf_nn_oracle_on_every_case():
    for case, outcome in zip(ex.q1.cases(), ex.q1._expected()):
        np.testing.assert_allclose(outcome.value["output"], oracle_basic_block(case.input), rtol=1e-4, atol=1e-4,
                                   err_msg=case.label)


Q1_RIGHT = [
    """\
    import keras

    def my_basic_block(x, filters, strides):
        main = keras.Sequential([
            keras.layers.Conv2D(filters, 3, strides=strides, padding="same"),  # a bias BN cancels: fine
            keras.layers.BatchNormalization(),
            keras.layers.Activation("relu"),
            keras.layers.Conv2D(filters, 3, padding="same"),
            keras.layers.BatchNormalization(),
        ])(x)
        if strides == 1 and x.shape[-1] == filters:
            shortcut = x
        else:
            shortcut = keras.layers.BatchNormalization()(keras.layers.Conv2D(filters, 1, strides=strides)(x))
        return keras.layers.Activation("relu")(keras.layers.add([main, shortcut]))
    """,
    """\
    import tensorflow as tf

    def my_basic_block(x, filters, strides):
        L = tf.keras.layers
        def conv_bn(t, size, stride):
            return L.BatchNormalization()(L.Conv2D(filters, size, stride, "same", use_bias=False)(t))
        y = conv_bn(L.ReLU()(conv_bn(x, 3, strides)), 3, 1)
        short = conv_bn(x, 1, strides) if (strides, x.shape[-1]) != (1, filters) else x
        return L.ReLU()(L.Add()([y, short]))
    """,
]


@pytest.mark.parametrize("source", Q1_RIGHT, ids=["sequential-activation-bias", "tf.keras-helper"])
def test_q1_other_right_answers_pass(source):
    result = ex.q1.evaluate(answer(source, "my_basic_block"))
    assert result.status == "passed", result.message


Q1_WRONG = {
    # ResNet-D's shortcut (average pool, then a stride-1 1x1): a real design, not this block.
    "avgpool_shortcut": """\
    from keras import layers

    def my_basic_block(x, filters, strides):
        shortcut = x
        if strides != 1 or x.shape[-1] != filters:
            if strides != 1:
                x_pooled = layers.AveragePooling2D(strides, padding="same")(x)
            else:
                x_pooled = x
            shortcut = layers.BatchNormalization()(layers.Conv2D(filters, 1, use_bias=False)(x_pooled))
        y = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(filters, 3, strides=strides, padding="same",
                                                                    use_bias=False)(x)))
        y = layers.BatchNormalization()(layers.Conv2D(filters, 3, padding="same", use_bias=False)(y))
        return layers.ReLU()(layers.Add()([shortcut, y]))
    """,
    # Batch statistics of a tiny batch instead of the moving ones: BN with another epsilon.
    "batch_norm_epsilon": """\
    from keras import layers

    def my_basic_block(x, filters, strides):
        shortcut = x
        if strides != 1 or x.shape[-1] != filters:
            shortcut = layers.BatchNormalization(epsilon=0.5)(layers.Conv2D(filters, 1, strides=strides,
                                                                            use_bias=False)(x))
        y = layers.ReLU()(layers.BatchNormalization(epsilon=0.5)(
            layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)))
        y = layers.BatchNormalization(epsilon=0.5)(layers.Conv2D(filters, 3, padding="same", use_bias=False)(y))
        return layers.ReLU()(layers.Add()([shortcut, y]))
    """,
}


@pytest.mark.parametrize("name", sorted(Q1_WRONG))
def test_q1_uncatalogued_wrong_blocks_show_expected_got_and_where(name):
    result = ex.q1.evaluate(answer(Q1_WRONG[name], "my_basic_block"))
    assert_uncatalogued(result, "on ", "[batch, row, column, channel]")


# ---------------------------------------------------------------- q2: the ring all-reduce time


def test_q2_reference_matches_the_library_ring_model():
    for case, outcome in zip(ex.q2.cases(), ex.q2._expected()):
        devices, num_bytes, gbit, latency = case.input
        oracle = predict.ring_allreduce_time(devices, num_bytes, gbit * 1e9 / 8, latency)
        assert np.isclose(outcome.value, oracle, rtol=1e-12), case.label


Q2_RIGHT = [
    """\
    def ring_time(num_devices, num_bytes, gbit_per_s, latency_s):
        seconds = 0.0
        chunk = num_bytes / num_devices
        for _ in range(2 * (num_devices - 1)):  # reduce-scatter, then all-gather
            seconds += chunk * 8 / (gbit_per_s * 1e9) + latency_s
        return seconds
    """,
    """\
    import numpy as np

    def ring_time(num_devices, num_bytes, gbit_per_s, latency_s):
        steps = np.float64(2 * (num_devices - 1))
        return steps * (latency_s + (num_bytes * 8 / num_devices) / (gbit_per_s * 1e9))
    """,
]


@pytest.mark.parametrize("source", Q2_RIGHT, ids=["loop", "numpy-scalar"])
def test_q2_other_right_answers_pass(source):
    result = ex.q2.evaluate(answer(source, "ring_time"))
    assert result.status == "passed", result.message


Q2_WRONG = {
    "latency_per_device": """\
    def ring_time(num_devices, num_bytes, gbit_per_s, latency_s):
        return 2 * (num_devices - 1) / num_devices * num_bytes * 8 / (gbit_per_s * 1e9) + num_devices * latency_s
    """,
    "gibibits": """\
    def ring_time(num_devices, num_bytes, gbit_per_s, latency_s):
        hops = 2 * (num_devices - 1)
        return hops / num_devices * num_bytes * 8 / (gbit_per_s * 2**30) + hops * latency_s
    """,
}


@pytest.mark.parametrize("name", sorted(Q2_WRONG))
def test_q2_uncatalogued_wrong_answers_show_expected_got_and_where(name):
    assert_uncatalogued(ex.q2.evaluate(answer(Q2_WRONG[name], "ring_time")), "on ")


# ---------------------------------------------------------------- q3: efficiency and exposed communication


def test_q3_expected_is_the_hand_arithmetic():
    efficiency = 5510 / (16 * 380)
    exposed_ms = 1e3 * (64 / 380) * (1 / efficiency - 1)
    np.testing.assert_allclose(ex.q3._expected()[0].value, [efficiency, exposed_ms], rtol=1e-12)


@pytest.mark.parametrize("value", [[0.90625, 17.4], (np.float32(0.9062), 17.45), np.array([0.906, 17.5])])
def test_q3_right_values_in_any_form_pass(value):
    result = ex.q3.evaluate(value)
    assert result.status == "passed", result.message


def test_q3_perfect_scaling_is_refused():
    # The hole of issue 21: 1.0 passed for 0.99903. Here 1.0 must fail by far.
    result = ex.q3.evaluate([1.0, 17.4])
    assert result.status == "mistake" and "expected 0.9062" in result.message and "got 1" in result.message


@pytest.mark.parametrize("value", [[0.95, 17.4], [0.906, 25.0]])
def test_q3_plausible_wrong_values_show_expected_and_got(value):
    assert_uncatalogued(ex.q3.evaluate(value))


# ---------------------------------------------------------------- q4: the 100 Gbit/s cluster


def test_q4_expected_is_the_closed_form_model():
    compute = 64 / 221.4
    closed = [compute / (compute + 0.5 * 2 * (n - 1) / n * 25_557_032 * 4 / 12.5e9) for n in (16, 64)]
    np.testing.assert_allclose(ex.q4._expected()[0].value, closed, rtol=1e-9)


@pytest.mark.parametrize("value", [[0.974, 0.973], np.array([0.9745, 0.9733]), (0.97, 0.97)])
def test_q4_right_values_in_any_form_pass(value):
    result = ex.q4.evaluate(value)
    assert result.status == "passed", result.message


@pytest.mark.parametrize("value", [[0.854, 0.812], [0.90, 0.88]])
def test_q4_plausible_wrong_values_show_expected_and_got(value):
    # [0.854, 0.812] is the talk-assumption ring column the lesson prints: not this question's answer.
    assert_uncatalogued(ex.q4.evaluate(value))

"""Exercises of notebook 10 (ResNet scaling): a bottleneck block, the ring all-reduce time, the
talk's efficiency arithmetic, and a prediction of the scaling model.

    from tfcourse.exercises import nb10 as ex

The block is judged by what it computes, not by how it is written: the check builds a Keras
model from the student's block, gives every weight a value that depends only on its kind and
shape (so two correct blocks built in any order hold the same weights), and compares the
outputs with the reference's on small feature maps.
"""

import zlib

import numpy as np

from tfcourse.exercises.core import (
    AnswerError,
    Case,
    FunctionExercise,
    Mistake,
    ValueExercise,
    compare_values,
)

# ---------------------------------------------------------------- q1: a bottleneck block

BLOCK_SOLUTION = '''\
from keras import layers


def my_bottleneck(x, filters, strides):
    """ResNet v1.5 bottleneck: [B, H, W, C] -> [B, H / strides, W / strides, 4 * filters]."""
    shortcut = x
    if strides != 1 or x.shape[-1] != 4 * filters:
        # The shape changes: a 1x1 projection (with the block's stride) makes the shortcut fit.
        shortcut = layers.Conv2D(4 * filters, 1, strides=strides, padding="same", use_bias=False)(x)
        shortcut = layers.BatchNormalization()(shortcut)
    x = layers.Conv2D(filters, 1, padding="same", use_bias=False)(x)                     # 1x1 reduce
    x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)    # 3x3, the stride
    x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.Conv2D(4 * filters, 1, padding="same", use_bias=False)(x)                 # 1x1 expand x4
    x = layers.BatchNormalization()(x)
    return layers.ReLU()(layers.Add()([shortcut, x]))                                    # ReLU after the add
'''


def _block_cases():
    def case(label, shape, filters, strides):
        return Case(label, {"shape": shape, "filters": filters, "strides": strides})

    return [case("an identity block (16 channels in, filters 4, stride 1)", (2, 8, 8, 16), 4, 1),
            case("a down-sampling block (8 channels in, filters 4, stride 2)", (2, 8, 8, 8), 4, 2),
            case("a batch of 1 whose channels change (8 -> 16), stride 1", (1, 6, 6, 8), 4, 1)]


def _fixed_value(name, shape):
    """A weight's value from its kind and shape alone (the same in any correct block)."""
    rng = np.random.default_rng(zlib.crc32(repr((name, tuple(shape))).encode()))
    if name == "kernel":
        fan_in = int(np.prod(shape[:-1]))
        return rng.normal(scale=np.sqrt(2.0 / fan_in), size=shape)
    if name == "bias":
        return np.zeros(shape)  # a bias before BatchNormalization changes nothing: accept it
    if name == "gamma":
        return rng.uniform(0.8, 1.2, size=shape)
    if name == "moving_variance":
        return rng.uniform(0.8, 1.5, size=shape)
    return rng.normal(scale=0.2, size=shape)  # beta, moving_mean


def _run_block(function, case_input):
    """Builds a keras.Model around the block, fixes its weights, runs it (inference) ->
    {output [B, H', W', C'], convs [(kernel, strides, filters)], parameters}."""
    import keras

    shape = case_input["shape"]
    inputs = keras.Input(shape[1:])
    outputs = function(inputs, case_input["filters"], case_input["strides"])
    if not isinstance(outputs, keras.KerasTensor):
        raise AnswerError(f"expected the block's output (the tensor the last layer returns), got "
                          f"{type(outputs).__name__}")
    model = keras.Model(inputs, outputs)
    for variable in model.weights:
        variable.assign(_fixed_value(variable.name.split("/")[-1], variable.shape).astype(variable.dtype))
    images = np.random.default_rng(9).normal(size=shape).astype(np.float32)
    convs = [(tuple(layer.kernel_size), tuple(layer.strides), layer.filters)
             for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    batch_norms = sum(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)
    return {"output": np.asarray(model(images, training=False)), "convs": convs, "batch_norms": batch_norms,
            "parameters": int(sum(np.prod(v.shape) for v in model.trainable_weights))}


def _compare_blocks(expected, got):
    want, have = expected["output"].shape, got["output"].shape
    if have != want:
        return f"the block's output has shape {list(have)}, expected {list(want)}"
    if not np.allclose(got["output"], expected["output"], rtol=0.02, atol=0.02):
        return "the block computes other values than the reference (same weights, same input)"
    return None


def _all_built(outcomes):
    return all(o.error is None for o in outcomes)


def _expansion_not_4x(outcomes):
    cases = q1.cases()
    return _all_built(outcomes) and all(
        o.value["output"].shape[-1] != 4 * case.input["filters"] for o, case in zip(outcomes, cases))


def _stride_not_on_3x3(outcomes):
    """Down-sampled, but the 3x3 convolution of a stride-2 block has stride 1."""
    if not _all_built(outcomes):
        return False
    for outcome, case in zip(outcomes, q1.cases()):
        if case.input["strides"] == 2:
            three = [strides for kernel, strides, _ in outcome.value["convs"] if kernel == (3, 3)]
            halved = outcome.value["output"].shape[1] == case.input["shape"][1] // 2
            return halved and three == [(1, 1)]
    return False


def _tensorflow_op_on_keras_tensor(outcomes):
    return any(o.error is not None and "KerasTensor cannot be used" in str(o.error) for o in outcomes)


def _no_batch_norm(outcomes):
    return _all_built(outcomes) and all(o.value["batch_norms"] == 0 for o in outcomes)


def _projection_on_identity(outcomes):
    """The identity case (first) got a fourth convolution: a projection where none is needed."""
    return _all_built(outcomes) and len(outcomes[0].value["convs"]) == 4


q1 = FunctionExercise(
    "nb10.q1", "my_bottleneck", "a bottleneck block",
    prompt=(
        "Write `my_bottleneck(x, filters, strides)`, ResNet-50 v1.5's bottleneck block, with `keras.layers`: "
        "a 1x1 convolution to `filters` channels (reduce), a 3x3 one (it carries the `strides`), a 1x1 one to "
        "`4 * filters` channels (expand); each `Conv2D(..., padding=\"same\", use_bias=False)` is followed by "
        "`BatchNormalization`, and by `ReLU` except the last. The shortcut is `x` itself, or, when the shape "
        "changes (`strides != 1` or the channels differ from `4 * filters`), a 1x1 projection convolution with "
        "the block's stride plus `BatchNormalization`. Add the two, then a ReLU. The check builds a model of "
        "your block, gives it the reference's weights and compares the outputs."),
    skeleton='''\
from keras import layers


def my_bottleneck(x, filters, strides):
    """ResNet v1.5 bottleneck: [B, H, W, C] -> [B, H / strides, W / strides, 4 * filters]."""
    ...
''',
    solution=BLOCK_SOLUTION,
    hints=[
        "Main path: 1x1 (filters) -> 3x3 (filters, strides) -> 1x1 (4 x filters), each conv then "
        "BatchNormalization, ReLU after the first two only.",
        "The shortcut must have the main path's output shape to be added: when `strides != 1` or "
        "`x.shape[-1] != 4 * filters`, use `Conv2D(4 * filters, 1, strides=strides, ...)` + BatchNormalization.",
        "End with `layers.ReLU()(layers.Add()([shortcut, x]))`: the ReLU comes after the add, so the identity "
        "path reaches the output unchanged where it is positive.",
    ],
    mistakes=[
        Mistake("tensorflow_op_on_keras_tensor",
                "the check builds a Keras model from your block, where `tf.nn` functions cannot take Keras "
                "tensors: use layers (`layers.ReLU()`, `layers.Add()`) for every step.",
                BLOCK_SOLUTION.replace("return layers.ReLU()(layers.Add()([shortcut, x]))",
                                       "return tf.nn.relu(layers.Add()([shortcut, x]))"),
                detect=_tensorflow_op_on_keras_tensor),
        Mistake("missing_projection_shortcut",
                "the shortcut does not fit the main path when the block changes the shape: add a 1x1 projection "
                "`Conv2D(4 * filters, 1, strides=strides)` + BatchNormalization on the shortcut when "
                "`strides != 1` or the channels differ from `4 * filters`.",
                BLOCK_SOLUTION.replace("if strides != 1 or x.shape[-1] != 4 * filters:", "if False:")),
        Mistake("projection_without_stride",
                "your projection shortcut keeps the full resolution while the main path halves it: give the 1x1 "
                "projection the block's stride, `strides=strides`.",
                BLOCK_SOLUTION.replace("layers.Conv2D(4 * filters, 1, strides=strides, padding",
                                       "layers.Conv2D(4 * filters, 1, padding")),
        Mistake("expansion_not_4x",
                "the block's output must have 4 x filters channels (the bottleneck expands back): the last 1x1 "
                "convolution, and the projection, produce `4 * filters` channels.",
                BLOCK_SOLUTION.replace("4 * filters", "2 * filters"), detect=_expansion_not_4x),
        Mistake("stride_on_wrong_conv",
                "the stride belongs to the 3x3 convolution in ResNet v1.5: a stride-2 1x1 convolution skips 3 "
                "pixels of every 4. Give the first 1x1 stride 1 and the 3x3 `strides=strides`.",
                BLOCK_SOLUTION.replace(
                    'x = layers.Conv2D(filters, 1, padding="same", use_bias=False)(x)',
                    'x = layers.Conv2D(filters, 1, strides=strides, padding="same", use_bias=False)(x)').replace(
                    "layers.Conv2D(filters, 3, strides=strides, padding", "layers.Conv2D(filters, 3, padding"),
                detect=_stride_not_on_3x3),
        Mistake("relu_before_add",
                "the ReLU comes after the add, not before: the main path ends with BatchNormalization (no ReLU), "
                "then `layers.ReLU()(layers.Add()([shortcut, x]))`.",
                BLOCK_SOLUTION.replace("    x = layers.BatchNormalization()(x)\n    return layers.ReLU()("
                                       "layers.Add()([shortcut, x]))",
                                       "    x = layers.ReLU()(layers.BatchNormalization()(x))\n"
                                       "    return layers.Add()([shortcut, x])")),
        Mistake("no_relu_after_add",
                "the block's output needs a ReLU after the add: `layers.ReLU()(layers.Add()([shortcut, x]))`.",
                BLOCK_SOLUTION.replace("return layers.ReLU()(layers.Add()([shortcut, x]))",
                                       "return layers.Add()([shortcut, x])")),
        Mistake("projection_on_identity_block",
                "when the shape does not change the shortcut is `x` itself: a projection there adds parameters "
                "and blocks the identity path. Project only if `strides != 1` or the channels differ.",
                BLOCK_SOLUTION.replace("if strides != 1 or x.shape[-1] != 4 * filters:", "if True:"),
                detect=_projection_on_identity),
        Mistake("missing_batch_norm",
                "your block has no BatchNormalization: every convolution, the projection's too, is followed by "
                "`layers.BatchNormalization()` (and the convolutions need no bias).",
                BLOCK_SOLUTION.replace("layers.BatchNormalization()(shortcut)", "shortcut").replace(
                    "layers.ReLU()(layers.BatchNormalization()(x))", "layers.ReLU()(x)").replace(
                    "    x = layers.BatchNormalization()(x)\n", ""),
                detect=_no_batch_norm),
    ],
    cases=_block_cases, run=_run_block, compare=_compare_blocks,
)

# ---------------------------------------------------------------- q2: the ring all-reduce time

RING_SOLUTION = '''\
def ring_time(num_devices, num_bytes, gbit_per_s, latency_s):
    """Seconds for a ring all-reduce of `num_bytes` over `num_devices`, links of `gbit_per_s` Gbit/s,
    `latency_s` per message hop."""
    bytes_per_s = gbit_per_s * 1e9 / 8
    hops = 2 * (num_devices - 1)  # N-1 reduce-scatter steps, N-1 all-gather steps
    return hops / num_devices * num_bytes / bytes_per_s + hops * latency_s
'''
RESNET50_GRADIENT_BYTES = 25_557_032 * 4


def _ring_cases():
    return [Case("2 devices, 4 MiB over 10 Gbit/s, no latency", (2, 4 * 2**20, 10.0, 0.0)),
            Case("1 device (nothing to send)", (1, 4 * 2**20, 10.0, 30e-6)),
            Case("8 devices, ResNet-50's gradient over 25 Gbit/s, no latency", (8, RESNET50_GRADIENT_BYTES, 25.0, 0.0)),
            Case("32 devices, ResNet-50's gradient over 25 Gbit/s, 30 us a hop", (32, RESNET50_GRADIENT_BYTES, 25.0, 30e-6))]


def _compare_times(expected, got):
    return compare_values(expected, got, rtol=1e-6, atol=1e-12)


def _ratios(outcomes):
    """got / expected on the cases without latency (2 and 8 devices), or None."""
    if any(o.error is not None for o in outcomes):
        return None
    expected = q2._expected()
    try:
        return [float(outcomes[i].value) / float(expected[i].value) for i in (0, 2)]
    except (TypeError, ValueError):
        return None


def _ratio_is(target):
    def detect(outcomes):
        ratios = _ratios(outcomes)
        targets = [target(n) for n in (2, 8)]
        return ratios is not None and np.allclose(ratios, targets, rtol=1e-4)
    return detect


q2 = FunctionExercise(
    "nb10.q2", "ring_time", "the ring all-reduce time",
    prompt=(
        "Write `ring_time(num_devices, num_bytes, gbit_per_s, latency_s)`: the seconds a ring all-reduce of a "
        "`num_bytes` gradient takes over `num_devices` devices whose links carry `gbit_per_s` **gigabits** per "
        "second, with `latency_s` seconds per message hop. Each device sends 2(N-1)/N x the bytes (N-1 "
        "reduce-scatter steps and N-1 all-gather steps, each of bytes/N), and each of the 2(N-1) steps pays "
        "the latency once."),
    skeleton='''\
def ring_time(num_devices, num_bytes, gbit_per_s, latency_s):
    """Seconds for a ring all-reduce of `num_bytes` over `num_devices`, links of `gbit_per_s` Gbit/s,
    `latency_s` per message hop."""
    ...
''',
    solution=RING_SOLUTION,
    hints=[
        "Turn the link speed into bytes per second first: a byte is 8 bits, a gigabit 1e9 bits.",
        "The bandwidth term is `2 * (N - 1) / N * num_bytes / bytes_per_s`; on 1 device it is 0.",
        "Add the latency once per step: `2 * (N - 1) * latency_s`.",
    ],
    mistakes=[
        Mistake("forgot_the_2",
                "your time is half the ring's: a ring all-reduce has two phases, reduce-scatter then all-gather, "
                "each N-1 steps: 2(N-1)/N x bytes.",
                RING_SOLUTION.replace("hops = 2 * (num_devices - 1)", "hops = num_devices - 1"),
                detect=_ratio_is(lambda n: 0.5)),
        Mistake("n_instead_of_n_minus_1",
                "a ring of N devices takes N-1 steps per phase (each device already holds its own part): "
                "2(N-1)/N, not 2N/N; on 1 device there is nothing to send.",
                RING_SOLUTION.replace("hops = 2 * (num_devices - 1)", "hops = 2 * num_devices"),
                detect=_ratio_is(lambda n: n / (n - 1))),
        Mistake("bits_for_bytes",
                "your time is 8x too short: the links are given in giga*bits* per second and the gradient in "
                "bytes. Convert: `bytes_per_s = gbit_per_s * 1e9 / 8`.",
                RING_SOLUTION.replace("gbit_per_s * 1e9 / 8", "gbit_per_s * 1e9"),
                detect=_ratio_is(lambda n: 1 / 8)),
        Mistake("returned_milliseconds",
                "your answer is 1000x the seconds: return seconds (what the bandwidth in bytes per second gives).",
                RING_SOLUTION.replace("return hops", "return 1000 * (hops").replace(
                    "+ hops * latency_s", "+ hops * latency_s)"),
                detect=_ratio_is(lambda n: 1000.0)),
        Mistake("latency_left_out",
                "right without latency, short with it: every one of the 2(N-1) steps is a message that waits "
                "`latency_s`, so add `2 * (N - 1) * latency_s`.",
                RING_SOLUTION.replace(" + hops * latency_s", "")),
        Mistake("latency_once",
                "the latency is paid on every step of the ring, 2(N-1) of them, not once per all-reduce.",
                RING_SOLUTION.replace("+ hops * latency_s", "+ latency_s")),
    ],
    cases=_ring_cases, compare=_compare_times,
)

# ---------------------------------------------------------------- q3: the talk's efficiency


def _talk_efficiency_2_gpus():
    from tfcourse.resnet import scaling

    return next(row["efficiency"] for row in scaling.talk_table() if row["devices"] == 2)


def _near(value, rtol=2e-3):
    return lambda outcomes: np.isclose(float(outcomes[0].value), value, rtol=rtol)


q3 = ValueExercise(
    "nb10.q3", "efficiency_2_gpus", "the talk's parallel efficiency",
    prompt=(
        "The talk measured ResNet-50 at 221.4 images/s on one P100 and 442.37 images/s on two in one machine. "
        "What is the parallel efficiency of the 2-GPU run, as a fraction (0.5 for 50%)? Set "
        "`efficiency_2_gpus` to the number (compute it in Python)."),
    skeleton="efficiency_2_gpus = ...\n",
    solution="efficiency_2_gpus = (442.37 / 221.4) / 2  # speedup / devices\n",
    hints=["First the speedup: how many times one GPU's images/s did two GPUs reach?",
           "Efficiency = speedup / number of devices: 1.0 is perfect linear scaling."],
    mistakes=[
        Mistake("speedup_not_efficiency",
                "that is the speedup (how many times one GPU's images/s); the efficiency divides it by the "
                "number of GPUs.",
                "efficiency_2_gpus = 442.37 / 221.4\n", detect=_near(442.37 / 221.4)),
        Mistake("percent_not_fraction",
                "right, but as a percentage: the question asks for a fraction (0.5 for 50%).",
                "efficiency_2_gpus = 100 * 442.37 / (2 * 221.4)\n", detect=_near(100 * 442.37 / 442.8)),
        Mistake("inverted_ratio",
                "you divided the wrong way round: efficiency = measured images/s / (devices x one device's "
                "images/s), at most 1 for a run slower than linear.",
                "efficiency_2_gpus = 2 * 221.4 / 442.37\n", detect=_near(442.8 / 442.37, rtol=2e-4)),
    ],
    expected=_talk_efficiency_2_gpus,
    compare=lambda expected, got: compare_values(expected, got, rtol=1e-3, atol=0),
    explain=lambda value: f"`scaling.talk_table()` gives {value:.4f}: {100 * value:.1f}% on 2 GPUs in one machine; "
                          "across machines (4 GPUs) the talk reports 92.5%.",
)

# ---------------------------------------------------------------- q4: predict the scaling model


def _model_efficiencies():
    """The model's efficiency on the talk's 4 and 32 GPUs: one ring over all GPUs, no overlap."""
    from tfcourse.resnet import predict

    rows = predict.predict_talk(predict.TalkAssumptions(), overlap=0.0, topology="ring")
    by_devices = {row["devices"]: row["efficiency"] for row in rows}
    return np.array([by_devices[4], by_devices[32]])


def _compare_efficiencies(expected, got):
    values = np.ravel(np.asarray(got, dtype=object)) if isinstance(got, (list, tuple, np.ndarray)) else None
    if values is None or len(values) != 2 or not all(isinstance(v, (int, float, np.number)) for v in values):
        raise AnswerError(f"expected a list of 2 efficiencies like `[0.9, 0.8]`, got {type(got).__name__}")
    return compare_values(expected, np.asarray(values, np.float64), rtol=0, atol=0.02)


def _values(outcomes):
    return np.ravel(np.asarray(outcomes[0].value, np.float64))


def _efficiencies_near(values, atol=0.01):
    return lambda outcomes: np.allclose(_values(outcomes), values, atol=atol)


def _efficiency(num_devices, bytes_per_s, factor=2.0):
    compute = 64 / 221.4
    return compute / (compute + factor * (num_devices - 1) / num_devices * RESNET50_GRADIENT_BYTES / bytes_per_s)


q4 = ValueExercise(
    "nb10.q4", "predicted_efficiency", "predict the efficiency at scale",
    prompt=(
        "Predict, then let the check run `predict.predict_talk`: with one ring over all GPUs, links of 25 Gbit/s "
        "between machines, ResNet-50's 102,228,128-byte gradient, and 64 / 221.4 = 0.289 s of compute per step "
        "(no overlap; the model also adds a little latency, which you may ignore), what parallel efficiency does "
        "the model give on **4** GPUs and on **32** GPUs? Efficiency = compute / (compute + all-reduce). Set "
        "`predicted_efficiency` to the two fractions, `[on_4, on_32]` (within 0.02)."),
    skeleton="predicted_efficiency = ...\n",
    solution='''\
compute = 64 / 221.4
allreduce = {n: 2 * (n - 1) / n * 102_228_128 / (25e9 / 8) for n in (4, 32)}
predicted_efficiency = [compute / (compute + allreduce[n]) for n in (4, 32)]
''',
    hints=["Use q2's formula without the latency: bytes per second is 25e9 / 8.",
           "2(N-1)/N is 1.5 for 4 GPUs and 1.94 for 32: the time per step hardly grows."],
    mistakes=[
        Mistake("efficiency_falls_like_1_over_n",
                "a ring's traffic per device is 2(N-1)/N x the gradient, which tends to twice the gradient instead "
                "of growing with N: the efficiency on 32 GPUs stays close to the one on 4.",
                "predicted_efficiency = [0.85, 0.85 * 4 / 32]\n",
                detect=lambda outcomes: _values(outcomes)[1] < 0.5),
        Mistake("bits_for_bytes",
                "your all-reduce is 8x too fast: 25 Gbit/s is 25e9 / 8 bytes per second.",
                "predicted_efficiency = [64 / 221.4 / (64 / 221.4 + 1.5 * 102_228_128 / 25e9),\n"
                "                        64 / 221.4 / (64 / 221.4 + 1.9375 * 102_228_128 / 25e9)]\n",
                detect=_efficiencies_near([_efficiency(4, 25e9), _efficiency(32, 25e9)])),
        Mistake("forgot_the_2",
                "your all-reduce is half the ring's: 2(N-1)/N x the bytes, two phases (reduce-scatter, all-gather).",
                "predicted_efficiency = [64 / 221.4 / (64 / 221.4 + 0.75 * 102_228_128 / 3.125e9),\n"
                "                        64 / 221.4 / (64 / 221.4 + 0.96875 * 102_228_128 / 3.125e9)]\n",
                detect=_efficiencies_near([_efficiency(4, 3.125e9, 1.0), _efficiency(32, 3.125e9, 1.0)])),
        Mistake("speedup_not_efficiency",
                "those look like speedups; the efficiency is speedup / GPUs, a fraction at most 1.",
                "predicted_efficiency = [4 * 0.85, 32 * 0.81]\n",
                detect=lambda outcomes: bool(np.all(_values(outcomes) > 1.5))),
        Mistake("communication_free",
                "the all-reduce is not free: about 0.05 s per step against 0.29 s of compute at 25 Gbit/s.",
                "predicted_efficiency = [1.0, 1.0]\n",
                detect=lambda outcomes: bool(np.all((_values(outcomes) >= 0.99) & (_values(outcomes) <= 1.0)))),
    ],
    expected=_model_efficiencies, compare=_compare_efficiencies,
    explain=lambda values: f"the model gives {100 * values[0]:.1f}% on 4 GPUs and {100 * values[1]:.1f}% on 32: "
                           "nearly flat, as the talk measured (92.5%, 90.3%).",
)

EXERCISES = [q1, q2, q3, q4]

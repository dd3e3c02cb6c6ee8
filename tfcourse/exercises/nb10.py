"""Exercises of notebook 10 (ResNet scaling): a basic block (ResNet-18/34), the ring all-reduce
time, efficiency and exposed communication from a measurement, and a prediction of the scaling
model for a cluster the lesson does not print.

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

# ---------------------------------------------------------------- q1: a basic block (ResNet-18/34)

BLOCK_SOLUTION = '''\
from keras import layers


def my_basic_block(x, filters, strides):
    """ResNet-18/34 basic block: [B, H, W, C] -> [B, H / strides, W / strides, filters]."""
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        # The shape changes: a 1x1 projection (with the block's stride) makes the shortcut fit.
        shortcut = layers.Conv2D(filters, 1, strides=strides, padding="same", use_bias=False)(x)
        shortcut = layers.BatchNormalization()(shortcut)
    y = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)   # 3x3, the stride
    y = layers.ReLU()(layers.BatchNormalization()(y))
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)                    # 3x3, stride 1
    y = layers.BatchNormalization()(y)
    return layers.ReLU()(layers.Add()([shortcut, y]))                                   # ReLU after the add
'''


BOTTLENECK_WRONG = '''\
from keras import layers


def my_basic_block(x, filters, strides):
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = layers.BatchNormalization()(layers.Conv2D(filters, 1, strides=strides, use_bias=False)(x))
    y = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(filters, 1, use_bias=False)(x)))
    y = layers.ReLU()(layers.BatchNormalization()(
        layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(y)))
    y = layers.BatchNormalization()(layers.Conv2D(filters, 1, use_bias=False)(y))
    return layers.ReLU()(layers.Add()([shortcut, y]))
'''


def _block_cases():
    def case(label, shape, filters, strides):
        return Case(label, {"shape": shape, "filters": filters, "strides": strides})

    return [case("an identity block (8 channels in, filters 8, stride 1)", (2, 8, 8, 8), 8, 1),
            case("a down-sampling block (8 channels in, filters 16, stride 2)", (2, 8, 8, 8), 16, 2),
            case("a batch of 1 whose channels change (4 -> 12), stride 1", (1, 6, 6, 4), 12, 1),
            case("an odd-sized map (7x7, 6 channels in, filters 6, stride 2)", (2, 7, 7, 6), 6, 2)]


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
    {output [B, H', W', C'], convs [(kernel, strides, filters)], batch_norms, parameters}."""
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
    difference = np.abs(got["output"] - expected["output"])
    if not np.allclose(got["output"], expected["output"], rtol=0.02, atol=0.02):
        where = tuple(int(i) for i in np.unravel_index(np.argmax(difference), difference.shape))
        return (f"same weights, same input, other outputs: at [batch, row, column, channel] = {list(where)} "
                f"expected {expected['output'][where]:.4f}, got {got['output'][where]:.4f} "
                f"({int((difference > 0.02 + 0.02 * np.abs(expected['output'])).sum())} of {difference.size} "
                f"values differ; your block has {got['parameters']:,} parameters, the reference "
                f"{expected['parameters']:,})")
    return None


def _all_built(outcomes):
    return all(o.error is None for o in outcomes)


def _output_not_filters(outcomes):
    cases = q1.cases()
    return _all_built(outcomes) and all(
        o.value["output"].shape[-1] != case.input["filters"] for o, case in zip(outcomes, cases))


def _stride_on_second_conv(outcomes):
    """Down-sampled, but the first 3x3 convolution of a stride-2 block has stride 1."""
    if not _all_built(outcomes):
        return False
    for outcome, case in zip(outcomes, q1.cases()):
        if case.input["strides"] == 2:
            threes = [strides for kernel, strides, _ in outcome.value["convs"] if kernel == (3, 3)]
            halved = outcome.value["output"].shape[1] == -(-case.input["shape"][1] // 2)
            return halved and len(threes) == 2 and threes[0] == (1, 1)
    return False


def _tensorflow_op_on_keras_tensor(outcomes):
    return any(o.error is not None and "KerasTensor cannot be used" in str(o.error) for o in outcomes)


def _no_batch_norm(outcomes):
    return _all_built(outcomes) and all(o.value["batch_norms"] == 0 for o in outcomes)


def _projection_on_identity(outcomes):
    """The identity case (first) got a third convolution: a projection where none is needed."""
    return _all_built(outcomes) and len(outcomes[0].value["convs"]) == 3


def _bottleneck_written(outcomes):
    """Three convolutions (1x1, 3x3, 1x1) on the identity case: the lesson's bottleneck."""
    return _all_built(outcomes) and [kernel for kernel, _, _ in outcomes[0].value["convs"]][:3] == [(1, 1), (3, 3), (1, 1)]


q1 = FunctionExercise(
    "nb10.q1", "my_basic_block", "a basic block (ResNet-18/34)",
    prompt=(
        "ResNet-18 and ResNet-34 use the **basic** block instead of the bottleneck: two 3x3 convolutions, both "
        "to `filters` channels, the first one carrying the `strides`; each `Conv2D(..., padding=\"same\", "
        "use_bias=False)` is followed by `BatchNormalization`, and by `ReLU` except the second. The output has "
        "`filters` channels (no expansion). The shortcut is `x` itself, or, when the shape changes "
        "(`strides != 1` or the channels differ from `filters`), a 1x1 projection convolution with the block's "
        "stride plus `BatchNormalization`. Add the two, then a ReLU. Write `my_basic_block(x, filters, strides)` "
        "with `keras.layers`. The check builds a model of your block, gives it the reference's weights and "
        "compares the outputs on 4 feature maps."),
    skeleton='''\
from keras import layers


def my_basic_block(x, filters, strides):
    """ResNet-18/34 basic block: [B, H, W, C] -> [B, H / strides, W / strides, filters]."""
    ...
''',
    solution=BLOCK_SOLUTION,
    hints=[
        "Main path: 3x3 (filters, strides) -> BatchNormalization -> ReLU -> 3x3 (filters, stride 1) -> "
        "BatchNormalization; no 1x1 convolutions on the main path.",
        "The shortcut must have the main path's output shape to be added: when `strides != 1` or "
        "`x.shape[-1] != filters`, use `Conv2D(filters, 1, strides=strides, ...)` + BatchNormalization.",
        "End with `layers.ReLU()(layers.Add()([shortcut, y]))`: the ReLU comes after the add.",
    ],
    mistakes=[
        Mistake("tensorflow_op_on_keras_tensor",
                "the check builds a Keras model from your block, where `tf.nn` functions cannot take Keras "
                "tensors: use layers (`layers.ReLU()`, `layers.Add()`) for every step.",
                BLOCK_SOLUTION.replace("return layers.ReLU()(layers.Add()([shortcut, y]))",
                                       "return tf.nn.relu(layers.Add()([shortcut, y]))"),
                detect=_tensorflow_op_on_keras_tensor),
        Mistake("bottleneck_instead_of_basic",
                "that is the bottleneck (1x1, 3x3, 1x1) of ResNet-50: the basic block of ResNet-18/34 has two "
                "3x3 convolutions of `filters` channels and no expansion.",
                BOTTLENECK_WRONG,
                detect=_bottleneck_written),
        Mistake("missing_projection_shortcut",
                "the shortcut does not fit the main path when the block changes the shape: add a 1x1 projection "
                "`Conv2D(filters, 1, strides=strides)` + BatchNormalization on the shortcut when "
                "`strides != 1` or the channels differ from `filters`.",
                BLOCK_SOLUTION.replace("if strides != 1 or x.shape[-1] != filters:", "if False:")),
        Mistake("projection_without_stride",
                "your projection shortcut keeps the full resolution while the main path halves it: give the 1x1 "
                "projection the block's stride, `strides=strides`.",
                BLOCK_SOLUTION.replace("layers.Conv2D(filters, 1, strides=strides, padding",
                                       "layers.Conv2D(filters, 1, padding")),
        Mistake("expanded_like_a_bottleneck",
                "the basic block's output has `filters` channels: there is no 4x expansion (that is the "
                "bottleneck's last 1x1 convolution).",
                BLOCK_SOLUTION.replace("layers.Conv2D(filters, 3, padding", "layers.Conv2D(4 * filters, 3, padding")
                .replace("x.shape[-1] != filters", "x.shape[-1] != 4 * filters")
                .replace("layers.Conv2D(filters, 1, strides", "layers.Conv2D(4 * filters, 1, strides"),
                detect=_output_not_filters),
        Mistake("stride_on_second_conv",
                "the stride belongs to the first 3x3 convolution: the second one works on the already "
                "down-sampled map with stride 1.",
                BLOCK_SOLUTION.replace("layers.Conv2D(filters, 3, strides=strides, padding",
                                       "layers.Conv2D(filters, 3, padding").replace(
                    "y = layers.Conv2D(filters, 3, padding=\"same\", use_bias=False)(y)",
                    "y = layers.Conv2D(filters, 3, strides=strides, padding=\"same\", use_bias=False)(y)"),
                detect=_stride_on_second_conv),
        Mistake("relu_before_add",
                "the ReLU comes after the add, not before: the main path ends with BatchNormalization (no ReLU), "
                "then `layers.ReLU()(layers.Add()([shortcut, y]))`.",
                BLOCK_SOLUTION.replace("    y = layers.BatchNormalization()(y)\n    return layers.ReLU()("
                                       "layers.Add()([shortcut, y]))",
                                       "    y = layers.ReLU()(layers.BatchNormalization()(y))\n"
                                       "    return layers.Add()([shortcut, y])")),
        Mistake("no_relu_after_add",
                "the block's output needs a ReLU after the add: `layers.ReLU()(layers.Add()([shortcut, y]))`.",
                BLOCK_SOLUTION.replace("return layers.ReLU()(layers.Add()([shortcut, y]))",
                                       "return layers.Add()([shortcut, y])")),
        Mistake("projection_on_identity_block",
                "when the shape does not change the shortcut is `x` itself: a projection there adds parameters "
                "and blocks the identity path. Project only if `strides != 1` or the channels differ.",
                BLOCK_SOLUTION.replace("if strides != 1 or x.shape[-1] != filters:", "if True:"),
                detect=_projection_on_identity),
        Mistake("missing_batch_norm",
                "your block has no BatchNormalization: every convolution, the projection's too, is followed by "
                "`layers.BatchNormalization()` (and the convolutions need no bias).",
                BLOCK_SOLUTION.replace("layers.BatchNormalization()(shortcut)", "shortcut").replace(
                    "layers.ReLU()(layers.BatchNormalization()(y))", "layers.ReLU()(y)").replace(
                    "    y = layers.BatchNormalization()(y)\n", ""),
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

# ---------------------------------------------------------------- q3: efficiency and exposed communication

MEASURED = {"batch_per_gpu": 64, "images_per_sec_1": 380.0, "gpus": 16, "images_per_sec_n": 5510.0}


def _efficiency_and_exposed():
    """[efficiency, exposed communication in ms per step] of MEASURED, through the library's functions."""
    from tfcourse.resnet import predict, scaling

    efficiency = scaling.parallel_efficiency(
        scaling.speedup(MEASURED["images_per_sec_n"], MEASURED["images_per_sec_1"]), MEASURED["gpus"])
    compute = MEASURED["batch_per_gpu"] / MEASURED["images_per_sec_1"]
    return np.array([efficiency, 1e3 * predict.implied_communication_time(efficiency, compute)])


def _as_pair(got):
    try:
        array = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        raise AnswerError(f"expected a list of 2 numbers `[efficiency, exposed_ms]`, got {got!r}") from None
    if array.shape != (2,):
        raise AnswerError(f"expected 2 numbers `[efficiency, exposed_ms]`, got {got!r}")
    return array


def _compare_pair(expected, got):
    array = _as_pair(got)
    if not np.isclose(array[0], expected[0], rtol=2e-3, atol=0):
        return f"the efficiency: expected {expected[0]:.4f}, got {array[0]:.4g}"
    if not np.isclose(array[1], expected[1], rtol=0.02, atol=0):
        return f"the exposed communication: expected {expected[1]:.2f} ms, got {array[1]:.4g}"
    return None


def _first_near(value, rtol=2e-3):
    return lambda outcomes: np.isclose(_as_pair(outcomes[0].value)[0], value, rtol=rtol)


def _second_near(value, rtol=0.02):
    return lambda outcomes: np.isclose(_as_pair(outcomes[0].value)[1], value, rtol=rtol)


_EFFICIENCY = 5510.0 / (16 * 380.0)
_COMPUTE_S = 64 / 380.0

q3 = ValueExercise(
    "nb10.q3", "efficiency_and_exposed", "efficiency and exposed communication",
    prompt=(
        "A cluster trains ResNet-50 at batch 64 per GPU: 380 images/s on one GPU, 5,510 images/s on 16 GPUs "
        "(2 machines x 8). What is the parallel efficiency of the 16-GPU run (a fraction, 0.5 for 50%), and how "
        "many milliseconds of communication per step does it leave exposed (not hidden behind compute), if each "
        "GPU computes as fast as the single one did? Set `efficiency_and_exposed = [efficiency, exposed_ms]`."),
    skeleton="efficiency_and_exposed = ...\n",
    solution='''\
efficiency = 5510 / 380 / 16                        # speedup / GPUs
compute_s = 64 / 380                                # one step of one GPU
exposed_s = compute_s / efficiency - compute_s      # step(16) = compute / efficiency
efficiency_and_exposed = [efficiency, 1000 * exposed_s]
''',
    hints=["Efficiency = speedup / GPUs, speedup = images/s on 16 / images/s on 1.",
           "Each GPU still does 64 images per step, so the 16-GPU step lasts compute / efficiency; the "
           "exposed communication is what that adds to one GPU's compute time (64 / 380 s)."],
    mistakes=[
        Mistake("speedup_not_efficiency",
                "your first number is the speedup (how many times one GPU's images/s); the efficiency divides it "
                "by the number of GPUs.",
                "efficiency_and_exposed = [5510 / 380, 17.52]\n", detect=_first_near(5510.0 / 380.0)),
        Mistake("percent_not_fraction",
                "the efficiency as a percentage: the question asks for a fraction (0.5 for 50%).",
                "efficiency_and_exposed = [100 * 5510 / 380 / 16, 17.52]\n", detect=_first_near(100 * _EFFICIENCY)),
        Mistake("exposed_in_seconds",
                "your exposed time looks like seconds: the question asks for milliseconds.",
                "efficiency_and_exposed = [5510 / 380 / 16, 64 / 380 / (5510 / 380 / 16) - 64 / 380]\n",
                detect=_second_near(_COMPUTE_S * (1 / _EFFICIENCY - 1))),
        Mistake("exposed_as_compute_times_loss",
                "the lost fraction of the step is not (1 - efficiency) of the *compute*: the 16-GPU step lasts "
                "compute / efficiency, so the exposed time is compute x (1 / efficiency - 1).",
                "efficiency_and_exposed = [5510 / 380 / 16, 1000 * 64 / 380 * (1 - 5510 / 380 / 16)]\n",
                detect=_second_near(1e3 * _COMPUTE_S * (1 - _EFFICIENCY))),
    ],
    expected=_efficiency_and_exposed, compare=_compare_pair,
    explain=lambda values: f"{100 * values[0]:.1f}% efficiency leaves {values[1]:.1f} ms of each step's "
                           "communication exposed: the talk's implied-comm column is the same arithmetic.",
)

# ---------------------------------------------------------------- q4: predict the scaling model


CLUSTER = {"gpus": (16, 64), "gpus_per_machine": 8, "network_gbit_per_s": 100.0, "overlap": 0.5}


def _model_efficiencies():
    """The model's efficiency for CLUSTER: one ring over all GPUs, the talk's compute and gradient."""
    from tfcourse.resnet import predict

    talk = predict.TalkAssumptions()
    efficiencies = []
    for gpus in CLUSTER["gpus"]:
        step = predict.predict_step_time(gpus, CLUSTER["gpus_per_machine"], talk.compute_time_s, talk.gradient_bytes,
                                         CLUSTER["network_gbit_per_s"] * 1e9 / 8, talk.intra_node_bandwidth,
                                         overlap=CLUSTER["overlap"], topology="ring")
        efficiencies.append(talk.compute_time_s / step)
    return np.array(efficiencies)


def _compare_efficiencies(expected, got):
    values = np.ravel(np.asarray(got, dtype=object)) if isinstance(got, (list, tuple, np.ndarray)) else None
    if values is None or len(values) != 2 or not all(isinstance(v, (int, float, np.number)) for v in values):
        raise AnswerError(f"expected a list of 2 efficiencies like `[0.9, 0.8]`, got {type(got).__name__}")
    return compare_values(expected, np.asarray(values, np.float64), rtol=0, atol=0.01)


def _values(outcomes):
    return np.ravel(np.asarray(outcomes[0].value, np.float64))


def _efficiencies_near(values, atol=0.005):
    return lambda outcomes: np.allclose(_values(outcomes), values, atol=atol)


def _efficiency(num_devices, bytes_per_s, factor=2.0, overlap=0.5):
    compute = 64 / 221.4
    communication = factor * (num_devices - 1) / num_devices * RESNET50_GRADIENT_BYTES / bytes_per_s
    return compute / (compute + (1 - overlap) * communication)


q4 = ValueExercise(
    "nb10.q4", "predicted_efficiency", "predict the efficiency of a faster cluster",
    prompt=(
        "Predict with the scaling model of section 5: the talk's P100s (64 / 221.4 = 0.289 s of compute per step, "
        "ResNet-50's 102,228,128-byte gradient), but machines of 8 GPUs linked by **100 Gbit/s**, one ring over "
        "all GPUs, and half of the all-reduce hidden behind the backward pass (overlap 0.5; ignore the latency). "
        "What parallel efficiency does the model give on **16** GPUs (2 machines) and on **64** GPUs (8 "
        "machines)? Efficiency = compute / (compute + (1 - overlap) x all-reduce). Set `predicted_efficiency` "
        "to the two fractions, `[on_16, on_64]` (within 0.01)."),
    skeleton="predicted_efficiency = ...\n",
    solution='''\
compute = 64 / 221.4
bytes_per_s = 100e9 / 8
allreduce = {n: 2 * (n - 1) / n * 102_228_128 / bytes_per_s for n in (16, 64)}
predicted_efficiency = [compute / (compute + 0.5 * allreduce[n]) for n in (16, 64)]
''',
    hints=["Use q2's formula without the latency: bytes per second is 100e9 / 8.",
           "2(N-1)/N is 1.875 for 16 GPUs and 1.97 for 64: the all-reduce hardly grows; only half of it shows."],
    mistakes=[
        Mistake("efficiency_falls_like_1_over_n",
                "a ring's traffic per device is 2(N-1)/N x the gradient, which tends to twice the gradient instead "
                "of growing with N: the efficiency on 64 GPUs stays close to the one on 16.",
                "predicted_efficiency = [0.97, 0.97 * 16 / 64]\n",
                detect=lambda outcomes: _values(outcomes)[1] < 0.5),
        Mistake("bits_for_bytes",
                "your all-reduce is 8x too fast: 100 Gbit/s is 100e9 / 8 bytes per second.",
                "predicted_efficiency = [64 / 221.4 / (64 / 221.4 + 0.5 * 1.875 * 102_228_128 / 100e9),\n"
                "                        64 / 221.4 / (64 / 221.4 + 0.5 * 1.96875 * 102_228_128 / 100e9)]\n",
                detect=_efficiencies_near([_efficiency(16, 100e9), _efficiency(64, 100e9)])),
        Mistake("overlap_ignored",
                "that is the model without overlap: with overlap 0.5 only half of the all-reduce adds to the step, "
                "(1 - 0.5) x all-reduce.",
                "predicted_efficiency = [64 / 221.4 / (64 / 221.4 + 1.875 * 102_228_128 / 12.5e9),\n"
                "                        64 / 221.4 / (64 / 221.4 + 1.96875 * 102_228_128 / 12.5e9)]\n",
                detect=_efficiencies_near([_efficiency(16, 12.5e9, overlap=0.0), _efficiency(64, 12.5e9, overlap=0.0)])),
        Mistake("forgot_the_2",
                "your all-reduce is half the ring's: 2(N-1)/N x the bytes, two phases (reduce-scatter, all-gather).",
                "predicted_efficiency = [64 / 221.4 / (64 / 221.4 + 0.5 * 0.9375 * 102_228_128 / 12.5e9),\n"
                "                        64 / 221.4 / (64 / 221.4 + 0.5 * 0.984375 * 102_228_128 / 12.5e9)]\n",
                detect=_efficiencies_near([_efficiency(16, 12.5e9, 1.0), _efficiency(64, 12.5e9, 1.0)])),
        Mistake("speedup_not_efficiency",
                "those look like speedups; the efficiency is speedup / GPUs, a fraction at most 1.",
                "predicted_efficiency = [16 * 0.97, 64 * 0.97]\n",
                detect=lambda outcomes: bool(np.all(_values(outcomes) > 1.5))),
    ],
    expected=_model_efficiencies, compare=_compare_efficiencies,
    explain=lambda values: f"the model gives {100 * values[0]:.1f}% on 16 GPUs and {100 * values[1]:.1f}% on 64: "
                           "four times the talk's network leaves a few points of the step to communication.",
)

EXERCISES = [q1, q2, q3, q4]

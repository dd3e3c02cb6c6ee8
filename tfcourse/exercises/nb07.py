"""Exercises of notebook 07 (Keras): a Sequential model of any depth, compile for another kind of
labels, and two predictions about fit.

    from tfcourse.exercises import nb07 as ex

Answers are judged by what they compute, not by how they are written: the model check measures
every layer's initial kernel (its spread and its tails: a normal truncated at two standard
deviations never strays past 2.27 of its own standard deviations), then copies known weights
into the `Dense` layers, in order, and compares every layer's output with numpy's; the compile
check runs two training steps and compares the loss, the accuracy the metric reports and the
updated weights. The predictions are checked by running `fit` on a tiny model.
"""

import functools
import math
import tempfile

import numpy as np

from tfcourse.datasets.mnist_files import IMAGE_PIXELS, NUM_CLASSES  # numpy only: no TensorFlow at import
from tfcourse.exercises.core import (
    AnswerError,
    Case,
    FunctionExercise,
    Mistake,
    ValueExercise,
    compare_values,
)

# A normal truncated at two standard deviations, against the untruncated one it is cut from:
# its standard deviation is 0.8796 of the untruncated one's, and no value lies farther than
# 2 / 0.8796 = 2.27 of its own standard deviations from 0 (a plain normal's largest of 1,000
# draws lies near 3.2, a uniform's at 1.73).
TRUNCATED_STD_RATIO = 0.8796
# The relative standard error of the std measured on n weights of such a normal is
# sqrt((kurtosis - 1) / 4n) = sqrt(0.34 / n): a kernel of 1,000 weights measures it to 1.9%.
STD_ERROR_FACTOR = 0.34
# Accepted largest |weight| / std of a kernel of >= MIN_WEIGHTS_FOR_SHAPE weights.
TAIL_RANGE = (2.05, 2.45)
MIN_WEIGHTS_FOR_SHAPE = 1000

# ---------------------------------------------------------------- q1: a Sequential model of any depth

MODEL_SOLUTION = '''\
import math

import keras


def build_classifier(hidden_units, num_classes):
    """784 pixels -> one ReLU Dense layer per entry of `hidden_units` -> `num_classes` logits."""
    stack = [keras.Input(shape=(784,))]
    fan_in = 784
    for units in hidden_units:
        start = keras.initializers.TruncatedNormal(stddev=1 / math.sqrt(fan_in))
        stack.append(keras.layers.Dense(units, activation="relu", kernel_initializer=start))
        fan_in = units
    start = keras.initializers.TruncatedNormal(stddev=1 / math.sqrt(fan_in))
    stack.append(keras.layers.Dense(num_classes, kernel_initializer=start))
    return keras.Sequential(stack)
'''

MODEL_SKELETON = '''\
import math

import keras


def build_classifier(hidden_units, num_classes):
    """784 pixels -> one ReLU Dense layer per entry of `hidden_units` -> `num_classes` logits."""
    ...
'''


def _model_cases():
    rng = np.random.default_rng(7)

    def case(label, hidden_units, num_classes, batch):
        sizes = [IMAGE_PIXELS, *hidden_units, num_classes]
        weights = [(rng.normal(scale=1 / math.sqrt(fan_in), size=[fan_in, fan_out]).astype(np.float32),
                    rng.normal(scale=0.1, size=[fan_out]).astype(np.float32))
                   for fan_in, fan_out in zip(sizes[:-1], sizes[1:])]
        images = rng.uniform(size=[batch, IMAGE_PIXELS]).astype(np.float32)
        return Case(label, {"hidden_units": list(hidden_units), "num_classes": num_classes,
                            "weights": weights, "images": images})

    # Every kernel holds >= 1,000 weights except the third case's last two, and fan_in >= 2.6 fan_out
    # in the first two, so Glorot's initializers cannot pass for the tutorial's.
    return [case("hidden layers [256, 96], 20 classes, a batch of 4", [256, 96], 20, 4),
            case("one hidden layer of 300, 26 classes (letters), a batch of 1", [300], 26, 1),
            case("hidden layers [64, 32, 16], 10 classes, a batch of 3", [64, 32, 16], 10, 3)]


def _ratio_range(weights):
    """Accepted std * sqrt(fan_in) of a kernel of `weights` weights: from TruncatedNormal(stddev=1/sqrt(fan_in))'s
    0.88 to LecunNormal's 1.00 (the same shape, rescaled), each widened by 5 standard errors. Glorot's ratio on
    the check's large kernels (fan_in >= 2.6 fan_out) is >= 1.2."""
    error = 5 * math.sqrt(STD_ERROR_FACTOR / weights)
    return TRUNCATED_STD_RATIO * (1 - error), 1.0 * (1 + error)


def _kernel_start(layer, fan_in):
    """(std * sqrt(fan_in), largest |weight| / std or None when too few weights, biases all zero, weights)."""
    kernel = np.asarray(layer.kernel.numpy(), np.float64)
    std = float(kernel.std())
    tail = float(np.abs(kernel).max() / std) if kernel.size >= MIN_WEIGHTS_FOR_SHAPE and std > 0 else None
    biases_zero = layer.bias is None or not np.any(layer.bias.numpy())
    return (std * math.sqrt(fan_in), tail, biases_zero, kernel.size)


def _layer_outputs(model, images):
    """Each Dense layer's output, after the activation layers that follow it: [numpy arrays]."""
    import keras

    outputs, x = [], images
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        x = layer(x)
        if isinstance(layer, keras.layers.Dense):
            outputs.append(np.asarray(x))
        elif outputs:
            outputs[-1] = np.asarray(x)
    return outputs


def _run_model(function, case_input):
    """Builds the student's model, measures its initial kernels, copies the case's weights in ->
    {units, fan_ins, starts: [_kernel_start per Dense], logits or None, outputs: per Dense or None}."""
    import keras

    model = function(list(case_input["hidden_units"]), case_input["num_classes"])
    if not isinstance(model, keras.Model):
        raise AnswerError(f"expected a keras model (`return keras.Sequential([...])`), got {type(model).__name__}")
    images = case_input["images"]
    model(images)  # builds a model declared without keras.Input
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    fan_ins = [IMAGE_PIXELS] + [layer.units for layer in dense[:-1]]
    result = {"units": [layer.units for layer in dense], "starts": [_kernel_start(layer, fan_in) for layer, fan_in
                                                                     in zip(dense, fan_ins)],
              "logits": None, "outputs": None}
    expected_shapes = [tuple(kernel.shape) for kernel, _ in case_input["weights"]]
    if [tuple(layer.kernel.shape) for layer in dense] == expected_shapes and all(layer.bias is not None
                                                                                 for layer in dense):
        for layer, (kernel, bias) in zip(dense, case_input["weights"]):
            layer.set_weights([kernel, bias])
        result["logits"] = np.asarray(model(images))
        try:
            result["outputs"] = _layer_outputs(model, images)
        except Exception:  # a model that is no plain stack of layers: the logits alone are compared
            result["outputs"] = None
    return result


def _numpy_outputs(case_input, relu=None, last=None):
    """Every Dense layer's output in numpy (ReLU on hidden layers unless `relu[i]` is False;
    `last` applied to the logits: None, "softmax" or "relu")."""
    x, outputs = case_input["images"].astype(np.float64), []
    layers = case_input["weights"]
    for index, (kernel, bias) in enumerate(layers):
        x = x @ kernel + bias
        if index < len(layers) - 1 and (relu is None or relu[index]):
            x = np.maximum(x, 0)
        elif index == len(layers) - 1 and last == "relu":
            x = np.maximum(x, 0)
        elif index == len(layers) - 1 and last == "softmax":
            x = np.exp(x - x.max(axis=1, keepdims=True))
            x = x / x.sum(axis=1, keepdims=True)
        outputs.append(x)
    return outputs


def _describe(index, units, fan_in):
    return f"layer {index + 1} of {len(units)} (Dense {fan_in} -> {units[index]})"


def _compare_models(expected, got):
    units = expected["units"]
    if got["units"] != units:
        return f"your Dense layers have {got['units']} units, expected {units}"
    fan_ins = [IMAGE_PIXELS] + units[:-1]
    for index, ((ratio, tail, biases_zero, weights), fan_in) in enumerate(zip(got["starts"], fan_ins)):
        where = _describe(index, units, fan_in)
        low, high = _ratio_range(weights)
        if not low <= ratio <= high:
            return (f"{where}: its initial kernel has standard deviation {ratio:.2f}/sqrt(fan_in); the tutorial's "
                    f"truncated normal with stddev 1/sqrt(fan_in) gives {TRUNCATED_STD_RATIO:.2f}/sqrt(fan_in) "
                    f"(LecunNormal, the same shape rescaled, 1.00/sqrt(fan_in))")
        if tail is not None and not TAIL_RANGE[0] <= tail <= TAIL_RANGE[1]:
            return (f"{where}: its largest initial weight is {tail:.2f} standard deviations from 0; a normal "
                    f"truncated at two standard deviations stays within {2 / TRUNCATED_STD_RATIO:.2f}")
        if not biases_zero:
            return f"{where}: its biases do not start at zero (Keras's default, and the tutorial's)"
    if got["logits"] is None:
        return "your Dense layers have the right sizes but the check cannot copy weights into them " \
               "(a layer without biases?)"
    if got["logits"].shape != expected["logits"].shape:
        return f"the model returns shape {list(got['logits'].shape)}, expected {list(expected['logits'].shape)}"
    if np.allclose(got["logits"], expected["logits"], rtol=1e-4, atol=1e-5):
        return None
    for index, (want, have) in enumerate(zip(expected["outputs"], got["outputs"] or [])):
        if have.shape == want.shape and not np.allclose(have, want, rtol=1e-4, atol=1e-5):
            row = int(np.argmax(np.abs(have - want).max(axis=1)))
            return (f"with the check's weights copied in, the output of {_describe(index, units, fan_ins[index])}, "
                    f"after its activation, differs: example {row} expected {_row(want[row])}, got {_row(have[row])}")
    row = int(np.argmax(np.abs(got["logits"] - expected["logits"]).max(axis=1)))
    return (f"with the check's weights copied in, your model computes other logits: example {row} expected "
            f"{_row(expected['logits'][row])}, got {_row(got['logits'][row])}")


def _row(values):
    shown = ", ".join(f"{v:.4g}" for v in values[:4])
    return f"[{shown}{', ...' if len(values) > 4 else ''}]"


def _all_built(outcomes):
    return all(o.error is None for o in outcomes)


def _outputs_match(variant):
    """Every case's layer outputs equal numpy's with `variant(case)` -> kwargs of _numpy_outputs."""
    def detect(outcomes):
        if not _all_built(outcomes) or any(o.value["logits"] is None for o in outcomes):
            return False
        for outcome, case in zip(outcomes, q1.cases()):
            want = _numpy_outputs(case.input, **variant(case))[-1]
            if outcome.value["logits"].shape != want.shape or not np.allclose(outcome.value["logits"], want,
                                                                              rtol=1e-4, atol=1e-5):
                return False
        return True
    return detect


def _missing_relu(outcomes):
    for which in ("first", "last hidden", "every"):
        def variant(case, which=which):
            count = len(case.input["hidden_units"])
            relu = [not (which == "every" or (which == "first" and i == 0) or (which == "last hidden" and i == count - 1))
                    for i in range(count)]
            return {"relu": relu}
        if _outputs_match(variant)(outcomes):
            return {"first": "your first hidden layer has", "last hidden": "your last hidden layer has",
                    "every": "your hidden layers have"}[which]
    return False


def _units_ignored(outcomes):
    """The Dense sizes do not follow `hidden_units` / `num_classes` in some case."""
    if not _all_built(outcomes):
        return False
    wrong = [(o.value["units"], case.input["hidden_units"] + [case.input["num_classes"]])
             for o, case in zip(outcomes, q1.cases())]
    hidden_wrong = any(got[:-1] != want[:-1] for got, want in wrong)
    return hidden_wrong and str([got for got, want in wrong if got[:-1] != want[:-1]][0])


def _classes_not_followed(outcomes):
    if not _all_built(outcomes):
        return False
    pairs = [(o.value["units"], case.input["num_classes"]) for o, case in zip(outcomes, q1.cases())]
    return all(units[:-1] == case.input["hidden_units"] for (units, _), case in zip(pairs, q1.cases())) and any(
        units[-1] != classes for units, classes in pairs) and str(next(units[-1] for units, classes in pairs
                                                                      if units[-1] != classes))


def _start_ratios(outcomes):
    """[(measured ratio, fan_in, fan_out, tail)] of every kernel of every case, or None."""
    if not _all_built(outcomes):
        return None
    found = []
    for outcome, case in zip(outcomes, q1.cases()):
        sizes = [IMAGE_PIXELS, *case.input["hidden_units"], case.input["num_classes"]]
        if outcome.value["units"] != sizes[1:]:
            return None
        found += [(ratio, fan_in, fan_out, tail, weights) for (ratio, tail, _, weights), fan_in, fan_out
                  in zip(outcome.value["starts"], sizes[:-1], sizes[1:])]
    return found


def _start_like(expected_ratio, tail_range):
    """Every kernel's measured std * sqrt(fan_in) is within 5 standard errors (at least 8%) of
    expected_ratio(fan_in, fan_out), and its tail (where measured) in tail_range."""
    def detect(outcomes):
        found = _start_ratios(outcomes)
        return bool(found) and all(
            abs(ratio / expected_ratio(fan_in, fan_out) - 1) < max(0.08, 5 * math.sqrt(STD_ERROR_FACTOR / weights))
            and (tail is None or tail_range[0] <= tail <= tail_range[1])
            for ratio, fan_in, fan_out, tail, weights in found)
    return detect


def _glorot(fan_in, fan_out):
    return math.sqrt(2 / (fan_in + fan_out)) * math.sqrt(fan_in)


q1 = FunctionExercise(
    "nb07.q1", "build_classifier", "a Sequential model of any depth",
    prompt=(
        "The lesson's model has two hidden layers and 10 classes. Write `build_classifier(hidden_units, "
        "num_classes)` for any stack: it returns a `keras.Sequential` taking 784 pixels, with one `Dense` layer "
        "with ReLU per entry of the list `hidden_units` (in order), then a `Dense` layer of `num_classes` that "
        "returns **logits**. Initialise **every** kernel as the tutorial does, from a normal truncated at two "
        "standard deviations with stddev `1/sqrt(fan_in)`, where `fan_in` is the number of inputs of *that* "
        "layer (`keras.initializers.LecunNormal()`, the same distribution rescaled to a measured spread of "
        "exactly `1/sqrt(fan_in)`, is fine too); biases start at zero. The check measures every layer's initial "
        "kernel, then copies its own weights into your layers and compares each layer's output with numpy's, "
        "for `[256, 96]` and 20 classes, `[300]` and 26, `[64, 32, 16]` and 10."),
    skeleton=MODEL_SKELETON,
    solution=MODEL_SOLUTION,
    hints=[
        "Build a Python list of layers in a loop over `hidden_units`, then pass it to `keras.Sequential`; "
        "the last layer comes after the loop.",
        "The fan-in of a layer is the number of units of the layer before it: 784 for the first, then the "
        "previous entry of `hidden_units`. Keep it in a variable you update in the loop.",
        "Each layer: `keras.layers.Dense(units, activation=\"relu\", kernel_initializer="
        "keras.initializers.TruncatedNormal(stddev=1 / math.sqrt(fan_in)))`; the last one has no activation.",
    ],
    mistakes=[
        Mistake("hidden_units_ignored",
                "your Dense layers do not follow `hidden_units` (you built {detail}): one hidden layer per entry "
                "of the list, of that many units, in order.",
                MODEL_SOLUTION.replace("for units in hidden_units:", "for units in [128, 32]:"),
                detect=_units_ignored),
        Mistake("output_not_num_classes",
                "your last layer has {detail} units; it must have `num_classes`, one logit per class.",
                MODEL_SOLUTION.replace("Dense(num_classes,", "Dense(10,"), detect=_classes_not_followed),
        Mistake("softmax_on_logits",
                "your last layer returns probabilities (`activation=\"softmax\"`); the course's loss, "
                "`SparseCategoricalCrossentropy(from_logits=True)`, wants logits: give the last layer no activation.",
                MODEL_SOLUTION.replace("Dense(num_classes, kernel_initializer=start)",
                                       "Dense(num_classes, activation=\"softmax\", kernel_initializer=start)"),
                detect=_outputs_match(lambda case: {"last": "softmax"})),
        Mistake("relu_on_logits",
                "your last layer has a ReLU: logits may be negative. Give the last layer no activation.",
                MODEL_SOLUTION.replace("Dense(num_classes, kernel_initializer=start)",
                                       "Dense(num_classes, activation=\"relu\", kernel_initializer=start)"),
                detect=_outputs_match(lambda case: {"last": "relu"})),
        Mistake("forgot_relu",
                "{detail} no ReLU: without it, stacked Dense layers collapse into one linear map. "
                "Add `activation=\"relu\"` to each hidden layer.",
                MODEL_SOLUTION.replace("Dense(units, activation=\"relu\",", "Dense(units,"),
                detect=_missing_relu),
        Mistake("default_initializer",
                "your kernels start with Keras's default (`glorot_uniform`, a uniform spread that depends on "
                "fan_in and fan_out), not the tutorial's truncated normal: pass `kernel_initializer=keras."
                "initializers.TruncatedNormal(stddev=1 / math.sqrt(fan_in))` to every layer.",
                MODEL_SOLUTION.replace(", kernel_initializer=start)", ")"),
                detect=_start_like(_glorot, (1.6, 1.8))),
        Mistake("normal_not_truncated",
                "your kernels come from a plain normal distribution: some weights lie beyond 3 standard "
                "deviations. The tutorial truncates it at two: `keras.initializers.TruncatedNormal`.",
                MODEL_SOLUTION.replace("TruncatedNormal", "RandomNormal"),
                detect=_start_like(lambda fan_in, fan_out: 1.0, (2.6, 10.0))),
        Mistake("one_fan_in_for_every_layer",
                "every layer starts with stddev 1/sqrt(784): the fan-in is each layer's own number of inputs, "
                "784 for the first only, then the units of the layer before.",
                MODEL_SOLUTION.replace("        fan_in = units\n", ""),
                detect=_start_like(lambda fan_in, fan_out: TRUNCATED_STD_RATIO * math.sqrt(fan_in / IMAGE_PIXELS),
                                   TAIL_RANGE)),
        Mistake("fan_out_not_fan_in",
                "your stddev is 1/sqrt(units), the layer's fan-out: the tutorial scales by the fan-in, the number "
                "of inputs of the layer (784 for the first).",
                MODEL_SOLUTION.replace("        start = keras.initializers.TruncatedNormal(stddev=1 / math.sqrt(fan_in))\n"
                                       "        stack",
                                       "        start = keras.initializers.TruncatedNormal(stddev=1 / math.sqrt(units))\n"
                                       "        stack").replace(
                    "    start = keras.initializers.TruncatedNormal(stddev=1 / math.sqrt(fan_in))\n    stack",
                    "    start = keras.initializers.TruncatedNormal(stddev=1 / math.sqrt(num_classes))\n    stack"),
                detect=_start_like(lambda fan_in, fan_out: TRUNCATED_STD_RATIO * math.sqrt(fan_in / fan_out),
                                   TAIL_RANGE)),
    ],
    cases=_model_cases, run=_run_model, compare=_compare_models,
)


# ---------------------------------------------------------------- q2: compile for one-hot labels and probabilities

COMPILE_SOLUTION = '''\
import keras


def compile_for_one_hot(model):
    """Compiles `model` (its last layer a softmax: probabilities out; one-hot labels
    [batch, classes] in) for SGD at 0.05 with momentum 0.9, reporting accuracy."""
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
                  loss=keras.losses.CategoricalCrossentropy(),
                  metrics=["accuracy"])
'''

COMPILE_SKELETON = '''\
import keras


def compile_for_one_hot(model):
    """Compiles `model` (its last layer a softmax: probabilities out; one-hot labels
    [batch, classes] in) for SGD at 0.05 with momentum 0.9, reporting accuracy."""
    ...
'''

COMPILE_FEATURES = 12


def _compile_cases():
    """Batches whose labels the starting model gets partly right (so accuracy is neither 0 nor 1)."""
    rng = np.random.default_rng(11)

    def case(label, classes, batch, right):
        hidden = rng.normal(scale=0.5, size=[COMPILE_FEATURES, 16]).astype(np.float32)
        output = rng.normal(scale=0.5, size=[16, classes]).astype(np.float32)
        images = rng.normal(size=[batch, COMPILE_FEATURES]).astype(np.float32)
        predicted = np.argmax(np.maximum(images @ hidden, 0) @ output, axis=1)
        wrong = (predicted + rng.integers(1, classes, batch)) % classes  # never the prediction
        labels = np.where(np.arange(batch) < right, predicted, wrong)
        return Case(label, {"weights": [hidden, np.zeros(16, np.float32), output, np.zeros(classes, np.float32)],
                            "images": images, "one_hot": np.eye(classes, dtype=np.float32)[labels]})

    return [case("5 classes, a batch of 16 (6 predicted right)", 5, 16, 6),
            case("3 classes, a batch of 10 (7 predicted right)", 3, 10, 7)]


def _run_compile(function, case_input):
    """A small softmax model with the case's weights, compiled by the student, two train_on_batch steps ->
    {optimizer, learning_rate, momentum, losses, accuracies (per step, or None), metric names, moved weights}."""
    import keras

    classes = case_input["one_hot"].shape[1]
    model = keras.Sequential([keras.Input(shape=(COMPILE_FEATURES,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(classes, activation="softmax")])
    model.set_weights(case_input["weights"])
    returned = function(model)
    if returned is not None and returned is not model:
        raise AnswerError(f"expected `compile_for_one_hot` to compile the model it is given and return nothing "
                          f"(or the model), got {type(returned).__name__}")
    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", False):
        raise AnswerError("the model is not compiled: call `model.compile(optimizer=..., loss=..., metrics=...)`")
    model.run_eagerly = True  # a tiny batch: tracing a graph would cost more than the step
    losses, accuracies, names, binary = [], [], [], []
    for _ in range(2):  # the second step shows the momentum
        # What `binary_accuracy` would report: every column judged on its own against 0.5.
        binary.append(float(np.mean((np.asarray(model(case_input["images"])) > 0.5) == (case_input["one_hot"] > 0.5))))
        logs = model.train_on_batch(case_input["images"], case_input["one_hot"], return_dict=True)
        metrics = {name: float(value) for name, value in logs.items() if name != "loss"}
        names = sorted(metrics)
        losses.append(float(logs["loss"]))
        accuracies.append(next(iter(metrics.values())) if len(metrics) == 1 else None)
    optimizer = model.optimizer
    return {"optimizer": type(optimizer).__name__, "learning_rate": float(optimizer.learning_rate.numpy()),
            "momentum": float(getattr(optimizer, "momentum", 0.0) or 0.0), "losses": losses,
            "accuracies": accuracies, "binary": binary, "metrics": names, "moved": [np.asarray(w) for w in model.get_weights()]}


def _compare_compiled(expected, got):
    if got["optimizer"] != expected["optimizer"]:
        return f"the optimizer is {got['optimizer']}, expected {expected['optimizer']}"
    if not math.isclose(got["learning_rate"], expected["learning_rate"], rel_tol=1e-6):
        return f"the learning rate is {got['learning_rate']:g}, expected {expected['learning_rate']:g}"
    if not math.isclose(got["momentum"], expected["momentum"], rel_tol=1e-6):
        return f"the momentum is {got['momentum']:g}, expected {expected['momentum']:g}"
    for step, (want, have) in enumerate(zip(expected["losses"], got["losses"]), start=1):
        difference = compare_values(want, have, rtol=1e-4)
        if difference:
            return f"the loss of training step {step}: {difference}"
    if len(got["metrics"]) != 1:
        return f"expected one metric, the accuracy; `fit` reports {got['metrics'] or 'none'}"
    for step, (want, have) in enumerate(zip(expected["accuracies"], got["accuracies"]), start=1):
        if not math.isclose(want, have, abs_tol=1e-6):
            return (f"your metric `{got['metrics'][0]}` reports {have:.4g} at training step {step}, but "
                    f"{want:.4g} of the batch's predictions are right")
    for index, (want, have) in enumerate(zip(expected["moved"], got["moved"])):
        if not np.allclose(want, have, rtol=1e-4, atol=1e-6):
            return f"two training steps move the weights differently (weight array {index} of {len(expected['moved'])})"
    return None


def _optimizer_named(name):
    return lambda outcomes: all(o.error is None and o.value["optimizer"] == name for o in outcomes)


def _default_learning_rate(outcomes):
    return all(o.error is None and o.value["optimizer"] == "SGD" and math.isclose(o.value["learning_rate"], 0.01,
                                                                                   rel_tol=1e-6) for o in outcomes)


def _no_momentum(outcomes):
    return all(o.error is None and o.value["optimizer"] == "SGD" and o.value["momentum"] == 0.0 for o in outcomes)


def _no_metric(outcomes):
    expected = q2._expected()
    return all(o.error is None and not o.value["metrics"]
               and np.allclose(o.value["losses"], e.value["losses"], rtol=1e-4) for o, e in zip(outcomes, expected))


def _metric_reports(value_of):
    """The loss and steps are right, but the one metric reports `value_of(outcome value)` at each step."""
    def detect(outcomes):
        return all(o.error is None and len(o.value["metrics"]) == 1
                   and np.allclose(o.value["losses"], e.value["losses"], rtol=1e-4)
                   and np.allclose(o.value["accuracies"], value_of(o.value), atol=1e-6)
                   for o, e in zip(outcomes, q2._expected()))
    return detect


q2 = FunctionExercise(
    "nb07.q2", "compile_for_one_hot", "compile for one-hot labels and probabilities",
    prompt=(
        "The lesson's model returns logits and its labels are integers. This model is the other way round: "
        "its last layer has `activation=\"softmax\"`, so it returns **probabilities**, and its labels are "
        "**one-hot** rows `[batch, classes]`. Write `compile_for_one_hot(model)`: compile it with "
        "`keras.optimizers.SGD(learning_rate=0.05, momentum=0.9)`, the cross-entropy loss that fits these "
        "outputs and labels, and an accuracy metric. The check runs two `train_on_batch` steps on batches of 3 "
        "and 5 classes and compares the losses, the accuracy your metric reports, and the updated weights."),
    skeleton=COMPILE_SKELETON,
    solution=COMPILE_SOLUTION,
    hints=[
        "`model.compile(optimizer=..., loss=..., metrics=[...])`: three arguments; the optimizer is given.",
        "One-hot labels: the cross-entropy *without* `sparse_`. Probabilities, not logits: leave `from_logits` at "
        "its default, False.",
        "`loss=keras.losses.CategoricalCrossentropy()`, `metrics=[\"accuracy\"]` (Keras picks the accuracy that "
        "fits one-hot labels).",
    ],
    mistakes=[
        Mistake("sparse_loss_on_one_hot",
                "`SparseCategoricalCrossentropy` wants integer labels `[batch]`; these are one-hot rows "
                "`[batch, classes]`: use `CategoricalCrossentropy`.",
                COMPILE_SOLUTION.replace("CategoricalCrossentropy()", "SparseCategoricalCrossentropy()")),
        Mistake("no_momentum",
                "your SGD has no momentum: the first step is right, the second is not. Pass `momentum=0.9`.",
                COMPILE_SOLUTION.replace(", momentum=0.9", ""), detect=_no_momentum),
        Mistake("adam_not_sgd",
                "that is Adam; this exercise asks for `keras.optimizers.SGD(learning_rate=0.05, momentum=0.9)`.",
                COMPILE_SOLUTION.replace("keras.optimizers.SGD(learning_rate=0.05, momentum=0.9)",
                                         "keras.optimizers.Adam(learning_rate=0.05)"),
                detect=_optimizer_named("Adam")),
        Mistake("learning_rate_not_set",
                "your SGD runs at Keras's default learning rate, 0.01: pass `learning_rate=0.05`.",
                COMPILE_SOLUTION.replace("learning_rate=0.05, ", ""), detect=_default_learning_rate),
        Mistake("no_accuracy_metric",
                "the loss and the steps are right, but `fit` would report no accuracy: add `metrics=[\"accuracy\"]`.",
                COMPILE_SOLUTION.replace(",\n                  metrics=[\"accuracy\"])", ")"), detect=_no_metric),
        Mistake("binary_accuracy",
                "`binary_accuracy` scores each of the `classes` columns on its own (is this probability on the right "
                "side of 0.5?), so it is high even when the predicted class is wrong: use `\"accuracy\"` (or "
                "`\"categorical_accuracy\"`).",
                COMPILE_SOLUTION.replace('metrics=["accuracy"]', 'metrics=["binary_accuracy"]'),
                detect=_metric_reports(lambda value: value["binary"])),
        Mistake("accuracy_compares_values",
                "`keras.metrics.Accuracy()` counts outputs *equal* to the labels, and a probability is never "
                "exactly 0 or 1: it reports 0. Pass the string `\"accuracy\"` (Keras then picks the accuracy that "
                "compares the predicted class) or `keras.metrics.CategoricalAccuracy()`.",
                COMPILE_SOLUTION.replace('metrics=["accuracy"]', "metrics=[keras.metrics.Accuracy()]"),
                detect=_metric_reports(lambda value: [0.0, 0.0])),
    ],
    cases=_compile_cases, run=_run_compile, compare=_compare_compiled,
)


# ---------------------------------------------------------------- q3: batches fit runs


def _tiny_model():
    import keras

    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(NUM_CLASSES)])
    model.compile(optimizer=keras.optimizers.SGD(0.1),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), run_eagerly=True)
    return model


def _tiny_data(num_examples):
    rng = np.random.default_rng(0)
    return rng.normal(size=[num_examples, 4]).astype(np.float32), rng.integers(0, NUM_CLASSES, num_examples)


@functools.lru_cache(maxsize=None)  # deterministic: run once per process, not at every check
def _batches_fit_runs():
    """Runs `fit(x, y, batch_size=64, epochs=2)` on 1000 examples and counts the training steps."""
    import keras

    class Count(keras.callbacks.Callback):
        steps = 0

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1

    images, labels = _tiny_data(1000)
    count = Count()
    _tiny_model().fit(images, labels, batch_size=64, epochs=2, callbacks=[count], verbose=0)
    return count.steps


def _is(value):
    return lambda outcomes: isinstance(outcomes[0].value, (int, float, np.number)) \
        and np.isclose(outcomes[0].value, value)


q3 = ValueExercise(
    "nb07.q3", "fit_batches", "how many steps does fit run?",
    prompt=(
        "`x` holds 1000 examples. How many training steps (batches) does "
        "`model.fit(x, y, batch_size=64, epochs=2)` run in total? Set `fit_batches` to the number; the check "
        "runs it on a tiny model and counts."),
    skeleton="fit_batches = ...\n",
    solution="import math\n\nfit_batches = 2 * math.ceil(1000 / 64)  # 16 per epoch: 15 full batches and one of 40\n",
    hints=["Each epoch goes once through all 1000 examples, in batches of 64.",
           "1000 / 64 is not a whole number: `fit` does not drop the last, smaller batch."],
    mistakes=[
        Mistake("dropped_partial_batch",
                "`fit` keeps the last, partial batch (1000 = 15 x 64 + 40): 16 batches per epoch.",
                "fit_batches = 2 * (1000 // 64)\n", detect=_is(30)),
        Mistake("one_epoch_only", "that is one epoch; `epochs=2` runs two.",
                "import math\n\nfit_batches = math.ceil(1000 / 64)\n", detect=_is(16)),
        Mistake("not_an_integer", "a number of batches is a whole number: round the batches of an epoch up.",
                "fit_batches = 2 * 1000 / 64\n", detect=lambda o: isinstance(o[0].value, float)
                and not float(o[0].value).is_integer()),
        Mistake("counted_examples", "that counts examples; a step is a batch of 64 of them.",
                "fit_batches = 2 * 1000\n", detect=_is(2000)),
    ],
    expected=_batches_fit_runs,
    explain=lambda steps: f"counting `on_train_batch_end` calls gives {steps}.",
)

# ---------------------------------------------------------------- q4: where a batch-level backup resumes

RESTART_EPOCHS, BATCHES_PER_EPOCH, SAVE_FREQ = 4, 10, 10
RESTART_CRASH_EPOCH, RESTART_CRASH_BATCH = 3, 5


@functools.lru_cache(maxsize=None)  # deterministic: run once per process, not at every check
def _restart_batches():
    """Runs the experiment: fit(epochs=4) over 10 batches per epoch with BackupAndRestore(save_freq=10)
    crashes in epoch 3 after its batch 5, then the same fit again; returns how many batches the second
    fit trains on."""
    import keras

    class CrashAt(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch + 1

        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == RESTART_CRASH_EPOCH and batch + 1 == RESTART_CRASH_BATCH:
                raise RuntimeError("crash")

    class CountBatches(keras.callbacks.Callback):
        batches = 0

        def on_train_batch_end(self, batch, logs=None):
            self.batches += 1

    images, labels = _tiny_data(8 * BATCHES_PER_EPOCH)
    with tempfile.TemporaryDirectory() as backup_dir:
        args = dict(x=images, y=labels, batch_size=8, epochs=RESTART_EPOCHS, verbose=0)
        try:
            _tiny_model().fit(**args, callbacks=[keras.callbacks.BackupAndRestore(backup_dir, save_freq=SAVE_FREQ),
                                                 CrashAt()])
        except RuntimeError:
            pass
        count = CountBatches()
        _tiny_model().fit(**args, callbacks=[keras.callbacks.BackupAndRestore(backup_dir, save_freq=SAVE_FREQ), count])
    return count.batches


q4 = ValueExercise(
    "nb07.q4", "restart_batches", "how much does a restarted fit redo?",
    prompt=(
        f"`model.fit(x, y, batch_size=8, epochs={RESTART_EPOCHS}, callbacks=[keras.callbacks.BackupAndRestore("
        f"backup_dir, save_freq={SAVE_FREQ})])` runs {BATCHES_PER_EPOCH} batches per epoch. It crashes in epoch "
        f"{RESTART_CRASH_EPOCH} (counted from 1, as `fit` prints them), right after its batch "
        f"{RESTART_CRASH_BATCH}. The job is restarted: a new model, the same `fit` call. How many batches does "
        "the restarted `fit` train on before it finishes? Set `restart_batches`; the check runs it and counts. "
        "(Section 3 says when a backup with `save_freq=N` is written, and where a restart begins.)"),
    skeleton="restart_batches = ...\n",
    solution=(f"restart_batches = 3 * {BATCHES_PER_EPOCH}  # backups after batches 10 and 20, the last one "
              "during epoch 2: the restart runs epochs 2, 3 and 4 in full\n"),
    hints=[f"`save_freq={SAVE_FREQ}` backs up after every {SAVE_FREQ}th batch, counted across epochs. Which "
           "batches had been backed up when the crash came (batch 25 of the run)?",
           "The last backup was written after the last batch of epoch 2, inside that epoch (before it ended). "
           "A restart begins the epoch of its backup again, from that epoch's first batch."],
    mistakes=[
        Mistake("assumed_epoch_end_backup",
                f"a backup written by `save_freq={SAVE_FREQ}` after the last batch of epoch 2 belongs to epoch 2, "
                "which had not ended yet: the restart begins epoch 2 again, not epoch 3.",
                f"restart_batches = 2 * {BATCHES_PER_EPOCH}\n", detect=_is(2 * BATCHES_PER_EPOCH)),
        Mistake("assumed_resume_mid_epoch",
                "`fit` never starts in the middle of an epoch: a restart begins the epoch of the last backup "
                "from its first batch, whatever batch the backup was written after.",
                f"restart_batches = {RESTART_EPOCHS * BATCHES_PER_EPOCH - 2 * BATCHES_PER_EPOCH - RESTART_CRASH_BATCH}"
                "\n", detect=_is(RESTART_EPOCHS * BATCHES_PER_EPOCH - 2 * BATCHES_PER_EPOCH - RESTART_CRASH_BATCH)),
        Mistake("restarted_from_scratch",
                "`BackupAndRestore` loads its backup when `fit` starts: the epochs before the backup are not run "
                "again.", f"restart_batches = {RESTART_EPOCHS * BATCHES_PER_EPOCH}\n",
                detect=_is(RESTART_EPOCHS * BATCHES_PER_EPOCH)),
    ],
    expected=_restart_batches,
    explain=lambda batches: f"running it, the restarted fit trained on {batches} batches: the last backup "
                            "(after batch 20) was written during epoch 2, so epochs 2-4 ran again.",
)

EXERCISES = [q1, q2, q3, q4]
SETUP = "import numpy as np\nimport tensorflow as tf\nfrom tfcourse.exercises import nb07 as ex\n"

"""Exercises of notebook 07 (Keras): the Sequential model, compile, and two predictions about fit.

    from tfcourse.exercises import nb07 as ex

The model is judged by what it computes, not by how it is written: the check copies the
course's initial weights (`mnist.initial_weights`) into the student's `Dense` layers, in order,
and compares the logits with the course's `mnist.MLP` on the same images; activations may be
given as `activation="relu"` or as separate layers. The predictions are checked by running
`fit` on a tiny model.
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

# Standard deviation of a normal truncated at two standard deviations, relative to the untruncated one:
# what `TruncatedNormal(stddev=s)` really draws is about 0.88 * s.
TRUNCATED_STD_RATIO = 0.8796

# ---------------------------------------------------------------- q1: the Sequential model

MODEL_SOLUTION = '''\
import math

import keras


def build_mlp(hidden1_units, hidden2_units):
    """The tutorial's MLP: float32 images [batch, 784] -> float32 logits [batch, 10]."""
    def truncated_normal(fan_in):
        return keras.initializers.TruncatedNormal(stddev=1 / math.sqrt(fan_in))

    return keras.Sequential([
        keras.Input(shape=(784,)),
        keras.layers.Dense(hidden1_units, activation="relu", kernel_initializer=truncated_normal(784)),
        keras.layers.Dense(hidden2_units, activation="relu", kernel_initializer=truncated_normal(hidden1_units)),
        keras.layers.Dense(10, kernel_initializer=truncated_normal(hidden2_units)),
    ])
'''


def _model_cases():
    rng = np.random.default_rng(7)

    def case(label, hidden1_units, hidden2_units, batch, seed):
        images = rng.uniform(size=[batch, IMAGE_PIXELS]).astype(np.float32)
        return Case(label, {"units": (hidden1_units, hidden2_units), "images": images, "seed": seed})

    return [case("the tutorial's sizes (128, 32), a batch of 5", 128, 32, 5, seed=0),
            case("hidden layers of 16 and 8 units, a batch of 1", 16, 8, 1, seed=1)]


def _run_model(function, case_input):
    """Builds the student's model, copies the course's initial weights into its Dense layers ->
    {units: [Dense units], init_ratio: first kernel's std * sqrt(784), logits: [batch, 10] or None}."""
    import keras

    from tfcourse import mnist

    hidden1_units, hidden2_units = case_input["units"]
    model = function(hidden1_units, hidden2_units)
    if not isinstance(model, keras.Model):
        raise AnswerError(f"expected a keras model (`return keras.Sequential([...])`), got {type(model).__name__}")
    images = case_input["images"]
    model(images)  # builds a model declared without keras.Input
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    result = {"units": [layer.units for layer in dense], "logits": None,
              "init_ratio": float(np.std(dense[0].kernel.numpy()) * math.sqrt(IMAGE_PIXELS)) if dense else None}
    weights = mnist.initial_weights(hidden1_units, hidden2_units, seed=case_input["seed"])
    shapes = [(IMAGE_PIXELS, hidden1_units), (hidden1_units, hidden2_units), (hidden2_units, NUM_CLASSES)]
    if [tuple(layer.kernel.shape) for layer in dense] == shapes:
        for layer, name in zip(dense, mnist.LAYER_NAMES):
            layer.set_weights([weights[f"{name}/weights"], weights[f"{name}/biases"]])
        result["logits"] = np.asarray(model(images))
    return result


def _compare_models(expected, got):
    if got["units"] != expected["units"]:
        return f"your Dense layers have {got['units']} units, expected {expected['units']}"
    if not abs(got["init_ratio"] - TRUNCATED_STD_RATIO) < 0.05:
        return (f"the first kernel starts with standard deviation {got['init_ratio']:.2f} / sqrt(784); the "
                f"tutorial's truncated normal with stddev 1/sqrt(784) gives {TRUNCATED_STD_RATIO:.2f} / sqrt(784)")
    if got["logits"].shape != expected["logits"].shape:
        return f"the model returns shape {list(got['logits'].shape)}, expected {list(expected['logits'].shape)}"
    if not np.allclose(got["logits"], expected["logits"], rtol=1e-4, atol=1e-5):
        return "with the course's weights, your model computes other logits than `mnist.MLP`"
    return None


def _numpy_forward(case_input, relu1=True, relu2=True):
    """The course's MLP in numpy, optionally without one of its ReLUs: logits [batch, 10]."""
    from tfcourse import mnist

    weights = mnist.initial_weights(*case_input["units"], seed=case_input["seed"])
    hidden = case_input["images"] @ weights["hidden1/weights"] + weights["hidden1/biases"]
    hidden = np.maximum(hidden, 0) if relu1 else hidden
    hidden = hidden @ weights["hidden2/weights"] + weights["hidden2/biases"]
    hidden = np.maximum(hidden, 0) if relu2 else hidden
    return hidden @ weights["softmax_linear/weights"] + weights["softmax_linear/biases"]


def _logits_of(outcomes):
    """Every case's logits, or None if one raised or could not take the course's weights."""
    if any(o.error is not None or o.value["logits"] is None for o in outcomes):
        return None
    return [o.value["logits"] for o in outcomes]


def _missing_relu(outcomes):
    logits = _logits_of(outcomes)
    if logits is None:
        return False
    for relu1, relu2 in ((False, True), (True, False), (False, False)):
        if all(np.allclose(got, _numpy_forward(case.input, relu1, relu2), rtol=1e-4, atol=1e-4)
               for got, case in zip(logits, q1.cases())):
            return ("your first hidden layer has" if relu2 else "your second hidden layer has" if relu1
                    else "your hidden layers have")
    return False


def _softmax_output(outcomes):
    logits = _logits_of(outcomes)
    return logits is not None and all(
        np.all(got >= 0) and np.allclose(got.sum(axis=1), 1.0, atol=1e-4) for got in logits)


def _hard_coded_units(outcomes):
    """The tutorial's 128 and 32 whatever the arguments (seen on the 16/8 case)."""
    return all(o.error is None for o in outcomes) and outcomes[1].value["units"][:2] == [128, 32]


def _output_not_10(outcomes):
    units = [o.value["units"] for o in outcomes if o.error is None]
    return bool(units) and len(units) == len(outcomes) and all(u and u[-1] != NUM_CLASSES for u in units) \
        and str(units[0][-1])


def _init_ratio_near(target):
    def detect(outcomes):
        return all(o.error is None and o.value["init_ratio"] is not None
                   and abs(o.value["init_ratio"] - target(o)) < 0.05 for o in outcomes)
    return detect


def _glorot_ratio(outcome):
    """Keras's default, glorot_uniform: std sqrt(2 / (fan_in + fan_out)), relative to 1/sqrt(784)."""
    return math.sqrt(2 / (IMAGE_PIXELS + outcome.value["units"][0])) * math.sqrt(IMAGE_PIXELS)


q1 = FunctionExercise(
    "nb07.q1", "build_mlp", "the network as a keras.Sequential",
    prompt=(
        "Write `build_mlp(hidden1_units, hidden2_units)`: return the tutorial's network as a "
        "`keras.Sequential`: `keras.Input(shape=(784,))`, a `Dense` layer of `hidden1_units` with ReLU, one of "
        "`hidden2_units` with ReLU, and a `Dense` layer of 10 that returns **logits**. Initialise every kernel "
        "with `keras.initializers.TruncatedNormal(stddev=1 / math.sqrt(fan_in))` (biases: Keras's zeros). "
        "The check copies the course's initial weights into your layers and compares the logits with "
        "`mnist.MLP`'s."),
    skeleton='''\
import math

import keras


def build_mlp(hidden1_units, hidden2_units):
    """The tutorial's MLP: float32 images [batch, 784] -> float32 logits [batch, 10]."""
    ...
''',
    solution=MODEL_SOLUTION,
    hints=[
        "`keras.Sequential([...])` takes a list: the input declaration first, then the three layers in order.",
        "A hidden layer is `keras.layers.Dense(units, activation=\"relu\", kernel_initializer=...)`; the fan-in of "
        "a layer is the number of units of the layer before it (784 for the first).",
        "The last layer is `keras.layers.Dense(10, kernel_initializer=...)` with no activation: the loss "
        "(`from_logits=True`) applies the softmax itself.",
    ],
    mistakes=[
        Mistake("hard_coded_units",
                "your layers have 128 and 32 units whatever the arguments: use `hidden1_units` and "
                "`hidden2_units`.",
                MODEL_SOLUTION.replace("Dense(hidden1_units,", "Dense(128,").replace("Dense(hidden2_units,",
                                                                                    "Dense(32,"),
                detect=_hard_coded_units),
        Mistake("output_not_10",
                "your last layer has {detail} units; it must have 10, one logit per digit.",
                MODEL_SOLUTION.replace("Dense(10,", "Dense(hidden2_units,"), detect=_output_not_10),
        Mistake("softmax_on_logits",
                "your last layer returns probabilities (`activation=\"softmax\"`); the course's loss, "
                "`SparseCategoricalCrossentropy(from_logits=True)`, wants logits: give the last layer no activation.",
                MODEL_SOLUTION.replace("keras.layers.Dense(10, kernel_initializer=truncated_normal(hidden2_units))",
                                       "keras.layers.Dense(10, activation=\"softmax\", "
                                       "kernel_initializer=truncated_normal(hidden2_units))"),
                detect=_softmax_output),
        Mistake("relu_on_logits",
                "your last layer has a ReLU: logits may be negative. Give the last layer no activation.",
                MODEL_SOLUTION.replace("keras.layers.Dense(10, kernel_initializer=truncated_normal(hidden2_units))",
                                       "keras.layers.Dense(10, activation=\"relu\", "
                                       "kernel_initializer=truncated_normal(hidden2_units))")),
        Mistake("forgot_relu",
                "{detail} no ReLU: without it, stacked Dense layers collapse into one linear map. "
                "Add `activation=\"relu\"` to each hidden layer.",
                MODEL_SOLUTION.replace("Dense(hidden2_units, activation=\"relu\",", "Dense(hidden2_units,"),
                detect=_missing_relu),
        Mistake("default_initializer",
                "your kernels start with Keras's default (`glorot_uniform`), not the tutorial's truncated normal: "
                "pass `kernel_initializer=keras.initializers.TruncatedNormal(stddev=1 / math.sqrt(fan_in))`.",
                MODEL_SOLUTION.replace(", kernel_initializer=truncated_normal(784)", ""),
                detect=_init_ratio_near(_glorot_ratio)),
        Mistake("normal_not_truncated",
                "your kernels come from a plain normal distribution; the tutorial truncates it at two standard "
                "deviations: `keras.initializers.TruncatedNormal`.",
                MODEL_SOLUTION.replace("TruncatedNormal", "RandomNormal"),
                detect=_init_ratio_near(lambda outcome: 1.0)),
    ],
    cases=_model_cases, run=_run_model, compare=_compare_models,
)

# ---------------------------------------------------------------- q2: compile

COMPILE_SOLUTION = '''\
import keras


def compile_mlp(model):
    """Compiles `model` (logits out, integer labels 0..9 in) for plain SGD at 0.1, reporting accuracy."""
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
'''


def _compile_cases():
    rng = np.random.default_rng(11)

    def case(label, labels):
        images = rng.uniform(size=[len(labels), IMAGE_PIXELS]).astype(np.float32)
        return Case(label, {"images": images, "labels": np.asarray(labels, np.int32)})

    return [case("a batch of 10 (labels 0..9)", list(range(10))), case("a batch of 1 (label 9)", [9])]


def _run_compile(function, case_input):
    """A fresh small MLP with the course's initial weights, compiled by the student, one train_on_batch ->
    {optimizer, learning_rate, loss (before the step), accuracy (or None), moved: weights after the step}."""
    import keras

    from tfcourse import mnist

    model = keras.Sequential([keras.Input(shape=(IMAGE_PIXELS,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(8, activation="relu"), keras.layers.Dense(NUM_CLASSES)])
    weights = mnist.initial_weights(16, 8, seed=3)
    for layer, name in zip(model.layers, mnist.LAYER_NAMES):
        layer.set_weights([weights[f"{name}/weights"], weights[f"{name}/biases"]])
    returned = function(model)
    if returned is not None and returned is not model:
        raise AnswerError(f"expected `compile_mlp` to compile the model it is given and return nothing (or the "
                          f"model), got {type(returned).__name__}")
    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", False):
        raise AnswerError("the model is not compiled: call `model.compile(optimizer=..., loss=..., metrics=...)`")
    model.run_eagerly = True  # a tiny batch: tracing a graph would cost more than the step
    logs = model.train_on_batch(case_input["images"], case_input["labels"], return_dict=True)
    accuracy = [float(value) for name, value in logs.items() if "accuracy" in name]
    return {"optimizer": type(model.optimizer).__name__,
            "learning_rate": float(model.optimizer.learning_rate.numpy()),
            "loss": float(logs["loss"]), "accuracy": accuracy[0] if accuracy else None,
            "moved": [np.asarray(w) for w in model.get_weights()]}


def _compare_compiled(expected, got):
    if got["optimizer"] != expected["optimizer"]:
        return f"the optimizer is {got['optimizer']}, expected {expected['optimizer']}"
    if not math.isclose(got["learning_rate"], expected["learning_rate"], rel_tol=1e-6):
        return f"the learning rate is {got['learning_rate']:g}, expected {expected['learning_rate']:g}"
    difference = compare_values(expected["loss"], got["loss"], rtol=1e-4)
    if difference:
        return f"the loss: {difference}"
    if got["accuracy"] is None:
        return "fit reports no accuracy"
    if not all(np.allclose(e, g, rtol=1e-4, atol=1e-6) for e, g in zip(expected["moved"], got["moved"])):
        return "one training step moves the weights differently"
    return None


def _optimizer_named(name):
    return lambda outcomes: all(o.error is None and o.value["optimizer"] == name for o in outcomes)


def _default_learning_rate(outcomes):
    return all(o.error is None and o.value["optimizer"] == "SGD" and math.isclose(o.value["learning_rate"], 0.01, rel_tol=1e-6)
               for o in outcomes)


def _no_accuracy(outcomes):
    expected = q2._expected()
    return all(o.error is None and o.value["accuracy"] is None
               and math.isclose(o.value["loss"], e.value["loss"], rel_tol=1e-4) for o, e in zip(outcomes, expected))


q2 = FunctionExercise(
    "nb07.q2", "compile_mlp", "compile for integer labels and logits",
    prompt=(
        "Write `compile_mlp(model)`: compile a model that returns **logits**, for **integer** labels 0..9, with "
        "plain gradient descent (`keras.optimizers.SGD`) at learning rate 0.1, reporting `\"accuracy\"` while "
        "training. The check runs one `train_on_batch` and compares the loss, the accuracy and the updated "
        "weights with the reference's."),
    skeleton='''\
import keras


def compile_mlp(model):
    """Compiles `model` (logits out, integer labels 0..9 in) for plain SGD at 0.1, reporting accuracy."""
    ...
''',
    solution=COMPILE_SOLUTION,
    hints=[
        "`model.compile(optimizer=..., loss=..., metrics=[...])`: three arguments.",
        "Integer labels need a *sparse* cross-entropy; a model without a softmax layer needs `from_logits=True`.",
        "`loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)`, "
        "`optimizer=keras.optimizers.SGD(learning_rate=0.1)`, `metrics=[\"accuracy\"]`.",
    ],
    mistakes=[
        Mistake("categorical_on_integer_labels",
                "`CategoricalCrossentropy` wants one-hot labels `[batch, 10]`; ours are integers `[batch]`: use "
                "`SparseCategoricalCrossentropy(from_logits=True)`.",
                COMPILE_SOLUTION.replace("SparseCategoricalCrossentropy", "CategoricalCrossentropy")),
        Mistake("from_logits_missing",
                "your loss treats the model's outputs as probabilities, but they are logits: pass "
                "`from_logits=True` (the string `\"sparse_categorical_crossentropy\"` cannot say it).",
                COMPILE_SOLUTION.replace("SparseCategoricalCrossentropy(from_logits=True)",
                                         "SparseCategoricalCrossentropy()")),
        Mistake("adam_not_sgd",
                "that is Adam; this exercise asks for plain gradient descent, `keras.optimizers.SGD`.",
                COMPILE_SOLUTION.replace("keras.optimizers.SGD(learning_rate=0.1)",
                                         "keras.optimizers.Adam(learning_rate=0.1)"),
                detect=_optimizer_named("Adam")),
        Mistake("learning_rate_not_set",
                "your SGD runs at Keras's default learning rate, 0.01: pass `learning_rate=0.1`.",
                COMPILE_SOLUTION.replace("SGD(learning_rate=0.1)", "SGD()"), detect=_default_learning_rate),
        Mistake("no_accuracy_metric",
                "the loss and the step are right, but `fit` would report no accuracy: add `metrics=[\"accuracy\"]`.",
                COMPILE_SOLUTION.replace(",\n                  metrics=[\"accuracy\"])", ")"), detect=_no_accuracy),
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

# ---------------------------------------------------------------- q4: where BackupAndRestore resumes

RESTART_EPOCHS, RESTART_CRASH_EPOCH, RESTART_CRASH_BATCH = 5, 3, 2


@functools.lru_cache(maxsize=None)  # deterministic: run once per process, not at every check
def _restart_epoch():
    """Runs the experiment: fit(epochs=5) with BackupAndRestore crashes in epoch 3 after batch 2, then the
    same fit again; returns the first epoch (counted from 1) the second fit runs."""
    import keras

    class CrashAt(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch + 1

        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == RESTART_CRASH_EPOCH and batch + 1 == RESTART_CRASH_BATCH:
                raise RuntimeError("crash")

    class FirstEpoch(keras.callbacks.Callback):
        first = None

        def on_epoch_begin(self, epoch, logs=None):
            if self.first is None:
                self.first = epoch + 1

    images, labels = _tiny_data(24)  # 3 batches of 8 per epoch
    with tempfile.TemporaryDirectory() as backup_dir:
        args = dict(x=images, y=labels, batch_size=8, epochs=RESTART_EPOCHS, verbose=0)
        try:
            _tiny_model().fit(**args, callbacks=[keras.callbacks.BackupAndRestore(backup_dir), CrashAt()])
        except RuntimeError:
            pass
        first_epoch = FirstEpoch()
        _tiny_model().fit(**args, callbacks=[keras.callbacks.BackupAndRestore(backup_dir), first_epoch])
    return first_epoch.first


q4 = ValueExercise(
    "nb07.q4", "restart_epoch", "where does a restarted fit begin?",
    prompt=(
        f"`model.fit(x, y, epochs={RESTART_EPOCHS}, callbacks=[keras.callbacks.BackupAndRestore(backup_dir)])` "
        f"crashes in epoch {RESTART_CRASH_EPOCH} (counted from 1, as `fit` prints them), after "
        f"{RESTART_CRASH_BATCH} of its batches. The job is restarted: a new model, the same `fit` call. With which "
        "epoch (counted from 1) does the restarted `fit` begin? Set `restart_epoch`; the check runs it."),
    skeleton="restart_epoch = ...\n",
    solution=(f"restart_epoch = {RESTART_CRASH_EPOCH}  # the backup is written at the end of each epoch: "
              f"epoch {RESTART_CRASH_EPOCH - 1} was the last one backed up\n"),
    hints=["By default the backup is written at the end of every epoch (`save_freq=\"epoch\"`).",
           f"When epoch {RESTART_CRASH_EPOCH} crashed, which epochs had ended, and so been backed up?"],
    mistakes=[
        Mistake("assumed_crashed_epoch_saved",
                "the crashed epoch never ended, so it was never backed up: the restart runs it again, from its "
                "first batch.", f"restart_epoch = {RESTART_CRASH_EPOCH + 1}\n", detect=_is(RESTART_CRASH_EPOCH + 1)),
        Mistake("restarted_from_scratch",
                "`BackupAndRestore` loads its backup when `fit` starts: the epochs completed before the crash are "
                "not run again.", "restart_epoch = 1\n", detect=_is(1)),
        Mistake("counted_from_zero",
                f"that is the epoch's index counted from 0 (`fit` passes epoch={RESTART_CRASH_EPOCH - 1} to its "
                f"callbacks); counted from 1, as `fit` prints `Epoch {RESTART_CRASH_EPOCH}/{RESTART_EPOCHS}`, it is "
                "one more.", f"restart_epoch = {RESTART_CRASH_EPOCH - 1}\n", detect=_is(RESTART_CRASH_EPOCH - 1)),
    ],
    expected=_restart_epoch,
    explain=lambda epoch: f"running it, the restarted fit began with epoch {epoch}: the crashed epoch is redone.",
)

EXERCISES = [q1, q2, q3, q4]
SETUP = "import numpy as np\nimport tensorflow as tf\nfrom tfcourse.exercises import nb07 as ex\n"

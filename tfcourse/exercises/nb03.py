"""Exercises of notebook 03 (loss and training): the loss, one SGD step, two predictions.

    from tfcourse.exercises import nb03 as ex
"""

import re

import numpy as np

from tfcourse.datasets.mnist_files import NUM_CLASSES
from tfcourse.exercises.core import (
    AnswerError,
    Case,
    FunctionExercise,
    Mistake,
    ValueExercise,
    compare_values,
)

# ---------------------------------------------------------------- q1: the loss

LOSS_SOLUTION = '''\
def my_loss(logits, labels):
    """Mean softmax cross-entropy: logits float32 [batch, 10], labels int32 [batch] -> float32 scalar."""
    one_hot = tf.one_hot(labels, depth=10)
    per_example = tf.nn.softmax_cross_entropy_with_logits(labels=one_hot, logits=logits)
    return tf.reduce_mean(per_example)
'''


def _loss_cases():
    rng = np.random.default_rng(3)

    def case(label, batch, labels, scale=1.0):
        logits = (scale * rng.normal(size=[batch, NUM_CLASSES])).astype(np.float32)
        return Case(label, (logits, np.asarray(labels, np.int32)))

    return [
        case("a batch of 4 (labels 0, 9, 3, 9)", 4, [0, 9, 3, 9]),
        case("a batch of 1 (label 0)", 1, [0]),
        case("a last partial batch of 7", 7, [9, 1, 2, 0, 5, 9, 4]),
        case("large logits (scale 100)", 3, [2, 7, 9], scale=100.0),
    ]


def _loss_size_mismatch(outcomes):
    """(logits rows, logits columns, labels rows, labels columns) from TensorFlow's shape error, for
    every failing case. The fused kernel names both sizes; with op determinism on (`set_seed`), the
    op is composed of smaller ones and the `Mul` of labels [rows, columns] and log-softmax fails."""
    shapes = []
    for outcome in outcomes:
        error = str(outcome.error or "")
        match = re.search(r"logits_size=\[(\d+),(\d+)\] labels_size=\[(\d+),(\d+)\]", error)
        if match:
            shapes.append(tuple(int(g) for g in match.groups()))
            continue
        match = re.search(r"Incompatible shapes: \[(\d+),(\d+)\] vs\. \[(\d+),(\d+)\]", error)
        if match:
            label_rows, label_columns, rows, columns = (int(g) for g in match.groups())
            shapes.append((rows, columns, label_rows, label_columns))
    return shapes


def _wrong_depth(outcomes):
    shapes = _loss_size_mismatch(outcomes)
    return bool(shapes) and all(rows == label_rows and columns != NUM_CLASSES
                                for rows, _, label_rows, columns in shapes)


def _labels_not_one_hot(outcomes):
    shapes = _loss_size_mismatch(outcomes)
    return bool(shapes) and all(label_rows == 1 and columns == rows for rows, _, label_rows, columns in shapes)


def _per_example_losses(outcomes):
    """The answer returned one loss per example ([batch], the tutorial's values) instead of their mean."""
    import tensorflow as tf

    for outcome, case in zip(outcomes, q1.cases()):
        logits, labels = case.input
        per_example = tf.nn.softmax_cross_entropy_with_logits(tf.one_hot(labels, NUM_CLASSES), logits).numpy()
        if outcome.error is not None or np.shape(outcome.value) != per_example.shape \
                or not np.allclose(outcome.value, per_example, rtol=1e-4, atol=1e-5):
            return False
    return True


def _not_finite_only_for_large_logits(outcomes):
    """Right on ordinary logits, inf/nan on the large ones (the last case)."""
    *ordinary, large = outcomes
    expected = q1._expected()
    return large.error is None and not np.all(np.isfinite(np.asarray(large.value, np.float64))) and all(
        o.error is None and compare_values(e.value, o.value) is None for o, e in zip(ordinary, expected))


q1 = FunctionExercise(
    "nb03.q1", "my_loss", "the loss from one-hot labels",
    prompt=(
        "Write `my_loss(logits, labels)`, the tutorial's loss: turn the integer `labels` into one-hot "
        "vectors with `tf.one_hot`, take the softmax cross-entropy of each example with "
        "`tf.nn.softmax_cross_entropy_with_logits`, and return the **mean** over the batch. "
        "`logits` is float32 `[batch, 10]`, `labels` int32 `[batch]`; the result is a float32 scalar."),
    skeleton='''\
def my_loss(logits, labels):
    """Mean softmax cross-entropy: logits float32 [batch, 10], labels int32 [batch] -> float32 scalar."""
    ...
''',
    solution=LOSS_SOLUTION,
    hints=[
        "Three steps: one-hot labels, one cross-entropy per example, one number for the batch.",
        "`tf.one_hot(labels, depth=10)` gives `[batch, 10]`; "
        "`tf.nn.softmax_cross_entropy_with_logits(labels=..., logits=...)` gives `[batch]`.",
        "Finish with `tf.reduce_mean(...)` of the per-example losses: the loss of a batch is their mean.",
    ],
    mistakes=[
        Mistake("sum_instead_of_mean",
                "you summed the losses; the tutorial averages them (`tf.reduce_mean`), so the loss, and "
                "the step size, do not grow with the batch size.",
                LOSS_SOLUTION.replace("tf.reduce_mean(per_example)", "tf.reduce_sum(per_example)")),
        Mistake("softmax_before_cross_entropy",
                "you applied `tf.nn.softmax` before `softmax_cross_entropy_with_logits`, which applies softmax "
                "itself: pass the raw logits.",
                LOSS_SOLUTION.replace("logits=logits", "logits=tf.nn.softmax(logits)")),
        Mistake("one_hot_wrong_depth",
                "your one-hot vectors do not have 10 entries: use `tf.one_hot(labels, depth=10)`, one entry per "
                "digit (not the batch size, not the largest label).",
                LOSS_SOLUTION.replace("depth=10", "depth=9"), detect=_wrong_depth),
        Mistake("labels_not_one_hot",
                "you passed the integer labels to `softmax_cross_entropy_with_logits`, which wants one-hot "
                "`[batch, 10]` labels: convert them with `tf.one_hot` first.",
                LOSS_SOLUTION.replace("labels=one_hot", "labels=tf.cast(labels, tf.float32)"),
                detect=_labels_not_one_hot),
        Mistake("log_of_softmax_overflows",
                "your loss is `inf` or `nan` for large logits: `log(softmax(...))` computed in two steps "
                "underflows to `log(0)`. `tf.nn.softmax_cross_entropy_with_logits` computes it in one stable step.",
                LOSS_SOLUTION.replace(
                    "tf.nn.softmax_cross_entropy_with_logits(labels=one_hot, logits=logits)",
                    "-tf.reduce_sum(one_hot * tf.math.log(tf.nn.softmax(logits)), axis=1)"),
                detect=_not_finite_only_for_large_logits),
        Mistake("no_mean",
                "you returned one loss per example (shape `[batch]`); the loss of the batch is their mean, "
                "a scalar: add `tf.reduce_mean`.",
                LOSS_SOLUTION.replace("return tf.reduce_mean(per_example)", "return per_example"),
                detect=_per_example_losses),
    ],
    cases=_loss_cases,
)

# ---------------------------------------------------------------- q2: one SGD step

STEP_SOLUTION = '''\
def sgd_step(model, images, labels, learning_rate):
    """One gradient-descent step on `model`'s variables; returns the batch loss before the update."""
    with tf.GradientTape() as tape:
        loss = mnist.loss(model(images), labels)
    gradients = tape.gradient(loss, model.trainable_variables)
    for variable, gradient in zip(model.trainable_variables, gradients):
        variable.assign_sub(learning_rate * gradient)
    return loss
'''
STEP_IMPORT = "from tfcourse import mnist\n\n"


def _step_cases():
    rng = np.random.default_rng(5)

    def case(label, batch, labels, seed):
        images = rng.uniform(size=[batch, 784]).astype(np.float32)
        return Case(label, {"images": images, "labels": np.asarray(labels, np.int32), "seed": seed})

    return [case("a batch of 5 (labels 0..9)", 5, [0, 9, 4, 9, 0], seed=1),
            case("a batch of 1 (label 9)", 1, [9], seed=2)]


def _run_step(function, case_input):
    """A fresh small MLP (16 and 8 hidden units), one step at learning rate 0.5 -> {loss, moved}."""
    from tfcourse import mnist

    model = mnist.MLP(16, 8, seed=case_input["seed"])
    before = model.get_weights()
    loss = function(model, case_input["images"], case_input["labels"], 0.5)
    after = model.get_weights()
    return {"loss": loss, "moved": {name: after[name] - before[name] for name in before}}


def _compare_steps(expected, got):
    try:
        difference = compare_values(expected["loss"], got["loss"], rtol=1e-4)
    except AnswerError as wrong:
        raise AnswerError(f"`sgd_step` must return the batch loss: {wrong}") from None
    if difference:
        return f"the returned loss: {difference}"
    for name, moved in expected["moved"].items():
        if not np.allclose(got["moved"][name], moved, rtol=1e-3, atol=1e-6):
            return f"the update of {name} differs from `-learning_rate * gradient`"
    return None


def _moved(outcome):
    """{variable: moved?} of an outcome (None if it raised or returned no loss: a wrong kind of
    answer is reported as such rather than as a mistake in the update)."""
    if outcome.error is not None or getattr(np.asarray(outcome.value["loss"]), "dtype", None) is None \
            or np.asarray(outcome.value["loss"]).dtype.kind != "f":
        return None
    return {name: bool(np.any(step != 0)) for name, step in outcome.value["moved"].items()}


def _nothing_moved(outcomes):
    return all(_moved(o) is not None and not any(_moved(o).values()) for o in outcomes)


def _some_moved(outcomes):
    """Some variables moved, but not every one the reference moves."""
    if any(_moved(o) is None for o in outcomes):
        return False
    pairs = [(_moved(o), _moved(r)) for o, r in zip(outcomes, q2._expected())]
    return any(any(moved.values()) for moved, _ in pairs) and any(
        reference[name] and not moved[name] for moved, reference in pairs for name in moved)


def _no_gradients(outcomes):
    return any(o.error is not None and ("NoneType" in str(o.error) or "No gradients" in str(o.error))
               for o in outcomes)


q2 = FunctionExercise(
    "nb03.q2", "sgd_step", "one gradient-descent step",
    prompt=(
        "Write `sgd_step(model, images, labels, learning_rate)`: compute the loss "
        "`mnist.loss(model(images), labels)` under a `tf.GradientTape`, take its gradients with respect to "
        "`model.trainable_variables`, move every variable by `-learning_rate * gradient` with "
        "`variable.assign_sub(...)`, and return the loss (before the update). No optimizer: do it by hand."),
    skeleton=STEP_IMPORT + '''\
def sgd_step(model, images, labels, learning_rate):
    """One gradient-descent step on `model`'s variables; returns the batch loss before the update."""
    ...
''',
    solution=STEP_IMPORT + STEP_SOLUTION,
    hints=[
        "The forward pass and the loss must happen *inside* `with tf.GradientTape() as tape:` so the tape "
        "records them.",
        "`gradients = tape.gradient(loss, model.trainable_variables)` gives one gradient per variable, "
        "in the same order.",
        "Loop over `zip(model.trainable_variables, gradients)` and call "
        "`variable.assign_sub(learning_rate * gradient)`: `assign_sub` changes the variable in place.",
    ],
    mistakes=[
        Mistake("weights_not_updated",
                "the model's weights did not change: `variable = variable - ...` only rebinds a Python name. "
                "Change the variable itself with `variable.assign_sub(learning_rate * gradient)`.",
                STEP_IMPORT + STEP_SOLUTION.replace("variable.assign_sub(learning_rate * gradient)",
                                                    "variable = variable - learning_rate * gradient"),
                detect=_nothing_moved),
        Mistake("wrong_sign",
                "your step goes uphill: the gradient points where the loss grows, so subtract it "
                "(`assign_sub`), do not add it.",
                STEP_IMPORT + STEP_SOLUTION.replace("assign_sub", "assign_add")),
        Mistake("loss_outside_tape",
                "the gradients are `None`: the loss was computed outside the `with tf.GradientTape()` block, so "
                "the tape recorded nothing. Compute `model(images)` and the loss inside it.",
                STEP_IMPORT + STEP_SOLUTION.replace(
                    "    with tf.GradientTape() as tape:\n        loss = mnist.loss(model(images), labels)\n",
                    "    loss = mnist.loss(model(images), labels)\n    with tf.GradientTape() as tape:\n"
                    "        pass\n"),
                detect=_no_gradients),
        Mistake("loss_after_update",
                "the update is right, but return the loss computed before it: the one the gradients came from "
                "(the learning curve plots that one).",
                STEP_IMPORT + STEP_SOLUTION.replace("    return loss\n",
                                                    "    return mnist.loss(model(images), labels)\n")),
        Mistake("gradients_of_wrong_variables",
                "only some of the variables moved: take the gradients with respect to all of "
                "`model.trainable_variables` and update each of them.",
                STEP_IMPORT + STEP_SOLUTION.replace(
                    "tape.gradient(loss, model.trainable_variables)\n    for variable, gradient in zip("
                    "model.trainable_variables, gradients)",
                    "tape.gradient(loss, [model.hidden1.weights])\n    for variable, gradient in zip("
                    "[model.hidden1.weights], gradients)"),
                detect=_some_moved),
    ],
    cases=_step_cases, run=_run_step, compare=_compare_steps,
)

# ---------------------------------------------------------------- q3: the loss of a clueless network


def _uniform_loss():
    import tensorflow as tf

    from tfcourse import mnist

    return float(mnist.loss(tf.zeros([1, NUM_CLASSES]), tf.constant([3])))


q3 = ValueExercise(
    "nb03.q3", "uniform_loss", "the loss of an untrained network",
    prompt=(
        "An untrained network that gives all 10 digits the same probability: what is its cross-entropy loss? "
        "Set `uniform_loss` to the number (a Python float; `np.log` is allowed). The check computes "
        "`mnist.loss` on all-zero logits to compare."),
    skeleton="uniform_loss = ...\n",
    solution="uniform_loss = -np.log(1 / 10)\n",
    hints=["Every digit gets probability 1/10, the right one included.",
           "The cross-entropy of one example is `-log(probability of the right digit)`, natural log."],
    mistakes=[
        Mistake("probability_not_loss",
                "that is the probability of the right digit; the loss is minus its (natural) logarithm.",
                "uniform_loss = 1 / 10\n", detect=lambda o: np.isclose(o[0].value, 0.1)),
        Mistake("log10_not_ln",
                "you used a base-10 logarithm; the cross-entropy uses the natural one (`np.log`).",
                "uniform_loss = -np.log10(1 / 10)\n", detect=lambda o: np.isclose(o[0].value, 1.0)),
        Mistake("missing_minus",
                "the loss is never negative: it is *minus* the log of a probability.",
                "uniform_loss = np.log(1 / 10)\n", detect=lambda o: np.isclose(o[0].value, -np.log(10), atol=1e-3)),
    ],
    expected=_uniform_loss,
    compare=lambda expected, got: compare_values(expected, got, rtol=1e-3),
    explain=lambda value: f"`mnist.loss` of all-zero logits is {value:.4f} = ln 10, the loss curves of "
                          "notebook 03 start there.",
)

# ---------------------------------------------------------------- q4: predict a gradient


def _gradient_of_loss():
    import tensorflow as tf

    from tfcourse import mnist

    logits = tf.zeros([1, NUM_CLASSES])
    with tf.GradientTape() as tape:
        tape.watch(logits)
        loss = mnist.loss(logits, tf.constant([3]))
    return tape.gradient(loss, logits).numpy()[0]


def _matches(vector):
    return lambda outcomes: np.allclose(np.ravel(outcomes[0].value), vector, atol=1e-3)


_PROBABILITIES = np.full(NUM_CLASSES, 0.1)
_ONE_HOT_3 = np.eye(NUM_CLASSES)[3]

q4 = ValueExercise(
    "nb03.q4", "predicted_gradient", "predict a gradient",
    prompt=(
        "Predict, then let the check run it: for one example with label 3 and all-zero logits, what is "
        "`tape.gradient(mnist.loss(logits, labels), logits)`? Set `predicted_gradient` to the 10 numbers "
        "(a list or an array of shape `[10]`). This gradient is what backpropagation starts from."),
    skeleton="predicted_gradient = ...\n",
    solution="predicted_gradient = np.full(10, 0.1) - np.eye(10)[3]  # softmax(logits) - one_hot(label)\n",
    hints=["All-zero logits: the softmax gives every digit 0.1.",
           "The gradient of softmax cross-entropy with respect to the logits is `softmax(logits) - one_hot(label)`."],
    mistakes=[
        Mistake("sign_flipped",
                "right numbers, wrong sign: the gradient is `softmax - one_hot`, positive for the wrong digits "
                "(raising their logits would raise the loss).",
                "predicted_gradient = np.eye(10)[3] - np.full(10, 0.1)\n",
                detect=_matches(_ONE_HOT_3 - _PROBABILITIES)),
        Mistake("forgot_softmax",
                "you kept only the `-one_hot` part; the softmax term `softmax(logits)` (0.1 for every digit) "
                "belongs to the gradient too.",
                "predicted_gradient = -np.eye(10)[3]\n", detect=_matches(-_ONE_HOT_3)),
        Mistake("forgot_one_hot",
                "you kept only `softmax(logits)`; subtract the one-hot label: the right digit's entry is "
                "0.1 - 1 = -0.9.",
                "predicted_gradient = np.full(10, 0.1)\n", detect=_matches(_PROBABILITIES)),
    ],
    expected=_gradient_of_loss,
    compare=lambda expected, got: compare_values(expected, np.ravel(got) if np.size(got) == NUM_CLASSES else got,
                                                 atol=1e-3),
    explain=lambda value: f"TensorFlow gives {[round(float(v), 3) for v in value]}: the 0.1 of softmax everywhere, "
                          "minus 1 at the label.",
)

EXERCISES = [q1, q2, q3, q4]
SETUP = "import numpy as np\nimport tensorflow as tf\nfrom tfcourse.exercises import nb03 as ex\n"

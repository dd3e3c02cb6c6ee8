"""Exercises of notebook 03 (loss and training): a label-smoothed loss, a momentum step, two predictions.

    from tfcourse.exercises import nb03 as ex
"""

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

# ---------------------------------------------------------------- q1: a label-smoothed loss

SMOOTHED_SOLUTION = '''\
def smoothed_loss(logits, labels, smoothing):
    """Mean cross-entropy against smoothed targets: logits float32 [batch, 10], labels int32 [batch]."""
    targets = (1.0 - smoothing) * tf.one_hot(labels, 10) + smoothing / 10
    log_probabilities = tf.nn.log_softmax(logits)  # stable: no exp(logits) on its own
    return tf.reduce_mean(-tf.reduce_sum(targets * log_probabilities, axis=1))
'''


def _smoothed_cases():
    rng = np.random.default_rng(3)

    def case(label, labels, smoothing, scale=1.0):
        logits = (scale * rng.normal(size=[len(labels), NUM_CLASSES])).astype(np.float32)
        return Case(label, (logits, np.asarray(labels, np.int32), smoothing))

    return [
        case("a batch of 4 (labels 0, 9, 3, 9), smoothing 0.1", [0, 9, 3, 9], 0.1),
        case("a batch of 1 (label 0), smoothing 0 (plain one-hot)", [0], 0.0),
        case("a last partial batch of 7, smoothing 0.3", [9, 1, 2, 0, 5, 9, 4], 0.3),
        case("large logits (scale 100), smoothing 0.1", [2, 7, 9], 0.1, scale=100.0),
    ]


def _run_smoothed(function, case_input):
    """The loss and its dtype (the prompt asks for float32)."""
    value = function(*case_input)
    dtype = getattr(value, "dtype", None)
    name = getattr(dtype, "name", None) or (np.asarray(value).dtype.name if value is not None else None)
    return {"loss": value, "dtype": name}


def _compare_smoothed(expected, got):
    difference = compare_values(expected["loss"], got["loss"], rtol=1e-4, atol=1e-5)
    if difference is None and got["dtype"] != "float32":
        raise AnswerError(f"expected a float32 scalar, like the logits, got {got['dtype']}")
    return difference


def _losses(outcomes):
    return [np.asarray(o.value["loss"], np.float64) for o in outcomes]


def _not_finite_only_for_large_logits(outcomes):
    """Right on ordinary logits, inf/nan on the large ones (the last case)."""
    *ordinary, large = outcomes
    return all(o.error is None for o in outcomes) and not np.all(np.isfinite(_losses([large])[0])) and all(
        compare_values(e.value["loss"], o.value["loss"], rtol=1e-4, atol=1e-5) is None
        for o, e in zip(ordinary, q1._expected()))


q1 = FunctionExercise(
    "nb03.q1", "smoothed_loss", "a label-smoothed loss",
    prompt=(
        "**Label smoothing** trains towards softer targets than one-hot vectors: every digit gets "
        "`smoothing / 10` and the label gets the rest, `target = (1 - smoothing) * one_hot + smoothing / 10` "
        "(with `smoothing = 0.1`: 0.91 for the label, 0.01 for each other digit). A network trained this way is "
        "never pushed towards infinite logits. Write `smoothed_loss(logits, labels, smoothing)`: the mean over "
        "the batch of the cross-entropy `-Σ_i target_i log p_i` between these targets and the softmax of the "
        "logits. `logits` is float32 `[batch, 10]`, `labels` int32 `[batch]`, `smoothing` a Python float in "
        "`[0, 1)`; the result is a float32 scalar. It must stay finite for large logits."),
    skeleton='''\
def smoothed_loss(logits, labels, smoothing):
    """Mean cross-entropy against smoothed targets: logits float32 [batch, 10], labels int32 [batch]."""
    ...
''',
    solution=SMOOTHED_SOLUTION,
    hints=[
        "First the targets, `[batch, 10]`, each row summing to 1; then one cross-entropy per example; then the mean.",
        "`tf.one_hot(labels, 10)` times `1 - smoothing`, plus `smoothing / 10` (broadcast to every entry).",
        "Either `tf.nn.softmax_cross_entropy_with_logits(labels=targets, logits=logits)` (its labels may be any "
        "distribution) or `-tf.reduce_sum(targets * tf.nn.log_softmax(logits), axis=1)`; finish with "
        "`tf.reduce_mean`.",
    ],
    mistakes=[
        Mistake("smoothing_ignored",
                "you computed the plain one-hot loss: `smoothing` changed nothing. The targets are "
                "`(1 - smoothing) * one_hot + smoothing / 10`.",
                SMOOTHED_SOLUTION.replace("(1.0 - smoothing) * tf.one_hot(labels, 10) + smoothing / 10",
                                          "tf.one_hot(labels, 10)")),
        Mistake("sum_instead_of_mean",
                "you summed the losses of the examples; the loss of a batch is their mean (`tf.reduce_mean`), "
                "so it does not grow with the batch size.",
                SMOOTHED_SOLUTION.replace("return tf.reduce_mean(", "return tf.reduce_sum(")),
        Mistake("softmax_twice",
                "you applied `tf.nn.softmax` to the logits before a function that applies the softmax itself: "
                "pass the raw logits.",
                SMOOTHED_SOLUTION.replace("tf.nn.log_softmax(logits)", "tf.nn.log_softmax(tf.nn.softmax(logits))")),
        Mistake("log_of_softmax_overflows",
                "your loss is `inf` or `nan` for large logits: `log(softmax(...))` in two steps gives `log(0)` for "
                "a digit whose probability underflows, and with smoothing every digit has a target above 0. Use "
                "`tf.nn.log_softmax` or `tf.nn.softmax_cross_entropy_with_logits`, which compute it in one stable step.",
                SMOOTHED_SOLUTION.replace("tf.nn.log_softmax(logits)", "tf.math.log(tf.nn.softmax(logits))"),
                detect=_not_finite_only_for_large_logits),
        Mistake("no_mean",
                "you returned one loss per example (shape `[batch]`); the loss of the batch is their mean, "
                "a scalar: add `tf.reduce_mean`.",
                SMOOTHED_SOLUTION.replace("return tf.reduce_mean(-tf.reduce_sum(targets * log_probabilities, axis=1))",
                                          "return -tf.reduce_sum(targets * log_probabilities, axis=1)"),
                detect=lambda outcomes: all(o.error is None and np.ndim(o.value["loss"]) == 1 for o in outcomes)),
    ],
    cases=_smoothed_cases, run=_run_smoothed, compare=_compare_smoothed,
)

# ---------------------------------------------------------------- q2: a momentum step by hand

MOMENTUM_SOLUTION = '''\
def momentum_step(model, velocities, images, labels, learning_rate, momentum):
    """One SGD-with-momentum step; `velocities[i]` belongs to `model.trainable_variables[i]`. Returns the loss."""
    with tf.GradientTape() as tape:
        batch_loss = mnist.loss(model(images), labels)
    gradients = tape.gradient(batch_loss, model.trainable_variables)
    for variable, velocity, gradient in zip(model.trainable_variables, velocities, gradients):
        velocity.assign(momentum * velocity - learning_rate * gradient)
        variable.assign_add(velocity)
    return batch_loss
'''
MOMENTUM_IMPORT = "from tfcourse import mnist\n\n"
LEARNING_RATE = 0.5


def _momentum_cases():
    rng = np.random.default_rng(5)

    def case(label, batch, seed, momentum):
        batches = [(rng.uniform(size=[batch, 784]).astype(np.float32),
                    rng.integers(0, NUM_CLASSES, batch).astype(np.int32)) for _ in range(2)]
        return Case(label, {"batches": batches, "seed": seed, "momentum": momentum})

    return [case("two steps on batches of 5, momentum 0.9", 5, seed=1, momentum=0.9),
            case("two steps on batches of 1, momentum 0.5", 1, seed=2, momentum=0.5)]


def _run_momentum(function, case_input):
    """A fresh small MLP (16 and 8 hidden units) and zero velocities; two calls -> losses, weights, velocities."""
    import tensorflow as tf

    from tfcourse import mnist

    model = mnist.MLP(16, 8, seed=case_input["seed"])
    velocities = [tf.Variable(tf.zeros_like(variable)) for variable in model.trainable_variables]
    names = [variable.name.split(":")[0].split("/", 1)[-1] for variable in model.trainable_variables]
    losses, weights, held = [], [], []
    for images, labels in case_input["batches"]:
        losses.append(function(model, velocities, images, labels, LEARNING_RATE, case_input["momentum"]))
        weights.append(model.get_weights())
        held.append({name: velocity.numpy() for name, velocity in zip(names, velocities)})
    return {"losses": losses, "weights": weights, "velocities": held}


def _compare_momentum(expected, got):
    """Step by step: the loss returned, then every weight and every velocity after the step."""
    for index, want_loss in enumerate(expected["losses"]):
        try:
            difference = compare_values(want_loss, got["losses"][index], rtol=1e-4)
        except AnswerError as wrong:
            raise AnswerError(f"`momentum_step` must return the batch loss: {wrong}") from None
        if difference:
            return f"the loss returned by step {index + 1}: {difference}"
        for kind, where in (("weights", "the model's"), ("velocities", "the velocity of")):
            for name, value in expected[kind][index].items():
                have = got[kind][index][name]
                if not np.allclose(have, value, rtol=1e-3, atol=1e-6):
                    gap = float(np.abs(have - value).max())
                    return (f"after step {index + 1}, {where} {name}: expected "
                            f"{np.ravel(value)[:3].round(5).tolist()}..., got {np.ravel(have)[:3].round(5).tolist()}... "
                            f"(largest difference {gap:.3g})")
    return None


def _returned_losses(outcome):
    """True if the answer ran and returned a number as each step's loss (else it is judged as a wrong kind)."""
    return outcome.error is None and all(
        np.asarray(loss).dtype.kind == "f" and np.ndim(loss) == 0 for loss in outcome.value["losses"])


def _velocities_untouched(outcomes):
    return all(_returned_losses(o) and all(not np.any(v) for step in o.value["velocities"] for v in step.values())
               for o in outcomes)


q2 = FunctionExercise(
    "nb03.q2", "momentum_step", "a momentum step by hand",
    prompt=(
        "Write `momentum_step(model, velocities, images, labels, learning_rate, momentum)`, one step of gradient "
        "descent **with momentum**, without an optimizer: compute `mnist.loss(model(images), labels)` under a "
        "`tf.GradientTape`, take its gradients with respect to `model.trainable_variables`, then for each variable "
        "`w` with its velocity `v` (`velocities[i]` is the `tf.Variable` of the same shape as "
        "`model.trainable_variables[i]`, zeros at the start) set `v ← momentum·v − learning_rate·g` and then "
        "`w ← w + v`. Return the loss computed before the update. The check calls it twice in a row, on two "
        "batches, and compares with `keras.optimizers.SGD(learning_rate, momentum=momentum)`."),
    skeleton=MOMENTUM_IMPORT + '''\
def momentum_step(model, velocities, images, labels, learning_rate, momentum):
    """One SGD-with-momentum step; `velocities[i]` belongs to `model.trainable_variables[i]`. Returns the loss."""
    ...
''',
    solution=MOMENTUM_IMPORT + MOMENTUM_SOLUTION,
    hints=[
        "The tape and the gradients are those of the lesson's step; only the update changes.",
        "Walk `zip(model.trainable_variables, velocities, gradients)`: three lists in the same order.",
        "`velocity.assign(momentum * velocity - learning_rate * gradient)` first, then "
        "`variable.assign_add(velocity)`: both change the variables in place, so the next call sees them.",
    ],
    mistakes=[
        Mistake("velocities_not_kept",
                "the velocities are still zero after your steps: `v = momentum * v - ...` only rebinds a Python "
                "name, so the next step starts from zero again. Change the variable: `velocity.assign(...)`.",
                MOMENTUM_IMPORT + MOMENTUM_SOLUTION.replace(
                    "        velocity.assign(momentum * velocity - learning_rate * gradient)\n"
                    "        variable.assign_add(velocity)\n",
                    "        velocity = momentum * velocity - learning_rate * gradient\n"
                    "        variable.assign_add(velocity)\n"),
                detect=_velocities_untouched),
        Mistake("momentum_ignored",
                "your step is plain gradient descent: the velocity must carry `momentum` times the previous one "
                "(`v ← momentum·v − learning_rate·g`). The first step is the same, the second shows the difference.",
                MOMENTUM_IMPORT + MOMENTUM_SOLUTION.replace("momentum * velocity - learning_rate * gradient",
                                                            "-learning_rate * gradient")),
        Mistake("wrong_sign",
                "your step goes uphill: the gradient points where the loss grows, so the velocity gets "
                "`- learning_rate * gradient`.",
                MOMENTUM_IMPORT + MOMENTUM_SOLUTION.replace("momentum * velocity - learning_rate * gradient",
                                                            "momentum * velocity + learning_rate * gradient")),
        Mistake("old_velocity_applied",
                "you moved the weights by the *old* velocity, then updated it: update `v` first, then `w ← w + v` "
                "(the first step must already move the weights).",
                MOMENTUM_IMPORT + MOMENTUM_SOLUTION.replace(
                    "        velocity.assign(momentum * velocity - learning_rate * gradient)\n"
                    "        variable.assign_add(velocity)\n",
                    "        variable.assign_add(velocity)\n"
                    "        velocity.assign(momentum * velocity - learning_rate * gradient)\n")),
        Mistake("loss_after_update",
                "the update is right, but return the loss computed before it: the one the gradients came from.",
                MOMENTUM_IMPORT + MOMENTUM_SOLUTION.replace("    return batch_loss\n",
                                                            "    return mnist.loss(model(images), labels)\n")),
    ],
    cases=_momentum_cases, run=_run_momentum, compare=_compare_momentum,
)

# ---------------------------------------------------------------- q3: predict the loss of a batch

LOSS_SNIPPET = '''\
logits = np.zeros([2, 10], np.float32)
logits[1, 5] = np.log(9)  # the second example: a logit of ln 9 for digit 5, 0 for the others
labels = np.array([0, 5], np.int32)
batch_loss = float(mnist.loss(logits, labels))
'''


def _batch_loss():
    from tfcourse import mnist

    namespace = {"np": np, "mnist": mnist}
    exec(LOSS_SNIPPET, namespace)  # noqa: S102 - the course's own snippet, shown in the prompt
    return namespace["batch_loss"]


def _near(value):
    return lambda outcomes: np.isclose(float(np.asarray(outcomes[0].value)), value, atol=2e-3)


q3 = ValueExercise(
    "nb03.q3", "predicted_loss", "predict the loss of a batch",
    prompt=(
        "Predict, then let the check run it:\n\n```python\n" + LOSS_SNIPPET + "```\n\nWhat is `batch_loss`? "
        "Set `predicted_loss` to the number (`np.log` is allowed; 3 decimals are enough)."),
    skeleton="predicted_loss = ...\n",
    solution=("predicted_loss = (np.log(10) + np.log(2)) / 2  # example 1: p = 1/10; "
              "example 2: p = 9 / (9 + 9) = 1/2; the mean\n"),
    hints=["One cross-entropy per example, `-ln(probability of the right digit)`, then the mean of the two.",
           "The first example has all-zero logits. In the second, the right digit has `exp(ln 9) = 9` against "
           "`exp(0) = 1` for each of the 9 others: its probability is 9 / 18."],
    mistakes=[
        Mistake("summed_not_averaged",
                "that is the sum of the two examples' losses; `mnist.loss` returns their mean.",
                "predicted_loss = np.log(10) + np.log(2)\n", detect=_near(np.log(20))),
        Mistake("probability_from_logit",
                "the probability of digit 5 in the second example is not 9/10: softmax divides `exp(ln 9) = 9` "
                "by the sum over *all* digits, 9 + 9 × exp(0) = 18.",
                "predicted_loss = (np.log(10) - np.log(0.9)) / 2\n", detect=_near((np.log(10) - np.log(0.9)) / 2)),
        Mistake("only_the_uniform_example",
                "ln 10 is the loss of the first example only; the second is sure enough of its digit to lower "
                "the batch's mean.",
                "predicted_loss = np.log(10)\n", detect=_near(np.log(10))),
        Mistake("log10_not_ln",
                "you used base-10 logarithms; the cross-entropy uses the natural one (`np.log`).",
                "predicted_loss = (np.log10(10) + np.log10(2)) / 2\n", detect=_near((1 + np.log10(2)) / 2)),
    ],
    expected=_batch_loss,
    compare=lambda expected, got: compare_values(expected, got, rtol=1e-3),
    explain=lambda value: f"`mnist.loss` gives {value:.4f}: (ln 10 + ln 2) / 2.",
)

# ---------------------------------------------------------------- q4: predict a gradient

GRADIENT_SNIPPET = '''\
logits = tf.zeros([2, 10])
labels = tf.constant([3, 7])
with tf.GradientTape() as tape:
    tape.watch(logits)
    batch_loss = mnist.loss(logits, labels)
gradient = tape.gradient(batch_loss, logits)
'''


def _gradient_of_loss():
    import tensorflow as tf

    from tfcourse import mnist

    namespace = {"tf": tf, "mnist": mnist}
    exec(GRADIENT_SNIPPET, namespace)  # noqa: S102 - the course's own snippet, shown in the prompt
    return namespace["gradient"].numpy()


_UNIFORM = np.full([2, NUM_CLASSES], 0.1)
_ONE_HOT = np.eye(NUM_CLASSES)[[3, 7]]


def _matches(array):
    def detect(outcomes):
        got = np.asarray(outcomes[0].value, np.float64)
        return got.shape == array.shape and np.allclose(got, array, atol=1e-3)
    return detect


q4 = ValueExercise(
    "nb03.q4", "predicted_gradient", "predict a gradient",
    prompt=(
        "Predict, then let the check run it:\n\n```python\n" + GRADIENT_SNIPPET + "```\n\nSet "
        "`predicted_gradient` to the value of `gradient`: 2 rows of 10 numbers (a nested list, an array or a "
        "tensor of shape `[2, 10]`). Use what the lesson showed about the gradient of the loss with respect "
        "to the logits."),
    skeleton="predicted_gradient = ...\n",
    solution=("predicted_gradient = (np.full([2, 10], 0.1) - np.eye(10)[[3, 7]]) / 2"
              "  # (softmax - one_hot) / batch size\n"),
    hints=["All-zero logits: the softmax gives every digit 0.1.",
           "The gradient of the mean loss is `(softmax(logits) - one_hot(labels)) / batch_size`: mind the mean."],
    mistakes=[
        Mistake("forgot_the_mean",
                "right shape and pattern, but each example's gradient is divided by the batch size: the loss is "
                "the *mean* of 2 examples, so `(softmax - one_hot) / 2`.",
                "predicted_gradient = np.full([2, 10], 0.1) - np.eye(10)[[3, 7]]\n",
                detect=_matches(_UNIFORM - _ONE_HOT)),
        Mistake("sign_flipped",
                "right numbers, wrong sign: the gradient is `softmax - one_hot` (over the batch size), positive for "
                "the wrong digits (raising their logits would raise the loss).",
                "predicted_gradient = (np.eye(10)[[3, 7]] - np.full([2, 10], 0.1)) / 2\n",
                detect=_matches((_ONE_HOT - _UNIFORM) / 2)),
        Mistake("forgot_softmax",
                "you kept only the `-one_hot` part; the softmax term (0.1 for every digit) belongs to the gradient "
                "too.",
                "predicted_gradient = -np.eye(10)[[3, 7]] / 2\n", detect=_matches(-_ONE_HOT / 2)),
        Mistake("forgot_one_hot",
                "you kept only the softmax; subtract the one-hot label: the right digit's entry is (0.1 - 1) / 2.",
                "predicted_gradient = np.full([2, 10], 0.1) / 2\n", detect=_matches(_UNIFORM / 2)),
    ],
    expected=_gradient_of_loss,
    compare=lambda expected, got: compare_values(expected, got, atol=1e-3),
    explain=lambda value: f"TensorFlow gives {[round(float(v), 3) for v in value[0]]} for the first row: 0.1 / 2 everywhere, "
                          "(0.1 - 1) / 2 at the label.",
)

EXERCISES = [q1, q2, q3, q4]

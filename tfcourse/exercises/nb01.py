"""Exercises of notebook 01 (the input pipeline): tf.data chains, epochs, batch counts.

    from tfcourse.exercises import nb01 as ex

The pipeline checks feed a few hundred "images" whose single pixel is the example's number
(0..N-1) and labels `number % 10`, so every batch tells which examples it holds and whether
images and labels still belong together; they judge properties (every example once per epoch,
shuffled with a buffer large enough to move examples far, batch sizes), not one shuffled order.
"""

import numpy as np

from tfcourse.exercises.core import (
    AnswerError,
    Case,
    FunctionExercise,
    Mistake,
    ValueExercise,
    answered,
)


def _numbered(num_examples):
    images = np.arange(num_examples, dtype=np.float32).reshape(num_examples, 1)
    labels = (np.arange(num_examples) % 10).astype(np.int32)
    return images, labels


MAX_BATCHES = 200  # a dataset that never ends is read this far


def _all_runs(predicate):
    def detect(outcomes):
        return all(o.error is None for o in outcomes) and all(predicate(o.value) for o in outcomes)
    return detect


# ---------------------------------------------------------------- q1: only some digits, shuffled

DIGITS_SOLUTION = """\
def digit_batches(images, labels, digits, batch_size, seed):
    \"\"\"One shuffled epoch of (images, labels) batches holding only the examples whose label is in `digits`.\"\"\"
    wanted = tf.constant(digits, dtype=labels.dtype)
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    dataset = dataset.filter(lambda image, label: tf.reduce_any(tf.equal(label, wanted)))
    return dataset.shuffle(len(images), seed=seed).batch(batch_size)
"""


def _digit_cases():
    def case(label, num_examples, digits, batch_size, seed):
        images, labels = _numbered(num_examples)
        return Case(label, (images, labels, digits, batch_size, seed))

    return [case("300 examples, digits [3, 7], batches of 8", 300, [3, 7], 8, 0),
            case("300 examples, digits [0, 1, 2, 4, 5, 6, 8, 9], batches of 32", 300, [0, 1, 2, 4, 5, 6, 8, 9], 32, 1),
            case("250 examples, digit [5] only, batches of 10", 250, [5], 10, 2)]


def _run_digits(function, case_input):
    images, labels, digits, batch_size, seed = case_input
    batches = _batches_of(function(*case_input))
    # A second pipeline made with the same seed must give the same order: `seed=seed` was used.
    again = _batches_of(function(*case_input))
    return {"batches": batches, "batch_size": batch_size,
            "repeatable": _numbers(again) == _numbers(batches),
            "kept": [n for n in range(len(images)) if n % 10 in digits]}


def _numbers(batches):
    return [n for batch in batches for n in batch["numbers"]]


def _digits_problem(run):
    kept, batch_size = run["kept"], run["batch_size"]
    if not all(batch["batched"] for batch in run["batches"]):
        return "the elements are single examples, not batches"
    pairs = [(n, label) for batch in run["batches"] for n, label in zip(batch["numbers"], batch["labels"])]
    if any(label != n % 10 for n, label in pairs):
        return "some images came out with another example's label"
    numbers = [n for n, _ in pairs]
    others = sorted({n % 10 for n in numbers} - {n % 10 for n in kept})
    if others:
        return f"expected only the digits {sorted({n % 10 for n in kept})}, got digits {others} as well"
    if sorted(numbers) != kept:
        return f"expected each of the {len(kept)} examples of those digits once, got {len(numbers)} examples " \
               f"({len(set(numbers))} different)"
    expected_sizes = [batch_size] * (len(kept) // batch_size) + ([len(kept) % batch_size] if len(kept) % batch_size else [])
    sizes = [len(batch["numbers"]) for batch in run["batches"]]
    if sizes != expected_sizes:
        return f"expected batch sizes {expected_sizes}, got {sizes}"
    problem = _shuffle_problem(numbers, kept)
    if problem is None and not run.get("repeatable", True):
        return ("two pipelines made with the same `seed` gave different orders: expected the same order "
                "(pass `seed=seed` to `shuffle`)")
    return problem


def _shuffle_problem(order, originals):
    """What is wrong with the shuffle that gave `order` (a permutation of `originals`), or None."""
    if order == sorted(order):
        return "the examples come out in their original order: they were not shuffled"
    # A buffer of k lets the example at position p come from at most p + k - 1 places ahead: a
    # small buffer keeps every example near its place. With the whole split as buffer, some
    # example among the first ones comes from far behind.
    position = {n: i for i, n in enumerate(originals)}
    jump = max(position[n] - i for i, n in enumerate(order))
    if jump < len(order) // 4:
        return (f"no example moved more than {jump} places forward in {len(order)}: the shuffle buffer is too "
                "small to mix the split (use one as large as the data, `len(images)`)")
    return None


def _compare_digits(expected, got):
    del expected  # judged by properties: any correct shuffle passes
    return _digits_problem(got)


q1 = FunctionExercise(
    "nb01.q1", "digit_batches", "only some digits, shuffled",
    prompt=(
        "Write `digit_batches(images, labels, digits, batch_size, seed)`: a `tf.data` pipeline giving **one "
        "epoch** of `(images, labels)` batches that holds only the examples whose label is one of `digits` (a "
        "list such as `[3, 7]`), each of them once, in a shuffled order (a buffer as large as the whole "
        "split, `seed=seed`), the last, shorter batch kept. Use `Dataset.filter` (section 4 shows it). The "
        "check feeds a few hundred examples whose images carry their example number."),
    skeleton='''\
def digit_batches(images, labels, digits, batch_size, seed):
    """One shuffled epoch of (images, labels) batches holding only the examples whose label is in `digits`."""
    ...
''',
    solution=DIGITS_SOLUTION,
    hints=[
        "Slice `(images, labels)` into examples, keep the wanted ones, shuffle, batch.",
        "`filter` takes a function of one element, here `(image, label)`, returning a boolean tensor: "
        "`tf.reduce_any(tf.equal(label, tf.constant(digits)))` is true when the label is one of the digits.",
        "`shuffle(len(images), seed=seed)` then `.batch(batch_size)`: a small buffer (say 2) only swaps "
        "neighbours.",
    ],
    mistakes=[
        Mistake("small_shuffle_buffer",
                "your shuffle buffer is too small: with `shuffle(k)` an example can only move about k places, "
                "so the order stays close to the original. Use a buffer as large as the split, `len(images)`.",
                DIGITS_SOLUTION.replace("shuffle(len(images), seed=seed)", "shuffle(4, seed=seed)"),
                detect=lambda outcomes: all(o.error is None for o in outcomes) and any(
                    "too small" in (_digits_problem(o.value) or "") for o in outcomes)),
        Mistake("no_shuffle",
                "the examples come out in their original order: add `.shuffle(len(images), seed=seed)` before "
                "`.batch(...)`.",
                DIGITS_SOLUTION.replace(".shuffle(len(images), seed=seed)", ""),
                detect=_all_runs(lambda run: "original order" in (_digits_problem(run) or ""))),
        Mistake("shuffle_after_batch",
                "you shuffled after batching: that reorders whole batches, and each batch still holds "
                "neighbouring examples. Call `.shuffle(...)` before `.batch(...)`.",
                DIGITS_SOLUTION.replace("return dataset.shuffle(len(images), seed=seed).batch(batch_size)",
                                        "return dataset.batch(batch_size).shuffle(len(images), seed=seed)"),
                # Every batch holds neighbours in order; the batches' order changed in some case (a
                # shuffle of 3 batches can leave them in place, so not necessarily in every case).
                detect=lambda outcomes: _all_runs(lambda run: run["batches"] and all(
                    batch["numbers"] == sorted(batch["numbers"]) for batch in run["batches"]))(outcomes)
                and any(_numbers(o.value["batches"]) != o.value["kept"] for o in outcomes)),
        Mistake("kept_other_digits",
                "other digits got through: the filter must keep an example only when its label is one of "
                "`digits`.",
                DIGITS_SOLUTION.replace("tf.reduce_any(tf.equal(label, wanted))", "label >= tf.reduce_min(wanted)"),
                detect=_all_runs(lambda run: "as well" in (_digits_problem(run) or "")) ),
        Mistake("dropped_last_batch",
                "the last, shorter batch is missing: `drop_remainder=True` drops it, and those examples are "
                "never seen. Keep the default here.",
                DIGITS_SOLUTION.replace(".batch(batch_size)", ".batch(batch_size, drop_remainder=True)"),
                detect=_all_runs(lambda run: all(len(b["numbers"]) == run["batch_size"] for b in run["batches"])
                                 and len(run["kept"]) % run["batch_size"] != 0
                                 and sum(len(b["numbers"]) for b in run["batches"])
                                 == len(run["kept"]) // run["batch_size"] * run["batch_size"])),
    ],
    cases=_digit_cases, run=_run_digits, compare=_compare_digits,
)

# ---------------------------------------------------------------- q2: a validation split with take/skip

SPLIT_SOLUTION = """\
def split_pipelines(images, labels, validation_size, batch_size, seed, epochs):
    \"\"\"(validation: the first `validation_size` examples in order, batched once;
    training: the others, reshuffled every epoch, batched, `epochs` epochs).\"\"\"
    examples = tf.data.Dataset.from_tensor_slices((images, labels))
    validation = examples.take(validation_size).batch(batch_size)
    training = examples.skip(validation_size)
    training = training.shuffle(len(images) - validation_size, seed=seed).batch(batch_size).repeat(epochs)
    return validation, training
"""


def _split_cases():
    def case(label, num_examples, validation_size, batch_size, seed):
        images, labels = _numbered(num_examples)
        return Case(label, (images, labels, validation_size, batch_size, seed, 2))

    return [case("300 examples, 60 for validation, batches of 16, 2 epochs", 300, 60, 16, 0),
            case("400 examples, 100 for validation, batches of 32, 2 epochs", 400, 100, 32, 1)]


def _batches_of(dataset):
    import tensorflow as tf

    if not isinstance(dataset, tf.data.Dataset):
        raise AnswerError(f"expected a `tf.data.Dataset`, got {type(dataset).__name__}")
    spec = dataset.element_spec
    if not (isinstance(spec, tuple) and len(spec) == 2):
        raise AnswerError("expected elements `(images, labels)`: start from "
                          "`tf.data.Dataset.from_tensor_slices((images, labels))`")
    batches = []
    for images, labels in dataset.take(MAX_BATCHES):
        images, labels = np.asarray(images), np.asarray(labels)
        batched = images.ndim > 1 and images.shape[-1] == 1 and labels.ndim == 1
        if images.ndim == 1:
            images, labels = images[np.newaxis], labels[np.newaxis]
        batches.append({"numbers": images[:, 0].astype(int).tolist(), "labels": np.ravel(labels).tolist(),
                        "batched": batched})
    return batches


def _run_split(function, case_input):
    images, labels, validation_size, batch_size, seed, epochs = case_input
    result = function(*case_input)
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise AnswerError(f"expected a pair `(validation, training)` of datasets, got {type(result).__name__}")
    return {"validation": _batches_of(result[0]), "training": _batches_of(result[1]),
            "num_examples": len(images), "validation_size": validation_size, "batch_size": batch_size,
            "epochs": epochs}


def _split_problem(run):
    size, held_out, batch_size, epochs = run["num_examples"], run["validation_size"], run["batch_size"], run["epochs"]
    for name in ("validation", "training"):
        if any(label != n % 10 for batch in run[name] for n, label in zip(batch["numbers"], batch["labels"])):
            return f"in the {name} dataset some images came out with another example's label"
    validation = [n for batch in run["validation"] for n in batch["numbers"]]
    if validation != list(range(held_out)):
        return (f"expected validation to be examples 0..{held_out - 1} in order, once, got {len(validation)} "
                f"examples starting {validation[:6]}")
    sizes = [len(batch["numbers"]) for batch in run["validation"]]
    expected_sizes = [batch_size] * (held_out // batch_size) + ([held_out % batch_size] if held_out % batch_size else [])
    if sizes != expected_sizes:
        return f"expected validation batch sizes {expected_sizes}, got {sizes}"
    training = [n for batch in run["training"] for n in batch["numbers"]]
    leaked = sorted(set(training) & set(validation))
    if leaked:
        return f"{len(leaked)} validation examples (e.g. {leaked[:3]}) are in the training data too"
    remaining = size - held_out
    if len(training) != epochs * remaining:
        return f"expected {epochs} epochs of {remaining} training examples, got {len(training)} examples"
    per_epoch = [training[i * remaining:(i + 1) * remaining] for i in range(epochs)]
    for epoch in per_epoch:
        if sorted(epoch) != list(range(held_out, size)):
            return "a training epoch does not hold every training example exactly once"
    train_sizes = [len(batch["numbers"]) for batch in run["training"]]
    one_epoch = [batch_size] * (remaining // batch_size) + ([remaining % batch_size] if remaining % batch_size else [])
    if train_sizes != one_epoch * epochs:
        return f"expected training batch sizes {one_epoch} per epoch, got {train_sizes}"
    for epoch in per_epoch:
        problem = _shuffle_problem(epoch, list(range(held_out, size)))
        if problem:
            return f"training: {problem}"
    if all(epoch == per_epoch[0] for epoch in per_epoch):
        return "every training epoch comes in the same order: it should be reshuffled"
    return None


def _compare_splits(expected, got):
    del expected  # judged by properties: any correct shuffle passes
    return _split_problem(got)


def _split_says(text):
    return _all_runs(lambda run: text in (_split_problem(run) or ""))


def _any_split_says(text):
    return lambda outcomes: all(o.error is None for o in outcomes) and any(
        text in (_split_problem(o.value) or "") for o in outcomes)


def _validation_in_order(run):
    validation = [n for batch in run["validation"] for n in batch["numbers"]]
    return validation == sorted(validation)


def _validation_is_the_end(run):
    validation = [n for batch in run["validation"] for n in batch["numbers"]]
    return validation == list(range(run["num_examples"] - run["validation_size"], run["num_examples"]))


q2 = FunctionExercise(
    "nb01.q2", "split_pipelines", "a validation split with take and skip",
    prompt=(
        "Write `split_pipelines(images, labels, validation_size, batch_size, seed, epochs)` returning two "
        "datasets of `(images, labels)` batches: `validation`, the **first** `validation_size` examples in their "
        "order, batched, one pass; and `training`, **all the other** examples, shuffled with a buffer as large as "
        "them (`seed=seed`), batched, for `epochs` epochs, reshuffled every epoch, each epoch ending with its own "
        "short batch. No example may be in both. Use `Dataset.take` and `Dataset.skip` (section 4 shows them)."),
    skeleton='''\
def split_pipelines(images, labels, validation_size, batch_size, seed, epochs):
    """(validation: the first `validation_size` examples in order, batched once;
    training: the others, reshuffled every epoch, batched, `epochs` epochs)."""
    ...
''',
    solution=SPLIT_SOLUTION,
    hints=[
        "`take(n)` keeps the first n elements of a dataset, `skip(n)` everything after them: split the "
        "examples first.",
        "Shuffle only the training part, *after* `skip`: a shuffle before the split draws a new order on every "
        "pass, so `take` would pick different examples each time.",
        "Training: `.shuffle(...)`, `.batch(batch_size)`, `.repeat(epochs)`, in that order, as in section 4.",
    ],
    mistakes=[
        Mistake("validation_from_the_end",
                "the validation examples are the *first* `validation_size`: `take` them, and `skip` them for "
                "training.",
                SPLIT_SOLUTION.replace("examples.take(validation_size)", "examples.skip(len(images) - validation_size)")
                .replace("examples.skip(validation_size)", "examples.take(len(images) - validation_size)"),
                detect=_all_runs(_validation_is_the_end)),
        Mistake("shuffled_before_split",
                "validation and training overlap: you shuffled before `take`/`skip`, and the shuffle draws a new "
                "order on every pass, so the split is different each time. Split first, then shuffle the "
                "training part only.",
                SPLIT_SOLUTION.replace(
                    "examples = tf.data.Dataset.from_tensor_slices((images, labels))",
                    "examples = tf.data.Dataset.from_tensor_slices((images, labels)).shuffle(len(images), seed=seed)"),
                detect=lambda outcomes: any(o.error is None and (
                    "are in the training data too" in (_split_problem(o.value) or "")
                    or not _validation_in_order(o.value)) for o in outcomes)),
        Mistake("repeat_before_batch",
                "a training batch mixes the end of one epoch with the start of the next: call `.repeat(epochs)` "
                "after `.batch(...)`.",
                SPLIT_SOLUTION.replace(".batch(batch_size).repeat(epochs)", ".repeat(epochs).batch(batch_size)"),
                detect=_any_split_says("expected training batch sizes")),
        Mistake("same_order_every_epoch",
                "every training epoch comes in the same order: let the shuffle draw a new order on each repeat "
                "(`reshuffle_each_iteration=True`, the default).",
                SPLIT_SOLUTION.replace("seed=seed)", "seed=seed, reshuffle_each_iteration=False)"),
                detect=_split_says("same order")),
        Mistake("small_shuffle_buffer",
                "your shuffle buffer is too small: an example can only move about as many places as the buffer "
                "holds. Use a buffer as large as the training part.",
                SPLIT_SOLUTION.replace("shuffle(len(images) - validation_size, seed=seed)", "shuffle(8, seed=seed)"),
                detect=_split_says("too small")),
    ],
    cases=_split_cases, run=_run_split, compare=_compare_splits,
)

# ---------------------------------------------------------------- q3: batches per epoch

q3 = ValueExercise(
    "nb01.q3", "batches_per_epoch", "batches in one epoch",
    prompt=(
        "The training split has 55,000 examples. With `dataset.batch(128)` (the last batch kept), how many "
        "batches make one epoch? Set `batches_per_epoch` to the number (an integer: compute it or type it)."),
    skeleton="batches_per_epoch = ...\n",
    solution="batches_per_epoch = -(-55000 // 128)  # ceiling division: the shorter last batch counts too\n",
    hints=["55,000 / 128 is not a whole number: what happens to the examples left over?",
           "429 full batches hold 54,912 examples; the examples left over make one more, shorter batch."],
    mistakes=[
        Mistake("dropped_partial_batch",
                "429 counts only the full batches; the examples left over make one more, shorter batch "
                "(unless `drop_remainder=True`).",
                "batches_per_epoch = 55000 // 128\n", detect=answered(429)),
        Mistake("not_an_integer",
                "a number of batches is a whole number: 55,000 / 128 = 429.7 means 429 full batches plus one "
                "partial batch.",
                "batches_per_epoch = 55000 / 128\n",
                detect=lambda o: np.isclose(float(np.asarray(o[0].value)), 55000 / 128)),
    ],
    expected=lambda: 430,
    explain=lambda value: f"{value} batches: 429 full ones and a shorter last one.",
)

# ---------------------------------------------------------------- q4: the last partial batch


def _last_batch_size():
    import tensorflow as tf

    last = next(iter(tf.data.Dataset.range(55000).batch(128).skip(429)))
    return int(last.shape[0])


q4 = ValueExercise(
    "nb01.q4", "last_batch_size", "the last, partial batch",
    prompt=(
        "Same split, same `dataset.batch(128)`: how many examples does the **last** batch of an epoch hold? "
        "Set `last_batch_size` to the number. The check runs the pipeline to see."),
    skeleton="last_batch_size = ...\n",
    solution="last_batch_size = 55000 % 128  # what is left after 429 full batches\n",
    hints=["The full batches take 429 x 128 = 54,912 examples.",
           "The remainder of a division: `55000 % 128`."],
    mistakes=[
        Mistake("assumed_full",
                "the last batch is not full: 55,000 is not a multiple of 128, so it holds the remainder, "
                "`55000 % 128`.",
                "last_batch_size = 128\n", detect=answered(128)),
        Mistake("assumed_nothing_left",
                "something is left over: 429 full batches hold 54,912 examples, not 55,000.",
                "last_batch_size = 0\n", detect=answered(0)),
        Mistake("counted_batches",
                "430 is the number of batches; the question asks how many examples the last one holds.",
                "last_batch_size = 430\n", detect=answered(430)),
    ],
    expected=_last_batch_size,
    explain=lambda value: f"running it, the last batch holds {value} examples.",
)

# ---------------------------------------------------------------- q5: predict the batch sizes


def _predicted_sizes():
    import tensorflow as tf

    return [int(batch.shape[0]) for batch in tf.data.Dataset.range(10).batch(4).repeat(2)]


q5 = ValueExercise(
    "nb01.q5", "predicted_sizes", "predict the batch sizes",
    prompt=(
        "Predict, then let the check run it: what are the sizes of the batches of "
        "`tf.data.Dataset.range(10).batch(4).repeat(2)`, in order? Set `predicted_sizes` to a list of "
        "integers."),
    skeleton="predicted_sizes = ...\n",
    solution="predicted_sizes = [4, 4, 2, 4, 4, 2]  # batch first: each epoch ends with its own short batch\n",
    hints=["`repeat` comes after `batch`: it replays the batched dataset.",
           "One pass of `range(10).batch(4)` gives batches of 4, 4 and 2."],
    mistakes=[
        Mistake("repeat_then_batch_order",
                "that is what `range(10).repeat(2).batch(4)` gives; here `batch` comes first, so each of the two "
                "passes ends with its own batch of 2.",
                "predicted_sizes = [4, 4, 4, 4, 4]\n", detect=answered([4, 4, 4, 4, 4])),
        Mistake("one_pass_only",
                "`repeat(2)` replays the batches twice: the list is twice as long.",
                "predicted_sizes = [4, 4, 2]\n", detect=answered([4, 4, 2])),
    ],
    expected=_predicted_sizes,
    explain=lambda sizes: f"running it gives {sizes}.",
)

EXERCISES = [q1, q2, q3, q4, q5]

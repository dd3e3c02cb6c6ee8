"""Exercises of notebook 01 (the input pipeline): tf.data chains, epochs, batch counts.

    from tfcourse.exercises import nb01 as ex

The pipeline checks feed "images" whose single pixel is the example's number (0..N-1) and labels
`number % 10`, so every batch tells which examples it holds and whether images and labels still
belong together; they judge properties (every example once per epoch, shuffled, batch sizes),
not one particular shuffled order.
"""

import numpy as np

from tfcourse.exercises.core import (
    AnswerError,
    Case,
    FunctionExercise,
    Mistake,
    ValueExercise,
    answered,
    compare_values,
)


def _pipeline_cases():
    def case(label, num_examples, batch_size, seed):
        images = np.arange(num_examples, dtype=np.float32).reshape(num_examples, 1)
        labels = (np.arange(num_examples) % 10).astype(np.int32)
        return Case(label, (images, labels, batch_size, seed))

    return [case("12 examples in batches of 4", 12, 4, 0),
            case("10 examples in batches of 4 (a last partial batch of 2)", 10, 4, 1),
            case("5 examples in batches of 1", 5, 1, 2)]


MAX_BATCHES = 200  # a dataset that never ends is read this far


def _batches(function, case_input, max_batches=MAX_BATCHES):
    """Runs function(images, labels, batch_size, seed) -> list of (example numbers, labels) per batch."""
    import tensorflow as tf

    dataset = function(*case_input)
    if not isinstance(dataset, tf.data.Dataset):
        raise AnswerError(f"expected a `tf.data.Dataset`, got {type(dataset).__name__}: return the dataset "
                          "you built")
    spec = dataset.element_spec
    if not (isinstance(spec, tuple) and len(spec) == 2):
        raise AnswerError("expected elements `(images, labels)`: start from "
                          "`tf.data.Dataset.from_tensor_slices((images, labels))`")
    batches = []
    for images, labels in dataset.take(max_batches):
        images, labels = np.asarray(images), np.asarray(labels)
        if images.ndim == 1:  # no batch dimension: one example per element
            images, labels = images[np.newaxis], labels[np.newaxis]
            batched = False
        else:
            batched = True
        batches.append({"numbers": images[:, 0].astype(int).tolist(), "labels": labels.tolist(),
                        "batched": batched})
    return {"batches": batches, "num_examples": len(case_input[0]), "batch_size": case_input[2]}


def _epochs(run):
    """The example numbers of `run`, cut into epochs of num_examples."""
    numbers = [n for batch in run["batches"] for n in batch["numbers"]]
    size = run["num_examples"]
    return [numbers[i:i + size] for i in range(0, len(numbers), size)]


def _pipeline_problem(run, epochs):
    """What is wrong with a pipeline run that should give `epochs` shuffled epochs, or None."""
    size, batch_size = run["num_examples"], run["batch_size"]
    if not all(batch["batched"] for batch in run["batches"]):
        return "the elements are single examples, not batches"
    pairs = [(n, label) for batch in run["batches"] for n, label in zip(batch["numbers"], batch["labels"])]
    if any(label != n % 10 for n, label in pairs):
        return "some images came out with another example's label"
    numbers = [n for n, _ in pairs]
    if len(numbers) != epochs * size:
        return f"expected {epochs * size} examples ({epochs} epoch(s) of {size}), got {len(numbers)}"
    for epoch in _epochs(run):
        if sorted(epoch) != list(range(size)):
            return "an epoch does not hold every example exactly once"
    expected_sizes = ([batch_size] * (size // batch_size) + ([size % batch_size] if size % batch_size else [])) * epochs
    sizes = [len(batch["numbers"]) for batch in run["batches"]]
    if sizes != expected_sizes:
        return f"expected batch sizes {expected_sizes}, got {sizes}"
    if size > 4 and any(epoch == sorted(epoch) for epoch in _epochs(run)):
        return "the examples come out in their original order: they were not shuffled"
    if batch_size > 1 and _blocks_shuffled(run):
        return "each batch holds neighbouring examples in order: only whole batches were shuffled"
    epoch_orders = _epochs(run)
    if size > 4 and len(epoch_orders) > 1 and all(order == epoch_orders[0] for order in epoch_orders):
        return "every epoch comes in the same order: it should be reshuffled"
    return None


def _compare_pipelines(epochs):
    def compare(expected, got):
        del expected  # judged by properties: any correct shuffle passes
        return _pipeline_problem(got, epochs)
    return compare


def _all_runs(predicate):
    def detect(outcomes):
        return all(o.error is None for o in outcomes) and all(predicate(o.value) for o in outcomes)
    return detect


def _blocks_shuffled(run):
    """True if every batch holds consecutive examples, as when whole batches were shuffled."""
    if run["batch_size"] == 1:
        return True  # with batches of 1 the mistake cannot show: do not count against it
    return all(all(b - a == 1 for a, b in zip(sorted(batch["numbers"]), sorted(batch["numbers"])[1:]))
               and batch["numbers"] == sorted(batch["numbers"])
               for batch in run["batches"])


def _shuffled_after_batching(outcomes):
    runs = [o.value for o in outcomes if o.error is None]
    return len(runs) == len(outcomes) and all(_blocks_shuffled(run) and not _not_batched(run) for run in runs) \
        and any(run["batch_size"] > 1 and any(epoch != sorted(epoch) for epoch in _epochs(run)) for run in runs)


def _not_batched(run):
    return not any(batch["batched"] for batch in run["batches"])


def _in_order(run):
    return all(epoch == sorted(epoch) for epoch in _epochs(run))


def _last_batch_dropped(run):
    size, batch_size = run["num_examples"], run["batch_size"]
    numbers = [n for batch in run["batches"] for n in batch["numbers"]]
    return all(len(batch["numbers"]) == batch_size for batch in run["batches"]) \
        and len(numbers) == (size // batch_size) * batch_size


def _pairs_broken(run):
    return any(label != n % 10 for batch in run["batches"] for n, label in zip(batch["numbers"], batch["labels"]))


# ---------------------------------------------------------------- q1: shuffle, then batch

PIPELINE_SOLUTION = '''\
def shuffled_batches(images, labels, batch_size, seed):
    """One epoch of (images [B, ...], labels [B]) batches in a shuffled order; the last batch may be short."""
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    dataset = dataset.shuffle(len(images), seed=seed)
    return dataset.batch(batch_size)
'''

q1 = FunctionExercise(
    "nb01.q1", "shuffled_batches", "shuffle, then batch",
    prompt=(
        "Write `shuffled_batches(images, labels, batch_size, seed)`: a `tf.data` pipeline giving **one epoch** of "
        "`(images, labels)` batches in a shuffled order. Start from `tf.data.Dataset.from_tensor_slices`, shuffle "
        "the examples (a buffer of the whole split, `seed=seed`), then batch them, keeping the last, shorter "
        "batch. The check feeds small splits whose images carry their example number."),
    skeleton='''\
def shuffled_batches(images, labels, batch_size, seed):
    """One epoch of (images [B, ...], labels [B]) batches in a shuffled order; the last batch may be short."""
    ...
''',
    solution=PIPELINE_SOLUTION,
    hints=[
        "The chain is: slice into examples, shuffle the examples, group them into batches.",
        "`tf.data.Dataset.from_tensor_slices((images, labels))` keeps each image with its label; "
        "`.shuffle(len(images), seed=seed)` shuffles with a buffer of the whole split.",
        "The order matters: `.shuffle(...)` first, then `.batch(batch_size)`. Shuffling after batching "
        "only reorders whole batches.",
    ],
    mistakes=[
        Mistake("missing_batch",
                "your dataset yields single examples, not batches: end the chain with `.batch(batch_size)`.",
                PIPELINE_SOLUTION.replace("return dataset.batch(batch_size)", "return dataset"),
                detect=_all_runs(_not_batched)),
        Mistake("shuffle_after_batch",
                "you shuffled after batching: that shuffles whole batches, so each batch still holds neighbouring "
                "examples (every epoch the same groups). Call `.shuffle(...)` before `.batch(...)`.",
                PIPELINE_SOLUTION.replace(
                    "dataset = dataset.shuffle(len(images), seed=seed)\n    return dataset.batch(batch_size)",
                    "dataset = dataset.batch(batch_size)\n    return dataset.shuffle(len(images), seed=seed)"),
                detect=_shuffled_after_batching),
        Mistake("no_shuffle",
                "the examples come out in their original order: add `.shuffle(len(images), seed=seed)` before "
                "`.batch(...)`.",
                PIPELINE_SOLUTION.replace("    dataset = dataset.shuffle(len(images), seed=seed)\n", ""),
                detect=_all_runs(_in_order)),
        Mistake("dropped_last_batch",
                "the last, shorter batch is missing: `drop_remainder=True` drops it, and those examples are "
                "never seen. Keep the default `drop_remainder=False` here.",
                PIPELINE_SOLUTION.replace("dataset.batch(batch_size)", "dataset.batch(batch_size, drop_remainder=True)"),
                detect=lambda outcomes: _all_runs(_last_batch_dropped)(outcomes)
                and any(o.value["num_examples"] % o.value["batch_size"] for o in outcomes)),
        Mistake("repeats_forever",
                "your dataset never ends: `.repeat()` without a count repeats forever. Here one pass is one "
                "epoch, so leave `.repeat` out (the next exercise is about epochs).",
                PIPELINE_SOLUTION.replace("dataset.batch(batch_size)", "dataset.batch(batch_size).repeat()"),
                detect=_all_runs(lambda run: len(run["batches"]) == MAX_BATCHES)),
        Mistake("images_and_labels_shuffled_apart",
                "images and labels no longer match: you shuffled them separately. Slice them together, "
                "`from_tensor_slices((images, labels))`, and shuffle that one dataset.",
                PIPELINE_SOLUTION.replace(
                    "dataset = tf.data.Dataset.from_tensor_slices((images, labels))",
                    "dataset = tf.data.Dataset.zip((\n"
                    "        tf.data.Dataset.from_tensor_slices(images).shuffle(len(images), seed=seed),\n"
                    "        tf.data.Dataset.from_tensor_slices(labels).shuffle(len(images), seed=seed + 1)))"),
                detect=_all_runs(_pairs_broken)),
    ],
    cases=_pipeline_cases, run=_batches, compare=_compare_pipelines(epochs=1),
)

# ---------------------------------------------------------------- q2: epochs with repeat

EPOCHS_SOLUTION = '''\
def shuffled_epochs(images, labels, batch_size, seed, epochs):
    """`epochs` epochs of batches, reshuffled every epoch; no batch mixes two epochs."""
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).repeat(epochs)
'''


def _epoch_cases():
    return [Case(case.label + ", 2 epochs", case.input + (2,)) for case in _pipeline_cases()]


def _straddles_epochs(run):
    """True if some batch holds examples of two epochs (repeat before batch)."""
    size, seen = run["num_examples"], 0
    for batch in run["batches"]:
        start, seen = seen, seen + len(batch["numbers"])
        if start // size != (seen - 1) // size:
            return True
    return False


def _epochs_mixed(run):
    epochs = _epochs(run)
    return any(sorted(epoch) != list(range(run["num_examples"])) for epoch in epochs)


def _same_order_every_epoch(run):
    epochs = _epochs(run)
    return len(epochs) > 1 and all(epoch == epochs[0] for epoch in epochs) and epochs[0] != sorted(epochs[0])


q2 = FunctionExercise(
    "nb01.q2", "shuffled_epochs", "several epochs with repeat",
    prompt=(
        "Write `shuffled_epochs(images, labels, batch_size, seed, epochs)`: like `shuffled_batches`, but for "
        "`epochs` epochs, **reshuffled every epoch**, and with no batch mixing the end of one epoch and the start "
        "of the next (so each epoch ends with its own short batch, as `next_batch` counts epochs). Where does "
        "`.repeat(epochs)` go in the chain?"),
    skeleton='''\
def shuffled_epochs(images, labels, batch_size, seed, epochs):
    """`epochs` epochs of batches, reshuffled every epoch; no batch mixes two epochs."""
    ...
''',
    solution=EPOCHS_SOLUTION,
    hints=[
        "Each `repeat` iteration replays everything before it in the chain, the shuffle included.",
        "Put `.repeat(epochs)` after `.batch(...)`: then every epoch is batched on its own.",
        "`shuffle(..., reshuffle_each_iteration=True)` (the default) draws a new order each time the "
        "repeat replays it.",
    ],
    mistakes=[
        Mistake("repeat_before_shuffle",
                "the epochs are mixed: repeating before shuffling lets an example come twice before another "
                "came once. Shuffle first, then batch, then `.repeat(epochs)`.",
                EPOCHS_SOLUTION.replace(
                    "dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)\n"
                    "    return dataset.batch(batch_size).repeat(epochs)",
                    "dataset = dataset.repeat(epochs).shuffle(len(images), seed=seed)\n"
                    "    return dataset.batch(batch_size)"),
                detect=lambda outcomes: _all_runs(lambda run: True)(outcomes)
                and any(_epochs_mixed(o.value) for o in outcomes)),
        Mistake("repeat_before_batch",
                "a batch mixes the end of one epoch with the start of the next: you repeated before batching. "
                "Call `.repeat(epochs)` after `.batch(...)`.",
                EPOCHS_SOLUTION.replace("return dataset.batch(batch_size).repeat(epochs)",
                                        "return dataset.repeat(epochs).batch(batch_size)"),
                detect=lambda outcomes: _all_runs(lambda run: True)(outcomes)
                and any(_straddles_epochs(o.value) for o in outcomes)),
        Mistake("shuffle_after_batch",
                "you shuffled after batching: whole batches are reordered, but each still holds neighbouring "
                "examples. Shuffle the examples, then batch, then repeat.",
                EPOCHS_SOLUTION.replace(
                    "dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)\n"
                    "    return dataset.batch(batch_size).repeat(epochs)",
                    "dataset = dataset.batch(batch_size).shuffle(len(images), seed=seed)\n"
                    "    return dataset.repeat(epochs)"),
                detect=_shuffled_after_batching),
        Mistake("same_order_every_epoch",
                "every epoch comes in the same order: `reshuffle_each_iteration=False` (or shuffling once in "
                "numpy) fixes it. Let the shuffle draw a new order on each repeat.",
                EPOCHS_SOLUTION.replace("reshuffle_each_iteration=True", "reshuffle_each_iteration=False"),
                detect=_all_runs(lambda run: run["batch_size"] == 1 or _same_order_every_epoch(run))),
        Mistake("one_epoch_only",
                "only one epoch came out: add `.repeat(epochs)` at the end of the chain.",
                EPOCHS_SOLUTION.replace(".repeat(epochs)", ""),
                detect=_all_runs(lambda run: sum(len(b["numbers"]) for b in run["batches"]) == run["num_examples"])),
    ],
    cases=_epoch_cases, run=_batches, compare=_compare_pipelines(epochs=2),
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
                detect=lambda o: np.isclose(float(o[0].value), 55000 / 128)),
    ],
    expected=lambda: 430,
    compare=lambda expected, got: compare_values(expected, got, rtol=0, atol=0),
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
    compare=lambda expected, got: compare_values(expected, got, rtol=0, atol=0),
    explain=lambda value: f"running it, the last batch holds {value} examples.",
)

# ---------------------------------------------------------------- q5: predict the batch sizes


def _predicted_sizes():
    import tensorflow as tf

    return [int(batch.shape[0]) for batch in tf.data.Dataset.range(10).batch(4).repeat(2)]


def _compare_sizes(expected, got):
    if not isinstance(got, (list, tuple)):
        raise AnswerError(f"expected a list of batch sizes like `[4, 4]`, got {type(got).__name__}")
    return None if list(got) == list(expected) else f"running it gives {list(expected)}, you predicted {list(got)}"


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
                "predicted_sizes = [4, 4, 4, 4, 4]\n", detect=lambda o: list(o[0].value) == [4, 4, 4, 4, 4]),
        Mistake("one_pass_only",
                "`repeat(2)` replays the batches twice: the list is twice as long.",
                "predicted_sizes = [4, 4, 2]\n", detect=lambda o: list(o[0].value) == [4, 4, 2]),
    ],
    expected=_predicted_sizes, compare=_compare_sizes,
    explain=lambda sizes: f"running it gives {sizes}.",
)

EXERCISES = [q1, q2, q3, q4, q5]

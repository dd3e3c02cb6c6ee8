"""Exercises of notebook 06 (TensorBoard): writing summaries and reading them back.

    from tfcourse.exercises import nb06 as ex

Every check runs the answer in a temporary directory it removes, then reads what the answer
left on disk with TensorBoard's own `EventAccumulator`, as TensorBoard would: an answer is
right when the event files are, not only when it returns the right numbers.
"""

import gc
import os
import tempfile

import numpy as np

from tfcourse.exercises.core import (
    AnswerError,
    Case,
    FunctionExercise,
    Mistake,
    ValueExercise,
    answered,
    as_count,
    as_sequence,
)


def _accumulator(log_dir):
    """TensorBoard's reader over `log_dir` (its own files, not its sub-folders), every event kept.

    purge_orphaned_data=False: count what is on disk, even events whose steps go backwards
    (which TensorBoard would take for a restarted run and drop)."""
    from tensorboard.backend.event_processing import event_accumulator

    accumulator = event_accumulator.EventAccumulator(
        log_dir, size_guidance={event_accumulator.TENSORS: 0, event_accumulator.SCALARS: 0},
        purge_orphaned_data=False)
    accumulator.Reload()
    return accumulator


def _tensor_events(log_dir, plugin):
    """{tag: [(step, numpy value), ...]} of the TF2 summaries of one plugin ("scalars", "histograms")."""
    import tensorflow as tf

    if not os.path.isdir(log_dir):
        return {}
    accumulator = _accumulator(log_dir)
    return {tag: [(int(event.step), tf.make_ndarray(event.tensor_proto)) for event in accumulator.Tensors(tag)]
            for tag in accumulator.Tags()["tensors"]
            if accumulator.SummaryMetadata(tag).plugin_data.plugin_name == plugin}


def _event_files(log_dir):
    import pathlib

    return len(list(pathlib.Path(log_dir).glob("events.out.tfevents.*")))


def _all_ran(outcomes):
    return all(o.error is None for o in outcomes)


def _short_pairs(pairs, limit=4):
    shown = ", ".join(f"({step}, {value:.4g})" for step, value in pairs[:limit])
    return f"[{shown}{', ...' if len(pairs) > limit else ''}]" + (f" ({len(pairs)} pairs)" if len(pairs) > limit else "")

# ---------------------------------------------------------------- q1: one folder per run, read back

RUNS_SOLUTION = '''\
import os

from tensorboard.backend.event_processing import event_accumulator


def log_runs(log_dir, runs):
    """Writes each run's losses as the scalar "loss" into its own folder log_dir/<run name>,
    then reads every folder back with TensorBoard's EventAccumulator.

    runs: {run name: (steps, losses)}. Returns {run name: [(step, loss), ...]} in step order.
    """
    for name, (steps, losses) in runs.items():
        run_writer = tf.summary.create_file_writer(os.path.join(log_dir, name))
        with run_writer.as_default():
            for step, loss in zip(steps, losses):
                tf.summary.scalar("loss", loss, step=step)
        run_writer.close()

    read_back = {}
    for name in runs:
        reader = event_accumulator.EventAccumulator(os.path.join(log_dir, name),
                                                    size_guidance={event_accumulator.TENSORS: 0})
        reader.Reload()
        loss_events = reader.Tensors("loss") if "loss" in reader.Tags()["tensors"] else []
        read_back[name] = [(event.step, float(tf.make_ndarray(event.tensor_proto))) for event in loss_events]
    return read_back
'''

RUNS_SKELETON = '''\
import os

from tensorboard.backend.event_processing import event_accumulator


def log_runs(log_dir, runs):
    """Writes each run's losses as the scalar "loss" into its own folder log_dir/<run name>,
    then reads every folder back with TensorBoard's EventAccumulator.

    runs: {run name: (steps, losses)}. Returns {run name: [(step, loss), ...]} in step order.
    """
    ...
'''


# Reading each folder inside its `with` block, before the flush that ends it.
RUNS_READ_EARLY = '''\
import os

from tensorboard.backend.event_processing import event_accumulator


def log_runs(log_dir, runs):
    read_back = {}
    for name, (steps, losses) in runs.items():
        folder = os.path.join(log_dir, name)
        run_writer = tf.summary.create_file_writer(folder)
        with run_writer.as_default():
            for step, loss in zip(steps, losses):
                tf.summary.scalar("loss", loss, step=step)
            reader = event_accumulator.EventAccumulator(folder, size_guidance={event_accumulator.TENSORS: 0})
            reader.Reload()
            loss_events = reader.Tensors("loss") if "loss" in reader.Tags()["tensors"] else []
            read_back[name] = [(event.step, float(tf.make_ndarray(event.tensor_proto))) for event in loss_events]
    return read_back
'''


def _runs_cases():
    def run(steps, losses):
        return list(steps), [float(loss) for loss in losses]

    return [
        Case("runs adam and sgd, 3 losses each at steps 10, 20, 30",
             {"adam": run([10, 20, 30], [2.3, 0.9, 0.4]), "sgd": run([10, 20, 30], [2.3, 2.0, 1.8])}),
        Case("one run of 12 losses at steps 5, 10, ..., 60 (more than 10)",
             {"long": run(range(5, 61, 5), np.linspace(2.3, 0.2, 12))}),
        Case("a run with 2 losses at steps 0 and 7, and a run with none yet",
             {"lr0.1": run([0, 7], [2.302585, 1.5]), "idle": run([], [])}),
        Case("3 runs at different steps (100, 200 / 1 / 3, 4, 5, 6)",
             {"a": run([100, 200], [1.0, 0.5]), "b": run([1], [0.25]), "c": run([3, 4, 5, 6], [4.0, 3.0, 2.0, 1.0])}),
    ]


def _losses_on_disk(folder):
    return [(step, float(value)) for step, value in _tensor_events(folder, "scalars").get("loss", [])]


def _returned_runs(returned, names):
    """The student's {run: [(step, loss), ...]} as plain (int, float) pairs; AnswerError for another kind."""
    if returned is None:
        raise AnswerError("got None: did you forget to `return` the dict {run name: [(step, loss), ...]}?")
    if not isinstance(returned, dict):
        raise AnswerError(f"expected a dict {{run name: [(step, loss), ...]}}, got {type(returned).__name__}")
    pairs = {}
    for name in names:
        if name not in returned:
            raise AnswerError(f"the returned dict has no run {name!r} (it has {sorted(returned)[:5]})")
        items = returned[name]
        if isinstance(items, (str, bytes)) or not hasattr(items, "__iter__"):
            raise AnswerError(f"run {name!r}: expected a list of (step, loss) pairs, got {type(items).__name__}")
        pairs[name] = []
        for item in items:
            try:
                step, value = item
                pairs[name].append((int(step), float(np.asarray(value))))
            except (TypeError, ValueError):
                raise AnswerError(f"run {name!r}: expected (step, loss) pairs of numbers, got {item!r:.60}") from None
    return pairs


def _run_runs(function, runs):
    """Runs the answer in a fresh folder -> {"returned": its pairs per run, "on_disk": what each run's
    folder holds, "in_log_dir": loss events written straight into log_dir (not into a run's folder)}."""
    with tempfile.TemporaryDirectory() as log_dir:
        returned = function(log_dir, runs)

        def read():
            return {name: _losses_on_disk(os.path.join(log_dir, name)) for name in runs}, _losses_on_disk(log_dir)

        on_disk, in_log_dir = read()
        if sum(map(len, on_disk.values())) + len(in_log_dir) < sum(len(losses) for _, losses in runs.values()):
            gc.collect()  # a writer the answer left open flushes when collected (slow: only when needed)
            on_disk, in_log_dir = read()
        other_tags = {name: sorted(set(_tensor_events(os.path.join(log_dir, name), "scalars")) - {"loss"})
                      for name in runs}
    return {"returned": _returned_runs(returned, runs), "on_disk": on_disk, "in_log_dir": in_log_dir,
            "other_tags": other_tags}


def _same_pairs(expected, got):
    return len(expected) == len(got) and all(
        s == t and np.isclose(v, w, rtol=1e-6, atol=1e-7) for (s, v), (t, w) in zip(expected, got))


def _compare_runs(expected, got):
    for name, pairs in expected["on_disk"].items():
        found = got["on_disk"][name]
        if not _same_pairs(pairs, found):
            others = got["other_tags"][name]
            found_text = _short_pairs(found) if found else "no `loss` events" + (
                f" (it holds the tags {others})" if others else "")
            return f"the event file in {name}/ should hold {_short_pairs(pairs)}, it holds {found_text}"
    for name, pairs in expected["returned"].items():
        if not _same_pairs(pairs, got["returned"][name]):
            return f"run {name!r}: the file is right, but you returned {_short_pairs(got['returned'][name])}, " \
                   f"expected {_short_pairs(pairs)}"
    return None


def _raised(error_type, text, only=None):
    """Every case (or those `only` selects) raised `error_type` mentioning `text`; the others ran."""
    def detect(outcomes):
        chosen = [only is None or only(case) for case in q1.cases()]
        return any(chosen) and all(
            (isinstance(o.error, error_type) and text in str(o.error)) if pick else o.error is None
            for o, pick in zip(outcomes, chosen))
    return detect


def _has_empty_run(case):
    return any(not losses for _, losses in case.input.values())


def _nothing_on_disk(outcome):
    return not outcome.value["in_log_dir"] and not any(outcome.value["on_disk"].values()) \
        and not any(outcome.value["other_tags"].values())


def _returned_right_but_nothing_written(outcomes):
    return _all_ran(outcomes) and all(
        _nothing_on_disk(o) and all(_same_pairs(e.value["returned"][name], o.value["returned"][name])
                                    for name in e.value["returned"])
        for o, e in zip(outcomes, q1._expected()))


def _nothing_written(outcomes):
    return _all_ran(outcomes) and all(map(_nothing_on_disk, outcomes))


def _all_in_log_dir(outcomes):
    return _all_ran(outcomes) and all(not any(o.value["on_disk"].values()) for o in outcomes) and all(
        len(o.value["in_log_dir"]) == sum(map(len, e.value["on_disk"].values()))
        for o, e in zip(outcomes, q1._expected()))


def _written_right(outcomes):
    return _all_ran(outcomes) and all(
        all(_same_pairs(pairs, o.value["on_disk"][name]) for name, pairs in e.value["on_disk"].items())
        for o, e in zip(outcomes, q1._expected()))


def _each_run(outcomes, predicate):
    """predicate(returned pairs, on-disk pairs) over every run of every case."""
    return [predicate(o.value["returned"][name], o.value["on_disk"][name])
            for o in outcomes for name in o.value["on_disk"]]


def _sampled(outcomes):
    """The files are right, but a run of more than 10 events came back as exactly 10 of them."""
    if not _written_right(outcomes):
        return False
    sampled = _each_run(outcomes, lambda got, disk: len(disk) > 10 and len(got) == 10 and set(got) <= set(disk))
    right = _each_run(outcomes, _same_pairs)
    return any(sampled) and all(s or r for s, r in zip(sampled, right))


def _read_too_early(outcomes):
    """The files are right, but fewer events came back than they hold (read before the flush)."""
    return _written_right(outcomes) and any(
        _each_run(outcomes, lambda got, disk: len(got) < len(disk) and len(got) != 10))


def _index_as_step(outcomes):
    def positions(pairs, case_run):
        steps, losses = case_run
        return [s for s, _ in pairs] == list(range(len(steps))) and np.allclose(
            [v for _, v in pairs], losses, rtol=1e-6)

    return _all_ran(outcomes) and any(any(o.value["on_disk"].values()) for o in outcomes) and all(
        positions(o.value["on_disk"][name], case.input[name]) for o, case in zip(outcomes, q1.cases())
        for name in case.input)


q1 = FunctionExercise(
    "nb06.q1", "log_runs", "one folder per run, read back",
    prompt=(
        "TensorBoard overlays runs because each run writes into its own folder under one log directory "
        "(section 2). Write `log_runs(log_dir, runs)`, where `runs` maps a run name to `(steps, losses)`: for "
        "each run, write its losses as scalar summaries tagged `\"loss\"`, each at its own step, into the folder "
        "`os.path.join(log_dir, run_name)`; then read every run's folder back with TensorBoard's "
        "`EventAccumulator` (section 1) and return `{run_name: [(step, loss), ...]}`. A run with no losses "
        "yet comes back as `[]`, and a run may hold more than 10 losses. The check reads the files you wrote, "
        "as TensorBoard would, and compares them and what you return with the runs it gave you."),
    skeleton=RUNS_SKELETON,
    solution=RUNS_SOLUTION,
    hints=[
        "Two loops: one writer per run (`tf.summary.create_file_writer(os.path.join(log_dir, name))`), and "
        "one reader per run folder afterwards, once every writer is closed.",
        "`tf.summary.scalar(\"loss\", loss, step=step)` only writes inside `with writer.as_default():`, and only "
        "reaches the file at the end of that block, on `writer.flush()` or on `writer.close()`. A run without "
        "losses has no `loss` tag: check `reader.Tags()[\"tensors\"]` before `reader.Tensors(\"loss\")`.",
        "Read with `EventAccumulator(folder, size_guidance={event_accumulator.TENSORS: 0})` (else it keeps a "
        "sample of 10), `Reload()`, then `(event.step, float(tf.make_ndarray(event.tensor_proto)))` for each "
        "event of `Tensors(\"loss\")`.",
    ],
    mistakes=[
        Mistake("returned_without_writing",
                "you return the right pairs, but no event file holds them: TensorBoard reads the files, not "
                "your return value. Write each run with a file writer, then read the files back.",
                "def log_runs(log_dir, runs):\n"
                "    return {name: list(zip(steps, losses)) for name, (steps, losses) in runs.items()}\n",
                detect=_returned_right_but_nothing_written),
        Mistake("summary_outside_as_default",
                "nothing was written: a summary outside `with writer.as_default():` has no writer to go to "
                "(`tf.summary.scalar` then just returns False). Call it inside the `with` block.",
                RUNS_SOLUTION.replace(
                    "        with run_writer.as_default():\n            for step, loss in zip(steps, losses):\n"
                    "                tf.summary.scalar",
                    "        for step, loss in zip(steps, losses):\n            tf.summary.scalar"),
                detect=_nothing_written),
        Mistake("all_runs_in_one_folder",
                "every loss went straight into `log_dir`, so TensorBoard sees one run with mixed-up curves: give "
                "each run its own folder, `os.path.join(log_dir, name)`.",
                RUNS_SOLUTION.replace("os.path.join(log_dir, name)", "log_dir"),
                detect=_all_in_log_dir),
        Mistake("missing_step",
                "`tf.summary.scalar` needs a step: pass `step=step` (or give the writer a default with "
                "`writer.as_default(step=...)`). The step is the x axis of TensorBoard's plot.",
                RUNS_SOLUTION.replace('tf.summary.scalar("loss", loss, step=step)', 'tf.summary.scalar("loss", loss)'),
                detect=_raised(ValueError, "No step set")),
        Mistake("read_scalars_not_tensors",
                "TF2's `tf.summary.scalar` stores a *tensor* summary, so the reader's `Scalars(\"loss\")` finds "
                "nothing: read `Tensors(\"loss\")` and turn each `event.tensor_proto` into a number with "
                "`tf.make_ndarray`.",
                RUNS_SOLUTION.replace(
                    'loss_events = reader.Tensors("loss") if "loss" in reader.Tags()["tensors"] else []\n'
                    '        read_back[name] = [(event.step, float(tf.make_ndarray(event.tensor_proto))) '
                    'for event in loss_events]',
                    'read_back[name] = [(event.step, event.value) for event in reader.Scalars("loss")]'),
                detect=_raised(KeyError, "not found")),
        Mistake("empty_run_not_handled",
                "a run with no losses has no `loss` tag, and `Tensors(\"loss\")` raises KeyError: return `[]` for "
                "it when `\"loss\"` is not in `reader.Tags()[\"tensors\"]`.",
                RUNS_SOLUTION.replace(
                    'reader.Tensors("loss") if "loss" in reader.Tags()["tensors"] else []', 'reader.Tensors("loss")'),
                detect=_raised(KeyError, "not found", only=_has_empty_run)),
        Mistake("only_a_sample_read",
                "the files hold every loss, but you read back only 10: `EventAccumulator` keeps a sample of 10 "
                "tensor events per tag unless told otherwise. Pass "
                "`size_guidance={event_accumulator.TENSORS: 0}` to keep them all.",
                RUNS_SOLUTION.replace(",\n                                                    "
                                      "size_guidance={event_accumulator.TENSORS: 0})", ")"),
                detect=_sampled),
        Mistake("read_before_flush",
                "the files hold every loss, but you read them before the writer flushed: summaries wait in a "
                "queue until `writer.flush()`, `writer.close()` or the end of the `with writer.as_default():` "
                "block. Read after the writers are done.",
                RUNS_READ_EARLY,
                detect=_read_too_early),
        Mistake("index_as_step",
                "the losses are right but their steps are not: write each loss at its own step from `steps` "
                "(`for step, loss in zip(steps, losses)`), not at its position in the list.",
                RUNS_SOLUTION.replace("for step, loss in zip(steps, losses):", "for step, loss in enumerate(losses):"),
                detect=_index_as_step),
    ],
    cases=_runs_cases, run=_run_runs, compare=_compare_runs,
)

# ---------------------------------------------------------------- q2: histograms of the gradients

GRADIENTS_SOLUTION = '''\
from tfcourse import mnist


def write_gradient_histograms(log_dir, model, images, labels, step):
    """One histogram per trainable variable of `model`: the gradient of the batch's mean loss
    (mnist.loss) with respect to that variable, tagged "gradients/<variable name>" (no ":0"),
    at `step`, into one event file in log_dir."""
    with tf.GradientTape() as tape:
        batch_loss = mnist.loss(model(images), labels)
    gradients = tape.gradient(batch_loss, model.trainable_variables)
    gradient_writer = tf.summary.create_file_writer(log_dir)
    with gradient_writer.as_default(step=step):
        for variable, gradient in zip(model.trainable_variables, gradients):
            tf.summary.histogram("gradients/" + variable.name.split(":")[0], gradient)
    gradient_writer.close()
'''

GRADIENTS_SKELETON = '''\
from tfcourse import mnist


def write_gradient_histograms(log_dir, model, images, labels, step):
    """One histogram per trainable variable of `model`: the gradient of the batch's mean loss
    (mnist.loss) with respect to that variable, tagged "gradients/<variable name>" (no ":0"),
    at `step`, into one event file in log_dir."""
    ...
'''


def _gradient_cases():
    return [Case("an MLP(16, 8), a batch of 20, step 3", (16, 8, 1, 20, 3)),
            Case("an MLP(6, 4), a batch of 1, step 0", (6, 4, 2, 1, 0))]


def _histogram_summary(histogram):
    """(count, min, max) of a TF2 histogram, a [buckets, 3] array of (left edge, right edge, count)."""
    if not histogram.size:
        return (0, 0.0, 0.0)
    return (int(np.rint(histogram[:, 2].sum())), float(histogram[0, 0]), float(histogram[-1, 1]))


def _run_gradients(function, case_input):
    """A fresh small MLP and batch; the answer writes -> {"histograms": {tag: [(step, count, min, max)]},
    "scalars": [tags], "files": number of event files, "weights": {tag: (count, min, max)} of the variables}."""
    import tensorflow as tf

    from tfcourse import mnist

    hidden1, hidden2, seed, batch, step = case_input
    rng = np.random.default_rng(seed)
    images = rng.uniform(size=[batch, mnist.IMAGE_PIXELS]).astype(np.float32)
    labels = rng.integers(0, mnist.NUM_CLASSES, batch).astype(np.int32)
    model = mnist.MLP(hidden1, hidden2, seed=seed)
    weights = {f"gradients/{v.name.split(':')[0]}": (int(v.shape.num_elements()), float(tf.reduce_min(v)),
                                                     float(tf.reduce_max(v))) for v in model.trainable_variables}
    with tempfile.TemporaryDirectory() as log_dir:
        returned = function(log_dir, model, images, labels, step)
        if returned is not None and not isinstance(returned, tf.summary.SummaryWriter):
            raise AnswerError(f"expected `write_gradient_histograms` to write into log_dir and return nothing, "
                              f"got {type(returned).__name__}")
        if not _tensor_events(log_dir, "histograms"):
            gc.collect()  # a writer the answer left open flushes when collected (slow: only when needed)
        histograms = {tag: [(s, *_histogram_summary(h)) for s, h in events]
                      for tag, events in _tensor_events(log_dir, "histograms").items()}
        return {"histograms": histograms, "scalars": sorted(_tensor_events(log_dir, "scalars")),
                "files": _event_files(log_dir), "weights": weights, "batch": batch}


def _compare_gradients(expected, got):
    want, have = expected["histograms"], got["histograms"]
    if got["files"] > 1:
        return f"expected one event file, found {got['files']}"
    if sorted(have) != sorted(want):
        return f"expected histogram tags {sorted(want)}, got {sorted(have)}"
    for tag, events in want.items():
        if len(have[tag]) != len(events):
            return f"`{tag}`: expected {len(events)} histogram(s), got {len(have[tag])}"
        for (step, count, low, high), (s, c, lo, hi) in zip(events, have[tag]):
            if s != step:
                return f"`{tag}`: expected step {step}, got {s}"
            if c != count or not np.allclose([lo, hi], [low, high], rtol=1e-4, atol=1e-7):
                return (f"`{tag}`: expected {count} values in [{low:.4g}, {high:.4g}], "
                        f"got {c} in [{lo:.4g}, {hi:.4g}]")
    return None


def _gradient_runs(predicate):
    def detect(outcomes):
        return _all_ran(outcomes) and all(predicate(o.value, e.value) for o, e in zip(outcomes, q2._expected()))
    return detect


def _histograms_of_weights(got, want):
    return sorted(got["histograms"]) == sorted(want["histograms"]) and all(
        len(events) == 1 and events[0][1] == got["weights"][tag][0]
        and np.allclose(events[0][2:], got["weights"][tag][1:], rtol=1e-4, atol=1e-7)
        for tag, events in got["histograms"].items())


def _histograms_scaled(factor_of):
    """The tags are right and every gradient is the reference's times `factor_of(case value)`."""
    def predicate(got, want):
        factor = factor_of(want)
        return sorted(got["histograms"]) == sorted(want["histograms"]) and all(
            np.allclose(np.asarray(got["histograms"][tag][0][2:]), factor * np.asarray(events[0][2:]),
                        rtol=1e-3, atol=1e-7)
            for tag, events in want["histograms"].items())
    return predicate


q2 = FunctionExercise(
    "nb06.q2", "write_gradient_histograms", "histograms of the gradients",
    prompt=(
        "The trainer records histograms of the *weights*; when training stalls you want those of the "
        "*gradients*. Write `write_gradient_histograms(log_dir, model, images, labels, step)`: compute the "
        "gradients of the batch's mean loss `mnist.loss(model(images), labels)` with respect to every variable "
        "in `model.trainable_variables` (a `tf.GradientTape`, as in notebook 03's step; do not change the "
        "weights), and write each gradient as a histogram summary at `step`, tagged `gradients/<name>` where "
        "`<name>` is its variable's name without TensorFlow's `:0` suffix (so `gradients/hidden1/weights`), all "
        "into **one** event file in `log_dir`. Close the writer before returning. `model` is an `mnist.MLP`, "
        "`images` float32 `[batch, 784]`, `labels` int32 `[batch]`."),
    skeleton=GRADIENTS_SKELETON,
    solution=GRADIENTS_SOLUTION,
    hints=[
        "First the gradients: `with tf.GradientTape() as tape:` around the loss, then "
        "`tape.gradient(batch_loss, model.trainable_variables)`, one gradient per variable, in the same order.",
        "Then one writer, created once; inside `with writer.as_default(step=step):` one "
        "`tf.summary.histogram(tag, gradient)` per (variable, gradient) pair: `zip` them.",
        "`variable.name` is e.g. `\"hidden1/weights:0\"`: the tag is `\"gradients/\" + variable.name.split(\":\")[0]`.",
    ],
    mistakes=[
        Mistake("weights_not_gradients",
                "your histograms hold the variables' values, the weights: write the *gradients* from "
                "`tape.gradient(batch_loss, model.trainable_variables)`, each under its variable's tag.",
                GRADIENTS_SOLUTION.replace("tf.summary.histogram(\"gradients/\" + variable.name.split(\":\")[0], "
                                           "gradient)",
                                           "tf.summary.histogram(\"gradients/\" + variable.name.split(\":\")[0], "
                                           "variable)"),
                detect=_gradient_runs(_histograms_of_weights)),
        Mistake("gradient_of_summed_loss",
                "your gradients are the batch size times too large: they are the gradients of the *summed* loss. "
                "`mnist.loss` averages over the batch (`tf.reduce_mean`), as the training step does.",
                GRADIENTS_SOLUTION.replace("batch_loss = mnist.loss(model(images), labels)",
                                           "batch_loss = mnist.loss(model(images), labels) * len(labels)"),
                detect=_gradient_runs(lambda got, want: _histograms_scaled(lambda _: got["batch"])(got, want))),
        Mistake("scalar_instead_of_histogram",
                "`tf.summary.scalar` takes a single number and a gradient matrix is many: use "
                "`tf.summary.histogram(tag, gradient)`, which records how the values are spread.",
                GRADIENTS_SOLUTION.replace("tf.summary.histogram(", "tf.summary.scalar("),
                detect=lambda outcomes: all(isinstance(o.error, ValueError) and "scalar shape" in str(o.error)
                                            for o in outcomes)),
        Mistake("histogram_outside_as_default",
                "nothing was written: summaries outside `with writer.as_default(step=step):` have no writer to "
                "go to. Put the loop inside the `with` block.",
                GRADIENTS_SOLUTION.replace(
                    "    with gradient_writer.as_default(step=step):\n"
                    "        for variable, gradient in zip(model.trainable_variables, gradients):\n"
                    "            tf.summary.histogram(\"gradients/\" + variable.name.split(\":\")[0], gradient)\n",
                    "    for variable, gradient in zip(model.trainable_variables, gradients):\n"
                    "        tf.summary.histogram(\"gradients/\" + variable.name.split(\":\")[0], gradient, step=step)\n"),
                detect=_gradient_runs(lambda got, want: not got["histograms"] and not got["scalars"])),
        Mistake("writer_per_variable",
                "the histograms are right but spread over several event files: every `create_file_writer` "
                "opens a new one. Create the writer once, before the loop.",
                GRADIENTS_SOLUTION.replace(
                    "    gradient_writer = tf.summary.create_file_writer(log_dir)\n"
                    "    with gradient_writer.as_default(step=step):\n"
                    "        for variable, gradient in zip(model.trainable_variables, gradients):\n",
                    "    for variable, gradient in zip(model.trainable_variables, gradients):\n"
                    "        gradient_writer = tf.summary.create_file_writer(log_dir)\n"
                    "        with gradient_writer.as_default(step=step):\n").replace(
                    "    gradient_writer.close()\n", "        gradient_writer.close()\n"),
                detect=_gradient_runs(lambda got, want: got["files"] > 1
                                      and _compare_gradients(want, dict(got, files=1)) is None)),
        Mistake("one_tag_for_every_variable",
                "every histogram went under one tag, so TensorBoard shows one plot of mixed-up gradients: give "
                "each variable its own tag, `\"gradients/\" + variable.name.split(\":\")[0]`.",
                GRADIENTS_SOLUTION.replace("\"gradients/\" + variable.name.split(\":\")[0]", '"gradients"'),
                detect=_gradient_runs(lambda got, want: len(got["histograms"]) == 1 and len(want["histograms"]) > 1)),
        Mistake("tag_keeps_colon_zero",
                "your tags end in `:0`: that suffix is TensorFlow's output index, not part of the variable's name. "
                "Drop it with `variable.name.split(\":\")[0]`, as the trainer does.",
                GRADIENTS_SOLUTION.replace("variable.name.split(\":\")[0]", "variable.name"),
                detect=_gradient_runs(lambda got, want: sorted(got["histograms"])
                                      == sorted(tag + ":0" for tag in want["histograms"]))),
    ],
    cases=_gradient_cases, run=_run_gradients, compare=_compare_gradients,
)

# ---------------------------------------------------------------- q3: how many scalar events?

LOOP_SOURCE = '''\
writer = tf.summary.create_file_writer(log_dir)
with writer.as_default():
    for step in range(100):
        if step % 10 == 0:
            tf.summary.scalar("loss", 1.0 / (step + 1), step=step)
        if step % 40 == 0:
            tf.summary.scalar("accuracy/validation", step / 100, step=step)
        if step % 50 == 0:
            tf.summary.histogram("weights/hidden1/weights", tf.random.normal([4, 3]), step=step)
writer.close()
'''


def _run_snippet(source):
    """Runs `source` with `log_dir` a fresh directory -> {plugin: {tag: number of events}}."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as log_dir:
        exec(compile(source, "<nb06 loop>", "exec"), {"tf": tf, "log_dir": log_dir})  # noqa: S102 - our snippet
        return {plugin: {tag: len(events) for tag, events in _tensor_events(log_dir, plugin).items()}
                for plugin in ("scalars", "histograms")}


def _scalar_events():
    return sum(_run_snippet(LOOP_SOURCE)["scalars"].values())


def _compare_count(expected, got):
    count = as_count(got, "the number of scalar events, a whole number like 7")
    return None if count == expected else f"running the loop, the reader counts {expected} scalar events, " \
                                          f"you answered {count}"


q3 = ValueExercise(
    "nb06.q3", "scalar_events", "how many scalar events?",
    prompt=(
        "This loop writes summaries the way a training loop does:\n\n```python\n" + LOOP_SOURCE + "```\n\n"
        "How many **scalar** events does the event file hold when it is done (all tags together)? Set "
        "`scalar_events` to the number. The check runs the loop and counts them with TensorBoard's reader."),
    skeleton="scalar_events = ...\n",
    solution="scalar_events = 10 + 3  # loss at 0, 10, ..., 90; accuracy at 0, 40, 80; histograms are not scalars\n",
    hints=["Count each tag on its own: which values of `step` in `range(100)` pass each `if`?",
           "`range(100)` starts at 0, and `0 % 10 == 0`. Histograms are events too, but not scalar ones.",
           "loss: 0, 10, ..., 90; accuracy/validation: 0, 40, 80."],
    mistakes=[
        Mistake("forgot_step_zero",
                "step 0 counts too: `range(100)` starts at 0 and `0 % 10 == 0`, so each tag is written at step 0.",
                "scalar_events = 9 + 2\n", detect=answered(11)),
        Mistake("one_tag_only",
                "count every tag: at a step where both `loss` and `accuracy/validation` are written, the file "
                "holds two events.",
                "scalar_events = 10\n", detect=answered(10, 3)),
        Mistake("counted_histograms",
                "`tf.summary.histogram` writes a histogram event, not a scalar one: leave those 2 out.",
                "scalar_events = 10 + 3 + 2\n", detect=answered(15)),
        Mistake("every_step",
                "the `if step % 10 == 0` writes only every 10th step: the loop runs 100 times but writes far "
                "fewer summaries.",
                "scalar_events = 100\n", detect=answered(100, 200, 300)),
    ],
    expected=_scalar_events, compare=_compare_count,
    explain=lambda value: f"running the loop, TensorBoard's reader counts {value} scalar events: "
                          f"{_run_snippet(LOOP_SOURCE)['scalars']}.",
)

# ---------------------------------------------------------------- q4: predict what a reader sees before a flush

QUEUE_SIZE, QUEUE_EVENTS = 4, 13

FLUSH_SOURCE = f'''\
writer = tf.summary.create_file_writer(log_dir, max_queue={QUEUE_SIZE})
with writer.as_default():
    for step in range({QUEUE_EVENTS}):
        tf.summary.scalar("loss", 1.0 / (step + 1), step=step)
    inside = count_events(log_dir, "loss")   # read while still inside the `with` block
outside = count_events(log_dir, "loss")      # read after leaving it
writer.close()
'''


def _count_events(log_dir, tag):
    return len(_tensor_events(log_dir, "scalars").get(tag, []))


def _flush_counts():
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as log_dir:
        namespace = {"tf": tf, "log_dir": log_dir, "count_events": _count_events}
        exec(compile(FLUSH_SOURCE, "<nb06 flush>", "exec"), namespace)  # noqa: S102 - our snippet
        return (namespace["inside"], namespace["outside"])


def _pair(value):
    """The student's `(inside, outside)` as a tuple of two ints (list, tuple, array, numpy ints, 3.0 all do)."""
    what = "a pair `(inside, outside)` of two counts, like `(1, 2)`"
    items = as_sequence(value, what)
    if len(items) != 2:
        raise AnswerError(f"expected {what}, got {len(items)} values")
    return tuple(as_count(item, "a count of events") for item in items)


def _compare_pair(expected, got):
    got = _pair(got)
    return None if got == tuple(expected) else f"running it gives {tuple(expected)}, you predicted {got}"


def _predicted(*pairs):
    def detect(outcomes):
        try:
            return _pair(outcomes[0].value) in pairs
        except AnswerError:
            return False
    return detect


q4 = ValueExercise(
    "nb06.q4", "predicted_counts", "predict what the reader sees",
    prompt=(
        "Predict, then let the check run it. `count_events(log_dir, \"loss\")` reads the event file with "
        "TensorBoard's reader and counts the `loss` events on disk. This writer keeps a queue of at most "
        f"`max_queue={QUEUE_SIZE}` events (section 1 says when a writer writes its queue out):"
        "\n\n```python\n" + FLUSH_SOURCE + "```\n\n"
        "Set `predicted_counts` to the pair `(inside, outside)`."),
    skeleton="predicted_counts = ...\n",
    solution=(f"predicted_counts = (10, {QUEUE_EVENTS})  # the queue is written out with its 5th event "
              f"(events 1-5, then 6-10); leaving `as_default()` flushes the last {QUEUE_EVENTS - 10}\n"),
    hints=["A summary writer does not write each event at once: it queues them. When does the queue go to disk?",
           f"The queue is written out when it grows past `max_queue` (here: on the {QUEUE_SIZE + 1}th queued "
           "event), on `flush()`, on `close()`, and when the `with writer.as_default():` block ends.",
           f"Count: events 1-{QUEUE_SIZE + 1} go out together, then the next {QUEUE_SIZE + 1}; what is left "
           "waits for the end of the block."],
    mistakes=[
        Mistake("assumed_written_at_once",
                "`tf.summary.scalar` only queues the event: inside the block the file holds only what a full queue "
                f"wrote out (a queue of {QUEUE_SIZE} goes to disk with its {QUEUE_SIZE + 1}th event).",
                f"predicted_counts = ({QUEUE_EVENTS}, {QUEUE_EVENTS})\n",
                detect=_predicted((QUEUE_EVENTS, QUEUE_EVENTS))),
        Mistake("assumed_nothing_until_the_end",
                f"the queue holds at most {QUEUE_SIZE} events: when it grows past that, the writer writes it "
                "out, so some events reach the file while the loop still runs.",
                f"predicted_counts = (0, {QUEUE_EVENTS})\n", detect=_predicted((0, QUEUE_EVENTS))),
        Mistake("flushed_at_max_queue",
                f"the queue is written out when it grows *past* `max_queue`, with its {QUEUE_SIZE + 1}th event, "
                f"not its {QUEUE_SIZE}th.",
                f"predicted_counts = ({QUEUE_EVENTS // QUEUE_SIZE * QUEUE_SIZE}, {QUEUE_EVENTS})\n",
                detect=_predicted((QUEUE_EVENTS // QUEUE_SIZE * QUEUE_SIZE, QUEUE_EVENTS))),
        Mistake("assumed_only_close_writes",
                "leaving `with writer.as_default():` flushes the writer, so after the block the reader sees every "
                "event; `close()` is not needed for that.",
                "predicted_counts = (10, 10)\n", detect=lambda outcomes: _predicted((0, 0), (10, 10))(outcomes)),
    ],
    expected=_flush_counts, compare=_compare_pair,
    explain=lambda value: f"running it gives {value}: full queues go to disk as the loop runs, and leaving "
                          "`as_default()` flushes the rest; a running job's files lag behind by up to a queue.",
)


# ---------------------------------------------------------------- q5: count what the profiler recorded

PROFILE_SOLUTION = '''\
import glob
import os

from tfcourse import profiling


def count_profiled_ops(function, logdir, calls):
    """Runs the compiled `function()` `calls` times under the TensorFlow Profiler, writing the trace
    into logdir, then reads the trace file back -> {op type: how many times it ran}."""
    function()  # warm-up: tracing the tf.function stays out of the trace
    tf.profiler.experimental.start(logdir)
    for _ in range(calls):
        function()
    tf.profiler.experimental.stop()
    [trace_file] = glob.glob(os.path.join(logdir, "plugins", "profile", "*", "*.xplane.pb"))
    return {row.op_type: row.count for row in profiling.op_table(trace_file)}
'''

PROFILE_SKELETON = '''\
import glob
import os

from tfcourse import profiling


def count_profiled_ops(function, logdir, calls):
    """Runs the compiled `function()` `calls` times under the TensorFlow Profiler, writing the trace
    into logdir, then reads the trace file back -> {op type: how many times it ran}."""
    ...
'''


def _profile_cases():
    return [Case("relu(x @ w), 3 calls", ("one_layer", 3)), Case("tanh(x @ w1) @ w2, 5 calls", ("two_layers", 5))]


def _traced_function(kind):
    """A fresh compiled function with its inputs bound, and its matmuls per call."""
    import tensorflow as tf

    x, w1, w2 = (tf.random.stateless_normal(shape, seed=[1, i]) for i, shape in enumerate([[32, 16], [16, 8], [8, 4]]))
    if kind == "one_layer":
        return tf.function(lambda: tf.nn.relu(tf.matmul(x, w1))), 1
    return tf.function(lambda: tf.matmul(tf.tanh(tf.matmul(x, w1)), w2)), 2


def _run_profile(function, case_input):
    """Runs the answer on a fresh compiled function -> {"returned": its counts, "on_disk": the counts of
    the trace files it left (None without one), "files": how many, "matmuls_per_call"}."""
    import glob as glob_module

    from tfcourse import profiling

    kind, calls = case_input
    traced, matmuls = _traced_function(kind)
    with tempfile.TemporaryDirectory() as logdir:
        returned = function(traced, logdir, calls)
        files = glob_module.glob(os.path.join(logdir, "plugins", "profile", "*", "*.xplane.pb"))
        on_disk = None
        if len(files) == 1:
            try:
                on_disk = {row.op_type: row.count for row in profiling.op_table(files[0])}
            except ValueError:  # a trace holding no op at all
                on_disk = {}
    if not isinstance(returned, dict):
        raise AnswerError(f"expected a dict {{op type: count}}, got {type(returned).__name__}")
    try:
        counts = {str(op): as_count(count, "a count") for op, count in returned.items()}
    except AnswerError as wrong:
        raise AnswerError(f"expected a dict {{op type: count}}: {wrong}") from None
    return {"returned": counts, "on_disk": on_disk, "files": len(files), "calls": calls,
            "matmuls_per_call": matmuls}


def _matmuls(counts):
    return sum(count for op, count in counts.items() if "MatMul" in op)


def _compare_profile(expected, got):
    if got["files"] != 1:
        return f"expected one trace file (.xplane.pb) under logdir/plugins/profile/, found {got['files']}"
    want = got["calls"] * got["matmuls_per_call"]
    if _matmuls(got["on_disk"]) != want:
        return (f"your trace holds {_matmuls(got['on_disk'])} matrix multiplications; {got['calls']} calls of this "
                f"function run {want}")
    if got["returned"] != got["on_disk"]:
        differ = sorted(op for op in set(got["returned"]) | set(got["on_disk"])
                        if got["returned"].get(op) != got["on_disk"].get(op))
        return (f"you returned other counts than your trace file holds: {differ[0]} "
                f"{got['returned'].get(differ[0])} returned, {got['on_disk'].get(differ[0])} in the file")
    return None


def _profile_runs(predicate):
    def detect(outcomes):
        return all(o.error is None for o in outcomes) and all(predicate(o.value) for o in outcomes)
    return detect


q5 = FunctionExercise(
    "nb06.q5", "count_profiled_ops", "count what the profiler recorded",
    prompt=(
        "Section 7 read a trace of the trainer. Write `count_profiled_ops(function, logdir, calls)` for any "
        "compiled function: run `function()` (no arguments: its inputs are bound) `calls` times under the "
        "TensorFlow Profiler, with the trace written into `logdir`, then read the trace file back with "
        "`profiling.op_table` and return `{op type: count}`, how many times each op type ran. Keep anything that "
        "is not one of the `calls` calls out of the trace. The check reads the trace file you wrote and "
        "counts its matrix multiplications against the function's."),
    skeleton=PROFILE_SKELETON,
    solution=PROFILE_SOLUTION,
    hints=[
        "`tf.profiler.experimental.start(logdir)`, the calls, `tf.profiler.experimental.stop()`: the trace is "
        "written at `stop()`. Call `function()` once before `start` so its tracing stays out.",
        "The profiler writes `<logdir>/plugins/profile/<time>/<host>.xplane.pb`: "
        "`glob.glob(os.path.join(logdir, \"plugins\", \"profile\", \"*\", \"*.xplane.pb\"))` finds it.",
        "`profiling.op_table(path)` returns rows with `.op_type` and `.count`: "
        "`{row.op_type: row.count for row in profiling.op_table(path)}`.",
    ],
    mistakes=[
        Mistake("warm_up_inside_the_trace",
                "your trace holds one call too many: the warm-up call ran while the profiler was recording. "
                "Call `function()` once *before* `tf.profiler.experimental.start`.",
                PROFILE_SOLUTION.replace(
                    "    function()  # warm-up: tracing the tf.function stays out of the trace\n"
                    "    tf.profiler.experimental.start(logdir)\n",
                    "    tf.profiler.experimental.start(logdir)\n"
                    "    function()  # warm-up: tracing the tf.function stays out of the trace\n"),
                detect=_profile_runs(lambda got: got["files"] == 1 and _matmuls(got["on_disk"])
                                     == (got["calls"] + 1) * got["matmuls_per_call"])),
        Mistake("counts_not_read_from_the_trace",
                "your trace is right, but you return one count where it holds several op types: read every "
                "count back from the `.xplane.pb` file with `profiling.op_table`.",
                PROFILE_SOLUTION.replace(
                    "    return {row.op_type: row.count for row in profiling.op_table(trace_file)}",
                    "    return {\"MatMul\": calls}"),
                detect=_profile_runs(lambda got: got["files"] == 1 and _matmuls(got["on_disk"])
                                     == got["calls"] * got["matmuls_per_call"] and len(got["returned"]) <= 1
                                     and len(got["on_disk"]) > 1)),
    ],
    cases=_profile_cases, run=_run_profile, compare=_compare_profile,
)

EXERCISES = [q1, q2, q3, q4, q5]

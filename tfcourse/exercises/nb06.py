"""Exercises of notebook 06 (TensorBoard): writing summaries and reading them back.

    from tfcourse.exercises import nb06 as ex

Every check writes into a temporary directory it removes, then reads the event files back
with TensorBoard's own `EventAccumulator`, as TensorBoard would.
"""

import gc
import tempfile

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


def _accumulator(log_dir):
    """TensorBoard's reader over `log_dir`, every event kept (no sampling)."""
    from tensorboard.backend.event_processing import event_accumulator

    accumulator = event_accumulator.EventAccumulator(
        log_dir, size_guidance={event_accumulator.TENSORS: 0, event_accumulator.SCALARS: 0})
    accumulator.Reload()
    return accumulator


def _tensor_events(log_dir, plugin):
    """{tag: [(step, numpy value), ...]} of the TF2 summaries of one plugin ("scalars", "histograms")."""
    import tensorflow as tf

    accumulator = _accumulator(log_dir)
    return {tag: [(int(event.step), tf.make_ndarray(event.tensor_proto)) for event in accumulator.Tensors(tag)]
            for tag in accumulator.Tags()["tensors"]
            if accumulator.SummaryMetadata(tag).plugin_data.plugin_name == plugin}


def _event_files(log_dir):
    import pathlib

    return len(list(pathlib.Path(log_dir).glob("events.out.tfevents.*")))


# ---------------------------------------------------------------- q1: write a scalar, read it back

SCALARS_SOLUTION = '''\
from tensorboard.backend.event_processing import event_accumulator


def write_and_read_losses(log_dir, steps, losses):
    """Writes losses[i] as the scalar summary "loss" at steps[i] into log_dir, then reads the
    file back with TensorBoard's EventAccumulator -> [(step, loss), ...] in step order."""
    writer = tf.summary.create_file_writer(log_dir)
    with writer.as_default():
        for step, loss in zip(steps, losses):
            tf.summary.scalar("loss", loss, step=step)
    writer.close()  # leaving `as_default()` flushed already; close releases the file

    accumulator = event_accumulator.EventAccumulator(
        log_dir, size_guidance={event_accumulator.TENSORS: 0})  # 0: keep every event
    accumulator.Reload()
    if "loss" not in accumulator.Tags()["tensors"]:
        return []  # nothing written: no tag at all
    return [(event.step, float(tf.make_ndarray(event.tensor_proto))) for event in accumulator.Tensors("loss")]
'''

# Reading inside the `with` block, before the flush that ends it.
SCALARS_READ_INSIDE = '''\
from tensorboard.backend.event_processing import event_accumulator


def write_and_read_losses(log_dir, steps, losses):
    writer = tf.summary.create_file_writer(log_dir)
    with writer.as_default():
        for step, loss in zip(steps, losses):
            tf.summary.scalar("loss", loss, step=step)
        accumulator = event_accumulator.EventAccumulator(log_dir, size_guidance={event_accumulator.TENSORS: 0})
        accumulator.Reload()
        if "loss" not in accumulator.Tags()["tensors"]:
            return []
        return [(event.step, float(tf.make_ndarray(event.tensor_proto))) for event in accumulator.Tensors("loss")]
'''


def _scalar_cases():
    def case(label, steps, losses):
        return Case(label, (list(steps), [float(loss) for loss in losses]))

    return [
        case("3 losses at steps 10, 20, 30", [10, 20, 30], [2.3, 1.1, 0.7]),
        case("one loss at step 0", [0], [2.302585]),
        case("12 losses at steps 1..12 (more than 10)", range(1, 13), np.linspace(2.3, 0.2, 12)),
        case("no losses (an empty run)", [], []),
    ]


def _pairs(returned):
    """The student's [(step, value), ...] as plain (int, float) tuples; AnswerError for another kind."""
    if returned is None:
        raise AnswerError("got None: did you forget to `return` the list of (step, loss) pairs?")
    if not isinstance(returned, (list, tuple)):
        raise AnswerError(f"expected a list of (step, loss) pairs, got {type(returned).__name__}")
    pairs = []
    for item in returned:
        if not (isinstance(item, (list, tuple)) and len(item) == 2):
            raise AnswerError(f"expected a list of (step, loss) pairs, got an element {item!r:.60}")
        try:
            pairs.append((int(item[0]), float(np.asarray(item[1]))))
        except (TypeError, ValueError):
            raise AnswerError(f"expected (step, loss) pairs of numbers, got {item!r:.60}") from None
    return pairs


def _losses_on_disk(log_dir):
    return [(step, float(value)) for step, value in _tensor_events(log_dir, "scalars").get("loss", [])]


def _run_scalars(function, case_input):
    """Runs the answer in a fresh directory -> {"returned": its pairs, "on_disk": what the file holds}."""
    steps, losses = case_input
    with tempfile.TemporaryDirectory() as log_dir:
        returned = function(log_dir, steps, losses)
        on_disk = _losses_on_disk(log_dir)
        if len(on_disk) < len(losses):
            gc.collect()  # a writer the answer left open flushes when collected (slow: only when needed)
            on_disk = _losses_on_disk(log_dir)
    return {"returned": _pairs(returned), "on_disk": on_disk}


def _same_pairs(expected, got):
    return len(expected) == len(got) and all(
        s == t and np.isclose(v, w, rtol=1e-6, atol=1e-7) for (s, v), (t, w) in zip(expected, got))


def _compare_scalars(expected, got):
    if _same_pairs(expected["returned"], got["returned"]):
        return None
    return f"expected {expected['returned'][:4]}{' ...' if len(expected['returned']) > 4 else ''}, " \
           f"got {got['returned'][:4]}{' ...' if len(got['returned']) > 4 else ''}"


def _all_ran(outcomes):
    return all(o.error is None for o in outcomes)


def _nothing_on_disk(outcomes):
    return _all_ran(outcomes) and all(not o.value["on_disk"] for o in outcomes)


def _raised(error_type, text, only=None):
    """Every case (or those `only` selects) raised `error_type` mentioning `text`; the others ran."""
    def detect(outcomes):
        cases = q1.cases()
        chosen = [only is None or only(case) for case in cases]
        return any(chosen) and all(
            (isinstance(o.error, error_type) and text in str(o.error)) if pick else o.error is None
            for o, pick in zip(outcomes, chosen))
    return detect


def _written_right(outcomes):
    return _all_ran(outcomes) and all(_same_pairs(e.value["on_disk"], o.value["on_disk"])
                                      for e, o in zip(q1._expected(), outcomes))


def _sampled(outcomes):
    """The file is right, but more than 10 events came back as exactly 10 of them."""
    if not _written_right(outcomes):
        return False
    sampled = [len(o.value["on_disk"]) > 10 and len(o.value["returned"]) == 10
               and set(o.value["returned"]) <= set(o.value["on_disk"]) for o in outcomes]
    return any(sampled) and all(s or _same_pairs(o.value["on_disk"], o.value["returned"])
                                for s, o in zip(sampled, outcomes))


def _read_too_early(outcomes):
    """The file is right, but fewer events came back than it holds (read before the flush)."""
    return _written_right(outcomes) and any(
        len(o.value["returned"]) < len(o.value["on_disk"]) and len(o.value["returned"]) != 10 for o in outcomes)


def _index_as_step(outcomes):
    return _all_ran(outcomes) and any(o.value["returned"] for o in outcomes) and all(
        [s for s, _ in o.value["returned"]] == list(range(len(case.input[0])))
        and np.allclose([v for _, v in o.value["returned"]], case.input[1], rtol=1e-6)
        for o, case in zip(outcomes, q1.cases()))


q1 = FunctionExercise(
    "nb06.q1", "write_and_read_losses", "write a scalar summary, read it back",
    prompt=(
        "Write `write_and_read_losses(log_dir, steps, losses)`: create a writer with "
        "`tf.summary.create_file_writer(log_dir)`, write each loss as a scalar summary tagged `\"loss\"` at its "
        "step (`tf.summary.scalar`) inside `with writer.as_default():`, close the writer, then read the event "
        "file back as TensorBoard does and return `[(step, loss), ...]`. To read: "
        "`from tensorboard.backend.event_processing import event_accumulator`, "
        "`accumulator = event_accumulator.EventAccumulator(log_dir, size_guidance={event_accumulator.TENSORS: 0})`, "
        "`accumulator.Reload()`; TF2 stores scalars as tensor summaries: `accumulator.Tensors(\"loss\")` gives "
        "events with `.step` and `.tensor_proto` (`tf.make_ndarray` turns it into a number). With no losses, "
        "return `[]`."),
    skeleton='''\
from tensorboard.backend.event_processing import event_accumulator


def write_and_read_losses(log_dir, steps, losses):
    """Writes losses[i] as the scalar summary "loss" at steps[i] into log_dir, then reads the
    file back with TensorBoard's EventAccumulator -> [(step, loss), ...] in step order."""
    ...
''',
    solution=SCALARS_SOLUTION,
    hints=[
        "Two halves: write (writer, `as_default`, one `tf.summary.scalar` per loss, close), then read "
        "(`EventAccumulator`, `Reload`, `Tensors(\"loss\")`).",
        "`tf.summary.scalar(\"loss\", loss, step=step)` only writes inside `with writer.as_default():`, and "
        "the writer queues events until it is flushed: read after the `with` block (or after `writer.close()`).",
        "`accumulator.Tags()[\"tensors\"]` lists the tags written; for each event of `accumulator.Tensors(\"loss\")` "
        "return `(event.step, float(tf.make_ndarray(event.tensor_proto)))`. Without "
        "`size_guidance={event_accumulator.TENSORS: 0}` the reader keeps only a sample of 10.",
    ],
    mistakes=[
        Mistake("missing_step",
                "`tf.summary.scalar` needs a step: pass `step=step` (or give the writer a default with "
                "`writer.as_default(step=...)`). The step is the x axis of TensorBoard's plot.",
                SCALARS_SOLUTION.replace('tf.summary.scalar("loss", loss, step=step)', 'tf.summary.scalar("loss", loss)'),
                detect=_raised(ValueError, "No step set", only=lambda case: case.input[0])),
        Mistake("summary_outside_as_default",
                "nothing was written: a summary outside `with writer.as_default():` has no writer to go to "
                "(`tf.summary.scalar` then just returns False). Call it inside the `with` block.",
                SCALARS_SOLUTION.replace(
                    "    with writer.as_default():\n        for step, loss in zip(steps, losses):\n"
                    "            tf.summary.scalar",
                    "    for step, loss in zip(steps, losses):\n        tf.summary.scalar"),
                detect=lambda outcomes: _nothing_on_disk(outcomes) and any(e.value["on_disk"] for e in q1._expected())),
        Mistake("read_scalars_not_tensors",
                "TF2's `tf.summary.scalar` stores a *tensor* summary, so `accumulator.Scalars(\"loss\")` finds "
                "nothing: read `accumulator.Tensors(\"loss\")` and turn each `event.tensor_proto` into a number "
                "with `tf.make_ndarray`.",
                SCALARS_SOLUTION.replace(
                    'return [(event.step, float(tf.make_ndarray(event.tensor_proto))) for event in accumulator.Tensors("loss")]',
                    'return [(event.step, event.value) for event in accumulator.Scalars("loss")]'),
                detect=_raised(KeyError, "not found", only=lambda case: case.input[0])),
        Mistake("empty_run_not_handled",
                "with no losses the file holds no `loss` tag and `accumulator.Tensors(\"loss\")` raises KeyError: "
                "return `[]` when `\"loss\"` is not in `accumulator.Tags()[\"tensors\"]`.",
                SCALARS_SOLUTION.replace(
                    '    if "loss" not in accumulator.Tags()["tensors"]:\n'
                    '        return []  # nothing written: no tag at all\n', ""),
                detect=_raised(KeyError, "not found", only=lambda case: not case.input[0])),
        Mistake("only_a_sample_read",
                "the file holds every loss, but you read back only 10: `EventAccumulator` keeps a sample of 10 "
                "tensor events per tag unless told otherwise. Pass "
                "`size_guidance={event_accumulator.TENSORS: 0}` to keep them all.",
                SCALARS_SOLUTION.replace(
                    "log_dir, size_guidance={event_accumulator.TENSORS: 0})  # 0: keep every event", "log_dir)"),
                detect=_sampled),
        Mistake("read_before_flush",
                "the file holds every loss, but you read it before the writer flushed them: summaries wait in a "
                "queue until `writer.flush()`, `writer.close()` or the end of the `with writer.as_default():` "
                "block. Read after the `with` block.",
                SCALARS_READ_INSIDE,
                detect=_read_too_early),
        Mistake("index_as_step",
                "the losses are right but their steps are not: write each loss at its own step from `steps` "
                "(`for step, loss in zip(steps, losses)`), not at its position in the list.",
                SCALARS_SOLUTION.replace("for step, loss in zip(steps, losses):",
                                         "for step, loss in enumerate(losses):"),
                detect=_index_as_step),
    ],
    cases=_scalar_cases, run=_run_scalars, compare=_compare_scalars,
)

# ---------------------------------------------------------------- q2: histograms of the weights

HISTOGRAMS_SOLUTION = '''\
def write_weight_histograms(log_dir, model, step):
    """One histogram summary per trainable variable of `model`, tagged "weights/<variable name>"
    (the name without TensorFlow's ":0"), at `step`, into one event file in log_dir."""
    writer = tf.summary.create_file_writer(log_dir)
    with writer.as_default(step=step):
        for variable in model.trainable_variables:
            tf.summary.histogram(f"weights/{variable.name.split(':')[0]}", variable)
    writer.close()
'''


def _histogram_cases():
    return [Case("an MLP(16, 8) at step 0", (16, 8, 1, 0)),
            Case("an MLP(4, 2) at step 7", (4, 2, 2, 7))]


def _run_histograms(function, case_input):
    """A fresh small MLP; the answer writes -> {"histograms": {tag: [(step, count, min, max)]},
    "scalars": [tags], "files": number of event files}."""
    import tensorflow as tf

    from tfcourse import mnist

    hidden1, hidden2, seed, step = case_input
    model = mnist.MLP(hidden1, hidden2, seed=seed)
    with tempfile.TemporaryDirectory() as log_dir:
        returned = function(log_dir, model, step)
        if returned is not None and not isinstance(returned, tf.summary.SummaryWriter):
            raise AnswerError(f"expected `write_weight_histograms` to write into log_dir and return nothing, "
                              f"got {type(returned).__name__}")
        if not _tensor_events(log_dir, "histograms"):
            gc.collect()  # a writer the answer left open flushes when collected (slow: only when needed)
        files = _event_files(log_dir)
        histograms = {}
        for tag, events in _tensor_events(log_dir, "histograms").items():
            # A TF2 histogram is a [buckets, 3] tensor of (left edge, right edge, count).
            histograms[tag] = [(s, int(np.rint(h[:, 2].sum())), float(h[0, 0]), float(h[-1, 1]))
                               if h.size else (s, 0, 0.0, 0.0) for s, h in events]
        scalars = sorted(_tensor_events(log_dir, "scalars"))
    return {"histograms": histograms, "scalars": scalars, "files": files}


def _compare_histograms(expected, got):
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
            if c != count or not np.allclose([lo, hi], [low, high], rtol=1e-5, atol=1e-6):
                return f"`{tag}`: expected {count} values in [{low:.4g}, {high:.4g}], got {c} in [{lo:.4g}, {hi:.4g}]"
    return None


def _histogram_runs(predicate):
    def detect(outcomes):
        return _all_ran(outcomes) and all(predicate(o.value, e.value) for o, e in zip(outcomes, q2._expected()))
    return detect


q2 = FunctionExercise(
    "nb06.q2", "write_weight_histograms", "histograms of the weights",
    prompt=(
        "Write `write_weight_histograms(log_dir, model, step)`: into **one** event file in `log_dir`, write a "
        "histogram summary (`tf.summary.histogram`) of every variable in `model.trainable_variables` at `step`, "
        "tagged `weights/<name>` as the trainer does, where `<name>` is the variable's name without "
        "TensorFlow's `:0` suffix (so `weights/hidden1/weights`). Close the writer before returning. "
        "`model` is an `mnist.MLP`."),
    skeleton='''\
def write_weight_histograms(log_dir, model, step):
    """One histogram summary per trainable variable of `model`, tagged "weights/<variable name>"
    (the name without TensorFlow's ":0"), at `step`, into one event file in log_dir."""
    ...
''',
    solution=HISTOGRAMS_SOLUTION,
    hints=[
        "One writer, created before the loop; a loop over `model.trainable_variables` inside "
        "`with writer.as_default(step=step):`.",
        "`tf.summary.histogram(tag, values)` takes a whole tensor (any shape): TensorBoard shows how its values "
        "are spread. `tf.summary.scalar` takes one number only.",
        "`variable.name` is e.g. `\"hidden1/weights:0\"`: the tag is `f\"weights/{variable.name.split(':')[0]}\"`.",
    ],
    mistakes=[
        Mistake("scalar_instead_of_histogram",
                "`tf.summary.scalar` takes a single number and a weight matrix is many: use "
                "`tf.summary.histogram(tag, variable)`, which records how the values are spread.",
                HISTOGRAMS_SOLUTION.replace("tf.summary.histogram(", "tf.summary.scalar("),
                detect=lambda outcomes: all(isinstance(o.error, ValueError) and "scalar shape" in str(o.error)
                                            for o in outcomes)),
        Mistake("histogram_outside_as_default",
                "nothing was written: summaries outside `with writer.as_default(step=step):` have no writer to "
                "go to. Put the loop inside the `with` block.",
                HISTOGRAMS_SOLUTION.replace(
                    "    with writer.as_default(step=step):\n        for variable in model.trainable_variables:\n"
                    "            tf.summary.histogram(f\"weights/{variable.name.split(':')[0]}\", variable)\n",
                    "    for variable in model.trainable_variables:\n"
                    "        tf.summary.histogram(f\"weights/{variable.name.split(':')[0]}\", variable, step=step)\n"),
                detect=_histogram_runs(lambda got, want: not got["histograms"] and not got["scalars"])),
        Mistake("writer_per_variable",
                "the histograms are right but spread over several event files: every `create_file_writer` "
                "opens a new one. Create the writer once, before the loop.",
                HISTOGRAMS_SOLUTION.replace(
                    "    writer = tf.summary.create_file_writer(log_dir)\n"
                    "    with writer.as_default(step=step):\n        for variable in model.trainable_variables:\n",
                    "    for variable in model.trainable_variables:\n"
                    "        writer = tf.summary.create_file_writer(log_dir)\n"
                    "        with writer.as_default(step=step):\n").replace(
                    "    writer.close()\n", "        writer.close()\n"),
                detect=_histogram_runs(lambda got, want: got["files"] > 1
                                       and _compare_histograms(want, dict(got, files=1)) is None)),
        Mistake("one_tag_for_every_variable",
                "every histogram went under one tag, so TensorBoard shows one plot of mixed-up matrices: give each "
                "variable its own tag, `f\"weights/{variable.name.split(':')[0]}\"`.",
                HISTOGRAMS_SOLUTION.replace("f\"weights/{variable.name.split(':')[0]}\"", '"weights"'),
                detect=_histogram_runs(lambda got, want: len(got["histograms"]) == 1 and len(want["histograms"]) > 1)),
        Mistake("tag_keeps_colon_zero",
                "your tags end in `:0`: that suffix is TensorFlow's output index, not part of the variable's name. "
                "Drop it with `variable.name.split(':')[0]`, as the trainer does.",
                HISTOGRAMS_SOLUTION.replace("variable.name.split(':')[0]", "variable.name"),
                detect=_histogram_runs(lambda got, want: sorted(got["histograms"])
                                       == sorted(tag + ":0" for tag in want["histograms"]))),
        Mistake("some_variables_missing",
                "some variables have no histogram: loop over all of `model.trainable_variables` (the weights "
                "*and* the biases of the three layers).",
                HISTOGRAMS_SOLUTION.replace("for variable in model.trainable_variables:",
                                            "for variable in model.trainable_variables[::2]:"),
                detect=_histogram_runs(lambda got, want: got["histograms"]
                                       and set(got["histograms"]) < set(want["histograms"]))),
    ],
    cases=_histogram_cases, run=_run_histograms, compare=_compare_histograms,
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
    if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
        raise AnswerError(f"expected a whole number of events, got {type(got).__name__}")
    return compare_values(expected, got, rtol=0, atol=0)


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

FLUSH_SOURCE = '''\
writer = tf.summary.create_file_writer(log_dir)
with writer.as_default():
    for step in range(3):
        tf.summary.scalar("loss", 1.0 / (step + 1), step=step)
    inside = count_events(log_dir, "loss")   # read while still inside the `with` block
outside = count_events(log_dir, "loss")      # read after leaving it
'''


def _count_events(log_dir, tag):
    return len(_tensor_events(log_dir, "scalars").get(tag, []))


def _flush_counts():
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as log_dir:
        namespace = {"tf": tf, "log_dir": log_dir, "count_events": _count_events}
        exec(compile(FLUSH_SOURCE, "<nb06 flush>", "exec"), namespace)  # noqa: S102 - our snippet
        namespace["writer"].close()
        return (namespace["inside"], namespace["outside"])


def _compare_pair(expected, got):
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        raise AnswerError(f"expected a pair `(inside, outside)` like `(1, 2)`, got {type(got).__name__}")
    return None if tuple(got) == tuple(expected) else f"running it gives {tuple(expected)}, you predicted {tuple(got)}"


def _predicted(pair):
    return lambda outcomes: tuple(outcomes[0].value) == pair


q4 = ValueExercise(
    "nb06.q4", "predicted_counts", "predict what the reader sees",
    prompt=(
        "Predict, then let the check run it: `count_events(log_dir, \"loss\")` reads the event file with "
        "TensorBoard's reader and counts the `loss` events.\n\n```python\n" + FLUSH_SOURCE + "```\n\n"
        "Set `predicted_counts` to the pair `(inside, outside)`."),
    skeleton="predicted_counts = ...\n",
    solution="predicted_counts = (0, 3)  # queued until the flush that ends `as_default()`\n",
    hints=["A summary writer does not write each event to disk at once: it keeps a queue (10 events by default).",
           "The queue is written out by `writer.flush()`, `writer.close()`, and by leaving `with writer.as_default():`."],
    mistakes=[
        Mistake("assumed_written_at_once",
                "`tf.summary.scalar` only queues the event: nothing reaches the file until a flush (the queue "
                "holds 10 by default). Inside the `with` block the reader still sees none.",
                "predicted_counts = (3, 3)\n", detect=_predicted((3, 3))),
        Mistake("assumed_only_close_writes",
                "leaving `with writer.as_default():` flushes the writer, so after the block the reader sees all "
                "three; `close()` is not needed for that.",
                "predicted_counts = (0, 0)\n", detect=_predicted((0, 0))),
    ],
    expected=_flush_counts, compare=_compare_pair,
    explain=lambda value: f"running it gives {value}: the events wait in the writer's queue until leaving "
                          "`as_default()` flushes them; read a running job's files knowing they lag behind.",
)

EXERCISES = [q1, q2, q3, q4]

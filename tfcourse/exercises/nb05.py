"""Exercises of notebook 05 (checkpoints): a resumable loop, a partial restore to repair, two predictions.

    from tfcourse.exercises import nb05 as ex
"""

import os
import re
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

HIDDEN = (16, 8)  # a small network keeps every check fast
LEARNING_RATE = 0.01


def _kept(directory):
    """The checkpoints the state file lists, oldest first, as names like 'ckpt-6'."""
    import tensorflow as tf

    state = tf.train.get_checkpoint_state(directory)
    return [os.path.basename(path) for path in state.all_model_checkpoint_paths] if state else []


def _data(seed, total_steps):
    """One batch of 8 per step: the data order is a function of the step, as the trainer's."""
    rng = np.random.default_rng(seed)
    return [(rng.uniform(size=[8, 784]).astype(np.float32), rng.integers(0, 10, 8).astype(np.int32))
            for _ in range(total_steps)]


# ---------------------------------------------------------------- q1: a loop that resumes

RESUME_IMPORT = "import keras\n\nfrom tfcourse import mnist\nfrom tfcourse.training import steps\n\n"
RESUME_SOLUTION = '''\
def train_with_resume(directory, batch, total_steps, checkpoint_every):
    """Trains mnist.MLP(16, 8) with SGD(0.1, momentum=0.9) to `total_steps`, resuming from the newest checkpoint."""
    step = tf.Variable(0, dtype=tf.int64)
    model = mnist.MLP(16, 8)
    optimizer = keras.optimizers.SGD(0.1, momentum=0.9)  # its velocities are state to save too
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(step=step, model=model, optimizer=optimizer),
                                         directory, max_to_keep=3)
    manager.checkpoint.restore(manager.latest_checkpoint)  # None, in an empty directory: nothing to restore
    while step < total_steps:
        images, labels = batch(int(step))
        steps.training_step(model, optimizer, images, labels)
        step.assign_add(1)
        if step % checkpoint_every == 0:
            manager.save(checkpoint_number=step)
    return model
'''


class Preempted(Exception):
    """Raised by the check's data function to stop a run the way a kill would."""


def _resume_cases():
    # (total steps, checkpoint every, the step whose batch "kills" the first run, or None; seed)
    return [Case("a fresh directory: 12 steps, a checkpoint every 4", (12, 4, None, 1)),
            Case("killed before step 10 (newest ckpt-8), run again: 12 steps, every 4", (12, 4, 10, 2)),
            Case("killed before step 7 (newest ckpt-6), run again: 11 steps, every 3", (11, 3, 7, 3))]


def _run_resume(function, case_input):
    """Runs `function` (killed once if the case says so), then again; reads what the second run did."""
    total, every, killed_at, seed = case_input
    data = _data(seed, total)
    calls, state = [], {"kill": killed_at}

    def batch(step):
        step = int(step)
        if state["kill"] is not None and step == state["kill"]:
            raise Preempted(f"killed before step {step}")
        calls.append(step)
        return data[step]

    with tempfile.TemporaryDirectory() as directory:
        if killed_at is not None:
            try:
                function(directory, batch, total, every)
            except Preempted:
                pass
            else:
                raise AnswerError(f"the check's data stops the first run before step {killed_at}, yet your function "
                                  "returned: let the exception through (a kill gives no chance to catch it)")
            state["kill"], calls[:] = None, []
        model = function(directory, batch, total, every)
        if not hasattr(model, "get_weights"):
            raise AnswerError(f"expected the trained `mnist.MLP`, got {type(model).__name__}")
        return {"weights": model.get_weights(), "computed": list(calls), "kept": _kept(directory)}


def _compare_resume(expected, got):
    if got["computed"] != expected["computed"]:
        def span(steps):
            return f"steps {steps[0]}..{steps[-1]}" if steps else "no step"
        return (f"the last run computed: expected {span(expected['computed'])}, got {span(got['computed'])} "
                f"({len(got['computed'])} batches)")
    if got["kept"] != expected["kept"]:
        return f"the checkpoints in the directory: expected {expected['kept']}, got {got['kept']}"
    for name, value in expected["weights"].items():
        if not np.allclose(got["weights"][name], value, rtol=1e-5, atol=1e-6):
            gap = float(np.abs(got["weights"][name] - value).max())
            return (f"the final {name}: expected an uninterrupted run's {np.ravel(value)[:2].round(5).tolist()}..., "
                    f"got {np.ravel(got['weights'][name])[:2].round(5).tolist()}... (largest difference {gap:.3g})")
    return None


def _resumed_from_zero(outcomes):
    """The crashed cases computed every step again (from step 0) in their second run."""
    crashed = [o for o, case in zip(outcomes, q1.cases()) if case.input[2] is not None]
    return all(o.error is None for o in outcomes) and all(
        o.value["computed"] and o.value["computed"][0] == 0 for o in crashed)


def _weights_right(outcome, expected):
    return all(np.allclose(outcome.value["weights"][n], v, rtol=1e-5, atol=1e-6)
               for n, v in expected.value["weights"].items())


q1 = FunctionExercise(
    "nb05.q1", "train_with_resume", "a training loop that resumes",
    prompt=(
        "Write `train_with_resume(directory, batch, total_steps, checkpoint_every)`, a training loop that survives "
        "a kill. It builds `mnist.MLP(16, 8)`, `keras.optimizers.SGD(0.1, momentum=0.9)` (the momentum of notebook "
        "03: one velocity per variable, state a resume needs) and a step counter (an int64 "
        "`tf.Variable`), tracks them in a `tf.train.Checkpoint` with a `CheckpointManager` on `directory` "
        "(`max_to_keep=3`), **restores the newest checkpoint if there is one**, then trains from the restored step "
        "up to `total_steps`: at step `s` it takes `images, labels = batch(s)` and runs "
        "`steps.training_step(model, optimizer, images, labels)`, counts the step, and saves `ckpt-<step>` whenever "
        "the count is a multiple of `checkpoint_every`. It returns the model. The check kills a first run (its "
        "`batch` raises), calls your function again on the same directory, and compares with a run that never "
        "stopped: same weights, and only the steps after the newest checkpoint computed again."),
    skeleton=RESUME_IMPORT + '''\
def train_with_resume(directory, batch, total_steps, checkpoint_every):
    """Trains mnist.MLP(16, 8) with SGD(0.1, momentum=0.9) to `total_steps`, resuming from the newest checkpoint."""
    ...
''',
    solution=RESUME_IMPORT + RESUME_SOLUTION,
    hints=[
        "Build the objects first, then restore into them: `checkpoint.restore(manager.latest_checkpoint)`; "
        "in an empty directory that is `None`, and restoring `None` does nothing.",
        "The loop starts where the restored step says: `while step < total_steps:` with `batch(int(step))`.",
        "After each step, `step.assign_add(1)`; when `step % checkpoint_every == 0`, "
        "`manager.save(checkpoint_number=step)`.",
    ],
    mistakes=[
        Mistake("never_restored",
                "your second run started again from step 0: nothing was restored. Call "
                "`checkpoint.restore(manager.latest_checkpoint)` before the loop, and start the loop at the "
                "restored step.",
                RESUME_IMPORT + RESUME_SOLUTION.replace(
                    "    manager.checkpoint.restore(manager.latest_checkpoint)  # None, in an empty directory: "
                    "nothing to restore\n", ""),
                detect=lambda outcomes: _resumed_from_zero(outcomes) and all(
                    _weights_right(o, e) for o, e in zip(outcomes, q1._expected()))),
        Mistake("loop_from_zero",
                "you restored the checkpoint but your loop starts at step 0 again, so it trains the restored "
                "model on steps it has already seen. Start at the restored step: `while step < total_steps:`.",
                RESUME_IMPORT + RESUME_SOLUTION.replace(
                    "    while step < total_steps:\n        images, labels = batch(int(step))\n",
                    "    for number in range(total_steps):\n        images, labels = batch(number)\n"),
                detect=lambda outcomes: _resumed_from_zero(outcomes) and not all(
                    _weights_right(o, e) for o, e in zip(outcomes, q1._expected()))),
        Mistake("optimizer_not_tracked",
                "the resumed run computed the right steps but ends with other weights: the optimizer's state (its "
                "velocities) was not in the checkpoint, so the resumed run restarted them from zero. Add `optimizer=optimizer` to "
                "`tf.train.Checkpoint`.",
                RESUME_IMPORT + RESUME_SOLUTION.replace("step=step, model=model, optimizer=optimizer",
                                                        "step=step, model=model")),
        Mistake("not_numbered_by_step",
                "your checkpoints are not named after the step: without `checkpoint_number`, `manager.save()` "
                "numbers them by the checkpoint's own save counter. Call `manager.save(checkpoint_number=step)`.",
                RESUME_IMPORT + RESUME_SOLUTION.replace("manager.save(checkpoint_number=step)", "manager.save()")),
        Mistake("saved_before_counting",
                "your checkpoints are one step early: a checkpoint saved before `step.assign_add(1)` holds the "
                "weights after step s but the count s - 1, so a resume repeats a step. Count the step, then save.",
                RESUME_IMPORT + RESUME_SOLUTION.replace(
                    "        steps.training_step(model, optimizer, images, labels)\n        step.assign_add(1)\n"
                    "        if step % checkpoint_every == 0:\n            manager.save(checkpoint_number=step)\n",
                    "        steps.training_step(model, optimizer, images, labels)\n"
                    "        if (step + 1) % checkpoint_every == 0:\n            manager.save(checkpoint_number=step + 1)\n"
                    "        step.assign_add(1)\n")),
    ],
    cases=_resume_cases, run=_run_resume, compare=_compare_resume,
)

# ---------------------------------------------------------------- q2: repair a partial restore

PARTIAL_BROKEN = '''\
def restore_hidden1(model, path):
    """Copies the first hidden layer of the checkpoint at `path` into `model`; leaves its other layers alone."""
    checkpoint = tf.train.Checkpoint(hidden1=model.hidden1)
    checkpoint.restore(path).expect_partial()
'''
PARTIAL_SOLUTION = '''\
def restore_hidden1(model, path):
    """Copies the first hidden layer of the checkpoint at `path` into `model`; leaves its other layers alone."""
    # The saved keys are paths from the root: model/hidden1/weights. Rebuild that path, and only that.
    checkpoint = tf.train.Checkpoint(model=tf.train.Checkpoint(hidden1=model.hidden1))
    checkpoint.restore(path).expect_partial()
'''


def _partial_cases():
    return [Case("a 784-16-8-10 checkpoint into a 784-16-8-10 model", ((16, 8), (16, 8))),
            Case("a 784-16-4-10 checkpoint into a 784-16-8-10 model (only hidden1 fits)", ((16, 4), (16, 8))),
            Case("a 784-8-8-10 checkpoint into a 784-8-4-10 model", ((8, 8), (8, 4)))]


def _run_partial(function, case_input):
    """Trains and saves a run of the saved shape (model, optimizer, step), restores into a fresh model."""
    import keras
    import tensorflow as tf

    from tfcourse import mnist
    from tfcourse.training import steps

    saved_sizes, model_sizes = case_input
    images, labels = _data(sum(saved_sizes), 1)[0]
    trained = mnist.MLP(*saved_sizes, seed=11)
    optimizer = keras.optimizers.Adam(LEARNING_RATE)
    for _ in range(2):
        steps.training_step(trained, optimizer, images, labels)
    with tempfile.TemporaryDirectory() as directory:
        path = tf.train.Checkpoint(model=trained, optimizer=optimizer, step=tf.Variable(2, dtype=tf.int64)).save(
            os.path.join(directory, "ckpt"))
        model = mnist.MLP(*model_sizes, seed=12)
        before = model.get_weights()
        returned = function(model, path)
    if returned is not None and not hasattr(returned, "assert_existing_objects_matched"):
        raise AnswerError(f"expected nothing returned (or the restore's status), got {type(returned).__name__}")
    return {"after": model.get_weights(), "before": before, "saved": trained.get_weights()}


def _compare_partial(expected, got):
    for name in sorted(got["after"]):
        wanted = got["saved"][name] if name.startswith("hidden1/") else got["before"][name]
        source = "the checkpoint's" if name.startswith("hidden1/") else "its own (unchanged)"
        have = got["after"][name]
        if np.shape(have) != np.shape(wanted) or not np.array_equal(have, wanted):
            return (f"the model's {name}: expected {source} values {np.ravel(wanted)[:2].round(5).tolist()}..., "
                    f"got {np.ravel(have)[:2].round(5).tolist()}...")
    return None


def _hidden1_untouched(outcomes):
    return all(o.error is None and all(np.array_equal(o.value["after"][n], o.value["before"][n])
                                       for n in o.value["after"]) for o in outcomes)


def _other_layers_restored(outcomes):
    """Some case changed a layer other than hidden1, or failed on the layers whose shapes differ."""
    return any((o.error is not None and re.search(r"shape|incompatible", str(o.error), re.I)) or (
        o.error is None and any(not np.array_equal(o.value["after"][n], o.value["before"][n])
                                for n in o.value["after"] if not n.startswith("hidden1/"))) for o in outcomes)


q2 = FunctionExercise(
    "nb05.q2", "restore_hidden1", "repair a partial restore",
    prompt=(
        "To start a new network from part of a trained one, you restore only some of its variables. This "
        "function should copy the first hidden layer (`hidden1`: weights and biases) of a checkpoint written as "
        "`tf.train.Checkpoint(model=..., optimizer=..., step=...)` into `model`, a `mnist.MLP` whose other layers "
        "must keep their values (they may even have other shapes than the checkpoint's). It runs without an "
        "error, and changes nothing:\n\n```python\n" + PARTIAL_BROKEN + "```\n\nRepair it (keep its name and "
        "arguments; it needs to return nothing)."),
    skeleton=PARTIAL_BROKEN.replace('    checkpoint = tf.train.Checkpoint(hidden1=model.hidden1)\n',
                                    '    checkpoint = ...  # repair this line\n'),
    solution=PARTIAL_SOLUTION,
    hints=[
        "List the checkpoint's keys (`tf.train.list_variables(path)`, as the lesson did): where is hidden1's "
        "weight, and where does the broken snippet look for it?",
        "A restore matches by the path of attribute names from the root: `model/hidden1/weights`. The root "
        "needs a `model` whose `hidden1` is your layer.",
        "Any trackable object can stand for `model`, a `tf.train.Checkpoint` too: "
        "`tf.train.Checkpoint(model=tf.train.Checkpoint(hidden1=model.hidden1))`.",
    ],
    mistakes=[
        Mistake("path_still_wrong",
                "nothing was restored, and `expect_partial()` silenced the warning that said so: the checkpoint's "
                "keys start with `model/` (`model/hidden1/weights`), so the object you restore into must reach "
                "`hidden1` through an attribute `model`.",
                PARTIAL_BROKEN, detect=_hidden1_untouched),
        Mistake("whole_model_restored",
                "you restored more than `hidden1`: the model's other layers changed, or could not take the "
                "checkpoint's shapes. Track only `hidden1` under `model`: "
                "`tf.train.Checkpoint(model=tf.train.Checkpoint(hidden1=model.hidden1))`.",
                PARTIAL_SOLUTION.replace("tf.train.Checkpoint(model=tf.train.Checkpoint(hidden1=model.hidden1))",
                                         "tf.train.Checkpoint(model=model)"),
                detect=_other_layers_restored),
    ],
    cases=_partial_cases, run=_run_partial, compare=_compare_partial,
)

# ---------------------------------------------------------------- q3: which checkpoints remain?

KEEP_SNIPPET = '''\
step = tf.Variable(0, dtype=tf.int64)
checkpoint = tf.train.Checkpoint(step=step)
manager = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=3)
for _ in range(7):
    step.assign_add(100)
    if step % 200 == 0:
        manager.save(checkpoint_number=step)
# a restarted run: a new manager on the same directory
manager = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=2)
manager.save(checkpoint_number=step + 50)
'''


def _kept_after_snippet():
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as directory:
        exec(KEEP_SNIPPET, {"tf": tf, "directory": directory})  # noqa: S102 - the course's snippet, in the prompt
        return _kept(directory)


def _as_names(value):
    if isinstance(value, np.ndarray) and value.ndim == 1:
        value = value.tolist()
    if not isinstance(value, (list, tuple, set)):
        raise AnswerError(f"expected a list of checkpoint names like `[\"ckpt-100\"]`, got {type(value).__name__}")
    names = []
    for item in value:
        if isinstance(item, np.generic):
            item = item.item()
        if isinstance(item, int) and not isinstance(item, bool):
            names.append(f"ckpt-{item}")
        elif isinstance(item, str):
            names.append(os.path.basename(item.strip()))
        else:
            raise AnswerError(f"expected checkpoint names like \"ckpt-100\", got {item!r}")
    return sorted(set(names))


def _compare_kept(expected, got):
    names = _as_names(got)
    return None if names == sorted(expected) else f"expected what running it keeps, {sorted(expected)}; got {names}"


def _predicted(names):
    return lambda outcomes: _as_names(outcomes[0].value) == sorted(names)


q3 = ValueExercise(
    "nb05.q3", "kept_checkpoints", "which checkpoints remain?",
    prompt=(
        "Predict, then let the check run it in an empty directory:\n\n```python\n" + KEEP_SNIPPET + "```\n\n"
        "Which checkpoints are left? Set `kept_checkpoints` to their names, like `[\"ckpt-100\"]` (a list, a "
        "tuple or an array; numbers like `100` are read as `ckpt-100`)."),
    skeleton="kept_checkpoints = ...\n",
    solution='kept_checkpoints = ["ckpt-600", "ckpt-750"]  # saves at 200, 400, 600; the new manager keeps 2\n',
    hints=["Which values of `step` pass `step % 200 == 0` on the way to 700? The name is the step.",
           "A new manager on a directory picks up the checkpoints listed there, and its own `max_to_keep` "
           "applies to them at its next save."],
    mistakes=[
        Mistake("saved_every_step",
                "only the steps that are multiples of 200 are saved (200, 400, 600): step 700 is not one.",
                'kept_checkpoints = ["ckpt-600", "ckpt-700", "ckpt-750"]\n',
                detect=lambda outcomes: "ckpt-700" in _as_names(outcomes[0].value)),
        Mistake("new_manager_forgets_old_files",
                "the new manager reads the directory's `checkpoint` file, so it knows the old checkpoints and "
                "deletes them too: with `max_to_keep=2`, two stay in all.",
                'kept_checkpoints = ["ckpt-200", "ckpt-400", "ckpt-600", "ckpt-750"]\n',
                detect=lambda outcomes: len(_as_names(outcomes[0].value)) > 2
                and "ckpt-750" in _as_names(outcomes[0].value)),
        Mistake("kept_the_first",
                "`max_to_keep` keeps the *newest* checkpoints: each save beyond it deletes the oldest.",
                'kept_checkpoints = ["ckpt-200", "ckpt-400"]\n',
                detect=_predicted(["ckpt-200", "ckpt-400"])),
        Mistake("only_the_latest",
                "`max_to_keep=2` keeps two checkpoints, not only the latest one.",
                'kept_checkpoints = ["ckpt-750"]\n', detect=_predicted(["ckpt-750"])),
    ],
    expected=_kept_after_snippet, compare=_compare_kept,
    explain=lambda names: f"running it leaves {names}.",
)

# ---------------------------------------------------------------- q4: what a crash costs

CHECKPOINT_EVERY, KILLED_AT = 200, 1130


def _steps_redone():
    """Saves every CHECKPOINT_EVERY steps until KILLED_AT, restores the newest: the steps done twice."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as directory:
        step = tf.Variable(0, dtype=tf.int64)
        manager = tf.train.CheckpointManager(tf.train.Checkpoint(step=step), directory, max_to_keep=3)
        for number in range(1, KILLED_AT + 1):
            if number % CHECKPOINT_EVERY == 0:
                step.assign(number)
                manager.save(checkpoint_number=number)
        resumed = tf.Variable(0, dtype=tf.int64)
        tf.train.Checkpoint(step=resumed).restore(tf.train.latest_checkpoint(directory))
        return KILLED_AT - int(resumed)


q4 = ValueExercise(
    "nb05.q4", "steps_redone", "what a crash costs",
    prompt=(
        f"A run saves a checkpoint after every {CHECKPOINT_EVERY}th step (`ckpt-{CHECKPOINT_EVERY}`, "
        f"`ckpt-{2 * CHECKPOINT_EVERY}`, ...). It is killed right after finishing step {KILLED_AT}, then resumed "
        "from its newest checkpoint, as in the lesson. How many of the steps it had done does it compute a second "
        "time? Set `steps_redone` to the number; the check saves, \"kills\" and restores to see."),
    skeleton="steps_redone = ...\n",
    solution=f"steps_redone = {KILLED_AT} - {KILLED_AT} // {CHECKPOINT_EVERY} * {CHECKPOINT_EVERY}"
             "  # the newest checkpoint is the last multiple of 200\n",
    hints=[f"Which checkpoint is the newest when the run dies at step {KILLED_AT}?",
           "The resumed run restarts after the newest checkpoint's step; everything after it is done again."],
    mistakes=[
        Mistake("assumed_nothing_lost",
                "a kill gives no chance for a last save: the steps after the newest checkpoint are lost and done "
                "again.",
                "steps_redone = 0\n", detect=answered(0)),
        Mistake("a_whole_interval",
                f"not a whole interval: the newest checkpoint is "
                f"`ckpt-{KILLED_AT // CHECKPOINT_EVERY * CHECKPOINT_EVERY}`, so only the steps after it, up to "
                f"{KILLED_AT}, are done again.",
                f"steps_redone = {CHECKPOINT_EVERY}\n", detect=answered(CHECKPOINT_EVERY)),
        Mistake("restarted_from_scratch",
                "that would be a restart from scratch; the resumed run continues from its newest checkpoint.",
                f"steps_redone = {KILLED_AT}\n", detect=answered(KILLED_AT)),
    ],
    expected=_steps_redone,
    compare=lambda expected, got: compare_values(expected, got, rtol=0, atol=0),
    explain=lambda value: f"restoring the newest checkpoint, the run goes back {value} steps.",
)

EXERCISES = [q1, q2, q3, q4]

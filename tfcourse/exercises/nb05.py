"""Exercises of notebook 05 (checkpoints): save with a CheckpointManager, restore the newest, two predictions.

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

LEARNING_RATE = 0.01


def _training_state(hidden1, hidden2, seed):
    """A fresh small MLP, an Adam optimizer, an int64 step variable and one fixed batch to train on."""
    import keras
    import tensorflow as tf

    from tfcourse import mnist

    rng = np.random.default_rng(seed)
    batch = (rng.uniform(size=[8, 784]).astype(np.float32), rng.integers(0, 10, 8).astype(np.int32))
    return (mnist.MLP(hidden1, hidden2, seed=seed), keras.optimizers.Adam(LEARNING_RATE),
            tf.Variable(0, dtype=tf.int64), batch)


def _kept(directory):
    """The checkpoints the state file lists, oldest first, as names like 'ckpt-6'."""
    import tensorflow as tf

    state = tf.train.get_checkpoint_state(directory)
    return [os.path.basename(path) for path in state.all_model_checkpoint_paths] if state else []


# ---------------------------------------------------------------- q1: save with a CheckpointManager

SAVE_SOLUTION = '''\
def save_checkpoint(model, optimizer, step, directory):
    """Saves model, optimizer and step (an int64 tf.Variable) as <directory>/ckpt-<step>; keeps the newest 3."""
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step)
    manager = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=3)
    return manager.save(checkpoint_number=step)
'''


def _save_cases():
    return [Case("saves at steps 2, 4, 6, 8 and 10", [2, 4, 6, 8, 10]),
            Case("one save, at step 0", [0])]


def _run_saves(function, save_steps):
    """Trains a step, sets `step` and calls `function` at each save step; then reads what the directory holds."""
    import tensorflow as tf

    from tfcourse.training import steps

    model, optimizer, step, (images, labels) = _training_state(16, 8, seed=1)
    with tempfile.TemporaryDirectory() as directory:
        for number in save_steps:
            steps.training_step(model, optimizer, images, labels)
            step.assign(number)
            returned = function(model, optimizer, step, directory)
        kept, latest = _kept(directory), tf.train.latest_checkpoint(directory)
        if latest is None:
            raise AnswerError("expected a checkpoint in `directory` after your function ran, found none (it "
                              f"returned {type(returned).__name__}): save with a `tf.train.CheckpointManager`")
        reader = tf.train.load_checkpoint(latest)
        names = [name for name, _ in tf.train.list_variables(latest)]
        saved = {name: reader.get_tensor(name)
                 for name in names if name.endswith("/.ATTRIBUTES/VARIABLE_VALUE")}
    in_model = {f"model/{name}/.ATTRIBUTES/VARIABLE_VALUE": value for name, value in model.get_weights().items()}
    # The step may be saved under any name; it is the one int64 scalar outside the optimizer.
    step_values = [int(value) for name, value in saved.items() if not name.startswith(("optimizer/", "save_counter/"))
                   and np.ndim(value) == 0 and np.asarray(value).dtype == np.int64]
    return {"kept": kept, "steps": list(save_steps),
            "model_saved": all(name in saved and np.array_equal(saved[name], value)
                               for name, value in in_model.items()),
            "optimizer_saved": any(name.startswith("optimizer/") for name in saved),
            "step_saved": step_values[0] if len(step_values) == 1 else None}


def _compare_saves(expected, got):
    if got["kept"] != expected["kept"]:
        return f"the directory keeps {got['kept']}, expected {expected['kept']}"
    if not got["model_saved"]:
        return "the newest checkpoint does not hold the model's current weights"
    if not got["optimizer_saved"]:
        return "the newest checkpoint holds no optimizer state"
    if got["step_saved"] != expected["step_saved"]:
        return f"the newest checkpoint holds step {got['step_saved']}, expected {expected['step_saved']}"
    return None


def _saved(test):
    return lambda outcomes: all(o.error is None and test(o.value) for o in outcomes)


def _many_saves(test):
    """A detector judging the cases with more saves than max_to_keep=3 (the others have no error)."""
    return lambda outcomes: all(o.error is None for o in outcomes) and all(
        test(o.value) for o in outcomes if len(o.value["steps"]) > 3)


def _named_by_step(value):
    return all(name.startswith("ckpt-") and int(name[5:]) in value["steps"] for name in value["kept"])


q1 = FunctionExercise(
    "nb05.q1", "save_checkpoint", "save with a CheckpointManager",
    prompt=(
        "Write `save_checkpoint(model, optimizer, step, directory)`: what a resume needs, the model, the "
        "optimizer's state and the step (an int64 `tf.Variable`), saved with `tf.train.Checkpoint(model=..., "
        "optimizer=..., step=...)` through a `tf.train.CheckpointManager` that keeps the **newest 3** checkpoints, "
        "named `ckpt-<step>` like the trainer's. The check trains a small MLP with Adam and calls your function at "
        "several steps, then looks into the directory."),
    skeleton='''\
def save_checkpoint(model, optimizer, step, directory):
    """Saves model, optimizer and step (an int64 tf.Variable) as <directory>/ckpt-<step>; keeps the newest 3."""
    ...
''',
    solution=SAVE_SOLUTION,
    hints=[
        "A `tf.train.Checkpoint` saves the objects you give it as keyword arguments, and nothing else.",
        "`tf.train.CheckpointManager(checkpoint, directory, max_to_keep=3)` deletes the older checkpoints "
        "for you; a new manager on the same directory picks up the ones already there.",
        "`manager.save(checkpoint_number=step)` names the file after the step (`ckpt-10`).",
    ],
    mistakes=[
        Mistake("optimizer_not_tracked",
                "your checkpoint has no optimizer: Adam's running averages would restart from zero after a resume, "
                "and the run would not continue exactly. Add `optimizer=optimizer` to `tf.train.Checkpoint`.",
                SAVE_SOLUTION.replace("model=model, optimizer=optimizer, step=step", "model=model, step=step"),
                detect=_saved(lambda v: v["model_saved"] and not v["optimizer_saved"])),
        Mistake("step_not_tracked",
                "your checkpoint has no step: a resumed run would not know where it stopped. Add `step=step` to "
                "`tf.train.Checkpoint`.",
                SAVE_SOLUTION.replace(", step=step)", ")"),
                detect=_saved(lambda v: v["model_saved"] and v["step_saved"] is None)),
        Mistake("not_numbered_by_step",
                "your checkpoints are not named after the step: without `checkpoint_number`, `manager.save()` "
                "numbers them by the checkpoint's own save counter. Call `manager.save(checkpoint_number=step)`.",
                SAVE_SOLUTION.replace("manager.save(checkpoint_number=step)", "manager.save()"),
                detect=lambda outcomes: all(o.error is None for o in outcomes)
                and not all(_named_by_step(o.value) for o in outcomes)),
        Mistake("kept_every_checkpoint",
                "every checkpoint was kept: `max_to_keep=None` keeps them all and fills the disk. "
                "`max_to_keep=3` keeps the newest three and deletes the older ones.",
                SAVE_SOLUTION.replace("max_to_keep=3", "max_to_keep=None"),
                detect=_many_saves(lambda v: len(v["kept"]) == len(v["steps"]))),
        Mistake("kept_too_few",
                "fewer than 3 checkpoints were kept: `max_to_keep` is how many of the newest checkpoints stay "
                "on disk; use `max_to_keep=3`.",
                SAVE_SOLUTION.replace("max_to_keep=3", "max_to_keep=1"),
                detect=_many_saves(lambda v: len(v["kept"]) < 3 and _named_by_step(v))),
    ],
    cases=_save_cases, run=_run_saves, compare=_compare_saves,
)

# ---------------------------------------------------------------- q2: restore the newest checkpoint

RESTORE_IMPORT = "import keras\n\nfrom tfcourse import mnist\n\n"
RESTORE_SOLUTION = '''\
def restore_model(directory, hidden1_units, hidden2_units):
    """(model, optimizer, step) restored from the newest checkpoint in `directory`."""
    model = mnist.MLP(hidden1_units, hidden2_units)
    optimizer = keras.optimizers.Adam(0.01)
    optimizer.build(model.trainable_variables)  # its slots exist now, so the restore fills them at once
    step = tf.Variable(0, dtype=tf.int64)
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step)
    checkpoint.restore(tf.train.latest_checkpoint(directory))
    return model, optimizer, step
'''


def _restore_cases():
    return [Case("a 784-16-8-10 run saved at steps 2, 4, 6, 8, 10 (3 kept)", (16, 8, [2, 4, 6, 8, 10])),
            Case("a 784-8-4-10 run with a single checkpoint, at step 1", (8, 4, [1]))]


def _run_restore(function, case_input):
    """Writes a run's checkpoints to a fresh directory, restores with `function`, reads what it restored."""
    from tfcourse.training import checkpoints, steps

    hidden1, hidden2, save_steps = case_input
    model, optimizer, step, (images, labels) = _training_state(hidden1, hidden2, seed=hidden1)
    with tempfile.TemporaryDirectory() as directory:
        manager = checkpoints.make_manager(checkpoints.make_checkpoint(model, optimizer, step), directory)
        for number in save_steps:
            steps.training_step(model, optimizer, images, labels)
            step.assign(number)
            manager.save(checkpoint_number=number)
        result = function(directory, hidden1, hidden2)
        if not isinstance(result, (tuple, list)) or len(result) != 3:
            raise AnswerError(f"expected `(model, optimizer, step)`, got {type(result).__name__}")
        restored_model, restored_optimizer, restored_step = result
        if not hasattr(restored_model, "get_weights") or not hasattr(restored_optimizer, "iterations"):
            raise AnswerError("expected `(model, optimizer, step)`: a `mnist.MLP`, a keras optimizer and the step")
        try:
            step_value = int(restored_step)
        except (TypeError, ValueError):
            raise AnswerError("expected the step as a tf.Variable or an int, got "
                              f"{type(restored_step).__name__}") from None
        # Building is a no-op for a built optimizer; for one that is not, a deferred restore fills the slots now.
        restored_optimizer.build(restored_model.trainable_variables)
        return {"weights": restored_model.get_weights(), "iterations": int(restored_optimizer.iterations),
                "optimizer_state": [v.numpy() for v in restored_optimizer.variables],
                "step": step_value, "saved_steps": save_steps[-3:], "latest_weights": model.get_weights()}


def _compare_restores(expected, got):
    if got["step"] != expected["step"]:
        return f"the step is {got['step']}, expected {expected['step']} (the newest checkpoint's)"
    for name, value in expected["weights"].items():
        if name not in got["weights"] or not np.array_equal(got["weights"][name], value):
            return f"the model's {name} is not the newest checkpoint's"
    if got["iterations"] != expected["iterations"]:
        return f"the optimizer has taken {got['iterations']} steps, expected {expected['iterations']} (restored)"
    if len(got["optimizer_state"]) != len(expected["optimizer_state"]) or not all(
            np.array_equal(a, b) for a, b in zip(got["optimizer_state"], expected["optimizer_state"])):
        return "the optimizer's running averages are not the newest checkpoint's"
    return None


_INCOMPATIBLE = re.compile(r"incompatible tensor with shape \(([^)]*)\) when attempting to restore variable with "
                           r"shape \(([^)]*)\) and name ([\w/]+)")


def _other_shape(outcomes):
    """'the checkpoint's hidden1/weights is [784, 16], your model's [784, 128]' from TensorFlow's error."""
    for outcome in outcomes:
        match = _INCOMPATIBLE.search(str(outcome.error or ""))
        if match:
            saved, yours, name = match.groups()
            listed = [", ".join(d.strip() for d in shape.split(",") if d.strip()) for shape in (saved, yours)]
            return f"the checkpoint's `{name}` has shape [{listed[0]}], your model's [{listed[1]}]"
    return False


def _restored(test):
    return lambda outcomes: all(o.error is None and test(o.value) for o in outcomes)


def _older_restored(outcomes):
    """Every case restored one of its kept checkpoints, and some case not the newest."""
    return _restored(lambda v: v["step"] in v["saved_steps"])(outcomes) and any(
        o.value["step"] != o.value["saved_steps"][-1] for o in outcomes)


def _right_weights(value):
    return all(np.array_equal(value["weights"][name], saved) for name, saved in value["latest_weights"].items())


q2 = FunctionExercise(
    "nb05.q2", "restore_model", "restore the newest checkpoint",
    prompt=(
        "Write `restore_model(directory, hidden1_units, hidden2_units)`: a run of `mnist.MLP(hidden1_units, "
        "hidden2_units)` trained with `keras.optimizers.Adam(0.01)` saved `tf.train.Checkpoint(model=..., "
        "optimizer=..., step=...)` checkpoints (step: an int64 `tf.Variable`) into `directory`, as in q1. Build a "
        "model, an optimizer and a step of the same kinds, restore the **newest** checkpoint into them, and return "
        "`(model, optimizer, step)`."),
    skeleton=RESTORE_IMPORT + '''\
def restore_model(directory, hidden1_units, hidden2_units):
    """(model, optimizer, step) restored from the newest checkpoint in `directory`."""
    ...
''',
    solution=RESTORE_IMPORT + RESTORE_SOLUTION,
    hints=[
        "Restoring fills existing variables: build the model (same sizes), the optimizer and the step first, "
        "and track them in a `tf.train.Checkpoint` under the names they were saved with.",
        "`tf.train.latest_checkpoint(directory)` gives the newest checkpoint's path, like `.../ckpt-10`.",
        "`checkpoint.restore(tf.train.latest_checkpoint(directory))`; the optimizer's slots are filled when it "
        "first builds them.",
    ],
    mistakes=[
        Mistake("model_of_another_shape",
                "you restored into a model of another shape: {detail}. Build `mnist.MLP(hidden1_units, "
                "hidden2_units)` with the sizes the checkpoint was written with.",
                RESTORE_IMPORT + RESTORE_SOLUTION.replace("mnist.MLP(hidden1_units, hidden2_units)",
                                                          "mnist.MLP()"),
                detect=_other_shape),
        Mistake("restored_the_directory",
                "`restore` wants the path of one checkpoint (`.../ckpt-10`), not the directory: pass "
                "`tf.train.latest_checkpoint(directory)`.",
                RESTORE_IMPORT + RESTORE_SOLUTION.replace("checkpoint.restore(tf.train.latest_checkpoint(directory))",
                                                          "checkpoint.restore(directory)"),
                detect=lambda outcomes: all(o.error is not None and "Is a directory" in str(o.error)
                                            for o in outcomes)),
        Mistake("restore_not_called",
                "nothing was restored: the model has its initial weights and the step is 0. Call "
                "`checkpoint.restore(tf.train.latest_checkpoint(directory))`.",
                RESTORE_IMPORT + RESTORE_SOLUTION.replace(
                    "    checkpoint.restore(tf.train.latest_checkpoint(directory))\n",
                    "    tf.train.latest_checkpoint(directory)\n"),
                detect=_restored(lambda v: v["step"] == 0 and v["iterations"] == 0 and not _right_weights(v))),
        Mistake("model_created_after_restore",
                "the step was restored but not the model: the checkpoint you restored did not track the model you "
                "return (built after the restore?). Build the model first and track it: "
                "`tf.train.Checkpoint(model=model, optimizer=optimizer, step=step)`, then restore.",
                RESTORE_IMPORT + RESTORE_SOLUTION
                .replace("    model = mnist.MLP(hidden1_units, hidden2_units)\n", "")
                .replace("    optimizer.build(model.trainable_variables)  # its slots exist now, so the restore fills "
                         "them at once\n", "")
                .replace("tf.train.Checkpoint(model=model, optimizer=optimizer, step=step)",
                         "tf.train.Checkpoint(optimizer=optimizer, step=step)")
                .replace("    return model, optimizer, step\n",
                         "    model = mnist.MLP(hidden1_units, hidden2_units)\n    return model, optimizer, step\n"),
                detect=_restored(lambda v: v["step"] == v["saved_steps"][-1] and not _right_weights(v))),
        Mistake("optimizer_not_restored",
                "the model and step came back, but the optimizer starts from scratch (Adam's step count and "
                "running averages): track it too, `tf.train.Checkpoint(model=model, optimizer=optimizer, step=step)`.",
                RESTORE_IMPORT + RESTORE_SOLUTION.replace("model=model, optimizer=optimizer, step=step",
                                                          "model=model, step=step"),
                detect=_restored(lambda v: _right_weights(v) and v["step"] == v["saved_steps"][-1]
                                 and v["iterations"] == 0)),
        Mistake("restored_an_older_checkpoint",
                "you restored an older checkpoint, not the newest: `tf.train.latest_checkpoint(directory)` "
                "(or `manager.latest_checkpoint`) is the one a resume continues from.",
                RESTORE_IMPORT + RESTORE_SOLUTION.replace(
                    "checkpoint.restore(tf.train.latest_checkpoint(directory))",
                    "checkpoint.restore(\n        tf.train.CheckpointManager(checkpoint, directory, "
                    "max_to_keep=3).checkpoints[0])"),
                detect=_older_restored),
    ],
    cases=_restore_cases, run=_run_restore, compare=_compare_restores,
)

# ---------------------------------------------------------------- q3: which checkpoints remain?

KEEP_SNIPPET = '''\
step = tf.Variable(0, dtype=tf.int64)
manager = tf.train.CheckpointManager(tf.train.Checkpoint(step=step), directory, max_to_keep=3)
for _ in range(7):
    step.assign_add(100)
    manager.save(checkpoint_number=step)
'''


def _kept_after_snippet():
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as directory:
        exec(KEEP_SNIPPET, {"tf": tf, "directory": directory})  # noqa: S102 - the course's snippet, in the prompt
        return _kept(directory)


def _as_names(value):
    if not isinstance(value, (list, tuple, set)):
        raise AnswerError(f"expected a list of checkpoint names like `[\"ckpt-100\"]`, got {type(value).__name__}")
    names = []
    for item in value:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            names.append(f"ckpt-{int(item)}")
        elif isinstance(item, str):
            names.append(os.path.basename(item.strip()))
        else:
            raise AnswerError(f"expected checkpoint names like \"ckpt-100\", got {item!r}")
    return sorted(set(names))


def _compare_kept(expected, got):
    names = _as_names(got)
    return None if names == sorted(expected) else f"running it keeps {expected}, you predicted {names}"


def _predicted(names):
    return lambda outcomes: _as_names(outcomes[0].value) == sorted(names)


q3 = ValueExercise(
    "nb05.q3", "kept_checkpoints", "which checkpoints remain?",
    prompt=(
        "Predict, then let the check run it in an empty directory:\n\n```python\n" + KEEP_SNIPPET + "```\n\n"
        "Which checkpoints are left? Set `kept_checkpoints` to a list of names like `\"ckpt-100\"`."),
    skeleton="kept_checkpoints = ...\n",
    solution='kept_checkpoints = ["ckpt-500", "ckpt-600", "ckpt-700"]  # the newest 3; older ones are deleted\n',
    hints=["The saves are numbered by the step: 100, 200, ..., 700.",
           "`max_to_keep=3` keeps the three most recent checkpoints; each new save deletes the oldest."],
    mistakes=[
        Mistake("kept_the_first_three",
                "`max_to_keep` keeps the *newest* checkpoints: each save beyond the third deletes the oldest one, "
                "so the first ones are gone.",
                'kept_checkpoints = ["ckpt-100", "ckpt-200", "ckpt-300"]\n',
                detect=_predicted(["ckpt-100", "ckpt-200", "ckpt-300"])),
        Mistake("kept_every_checkpoint",
                "`max_to_keep=3` deletes older checkpoints as new ones are saved: only three stay on disk.",
                "kept_checkpoints = [f\"ckpt-{100 * n}\" for n in range(1, 8)]\n",
                detect=lambda outcomes: len(_as_names(outcomes[0].value)) == 7),
        Mistake("numbered_by_saves",
                "`checkpoint_number=step` names each checkpoint after the step (100, 200, ...), not after the "
                "count of saves.",
                'kept_checkpoints = ["ckpt-5", "ckpt-6", "ckpt-7"]\n',
                detect=_predicted(["ckpt-5", "ckpt-6", "ckpt-7"])),
        Mistake("only_the_latest",
                "`max_to_keep=3` keeps three checkpoints, not only the latest one.",
                'kept_checkpoints = ["ckpt-700"]\n', detect=_predicted(["ckpt-700"])),
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

"""Checkpoints of the TF2 face: model, optimizer and step, every N steps, keeping K.

A crashed run restarts from its last checkpoint instead of from scratch (the talk's
Saver slide). Because the trainer's data order is a pure function of (seed, step), a
resumed run ends with exactly the weights of an uninterrupted one.

A save is published in three moves: TensorFlow writes the shards into `<prefix>_temp/`,
merges them into `<prefix>.index` + `<prefix>.data-*`, and only then CheckpointManager
rewrites the `checkpoint` state file (atomically, by rename). `latest_checkpoint` reads that
state file, so a process killed in the middle of a save leaves the previous checkpoint as
the latest; `remove_unpublished` deletes what such a kill left behind.

A published checkpoint can still be damaged later (a bad disk, a copy cut short, a stray
edit): `set_aside_damaged` reads every tensor back (TensorFlow checks each one's CRC32C),
moves a damaged checkpoint's files into `damaged/` (never deleting them) and makes the newest
intact checkpoint the latest, so a resume loses only the steps after it.
"""

import glob
import os
import re
import shutil

import tensorflow as tf

from tfcourse.errors import CourseError, check_positive_int

_VALUE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"


def make_checkpoint(model, optimizer, step):
    """tf.train.Checkpoint(model=..., optimizer=..., step=...): what a resume needs."""
    return tf.train.Checkpoint(model=model, optimizer=optimizer, step=step)


def save(manager, step):
    """`manager.save` numbered by the training step; a write that fails raises a one-line CourseError.

    A full disk or a quota: TensorFlow wrote to `ckpt-N_temp` and never published it, so
    the last complete checkpoint stays the latest (removed at the next start-up).
    """
    try:
        manager.save(checkpoint_number=step)
    except (tf.errors.OpError, OSError) as error:
        reason = re.sub(r"^\{\{[^}]*\}\}\s*|\s*\[Op:\w+\]$", "", _first_line(error))
        kept = (f"the last complete checkpoint {manager.latest_checkpoint} is kept" if manager.latest_checkpoint
                else "no checkpoint was written")
        raise CourseError(f"cannot write the checkpoint of step {step} in {manager.directory}: {reason}; free some "
                          f"space or choose another --log_dir; {kept}") from None


def make_manager(checkpoint, directory, max_to_keep=3):
    """A CheckpointManager writing `directory`/ckpt-<step>, keeping the newest `max_to_keep`."""
    check_positive_int("keep_checkpoints", max_to_keep)
    return tf.train.CheckpointManager(checkpoint, str(directory), max_to_keep=max_to_keep)


_NUMBERED = re.compile(r"^(ckpt-(\d+))(_temp|\.index|\.data-\d+-of-\d+)$")


def remove_unpublished(directory):
    """Deletes what a save killed half-way left in `directory`; returns the removed names.

    That is every `<prefix>_temp` folder (shards not yet merged) and every ckpt-N newer
    than the published latest (merged, but the state file never named it). Call it only
    while holding the run's lock: a live save of another process would look the same.
    """
    directory = str(directory)
    if not os.path.isdir(directory):
        return []
    state = tf.train.get_checkpoint_state(directory)
    published = set()
    if state is not None:
        published = {os.path.basename(p) for p in [state.model_checkpoint_path, *state.all_model_checkpoint_paths]}
    newest = max((int(m.group(2)) for m in map(_NUMBERED.match, published) if m), default=-1)
    removed = []
    for name in sorted(os.listdir(directory)):
        match = _NUMBERED.match(name)
        temp = name.endswith("_temp")
        if not (temp or (match and match.group(1) not in published and int(match.group(2)) > newest)):
            continue
        path = os.path.join(directory, name)
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.remove(path)
        removed.append(name)
    return removed


def damage_of(prefix):
    """Why the checkpoint `prefix` (e.g. .../ckpt-30) cannot be restored, or None when it can.

    Every tensor is read back, so each one's stored CRC32C is checked against its bytes.
    """
    if not os.path.exists(prefix + ".index"):
        return "its index file is missing"
    if not glob.glob(glob.escape(prefix) + ".data-*"):
        return "its data file is missing"
    try:
        reader = tf.train.load_checkpoint(prefix)
    except tf.errors.OpError as error:
        return f"its index file is truncated or corrupt: {_first_line(error)}"
    try:
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except tf.errors.OpError as error:
        reason = _first_line(error)
        if "Checksum does not match" in reason:
            return "checksum mismatch in its data file"
        return f"its data file is unreadable: {reason}"
    return None


def _first_line(error):
    return (getattr(error, "message", None) or str(error)).strip().splitlines()[0]


def set_aside_damaged(directory):
    """Moves each damaged published checkpoint of `directory` into `directory`/damaged/.

    The state file is then rewritten to list only the intact ones (the newest of them as
    the latest), or removed when none is left, so a resume restores the newest intact one.
    Call it only while holding the run's lock, before making the CheckpointManager (which
    reads the state file once). Returns [(prefix, reason, folder it was moved to)].
    """
    directory = str(directory)
    state = tf.train.get_checkpoint_state(directory) if os.path.isdir(directory) else None
    if state is None:
        return []
    # Oldest first, as CheckpointManager writes them; the latest is the last.
    names = list(dict.fromkeys([*state.all_model_checkpoint_paths, state.model_checkpoint_path]))
    damaged, intact, timestamps = [], [], []
    stamps = dict(zip(state.all_model_checkpoint_paths, state.all_model_checkpoint_timestamps))
    for name in names:
        prefix = name if os.path.isabs(name) else os.path.join(directory, name)
        reason = damage_of(prefix)
        if reason is None:
            intact.append(name)
            timestamps.append(stamps.get(name, state.last_preserved_timestamp))
        else:
            damaged.append((prefix, reason, _move_aside(prefix, directory)))
    if not damaged:
        return []
    if intact:
        # The state-file writer CheckpointManager itself uses (public only under compat.v1).
        tf.compat.v1.train.update_checkpoint_state(directory, intact[-1], all_model_checkpoint_paths=intact,
                                                   all_model_checkpoint_timestamps=timestamps,
                                                   last_preserved_timestamp=state.last_preserved_timestamp)
    else:
        os.remove(os.path.join(directory, "checkpoint"))
    return damaged


def _move_aside(prefix, directory):
    """Moves prefix.index and prefix.data-* into a new damaged/<name>[.K]/ folder; returns it."""
    base = os.path.join(directory, "damaged", os.path.basename(prefix))
    target, count = base, 1
    while os.path.exists(target):
        count += 1
        target = f"{base}.{count}"
    os.makedirs(target)
    for path in glob.glob(glob.escape(prefix) + ".index") + glob.glob(glob.escape(prefix) + ".data-*"):
        os.replace(path, os.path.join(target, os.path.basename(path)))
    return target


def model_variable_shapes(model, prefix="model"):
    """{checkpoint key: shape list} for the model's variables, e.g. model/hidden1/weights."""
    shapes = {}
    for layer in ("hidden1", "hidden2", "softmax_linear"):
        for kind in ("weights", "biases"):
            shapes[f"{prefix}/{layer}/{kind}"] = list(getattr(getattr(model, layer), kind).shape)
    return shapes


def check_compatible(path, model):
    """Raises CourseError naming both shapes if checkpoint `path` holds another model shape."""
    stored = {name[:-len(_VALUE_SUFFIX)]: shape for name, shape in tf.train.list_variables(path)
              if name.endswith(_VALUE_SUFFIX)}
    for key, shape in model_variable_shapes(model).items():
        if key not in stored:
            raise CourseError(f"checkpoint {path} has no variable {key.split('/', 1)[1]}: it was not written "
                              "by the tfcourse MLP trainer")
        if list(stored[key]) != shape:
            name = key.split("/", 1)[1]
            raise CourseError(
                f"checkpoint {path} holds {name} of shape {list(stored[key])} but the model's is {shape}; "
                "train with the same --hidden1/--hidden2 as the checkpoint, or start without --resume")


def restore_latest(directory, checkpoint, model):
    """Restores the newest checkpoint in `directory` into `checkpoint`.

    Returns:
      The checkpoint path, or None when there is none (a fresh start).
    """
    path = tf.train.latest_checkpoint(str(directory))
    if path is None:
        return None
    check_compatible(path, model)
    # assert_existing_objects_matched: every variable built so far must be found, so a
    # checkpoint of something else fails here instead of silently training from scratch.
    checkpoint.restore(path).assert_existing_objects_matched()
    return path


def load_weights(path):
    """{"hidden1/weights": numpy array, ...} read straight from a checkpoint file."""
    reader = tf.train.load_checkpoint(str(path))
    return {name[len("model/"):-len(_VALUE_SUFFIX)]: reader.get_tensor(name)
            for name, _ in tf.train.list_variables(str(path))
            if name.startswith("model/") and name.endswith(_VALUE_SUFFIX)}

"""Checkpoints of the TF2 face: model, optimizer and step, every N steps, keeping K.

A crashed run restarts from its last checkpoint instead of from scratch (the talk's
Saver slide). Because the trainer's data order is a pure function of (seed, step), a
resumed run ends with exactly the weights of an uninterrupted one.
"""

import tensorflow as tf

from tfcourse.errors import CourseError

_VALUE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"


def make_checkpoint(model, optimizer, step):
    """tf.train.Checkpoint(model=..., optimizer=..., step=...): what a resume needs."""
    return tf.train.Checkpoint(model=model, optimizer=optimizer, step=step)


def make_manager(checkpoint, directory, max_to_keep=3):
    """A CheckpointManager writing `directory`/ckpt-<step>, keeping the newest `max_to_keep`."""
    if isinstance(max_to_keep, bool) or not isinstance(max_to_keep, int) or max_to_keep <= 0:
        raise CourseError(f"keep_checkpoints must be a positive integer, got {max_to_keep!r}")
    return tf.train.CheckpointManager(checkpoint, str(directory), max_to_keep=max_to_keep)


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

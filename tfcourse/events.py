"""Reading TensorBoard event files back into numbers, so a notebook can plot them.

TensorBoard is a web app over the event files a SummaryWriter writes (served from Python
by `tfcourse.tensorboard_server`). The same files can be read with TensorBoard's own
EventAccumulator: that is what the notebooks do to plot the loss inside the page and to
check that the summaries really were written. `summaries.read_events` lists what one
trainer run recorded; `read_scalars` returns the numbers of either face (TF1 or TF2).
"""

import pathlib

import numpy as np

from tfcourse.errors import CourseError


def list_runs(logdir):
    """Sub-directories of `logdir` (relative paths, sorted) that hold event files; "." for logdir itself."""
    root = pathlib.Path(logdir)
    if not root.is_dir():
        raise CourseError(f"{root}: no such log directory (expected the directory a SummaryWriter wrote to)")
    runs = {str(p.parent.relative_to(root)) for p in root.rglob("events.out.tfevents.*")}
    return sorted(runs)


def read_scalars(logdir):
    """All scalar summaries in the event files directly inside `logdir`.

    Handles both faces: TF1 `tf.compat.v1.summary.scalar` (simple values) and TF2
    `tf.summary.scalar` (stored as rank-0 tensors).

    Returns:
      dict tag -> (steps int64 [K], values float64 [K]) sorted by step.
    """
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.util import tensor_util

    root = pathlib.Path(logdir)
    if not root.is_dir() or not any(root.glob("events.out.tfevents.*")):
        raise CourseError(f"{root}: no event files here (expected events.out.tfevents.* written by a SummaryWriter)")
    accumulator = event_accumulator.EventAccumulator(
        str(root), size_guidance={event_accumulator.SCALARS: 0, event_accumulator.TENSORS: 0})
    accumulator.Reload()
    tags = accumulator.Tags()
    scalars = {}
    for tag in tags.get(event_accumulator.SCALARS, []):
        events = accumulator.Scalars(tag)
        scalars[tag] = ([e.step for e in events], [e.value for e in events])
    for tag in tags.get(event_accumulator.TENSORS, []):
        # Histograms and traced graphs are tensor summaries too; only the scalars plugin's count.
        if accumulator.SummaryMetadata(tag).plugin_data.plugin_name != "scalars":
            continue
        events = [e for e in accumulator.Tensors(tag) if not e.tensor_proto.tensor_shape.dim]
        if events:
            scalars[tag] = ([e.step for e in events],
                            [float(tensor_util.make_ndarray(e.tensor_proto)) for e in events])
    result = {}
    for tag, (steps, values) in scalars.items():
        order = np.argsort(steps, kind="stable")
        result[tag] = (np.asarray(steps, np.int64)[order], np.asarray(values, np.float64)[order])
    return result


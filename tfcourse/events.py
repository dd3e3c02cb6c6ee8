"""Reading TensorBoard event files back into numbers, so a notebook can plot them.

TensorBoard is a web app over the event files a SummaryWriter writes (served from Python
by `tfcourse.tensorboard_server`). The same files can be read with TensorBoard's own
EventAccumulator: that is what the notebooks do to plot the loss inside the page and to
check that the summaries really were written. `read_scalars` returns the numbers of either
face (TF1 or TF2); `histogram_tags` and `traced_graph_ops` list the rest of what a run
recorded. (Writing them is `tfcourse.training.summaries`' job.)
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

    accumulator = _accumulator(logdir)
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



def histogram_tags(logdir):
    """Sorted tags of the histogram summaries (TF2 writes them as rank-2 tensors) in `logdir`."""
    accumulator = _accumulator(logdir)
    tags = accumulator.Tags()
    return sorted(set(tags.get("histograms", [])) |
                  {tag for tag in tags.get("tensors", [])
                   if accumulator.SummaryMetadata(tag).plugin_data.plugin_name == "histograms"})


def traced_graph_ops(logdir):
    """{tag: set of op types} of the graphs traced into `logdir` (`tf.summary.trace_export`).

    The record is a RunMetadata holding each traced function's graph; the op types include
    those of the functions it calls (a training loop's body, for instance).
    """
    from tensorboard.compat.proto import config_pb2
    from tensorboard.util import tensor_util

    accumulator = _accumulator(logdir)
    graphs = {}
    for tag in accumulator.Tags().get("tensors", []):
        if accumulator.SummaryMetadata(tag).plugin_data.plugin_name != "graph_run_metadata_graph":
            continue
        run_metadata = config_pb2.RunMetadata()
        run_metadata.ParseFromString(tensor_util.make_ndarray(accumulator.Tensors(tag)[0].tensor_proto).reshape(-1)[0])
        ops = set()
        for function_graph in run_metadata.function_graphs:
            graph = function_graph.pre_optimization_graph
            ops.update(node.op for node in graph.node)
            for function in graph.library.function:
                ops.update(node.op for node in function.node_def)
        graphs[tag] = ops
    return graphs


def _accumulator(logdir):
    """TensorBoard's EventAccumulator over the event files directly inside `logdir`, loaded in full."""
    from tensorboard.backend.event_processing import event_accumulator

    root = pathlib.Path(logdir)
    if not root.is_dir() or not any(root.glob("events.out.tfevents.*")):
        raise CourseError(f"{root}: no event files here (expected events.out.tfevents.* written by a SummaryWriter)")
    accumulator = event_accumulator.EventAccumulator(
        str(root), size_guidance={event_accumulator.SCALARS: 0, event_accumulator.TENSORS: 0})
    accumulator.Reload()
    return accumulator

"""Looking inside a dataflow graph: trace a tf.function, list its operations, draw it.

TensorFlow 2 still runs graphs: `tf.function` traces Python into a `tf.Graph` whose
nodes are operations and whose edges are tensors, the very object the talk's front end
hands to the back end through the C API. These helpers let a notebook show that graph
as a table and as a picture without Graphviz or a running TensorBoard.
"""

import collections

import tensorflow as tf

from tfcourse.errors import CourseError

# One row of `list_ops`: what a student reads off a graph node.
OpInfo = collections.namedtuple("OpInfo", ["name", "type", "inputs", "shape", "dtype"])


def trace_graph(fn, *input_signature):
    """Traces `fn` with tf.function and returns the resulting tf.Graph.

    Args:
      fn: a Python callable or an existing tf.function.
      *input_signature: tf.TensorSpec (or example tensors) for each argument.
    Returns:
      the tf.Graph of the concrete function (the graph the runtime executes).
    """
    if not callable(fn):
        raise CourseError(f"trace_graph expects a function to trace, got {type(fn).__name__}")
    function = fn if hasattr(fn, "get_concrete_function") else tf.function(fn)
    return function.get_concrete_function(*input_signature).graph


def _shape_text(shape):
    if shape.rank is None:
        return "?"
    return "[" + ", ".join("?" if d is None else str(d) for d in shape.as_list()) + "]"


def list_ops(graph):
    """The graph's operations in creation order, one OpInfo per node.

    Args:
      graph: a tf.Graph (see `trace_graph`).
    Returns:
      list of OpInfo(name, type, inputs: tuple of producer op names, shape: text of the
      first output's shape such as "[?, 2]" ("" for ops without outputs), dtype name).
    """
    if not isinstance(graph, tf.Graph):
        raise CourseError(f"list_ops expects a tf.Graph (use trace_graph first), got {type(graph).__name__}")
    rows = []
    for op in graph.get_operations():
        first = op.outputs[0] if op.outputs else None
        rows.append(OpInfo(
            name=op.name,
            type=op.type,
            inputs=tuple(t.op.name for t in op.inputs),
            shape=_shape_text(first.shape) if first is not None else "",
            dtype=first.dtype.name if first is not None else "",
        ))
    return rows


def format_ops(graph):
    """`list_ops` as an aligned text table (name, type, output shape, inputs)."""
    rows = list_ops(graph)
    name_width = max([len("name")] + [len(r.name) for r in rows])
    type_width = max([len("type")] + [len(r.type) for r in rows])
    shape_width = max([len("shape")] + [len(r.shape) for r in rows])
    lines = [f"{'name':<{name_width}}  {'type':<{type_width}}  {'shape':<{shape_width}}  inputs"]
    for r in rows:
        lines.append(f"{r.name:<{name_width}}  {r.type:<{type_width}}  {r.shape:<{shape_width}}  {', '.join(r.inputs)}")
    return "\n".join(lines)


def op_type_counts(graph):
    """Counter of operation types in the graph, e.g. {'MatMul': 3, 'Relu': 2, ...}."""
    return collections.Counter(r.type for r in list_ops(graph))


def captured_variables(graph):
    """{resource placeholder op name: variable name} for the variables a traced function reads.

    Inside a tf.function a variable is an input of dtype `resource`; this maps those
    inputs back to the variables' names (e.g. "hidden1/weights"). Empty for TF1 graphs.
    """
    names = {}
    try:
        variables = list(getattr(graph, "variables", ()))
    except AssertionError:  # TF's way of saying the variables were garbage-collected
        return names
    for variable in variables:
        for external, internal in getattr(graph, "captures", ()):
            if external is variable.handle:
                names[internal.op.name] = variable.name.split(":")[0]
    return names


def _layers(rows):
    """Column of each op: its longest path from the inputs, then pulled right next to its
    first consumer, so an input or variable read sits just before the op that uses it."""
    depth = {}
    for r in rows:  # creation order is a topological order for data edges
        depth[r.name] = 1 + max((depth[i] for i in r.inputs if i in depth), default=-1)
    consumers = collections.defaultdict(list)
    for r in rows:
        for source in r.inputs:
            consumers[source].append(r.name)
    for r in reversed(rows):
        if consumers[r.name]:
            depth[r.name] = min(depth[c] for c in consumers[r.name]) - 1
    return depth


def draw_graph(graph, ax=None, max_ops=40, skip_types=("NoOp",), show_resources=False):
    """Draws the dataflow graph: boxes are operations, arrows are tensors (labelled by shape).

    Ops are placed in columns by their distance from the inputs, so data flows left to
    right as in the talk's diagrams. Control-only ops (NoOp) are hidden by default, and so
    are the resource handles that feed each ReadVariableOp (`show_resources=True` shows
    them): a variable then appears as the ReadVariableOp that reads it.

    Args:
      graph: a tf.Graph (see `trace_graph`).
      ax: matplotlib Axes to draw on; None makes a new figure.
      max_ops: refuse bigger graphs, whose picture would be unreadable (use
        `op_type_counts` for those, e.g. a training step with its gradients).
    Returns:
      the matplotlib Figure.
    """
    from tfcourse.plots import new_figure

    rows = [r for r in list_ops(graph)
            if r.type not in skip_types and (show_resources or r.dtype != "resource")]
    if len(rows) > max_ops:
        raise CourseError(
            f"graph has {len(rows)} ops, more than max_ops={max_ops} can draw legibly; "
            "summarise it with op_type_counts or raise max_ops")
    depth = _layers(rows)
    columns = collections.defaultdict(list)
    for r in rows:
        columns[depth[r.name]].append(r.name)
    position = {}
    for column, names in columns.items():
        for slot, name in enumerate(names):
            position[name] = (column, -(slot - (len(names) - 1) / 2.0))
    by_name = {r.name: r for r in rows}
    variables = captured_variables(graph)

    num_columns = max(columns) + 1 if columns else 1
    num_rows = max((len(v) for v in columns.values()), default=1)
    if ax is None:
        fig, ax = new_figure((min(2.6 * num_columns, 16), 1.1 * num_rows + 1.2))
    else:
        fig = ax.figure
    box = dict(boxstyle="round,pad=0.4", facecolor="#e8f0fe", edgecolor="#3366cc")
    for r in rows:
        x, y = position[r.name]
        label = r.type if r.type == r.name.split("/")[-1] else f"{r.type}\n{r.name}"
        if r.type == "ReadVariableOp" and r.inputs and r.inputs[0] in variables:
            label = f"read\n{variables[r.inputs[0]]}"
        ax.text(x, y, label, ha="center", va="center", fontsize=8, bbox=box, zorder=3)
        for source in r.inputs:
            if source not in position:
                continue
            sx, sy = position[source]
            ax.annotate("", xy=(x - 0.28, y), xytext=(sx + 0.28, sy),
                        arrowprops=dict(arrowstyle="->", color="#555555"), zorder=2)
            ax.text((x + sx) / 2, (y + sy) / 2 + 0.12, by_name[source].shape,
                    ha="center", fontsize=7, color="#aa3300", zorder=4)
    ax.set_xlim(-0.7, num_columns - 0.3)
    ax.set_ylim(-num_rows / 2 - 0.2, num_rows / 2 + 0.2)
    ax.axis("off")
    fig.tight_layout()
    return fig


def kernels_for(op_type):
    """Which devices have a kernel for an operation, and for which dtypes.

    An op is only a name and a signature; each device type registers its own kernel
    (Eigen on CPU, cuDNN/cuBLAS on GPU, XLA's JIT devices), picked at run time.

    Returns:
      dict device_type -> sorted list of dtype names the kernels accept, e.g.
      {"CPU": ["bfloat16", "float32", ...], "GPU": [...], "XLA_CPU_JIT": [...]}.
    """
    from tensorflow.python.framework import kernels

    kernel_list = kernels.get_registered_kernels_for_op(op_type)
    if not kernel_list.kernel:
        raise CourseError(f"no kernels registered for op type {op_type!r} (expected a name like 'MatMul')")
    table = collections.defaultdict(set)
    for kernel in kernel_list.kernel:
        dtypes = [tf.dtypes.as_dtype(t).name for c in kernel.constraint for t in c.allowed_values.list.type]
        table[kernel.device_type].update(dtypes or ["any"])
    return {device: sorted(names) for device, names in sorted(table.items())}


def partition_graphs(graph, fetches, feed_dict=None, num_cpus=2):
    """Runs a TF1 graph in a Session over `num_cpus` CPU devices and returns what each ran.

    This is the talk's master at work: the session prunes the graph to what `fetches`
    needs, cuts it into one subgraph per device, and wherever a tensor crosses devices
    inserts a _Send in the producer's subgraph and a _Recv in the consumer's.

    Args:
      graph: a tf.Graph whose ops are pinned with `tf.device("/cpu:0")`, `"/cpu:1"`...
      fetches: tensors (or names) to compute.
      feed_dict: values for placeholders, as in `Session.run`.
    Returns:
      (values of fetches, {short device name such as "CPU:1": [(op name, op type), ...]}),
      ops listed sorted by name so the picture is reproducible.
    """
    config = tf.compat.v1.ConfigProto(device_count={"CPU": num_cpus})
    options = tf.compat.v1.RunOptions(output_partition_graphs=True)
    metadata = tf.compat.v1.RunMetadata()
    with tf.compat.v1.Session(graph=graph, config=config) as session:
        values = session.run(fetches, feed_dict=feed_dict, options=options, run_metadata=metadata)
    partitions = {}
    for partition in metadata.partition_graphs:
        device = partition.node[0].device.split("device:")[-1] if partition.node else "?"
        partitions[device] = sorted((node.name, node.op) for node in partition.node)
    return values, dict(sorted(partitions.items()))

import matplotlib

matplotlib.use("Agg")

import pytest
import tensorflow as tf

from tfcourse import graphs
from tfcourse.errors import CourseError

# Module-level: a traced function only holds weak references to the variables it reads.
WEIGHTS = tf.Variable(tf.ones([3, 2]), name="weights")
BIASES = tf.Variable(tf.zeros([2]), name="biases")


def _layer_graph():
    def layer(x):
        return tf.nn.relu(tf.matmul(x, WEIGHTS) + BIASES)

    return graphs.trace_graph(layer, tf.TensorSpec([None, 3], tf.float32, name="x"))


def test_list_ops_follows_the_dataflow():
    rows = {r.name: r for r in graphs.list_ops(_layer_graph())}
    assert rows["x"].type == "Placeholder" and rows["x"].shape == "[?, 3]"
    assert rows["MatMul"].inputs == ("x", "MatMul/ReadVariableOp")
    assert rows["MatMul"].shape == "[?, 2]" and rows["MatMul"].dtype == "float32"
    assert rows["Relu"].inputs == ("add",)
    counts = graphs.op_type_counts(_layer_graph())
    assert counts["MatMul"] == 1 and counts["Relu"] == 1 and counts["ReadVariableOp"] == 2


def test_format_ops_is_a_table_with_one_line_per_op():
    graph = _layer_graph()
    lines = graphs.format_ops(graph).splitlines()
    assert lines[0].split() == ["name", "type", "shape", "inputs"]
    assert len(lines) == 1 + len(graph.get_operations())
    assert any(line.split()[:3] == ["Relu", "Relu", "[?,"] for line in lines)


def test_draw_graph_places_one_box_per_op_and_one_arrow_per_edge():
    fig = graphs.draw_graph(_layer_graph())
    ax = fig.axes[0]
    boxes = [t for t in ax.texts if t.get_bbox_patch() is not None]
    shown = [r for r in graphs.list_ops(_layer_graph()) if r.type != "NoOp" and r.dtype != "resource"]
    assert len(boxes) == len(shown) == 7  # x, 2 variable reads, MatMul, AddV2, Relu, Identity
    names = {r.name for r in shown}
    edges = sum(1 for r in shown for i in r.inputs if i in names)
    assert len([c for c in ax.texts if c.get_text() == ""]) == edges  # annotate arrows
    labels = {t.get_text() for t in boxes}
    assert {"read\nweights", "read\nbiases", "MatMul", "Relu"} <= labels


def test_bad_input_is_a_course_error():
    with pytest.raises(CourseError, match="tf.Graph"):
        graphs.list_ops("not a graph")
    with pytest.raises(CourseError, match="function"):
        graphs.trace_graph(3)
    with pytest.raises(CourseError, match="max_ops"):
        graphs.draw_graph(_layer_graph(), max_ops=2)


def test_kernels_for_lists_cpu_kernels_of_matmul():
    table = graphs.kernels_for("MatMul")
    assert "float32" in table["CPU"]
    with pytest.raises(CourseError, match="no kernels"):
        graphs.kernels_for("NoSuchOp")


def test_partition_graphs_inserts_send_and_recv_between_devices():
    graph = tf.Graph()
    with graph.as_default():
        with tf.device("/cpu:0"):
            # A placeholder, not a constant: grappler would fold constants before partitioning.
            row = tf.compat.v1.placeholder(tf.float32, [1, 2], name="row")
            product = tf.matmul(row, tf.constant([[3.0], [4.0]]), name="product")
        with tf.device("/cpu:1"):
            result = tf.nn.relu(product - 20.0, name="result")
    value, partitions = graphs.partition_graphs(graph, result, {"row:0": [[1.0, 2.0]]})
    assert value.tolist() == [[0.0]]  # relu(11 - 20)
    assert sorted(partitions) == ["CPU:0", "CPU:1"]
    types0 = [t for _, t in partitions["CPU:0"]]
    types1 = [t for _, t in partitions["CPU:1"]]
    assert "_Send" in types0 and "_Recv" in types1 and "Relu" in types1

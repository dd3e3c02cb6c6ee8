"""Notebooks 00-02 keep few asserts on the page; the proof of what their outputs claim is here:
these tests read the stored outputs of the full run and check them against the library."""

import pathlib
import re

import nbformat
import pytest
import tensorflow as tf

from tfcourse import graphs

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[1] / "notebooks"


def stored_output(name, marker):
    """The text output of the one lesson cell whose source contains `marker`."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    found = [cell for cell in notebook.cells if cell.cell_type == "code" and marker in cell.source]
    assert len(found) == 1, f"{name}: {len(found)} cells contain {marker!r}"
    return "".join(output.get("text", "") for output in found[0].outputs if output.output_type == "stream")


def test_00_the_written_out_session_agrees_with_graphs_partition_graphs():
    # The notebook's Session code and the library's function must tell the same story.
    text = stored_output("00_setup.ipynb", "run_options = tf.compat.v1.RunOptions(output_partition_graphs=True)")
    stored = {}
    for block in text.split("subgraph on ")[1:]:
        device, *rows = block.strip().splitlines()
        stored[device.rstrip(":")] = sorted(row.split()[0] for row in rows)
    graph = tf.Graph()
    with graph.as_default():
        with tf.device("/cpu:0"):
            inputs = tf.compat.v1.placeholder(tf.float32, [None, 3], name="inputs")
            hidden = tf.matmul(inputs, tf.ones([3, 2]), name="hidden")
        with tf.device("/cpu:1"):
            outputs = tf.nn.relu(hidden - 5.0, name="outputs")
    values, partitions = graphs.partition_graphs(graph, outputs, {inputs: [[1.0, 2.0, 3.0]]})
    assert "result: [[1. 1.]]" in text and values.tolist() == [[1.0, 1.0]]
    assert stored == {device: sorted(op for _, op in ops) for device, ops in partitions.items()}


def test_00_tracing_counts_and_the_custom_op_as_stored():
    text = stored_output("00_setup.ipynb", "calls = tf.Variable(0)")
    assert text.splitlines()[-1] == "TensorFlow's own count of traces: 3"
    assert "traces 3, calls 4" in text
    text = stored_output("00_setup.ipynb", "ZERO_OUT_CC = ")
    assert "ZeroOut([5, 4, 3, 2]) = [5 0 0 0]" in text or "no custom op in this run" in text
    ops = stored_output("00_setup.ipynb", "op_names = [name for name in dir(tf.raw_ops)")
    assert int(re.search(r"registers ([\d,]+) ops", ops).group(1).replace(",", "")) > 200


def test_01_both_pipelines_keep_their_promise_in_the_stored_run():
    text = stored_output("01_input_pipeline.ipynb", "for name, dataset in pipelines.items():")
    assert text.count("every example once per epoch: True; a new order in epoch 2: True") == 2, text


def test_02_the_notebook_layers_and_counts_agree_with_the_library():
    text = stored_output("02_inference_graph.ipynb", "library_weights = mnist.initial_weights(")
    assert text.count("same starting values as the library's: True") == 3, text
    assert "largest difference between our logits and mnist.MLP's: 0.0" in text
    assert "the library's model traces to the same ops: True" in stored_output(
        "02_inference_graph.ipynb", "inference_graph = graphs.trace_graph(forward, image_spec)")
    counts = stored_output("02_inference_graph.ipynb", "total += count")
    totals = re.findall(r"(?:total|the model holds)\s+([\d,]+)", counts)
    assert len(totals) == 2 and totals[0] == totals[1], counts
    step = stored_output("02_inference_graph.ipynb", "step_counts = graphs.op_type_counts(step_graph)")
    assert "MatMul: 8  Relu: 2  ReluGrad: 2" in step


@pytest.mark.parametrize("name", ["00_setup.ipynb", "01_input_pipeline.ipynb", "02_inference_graph.ipynb"])
def test_at_most_three_visible_asserts(name):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    lesson = [c for c in notebook.cells if c.cell_type == "code" and "exercises" not in c.metadata.get("tags", [])]
    count = sum(len(re.findall(r"^\s*assert\b|\bnp\.testing\.assert", c.source, re.M)) for c in lesson)
    assert count <= 3, f"{name}: {count} asserts"

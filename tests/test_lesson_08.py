"""Notebook 08's claims, proved here rather than asserted in the lesson: the two op counts of a
training step and how they relate, and what the stored full run printed (XLA really compiled the
step; the graph loop's slice covers every row, tf.slice's one batch)."""

import pathlib
import re

import nbformat

NOTEBOOK = pathlib.Path(__file__).resolve().parents[1] / "notebooks" / "08_xla.ipynb"


def stored_text():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    return "\n".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                     for output in cell.get("outputs", []) if output.get("output_type") == "stream")


def test_open_and_fixed_batch_op_counts_relate_as_section_2_says():
    import keras
    import numpy as np
    import tensorflow as tf

    from tfcourse import graphs, mnist, xla
    from tfcourse.training import steps

    model = mnist.MLP(128, 32, seed=0)
    optimizer = keras.optimizers.SGD(learning_rate=0.01)
    images, labels = tf.zeros([100, 784]), tf.zeros([100], tf.int32)

    def one_step(images, labels):
        return steps.training_step(model, optimizer, images, labels)

    open_counts = graphs.op_type_counts(graphs.trace_graph(
        one_step, tf.TensorSpec([None, 784], tf.float32), tf.TensorSpec([None], tf.int32)))
    fixed_counts = graphs.op_type_counts(graphs.trace_graph(one_step, images, labels))
    bookkeeping = {"Placeholder", "Const", "Identity", "NoOp", "ReadVariableOp"}
    working = sum(n for op_type, n in fixed_counts.items() if op_type not in bookkeeping)
    report = xla.show_fusions(one_step, images, labels, print_report=False)
    assert working == report.tf_ops
    assert sum(open_counts.values()) > sum(fixed_counts.values()) > working
    # Both graphs update the 6 weight tensors: the optimizer is in both counts.
    assert open_counts["AssignSubVariableOp"] == fixed_counts["AssignSubVariableOp"] == 6
    assert report.kernels < report.hlo_ops
    assert np.isfinite(report.hlo_ops)


def test_the_stored_run_compiled_the_step_with_xla_and_only_then():
    match = re.search(r"compiled by XLA: (\[.*?\]) ; without: (\[.*?\])", stored_text())
    assert match, "section 3's output is missing"
    assert match.group(1) != "[]" and match.group(2) == "[]", match.group(0)


def test_the_stored_run_shows_the_graph_loop_slicing_every_row():
    text = stored_text()
    assert re.search(r"python_slice_loop\s+slices of shape \['f32\[2000,784\]'\]", text), text[-2000:]
    assert re.search(r"tf_slice_loop\s+slices of shape \['f32\[100,784\]'\]", text), text[-2000:]

"""The graph/session face: placeholders, feed_dict, Saver, and the same numbers as TF2."""

import os

import numpy as np
import pytest
import tensorflow as tf
from fake_splits import small_data_sets

from tfcourse import training, v1
from tfcourse.datasets import pipeline


@pytest.fixture(scope="module")
def data_sets():
    return small_data_sets()


def test_placeholders_and_inference_variable_names():
    with tf.Graph().as_default() as graph:
        images, labels = v1.placeholder_inputs(50)
        logits = v1.inference(images, 16, 8)
        assert images.shape.as_list() == [50, 784] and images.dtype == tf.float32
        assert labels.shape.as_list() == [50] and labels.dtype == tf.int32
        assert logits.shape.as_list() == [50, 10]
        variables = {v.name: v.shape.as_list() for v in tf.compat.v1.global_variables()}
        names = sorted(variables)
        assert names == ["hidden1/biases:0", "hidden1/weights:0", "hidden2/biases:0", "hidden2/weights:0",
                         "softmax_linear/biases:0", "softmax_linear/weights:0"]
        assert variables["hidden1/weights:0"] == [784, 16] and variables["softmax_linear/weights:0"] == [8, 10]
        assert graph.get_operation_by_name("hidden1/Relu").type == "Relu"


def test_fill_feed_dict_takes_the_batch_size_from_the_placeholder(data_sets):
    with tf.Graph().as_default():
        images, labels = v1.placeholder_inputs(32)
        feed = v1.fill_feed_dict(data_sets.validation, images, labels)
    assert feed[images].shape == (32, 784) and feed[labels].shape == (32,) and feed[labels].dtype == np.int32


def test_graph_face_and_tf2_face_give_the_same_losses(data_sets):
    """Same initial weights, same batches, SGD 0.1: the per-step losses agree tightly."""
    steps, batch_size = 30, 100
    config = training.TrainConfig(hidden1=32, hidden2=16, batch_size=batch_size, optimizer="sgd",
                                  learning_rate=0.1, lr_schedule="constant", max_steps=steps,
                                  steps_per_call=steps, seed=3)
    trainer = training.Trainer(config, data_sets.train.num_examples)
    tf2_losses, _ = trainer.train_steps(iter(trainer.dataset(data_sets.train)), steps)

    batches = list(pipeline.make_dataset(data_sets.train, batch_size, seed=3).take(steps).as_numpy_iterator())
    with tf.Graph().as_default():
        # No weights passed: the graph's own stateless initializer draws the TF2 model's values.
        ops = v1.build_graph(batch_size, 32, 16, 0.1, seed=3)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            graph_losses = [sess.run([ops["train_op"], ops["loss"]],
                                     feed_dict={ops["images"]: images, ops["labels"]: labels})[1]
                            for images, labels in batches]
            final_w = sess.run([v for v in tf.compat.v1.global_variables() if v.name == "hidden1/weights:0"][0])
    np.testing.assert_allclose(graph_losses, tf2_losses, rtol=1e-5, atol=1e-6)
    assert tf2_losses[-1] < tf2_losses[0] - 0.5  # it really trained, not two frozen copies
    np.testing.assert_allclose(final_w, trainer.model.hidden1.weights.numpy(), rtol=1e-5, atol=1e-6)


def test_run_training_writes_summaries_and_a_restorable_saver_checkpoint(data_sets, tmp_path):
    lines = []
    result = v1.run_training(data_sets, str(tmp_path), hidden1_units=32, hidden2_units=16,
                             learning_rate=0.1, max_steps=150, printer=lines.append)
    assert len(result["losses"]) == 150 and result["losses"][-1] < result["losses"][0]
    assert result["checkpoint"] == os.path.join(str(tmp_path), "model.ckpt-149")
    assert os.path.exists(result["checkpoint"] + ".index")
    assert lines[0].startswith("Step 0: loss = ") and "Step 100: loss = " in lines[1]
    eval_lines = [line for line in lines if "Precision @ 1" in line]
    assert len(eval_lines) == 3
    assert eval_lines[1].strip().startswith("Num examples: 1000  Num correct: ")
    # The saved weights, restored into a fresh graph, reproduce the validation precision.
    restored = v1.restore_and_evaluate(result["checkpoint"], data_sets.validation, 32, 16, printer=lines.append)
    assert restored == result["precision"]["validation"] and restored > 0.9
    events = [e for f in os.listdir(tmp_path) if f.startswith("events.")
              for e in tf.compat.v1.train.summary_iterator(os.path.join(tmp_path, f))]
    loss_steps = [e.step for e in events for v in e.summary.value if v.tag == "loss"]
    assert loss_steps == [0, 100]
    assert any(e.graph_def for e in events)


def test_do_eval_prints_the_tutorial_line(data_sets):
    lines = []
    with tf.Graph().as_default():
        ops = v1.build_graph(100, 8, 8, 0.01)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            precision = v1.do_eval(sess, ops["eval_correct"], ops["images"], ops["labels"],
                                   data_sets.validation, printer=lines.append)
    correct = int(lines[0].split("Num correct: ")[1].split()[0])
    assert lines[0] == f"  Num examples: 1000  Num correct: {correct}  Precision @ 1: {correct / 1000:0.04f}"
    assert precision == correct / 1000


def test_inference_starts_from_given_weights():
    weights = {f"{layer}/{kind}": np.full(shape if kind == "weights" else shape[1:], 0.5, np.float32)
               for layer, shape in (("hidden1", (784, 4)), ("hidden2", (4, 3)), ("softmax_linear", (3, 10)))
               for kind in ("weights", "biases")}
    with tf.Graph().as_default():
        images, _ = v1.placeholder_inputs(2)
        logits = v1.inference(images, 4, 3, weights=weights)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            values = sess.run(logits, feed_dict={images: np.zeros((2, 784), np.float32)})
    # zeros -> hidden1 = relu(0.5) -> hidden2 = relu(4 * 0.25 + 0.5) -> logits = 3 * 0.75 + 0.5
    np.testing.assert_allclose(values, np.full((2, 10), 2.75, np.float32))

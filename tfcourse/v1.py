"""The graph/session face: the talk's fully_connected_feed.py, on tf.compat.v1.

Everything is built inside `with tf.Graph().as_default():` -- placeholders say what
will be fed, `inference`/`loss`/`training`/`evaluation` add ops to the graph, and a
Session runs them with `feed_dict`. The loss and evaluation ops are the same functions
as the TF2 face (`tfcourse.mnist`), so both faces compute the same numbers; a test
checks it step by step.
"""

import math
import os
import time

import numpy as np
import tensorflow as tf

from tfcourse import mnist
from tfcourse.datasets import pipeline
from tfcourse.datasets.mnist_files import IMAGE_PIXELS
from tfcourse.errors import CourseError, check_positive_int, check_positive_number

v1 = tf.compat.v1


def placeholder_inputs(batch_size):
    """Placeholders for one batch: images float32 [batch_size, 784], labels int32 [batch_size].

    batch_size: a positive int, or None for a batch of any size.
    """
    if batch_size is not None:
        check_positive_int("batch_size", batch_size)
    images_placeholder = v1.placeholder(tf.float32, shape=(batch_size, IMAGE_PIXELS), name="images")
    labels_placeholder = v1.placeholder(tf.int32, shape=(batch_size,), name="labels")
    return images_placeholder, labels_placeholder


def fill_feed_dict(data_set, images_pl, labels_pl):
    """{images_pl: images, labels_pl: labels} for the next batch of `data_set` (size from images_pl)."""
    images_feed, labels_feed = data_set.next_batch(int(images_pl.shape[0]))
    return {images_pl: images_feed, labels_pl: labels_feed.astype(np.int32)}


def inference(images, hidden1_units, hidden2_units, weights=None, seed=0):
    """Builds the model up to the logits.

    Args:
      images: float32 [batch, 784] placeholder.
      hidden1_units, hidden2_units: sizes of the hidden layers.
      weights: optional {"hidden1/weights": array, ...} to start from given values.
      seed: without `weights`, weights come from a truncated normal (stddev 1/sqrt(fan_in))
        drawn by a stateless op keyed by (seed, layer): the same values as
        `mnist.MLP(..., seed=seed)`, and no graph-level seed needed under op determinism.
    Returns:
      logits: float32 [batch, 10].
    """
    mnist.check_images(images)
    shapes = mnist.layer_shapes(check_positive_int("hidden1_units", hidden1_units),
                                check_positive_int("hidden2_units", hidden2_units))
    if weights is not None:
        mnist.check_weights(weights, hidden1_units, hidden2_units)

    def layer(index, name, inputs, activation):
        fan_in, fan_out = shapes[name]
        with v1.name_scope(name):
            if weights is not None:
                initial_w, initial_b = weights[f"{name}/weights"], weights[f"{name}/biases"]
            else:
                initial_w = tf.random.stateless_truncated_normal(
                    [fan_in, fan_out], seed=[seed, index], stddev=1.0 / math.sqrt(float(fan_in)))
                initial_b = tf.zeros([fan_out])
            layer_weights = v1.Variable(initial_w, name="weights")
            biases = v1.Variable(initial_b, name="biases")
            outputs = tf.matmul(inputs, layer_weights) + biases
            return activation(outputs) if activation else outputs

    hidden1 = layer(0, "hidden1", images, tf.nn.relu)
    hidden2 = layer(1, "hidden2", hidden1, tf.nn.relu)
    return layer(2, "softmax_linear", hidden2, None)


def loss(logits, labels):
    """Mean softmax cross-entropy against one-hot labels: float32 scalar op."""
    return mnist.loss(logits, labels)


def training(loss, learning_rate):
    """Gradient descent on `loss`, incrementing a global_step; adds a loss scalar summary.

    Returns:
      train_op: the op to pass to sess.run to take one step.
    """
    check_positive_number("learning_rate", learning_rate)
    v1.summary.scalar("loss", loss)
    optimizer = v1.train.GradientDescentOptimizer(learning_rate)
    global_step = v1.Variable(0, name="global_step", trainable=False)
    return optimizer.minimize(loss, global_step=global_step)


def evaluation(logits, labels):
    """int32 scalar op: how many of the batch's top-1 predictions are right."""
    return mnist.evaluation(logits, labels)


def do_eval(sess, eval_correct, images_pl, labels_pl, data_set, printer=print):
    """Runs one epoch of `data_set` through eval_correct and prints precision@1.

    Like the tutorial, it walks num_examples // batch_size full batches.
    Returns:
      precision@1 as a float.
    """
    batch_size = int(images_pl.shape[0])
    if data_set.num_examples < batch_size:
        raise CourseError(f"the split has {data_set.num_examples} examples, fewer than one batch of {batch_size}; "
                          "expected batch_size <= the split's num_examples")
    steps_per_epoch = data_set.num_examples // batch_size
    num_examples = steps_per_epoch * batch_size
    true_count = sum(sess.run(eval_correct, feed_dict=fill_feed_dict(data_set, images_pl, labels_pl))
                     for _ in range(steps_per_epoch))
    precision = float(true_count) / num_examples
    printer(f"  Num examples: {num_examples}  Num correct: {true_count}  Precision @ 1: {precision:0.04f}")
    return precision


def build_graph(batch_size, hidden1_units, hidden2_units, learning_rate, weights=None, seed=0):
    """All of the tutorial's graph in the current default graph; returns its handles as a dict."""
    images_pl, labels_pl = placeholder_inputs(batch_size)
    logits = inference(images_pl, hidden1_units, hidden2_units, weights, seed)
    loss_op = loss(logits, labels_pl)
    return {"images": images_pl, "labels": labels_pl, "logits": logits, "loss": loss_op,
            "train_op": training(loss_op, learning_rate), "eval_correct": evaluation(logits, labels_pl)}


def run_training(data_sets, log_dir, hidden1_units=128, hidden2_units=32, batch_size=100,
                 learning_rate=0.01, max_steps=2000, printer=print, seed=0):
    """fully_connected_feed.run_training: train with feed_dict, summaries and a Saver.

    Writes events and model.ckpt-<step> to `log_dir`.
    Returns:
      {"losses": [float per step], "checkpoint": path, "precision": {"train":..., "validation":..., "test":...}}.
    """
    check_positive_int("max_steps", max_steps)
    check_positive_int("batch_size", batch_size)
    check_positive_number("learning_rate", learning_rate)
    for name in ("train", "validation", "test"):
        num_examples = getattr(data_sets, name).num_examples
        # An empty split is simply not evaluated; a non-empty one needs a whole batch.
        if num_examples:
            pipeline.check_batch(batch_size, num_examples, split=name)
    os.makedirs(log_dir, exist_ok=True)
    with tf.Graph().as_default():
        ops = build_graph(batch_size, hidden1_units, hidden2_units, learning_rate, seed=seed)
        summary = v1.summary.merge_all()
        init = v1.global_variables_initializer()
        saver = v1.train.Saver()
        losses, checkpoint, precision = [], None, {}
        with v1.Session() as sess:
            summary_writer = v1.summary.FileWriter(log_dir, sess.graph)
            sess.run(init)
            for step in range(max_steps):
                start_time = time.time()
                feed_dict = fill_feed_dict(data_sets.train, ops["images"], ops["labels"])
                _, loss_value = sess.run([ops["train_op"], ops["loss"]], feed_dict=feed_dict)
                losses.append(float(loss_value))
                if step % 100 == 0:
                    printer(f"Step {step}: loss = {loss_value:.2f} ({time.time() - start_time:.3f} sec)")
                    summary_writer.add_summary(sess.run(summary, feed_dict=feed_dict), step)
                    summary_writer.flush()
                if (step + 1) % 1000 == 0 or step + 1 == max_steps:
                    checkpoint = saver.save(sess, os.path.join(log_dir, "model.ckpt"), global_step=step)
                    for name in ("train", "validation", "test"):
                        if not getattr(data_sets, name).num_examples:
                            continue  # validation_size=0: nothing to evaluate
                        printer(f"{name.capitalize()} Data Eval:")
                        precision[name] = do_eval(sess, ops["eval_correct"], ops["images"], ops["labels"],
                                                  getattr(data_sets, name), printer)
            summary_writer.close()
    return {"losses": losses, "checkpoint": checkpoint, "precision": precision}


def restore_and_evaluate(checkpoint, data_set, hidden1_units=128, hidden2_units=32, batch_size=100,
                         printer=print):
    """Rebuilds the graph, restores `checkpoint` with a Saver and runs do_eval on `data_set`."""
    with tf.Graph().as_default():
        ops = build_graph(batch_size, hidden1_units, hidden2_units, learning_rate=0.01)
        saver = v1.train.Saver()
        with v1.Session() as sess:
            saver.restore(sess, checkpoint)
            return do_eval(sess, ops["eval_correct"], ops["images"], ops["labels"], data_set, printer)

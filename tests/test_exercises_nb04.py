"""Notebook 04's exercises, judged against oracles that do not use the reference solutions: a numpy
forward pass for top-k counts, an eager GradientTape run for last-layer training. Other right answers
must pass; wrong answers no catalogue names are refused with expected, got and the case."""

import numpy as np
import pytest
from exercise_answers import (
    assert_passes,
    assert_uncatalogued_wrong,
)

from tfcourse.exercises import nb04


def numpy_logits(weights, images):
    hidden1 = np.maximum(images @ weights["hidden1/weights"] + weights["hidden1/biases"], 0)
    hidden2 = np.maximum(hidden1 @ weights["hidden2/weights"] + weights["hidden2/biases"], 0)
    return hidden2 @ weights["softmax_linear/weights"] + weights["softmax_linear/biases"]


# ---------------------------------------------------------------- q1: top-k counts

def test_q1_reference_agrees_with_a_numpy_oracle_and_no_fraction_fits_every_case():
    fractions = set()
    for case, expected in zip(nb04.q1.cases(), nb04.q1._expected()):
        weights, images, labels, k = case.input
        logits = numpy_logits(weights, images.astype(np.float64))
        rank = (logits > logits[np.arange(len(labels)), labels][:, None]).sum(axis=1)  # 0: the top logit
        assert expected.value["count"] == int((rank < k).sum()), case.label
        fractions.add(round(expected.value["count"] / len(labels), 3))
    assert len(fractions) == len(nb04.q1.cases())


@pytest.mark.parametrize("source", [
    # the logits fetched, the ranking done in numpy
    """\
def count_top_k(sess, ops, images, labels, k):
    logits = sess.run(ops["logits"], {ops["images"]: images})
    top = np.argsort(-logits, axis=1)[:, :k]
    return int(sum(label in row for label, row in zip(labels, top)))
""",
    # tf.nn.top_k's indices compared with the labels, fetched as a bool vector
    """\
def count_top_k(sess, ops, images, labels, k):
    _, indices = tf.nn.top_k(ops["logits"], k=k)
    hits = tf.reduce_any(tf.equal(indices, tf.expand_dims(ops["labels"], 1)), axis=1)
    return int(np.sum(sess.run(hits, feed_dict={ops["images"]: images, ops["labels"]: labels})))
""",
], ids=["numpy-argsort", "top_k-indices"])
def test_q1_other_right_answers_pass(source):
    assert_passes(nb04.q1, source)


@pytest.mark.parametrize("source", [
    # the hole of the old exercise: every case had ceil(n / 2) right predictions
    """\
def count_top_k(sess, ops, images, labels, k):
    return (len(images) + 1) // 2
""",
    # k off by one
    """\
def count_top_k(sess, ops, images, labels, k):
    hits = tf.math.in_top_k(targets=ops["labels"], predictions=ops["logits"], k=k + 1)
    return int(sess.run(tf.reduce_sum(tf.cast(hits, tf.int32)), {ops["images"]: images, ops["labels"]: labels}))
""",
], ids=["ceil-half", "k-plus-one"])
def test_q1_uncatalogued_wrong_answers_are_refused_with_expected_got_and_case(source):
    assert_uncatalogued_wrong(nb04.q1, source, "on a batch of 30, k=3")


# ---------------------------------------------------------------- q2: the last layer only

def test_q2_reference_agrees_with_an_eager_tape_on_the_last_layer():
    import tensorflow as tf

    from tfcourse import mnist

    for case, expected in zip(nb04.q2.cases(), nb04.q2._expected()):
        batches, weights, learning_rate = case.input
        model = mnist.MLP(16, 8, weights=weights)
        last = [model.softmax_linear.weights, model.softmax_linear.biases]
        losses = []
        for images, labels in batches:
            with tf.GradientTape() as tape:
                loss = mnist.loss(model(images), labels)
            for variable, gradient in zip(last, tape.gradient(loss, last)):
                variable.assign_sub(learning_rate * gradient)
            losses.append(float(loss))
        np.testing.assert_allclose(expected.value["losses"], losses, rtol=1e-5, err_msg=case.label)
        assert expected.value["global_step"] == len(batches)


@pytest.mark.parametrize("source", [
    # the variables picked by name, compute_gradients + apply_gradients
    """\
from tfcourse import v1

def train_last_layer(batches, weights, learning_rate):
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 784])
        y = tf.compat.v1.placeholder(tf.int32, [None])
        loss = v1.loss(v1.inference(x, 16, 8, weights=weights), y)
        step = tf.compat.v1.train.get_or_create_global_step()
        last = [v for v in tf.compat.v1.trainable_variables() if v.name.startswith("softmax_linear/")]
        sgd = tf.compat.v1.train.GradientDescentOptimizer(learning_rate)
        train = sgd.apply_gradients(sgd.compute_gradients(loss, var_list=last), global_step=step)
        sess = tf.compat.v1.Session(graph=graph)
        sess.run(tf.compat.v1.global_variables_initializer())
        losses = [sess.run([train, loss], {x: images, y: labels})[1] for images, labels in batches]
        count = sess.run(step)
        sess.close()
    return losses, count
""",
    # the collection read with a scope, the step as an int64 variable
    """\
from tfcourse import v1

def train_last_layer(batches, weights, learning_rate):
    with tf.Graph().as_default():
        images_pl = tf.compat.v1.placeholder(tf.float32, shape=(None, 784))
        labels_pl = tf.compat.v1.placeholder(tf.int32, shape=(None,))
        loss = v1.loss(v1.inference(images_pl, 16, 8, weights=weights), labels_pl)
        global_step = tf.compat.v1.Variable(0, dtype=tf.int64, trainable=False)
        variables = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES, scope="softmax_linear")
        train_op = tf.compat.v1.train.GradientDescentOptimizer(learning_rate).minimize(
            loss, global_step=global_step, var_list=variables)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            losses = []
            for images, labels in batches:
                losses.append(sess.run({"train": train_op, "loss": loss}, {images_pl: images, labels_pl: labels})["loss"])
            return np.array(losses), sess.run(global_step)
""",
], ids=["by-name", "collection-scope"])
def test_q2_other_right_answers_pass(source):
    assert_passes(nb04.q2, source)


WRONG_TRAINING = """\
from tfcourse import v1

def train_last_layer(batches, weights, learning_rate):
    with tf.Graph().as_default():
        images_pl = tf.compat.v1.placeholder(tf.float32, shape=(None, 784))
        labels_pl = tf.compat.v1.placeholder(tf.int32, shape=(None,))
        loss = v1.loss(v1.inference(images_pl, 16, 8, weights=weights), labels_pl)
        global_step = tf.compat.v1.Variable(0, trainable=False)
        train_op = tf.compat.v1.train.GradientDescentOptimizer(RATE).minimize(
            loss, global_step=global_step, var_list=tf.compat.v1.trainable_variables(scope=SCOPE))
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            losses = [sess.run([train_op, loss], {images_pl: x, labels_pl: y})[1] for x, y in batches]
            return losses, sess.run(global_step)
"""


@pytest.mark.parametrize("scope,rate", [("hidden1", "learning_rate"), ("softmax_linear", "learning_rate / 2")],
                         ids=["first-layer-trained", "half-rate"])
def test_q2_uncatalogued_wrong_answers_are_refused_with_expected_got_and_case(scope, rate):
    source = WRONG_TRAINING.replace("SCOPE", repr(scope)).replace("RATE", rate)
    assert_uncatalogued_wrong(nb04.q2, source, "on 4 batches of 5", "the losses, step by step")


# ---------------------------------------------------------------- q3 and q4: predictions

@pytest.mark.parametrize("exercise,right", [(nb04.q3, 6), (nb04.q4, 7)], ids=["q3", "q4"])
def test_value_exercises_accept_the_count_as_int_float_or_numpy(exercise, right):
    for form in (f"{right}", f"{right}.0", f"np.int64({right})"):
        assert_passes(exercise, f"{exercise.answer} = {form}\n")


@pytest.mark.parametrize("exercise,wrong", [(nb04.q3, 3), (nb04.q3, 12), (nb04.q4, 9), (nb04.q4, 1)],
                         ids=["q3-3", "q3-12", "q4-9", "q4-1"])
def test_value_exercises_refuse_plausible_wrong_counts(exercise, wrong):
    assert_uncatalogued_wrong(exercise, f"{exercise.answer} = {wrong}\n", str(wrong))


# ---------------------------------------------------------------- q5: the restore to repair

def test_q5_reference_counts_what_the_saved_weights_classify_right(tmp_path):
    import tensorflow as tf

    for case, expected in zip(nb04.q5.cases(), nb04.q5._expected()):
        seed, num_steps, batch = case.input
        path, _ = nb04._saved_run(seed, num_steps, str(tmp_path / case.label.replace(" ", "_")))
        reader = tf.train.load_checkpoint(path)
        saved = {name: reader.get_tensor(name) for name, _ in tf.train.list_variables(path) if name != "global_step"}
        images, labels = nb04._ranked_batch(np.random.default_rng(seed + 100), saved, batch, right_share=0.6)
        count = int((np.argmax(numpy_logits(saved, images.astype(np.float64)), axis=1) == labels).sum())
        assert expected.value["count"] == count and 0 < count < batch, case.label


@pytest.mark.parametrize("source", [
    # the initializer moved before the restore
    nb04.RESTORE_IMPORT + nb04.RESTORE_BROKEN.replace(
        "            saver.restore(sess, path)\n            sess.run(tf.compat.v1.global_variables_initializer())\n",
        "            sess.run(tf.compat.v1.global_variables_initializer())\n            saver.restore(sess, path)\n"),
    # the graph written by hand, the count done in numpy
    """\
from tfcourse import v1

def evaluate_checkpoint(path, images, labels):
    graph = tf.Graph()
    with graph.as_default():
        images_pl = tf.compat.v1.placeholder(tf.float32, (None, 784))
        logits = v1.inference(images_pl, 16, 8)
        saver = tf.compat.v1.train.Saver(tf.compat.v1.trainable_variables())
    with tf.compat.v1.Session(graph=graph) as sess:
        saver.restore(sess, path)
        predictions = np.argmax(sess.run(logits, {images_pl: images}), axis=1)
    return int(np.sum(predictions == labels))
""",
], ids=["init-first", "by-hand"])
def test_q5_other_right_answers_pass(source):
    assert_passes(nb04.q5, source)


@pytest.mark.parametrize("source", [
    # the share, not the count
    nb04.RESTORE_IMPORT + nb04.RESTORE_SOLUTION.replace(
        "return int(sess.run(", "return float(len(images) and sess.run(").replace(
        'ops["labels"]: labels}))', 'ops["labels"]: labels})) / len(images)'),
    # top-2 instead of top-1
    nb04.RESTORE_IMPORT + nb04.RESTORE_SOLUTION.replace(
        'sess.run(ops["eval_correct"],',
        'sess.run(tf.reduce_sum(tf.cast(tf.math.in_top_k(ops["labels"], ops["logits"], 2), tf.int32)),'),
], ids=["share", "top-2"])
def test_q5_uncatalogued_wrong_answers_are_refused_with_expected_got_and_case(source):
    assert_uncatalogued_wrong(nb04.q5, source, "on a checkpoint after 30 steps, a batch of 40")

"""Notebook 09's exercises judged against independent oracles: right answers written other ways
pass, wrong answers no catalogue names fail with expected, got and where."""

import json
import os
import textwrap

import numpy as np
import pytest

from tfcourse.exercises import core
from tfcourse.exercises import nb09 as ex


def answer(exercise, source):
    return core.run_source(textwrap.dedent(source), exercise.answer, f"<{exercise.id} test answer>")


def assert_passes(exercise, value):
    result = exercise.evaluate(value)
    assert (result.status, result.mistake) == ("passed", None), result.message


def assert_uncatalogued_mistake(exercise, value, *must_say):
    result = exercise.evaluate(value)
    assert (result.status, result.mistake) == ("mistake", core.WRONG_RESULT), (result.status, result.message)
    for text in must_say:
        assert text in result.message, result.message


# ---------------------------------------------------------------- q1: accuracy under strategy.run

def test_q1_reference_agrees_with_a_one_device_numpy_oracle():
    from tfcourse import mnist

    for case, expected in zip(ex.q1.cases(), ex.q1._expected()):
        model = mnist.MLP(16, 8, seed=case.input["seed"])  # the same initial weights, no strategy
        labels = ex._accuracy_labels(model, case.input)
        logits = model(case.input["images"]).numpy()
        oracle = np.mean(np.argmax(logits, axis=1) == labels)
        assert np.isclose(float(expected.value), oracle, rtol=1e-6), case.label
    # The cases are no constant: the accuracies differ.
    assert len({round(float(e.value), 4) for e in ex.q1._expected()}) >= 3


@pytest.mark.parametrize("source", [
    """\
    def distributed_accuracy(strategy, model, images, labels, global_batch_size):
        def replica(images, labels):
            hits = tf.math.count_nonzero(tf.math.argmax(model(images), -1, output_type=tf.int32) == labels)
            return hits, tf.size(labels, out_type=tf.int64)
        hits, seen = strategy.run(replica, args=(images, labels))
        total_hits = strategy.reduce(tf.distribute.ReduceOp.SUM, hits, axis=None)
        total_seen = strategy.reduce(tf.distribute.ReduceOp.SUM, seen, axis=None)
        return tf.cast(total_hits, tf.float32) / tf.cast(total_seen, tf.float32)
    """,
    """\
    import keras

    def distributed_accuracy(strategy, model, images, labels, global_batch_size):
        def replica(images, labels):
            right = keras.metrics.sparse_categorical_accuracy(labels, model(images))
            return tf.reduce_sum(right)
        per_replica = strategy.run(replica, args=(images, labels))
        return float(strategy.reduce("sum", per_replica, axis=None)) / global_batch_size
    """,
])
def test_q1_other_right_answers_pass(source):
    assert_passes(ex.q1, answer(ex.q1, source))


@pytest.mark.parametrize("source", [
    """\
    def distributed_accuracy(strategy, model, images, labels, global_batch_size):
        def replica(images, labels):
            predicted = tf.argmax(model(images), axis=1, output_type=tf.int32)
            return tf.reduce_sum(tf.cast(predicted != labels, tf.float32))
        wrong = strategy.reduce("SUM", strategy.run(replica, args=(images, labels)), axis=None)
        return wrong / global_batch_size
    """,
    """\
    def distributed_accuracy(strategy, model, images, labels, global_batch_size):
        def replica(images, labels):
            predicted = tf.argmax(model(images), axis=1, output_type=tf.int32)
            return tf.reduce_sum(tf.cast(predicted == labels, tf.float32))
        right = strategy.reduce("SUM", strategy.run(replica, args=(images, labels)), axis=None)
        return right / strategy.num_replicas_in_sync
    """,
])
def test_q1_uncatalogued_wrong_answers_say_expected_got_and_where(source):
    assert_uncatalogued_mistake(ex.q1, answer(ex.q1, source), "expected", "got", "a global batch of 6")


def test_q1_mean_of_replica_accuracies_is_named():
    # The trap the uneven cases exist for: right on 3 + 3, wrong on 3 + 2 and NaN on 1 + 0.
    result = ex.q1.evaluate(ex.q1.answer_with("mean_of_replica_accuracies"))
    assert result.mistake == "mean_of_replica_accuracies", result.message


# ---------------------------------------------------------------- q2: a worker's TF_CONFIG

def test_q2_reference_agrees_with_tensorflows_resolver_on_hand_written_json():
    import tensorflow as tf

    reference = ex.q2.reference()
    for case in ex.q2.cases():
        host, ports, index = case.input
        os.environ["TF_CONFIG"] = json.dumps(reference(*case.input))
        try:
            resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
            assert resolver.cluster_spec().as_dict() == {"worker": [f"{host}:{p}" for p in ports]}
            assert (resolver.task_type, resolver.task_id) == ("worker", index)
        finally:
            del os.environ["TF_CONFIG"]


@pytest.mark.parametrize("source", [
    """\
    import json

    def worker_tf_config(host, ports, index):
        return json.dumps({"task": {"index": index, "type": "worker"},
                           "cluster": {"worker": ["%s:%d" % (host, p) for p in ports]}})
    """,
    """\
    def worker_tf_config(host, ports, index):
        addresses = list(map(lambda port: host + ":" + str(port), ports))
        return dict(cluster=dict(worker=addresses), task=dict(type="worker", index=int(index)))
    """,
])
def test_q2_other_right_answers_pass(source):
    assert_passes(ex.q2, answer(ex.q2, source))


@pytest.mark.parametrize("source", [
    """\
    def worker_tf_config(host, ports, index):
        return {"cluster": {"worker": [f"{host}:{port}" for port in reversed(ports)]},
                "task": {"type": "worker", "index": index}}
    """,
    """\
    def worker_tf_config(host, ports, index):
        return {"cluster": {"worker": [f"{host}:{port + 1}" for port in ports]},
                "task": {"type": "worker", "index": index}}
    """,
])
def test_q2_uncatalogued_wrong_answers_say_expected_got_and_where(source):
    assert_uncatalogued_mistake(ex.q2, answer(ex.q2, source), "expected", "reads the cluster", "worker 0 of 2")


# ---------------------------------------------------------------- q3: the last, partial batch

def test_q3_expected_split_is_what_tensorflow_does_with_the_last_batch():
    left = ex.NUM_EXAMPLES % ex.GLOBAL_BATCH
    assert ex._last_step_split() == [-(-left // 2), left // 2]


@pytest.mark.parametrize("value", [[13, 12], (13.0, 12.0), np.array([13, 12])])
def test_q3_right_split_in_every_form_passes(value):
    assert_passes(ex.q3, value)


@pytest.mark.parametrize("value", [[10, 15], [25, 25]])
def test_q3_plausible_wrong_splits_fail_with_expected_and_got(value):
    assert_uncatalogued_mistake(ex.q3, value, "[13, 12]", str(value))


# ---------------------------------------------------------------- q4: predict the staleness

@pytest.mark.parametrize("value", [[0, 1, 2, 3, 3, 3, 3, 3], np.array([0, 1, 2, 3, 3, 3, 3, 3]),
                                   (0.0, 1.0, 2.0, 3.0, 3.0, 3.0, 3.0, 3.0)])
def test_q4_right_prediction_in_every_form_passes(value):
    assert_passes(ex.q4, value)


@pytest.mark.parametrize("value", [[0, 1, 2, 3, 3, 3, 3, 4], [0, 0, 1, 1, 2, 2, 3, 3]])
def test_q4_plausible_wrong_predictions_fail_with_expected_and_got(value):
    assert_uncatalogued_mistake(ex.q4, value, "[0, 1, 2, 3, 3, 3, 3, 3]", str(value))

"""API misuse: wrong shapes, dtypes, label values and sizes raise ValueError saying what was expected.

Complements test_mnist_model.py (bad images/units for MLP, labels out of 0..9),
test_read_data_sets.py (next_batch sizes, validation_size) and test_pipeline.py
(make_dataset batch sizes). Every error is a CourseError, hence a ValueError.
"""

import numpy as np
import pytest
import tensorflow as tf

from tfcourse import mnist, v1
from tfcourse.datasets import DataSet
from tfcourse.datasets.pipeline import make_dataset, textbook_pipeline
from tfcourse.errors import CourseError

LOGITS = np.zeros((2, 10), np.float32)


def _split(n=5):
    return DataSet(np.zeros((n, 28, 28), np.uint8), np.arange(n) % 10)


@pytest.mark.parametrize("function", [mnist.loss, mnist.evaluation, mnist.per_example_loss])
@pytest.mark.parametrize("logits, labels, message", [
    (LOGITS, np.array([0.5, 2.0], np.float32), r"labels must be integer class ids 0\.\.9 .*got dtype float32"),
    (LOGITS, ["a", "b"], r"labels must be integer class ids .*got dtype string"),
    (LOGITS, np.eye(10, dtype=np.int64)[[1, 2]], r"labels must be a \[batch\] vector of class ids, got shape \[2, 10\]"),
    (LOGITS, np.array([1, 2, 3]), "labels hold 3 examples but logits 2"),
    (np.zeros((2, 5), np.float32), np.array([1, 2]), r"logits must be \[batch, 10\], got shape \[2, 5\]"),
    (LOGITS, np.array([3, 10]), r"labels must lie in 0\.\.9, got values 3\.\.10"),
])
def test_loss_and_evaluation_reject_bad_labels_and_logits(function, logits, labels, message):
    with pytest.raises(ValueError, match=message):
        function(logits, labels)


def test_label_checks_run_at_trace_time_only():
    # Inside tf.function only the static dtype/shape checks run (once, while tracing).
    traced = tf.function(mnist.loss)
    assert float(traced(tf.constant(LOGITS), tf.constant([1, 2]))) == pytest.approx(np.log(10.0), rel=1e-6)
    with pytest.raises(CourseError, match="labels hold 3 examples but logits 2"):
        traced(tf.constant(LOGITS), tf.constant([1, 2, 3]))
    with pytest.raises(CourseError, match="got dtype float32"):
        traced(tf.constant(LOGITS), tf.constant([1.0, 2.0]))


@pytest.mark.parametrize("weights, message", [
    ({}, "weights has no 'hidden1/weights'"),
    ({**mnist.initial_weights(8, 8), "hidden2/weights": np.zeros((8, 3), np.float32)},
     r"weights\['hidden2/weights'\] has shape \[8, 3\], expected \[8, 8\]"),
])
def test_mlp_rejects_weights_of_another_shape(weights, message):
    with pytest.raises(CourseError, match=message):
        mnist.MLP(8, 8, weights=weights)


def test_initial_weights_rejects_non_positive_units():
    with pytest.raises(CourseError, match="hidden1_units must be a positive integer, got 0"):
        mnist.initial_weights(0, 8)


def _in_graph(function):
    with tf.Graph().as_default():
        return function()


@pytest.mark.parametrize("build, message", [
    (lambda: v1.inference(v1.v1.placeholder(tf.float32, (None, 100)), 8, 8),
     r"images must be a \[batch, 784\] float32 tensor, got shape \[None, 100\] dtype float32"),
    (lambda: v1.inference(v1.v1.placeholder(tf.int32, (None, 784)), 8, 8),
     r"images must be a \[batch, 784\] float32 tensor, got shape \[None, 784\] dtype int32"),
    (lambda: v1.inference(v1.v1.placeholder(tf.float32, (None, 784)), 0, 8),
     "hidden1_units must be a positive integer, got 0"),
    (lambda: v1.placeholder_inputs(0), "batch_size must be a positive integer, got 0"),
    (lambda: v1.placeholder_inputs(2.5), "batch_size must be a positive integer, got 2.5"),
    (lambda: v1.loss(tf.zeros([2, 10]), v1.v1.placeholder(tf.float32, [2])), "got dtype float32"),
    (lambda: v1.evaluation(tf.zeros([2, 10]), v1.v1.placeholder(tf.int32, [3])), "labels hold 3 examples but logits 2"),
    (lambda: v1.training(tf.constant(1.0), -1.0), "learning_rate must be a positive finite number, got -1.0"),
])
def test_v1_graph_builders_reject_misuse(build, message):
    with pytest.raises(CourseError, match=message):
        _in_graph(build)


@pytest.mark.parametrize("kwargs, message", [
    (dict(batch_size=6), r"batch_size 6 is larger than the train split \(5 examples\)"),
    (dict(max_steps=0), "max_steps must be a positive integer, got 0"),
    (dict(learning_rate=float("nan")), "learning_rate must be a positive finite number, got nan"),
])
def test_v1_run_training_checks_before_building_anything(kwargs, message, tmp_path):
    from tfcourse.datasets import Datasets

    data_sets = Datasets(_split(5), _split(5), _split(5))
    with pytest.raises(CourseError, match=message):
        v1.run_training(data_sets, str(tmp_path / "logs"), **{"batch_size": 2, **kwargs})
    assert not (tmp_path / "logs").exists()


@pytest.mark.parametrize("images, labels, message", [
    (np.zeros((3, 100), np.float32), [0, 1, 2], r"images must be \[N, 28, 28\] or \[N, 784\], got shape \[3, 100\]"),
    (np.zeros(3, np.uint8), [0, 1, 2], r"got shape \[3\]"),
    (np.zeros((3, 784), np.int64), [0, 1, 2], "images must be uint8 .* or float .*, got dtype int64"),
    (np.zeros((3, 784), np.uint8), [0, 1], "3 images but 2 labels"),
    (np.zeros((3, 784), np.uint8), [0.0, 1.0, 2.0], r"labels must be \[N\] integer class ids 0\.\.9 .* dtype float64"),
    (np.zeros((3, 784), np.uint8), [0, 1, 12], r"labels must lie in 0\.\.9, got 0\.\.12"),
    (np.zeros((3, 784), np.uint8), [-1, 1, 2], r"labels must lie in 0\.\.9, got -1\.\.2"),
])
def test_dataset_rejects_bad_images_and_labels(images, labels, message):
    with pytest.raises(ValueError, match=message):
        DataSet(images, np.asarray(labels))


def test_dataset_accepts_float64_images_as_float32():
    split = DataSet(np.full((3, 784), 0.5), np.array([0, 1, 2]))
    assert split.images.dtype == np.float32 and float(split.images[0, 0]) == 0.5


class _Split:
    """Any object with .images and .labels, as make_dataset documents."""

    def __init__(self, images, labels):
        self.images, self.labels = images, labels


@pytest.mark.parametrize("build, message", [
    (lambda: make_dataset(_Split(np.zeros((5, 100), np.float32), np.arange(5)), 2),
     r"images must be \[N, 784\] float32 .*got shape \[5, 100\] dtype float32"),
    (lambda: make_dataset(_Split(np.zeros((5, 784), np.uint8), np.arange(5)), 2), "got shape \\[5, 784\\] dtype uint8"),
    (lambda: make_dataset(_Split(np.zeros((5, 784), np.float32), np.arange(3)), 2), "5 images but 3 labels"),
    (lambda: textbook_pipeline(_Split(np.zeros((5, 784), np.float32), np.arange(3)), 2), "5 images but 3 labels"),
    (lambda: make_dataset(_split(), 2, epochs=0), r"epochs must be a positive integer \(or None\), got 0"),
    (lambda: make_dataset(_split(), 2, epochs=-1), "got -1"),
    (lambda: make_dataset(_split(), 2, batches_per_element=0), "batches_per_element must be a positive integer"),
    (lambda: make_dataset(_split(), 6), r"batch_size 6 is larger than the split \(5 examples\)"),
])
def test_make_dataset_rejects_misuse_when_built(build, message):
    with pytest.raises(CourseError, match=message):
        build()


def test_train_on_a_truncated_data_file_exits_2_naming_it_before_any_training(tmp_path, capsys):
    import shutil

    from tfcourse import cli
    from tfcourse.datasets import locate

    data = tmp_path / "mnist"
    data.mkdir()
    for name in locate.FILES:
        shutil.copy(locate.find_file(locate.CHECKOUT_DIR, name), data)
    broken = data / (locate.TEST_LABELS + ".gz")
    broken.write_bytes(broken.read_bytes()[:-100])
    code = cli.main(["train", "--input_data_dir", str(data), "--log_dir", str(tmp_path / "logs"), "--no_progress"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f"tfcourse train: error: {broken}: ")
    assert not (tmp_path / "logs").exists()  # no run directory, no checkpoint: training never began


def test_negative_validation_size_is_refused():
    from tfcourse.datasets import read_data_sets

    with pytest.raises(ValueError, match="validation_size must be a non-negative integer, got -1"):
        read_data_sets(fake_data=True, validation_size=-1)

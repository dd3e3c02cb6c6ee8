import numpy as np
import pytest
import tensorflow as tf

from tfcourse import events
from tfcourse.errors import CourseError


def test_read_scalars_reads_tf2_and_tf1_summaries(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path / "train"))
    with writer.as_default():
        for step, loss in [(2, 0.5), (1, 0.9), (3, 0.25)]:
            tf.summary.scalar("loss", loss, step=step)
        tf.summary.histogram("weights", [1.0, 2.0, 3.0], step=1)  # not a scalar: left out
        tf.summary.text("note", "hello", step=1)  # a rank-0 string tensor: left out
    writer.close()
    with tf.Graph().as_default():
        v1 = tf.compat.v1.summary.FileWriter(str(tmp_path / "v1"))
        for step in (0, 10):
            summary = tf.compat.v1.Summary(value=[tf.compat.v1.Summary.Value(tag="xent", simple_value=step / 10)])
            v1.add_summary(summary, step)
        v1.close()

    assert events.list_runs(tmp_path) == ["train", "v1"]
    assert sorted(events.read_scalars(tmp_path / "train")) == ["loss"]
    steps, values = events.read_scalars(tmp_path / "train")["loss"]
    np.testing.assert_array_equal(steps, [1, 2, 3])
    np.testing.assert_allclose(values, [0.9, 0.5, 0.25])
    steps, values = events.read_scalars(tmp_path / "v1")["xent"]
    np.testing.assert_array_equal(steps, [0, 10])
    np.testing.assert_allclose(values, [0.0, 1.0])
    assert events.histogram_tags(tmp_path / "train") == ["weights"]
    assert events.histogram_tags(tmp_path / "v1") == [] and events.traced_graph_ops(tmp_path / "train") == {}


def test_missing_event_files_is_a_course_error(tmp_path):
    for read in (events.read_scalars, events.histogram_tags, events.traced_graph_ops):
        with pytest.raises(CourseError, match="no event files"):
            read(tmp_path)
    with pytest.raises(CourseError, match="no such log directory"):
        events.list_runs(tmp_path / "absent")


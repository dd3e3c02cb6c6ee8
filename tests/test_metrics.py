import numpy as np
import pytest

from tfcourse import metrics
from tfcourse.errors import CourseError


def test_confusion_matrix_counts_pairs():
    labels = np.array([0, 1, 2, 2, 2, 1])
    predictions = np.array([0, 2, 2, 1, 1, 1])
    matrix = metrics.confusion_matrix(labels, predictions, num_classes=3)
    np.testing.assert_array_equal(matrix, [[1, 0, 0], [0, 1, 1], [0, 2, 1]])
    logits = np.eye(3)[predictions] * 5.0
    np.testing.assert_array_equal(metrics.confusion_matrix(np.eye(3)[labels], logits, 3), matrix)


def test_most_confused_orders_by_count_then_classes():
    matrix = np.array([[5, 2, 0], [2, 5, 3], [0, 1, 5]])
    assert metrics.most_confused(matrix, k=3) == [(1, 2, 3), (0, 1, 2), (1, 0, 2)]


def test_bad_input():
    with pytest.raises(CourseError, match="same length"):
        metrics.confusion_matrix([0, 1], [0])
    with pytest.raises(CourseError, match="0..2"):
        metrics.confusion_matrix([0, 3], [0, 1], num_classes=3)

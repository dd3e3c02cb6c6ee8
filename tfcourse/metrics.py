"""Numbers that say where a classifier goes wrong: the confusion matrix and its worst cells.

Precision@1 itself is the model's `evaluation` (tfcourse.mnist); these look past the
single number at which digits get mistaken for which.
"""

import numpy as np

from tfcourse.errors import CourseError


def confusion_matrix(labels, predictions, num_classes=10):
    """Counts of (true, predicted) pairs.

    Args:
      labels: [N] true class ids (or [N, C] one-hot rows).
      predictions: [N] predicted class ids (or [N, C] logits/probabilities).
    Returns:
      int64 [num_classes, num_classes]; row = true class, column = predicted class.
    """
    labels = np.asarray(labels)
    predictions = np.asarray(predictions)
    if labels.ndim == 2:
        labels = labels.argmax(axis=1)
    if predictions.ndim == 2:
        predictions = predictions.argmax(axis=1)
    if labels.shape != predictions.shape:
        raise CourseError(f"labels {labels.shape} and predictions {predictions.shape} must have the same length")
    for name, values in (("labels", labels), ("predictions", predictions)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise CourseError(f"{name} must lie in 0..{num_classes - 1}, got {values.min()}..{values.max()}")
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels.astype(np.int64), predictions.astype(np.int64)), 1)
    return matrix


def most_confused(matrix, k=5):
    """The k largest off-diagonal cells: [(true, predicted, count), ...], largest first.

    Ties are broken by (true, predicted) so the list is reproducible.
    """
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise CourseError(f"confusion matrix must be square [C, C], got shape {matrix.shape}")
    cells = [(int(matrix[t, p]), t, p) for t in range(matrix.shape[0]) for p in range(matrix.shape[1])
             if t != p and matrix[t, p] > 0]
    cells.sort(key=lambda c: (-c[0], c[1], c[2]))
    return [(t, p, count) for count, t, p in cells[:k]]

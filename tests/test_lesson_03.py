"""The proof notebook 03 no longer asserts on the page: its stored outputs (from a full run) read back,
and the lesson's own `loss` and `training_step` cells run against the library."""

import ast
import pathlib
import re

import numpy as np
from exercise_answers import lesson_cells, lesson_outputs

NOTEBOOK = pathlib.Path(__file__).parents[1] / "notebooks" / "03_loss_and_training.ipynb"


def notebook_functions(*names):
    """The notebook's definitions of `names`, executed in a namespace with the imports they use."""
    import keras
    import tensorflow as tf

    namespace = {"tf": tf, "keras": keras, "np": np}
    for cell in lesson_cells(NOTEBOOK):
        if cell.cell_type != "code":
            continue
        for node in ast.parse(cell.source).body:
            if isinstance(node, ast.FunctionDef) and node.name in names:
                exec(compile(ast.Module([node], []), str(NOTEBOOK), "exec"), namespace)  # noqa: S102 - our notebook
    assert all(name in namespace for name in names), names
    return [namespace[name] for name in names]


def test_the_lessons_step_moves_every_weight_as_the_librarys():
    import keras

    from tfcourse import mnist
    from tfcourse.training import steps

    loss, training_step = notebook_functions("loss", "training_step")
    rng = np.random.default_rng(0)
    images = rng.uniform(size=[32, 784]).astype(np.float32)
    labels = rng.integers(0, 10, 32).astype(np.int32)
    ours, theirs = mnist.MLP(32, 16, seed=1), mnist.MLP(32, 16, seed=1)
    before = ours.get_weights()
    np.testing.assert_allclose(float(loss(ours(images), labels)), float(mnist.loss(ours(images), labels)), rtol=1e-6)
    training_step(ours, keras.optimizers.SGD(0.1), images, labels)
    steps.training_step(theirs, keras.optimizers.SGD(0.1), images, labels)
    for name, value in theirs.get_weights().items():
        assert not np.array_equal(ours.get_weights()[name], before[name]), name
        np.testing.assert_allclose(ours.get_weights()[name], value, rtol=1e-6, atol=1e-8, err_msg=name)


def test_stored_outputs_show_what_the_prose_claims():
    printed = lesson_outputs(NOTEBOOK)
    by_hand, library = map(float, re.search(r"cross-entropy by hand ([\d.]+), mnist.loss ([\d.]+)", printed).groups())
    assert by_hand == library and abs(library - np.log(10)) < 0.05  # "close to ln 10"
    assert "logit 1000: numpy by hand nan, TensorFlow 0.0" in printed
    gap = float(re.search(r"largest difference from \(softmax - one_hot\) / batch: ([\d.e+-]+)", printed).group(1))
    assert gap < 1e-6
    moved, apart = map(float, re.search(r"at most ([\d.e+-]+); ours and the library's differ by at most ([\d.e+-]+)",
                                        printed).groups())
    assert moved > 0 and apart == 0
    first, last = map(float, re.search(r"loss: first step ([\d.]+), last step ([\d.]+)", printed).groups())
    assert last < first
    test = float(re.search(r"test\s+precision@1 = ([\d.]+)", printed).group(1))
    expected = float(re.search(r"expects more than ([\d.]+)", printed).group(1))
    assert test > expected == 0.97
    total, diagonal, counted = map(int, re.search(r"(\d+) test digits, (\d+) on the diagonal \(do_eval counted (\d+)",
                                                  printed).groups())
    assert total == 10000 and diagonal == counted


def test_the_confusion_matrix_counts_rows_as_truths_and_columns_as_predictions():
    from tfcourse import metrics

    rng = np.random.default_rng(1)
    truth, predicted = rng.integers(0, 10, 500), rng.integers(0, 10, 500)
    confusion = metrics.confusion_matrix(truth, predicted)
    assert (confusion.sum(axis=1) == np.bincount(truth, minlength=10)).all()
    assert (confusion.sum(axis=0) == np.bincount(predicted, minlength=10)).all()
    assert (np.diag(confusion) == np.bincount(truth[truth == predicted], minlength=10)).all()


def test_the_trainer_display_is_a_slice_of_at_most_45_lines():
    import nbformat

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    shown = [output for cell in notebook.cells if "source.show(training.Trainer" in cell.source
             for output in cell.outputs]
    text = "".join(shown[0]["data"]["text/plain"])
    assert "def _train_steps" in text and len(text.splitlines()) <= 45

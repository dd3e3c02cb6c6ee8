"""Notebook 07's claim, run: Keras 3's `model.fit` fails under MultiWorkerMirroredStrategy with
two worker processes (keras-team/keras#20585). When a Keras release fixes it, this test fails:
then notebook 07's section 5 must say so."""

import io
import sys

import pytest

from tfcourse.distribute import keras_fit, processes


def test_one_line_leaves_out_the_per_replica_tensors():
    error = ValueError("Attempt to convert a value (PerReplica:{\n  0: <tf.Tensor: shape=(2, 3)\n"
                       "array([[1, 2, 3],\n       [4, 5, 6]])>\n}) with an unsupported type (<class 'x'>) to a Tensor.")
    assert keras_fit.one_line(error) == (
        "ValueError: Attempt to convert a value (PerReplica:{...}) with an unsupported type (<class 'x'>) to a Tensor.")


@pytest.mark.slow
def test_fit_fails_under_two_workers():
    out = io.StringIO()
    result = processes.launch([sys.executable, "-m", "tfcourse.distribute.keras_fit"], 2, timeout=240, out=out)
    lines = [line for line in out.getvalue().splitlines() if " fit: " in line]
    assert result.returncode == 0 and len(lines) == 2, out.getvalue()[-3000:]
    for line in lines:
        assert "fit: failed: ValueError: Attempt to convert a value (PerReplica:{...}) with an unsupported type" \
               in line, line


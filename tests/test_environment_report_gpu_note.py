"""The environment report says why there is no GPU and where TensorFlow's probe lines went.

A CUDA build of TensorFlow on a machine without a GPU logs "Could not find cuda drivers" and
"failed call to cuInit" while it loads; `startup.import_tensorflow` sets them aside, and the
report's gpus line says so, so a newcomer neither sees a false alarm nor loses the lines.
"""

import subprocess
import sys

import tensorflow as tf
from conftest import REPO


def test_the_gpu_line_explains_a_cuda_build_without_a_gpu_and_stderr_stays_clean():
    result = subprocess.run([sys.executable, "-m", "tfcourse", "info"], capture_output=True, text=True,
                            timeout=180, cwd=REPO)
    assert result.returncode == 0, result.stderr
    gpus = next(line for line in result.stdout.splitlines() if line.startswith("gpus"))
    if tf.test.is_built_with_cuda() and not tf.config.list_physical_devices("GPU"):
        assert "this CUDA build runs on the CPU here" in gpus and "start-up notices set aside" in gpus, gpus
        assert "cuInit" not in result.stderr and "cuda drivers" not in result.stderr, result.stderr
    else:
        assert "set aside" not in gpus, gpus

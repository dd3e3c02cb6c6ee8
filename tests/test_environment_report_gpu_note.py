"""The environment report explains TensorFlow's GPU-probe lines exactly where they appear.

A CUDA build of TensorFlow on a machine without a GPU logs "Could not find cuda drivers" and
"failed call to cuInit" while it loads; notebook 00's first cell shows them to every newcomer.
"""

import tensorflow as tf

from tfcourse.environment import environment_report


def test_the_report_calls_the_cuda_lines_expected_only_on_a_cuda_build_without_a_gpu():
    report = environment_report(relative=True)
    expected_here = tf.test.is_built_with_cuda() and not tf.config.list_physical_devices("GPU")
    note = [line for line in report if "cuInit" in line or "cuda drivers" in line]
    assert bool(note) == expected_here, report
    if expected_here:
        # The note follows the lines it explains and says the run continues on the CPU.
        assert report.index(note[0]) == report.index("cuda build  True") + 1
        assert "expected" in "\n".join(note) and "runs on the CPU" in "\n".join(note)

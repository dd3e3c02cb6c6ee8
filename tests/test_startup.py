"""TensorFlow's harmless start-up notices are set aside; every other stderr line still shows."""

import subprocess
import sys
import textwrap

import nbformat
import pytest
from conftest import REPO
from nbclient import NotebookClient

from tfcourse import startup

ONEDNN = ("I0000 00:00:1796150871.717826   14956 port.cc:153] oneDNN custom operations are on. You may see "
          "slightly different numerical results due to floating-point round-off errors.")
CUDA = "I0000 00:00:1.7   14956 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used."
CUINIT = "E0000 00:00:1.9   14956 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: UNKNOWN ERROR (303)"
REAL = "E0000 00:00:1.9   14956 some_kernel.cc:12] Out of memory while allocating 4.0GiB"


def test_the_driver_lines_are_harmless_only_where_no_driver_is_installed():
    text = "\n".join([ONEDNN, CUDA, CUINIT, REAL, ""])
    assert startup.sort_lines(text, driver_installed=False) == ([ONEDNN, CUDA, CUINIT], [REAL])
    # With a driver present, failing to start it is a real problem: the student must see it.
    assert startup.sort_lines(text, driver_installed=True) == ([ONEDNN], [CUDA, CUINIT, REAL])


def _run(code):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=180, cwd=REPO)


def test_an_unknown_line_written_while_tensorflow_loads_is_written_back():
    result = _run("""
        import importlib.abc, os, sys
        class Noisy(importlib.abc.MetaPathFinder):  # writes to descriptor 2 while TensorFlow loads
            def find_spec(self, name, path, target=None):
                if name == "tensorflow":
                    os.write(2, b"E0000 something real went wrong\\n")
                return None
        sys.meta_path.insert(0, Noisy())
        from tfcourse import startup
        startup.import_tensorflow()
        print(len(startup.notices()))
    """)
    assert result.returncode == 0, result.stderr
    assert "E0000 something real went wrong" in result.stderr
    assert "oneDNN custom operations" not in result.stderr and "absl::InitializeLog" not in result.stderr
    assert int(result.stdout.split()[-1]) >= 1  # the oneDNN notice at least: kept, not printed


@pytest.mark.slow
def test_a_notebooks_first_cell_stores_the_short_report_and_no_stderr():
    """The first cell as every notebook has it, run in a real kernel: at most 12 lines, no stderr."""
    first = nbformat.read(REPO / "notebooks" / "03_loss_and_training.ipynb", as_version=4).cells[1]
    assert "environment_report" in first.source
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(first.source)])
    NotebookClient(notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}).execute()
    outputs = notebook.cells[0].outputs
    assert [o.get("name") for o in outputs if o.output_type == "stream"] == ["stdout"], outputs
    lines = outputs[0].text.splitlines()
    assert 8 <= len(lines) <= 12 and lines[2].startswith("tensorflow  "), lines


def test_the_report_counts_the_logical_cpu_devices_a_notebook_made():
    result = _run("""
        from tfcourse.distribute import devices
        devices.use_logical_cpus(3)
        from tfcourse.environment import environment_report
        print(next(line for line in environment_report() if line.startswith("cpus")))
        import tensorflow as tf
        print(len(tf.config.list_logical_devices("CPU")))
    """)
    assert result.returncode == 0, result.stderr
    cpus, count = result.stdout.strip().splitlines()[-2:]
    assert count == "3" and cpus.endswith("TensorFlow runs them as 3 logical devices, /CPU:0 to /CPU:2"), cpus

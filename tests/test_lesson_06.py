"""Notebook 06's proof, out of the lesson: its stored outputs (a full run) say what the prose
claims, the writer's queue behaves as section 1 teaches, and the commands it gives work.
"""

import os
import re
import subprocess
import sys
import tempfile

import nbformat
import pytest
import tensorflow as tf

from tfcourse import events
from tfcourse.commands import tensorboard as tensorboard_command

NOTEBOOK = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "notebooks",
                        "06_tensorboard.ipynb")


@pytest.fixture(scope="module")
def notebook():
    return nbformat.read(NOTEBOOK, as_version=4)


def output_of(notebook, cell_id):
    cell = next(c for c in notebook.cells if c.get("id") == cell_id)
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def lesson_cells(notebook):
    """The lesson's cells after the environment report (whose run folder line is not the lesson's)."""
    return [c for c in notebook.cells[2:] if "exercises" not in c.metadata.get("tags", [])]


def test_the_lesson_has_few_asserts_and_names_no_machinery(notebook):
    code = "\n".join(c.source for c in lesson_cells(notebook) if c.cell_type == "code")
    assert len(re.findall(r"^\s*(assert\b|np\.testing\.assert)", code, re.M)) <= 3
    text = "\n".join(c.source for c in lesson_cells(notebook)) + "\n".join(
        output_of(notebook, c.get("id")) for c in lesson_cells(notebook) if c.cell_type == "code")
    for word in (".tfcourse.lock", "scripts/", "headless", "Chromium", "tests/", "<tmp>", "/tmp/", "site-packages"):
        assert word not in text, word


def test_the_stored_full_run_agrees_with_the_prose(notebook):
    adam = output_of(notebook, "a5c5d7bc")
    steps = re.search(r"(\d+) loss summaries, steps (\d+)\.\.(\d+) every (\d+)", adam)
    assert steps.groups() == ("220", "10", "2200", "10")  # the full run: 2200 steps, one summary every 10
    in_file, returned = map(float, re.search(r"in the file ([\d.]+), returned by the trainer ([\d.]+)", adam).groups())
    assert in_file == returned and in_file > 0.96
    assert abs(float(re.search(r"at the end: ([-+][\d.]+)", adam).group(1))) < 0.03  # "not (yet) overfitting"

    histograms = output_of(notebook, "d4866ae3")
    assert "histograms at steps [275, 550, 825, 1100, 1375, 1650, 1925, 2200]" in histograms
    assert "32,000 values: 1,000 validation images x 32 units" in histograms
    shares = [float(s) for s in re.search(r"the ReLU zeros\): \[([^\]]+)\]", histograms).group(1).split(",")]
    assert min(shares) > 0.1  # "many of them are exactly zero"

    assert "counting 100,352 weights (784 x 128)" in output_of(notebook, "efc9b9ca")
    assert output_of(notebook, "writer-queue").strip() == "loss records on disk: 0 inside the `with` block, 3 after it"
    first, last = map(float, re.search(r"loss ([\d.]+) at step 0, ([\d.]+) at step 1900", output_of(notebook, "96363950")
                                       ).groups())
    assert last < first
    served = output_of(notebook, "4947b836")
    assert "TensorBoard serves: ['adam-lr0.002', 'sgd-lr0.01', 'v1-sgd-lr0.01']" in served
    assert served.count("'loss'") == 3
    profile = output_of(notebook, "profiler-run")
    assert re.search(r"MatMul\s+\d+", profile)  # the matmuls have their rows
    assert abs(sum(float(s) for s in re.findall(r"^\s*([\d.]+)%  ", profile, re.M)) - 100) < 0.5


def count_loss_records(folder):
    return len(events.read_scalars(folder).get("loss", ([],))[0])


@pytest.mark.parametrize("records,inside", [(3, 0), (10, 0), (11, 11), (25, 22)])
def test_a_writer_writes_its_queue_when_it_grows_past_max_queue_and_when_as_default_ends(records, inside):
    # Section 1's rule, measured on this TensorFlow: default max_queue=10, the 11th record writes all 11.
    with tempfile.TemporaryDirectory() as folder:
        writer = tf.summary.create_file_writer(folder)
        with writer.as_default():
            for step in range(records):
                tf.summary.scalar("loss", 1.0, step=step)
            assert count_loss_records(folder) == inside
        assert count_loss_records(folder) == records
        writer.close()


def test_the_tensorboard_magic_line_expands_the_notebooks_variable():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.user_ns["log_dir"] = "/runs/notebook06"  # a variable of the notebook, as `log_dir` is
    assert shell.var_expand("--logdir $log_dir") == "--logdir /runs/notebook06"


def test_tfcourse_tensorboard_notebook_serves_the_notebooks_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TFCOURSE_RUNS", str(tmp_path))
    assert tensorboard_command.notebook_log_dir("06") == str(tmp_path / "notebook06")
    from tfcourse import settings

    assert settings.notebook_dir("06") == tensorboard_command.notebook_log_dir("06")  # the folder 06 writes


@pytest.mark.parametrize("argv,message", [
    (["--notebook", "6"], "expected a notebook's two-digit number like 06, got '6'"),
    (["--notebook", "06", "--logdir", "x"], "not allowed with argument --notebook"),
    (["--notebook", "42"], "notebook 42 has written nothing yet"),
])
def test_tfcourse_tensorboard_notebook_misuse_is_one_line_and_exit_2(argv, message, tmp_path):
    env = dict(os.environ, TFCOURSE_RUNS=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "tfcourse", "tensorboard", *argv], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr

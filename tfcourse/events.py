"""Reading TensorBoard event files back into numbers, so a notebook can plot them.

TensorBoard is a web app over the event files a SummaryWriter writes. The same files
can be read with TensorBoard's own EventAccumulator: that is what the notebooks do to
plot the loss inside the page and to check that the summaries really were written.
"""

import contextlib
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np

from tfcourse.errors import CourseError


def list_runs(logdir):
    """Sub-directories of `logdir` (relative paths, sorted) that hold event files; "." for logdir itself."""
    root = pathlib.Path(logdir)
    if not root.is_dir():
        raise CourseError(f"{root}: no such log directory (expected the directory a SummaryWriter wrote to)")
    runs = {str(p.parent.relative_to(root)) for p in root.rglob("events.out.tfevents.*")}
    return sorted(runs)


def read_scalars(logdir):
    """All scalar summaries in the event files directly inside `logdir`.

    Handles both faces: TF1 `tf.compat.v1.summary.scalar` (simple values) and TF2
    `tf.summary.scalar` (stored as rank-0 tensors).

    Returns:
      dict tag -> (steps int64 [K], values float64 [K]) sorted by step.
    """
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.util import tensor_util

    root = pathlib.Path(logdir)
    if not root.is_dir() or not any(root.glob("events.out.tfevents.*")):
        raise CourseError(f"{root}: no event files here (expected events.out.tfevents.* written by a SummaryWriter)")
    accumulator = event_accumulator.EventAccumulator(
        str(root), size_guidance={event_accumulator.SCALARS: 0, event_accumulator.TENSORS: 0})
    accumulator.Reload()
    tags = accumulator.Tags()
    scalars = {}
    for tag in tags.get(event_accumulator.SCALARS, []):
        events = accumulator.Scalars(tag)
        scalars[tag] = ([e.step for e in events], [e.value for e in events])
    for tag in tags.get(event_accumulator.TENSORS, []):
        # Histograms and traced graphs are tensor summaries too; only the scalars plugin's count.
        if accumulator.SummaryMetadata(tag).plugin_data.plugin_name != "scalars":
            continue
        events = [e for e in accumulator.Tensors(tag) if not e.tensor_proto.tensor_shape.dim]
        if events:
            scalars[tag] = ([e.step for e in events],
                            [float(tensor_util.make_ndarray(e.tensor_proto)) for e in events])
    result = {}
    for tag, (steps, values) in scalars.items():
        order = np.argsort(steps, kind="stable")
        result[tag] = (np.asarray(steps, np.int64)[order], np.asarray(values, np.float64)[order])
    return result


@contextlib.contextmanager
def running_tensorboard(logdir, port=None, timeout_s=90):
    """Runs `tensorboard --logdir logdir` in a subprocess for the duration of a `with` block.

    What a student does on the command line, done from Python so a notebook or a test can
    check that TensorBoard really serves the runs (e.g. GET <url>/data/runs).

    Args:
      logdir: the directory holding one sub-directory per run.
      port: TCP port on localhost; None picks a free one.
      timeout_s: how long to wait for the server to answer.
    Yields:
      the server's base URL, e.g. "http://localhost:6006".
    """
    if not pathlib.Path(logdir).is_dir():
        raise CourseError(f"{logdir}: no such log directory for TensorBoard")
    if port is None:
        with socket.socket() as probe:
            probe.bind(("localhost", 0))
            port = probe.getsockname()[1]
    url = f"http://localhost:{port}"
    command = [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--port", str(port),
               "--host", "localhost"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                raise CourseError(f"tensorboard exited with status {process.returncode} before serving {url}")
            try:
                urllib.request.urlopen(f"{url}/data/runs", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise CourseError(f"tensorboard did not answer on {url} within {timeout_s} s") from None
                time.sleep(0.25)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

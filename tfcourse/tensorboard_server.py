"""Serving TensorBoard from Python: start it on 127.0.0.1, wait until it answers, stop it.

`tfcourse tensorboard`, the tests and the notebooks all start the same real
`tensorboard` program through `start`; nothing here re-implements its HTTP API.
TensorBoard binds 127.0.0.1 by default because a dashboard on all interfaces shows a
student's runs (and file names) to everyone on the café network.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

DEFAULT_HOST = "127.0.0.1"

# TensorBoard prints "TensorBoard 2.21.0 at http://127.0.0.1:45053/ (Press CTRL+C to quit)"
# on stderr once it listens; with --port 0 this line is the only place the port appears.
_SERVING_LINE = re.compile(r"TensorBoard \S+ at (http://\S+?:(\d+)/)")


class TensorBoardServer:
    """A running `tensorboard` process.

    Attributes:
      process: the subprocess.Popen of `python -m tensorboard.main`.
      url: base URL, e.g. "http://127.0.0.1:45053/".
      port: the port it listens on (int).
      log_path: file holding TensorBoard's stderr (for error messages).
    """

    def __init__(self, process, url, port, log_path):
        self.process = process
        self.url = url
        self.port = port
        self.log_path = log_path

    def get_json(self, route, timeout=10.0):
        """GETs `route` (e.g. "data/runs") from the server and decodes its JSON body."""
        with urllib.request.urlopen(self.url + route.lstrip("/"), timeout=timeout) as response:
            return json.loads(response.read().decode("utf-8"))

    def stop(self, timeout=10.0):
        """Terminates the server (then kills it if it ignores SIGTERM); safe to call twice."""
        stop(self, timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()


def tensorboard_command(logdir, host=DEFAULT_HOST, port=0, reload_interval=None):
    """The argv that serves `logdir`, run with this interpreter so the venv's TensorBoard is used."""
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port must be an integer in 0..65535 (0 = pick a free one), got {port!r}")
    argv = [sys.executable, "-m", "tensorboard.main", "--logdir", os.fspath(logdir),
            "--host", host, "--port", str(port)]
    if reload_interval is not None:
        argv += ["--reload_interval", str(reload_interval)]
    return argv


def start(logdir, host=DEFAULT_HOST, port=0, timeout=60.0, reload_interval=None):
    """Starts TensorBoard on `logdir` and returns once its HTTP API answers.

    Args:
      logdir: directory holding one sub-directory of event files per run.
      host: interface to bind; 127.0.0.1 keeps the dashboard private to this machine.
      port: 0 lets TensorBoard pick a free port (no race between choosing and binding).
      timeout: seconds to wait for the server to answer before giving up.
      reload_interval: seconds between TensorBoard's rescans of logdir (default: its own).
    Returns:
      A TensorBoardServer; call .stop() (or use it as a context manager) when done.
    Raises:
      ValueError: logdir does not exist or the port is out of range.
      RuntimeError: the server exited or did not answer within `timeout`.
    """
    if not os.path.isdir(logdir):
        raise ValueError(f"log directory {os.fspath(logdir)!r} does not exist; expected the "
                         "--log_dir a training run wrote its event files to")
    argv = tensorboard_command(logdir, host, port, reload_interval)
    log_fd, log_path = tempfile.mkstemp(prefix="tensorboard-", suffix=".log")
    process = subprocess.Popen(argv, stdout=log_fd, stderr=log_fd, stdin=subprocess.DEVNULL)
    os.close(log_fd)
    deadline = time.monotonic() + timeout
    url = port_number = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"tensorboard exited with status {process.returncode}: {_pop_tail(log_path)}")
        if url is None:
            match = _SERVING_LINE.search(_read(log_path))
            if match:
                url, port_number = match.group(1), int(match.group(2))
        if url is not None:
            server = TensorBoardServer(process, url, port_number, log_path)
            try:
                server.get_json("data/runs", timeout=2.0)
                return server
            except (urllib.error.URLError, OSError, ValueError):
                pass
        time.sleep(0.2)
    process.kill()
    process.wait()
    raise RuntimeError(f"tensorboard did not answer within {timeout:.0f}s: {_pop_tail(log_path)}")


def stop(server, timeout=10.0):
    """Stops a TensorBoardServer started by `start`."""
    process = server.process
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if os.path.exists(server.log_path):
        os.remove(server.log_path)


def wait_for_run(server, run, tag, timeout=60.0):
    """Polls the scalars plugin until `run` has `tag`; TensorBoard loads event files lazily.

    Returns:
      The scalar series as a list of [wall_time, step, value] rows.
    """
    deadline = time.monotonic() + timeout
    while True:
        tags = server.get_json("data/plugin/scalars/tags")
        if tag in tags.get(run, {}):
            query = urllib.parse.urlencode({"run": run, "tag": tag})
            return server.get_json(f"data/plugin/scalars/scalars?{query}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"tensorboard served no tag {tag!r} for run {run!r} within "
                               f"{timeout:.0f}s; it serves {tags}")
        time.sleep(0.5)


def _read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def _pop_tail(path, lines=5):
    """The last lines of a failed server's log, joined on one line; removes the log."""
    tail = " | ".join(_read(path).strip().splitlines()[-lines:])
    os.remove(path)
    return tail

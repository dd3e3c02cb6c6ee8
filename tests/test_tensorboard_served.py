"""TensorBoard served for real: event files on disk, the `tensorboard` program, its HTTP API."""

import signal
import subprocess
import sys

import pytest
from sockets import listening_addresses

from tfcourse import tensorboard_server


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory):
    """A log dir holding one real `tfcourse train` run ("mlp") of 300 steps on fake data."""
    root = tmp_path_factory.mktemp("logs")
    result = subprocess.run([sys.executable, "-m", "tfcourse", "train", "--fake_data", "--max_steps", "300",
                             "--log_dir", str(root), "--run_name", "mlp", "--no_progress"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return root


def test_scalars_api_serves_run_tags_and_loss_series(log_dir):
    with tensorboard_server.start(log_dir) as server:
        assert server.url.startswith("http://127.0.0.1:")
        # The socket itself, not just the URL: bound to loopback only, never all interfaces.
        assert listening_addresses(server.port) == {"127.0.0.1"}
        series = tensorboard_server.wait_for_run(server, "mlp", "loss")
        assert server.get_json("data/runs") == ["mlp"]
        assert {"loss", "learning_rate"} <= set(server.get_json("data/plugin/scalars/tags")["mlp"])
        steps = [row[1] for row in series]
        losses = [row[2] for row in series]
        assert len(steps) >= 20 and steps == sorted(set(steps)) and steps[-1] == 300
        # The trainer writes a loss every 10 steps; it falls as the model learns the fake digits.
        assert max(losses[-5:]) < 0.5 * losses[0], losses
    assert server.process.poll() is not None


def test_start_rejects_missing_logdir(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        tensorboard_server.start(tmp_path / "nope")


def test_cli_serves_on_localhost_and_stops_on_ctrl_c(log_dir):
    proc = subprocess.Popen([sys.executable, "-m", "tfcourse", "tensorboard", "--logdir", str(log_dir),
                             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        # (Not proc.stderr.read() in the message: it would wait for a server that never exits.)
        assert "TensorBoard serving" in line and "http://127.0.0.1:" in line, line
        url = line.split(" at ")[1].split()[0]
        server = tensorboard_server.TensorBoardServer(None, url, None, None)
        assert server.get_json("data/runs") == ["mlp"]
        # What the command's default really binds: loopback only, never all interfaces.
        assert listening_addresses(int(url.rsplit(":", 1)[1].strip("/"))) == {"127.0.0.1"}
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    assert proc.returncode == 130


def test_cli_missing_logdir_exits_2_with_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tfcourse", "tensorboard", "--logdir", str(tmp_path / "nope")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    # Only the last line is ours: TensorFlow's C++ start-up notes may precede it.
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("tfcourse tensorboard: error: log directory")

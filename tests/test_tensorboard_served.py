"""TensorBoard served for real: event files on disk, the `tensorboard` program, its HTTP API."""

import os
import signal
import subprocess
import sys

import pytest

from tfcourse import tensorboard_server


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory):
    """A log dir with one run whose loss falls over 300 steps, written by tf.summary."""
    import tensorflow as tf

    root = tmp_path_factory.mktemp("logs")
    writer = tf.summary.create_file_writer(str(root / "mlp"))
    with writer.as_default():
        for step in range(0, 300, 10):
            tf.summary.scalar("loss", 2.3 / (1.0 + step / 50.0), step=step)
    writer.close()
    return root


def test_scalars_api_serves_run_tags_and_loss_series(log_dir):
    with tensorboard_server.start(log_dir) as server:
        assert server.url.startswith("http://127.0.0.1:")
        series = tensorboard_server.wait_for_run(server, "mlp", "loss")
        assert server.get_json("data/runs") == ["mlp"]
        steps = [row[1] for row in series]
        losses = [row[2] for row in series]
        assert steps == list(range(0, 300, 10))
        assert losses[0] == pytest.approx(2.3)
        assert all(b < a for a, b in zip(losses, losses[1:]))
    assert server.process.poll() is not None


def test_start_rejects_missing_logdir(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        tensorboard_server.start(tmp_path / "nope")


def test_cli_serves_on_localhost_and_stops_on_ctrl_c(log_dir):
    proc = subprocess.Popen([sys.executable, "-m", "tfcourse", "tensorboard", "--logdir", str(log_dir),
                             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert "TensorBoard serving" in line and "http://127.0.0.1:" in line, line + proc.stderr.read()
        url = line.split(" at ")[1].split()[0]
        server = tensorboard_server.TensorBoardServer(None, url, None, None)
        assert server.get_json("data/runs") == ["mlp"]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    assert proc.returncode == 130


def test_cli_missing_logdir_exits_2_with_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tfcourse", "tensorboard", "--logdir", str(tmp_path / "nope")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "does not exist" in result.stderr

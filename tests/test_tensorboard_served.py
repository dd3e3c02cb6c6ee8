"""TensorBoard served for real: event files on disk, the `tensorboard` program, its HTTP API,
and its page in headless Chromium (the screenshot README.md and notebook 06 show)."""

import importlib.util
import os
import pathlib
import signal
import subprocess
import sys

import numpy as np
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


def _screenshot_script():
    path = pathlib.Path(__file__).resolve().parents[1] / "scripts" / "tensorboard_screenshot.py"
    spec = importlib.util.spec_from_file_location("tensorboard_screenshot", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.browser
def test_screenshot_shows_the_served_loss_chart(log_dir, tmp_path):
    # The code that draws docs/img/tensorboard.png, pointed at this test's run and tmp_path.
    from PIL import Image

    script = _screenshot_script()
    if not os.path.exists(script.CHROMIUM):
        message = f"{script.CHROMIUM} is missing; run scripts/install_browser.sh"
        if os.environ.get("CI"):
            pytest.fail(message + " -- CI must not skip the browser test")
        pytest.skip(message)
    png = tmp_path / "tensorboard.png"
    with tensorboard_server.start(log_dir) as server:
        tensorboard_server.wait_for_run(server, "mlp", "loss")
        charts = script.screenshot(server.url, png, tag_filter="^loss$", width=1000, height=600)
    assert charts == 1  # the loss card, and only it, is on the page
    with Image.open(png) as image:
        pixels = np.asarray(image.convert("RGB"))
    assert pixels.shape == (600, 1000, 3)
    colours = np.unique(pixels.reshape(-1, 3), axis=0)
    # A blank or error page has a handful of colours; TensorBoard's header, text and chart hundreds.
    assert len(colours) > 100, len(colours)
    # TensorBoard's orange header bar is there: the page is TensorBoard, not a browser error page.
    header = pixels[5:50, 5:400].reshape(-1, 3).astype(int)
    assert (np.abs(header - [245, 124, 0]).sum(axis=1) < 40).mean() > 0.5


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

"""An install from a built wheel, without the checkout, trains offline on the MNIST the wheel carries."""

import os
import shutil
import subprocess
import sys
import zipfile

import pytest
from conftest import REPO

MNIST_FILES = ["SHA256SUMS", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
               "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]


def _run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.mark.slow
def test_a_wheel_install_trains_offline_outside_the_checkout(tmp_path):
    # Build from a copy of what a build reads, so the build's own folders stay out of the checkout.
    source = tmp_path / "source"
    shutil.copytree(REPO / "tfcourse", source / "tfcourse", ignore=shutil.ignore_patterns("__pycache__", "_data"))
    shutil.copytree(REPO / "data" / "mnist", source / "data" / "mnist")
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(REPO / name, source / name)
    # No build isolation: the test venv's setuptools builds it, with no PyPI needed.
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
          "-w", str(tmp_path / "wheels"), str(source)])
    [wheel] = (tmp_path / "wheels").iterdir()
    names = zipfile.ZipFile(wheel).namelist()
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("tfcourse/_data/mnist/")) == MNIST_FILES
    assert not [n for n in names if n.startswith("data/")]

    # --target keeps it apart from the test venv's editable install of the checkout; PYTHONPATH puts it
    # first, and TensorFlow comes from the test venv.
    site = tmp_path / "site"
    _run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)])
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "home").mkdir(parents=True)
    env = {key: value for key, value in os.environ.items() if key not in ("TFCOURSE_DATA_DIR", "PYTHONPATH")}
    # No network: every download would go through a proxy on a closed port and fail at once;
    # an empty HOME has no ~/.cache/tfcourse/mnist to fall back on.
    env.update(PYTHONPATH=str(site), HOME=str(elsewhere / "home"), TFCOURSE_RUNS=str(elsewhere / "runs"),
               http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9",
               HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9", no_proxy="")
    info = _run([str(site / "bin" / "tfcourse"), "info"], cwd=elsewhere, env=env).stdout
    data_line = next(line for line in info.splitlines() if line.startswith("data"))
    assert data_line.split()[1:4] == [str(site / "tfcourse" / "_data" / "mnist"), "(installed", "package):"], info
    assert data_line.endswith("the 4 MNIST files verified (SHA-256 ok)"), info
    train = _run([str(site / "bin" / "tfcourse"), "train", "--max_steps", "50", "--no_progress"],
                 cwd=elsewhere, env=env).stdout
    last = train.strip().splitlines()[-1]
    assert last.startswith("test precision@1 ") and " after 50 steps;" in last, train
    assert f"(tensorboard --logdir {elsewhere / 'runs' / 'mnist' / 'logs'})" in last  # the default: the run folder
    assert float(last.split()[2]) > 0.5  # 50 Adam steps (seed 0) on real MNIST: 0.836 here; chance is 0.1

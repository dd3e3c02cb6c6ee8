"""The code is clean under the linter configured in pyproject.toml (ruff: pyflakes, pycodestyle,
import order, bugbear), so a closure over a loop variable or an unused import fails CI."""

import subprocess
import sys

from conftest import REPO


def test_ruff_finds_nothing():
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]

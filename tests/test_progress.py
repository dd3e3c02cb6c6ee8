"""Progress output that reads well in a log: periodic lines, no carriage-return redraws."""

import io
import os
import re
import subprocess
import sys
import time

from conftest import REPO

from tfcourse import progress


def test_in_a_file_the_bar_prints_a_first_and_a_last_line_for_a_short_run():
    log = io.StringIO()
    with progress.bar(1000, stream=log) as bar:
        for step in range(1000):  # well under LOG_INTERVAL_S: no line in between
            bar.set_postfix(loss=f"{1 / (step + 1):.4f}", refresh=False)
            bar.update(1)
    text = log.getvalue()
    lines = text.splitlines()
    assert "\r" not in text
    assert len(lines) == 2, lines
    assert lines[0].startswith("  0%|") and "0/1000" in lines[0]
    assert lines[1].startswith("100%|") and "1000/1000" in lines[1] and "loss=0.0010" in lines[1]


def test_tfcourse_train_to_a_pipe_writes_a_line_every_few_seconds(tmp_path):
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "tfcourse", "train", "--fake_data", "--max_steps", "1500", "--steps_per_call", "10",
         "--hidden1", "32", "--hidden2", "16", "--log_dir", str(tmp_path)],
        capture_output=True, text=True, timeout=300, env=dict(os.environ, PYTHONPATH=str(REPO)))
    seconds = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-3000:]
    assert "\r" not in result.stderr and "\r" not in result.stdout
    bar_lines = [line for line in result.stderr.splitlines() if re.search(r"\| *\d+/1500 \[", line)]
    # One at the start, one per LOG_INTERVAL_S while training, one at the end; a redrawn bar
    # makes one update per call here (150 of them).
    assert 2 <= len(bar_lines) <= seconds / progress.LOG_INTERVAL_S + 2, bar_lines
    assert "1500/1500" in bar_lines[-1] and "loss=" in bar_lines[-1], bar_lines

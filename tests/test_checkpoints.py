"""Checkpoints: kill -9 then --resume ends on the uninterrupted weights; shapes; keep-K."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from fake_splits import small_data_sets
from tfcourse import checkpoints, train
from tfcourse.errors import CourseError

TRAIN_ARGS = ["--fake_data", "--hidden1", "32", "--hidden2", "16", "--max_steps", "1000",
              "--checkpoint_every", "50", "--steps_per_call", "10", "--no_progress", "--run_name", "run"]


def _cli(log_dir, *extra):
    return [sys.executable, "-m", "tfcourse", "train", *TRAIN_ARGS, "--log_dir", str(log_dir), *extra]


def test_run_killed_by_sigkill_then_resumed_ends_with_the_uninterrupted_weights(tmp_path):
    killed_dir, whole_dir = tmp_path / "killed", tmp_path / "whole"
    ckpt_dir = killed_dir / "run" / "checkpoints"
    process = subprocess.Popen(_cli(killed_dir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # The uninterrupted reference runs meanwhile (the two processes share nothing).
    whole = subprocess.Popen(_cli(whole_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (ckpt_dir / "checkpoint").exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    saved = sorted(int(name[5:-6]) for name in os.listdir(ckpt_dir) if name.endswith(".index"))
    assert saved and saved[-1] < 1000, f"the run was not interrupted mid-way: {saved}"

    resumed = subprocess.run(_cli(killed_dir, "--resume"), capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"Resumed from {ckpt_dir}/ckpt-{saved[-1]} at step {saved[-1]}" in resumed.stdout
    out, err = whole.communicate(timeout=180)
    assert whole.returncode == 0, err[-2000:]

    final = checkpoints.load_weights(ckpt_dir / "ckpt-1000")
    reference = checkpoints.load_weights(whole_dir / "run" / "checkpoints" / "ckpt-1000")
    assert sorted(final) == sorted(reference) and "hidden1/weights" in final
    for name in reference:
        np.testing.assert_array_equal(final[name], reference[name], err_msg=name)
    # The same test precision line, to the digit.
    assert out.strip().splitlines()[-1].split(" after")[0] == resumed.stdout.strip().splitlines()[-1].split(" after")[0]


@pytest.fixture(scope="module")
def data_sets():
    return small_data_sets()


def _config(tmp_path, **overrides):
    values = dict(hidden1=32, hidden2=16, max_steps=50, steps_per_call=10, checkpoint_every=10,
                  keep_checkpoints=2, log_dir=str(tmp_path), run_name="run")
    values.update(overrides)
    return train.TrainConfig(**values)


def test_keeps_the_last_k_and_restoring_another_shape_names_both(data_sets, tmp_path):
    result = train.train(data_sets, _config(tmp_path), progress=False, verbose=False)
    files = sorted(os.listdir(result.checkpoint_dir))
    assert [f for f in files if f.endswith(".index")] == ["ckpt-40.index", "ckpt-50.index"]
    assert result.checkpoint_path == os.path.join(result.checkpoint_dir, "ckpt-50")

    with pytest.raises(CourseError, match=r"holds hidden1/weights of shape \[784, 32\] but the model's is \[784, 64\]"):
        train.train(data_sets, _config(tmp_path, hidden1=64, resume=True), progress=False, verbose=False)

    # Resuming a finished run trains nothing and keeps the weights.
    again = train.train(data_sets, _config(tmp_path, resume=True), progress=False, verbose=False)
    assert again.resumed_from == 50 and again.losses == []
    np.testing.assert_array_equal(again.model.get_weights()["hidden2/weights"],
                                  result.model.get_weights()["hidden2/weights"])


def test_resume_in_process_continues_to_a_longer_target(data_sets, tmp_path):
    # A constant rate: a cosine schedule's shape depends on the run's length.
    constant = dict(lr_schedule="constant")
    short = train.train(data_sets, _config(tmp_path / "a", max_steps=30, **constant), progress=False, verbose=False)
    longer = train.train(data_sets, _config(tmp_path / "a", max_steps=50, resume=True, **constant),
                         progress=False, verbose=False)
    whole = train.train(data_sets, _config(tmp_path / "b", max_steps=50, **constant), progress=False, verbose=False)
    assert longer.resumed_from == 30 and longer.steps == list(range(31, 51))
    assert short.losses + longer.losses == whole.losses

"""Preemption of a 2-worker MultiWorkerMirroredStrategy run: SIGTERM one worker, all save, resume.

Real worker processes on 127.0.0.1 with their TF_CONFIG, as `tfcourse launch` starts them.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from tfcourse.distribute import protocol, tfconfig
from tfcourse.training import checkpoints

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_STEPS = 300
TRAIN_ARGS = ["--fake_data", "--hidden1", "32", "--hidden2", "16", "--optimizer", "sgd", "--learning_rate", "0.1",
              "--batch_size", "64", "--max_steps", str(MAX_STEPS), "--checkpoint_every", "50",
              "--steps_per_call", "10", "--no_progress", "--run_name", "run"]


def _command(log_dir):
    return [sys.executable, "-m", "tfcourse", "train", *TRAIN_ARGS, "--log_dir", str(log_dir)]


def _start_workers(log_dir, scratch, attempt):
    """Two workers of one cluster; worker 0 is the chief. Their scratch files go to `scratch`."""
    cluster = tfconfig.cluster_spec(2, tfconfig.free_ports(2))
    workers = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
                   TMPDIR=str(scratch), TFCOURSE_ATTEMPT=str(attempt), PYTHONUNBUFFERED="1")
        workers.append(subprocess.Popen(_command(log_dir), env=env, cwd=REPO, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    return workers


def _finish(workers, seconds=240):
    outputs = []
    try:
        for worker in workers:
            outputs.append(worker.communicate(timeout=seconds))
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    return [(worker.returncode, out, err) for worker, (out, err) in zip(workers, outputs)]


def _published_step(ckpt_dir):
    state = tf.train.get_checkpoint_state(str(ckpt_dir))
    return int(state.model_checkpoint_path.rsplit("-", 1)[1]) if state else -1


def _leftovers(scratch):
    """What the workers left in their TMPDIR besides their (empty) per-user run folder."""
    return sorted(str(path.relative_to(scratch)) for path in scratch.rglob("*")
                  if not (path.is_dir() and path.parent == scratch and path.name.startswith("tfcourse-")))


@pytest.mark.slow
def test_sigterm_to_one_worker_saves_everywhere_exits_42_and_the_relaunch_ends_on_the_same_weights(tmp_path):
    log_dir, scratch = tmp_path / "logs", tmp_path / "scratch"
    scratch.mkdir()
    ckpt_dir = log_dir / "run" / "checkpoints"
    reference = subprocess.run(_command(tmp_path / "single"), capture_output=True, text=True, timeout=240, cwd=REPO)
    assert reference.returncode == 0, reference.stderr[-2000:]

    workers = _start_workers(log_dir, scratch, attempt=0)
    deadline = time.time() + 200
    while _published_step(ckpt_dir) < 50:
        assert all(w.poll() is None for w in workers) and time.time() < deadline, "the job did not get going"
        time.sleep(0.02)
    workers[1].send_signal(signal.SIGTERM)  # the non-chief: the chief must still save
    results = _finish(workers)
    steps = set()
    for code, out, err in results:
        assert code == protocol.PREEMPTED_EXIT_CODE, err[-3000:]
        match = re.search(r"preempted: every worker saved at step (\d+); exiting with code 42", out)
        assert match, out[-2000:]
        assert "Instructions for updating" not in err  # TensorFlow's note about its own internals is hushed
        steps.add(int(match.group(1)))
    assert len(steps) == 1, f"the workers saved at different steps: {steps}"
    saved = steps.pop()
    assert 50 <= saved < MAX_STEPS
    assert tf.train.latest_checkpoint(str(ckpt_dir)) == str(ckpt_dir / f"ckpt-{saved}")
    # The non-chief worker's throwaway checkpoint folder (made in the run folder) is gone.
    assert _leftovers(scratch) == []

    # As `tfcourse launch --restarts` does: the same command, attempt 1, fresh ports.
    results = _finish(_start_workers(log_dir, scratch, attempt=1))
    for code, _out, err in results:
        assert code == 0, err[-3000:]
    assert f"Resumed from {ckpt_dir}/ckpt-{saved} at step {saved}" in results[0][1]
    assert _leftovers(scratch) == []

    resumed = checkpoints.load_weights(ckpt_dir / f"ckpt-{MAX_STEPS}")
    single = checkpoints.load_weights(tmp_path / "single" / "run" / "checkpoints" / f"ckpt-{MAX_STEPS}")
    assert sorted(resumed) == sorted(single) and len(single) == 6
    for name in single:
        np.testing.assert_allclose(resumed[name], single[name], rtol=0, atol=1e-6, err_msg=name)

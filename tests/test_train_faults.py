"""Training faults, each in a real process: SIGKILL anywhere, Ctrl-C, divergence, two runs, half-saves.

The uninterrupted reference run is shared by the module; every interrupted-then-resumed
run must end with exactly (np.array_equal) its weights: the data order is a function of
(seed, step) and op determinism is on, so anything less means something was lost.
"""

import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import tensorflow as tf
from fake_splits import small_data_sets

from tfcourse import training
from tfcourse.errors import CourseError
from tfcourse.training import checkpoints, lock

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_STEPS = 400
TRAIN_ARGS = ["--fake_data", "--hidden1", "32", "--hidden2", "16", "--max_steps", str(MAX_STEPS),
              "--checkpoint_every", "50", "--steps_per_call", "10", "--no_progress", "--run_name", "run"]

# Runs `tfcourse train` with TensorFlow's save path patched to SIGKILL this very process
# at one moment of saving ckpt-<step>: "shards" after the shards are written into
# ckpt-<step>_temp/ and before they are merged; "merged" after ckpt-<step>.index/.data
# exist and before the `checkpoint` state file names them.
KILL_DURING_SAVE = textwrap.dedent("""
    import os, signal, sys
    from tensorflow.python.checkpoint import checkpoint_management
    from tensorflow.python.ops import gen_io_ops
    phase, target = sys.argv[1], "ckpt-" + sys.argv[2]

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    if phase == "shards":
        merge = gen_io_ops.merge_v2_checkpoints
        def merge_or_die(checkpoint_prefixes, destination_prefix, *args, **kwargs):
            if os.path.basename(destination_prefix.numpy().decode()) == target:
                die()
            return merge(checkpoint_prefixes, destination_prefix, *args, **kwargs)
        gen_io_ops.merge_v2_checkpoints = merge_or_die
    else:
        update = checkpoint_management.update_checkpoint_state_internal
        def update_or_die(save_dir, model_checkpoint_path, *args, **kwargs):
            if os.path.basename(model_checkpoint_path) == target:
                die()
            return update(save_dir, model_checkpoint_path, *args, **kwargs)
        checkpoint_management.update_checkpoint_state_internal = update_or_die
    from tfcourse.cli import main
    sys.exit(main(sys.argv[3:]))
    """)


def _cli(log_dir, *extra):
    return [sys.executable, "-m", "tfcourse", "train", *TRAIN_ARGS, "--log_dir", str(log_dir), *extra]


def _run(command, timeout=180):
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=REPO)


def _published_step(ckpt_dir):
    """The step of the checkpoint the state file names as latest, or -1."""
    state = tf.train.get_checkpoint_state(str(ckpt_dir))
    return int(state.model_checkpoint_path.rsplit("-", 1)[1]) if state else -1


def _wait_until(condition, process, seconds=150):
    deadline = time.time() + seconds
    while not condition():
        assert process.poll() is None, f"the run ended (code {process.returncode}) before the fault was injected"
        assert time.time() < deadline, "timed out waiting for the run to get there"
        time.sleep(0.01)


def _final_weights(log_dir):
    return checkpoints.load_weights(os.path.join(log_dir, "run", "checkpoints", f"ckpt-{MAX_STEPS}"))


def _assert_equal_weights(weights, reference):
    assert sorted(weights) == sorted(reference) and "hidden1/weights" in reference
    for name in reference:
        assert np.array_equal(weights[name], reference[name]), f"{name} differs from the uninterrupted run"


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Final weights of the uninterrupted run."""
    log_dir = tmp_path_factory.mktemp("whole")
    done = _run(_cli(log_dir))
    assert done.returncode == 0, done.stderr[-2000:]
    return _final_weights(log_dir)


def _resume(log_dir, expected_step):
    done = _run(_cli(log_dir, "--resume"))
    assert done.returncode == 0, done.stderr[-2000:]
    ckpt_dir = os.path.join(log_dir, "run", "checkpoints")
    assert f"Resumed from {ckpt_dir}/ckpt-{expected_step} at step {expected_step}" in done.stdout
    return done


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_at_a_random_step_then_resume_ends_with_the_uninterrupted_weights(reference, tmp_path, seed):
    rng = random.Random(seed)
    after, delay = rng.choice([50, 100, 150, 200]), rng.uniform(0.0, 0.5)
    ckpt_dir = tmp_path / "run" / "checkpoints"
    process = subprocess.Popen(_cli(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    _wait_until(lambda: _published_step(ckpt_dir) >= after, process)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    killed_at = _published_step(ckpt_dir)
    assert after <= killed_at < MAX_STEPS, f"the run was not interrupted mid-way: {killed_at}"

    _resume(tmp_path, killed_at)
    _assert_equal_weights(_final_weights(tmp_path), reference)


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["shards", "merged"])
def test_sigkill_inside_a_checkpoint_save_never_publishes_it_and_resume_is_exact(reference, tmp_path, phase):
    ckpt_dir = tmp_path / "run" / "checkpoints"
    killed = _run([sys.executable, "-c", KILL_DURING_SAVE, phase, "200", "train", *TRAIN_ARGS,
                   "--log_dir", str(tmp_path)])
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    left = sorted(os.listdir(ckpt_dir))
    if phase == "shards":
        assert "ckpt-200_temp" in left and not (ckpt_dir / "ckpt-200.index").exists(), left
    else:
        assert "ckpt-200.index" in left and "ckpt-200_temp" not in left, left
    # The half-written checkpoint is not the latest: the state file still names ckpt-150.
    assert _published_step(ckpt_dir) == 150
    assert tf.train.latest_checkpoint(str(ckpt_dir)).endswith("ckpt-150")

    resumed = _resume(tmp_path, 150)
    removed = "ckpt-200_temp" if phase == "shards" else "ckpt-200.index"
    assert f"Removed {ckpt_dir}/{removed}: left by a save that did not finish" in resumed.stdout
    assert not any(name.endswith("_temp") for name in os.listdir(ckpt_dir))
    _assert_equal_weights(_final_weights(tmp_path), reference)


def _signal_after_a_checkpoint(signum, command, ckpt_dir):
    """Starts `command`, sends `signum` once ckpt-50 (or later) is published; (process, stdout, stderr)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    _wait_until(lambda: _published_step(ckpt_dir) >= 50, process)
    process.send_signal(signum)
    out, err = process.communicate(timeout=60)
    return process, out, err


@pytest.mark.slow
def test_ctrl_c_saves_at_the_current_step_exits_130_and_its_resume_hint_finishes_the_run(reference, tmp_path):
    ckpt_dir = tmp_path / "run" / "checkpoints"
    process, out, err = _signal_after_a_checkpoint(signal.SIGINT, _cli(tmp_path), ckpt_dir)
    assert process.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    match = re.search(r"^tfcourse train: interrupted at step (\d+); saved (\S+); resume with: (.+)$", err, re.M)
    assert match, err[-2000:]
    step, saved, hint = int(match.group(1)), match.group(2), shlex.split(match.group(3))
    assert 50 <= step < MAX_STEPS
    assert saved == str(ckpt_dir / f"ckpt-{step}") == tf.train.latest_checkpoint(str(ckpt_dir))
    assert hint[:2] == ["tfcourse", "train"] and hint[-1] == "--resume"

    resumed = subprocess.run([sys.executable, "-m", "tfcourse", *hint[1:]], capture_output=True, text=True,
                             timeout=180, cwd=REPO)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"Resumed from {saved} at step {step}" in resumed.stdout
    _assert_equal_weights(_final_weights(tmp_path), reference)


def test_sigterm_to_a_single_process_run_saves_at_the_current_step_and_exits_42(tmp_path):
    ckpt_dir = tmp_path / "run" / "checkpoints"
    process, out, err = _signal_after_a_checkpoint(signal.SIGTERM, _cli(tmp_path, "--max_steps", "100000"), ckpt_dir)
    assert process.returncode == 42, err[-2000:]
    assert "Traceback" not in err
    match = re.search(r"^terminated \(SIGTERM\) at step (\d+); saved (\S+); exiting with code 42", out, re.M)
    assert match, out[-2000:]
    step = int(match.group(1))
    assert step >= 50 and match.group(2) == str(ckpt_dir / f"ckpt-{step}") == tf.train.latest_checkpoint(str(ckpt_dir))


def test_a_second_run_on_the_same_directory_is_refused_naming_the_holder(tmp_path):
    ckpt_dir = tmp_path / "run" / "checkpoints"
    first = subprocess.Popen(_cli(tmp_path, "--max_steps", "100000", "--checkpoint_every", "10"),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    try:
        _wait_until(lambda: _published_step(ckpt_dir) >= 10, first)
        second = _run(_cli(tmp_path))
        assert second.returncode == 2
        lines = second.stderr.strip().splitlines()
        assert lines[-1] == (f"tfcourse train: error: {tmp_path / 'run'} is in use by another training run "
                             f"(pid {first.pid}); wait for it to finish, stop it, or choose another "
                             "--run_name/--log_dir"), second.stderr[-2000:]
        assert "Traceback" not in second.stderr
        # The refused run touched nothing: the first one is still running and publishing.
        assert first.poll() is None and _published_step(ckpt_dir) >= 10
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    # A dead holder's lock file stays behind, naming it, but no longer blocks anyone.
    assert lock.holder_pid(tmp_path / "run") == first.pid
    with lock.RunLock(tmp_path / "run"):
        assert lock.holder_pid(tmp_path / "run") == os.getpid()


@pytest.fixture(scope="module")
def data_sets():
    return small_data_sets()


def _config(tmp_path, **overrides):
    values = dict(hidden1=32, hidden2=16, max_steps=20, steps_per_call=10, checkpoint_every=10,
                  optimizer="sgd", learning_rate=0.1, log_dir=str(tmp_path), run_name="run", write_summaries=False)
    values.update(overrides)
    return training.TrainConfig(**values)


def test_the_lock_is_released_at_the_end_and_only_the_chief_takes_it(data_sets, tmp_path):
    training.train(data_sets, _config(tmp_path), progress=False, verbose=False)
    run_dir = tmp_path / "run"
    with lock.RunLock(run_dir):  # the finished run let go of it
        with pytest.raises(CourseError, match=rf"in use by another training run \(pid {os.getpid()}\)"):
            training.train(data_sets, _config(tmp_path, resume=True, max_steps=30), progress=False, verbose=False)
        # A non-chief worker writes nothing of the run's: it neither needs nor takes the lock.
        worker = training.train(data_sets, _config(tmp_path, resume=True, max_steps=30), progress=False,
                                verbose=False, chief=False)
        assert worker.resumed_from == 20 and worker.final_step == 30
    assert tf.train.latest_checkpoint(str(run_dir / "checkpoints")).endswith("ckpt-20")


def test_nan_loss_stops_naming_the_step_and_keeps_the_last_good_checkpoint(data_sets, tmp_path):
    ckpt_dir = tmp_path / "run" / "checkpoints"
    training.train(data_sets, _config(tmp_path), progress=False, verbose=False)
    good = checkpoints.load_weights(ckpt_dir / "ckpt-20")
    with pytest.raises(CourseError) as caught:
        training.train(data_sets, _config(tmp_path, resume=True, max_steps=60, learning_rate=1e6),
                       progress=False, verbose=False)
    message = str(caught.value)
    match = re.fullmatch(r"loss became (nan|inf) at step (\d+): training diverged and stopped; the last good "
                         r"checkpoint (\S+) is kept; lower the learning rate", message)
    assert match, message
    assert 20 < int(match.group(2)) <= 60 and match.group(3) == str(ckpt_dir / "ckpt-20")
    # Nothing after step 20 was saved: the latest is still ckpt-20, bit for bit, and finite.
    assert tf.train.latest_checkpoint(str(ckpt_dir)) == str(ckpt_dir / "ckpt-20")
    assert sorted(n for n in os.listdir(ckpt_dir) if n.endswith(".index")) == ["ckpt-10.index", "ckpt-20.index"]
    after = checkpoints.load_weights(ckpt_dir / "ckpt-20")
    _assert_equal_weights(after, good)
    assert all(np.isfinite(value).all() for value in after.values())


def test_nan_loss_on_the_command_line_is_one_line_and_exit_2(tmp_path):
    done = _run([sys.executable, "-m", "tfcourse", "train", "--fake_data", "--optimizer", "sgd", "--learning_rate",
                 "1e6", "--max_steps", "50", "--steps_per_call", "10", "--no_progress", "--log_dir", str(tmp_path)])
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert re.fullmatch(r"tfcourse train: error: loss became (nan|inf) at step \d+: training diverged and stopped; "
                        r"no checkpoint was written; lower the learning rate", last), last


def test_leftover_temp_folders_and_unpublished_saves_are_removed_and_never_restored(data_sets, tmp_path, capsys):
    ckpt_dir = tmp_path / "run" / "checkpoints"
    first = training.train(data_sets, _config(tmp_path), progress=False, verbose=False)
    # What kills mid-save leave: shards of ckpt-90 not merged (a valid-looking copy), and a
    # merged ckpt-25 the state file never named.
    shutil.copytree(ckpt_dir, tmp_path / "copy")
    os.mkdir(ckpt_dir / "ckpt-90_temp")
    for suffix in (".index", ".data-00000-of-00001"):
        shutil.copy(tmp_path / "copy" / f"ckpt-20{suffix}", ckpt_dir / "ckpt-90_temp" / f"part-00000-of-00001{suffix}")
        shutil.copy(tmp_path / "copy" / f"ckpt-10{suffix}", ckpt_dir / f"ckpt-25{suffix}")
    capsys.readouterr()

    resumed = training.train(data_sets, _config(tmp_path, resume=True, max_steps=30), verbose=True, progress=False)
    out = capsys.readouterr().out
    assert f"Removed {ckpt_dir}/ckpt-90_temp: left by a save that did not finish" in out
    assert f"Removed {ckpt_dir}/ckpt-25.index: left by a save that did not finish" in out
    assert f"Resumed from {ckpt_dir}/ckpt-20 at step 20" in out
    assert resumed.resumed_from == 20 and resumed.steps == list(range(21, 31))
    names = os.listdir(ckpt_dir)
    assert "ckpt-90_temp" not in names and not any(n.startswith("ckpt-25") for n in names)
    assert first.final_step == 20


def test_a_launcher_restart_resumes_even_without_the_resume_flag(data_sets, tmp_path, monkeypatch):
    training.train(data_sets, _config(tmp_path), progress=False, verbose=False)
    monkeypatch.setenv("TFCOURSE_ATTEMPT", "1")
    again = training.train(data_sets, _config(tmp_path, max_steps=30), progress=False, verbose=False)
    assert again.resumed_from == 20 and again.steps == list(range(21, 31))


def test_a_checkpoint_dir_outside_the_run_is_locked_too_and_a_refusal_keeps_nothing_locked(data_sets, tmp_path):
    shared = tmp_path / "shared-checkpoints"
    with lock.RunLock(shared):
        with pytest.raises(CourseError, match=rf"{shared} is in use by another training run \(pid {os.getpid()}\)"):
            training.train(data_sets, _config(tmp_path, checkpoint_dir=str(shared)), progress=False, verbose=False)
    with lock.RunLock(tmp_path / "run"):  # the run dir's lock was given back
        pass


def test_an_unwritable_log_dir_is_one_clear_error(tmp_path):
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(CourseError, match=r"^cannot write the run directory .*/file/run: Not a directory; "
                                          r"choose a writable --log_dir$"):
        lock.RunLock(tmp_path / "file" / "run")


def test_the_pre_save_check_sees_a_single_non_finite_weight():
    from tfcourse import mnist
    from tfcourse.training import safety

    model = mnist.MLP(8, 4, seed=0)
    assert safety.weights_finite(model)
    for bad in (np.nan, np.inf):
        values = model.hidden2.biases.numpy()
        values[3] = bad
        model.hidden2.biases.assign(values)
        assert not safety.weights_finite(model)
        model.hidden2.biases.assign(np.zeros_like(values))
        assert safety.weights_finite(model)


def _small_disk(max_file_bytes):
    """preexec_fn: files of this process may not grow past max_file_bytes (a full disk or a quota)."""
    import resource

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get an error from write() instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))
    return limit


def test_a_checkpoint_that_cannot_be_written_is_one_line_and_keeps_the_last_complete_one(tmp_path):
    # 128/32 with Adam: the checkpoint's data file is ~1.26 MB, the event file of 40 steps ~0.3 MB,
    # so an 800 kB file-size limit fails exactly the checkpoint save.
    args = ["--hidden1", "128", "--hidden2", "32", "--checkpoint_every", "20"]
    ckpt_dir = tmp_path / "run" / "checkpoints"
    assert _run(_cli(tmp_path, *args, "--max_steps", "20")).returncode == 0
    good = checkpoints.load_weights(str(ckpt_dir / "ckpt-20"))
    full = subprocess.run(_cli(tmp_path, *args, "--max_steps", "40", "--resume"), capture_output=True, text=True,
                          timeout=180, cwd=REPO, preexec_fn=_small_disk(800_000))
    assert full.returncode == 2 and "Traceback" not in full.stderr, full.stderr[-2000:]
    last = full.stderr.strip().splitlines()[-1]
    assert re.fullmatch(rf"tfcourse train: error: cannot write the checkpoint of step 40 in {re.escape(str(ckpt_dir))}: "
                        rf".*File too large; free some space or choose another --log_dir; "
                        rf"the last complete checkpoint {re.escape(str(ckpt_dir))}/ckpt-20 is kept", last), last
    assert _published_step(ckpt_dir) == 20
    _assert_equal_weights(checkpoints.load_weights(str(ckpt_dir / "ckpt-20")), good)
    # With space again, the half-written save is cleared and the run resumes from ckpt-20.
    done = _run(_cli(tmp_path, *args, "--max_steps", "40", "--resume"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ckpt-40_temp" in done.stdout and f"Resumed from {ckpt_dir}/ckpt-20 at step 20" in done.stdout
    assert _published_step(ckpt_dir) == 40 and not (ckpt_dir / "ckpt-40_temp").exists()

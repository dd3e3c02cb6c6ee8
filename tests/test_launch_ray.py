"""`tfcourse launch --backend ray`: Ray Train's TensorflowTrainer running the tfcourse trainer.

The misuse cases run without Ray (they must answer before Ray is imported); the real run
needs the `ray` extra and starts a private local Ray cluster with 2 workers.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest

from tfcourse import cli
from tfcourse.commands import launch as launch_command
from tfcourse.distribute import raybackend
from tfcourse.errors import CourseError


def _without_ray(argv):
    """Runs `tfcourse argv` in a fresh interpreter where `import ray` fails, as without the extra."""
    code = textwrap.dedent(f"""
        import sys
        sys.modules["ray"] = None  # what an environment without Ray looks like to `import ray`
        from tfcourse.cli import main
        sys.exit(main({argv!r}))
        """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_without_ray_the_backend_exits_2_with_the_install_line():
    result = _without_ray(["launch", "--backend", "ray", "-np", "2", "--", "tfcourse", "train", "--fake_data"])
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("tfcourse launch: error: --backend ray needs Ray Train")
    assert "pip install 'tfcourse[ray]'" in last
    assert "Traceback" not in result.stderr


def test_require_ray_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(CourseError, match=re.escape("install the extra: pip install 'tfcourse[ray]'")):
        raybackend.require_ray()


@pytest.mark.parametrize("command, flags", [
    (["tfcourse", "train", "--max_steps", "5"], ["--max_steps", "5"]),
    ([sys.executable, "-m", "tfcourse", "train"], []),
    (["python3", "-m", "tfcourse", "train", "--fake_data"], ["--fake_data"]),
])
def test_trainer_argv_takes_the_flags_after_train(command, flags):
    assert launch_command.trainer_argv(command) == flags


@pytest.mark.parametrize("command", [["python", "job.py"], ["tfcourse", "bench"], ["tfcourse"]])
def test_other_commands_are_refused(command):
    with pytest.raises(CourseError, match="expected '-- tfcourse train"):
        launch_command.trainer_argv(command)


@pytest.mark.parametrize("argv, message", [
    (["launch", "--backend", "ray", "-np", "2", "--timeout", "9", "--", "tfcourse", "train"],
     "--timeout: only for --backend local"),
    (["launch", "--backend", "ray", "-np", "2", "--", "python", "job.py"], "expected '-- tfcourse train"),
    (["launch", "-np", "2", "--address", "ray://h:10001", "--", "tfcourse", "train"], "--address is for --backend ray"),
    (["launch", "--backend", "ray", "--emit", "k8s", "-np", "2", "--", "tfcourse", "train"], "leave out --backend ray"),
])
def test_misuse_exits_2_before_ray_starts(capsys, argv, message):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_a_wrong_trainer_flag_exits_2_before_ray_starts():
    # Ray is hidden: the train parser must reject the flag before anything imports it.
    result = _without_ray(["launch", "--backend", "ray", "-np", "2", "--", "tfcourse", "train", "--max_steps", "-3"])
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert "--max_steps" in last and "expected a positive int" in last
    assert "Ray Train" not in result.stderr


def test_tee_passes_output_through_and_keeps_the_last_complete_line():
    import io

    sink = io.StringIO()
    tee = raybackend._Tee(sink)
    for piece in ["Test Data Eval:\n  Num", " examples: 10\n", "test precision@1 0.9", "100 after 5 steps\n", "\n"]:
        tee.write(piece)
    assert sink.getvalue().startswith("Test Data Eval:\n  Num examples: 10\ntest precision@1 0.9100")
    assert tee.last_line == "test precision@1 0.9100 after 5 steps"
    assert tee.getvalue() == sink.getvalue()  # anything else is the real stream's


def test_worker_failures_become_one_line_and_a_status():
    ray_train = pytest.importorskip("ray.train")
    from ray.exceptions import RayTaskError

    try:
        raise CourseError("--input_data_dir /nope does not exist")
    except CourseError as e:
        wrapped = RayTaskError("run_worker", "Traceback ...", e).as_instanceof_cause()  # as a worker's arrives
    usage = ray_train.WorkerGroupError("snippet", {1: wrapped, 0: RuntimeError("collective aborted")})
    assert raybackend.describe_failure(usage) == (2, "rank 1: --input_data_dir /nope does not exist")
    crash = ray_train.WorkerGroupError("snippet", {1: RuntimeError("peer gone"), 0: ZeroDivisionError("by zero")})
    assert raybackend.describe_failure(crash) == (1, "rank 0: ZeroDivisionError: by zero")
    controller = ray_train.ControllerError(RuntimeError("controller died"))
    assert raybackend.describe_failure(controller) == (1, "controller died")


@pytest.mark.slow
def test_a_deep_temp_folder_gets_a_short_ray_folder_for_its_sockets(tmp_path):
    assert raybackend.short_ray_temp_dir("/tmp/ray") is None
    assert raybackend.short_ray_temp_dir("/r" * 20) is None  # 40 bytes: its sockets fit exactly
    short = raybackend.short_ray_temp_dir("/r" * 20 + "x")
    try:
        assert os.path.isdir(short) and os.path.basename(short).startswith("tfcourse-ray-")
        longest = short + "/session_2026-12-07_20-55-12_123456_4194304/sockets/plasma_store.99"
        assert len(longest) <= 107
    finally:
        os.rmdir(short)


def test_two_ray_train_workers_run_the_trainer(tmp_path):
    pytest.importorskip("ray.train")
    # A deep TMPDIR (as under macOS's /var/folders/... or a CI's temp folder): Ray's own default
    # would put its unix sockets past the 107-byte limit; the launcher must pick a short folder.
    deep_tmp = tmp_path / ("deep-" * 12)
    deep_tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(deep_tmp), PYTHONUNBUFFERED="1")
    for name in ("RAY_ADDRESS", "RAY_TMPDIR"):
        env.pop(name, None)
    before = set(os.listdir("/tmp"))
    log_dir = tmp_path / "runs"
    argv = [sys.executable, "-m", "tfcourse", "launch", "--backend", "ray", "-np", "2", "--",
            "tfcourse", "train", "--fake_data", "--max_steps", "20", "--batch_size", "50", "--checkpoint_every", "10",
            "--log_dir", str(log_dir), "--run_name", "ray2"]
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        out, err = process.communicate(timeout=420)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"ray launch did not finish in 420 s:\n{out[-3000:]}\n{err[-3000:]}")
    finally:
        # The launcher removes the folder it made; clean up here only what it left.
        leftover = [name for name in set(os.listdir("/tmp")) - before if name.startswith("tfcourse-ray-")]
        for name in leftover:
            shutil.rmtree(os.path.join("/tmp", name), ignore_errors=True)
    both = out + err
    assert process.returncode == 0, both[-4000:]
    assert "AF_UNIX path length" not in both
    assert leftover == [], "the launcher left its Ray folder behind"
    # Ray Train wrote a two-worker TF_CONFIG for each worker, and each ran the trainer.
    addresses = re.findall(r"\[ray rank (\d)\] TF_CONFIG task worker (\d) of 2 \(([\d.]+):(\d+)\)", both)
    assert sorted(rank for rank, _, _, _ in addresses) == ["0", "1"], both[-4000:]
    assert all(rank == index for rank, index, _, _ in addresses)
    # Ray Train writes the node's routable IP (not 127.0.0.1): one host, two ports.
    assert len({host for _, _, host, _ in addresses}) == 1 and len({port for _, _, _, port in addresses}) == 2
    assert both.count("MultiWorkerMirroredStrategy with cluster_spec") >= 2
    # The driver prints the chief's final line itself, unprefixed, then the launcher's summary.
    lines = out.splitlines()
    final = [line for line in lines if line.startswith("test precision@1 ")]
    assert len(final) == 1, out[-3000:]
    match = re.match(r"test precision@1 (\d\.\d{4}) after 20 steps; checkpoints: (\S+);", final[0])
    assert match and float(match.group(1)) > 0.5  # the fake classes are learnable in 20 steps
    assert match.group(2) == str(log_dir / "ray2" / "checkpoints")
    assert any(line.startswith("[launch] ray: 2 workers done in ") and line.endswith("chief exited 0")
               for line in lines)
    # Only the chief wrote the run: one event file, and its checkpoint at step 20.
    assert len(list((log_dir / "ray2").glob("events.out.tfevents.*"))) == 1
    assert 'model_checkpoint_path: "ckpt-20"' in (log_dir / "ray2" / "checkpoints" / "checkpoint").read_text()

"""The images/sec harness: JSON lines, warm-up exclusion, statistics, the CLI and its errors."""

import json
import subprocess
import sys
import time

import pytest

from tfcourse.errors import CourseError
from tfcourse.resnet import benchmark

FIELDS = ("images_per_sec", "images_per_sec_per_replica", "step_time_mean_s", "step_time_std_s",
          "timed_steps", "warmup_steps", "replicas", "workers", "global_batch_size", "batch_size_per_replica",
          "precision", "xla", "xla_compiled", "warmup_time_s", "model", "hardware", "versions", "time", "strategy",
          "device")


def _cli(*args, timeout=180):
    """The CLI in a fresh process: (CompletedProcess, its wall-clock seconds)."""
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "tfcourse", *args], capture_output=True, text=True, timeout=timeout)
    return run, time.perf_counter() - start


def _check_result(result, replicas, workers, batch, steps, warmup, elapsed, xla=False):
    """`elapsed`: wall-clock seconds the test measured around the whole benchmark."""
    for field in FIELDS:
        assert field in result, field
    assert result["replicas"] == replicas and result["workers"] == workers
    assert result["global_batch_size"] == batch * replicas
    assert result["timed_steps"] == steps and result["warmup_steps"] == warmup
    # The timed steps and the warm-up happened inside the wall time the test measured, so the
    # throughput is at least the global batch x steps over that time (fails on a unit or count slip).
    timed = result["step_time_mean_s"] * steps
    assert 0 < timed and timed + result["warmup_time_s"] < elapsed, (timed, result["warmup_time_s"], elapsed)
    assert result["images_per_sec"] >= batch * replicas * steps / elapsed
    # Warm-up excluded: its first step traces (and compiles) the model, far slower than a timed step.
    assert result["warmup_time_s"] > 5 * result["step_time_mean_s"], result
    # XLA measured from the traced step, not the option echoed back.
    assert result["xla_compiled"] is xla
    assert result["versions"]["tensorflow"].startswith("2.")
    assert result["hardware"]["cpu_count"] >= 1


def test_summarize_on_known_step_times():
    stats = benchmark.summarize([0.1, 0.1, 0.2], global_batch_size=64, num_replicas=2)
    assert stats["images_per_sec"] == pytest.approx(64 * 3 / 0.4)
    assert stats["images_per_sec_per_replica"] == pytest.approx(64 * 3 / 0.4 / 2)
    assert stats["step_time_mean_s"] == pytest.approx(0.4 / 3)
    assert stats["step_time_std_s"] == pytest.approx(0.04714045, rel=1e-6)
    assert stats["timed_steps"] == 3


class _SlowRead:
    """A step's result whose host read takes `seconds` (like a device still computing)."""

    def __init__(self, seconds):
        self.seconds = seconds

    def __float__(self):
        time.sleep(self.seconds)
        return 1.0


def test_time_steps_times_each_step_up_to_its_host_read():
    durations = [0.05, 0.2, 0.0, 0.1]
    calls = iter(durations)
    seconds = benchmark.time_steps(lambda: _SlowRead(next(calls)), 4)
    # Each timing covers its own step's host read (the sleep inside float()): never less than it,
    # and in the same order, so an unread or shifted timing fails.
    assert len(seconds) == 4
    assert all(measured >= slept for measured, slept in zip(seconds, durations)), seconds
    assert sorted(range(4), key=seconds.__getitem__) == sorted(range(4), key=durations.__getitem__), seconds


def test_in_process_benchmark_with_xla_and_bfloat16(tmp_path):
    start = time.perf_counter()
    result = benchmark.run_benchmark(model="small", batch_size=8, image_size=16, steps=3, warmup=2,
                                 precision="mixed_bfloat16", xla=True, progress=False)
    _check_result(result, replicas=1, workers=1, batch=8, steps=3, warmup=2, elapsed=time.perf_counter() - start,
                  xla=True)
    assert result["precision"] == "mixed_bfloat16"
    assert result["strategy"] == "OneDeviceStrategy"
    path = tmp_path / "results.jsonl"
    benchmark.append_result(path, result)
    benchmark.append_result(path, result)
    assert len(benchmark.read_results(path)) == 2


def test_cli_two_cpu_replicas_appends_a_json_line(tmp_path):
    output = tmp_path / "results.jsonl"
    run, elapsed = _cli("bench", "resnet50", "--small", "--image-size", "16", "--batch-size", "8", "--replicas", "2",
                        "--steps", "3", "--warmup", "2", "--precision", "mixed_float16", "--output", str(output))
    assert run.returncode == 0, run.stderr[-2000:]
    assert "images/sec" in run.stdout
    (line,) = output.read_text().splitlines()
    result = json.loads(line)
    _check_result(result, replicas=2, workers=1, batch=8, steps=3, warmup=2, elapsed=elapsed)
    assert result["strategy"] == "MirroredStrategy" and result["precision"] == "mixed_float16"
    assert result["net"]["image_size"] == 16


@pytest.mark.slow
def test_cli_two_local_workers_multiworker(tmp_path):
    output = tmp_path / "results.jsonl"
    run, elapsed = _cli("bench", "resnet50", "--small", "--image-size", "16", "--batch-size", "8", "--workers", "2",
                        "--steps", "3", "--warmup", "2", "--no-progress", "--output", str(output))
    assert run.returncode == 0, run.stderr[-2000:]
    (line,) = output.read_text().splitlines()  # the chief alone records the result
    result = json.loads(line)
    _check_result(result, replicas=2, workers=2, batch=8, steps=3, warmup=2, elapsed=elapsed)
    assert result["strategy"] == "MultiWorkerMirroredStrategy"


@pytest.mark.parametrize("args, expected", [
    (("bench", "resnet50", "--batch-size", "0"), "--batch-size"),
    (("bench", "resnet50", "--precision", "float8"), "--precision"),
    (("bench", "resnet50", "--steps", "many"), "--steps"),
    (("bench",), "BENCHMARK"),
    (("bench", "report", "/nonexistent/results.jsonl"), "not found"),
])
def test_cli_misuse_exits_2_with_one_line(args, expected):
    run, _ = _cli(*args)
    assert run.returncode == 2
    assert expected in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert "Traceback" not in run.stderr


def test_bad_config_and_results_file(tmp_path):
    with pytest.raises(CourseError, match="warmup"):
        benchmark.BenchConfig(model="small", warmup=-1)
    with pytest.raises(CourseError, match="model"):
        benchmark.BenchConfig(model="vgg16")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"images_per_sec": 1}\nnot json\n')
    with pytest.raises(CourseError, match="bad.jsonl:2"):
        benchmark.read_results(bad)


def test_run_fresh_process_splits_the_cpu_a_started_tensorflow_cannot():
    # This pytest process may already hold TensorFlow with one CPU device; a fresh one splits it.
    config = benchmark.BenchConfig(model="small", image_size=16, batch_size=8, replicas=2, steps=2, warmup=1,
                               device="cpu")
    start = time.perf_counter()
    result = benchmark.run_fresh_process(config)
    _check_result(result, replicas=2, workers=1, batch=8, steps=2, warmup=1, elapsed=time.perf_counter() - start)
    assert result["strategy"] == "MirroredStrategy" and result["device"] == "CPU"


def test_run_cpu_layouts_checks_repeats():
    config = benchmark.BenchConfig(model="small", steps=1, warmup=0)
    for repeats in (0, 1.5, True):
        with pytest.raises(CourseError, match="repeats"):
            benchmark.run_cpu_layouts(config, repeats)
    assert list(benchmark.CPU_LAYOUTS.values()) == [(1, 1), (2, 1), (1, 2)]

"""The images/sec benchmark, in the manner of tf_cnn_benchmarks.

Protocol: build the model and step; run `warmup` steps untimed (they pay for tracing, XLA
compilation, memory allocation and cuDNN autotuning); then time `steps` steps one by one,
each ended by reading its loss back to the host, which waits for the device to finish.
Throughput = global batch x timed steps / timed seconds. Every result is one JSON line
with the options, hardware and versions, so runs from different machines can be compared.

A run that needs a fresh process (logical CPU replicas, or one worker of a local cluster)
runs this module: `python -m tfcourse.resnet.benchmark CONFIG_JSON --output FILE`, where
CONFIG_JSON is a BenchConfig's fields; the chief appends its result to FILE.
"""

import argparse
import dataclasses
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import tensorflow as tf

from tfcourse import environment, xla
from tfcourse.distribute import processes, strategies, tfconfig
from tfcourse.errors import CourseError, check_int, check_positive_int
from tfcourse.resnet import model as resnet_model
from tfcourse.resnet import train_step
from tfcourse.resnet.results import append_result, read_results  # noqa: F401  (re-exported)

MODELS = ("resnet50", "small")


@dataclasses.dataclass
class BenchConfig:
    """One benchmark run. batch_size is PER REPLICA, as in tf_cnn_benchmarks and the talk."""

    model: str = "resnet50"
    batch_size: int = 64
    precision: str = "float32"
    xla: bool = False
    replicas: int = 1
    steps: int = 50
    warmup: int = 5
    device: str = "auto"
    strategy: str = "auto"
    image_size: int = None
    num_classes: int = None
    learning_rate: float = 0.1
    seed: int = 0

    def __post_init__(self):
        if self.model not in MODELS:
            raise CourseError(f"model must be one of {', '.join(MODELS)}, got {self.model!r}")
        for name, lowest in (("batch_size", 1), ("replicas", 1), ("steps", 1), ("warmup", 0)):
            check_int(name, getattr(self, name), lowest)
        train_step.check_precision(self.precision)

    def net_config(self):
        base = resnet_model.RESNET50 if self.model == "resnet50" else resnet_model.SMALL
        changes = {k: v for k, v in (("image_size", self.image_size), ("num_classes", self.num_classes))
                   if v is not None}
        return dataclasses.replace(base, **changes)


def time_steps(step, num_steps, progress=None):
    """Runs step() num_steps times; returns the seconds of each, each ended by a host read."""
    seconds = []
    for _ in range(num_steps):
        start = time.perf_counter()
        float(step())  # reading the loss waits for the device: the step is really done
        seconds.append(time.perf_counter() - start)
        if progress is not None:
            progress.update(1)
    return seconds


def summarize(step_seconds, global_batch_size, num_replicas):
    """Throughput and step-time statistics from per-step seconds (warm-up already excluded)."""
    seconds = np.asarray(step_seconds, dtype=np.float64)
    images_per_sec = global_batch_size * len(seconds) / seconds.sum()
    return {
        "images_per_sec": float(images_per_sec),
        "images_per_sec_per_replica": float(images_per_sec / num_replicas),
        "step_time_mean_s": float(seconds.mean()),
        "step_time_std_s": float(seconds.std()),
        "step_time_median_s": float(np.median(seconds)),
        "step_time_min_s": float(seconds.min()),
        "step_time_max_s": float(seconds.max()),
        "timed_steps": int(len(seconds)),
    }


def run_benchmark(config=None, progress=True, **options):
    """Runs one benchmark and returns its result (a JSON-ready dict).

    Args:
      config: a BenchConfig, or None to build one from **options (same field names).
      progress: show a tqdm bar on stderr.
    Returns:
      dict with the options, "images_per_sec", "images_per_sec_per_replica",
      "step_time_mean_s"/"_std_s", "warmup_steps", "timed_steps", "hardware", "versions".
    """
    config = config or BenchConfig(**options)
    net = config.net_config()
    strategy, device_kind = strategies.choose_strategy(config.replicas, config.device, config.strategy)
    num_replicas = strategy.num_replicas_in_sync
    global_batch = config.batch_size * num_replicas
    with strategy.scope(), train_step.dtype_policy(config.precision):
        model = resnet_model.resnet(net)
        optimizer = train_step.resnet_optimizer(config.precision, config.learning_rate)
    step = train_step.make_train_step(model, optimizer, strategy, global_batch, xla=config.xla,
                                 synthetic=(config.batch_size, net.image_size, net.num_classes, config.seed))
    task_index, num_workers = tfconfig.worker_info() if config.strategy == "multiworker" else (0, 1)

    from tfcourse import progress as progress_bar

    label = f"{config.model} {config.precision}{' xla' if config.xla else ''} x{num_replicas}"
    with progress_bar.bar(config.warmup + config.steps, enabled=progress and task_index == 0, stream=sys.stderr,
                          desc=label) as bar:
        warmup_start = time.perf_counter()
        time_steps(step, config.warmup, bar)
        warmup_seconds = time.perf_counter() - warmup_start
        timed = time_steps(step, config.steps, bar)
        stats = summarize(timed, global_batch, num_replicas)
        bar.set_postfix(images_per_sec=f"{stats['images_per_sec']:.1f}", refresh=False)
    result = {
        "benchmark": "resnet_train_synthetic",
        "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "model": config.model,
        "net": dataclasses.asdict(net),
        "parameters": resnet_model.trainable_parameter_count(model),
        "precision": config.precision,
        "xla": bool(config.xla),
        # Measured, not echoed: the traced step hands (part of) itself to XLA.
        "xla_compiled": bool(xla.jit_compiled_functions(step)),
        "device": device_kind,
        "strategy": _strategy_name(strategy),
        "replicas": num_replicas,
        "workers": num_workers,
        "worker_index": task_index,
        "batch_size_per_replica": config.batch_size,
        "global_batch_size": global_batch,
        "warmup_steps": config.warmup,
        "warmup_time_s": warmup_seconds,
        **stats,
        "hardware": environment.hardware(),
        "versions": environment.versions(),
    }
    return result


def summary_line(result):
    """One line for the terminal: what ran and how fast."""
    return (f"{result['model']} {result['precision']} xla={'on' if result['xla'] else 'off'} "
            f"{result['device']} x{result['replicas']} ({result['workers']} worker(s)) "
            f"batch {result['batch_size_per_replica']}/replica: {result['images_per_sec']:.1f} images/sec "
            f"({result['images_per_sec_per_replica']:.1f} per replica), step "
            f"{1e3 * result['step_time_mean_s']:.1f} +- {1e3 * result['step_time_std_s']:.1f} ms "
            f"over {result['timed_steps']} steps after {result['warmup_steps']} warm-up")


def run_local_workers(config, num_workers, progress=False, timeout_s=600):
    """Runs `config` on `num_workers` local worker processes (MultiWorkerMirroredStrategy).

    Every worker runs this module (`python -m tfcourse.resnet.benchmark`) with `config` under its TF_CONFIG
    (`distribute.processes` starts them on 127.0.0.1), and the chief (worker 0) records
    the result; across machines, `tfcourse launch` starts `tfcourse bench resnet50
    --strategy multiworker` the same way. Returns the chief's result dict.
    """
    config = dataclasses.replace(config, strategy="multiworker")
    # MultiWorkerMirroredStrategy takes every GPU it sees; CPU workers on a GPU machine must see none.
    env = {"CUDA_VISIBLE_DEVICES": "-1"} if config.device == "cpu" else None
    with tempfile.TemporaryDirectory() as directory:
        output = os.path.join(directory, "result.jsonl")
        processes.run_and_collect(_worker_argv(config, output, progress), num_workers, timeout_s=timeout_s,
                                  extra_env=env)
        return read_results(output)[-1]


def run_fresh_process(config, timeout_s=600):
    """Runs `config` in a new Python process and returns its result dict.

    TensorFlow fixes its device list when its runtime starts, so a process (a notebook
    kernel) that has already used TensorFlow cannot split its CPU into logical replicas
    any more; a fresh process can.
    """
    with tempfile.TemporaryDirectory() as directory:
        output = os.path.join(directory, "result.jsonl")
        run = subprocess.run([sys.executable, *_worker_argv(config, output, progress=False)],
                             capture_output=True, text=True, timeout=timeout_s)
        if run.returncode != 0:
            raise CourseError(f"benchmark process exited with status {run.returncode}: {run.stderr[-800:]}")
        return read_results(output)[-1]


# The layouts of 2 replicas one machine offers without a second device: (replicas per
# process, processes). Logical CPU devices share the cores one replica already used.
CPU_LAYOUTS = {"1 replica": (1, 1), "2 replicas (1 process)": (2, 1), "2 workers (2 processes)": (1, 2)}


def run_cpu_layouts(config, repeats=1, output=None, printer=None):
    """Runs `config` (on the CPU) in each of CPU_LAYOUTS, `repeats` rounds interleaved.

    Every run is a fresh process (TensorFlow fixes its devices at start-up). Interleaving
    spreads background load over all layouts alike; scaling.scaling_table then keeps each
    layout's best run, the one least disturbed by other work on the machine.
    Args:
      output: append every result to this JSON-lines file, if given.
      printer: called with one line per finished run, if given (e.g. print).
    Returns:
      list of result dicts, in the order run.
    """
    check_positive_int("repeats", repeats)
    results = []
    for repeat in range(repeats):
        for name, (replicas, workers) in CPU_LAYOUTS.items():
            layout = dataclasses.replace(config, replicas=replicas, device="cpu")
            result = run_local_workers(layout, workers) if workers > 1 else run_fresh_process(layout)
            if output:
                append_result(output, result)
            if printer:
                printer(f"[{repeat + 1}/{repeats}] {name}: {summary_line(result)}")
            results.append(result)
    return results


def _worker_argv(config, output, progress):
    """`python` arguments that run `config` in this module's `main`, the result appended to `output`."""
    argv = ["-m", __name__, json.dumps(dataclasses.asdict(config)), "--output", output]
    return argv if progress else argv + ["--no-progress"]


def _strategy_name(strategy):
    # MultiWorkerMirroredStrategy's class is CollectiveAllReduceStrategy; record the public name.
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return "MultiWorkerMirroredStrategy"
    return type(strategy).__name__


def _main(argv=None):
    """One benchmark process: runs the BenchConfig given as JSON; the chief appends its result."""
    parser = argparse.ArgumentParser(description="one ResNet benchmark run (one worker under TF_CONFIG)")
    parser.add_argument("config", type=json.loads, help="a BenchConfig's fields as a JSON object")
    parser.add_argument("--output", required=True, help="append the chief's result as a JSON line to this file")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    result = run_benchmark(BenchConfig(**args.config), progress=not args.no_progress)
    if result["worker_index"] == 0:
        append_result(args.output, result)


if __name__ == "__main__":
    _main()

"""`tfcourse launch --backend ray`: the same trainer on a Ray cluster, through Ray Train.

For users who outgrow one machine, Ray already does what the local launcher does by hand:
it finds the machines, starts one worker per `-np`, and Ray Train's TensorflowTrainer
writes every worker's TF_CONFIG ({"cluster": {"worker": [...]}, "task": {"type": "worker",
"index": rank}}). Each Ray worker then runs `tfcourse train` in-process, parsed by the train
subcommand's own parser, so every flag means what it means locally; cluster.make_strategy
sees TF_CONFIG and builds MultiWorkerMirroredStrategy, worker 0 is the chief.

Why in-process rather than a `python -m tfcourse train` subprocess per worker: the Ray
worker has already imported TensorFlow (ray.train.tensorflow imports it when the trainer
is unpickled), so a subprocess would pay that start-up a second time, and Ray can only
stop, restart and report on the code that runs inside its own actor.

Ray is an optional extra (`pip install 'tfcourse[ray]'`); nothing here imports it at
module level, so tfcourse works without it and `--backend ray` says how to install it.
"""

import contextlib
import json
import os
import shutil
import sys
import tempfile
import time

from tfcourse.errors import CourseError

INSTALL_HINT = "pip install 'tfcourse[ray]'"
OBJECT_STORE_BYTES = 100 * 1024 ** 2  # Ray's minimum is 75 MiB; nothing big goes through it here
# Passed to every Ray process of the job (local or remote cluster): TensorFlow's start-up
# lines are noise, and Ray Train's print patch would log every worker line twice.
WORKER_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2", "RAY_TRAIN_ENABLE_PRINT_PATCH": "0", "PYTHONUNBUFFERED": "1"}


def require_ray():
    """Imports and returns `ray` with Ray Train; CourseError with the install line when missing."""
    try:
        import ray
        import ray.train  # noqa: F401  (ray without its [train] extra lacks pyarrow/pandas)
    except ImportError as e:
        raise CourseError(f"--backend ray needs Ray Train, which is not installed ({e.name or e}); "
                          f"install the extra: {INSTALL_HINT}") from None
    return ray


def trainer_argv(command):
    """The flags after `train` in `tfcourse train ...` (or `python -m tfcourse train ...`).

    Ray workers run the tfcourse trainer itself, so the command must be that trainer.
    """
    words = list(command)
    if words[:1] == ["tfcourse"]:
        rest = words[1:]
    elif len(words) >= 3 and os.path.basename(words[0]).startswith("python") and words[1:3] == ["-m", "tfcourse"]:
        rest = words[3:]
    else:
        rest = None
    if not rest or rest[0] != "train":
        raise CourseError(f"--backend ray runs the tfcourse trainer in every Ray worker; expected "
                          f"'-- tfcourse train [FLAGS]', got {' '.join(words)!r}")
    return rest[1:]


def parse_train_args(argv):
    """`tfcourse train`'s argparse Namespace for `argv` (a wrong flag exits 2 with one line)."""
    from tfcourse import cli

    return cli.build_parser("train").parse_args(["train", *argv])


class _Tee:
    """A text stream writing through to `stream` and remembering the last complete line."""

    def __init__(self, stream):
        self.stream = stream
        self.last_line = ""
        self._partial = ""

    def write(self, text):
        self.stream.write(text)
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            if line.strip():
                self.last_line = line
        return len(text)

    def flush(self):
        self.stream.flush()

    def __getattr__(self, name):  # isatty, fileno, encoding ... of the real stream
        return getattr(self.stream, name)


def run_worker(config):
    """Ray Train's train_loop_per_worker: one `tfcourse train` under the TF_CONFIG Ray wrote.

    Args:
      config: {"train_argv": [...]}, the flags after `tfcourse train`.
    Returns:
      {"rank", "returncode", "final_line"}: Ray hands rank 0's (the chief's) to the driver.
    """
    import ray.train

    # Ray sets it for the tf_keras package; tfcourse is written for Keras 3.
    os.environ.pop("TF_USE_LEGACY_KERAS", None)
    tf_config = json.loads(os.environ["TF_CONFIG"])
    task, workers = tf_config["task"], tf_config["cluster"]["worker"]
    rank = ray.train.get_context().get_world_rank()
    print(f"[ray rank {rank}] TF_CONFIG task {task['type']} {task['index']} of {len(workers)} "
          f"({workers[task['index']]})", flush=True)
    args = parse_train_args(config["train_argv"])
    # Ray forwards worker output line by line; a carriage-return progress bar would flood it.
    args.no_progress = True
    from tfcourse.commands import train as train_command

    tee = _Tee(sys.stdout)
    with contextlib.redirect_stdout(tee):
        code = train_command.run(args) or 0
    outcome = {"rank": rank, "returncode": code, "final_line": tee.last_line}
    # Ray Train v1 hands rank 0's last report to the driver, v2 rank 0's return value.
    ray.train.report(outcome)
    return outcome


def quiet_state_api_warnings():
    """Ray worker_process_setup_hook: no once-a-second warning when the State API is absent.

    Without the dashboard (the `ray[train]` extra leaves it out, and so does our local
    cluster) Ray's State API is absent, and Ray Train's placement-group cleaner warns about
    that every second of the run; with a dashboard the warning never fires anyway.
    """
    import logging

    logging.getLogger("ray.train.v2._internal.execution.controller.placement_group_cleaner").setLevel(logging.ERROR)


def _init(ray, address, num_workers):
    """Connects to `address` (or RAY_ADDRESS), else starts a small private local cluster."""
    runtime_env = {"env_vars": dict(WORKER_ENV), "worker_process_setup_hook": f"{__name__}.quiet_state_api_warnings"}
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        try:
            ray.init(address=address, runtime_env=runtime_env, log_to_driver=True)
        except ConnectionError as e:
            raise CourseError(f"cannot reach the Ray cluster at {address} ({e}); expected a running cluster's "
                              "ray://HOST:10001 or HOST:6379, and RAY_AUTH_MODE=token if it uses token "
                              "authentication (Ray 2.60's default)") from None
        cpus = ray.cluster_resources().get("CPU", 0)
        if cpus < num_workers:
            print(f"[launch] ray: the cluster at {address} has {cpus:g} CPUs now; -np {num_workers} waits "
                  f"for {num_workers} (an autoscaling cluster adds nodes)", file=sys.stderr, flush=True)
        return
    # One machine is never preempted and has no metrics dashboard: two fewer Ray processes.
    for name in ("RAY_TRAIN_ENABLE_PREEMPTION_WATCHER", "RAY_TRAIN_METRICS_ENABLED"):
        os.environ.setdefault(name, "0")
    # A new cluster of its own ("local"), never one another user started on this machine.
    # One CPU slot per worker even on a smaller machine, like the local launcher's -np.
    ray.init(address="local", num_cpus=max(num_workers, os.cpu_count() or 1), include_dashboard=False,
             object_store_memory=OBJECT_STORE_BYTES, runtime_env=runtime_env, log_to_driver=True)


def describe_failure(error):
    """(exit status, one line) for Ray Train's TrainingFailedError.

    Status 2 when a worker stopped on a tfcourse usage error (CourseError, as `tfcourse train`
    itself would exit), else 1. The line names the first failing rank and its exception.
    """
    failures = getattr(error, "worker_failures", None) or {}
    for rank, failure in sorted(failures.items()):
        cause = getattr(failure, "cause", None) or failure  # RayTaskError wraps the worker's exception
        if isinstance(cause, CourseError):
            return 2, f"rank {rank}: {cause}"
    if failures:
        rank, failure = min(failures.items())
        cause = getattr(failure, "cause", None) or failure
        text = str(cause).strip().splitlines()
        return 1, f"rank {rank}: {type(cause).__name__}: {text[-1] if text else ''}".rstrip(": ")
    text = str(error).strip().splitlines()
    return 1, text[-1] if text else type(error).__name__


def launch_on_ray(command, num_workers, address=None, restarts=0, gpus=0, out=None):
    """Runs `tfcourse train ...` as `num_workers` Ray Train workers; returns the chief's exit status.

    Args:
      command: argv list, `tfcourse train [FLAGS]`.
      num_workers: Ray Train workers, one TensorFlow worker task each (worker 0 is the chief).
      address: a Ray cluster ("ray://head:10001" or "head:6379"); default RAY_ADDRESS, else a
        new local cluster with max(num_workers, CPU count) CPU slots.
      restarts: worker-group restarts after a failure (FailureConfig.max_failures); pass
        --resume to the trainer so a restart continues from the checkpoint in a shared --log_dir.
      gpus: GPUs per worker (0: CPU only).
      out: text stream for the chief's final line and launcher messages (default sys.stdout).
    Returns:
      0 when every worker finished, the chief's status if it returned one, 1 if Ray reports a failure.
    """
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 1:
        raise CourseError(f"-np must be a positive integer, got {num_workers!r}")
    if restarts < 0:
        raise CourseError(f"--restarts must be 0 or more, got {restarts}")
    out = sys.stdout if out is None else out
    argv = trainer_argv(command)
    parse_train_args(argv)  # a flag mistake answers here, before the seconds Ray takes to start
    # Read when ray is imported: show every worker's lines, not "[repeated 3x across cluster]".
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    ray = require_ray()
    from ray.train import FailureConfig, RunConfig, ScalingConfig
    from ray.train.tensorflow import TensorflowTrainer

    started = time.monotonic()
    _init(ray, address, num_workers)
    # Ray Train's run state; nothing of ours is kept there (checkpoints go to --log_dir).
    storage = tempfile.mkdtemp(prefix="tfcourse-ray-")
    try:
        resources = {"CPU": 1, **({"GPU": gpus} if gpus else {})}
        trainer = TensorflowTrainer(
            run_worker, train_loop_config={"train_argv": argv},
            scaling_config=ScalingConfig(num_workers=num_workers, use_gpu=bool(gpus), resources_per_worker=resources),
            run_config=RunConfig(name="tfcourse-train", storage_path=storage,
                                 failure_config=FailureConfig(max_failures=restarts)))
        try:
            result = trainer.fit()
        except ray.train.TrainingFailedError as e:
            status, line = describe_failure(e)
            print(f"[launch] ray: training failed: {line}", file=out, flush=True)
            return status
        chief = getattr(result, "return_value", None) or result.metrics or {}
        if chief.get("final_line"):
            print(chief["final_line"], file=out, flush=True)
        print(f"[launch] ray: {num_workers} workers done in {time.monotonic() - started:.1f} s, "
              f"chief exited {chief.get('returncode', 0)}", file=out, flush=True)
        return int(chief.get("returncode", 0))
    finally:
        ray.shutdown()
        shutil.rmtree(storage, ignore_errors=True)

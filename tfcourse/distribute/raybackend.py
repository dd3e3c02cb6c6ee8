"""`tfcourse launch --backend ray`: the same trainer on a Ray cluster, through Ray Train.

For users who outgrow one machine, Ray already does what the local launcher does by hand:
it finds the machines, starts one worker per `-np`, and Ray Train's TensorflowTrainer
writes every worker's TF_CONFIG ({"cluster": {"worker": [...]}, "task": {"type": "worker",
"index": rank}}). Each Ray worker then calls the module-level `worker(config)` it was given
(for `tfcourse launch --backend ray -- tfcourse train ...`, the trainer with the flags the
driver parsed, so every flag means what it means locally); strategies.make_strategy sees
TF_CONFIG and builds MultiWorkerMirroredStrategy, worker 0 is the chief. Nothing here knows
the command line: the command layer chooses the worker and its config.

Why in-process rather than a `python -m tfcourse train` subprocess per worker: the Ray
worker has already imported TensorFlow (ray.train.tensorflow imports it when the trainer
is unpickled), so a subprocess would pay that start-up a second time, and Ray can only
stop, restart and report on the code that runs inside its own actor.

Ray is an optional extra (`pip install 'tfcourse[ray]'`); nothing here imports it at
module level, so tfcourse works without it and `--backend ray` says how to install it.
"""

import contextlib
import os
import shutil
import sys
import tempfile
import time

from tfcourse.distribute import tfconfig
from tfcourse.errors import CourseError, check_int, check_positive_int

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


def run_worker(job):
    """Ray Train's train_loop_per_worker: `job["worker"](job["config"])` under the TF_CONFIG Ray wrote.

    Args:
      job: {"worker": a module-level function of one argument returning an exit status (or
        None for 0), "config": its argument}.
    Returns:
      {"rank", "returncode", "final_line"}: Ray hands rank 0's (the chief's) to the driver.
    """
    import ray.train

    # Ray sets it for the tf_keras package; tfcourse is written for Keras 3.
    os.environ.pop("TF_USE_LEGACY_KERAS", None)
    cluster = tfconfig.cluster_from_env()
    task, workers = cluster["task"], cluster["cluster"]["worker"]
    rank = ray.train.get_context().get_world_rank()
    print(f"[ray rank {rank}] TF_CONFIG task {task['type']} {task['index']} of {len(workers)} "
          f"({workers[task['index']]})", flush=True)
    tee = _Tee(sys.stdout)
    with contextlib.redirect_stdout(tee):
        code = job["worker"](job["config"]) or 0
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


# A Unix socket's path holds at most 107 bytes (sun_path). Ray puts its sockets at
# <temp dir>/session_<date>_<microseconds>_<pid>/sockets/plasma_store[.N]: 67 bytes after the
# temp dir with a 7-digit pid, so a temp dir longer than 40 bytes can fail to start Ray.
SOCKET_PATH_MAX = 107
RAY_SOCKET_TAIL = len("/session_2026-12-07_20-55-12_123456_4194304/sockets/plasma_store.99")


def short_ray_temp_dir(default):
    """A temp folder for a local Ray cluster whose socket paths fit, or None when `default` fits.

    Ray's default is $RAY_TMPDIR, else $TMPDIR on Linux, else /tmp, plus /ray; a deep TMPDIR
    (a test runner's, a CI's, macOS's /var/folders/...) makes its socket paths too long and Ray
    stops with "AF_UNIX path length cannot exceed 107 bytes".

    Args:
      default: the folder Ray would use (ray._common.utils.get_default_ray_temp_dir()).
    Returns:
      None when `default` is short enough, else a new folder under /tmp (the caller removes it).
    """
    if len(os.fsencode(default)) + RAY_SOCKET_TAIL <= SOCKET_PATH_MAX:
        return None
    return tempfile.mkdtemp(prefix="tfcourse-ray-", dir=os.path.join(os.sep, "tmp"))


def _init(ray, address, num_workers):
    """Connects to `address` (or RAY_ADDRESS), else starts a small private local cluster.

    Returns:
      a folder made for the local cluster's sockets and logs, to remove after ray.shutdown(), or None.
    """
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
        return None
    # One machine is never preempted and has no metrics dashboard: two fewer Ray processes.
    for name in ("RAY_TRAIN_ENABLE_PREEMPTION_WATCHER", "RAY_TRAIN_METRICS_ENABLED"):
        os.environ.setdefault(name, "0")
    # A new cluster of its own ("local"), never one another user started on this machine.
    # One CPU slot per worker even on a smaller machine, like the local launcher's -np.
    from ray._common.utils import get_default_ray_temp_dir

    temp_dir = short_ray_temp_dir(get_default_ray_temp_dir())
    try:
        ray.init(address="local", num_cpus=max(num_workers, os.cpu_count() or 1), include_dashboard=False,
                 object_store_memory=OBJECT_STORE_BYTES, runtime_env=runtime_env, log_to_driver=True,
                 _temp_dir=temp_dir)
    except BaseException:
        if temp_dir:
            shutil.rmtree(temp_dir, ignore_errors=True)
        raise
    return temp_dir


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


def launch_on_ray(worker, config, num_workers, address=None, restarts=0, gpus=0, out=None):
    """Runs `worker(config)` in `num_workers` Ray Train workers; returns the chief's exit status.

    Args:
      worker: a module-level function (Ray sends it by name), run in every worker under its
        TF_CONFIG; it returns an exit status (None: 0), and its last printed line is the chief's
        final line, which the driver prints.
      config: its argument (picklable), e.g. the trainer's parsed flags.
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
    num_workers = check_positive_int("-np", num_workers)
    check_int("--restarts", restarts, 0)
    out = sys.stdout if out is None else out
    # Read when ray is imported: show every worker's lines, not "[repeated 3x across cluster]".
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    ray = require_ray()
    from ray.train import FailureConfig, RunConfig, ScalingConfig
    from ray.train.tensorflow import TensorflowTrainer

    started = time.monotonic()
    ray_temp_dir = _init(ray, address, num_workers)
    # Ray Train's run state; nothing of ours is kept there (checkpoints go to --log_dir).
    storage = tempfile.mkdtemp(prefix="tfcourse-ray-")
    try:
        resources = {"CPU": 1, **({"GPU": gpus} if gpus else {})}
        trainer = TensorflowTrainer(
            run_worker, train_loop_config={"worker": worker, "config": config},
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
        if ray_temp_dir:
            shutil.rmtree(ray_temp_dir, ignore_errors=True)

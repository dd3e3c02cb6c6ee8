"""`tfcourse launch`: one command instead of hand-configuring every worker's role and index.

The talk's pain point was that each node of a distributed TensorFlow job needed its role,
its index and the addresses of all the others, typed by hand and started in the right order.
`launch` does that for a local cluster on 127.0.0.1:

  1. picks free ports, one per task, and writes each task's TF_CONFIG
     ({"cluster": {"worker": [...]}, "task": {"type": "worker", "index": i}});
  2. starts every task as a real process in its own process group, with its output
     prefixed ("[worker 1] ...") and streamed as it comes;
  3. watches them: when one fails it says which one and how (exit code or signal), gives the
     others `grace` seconds to stop by themselves (a coordinated preemption save ends every
     worker with code 42), then SIGTERM and, `kill_after` seconds later, SIGKILL to each
     process group: nothing is left behind and nothing hangs;
  4. returns the chief's exit status (task "chief" 0 if there is one, else worker 0), and
     with `restarts` relaunches the whole job, on fresh ports; the trainer resumes from its
     last checkpoint.

Horovod's vocabulary maps onto it: `-np` is the number of worker processes, `-npernode` the
processes per host (here every host is 127.0.0.1; it only sets TFCOURSE_LOCAL_RANK and
TFCOURSE_NODE_RANK, which a GPU job uses to pick its GPU). Those variables and the exit code
42 are defined in `protocol`, the addresses and TF_CONFIG in `tfconfig`.
"""

import collections
import io
import os
import signal
import subprocess
import sys
import threading
import time

from tfcourse.distribute import protocol
from tfcourse.distribute.tfconfig import HOST, check_ports_free, cluster_spec, free_ports, tasks_of, tf_config
from tfcourse.errors import CourseError, check_int, check_positive_int, check_positive_number

LaunchResult = collections.namedtuple("LaunchResult", "returncode attempts failures")


class _Terminated(Exception):
    """The launcher itself got SIGTERM or SIGHUP (a scheduler's stop, a closed terminal)."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def _on_stop_signal(signum, frame):
    # Ignore repeats, so a second SIGTERM cannot interrupt the teardown the first one started.
    signal.signal(signum, signal.SIG_IGN)
    raise _Terminated(signum)


def _catch_stop_signals():
    """Turns SIGTERM/SIGHUP into _Terminated; returns the handlers to put back.

    Workers run in their own sessions (so one worker's group can be signalled alone) and
    therefore do not get the launcher's signals: without this, `kill <launcher>` or a
    batch system's stop would leave every worker running.
    """
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {signum: signal.signal(signum, _on_stop_signal) for signum in (signal.SIGTERM, signal.SIGHUP)}


def worker_command(command):
    """The argv a worker runs; a leading `tfcourse` runs this Python's `-m tfcourse`.

    That keeps workers on the launcher's own interpreter and virtual environment.
    """
    if not command:
        raise CourseError("no command to launch; expected: tfcourse launch -np N -- COMMAND ...")
    if command[0] == "tfcourse":
        return [sys.executable, "-m", "tfcourse", *command[1:]]
    return list(command)


def describe_exit(code):
    """'exited with code 1', 'killed by signal SIGKILL', ... for a Popen returncode."""
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    if code == protocol.PREEMPTED_EXIT_CODE:
        return f"exited with code {code} (preempted after saving a checkpoint)"
    return f"exited with code {code}"


def _shell_status(code):
    """A Popen returncode as a shell exit status (signal N -> 128 + N)."""
    return 128 - code if code < 0 else code


def _prefix(label):
    """What starts each line a task prints in the launcher's output: "[worker 1] "."""
    return f"[{label}] "


class _Task:
    """One worker process, its label and the thread copying its output."""

    def __init__(self, task_type, index, argv, env, out, lock):
        self.label = f"{task_type} {index}"
        self.process = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        self.thread = threading.Thread(target=self._copy, args=(out, lock), daemon=True)
        self.thread.start()

    def _copy(self, out, lock):
        for raw in iter(self.process.stdout.readline, b""):
            with lock:
                out.write(f"{_prefix(self.label)}{raw.decode(errors='replace').rstrip()}\n")
                out.flush()
        self.process.stdout.close()

    def signal_group(self, signum):
        try:
            os.killpg(self.process.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


def _stop(tasks, kill_after):
    """SIGTERM every task's process group, SIGKILL what is left after `kill_after` seconds."""
    for task in tasks:
        task.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + kill_after
    for task in tasks:
        try:
            task.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for task in tasks:
        # Also reaches grandchildren left in the group after the leader exited.
        task.signal_group(signal.SIGKILL)
        task.process.wait()
    for task in tasks:
        task.thread.join(timeout=2.0)


def _wait_all(tasks, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(t.process.poll() is None for t in tasks):
        time.sleep(0.05)


def _run_once(argv, num_workers, npernode, chief_task, ports, timeout, grace, kill_after, attempt, out, lock, env):
    """Runs one attempt; returns (chief's shell status, failure description or None)."""
    ports = ports or free_ports(num_workers)
    cluster = cluster_spec(num_workers, ports, chief_task)

    def say(message):
        with lock:
            out.write(f"[launch] {message}\n")
            out.flush()

    say(f"attempt {attempt}: {num_workers} tasks on {HOST} ports {','.join(map(str, ports))}")
    started = time.monotonic()
    tasks = []
    try:
        for rank, (task_type, index) in enumerate(tasks_of(cluster)):
            task_env = dict(os.environ if env is None else env)
            task_env.update(TF_CONFIG=tf_config(cluster, task_type, index), PYTHONUNBUFFERED="1",
                            **protocol.worker_environment(num_workers, rank, npernode, attempt))
            tasks.append(_Task(task_type, index, argv, task_env, out, lock))
        chief = tasks[0]
        while True:
            failed = [t for t in tasks if t.process.poll() not in (None, 0)]
            if failed:
                first = failed[0]
                chief_code = chief.process.returncode  # before our SIGTERM changes it
                say(f"{first.label} (pid {first.process.pid}) {describe_exit(first.process.returncode)}; "
                    f"stopping the others within {grace + kill_after:g} s")
                _wait_all(tasks, grace)
                _stop([t for t in tasks if t.process.poll() is None], kill_after)
                code = chief_code if chief_code not in (None, 0) else first.process.returncode
                return _shell_status(code), f"{first.label} {describe_exit(first.process.returncode)}"
            if chief.process.poll() == 0:
                _wait_all(tasks, grace)
                for task in tasks[1:]:
                    if task.process.poll() not in (None, 0):
                        say(f"{task.label} {describe_exit(task.process.returncode)} after the chief finished")
                left = [t for t in tasks if t.process.poll() is None]
                if left:
                    say(f"chief finished; stopping {len(left)} task(s) still running {grace:g} s later: "
                        f"{', '.join(t.label for t in left)}")
                    _stop(left, kill_after)
                for task in tasks:
                    task.thread.join(timeout=2.0)
                say(f"attempt {attempt}: done in {time.monotonic() - started:.1f} s, chief exited 0")
                return 0, None
            if timeout is not None and time.monotonic() - started > timeout:
                say(f"timed out after {timeout:g} s; stopping every task")
                _stop(tasks, kill_after)
                return 124, f"timed out after {timeout:g} s"
            time.sleep(0.05)
    finally:
        # Whatever happened (Ctrl-C, SIGTERM to the launcher, a bug), no worker outlives us.
        running = [t for t in tasks if t.process.poll() is None]
        if running:
            _stop(running, kill_after)


def launch(command, num_workers, npernode=None, restarts=0, timeout=None, chief_task=False, ports=None,
           grace=10.0, kill_after=5.0, out=None, env=None):
    """Starts `num_workers` processes running `command` as one TF_CONFIG cluster on 127.0.0.1.

    Args:
      command: argv list; a leading "tfcourse" runs `python -m tfcourse` of this interpreter.
      num_workers: number of processes (Horovod's -np), the chief included.
      npernode: processes per host (Horovod's -npernode); default all on one host.
      restarts: how many times to relaunch the whole job after a failure.
      timeout: seconds an attempt may run before every task is stopped (exit 124).
      chief_task: make task 0 a separate "chief" task instead of worker 0.
      ports: explicit ports (checked free), one per task; default: free ones picked.
      grace: seconds the others get to stop by themselves after the chief ends or a task fails.
      kill_after: seconds between SIGTERM and SIGKILL.
      out: text stream for the prefixed logs (default sys.stdout).
      env: base environment for the workers (default os.environ).
    Returns:
      LaunchResult(returncode, attempts, failures): the chief's exit status (shell style:
      128 + N for signal N; 124 on timeout), how many attempts ran, one line per failure.
    """
    num_workers = check_positive_int("-np", num_workers)
    npernode = num_workers if npernode is None else npernode
    if not 1 <= npernode <= num_workers:
        raise CourseError(f"-npernode must be between 1 and -np ({num_workers}), got {npernode}")
    check_int("--restarts", restarts, 0)
    if timeout is not None:
        check_positive_number("--timeout (seconds)", timeout)
    if chief_task and num_workers < 2:
        raise CourseError("--chief needs -np 2 or more (one chief plus at least one worker)")
    if ports is not None:
        if len(ports) != num_workers or len(set(ports)) != num_workers:
            raise CourseError(f"--ports needs {num_workers} distinct ports, got {list(ports)}")
        check_ports_free(ports)
    argv = worker_command(command)
    out = sys.stdout if out is None else out
    lock = threading.Lock()
    failures = []
    previous_handlers = _catch_stop_signals()
    attempt = 0
    try:
        for attempt in range(restarts + 1):
            if attempt and ports is not None:
                check_ports_free(ports)
            code, failure = _run_once(argv, num_workers, npernode, chief_task, ports, timeout, grace,
                                      kill_after, attempt, out, lock, env)
            if failure is None:
                return LaunchResult(code, attempt + 1, failures)
            failures.append(f"attempt {attempt}: {failure}")
            if code == 124 or attempt == restarts:
                return LaunchResult(code, attempt + 1, failures)
            with lock:
                out.write(f"[launch] restarting ({attempt + 1} of {restarts}); "
                          "the trainer resumes from its last checkpoint\n")
    except _Terminated as stop:
        # _run_once's `finally` has already stopped every task of the attempt.
        name = signal.Signals(stop.signum).name
        failures.append(f"attempt {attempt}: the launcher got {name}; every task was stopped")
        return LaunchResult(128 + stop.signum, attempt + 1, failures)
    finally:
        for signum, handler in previous_handlers.items():
            signal.signal(signum, handler)
    return LaunchResult(code, restarts + 1, failures)


def run_and_collect(argv, num_workers=2, timeout_s=120, extra_env=None):
    """Runs `num_workers` copies of `python <argv>` as one TF_CONFIG cluster; waits for them.

    `launch` for a measurement rather than a job: the workers' output is collected, not
    streamed, and any failure is an error.
    Args:
      argv: arguments after the interpreter, e.g. ["-m", "tfcourse.resnet.allreduce", ...].
      timeout_s: all workers must finish within this; otherwise they are stopped.
      extra_env: extra environment variables for every worker.
    Returns:
      list of each worker's output lines joined (stdout and stderr), in task-index order.
    Raises:
      CourseError when a worker fails or time runs out (the tail of the output is included).
    """
    num_workers = check_positive_int("num_workers", num_workers)
    log = io.StringIO()
    result = launch([sys.executable, *argv], num_workers, timeout=timeout_s, out=log,
                    env=dict(os.environ, **(extra_env or {})))
    text = log.getvalue()
    if result.returncode != 0:
        raise CourseError(f"{'; '.join(result.failures)}: {text[-800:]}")
    lines = text.splitlines(keepends=True)
    prefixes = [_prefix(f"worker {index}") for index in range(num_workers)]
    return ["".join(line[len(prefix):] for line in lines if line.startswith(prefix)) for prefix in prefixes]

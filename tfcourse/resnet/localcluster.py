"""Real worker processes on this machine, wired together with TF_CONFIG on 127.0.0.1.

MultiWorkerMirroredStrategy reads its cluster from the TF_CONFIG environment variable:
the list of worker addresses and this process's index in it. On a cluster a launcher sets
it on every machine (`tfcourse launch`, the talk's MPI scripts); here we set it for N local
processes on free ports, which is enough to measure the collective all-reduce for real.
"""

import os
import subprocess
import sys
import tempfile

from tfcourse.distribute import launch
from tfcourse.distribute.launch import free_ports
from tfcourse.errors import CourseError


def tf_config(ports, index):
    """The TF_CONFIG JSON for worker `index` of a cluster of local workers on `ports`."""
    return launch.tf_config(launch.cluster_spec(len(ports), ports), "worker", index)


def run_local_workers(argv, num_workers=2, timeout_s=120, extra_env=None):
    """Starts `num_workers` copies of `python <argv>` with TF_CONFIG set; waits for all.

    Args:
      argv: arguments after the interpreter, e.g. ["-m", "tfcourse", "bench", ...].
      timeout_s: all workers must finish within this; otherwise they are killed.
      extra_env: extra environment variables for every worker.
    Returns:
      list of each worker's stdout (str), in task-index order.
    Raises:
      CourseError when a worker fails or time runs out (its stderr tail is included).
    """
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 1:
        raise CourseError(f"num_workers must be a positive integer, got {num_workers!r}")
    ports = free_ports(num_workers)
    processes = []
    logs = []
    try:
        for index in range(num_workers):
            env = dict(os.environ, TF_CONFIG=tf_config(ports, index), **(extra_env or {}))
            stderr = tempfile.TemporaryFile(mode="w+")
            logs.append(stderr)
            processes.append(subprocess.Popen([sys.executable, *argv], env=env, stdout=subprocess.PIPE,
                                              stderr=stderr, text=True))
        outputs = []
        for index, process in enumerate(processes):
            try:
                out, _ = process.communicate(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                raise CourseError(f"worker {index} did not finish within {timeout_s} s") from None
            if process.returncode != 0:
                logs[index].seek(0)
                tail = logs[index].read()[-800:]
                raise CourseError(f"worker {index} exited with status {process.returncode}: {tail}")
            outputs.append(out)
        return outputs
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        for log in logs:
            log.close()

"""What a launcher tells its workers, and what a worker's exit code tells the launcher.

The local launcher (`processes.launch`) writes these variables into every worker's
environment, next to TF_CONFIG; the trainer reads them (a relaunched job resumes instead of
starting over) and exits with PREEMPTED_EXIT_CODE after a coordinated preemption save, which
the launcher then reports as a preemption rather than a crash. Both sides import them from
here, so the two can never disagree. No TensorFlow here: the launcher must start instantly.
"""

import os

PREEMPTED_EXIT_CODE = 42  # what the trainer exits with after a coordinated preemption save

NUM_WORKERS_ENV = "TFCOURSE_NUM_WORKERS"  # processes in the job, the chief included
RANK_ENV = "TFCOURSE_RANK"                # this process's place in start order, the chief 0
LOCAL_RANK_ENV = "TFCOURSE_LOCAL_RANK"    # its place on its host (a GPU job picks its GPU by it)
NODE_RANK_ENV = "TFCOURSE_NODE_RANK"      # its host's number
ATTEMPT_ENV = "TFCOURSE_ATTEMPT"          # 0, then 1, 2, ... each time the launcher relaunches the job


def worker_environment(num_workers, rank, npernode, attempt):
    """The variables above for one worker, as strings, ready for a process environment."""
    return {NUM_WORKERS_ENV: str(num_workers), RANK_ENV: str(rank), LOCAL_RANK_ENV: str(rank % npernode),
            NODE_RANK_ENV: str(rank // npernode), ATTEMPT_ENV: str(attempt)}


def launch_attempt(environ=None):
    """Which attempt of a launched job this process belongs to: 0 outside a launcher's relaunch."""
    return int((os.environ if environ is None else environ).get(ATTEMPT_ENV, "0") or 0)

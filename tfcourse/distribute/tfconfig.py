"""The cluster a job runs as: addresses on this machine, and each task's TF_CONFIG.

TF_CONFIG is how every multi-worker TensorFlow program learns its cluster: a JSON object
{"cluster": {"worker": ["host:port", ...], "chief": [...], "ps": [...]},
 "task": {"type": "worker", "index": i}} in the environment. A launcher writes it
(`tfcourse launch`, Slurm via `launch --from-slurm`, Kubeflow, Ray Train); the strategy
reads it. The chief (task "chief" 0, or worker 0 when there is no chief task) is the one
process writing checkpoints and summaries.
"""

import json
import os
import socket

from tfcourse.errors import CourseError

HOST = "127.0.0.1"
START_ORDER = ("chief", "worker", "ps", "evaluator")


def free_ports(count, host=HOST):
    """`count` distinct TCP ports that were free on `host` a moment ago.

    All sockets stay open until every port is chosen, so the OS cannot hand out one twice.
    """
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def check_ports_free(ports, host=HOST):
    """Raises CourseError naming the first port of `ports` that is already in use."""
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, int(port)))
            except OSError:
                raise CourseError(f"port {port} on {host} is already in use; pass other --ports "
                                  f"or leave --ports out to pick free ones") from None


def cluster_spec(num_workers, ports, chief_task=False, host=HOST):
    """The TF_CONFIG "cluster" dict: all workers, plus a separate chief task if asked.

    Without `chief_task`, worker 0 is the chief (MultiWorkerMirroredStrategy's convention).
    """
    if len(ports) != num_workers:
        raise CourseError(f"expected {num_workers} ports, got {len(ports)}")
    addresses = [f"{host}:{port}" for port in ports]
    if chief_task:
        return {"chief": addresses[:1], "worker": addresses[1:]}
    return {"worker": addresses}


def tasks_of(cluster):
    """[(task_type, index), ...] in start order, the chief first."""
    return [(kind, i) for kind in sorted(cluster, key=START_ORDER.index) for i in range(len(cluster[kind]))]


def tf_config(cluster, task_type, index):
    """The TF_CONFIG JSON string one task reads."""
    return json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}})


def cluster_from_env(environ=None):
    """The parsed TF_CONFIG dict, or None when this process is not part of a cluster."""
    text = (os.environ if environ is None else environ).get("TF_CONFIG")
    if not text:
        return None
    try:
        config = json.loads(text)
    except json.JSONDecodeError as e:
        raise CourseError(f"TF_CONFIG is not valid JSON ({e}); expected {{\"cluster\": ..., \"task\": ...}}") from None
    if "cluster" not in config or "task" not in config:
        raise CourseError("TF_CONFIG needs both 'cluster' and 'task' keys")
    return config


def num_tasks(config):
    """How many tasks the cluster of a parsed TF_CONFIG has, all types together (0 for None)."""
    return 0 if config is None else sum(len(addresses) for addresses in config["cluster"].values())


def is_chief(config):
    """True for the task that writes checkpoints and summaries (chief 0, else worker 0)."""
    if config is None:
        return True
    task = config["task"]
    if "chief" in config["cluster"]:
        return task["type"] == "chief"
    return task["type"] == "worker" and int(task["index"]) == 0


def worker_info(environ=None):
    """(task index, number of workers) from TF_CONFIG; (0, 1) outside a cluster."""
    config = cluster_from_env(environ)
    if config is None:
        return 0, 1
    return int(config["task"].get("index", 0)), max(len(config["cluster"].get("worker", [])), 1)

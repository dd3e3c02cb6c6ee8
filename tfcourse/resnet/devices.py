"""Replicas for the benchmark: logical CPU devices, GPUs, and the strategy over them.

One CPU can be split into N logical devices so that MirroredStrategy (in-process data
parallelism) can be run and timed on a laptop or CI machine. TensorFlow fixes its devices
when its runtime starts, so the split must happen before anything touches a device; a
process that has already started keeps what it has (`configure_cpu_replicas` says so).
"""

import json
import os
import platform

import tensorflow as tf

from tfcourse.errors import CourseError

STRATEGIES = ("auto", "one-device", "mirrored", "multiworker")


def configure_cpu_replicas(num_replicas):
    """Splits the first physical CPU into `num_replicas` logical devices; returns their names.

    Raises CourseError when TensorFlow has already started with fewer logical CPUs.
    """
    cpus = tf.config.list_physical_devices("CPU")
    current = tf.config.get_logical_device_configuration(cpus[0])
    if num_replicas > 1 and (current is None or len(current) != num_replicas):
        try:
            tf.config.set_logical_device_configuration(
                cpus[0], [tf.config.LogicalDeviceConfiguration()] * num_replicas)
        except RuntimeError:
            pass  # TensorFlow has started: use what it has, if it is enough (checked below).
    names = [d.name for d in tf.config.list_logical_devices("CPU")]
    if len(names) < num_replicas:
        raise CourseError(f"{num_replicas} CPU replicas need a fresh process (TensorFlow started with "
                          f"{len(names)} logical CPU); run `tfcourse bench` or call "
                          "configure_cpu_replicas first")
    return names[:num_replicas]


def gpu_names():
    return [d.name for d in tf.config.list_logical_devices("GPU")]


def make_strategy(num_replicas=1, device="auto", strategy="auto"):
    """Returns (tf.distribute.Strategy, device type "GPU"/"CPU").

    Args:
      num_replicas: replicas in this process (GPUs, or logical CPUs).
      device: "gpu", "cpu" or "auto" (GPUs when there are any).
      strategy: "auto" (one device for 1 replica, else mirrored), "one-device", "mirrored",
        or "multiworker": MultiWorkerMirroredStrategy over the cluster described by TF_CONFIG,
        as set by the course's launcher (`tfcourse launch`) in each worker process; each
        worker contributes its local GPUs (or its CPU) and the all-reduce uses RING collectives.
    """
    if strategy not in STRATEGIES:
        raise CourseError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if device not in ("auto", "cpu", "gpu"):
        raise CourseError(f"device must be auto, cpu or gpu, got {device!r}")
    if isinstance(num_replicas, bool) or not isinstance(num_replicas, int) or num_replicas < 1:
        raise CourseError(f"replicas must be a positive integer, got {num_replicas!r}")
    if strategy == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise CourseError("strategy multiworker needs TF_CONFIG (start the workers with `tfcourse launch`)")
        options = tf.distribute.experimental.CommunicationOptions(
            implementation=tf.distribute.experimental.CommunicationImplementation.RING)
        mwms = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
        return mwms, ("GPU" if gpu_names() else "CPU")
    physical_gpus = tf.config.list_physical_devices("GPU")
    use_gpu = device == "gpu" or (device == "auto" and physical_gpus)
    if use_gpu:
        if len(physical_gpus) < num_replicas:
            raise CourseError(f"{num_replicas} GPU replicas requested, {len(physical_gpus)} GPU(s) visible")
        names = gpu_names()[:num_replicas]
    else:
        names = configure_cpu_replicas(num_replicas)
    kind = "GPU" if use_gpu else "CPU"
    if strategy == "one-device" and num_replicas != 1:
        raise CourseError("strategy one-device runs exactly 1 replica")
    if num_replicas == 1 and strategy != "mirrored":
        return tf.distribute.OneDeviceStrategy(names[0]), kind
    return tf.distribute.MirroredStrategy(names), kind


def worker_info():
    """(task index, number of workers) from TF_CONFIG; (0, 1) outside a cluster."""
    config = json.loads(os.environ.get("TF_CONFIG", "{}") or "{}")
    workers = config.get("cluster", {}).get("worker", [])
    task = config.get("task", {})
    return int(task.get("index", 0)), max(len(workers), 1)


def hardware():
    """What a result ran on: CPU model and count, GPU models, host and OS."""
    gpus = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        gpus.append(details.get("device_name", gpu.name))
    return {
        "host": platform.node(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "gpus": gpus,
    }


def versions():
    import keras
    import numpy as np

    from tfcourse import __version__

    return {"tfcourse": __version__, "tensorflow": tf.__version__, "keras": keras.__version__,
            "numpy": np.__version__, "python": platform.python_version(),
            "cuda_build": tf.test.is_built_with_cuda()}


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()

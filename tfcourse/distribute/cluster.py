"""Which strategy the trainer runs under, and whether this process is the chief.

  * One process, N replicas: MirroredStrategy over N GPUs, or, without enough GPUs, over N
    logical CPU devices carved out of the one physical CPU, so every student and CI can run
    synchronous data parallel (`use_logical_cpus` must run before TensorFlow initialises
    its devices, i.e. before the first op).
  * Several processes: TF_CONFIG (written by `tfcourse launch`, Slurm or Kubeflow) names a
    cluster; MultiWorkerMirroredStrategy all-reduces gradients between the workers over
    gRPC. The chief (task "chief" 0, or worker 0 when there is no chief task) is the only
    one writing checkpoints and summaries.
"""

import json
import os

from tfcourse.errors import CourseError


def use_logical_cpus(num_devices):
    """Splits the physical CPU into `num_devices` logical devices /cpu:0 ... /cpu:N-1.

    Raises CourseError when TensorFlow already initialised its devices with fewer.
    """
    import tensorflow as tf

    if isinstance(num_devices, bool) or not isinstance(num_devices, int) or num_devices < 1:
        raise CourseError(f"number of replicas must be a positive integer, got {num_devices!r}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices)
    except RuntimeError:
        have = len(tf.config.list_logical_devices("CPU"))
        if have < num_devices:
            raise CourseError(f"TensorFlow already started with {have} CPU device(s); {num_devices} logical CPUs "
                              "must be configured before the first TensorFlow op (restart the kernel)") from None
    return [f"/cpu:{i}" for i in range(num_devices)]


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


def is_chief(config):
    """True for the task that writes checkpoints and summaries (chief 0, else worker 0)."""
    if config is None:
        return True
    task = config["task"]
    if "chief" in config["cluster"]:
        return task["type"] == "chief"
    return task["type"] == "worker" and int(task["index"]) == 0


def make_strategy(replicas=None):
    """The strategy for this process, and whether it is the chief.

    Args:
      replicas: replicas in this process (None or 1: one device). Ignored under TF_CONFIG,
        where every worker contributes its devices.
    Returns:
      (strategy, chief): a tf.distribute.Strategy and a bool.
    """
    import tensorflow as tf

    config = cluster_from_env()
    if config is not None and sum(len(v) for v in config["cluster"].values()) > 1:
        options = tf.distribute.experimental.CommunicationOptions(
            implementation=tf.distribute.experimental.CommunicationImplementation.RING)
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options), is_chief(config)
    if not replicas or replicas == 1:
        return tf.distribute.get_strategy(), True
    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) >= replicas:
        devices = [f"/gpu:{i}" for i in range(replicas)]
    else:
        devices = use_logical_cpus(replicas)
    # On logical CPUs NCCL does not exist; reducing through one device is the portable choice.
    cross_device = None if gpus else tf.distribute.ReductionToOneDevice()
    return tf.distribute.MirroredStrategy(devices=devices, cross_device_ops=cross_device), True


def train_on_cluster(data_sets, config, replicas=None, **kwargs):
    """tfcourse.train.train under `make_strategy(replicas)`, non-chief workers writing nothing shared.

    Call it before any other TensorFlow op (logical CPUs and the cluster runtime are set up
    first). Returns the TrainResult.
    """
    strategy, chief = make_strategy(replicas)
    from tfcourse import training as train

    return train.train(data_sets, config, strategy=strategy, chief=chief, **kwargs)

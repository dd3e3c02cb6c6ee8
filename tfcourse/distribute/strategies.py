"""Which tf.distribute strategy a process runs under: the one place that decides it.

  * Several processes: TF_CONFIG (see `tfconfig`) names a cluster, and
    MultiWorkerMirroredStrategy all-reduces gradients between the workers over gRPC with
    RING collectives, the implementation that works on CPUs and GPUs alike.
  * One process, N replicas: MirroredStrategy over N GPUs or N logical CPUs (`devices`).
    On logical CPUs NCCL does not exist; reducing through one device is the portable choice.
  * One replica: the default strategy (the MNIST trainer) or OneDeviceStrategy (the benchmark,
    which names its device).
Asynchronous training with parameter servers builds its strategy in `paramserver`.
"""

from tfcourse.distribute import devices, tfconfig
from tfcourse.errors import CourseError, check_choice, check_positive_int

STRATEGIES = ("auto", "one-device", "mirrored", "multiworker")


def ring_options():
    """The collective options every multi-worker all-reduce here uses: RING over gRPC."""
    import tensorflow as tf

    return tf.distribute.experimental.CommunicationOptions(
        implementation=tf.distribute.experimental.CommunicationImplementation.RING)


def multi_worker_strategy():
    """MultiWorkerMirroredStrategy over the cluster in TF_CONFIG, with RING all-reduce."""
    import tensorflow as tf

    return tf.distribute.MultiWorkerMirroredStrategy(communication_options=ring_options())


def mirrored_strategy(names, kind):
    """MirroredStrategy over `names` (devices of type `kind`, "GPU" or "CPU")."""
    import tensorflow as tf

    cross_device = None if kind == "GPU" else tf.distribute.ReductionToOneDevice()
    return tf.distribute.MirroredStrategy(devices=names, cross_device_ops=cross_device)


def make_strategy(replicas=None):
    """The MNIST trainer's strategy for this process, and whether it is the chief.

    Call it before any other TensorFlow op (logical CPUs and the cluster runtime are set up first).
    Args:
      replicas: replicas in this process (None or 1: one device). Ignored under TF_CONFIG,
        where every worker contributes its devices.
    Returns:
      (strategy, chief): a tf.distribute.Strategy and a bool.
    """
    import tensorflow as tf

    config = tfconfig.cluster_from_env()
    if tfconfig.num_tasks(config) > 1:
        return multi_worker_strategy(), tfconfig.is_chief(config)
    if not replicas or replicas == 1:
        return tf.distribute.get_strategy(), True
    return mirrored_strategy(*devices.replica_devices(replicas)), True


def choose_strategy(num_replicas=1, device="auto", strategy="auto"):
    """The benchmark's strategy by name; returns (tf.distribute.Strategy, device type "GPU"/"CPU").

    Args:
      num_replicas: replicas in this process (GPUs, or logical CPUs).
      device: "gpu", "cpu" or "auto" (GPUs when there are any).
      strategy: "auto" (one device for 1 replica, else mirrored), "one-device", "mirrored",
        or "multiworker": MultiWorkerMirroredStrategy over the cluster described by TF_CONFIG,
        as set by the course's launcher (`tfcourse launch`) in each worker process; each
        worker contributes its local GPUs (or its CPU).
    """
    import tensorflow as tf

    check_choice("strategy", strategy, STRATEGIES)
    devices.check_device(device)
    num_replicas = check_positive_int("replicas", num_replicas)
    if strategy == "multiworker":
        if tfconfig.cluster_from_env() is None:
            raise CourseError("strategy multiworker needs TF_CONFIG (start the workers with `tfcourse launch`)")
        strategy = multi_worker_strategy()
        return strategy, ("GPU" if tf.config.list_logical_devices("GPU") else "CPU")
    if device == "auto":
        device = "gpu" if tf.config.list_physical_devices("GPU") else "cpu"
    names, kind = devices.replica_devices(num_replicas, device)
    if strategy == "one-device" and num_replicas != 1:
        raise CourseError("strategy one-device runs exactly 1 replica")
    if num_replicas == 1 and strategy != "mirrored":
        return tf.distribute.OneDeviceStrategy(names[0]), kind
    return mirrored_strategy(names, kind), kind

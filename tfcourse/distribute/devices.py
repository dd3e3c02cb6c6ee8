"""The devices replicas run on: GPUs, or logical CPU devices carved out of the one CPU.

One physical CPU can be split into N logical devices, so that every student and CI
machine can run (and time) synchronous data parallel with MirroredStrategy. TensorFlow
fixes its devices when its runtime starts, so the split must happen before the first op;
a process that has already started keeps what it has, which is enough if it has as many.
"""

from tfcourse.errors import CourseError, check_choice, check_positive_int

DEVICES = ("auto", "cpu", "gpu")


def check_device(device):
    """`device` if it is one of DEVICES, else CourseError naming them."""
    return check_choice("device", device, DEVICES)


def use_logical_cpus(num_devices):
    """Splits the physical CPU into `num_devices` logical devices; returns ["/cpu:0", ...].

    Raises CourseError when TensorFlow already initialised its devices with fewer.
    """
    from tfcourse import startup

    tf = startup.import_tensorflow()  # this may be TensorFlow's first import: its start-up notices set aside

    num_devices = check_positive_int("number of replicas", num_devices)
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices)
    except RuntimeError:
        have = len(tf.config.list_logical_devices("CPU"))
        if have < num_devices:
            raise CourseError(f"TensorFlow already started with {have} CPU device(s); {num_devices} logical CPUs "
                              "must be configured before the first TensorFlow op (restart the kernel, or run "
                              "it in a fresh process)") from None
    return [f"/cpu:{i}" for i in range(num_devices)]


def replica_devices(num_replicas, device="auto"):
    """The devices of `num_replicas` replicas in this process, and their type.

    Args:
      num_replicas: a positive int.
      device: "gpu" (that many GPUs must be visible), "cpu" (logical CPUs), or "auto":
        GPUs when there are enough of them, else logical CPUs.
    Returns:
      (["/gpu:0", ...] or ["/cpu:0", ...], "GPU" or "CPU").
    """
    import tensorflow as tf

    check_device(device)
    num_replicas = check_positive_int("replicas", num_replicas)
    gpus = len(tf.config.list_physical_devices("GPU"))
    if device == "gpu" and gpus < num_replicas:
        raise CourseError(f"{num_replicas} GPU replicas requested, {gpus} GPU(s) visible")
    if device == "gpu" or (device == "auto" and gpus >= num_replicas):
        return [f"/gpu:{i}" for i in range(num_replicas)], "GPU"
    return use_logical_cpus(num_replicas), "CPU"

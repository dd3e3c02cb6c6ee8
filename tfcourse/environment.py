"""`tfcourse info`: the environment report a student pastes into a bug report."""

import os
import platform

from tfcourse.datasets import locate
from tfcourse.datasets.idx import read_bytes, sha256_of
from tfcourse.errors import CourseError, DataError


def check_data(train_dir=None):
    """Verifies each MNIST file's SHA-256; returns (directory, how, {name: status})."""
    directory, how = locate.resolve_data_dir(train_dir)
    status = {}
    for name in locate.FILES:
        path = locate.find_file(directory, name)
        if path is None:
            status[name] = "missing"
            continue
        try:
            ok = sha256_of(read_bytes(path)) == locate.SHA256[name]
        except DataError as e:
            status[name] = f"unreadable ({e})"
            continue
        status[name] = "ok" if ok else "CHECKSUM MISMATCH"
    return directory, how, status


def environment_report(train_dir=None, relative=False):
    """Returns the report as a list of lines (versions, devices, XLA, run folder, data).

    Ten lines when all is well, so a notebook's first output stays short; each data file gets
    a line of its own only when one is not ok. TensorFlow is imported through
    `startup.import_tensorflow`, which sets its harmless start-up notices aside.

    With `relative`, paths are written as `settings.shown` writes them (notebooks: their stored
    outputs must not name the machine that ran them); `tfcourse info` keeps them absolute.
    """
    from tfcourse import settings, startup

    tf = startup.import_tensorflow()
    record = versions()
    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    if gpus:
        gpu_line = ", ".join(gpus)
    elif record["cuda_build"]:
        # A CUDA build probes for a driver while it loads and logs what it did not find; a
        # newcomer would read those lines as a failure, so the report says where they went.
        hidden = len(startup.notices())
        gpu_line = ("none visible; this CUDA build runs on the CPU here"
                    + (f" ({hidden} start-up notices set aside: tfcourse.startup.notices())" if hidden else ""))
    else:
        gpu_line = "none visible (a CPU-only build)"
    lines = [
        f"tfcourse    {record['tfcourse']}",
        f"python      {record['python']} ({platform.platform()})",
        f"tensorflow  {record['tensorflow']}",
        f"keras       {record['keras']}",
        f"numpy       {record['numpy']}",
        f"cpus        {os.cpu_count()} cores as the OS counts them; {_cpu_devices(tf)}",
        f"gpus        {gpu_line}",
        f"xla         {'available' if _xla_available() else 'NOT available'}",
    ]
    try:
        runs = settings.runs_dir()
    except CourseError as e:  # the report must still print: it is what a bug report carries
        runs = f"UNUSABLE: {e}"
    lines.append(f"runs        {runs} (${settings.RUNS_ENV} overrides)")
    directory, how, status = check_data(train_dir)
    if all(state == "ok" for state in status.values()):
        lines.append(f"data        {directory} ({how}): the {len(status)} MNIST files verified (SHA-256 ok)")
    else:
        lines.append(f"data        {directory} ({how})")
        for name, state in status.items():
            lines.append(f"  {name:<26}{state}")
    return [settings.shown(line) for line in lines] if relative else lines


def _cpu_devices(tf):
    """How TensorFlow uses the cores: one /CPU:0, or the logical devices a notebook split it into.

    Reads the configuration without initialising the runtime, so a notebook can still split
    the CPU after printing the report.
    """
    physical = tf.config.list_physical_devices("CPU")
    logical = tf.config.get_logical_device_configuration(physical[0]) if physical else None
    if not logical or len(logical) == 1:
        return "TensorFlow runs them all as one device, /CPU:0"
    return f"TensorFlow runs them as {len(logical)} logical devices, /CPU:0 to /CPU:{len(logical) - 1}"


def _xla_available():
    """True when a jit_compile'd function actually compiles and runs here."""
    import tensorflow as tf

    try:
        return float(tf.function(lambda x: x * 2.0, jit_compile=True)(tf.constant(1.0))) == 2.0
    except Exception:  # any compiler failure means "not available" for the report
        return False


def versions():
    """The versions a result or a bug report depends on: {"tfcourse", "tensorflow", "keras",
    "numpy", "python", "cuda_build"}."""
    import keras
    import numpy as np
    import tensorflow as tf

    from tfcourse import __version__

    return {"tfcourse": __version__, "tensorflow": tf.__version__, "keras": keras.__version__,
            "numpy": np.__version__, "python": platform.python_version(),
            "cuda_build": tf.test.is_built_with_cuda()}


def hardware():
    """What a result ran on: {"host", "platform", "cpu" (model), "cpu_count", "gpus" (models)}."""
    import tensorflow as tf

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


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()

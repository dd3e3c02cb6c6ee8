"""`tfcourse info`: the environment report a student pastes into a bug report."""

import os
import platform
import sys

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
    """Returns the report as a list of lines (versions, devices, XLA, data).

    With `relative`, paths are written as `settings.shown` writes them (notebooks: their stored
    outputs must not name the machine that ran them); `tfcourse info` keeps them absolute.
    """
    import keras
    import numpy as np
    import tensorflow as tf

    from tfcourse import __version__

    devices = tf.config.list_physical_devices()
    gpus = [d.name for d in devices if d.device_type == "GPU"]
    lines = [
        f"tfcourse    {__version__}",
        f"python      {sys.version.split()[0]} ({platform.platform()})",
        f"tensorflow  {tf.__version__}",
        f"keras       {keras.__version__}",
        f"numpy       {np.__version__}",
        f"cpus        {os.cpu_count()} logical",
        f"gpus        {', '.join(gpus) if gpus else 'none visible'}",
        f"cuda build  {tf.test.is_built_with_cuda()}",
        f"xla         {'available' if _xla_available() else 'NOT available'}",
    ]
    from tfcourse import settings

    try:
        runs = settings.runs_dir()
    except CourseError as e:  # the report must still print: it is what a bug report carries
        runs = f"UNUSABLE: {e}"
    lines.append(f"runs        {runs} (${settings.RUNS_ENV} overrides)")
    directory, how, status = check_data(train_dir)
    lines.append(f"data        {directory} ({how})")
    for name, state in status.items():
        lines.append(f"  {name:<26}{state}")
    return [settings.shown(line) for line in lines] if relative else lines


def _xla_available():
    """True when a jit_compile'd function actually compiles and runs here."""
    import tensorflow as tf

    try:
        return float(tf.function(lambda x: x * 2.0, jit_compile=True)(tf.constant(1.0))) == 2.0
    except Exception:  # any compiler failure means "not available" for the report
        return False

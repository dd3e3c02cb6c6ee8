"""TensorFlow's start-up notices, set aside so that a lesson's first output is the lesson.

A CUDA build of TensorFlow writes a few lines to file descriptor 2 while it loads and first
looks for devices: the absl pre-initialisation warning, the oneDNN notice, and on a machine
without a GPU driver "Could not find cuda drivers" and "failed call to cuInit". They come
from C++ before Python's logging exists, so `TF_CPP_MIN_LOG_LEVEL` cannot hide all of them
without also hiding real errors (the cuInit line goes only at level 3).

`import_tensorflow()` imports TensorFlow and initialises its devices with descriptor 2
captured, keeps the lines known to be harmless here (`notices()` returns them, so nothing is
lost) and writes every other line back to stderr at once: an unknown message, a real error,
is never hidden.
"""

import ctypes.util
import os
import re
import sys
import tempfile

# Each pattern is a notice that says nothing is wrong on a machine like this one.
_ALWAYS_HARMLESS = [
    re.compile(r"All log messages before absl::InitializeLog\(\) is called are written to STDERR"),
    re.compile(r"oneDNN custom operations are on"),
]
# Harmless only where no CUDA driver is installed: on a GPU machine the same lines mean a
# broken driver, and the student must see them.
_HARMLESS_WITHOUT_DRIVER = [
    re.compile(r"Could not find cuda drivers on your machine, GPU will not be used"),
    re.compile(r"failed call to cuInit"),
]

_notices = []
_imported_quietly = False


def _cuda_driver_installed():
    return ctypes.util.find_library("cuda") is not None


def is_harmless(line, driver_installed=None):
    """True when `line` is a start-up notice known to be harmless on this machine.

    Args:
      line: one line TensorFlow wrote to stderr while loading.
      driver_installed: whether a CUDA driver library is present (default: look for libcuda).
    """
    if any(p.search(line) for p in _ALWAYS_HARMLESS):
        return True
    if driver_installed is None:
        driver_installed = _cuda_driver_installed()
    return not driver_installed and any(p.search(line) for p in _HARMLESS_WITHOUT_DRIVER)


def sort_lines(text, driver_installed=None):
    """(harmless, other): the non-empty lines of `text` split by `is_harmless`."""
    harmless, other = [], []
    for line in text.splitlines():
        if line.strip():
            (harmless if is_harmless(line, driver_installed) else other).append(line)
    return harmless, other


def import_tensorflow():
    """Imports TensorFlow and lists its devices with stderr's start-up notices set aside.

    Returns:
      The `tensorflow` module. When TensorFlow was already imported, it is returned as it is
      (its notices were printed then, and are not in `notices()`).
    """
    global _imported_quietly
    if "tensorflow" in sys.modules or _imported_quietly:
        import tensorflow as tf

        return tf
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # the device probe writes the cuInit line
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode("utf-8", "replace")
    _imported_quietly = True
    harmless, other = sort_lines(text)
    _notices.extend(harmless)
    if other:  # anything we do not know stays where the student sees it
        print("\n".join(other), file=sys.stderr)
    return tf


def notices():
    """The harmless start-up lines `import_tensorflow` set aside (a list of str)."""
    return list(_notices)

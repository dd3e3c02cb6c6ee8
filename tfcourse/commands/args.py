"""Flag types shared by every subcommand: each rejects a bad value in one line.

argparse turns an ArgumentTypeError into "tfcourse train: error: argument --hidden1:
expected a positive integer, got '0'" and exit status 2, so a typo answers before any
work (or TensorFlow) starts. Every numeric flag uses one of these instead of a bare
`int`/`float`: a bare `int` lets `--seed -1` through to a numpy traceback, a bare `float`
lets `--timeout nan` through. tests/test_cli_flags.py walks the parsers and fails on a
numeric flag that does not use them.
"""

import argparse
import math
import re

MAX_SEED = 2**32 - 1  # numpy's legacy seeding (settings.set_seed) takes 0..2**32-1
MAX_PORT = 65535


def _integer(text, what, lowest, highest=None):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if value < lowest or (highest is not None and value > highest):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def _number(text, what, lowest, inclusive):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    # `not (a < b)` form so that nan, which compares false with everything, is rejected too.
    in_range = value >= lowest if inclusive else value > lowest
    if not (in_range and value < math.inf):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def positive_int(text):
    """1, 2, 3, ...: sizes, counts and steps."""
    return _integer(text, "a positive integer", 1)


def non_negative_int(text):
    """0, 1, 2, ...: warm-up steps, restarts, GPUs per worker."""
    return _integer(text, "an integer >= 0", 0)


def seed(text):
    """A random seed, 0..2**32-1 (what numpy accepts)."""
    return _integer(text, f"an integer seed in 0..{MAX_SEED}", 0, MAX_SEED)


def port(text):
    """A TCP port, 0..65535 (0: let the program pick a free one)."""
    return _integer(text, f"a port number in 0..{MAX_PORT}", 0, MAX_PORT)


def server_port(text):
    """A TCP port a server listens on, 1..65535 (0 would not be a fixed, known port)."""
    return _integer(text, f"a port number in 1..{MAX_PORT}", 1, MAX_PORT)


def port_list(text):
    """Comma-separated ports 1..65535, e.g. "12345,12346"."""
    what = f"comma-separated port numbers in 1..{MAX_PORT}"
    parts = text.split(",")
    for part in parts:
        try:
            value = int(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not 1 <= value <= MAX_PORT:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return [int(part) for part in parts]


def positive_float(text):
    """A finite number > 0: learning rates, epochs, seconds, sizes."""
    return _number(text, "a positive float", 0.0, inclusive=False)


def non_negative_float(text):
    """A finite number >= 0: grace periods."""
    return _number(text, "a float >= 0", 0.0, inclusive=True)


def notebook_number(text):
    """A course notebook's two-digit number, as its run folder names it ("06" for notebook06)."""
    if not re.fullmatch(r"\d\d", text):
        raise argparse.ArgumentTypeError(f"expected a notebook's two-digit number like 06, got {text!r}")
    return text

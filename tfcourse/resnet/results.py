"""Benchmark results as JSON lines: one run per line, appended, so machines can be compared.

Kept free of TensorFlow so reading and tabulating results (`tfcourse bench report`) is instant.
"""

import json

from tfcourse.errors import CourseError


def append_result(path, result):
    """Appends one result as a JSON line (the file is created if needed)."""
    with open(path, "a") as f:
        f.write(json.dumps(result, sort_keys=True) + "\n")


def read_results(path):
    """Reads a JSON-lines results file into a list of dicts; blank lines are skipped."""
    results = []
    try:
        with open(path) as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    results.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise CourseError(f"{path}:{number}: not a JSON line ({e.msg})") from None
    except FileNotFoundError:
        raise CourseError(f"results file {path} not found; expected a file written by `tfcourse bench`") from None
    return results

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


def format_results(results):
    """One line per run: what ran, images/sec total and per replica, step time mean +- std.

    The spread (std, and min..max) shows how steady the timed steps were: a wide one on a
    shared machine says other work was competing for the cores.
    """
    if not results:
        raise CourseError("no results to tabulate; run `tfcourse bench resnet50` first")
    header = (f"{'model':<9} {'precision':<14} {'xla':<4} {'device':<6} {'layout':>6} {'batch':>6} "
              f"{'images/s':>9} {'per replica':>11} {'step ms':>16} {'min..max ms':>14}")
    lines = [header, "-" * len(header)]
    for r in results:
        workers = int(r.get("workers", 1))
        layout = f"{workers}x{int(r['replicas']) // workers}"
        step = f"{1e3 * r['step_time_mean_s']:.1f} +- {1e3 * r['step_time_std_s']:.1f}"
        spread = f"{1e3 * r['step_time_min_s']:.0f}..{1e3 * r['step_time_max_s']:.0f}"
        lines.append(f"{r['model']:<9} {r['precision']:<14} {'on' if r['xla'] else 'off':<4} {r['device']:<6} "
                     f"{layout:>6} {r['batch_size_per_replica']:>6} {r['images_per_sec']:>9.1f} "
                     f"{r['images_per_sec_per_replica']:>11.1f} {step:>16} {spread:>14}")
    return "\n".join(lines)

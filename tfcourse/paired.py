"""The one statistic every benchmark reports: the median of paired per-round ratios, with its spread.

A benchmark times faces A and B in interleaved rounds (A B A B ...). Round i of A and round i of
B ran seconds apart, so a burst of load from another process hits both; their ratio cancels most
of it. The median over rounds of those ratios is the statistic; the lowest and highest ratio are
its spread, and how many rounds A won says whether the difference is measurable at all. The
ratio of the two faces' best rounds is kept beside it (the statistic this course used before),
never in its place: one lucky round decides it.
"""

import collections
import datetime
import os
import platform
import statistics

PairedRatio = collections.namedtuple("PairedRatio", "median low high best wins rounds")
PairedRatio.__doc__ = """median/low/high of the per-round ratios, ratio of the best rounds, rounds A won, rounds."""


def _check_rounds(name, values):
    values = [float(value) for value in values]
    if not values:
        raise ValueError(f"{name}: expected one positive value per round, got none")
    if any(not value > 0 for value in values):
        raise ValueError(f"{name}: expected positive rates or times, got {values}")
    return values


def paired_ratio(a_rounds, b_rounds, lower_is_better=False):
    """The median of round-by-round ratios A_i / B_i, with their spread.

    Args:
      a_rounds: face A's value in each round (a rate such as examples/s, or a time).
      b_rounds: face B's values, round i measured right after (or before) A's round i.
      lower_is_better: the values are times (seconds, ms/step): the ratio is then B_i / A_i, so
        that above 1 still means A is faster.
    Returns:
      PairedRatio(median, low, high, best, wins, rounds): low/high are the smallest and largest
      per-round ratio, best the ratio of the two best rounds, wins the rounds A was faster in.
    """
    a_rounds, b_rounds = _check_rounds("face A", a_rounds), _check_rounds("face B", b_rounds)
    if len(a_rounds) != len(b_rounds):
        raise ValueError(f"paired rounds must match one to one: {len(a_rounds)} rounds of A, {len(b_rounds)} of B")
    if lower_is_better:
        ratios = [b / a for a, b in zip(a_rounds, b_rounds)]
        best = min(b_rounds) / min(a_rounds)
    else:
        ratios = [a / b for a, b in zip(a_rounds, b_rounds)]
        best = max(a_rounds) / max(b_rounds)
    return PairedRatio(statistics.median(ratios), min(ratios), max(ratios), best,
                       sum(ratio > 1 for ratio in ratios), len(ratios))


def as_dict(ratio):
    """A PairedRatio as a plain dict (for a JSON result file)."""
    return dict(ratio._asdict())


def describe(ratio, unit="x"):
    """One line: "2.31x (per-round 1.90-2.52, A faster in 5 of 5 rounds; best rounds 2.10x)"."""
    return (f"{ratio.median:.2f}{unit} (per-round {ratio.low:.2f}-{ratio.high:.2f}, faster in {ratio.wins} of "
            f"{ratio.rounds} rounds; best rounds {ratio.best:.2f}{unit})")


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_record(argv, load_before, load_after):
    """What a stored result file says about its run: command, machine, load average and date.

    Args:
      argv: the command line (sys.argv).
      load_before, load_after: os.getloadavg() before and after the timed rounds (the machine is
        shared: a load above the core count means every face ran on contended cores).
    Returns:
      a dict for the result file's "run" key.
    """
    return {"command": " ".join(["python"] + list(argv)),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{os.cpu_count()} CPUs, {_cpu_model()}, {platform.system()} {platform.release()}",
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after]}

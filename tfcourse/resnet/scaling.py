"""Speedup and parallel efficiency, and the talk's own scaling table.

speedup(N) = images/sec on N devices / images/sec on 1 device
efficiency(N) = speedup(N) / N      (100% = perfect linear scaling)

The talk reports ResNet-50 training with Horovod + MPI on P100 GPUs; the 16 and 32 GPU rows
were measured on real ImageNet, the others (by implication) on synthetic data.
"""

import collections
import statistics

from tfcourse import paired
from tfcourse.errors import CourseError

TALK_SINGLE_GPU_IMAGES_PER_SEC = 221.4

# devices, layout (machines x GPUs per machine), and what the talk printed: images/sec for
# the one-machine rows, speedup (with efficiency) for the multi-machine rows.
TALK_RESULTS = (
    {"devices": 1, "layout": "1x1", "images_per_sec": 221.4, "data": "synthetic"},
    {"devices": 2, "layout": "1x2", "images_per_sec": 442.37, "data": "synthetic"},
    {"devices": 4, "layout": "2x2", "speedup": 3.7, "efficiency_pct": 92.5, "data": "synthetic"},
    {"devices": 8, "layout": "4x2", "speedup": 7.3, "efficiency_pct": 91.2, "data": "synthetic"},
    {"devices": 16, "layout": "2x8", "speedup": 14.9, "efficiency_pct": 93.1, "data": "ImageNet"},
    {"devices": 32, "layout": "4x8", "speedup": 28.9, "efficiency_pct": 90.3, "data": "ImageNet"},
)

# Options that must agree for results to be compared in one scaling table.
COMPARABLE_KEYS = ("model", "precision", "xla", "batch_size_per_replica", "device")


def speedup(images_per_sec, baseline_images_per_sec):
    return images_per_sec / baseline_images_per_sec


def parallel_efficiency(speedup_value, num_devices):
    """Fraction of linear scaling achieved: speedup / devices (1.0 = perfect)."""
    return speedup_value / num_devices


def talk_table():
    """The talk's results as scaling rows (images/sec derived from the speedup where needed)."""
    rows = []
    for entry in TALK_RESULTS:
        images = entry.get("images_per_sec", entry.get("speedup", 1.0) * TALK_SINGLE_GPU_IMAGES_PER_SEC)
        rows.append(_row(entry["devices"], entry["layout"], images, TALK_SINGLE_GPU_IMAGES_PER_SEC,
                         data=entry["data"]))
    return rows


def select(results, **criteria):
    """The results whose fields equal every criterion, e.g. select(rs, model="small", xla=False)."""
    return [r for r in results if all(r.get(k) == v for k, v in criteria.items())]


def scaling_table(results):
    """Scaling rows from benchmark results (bench.run_benchmark / read_results dicts).

    Results with the same device count and layout are repeats, rounds interleaved with the
    other layouts' (as `benchmark.run_cpu_layouts` runs them): a layout with as many rounds as
    the 1-device baseline gets the one statistic, the median of its paired per-round speedups
    (round i against the baseline's round i, `tfcourse.paired.paired_ratio`) with their range;
    otherwise its median over the baseline's median. images_per_sec is the median round. The
    same count in two layouts (2 GPUs in one process, or 2 workers of 1) gives two rows. All
    results must share model, precision, XLA, per-replica batch and device type (use `select`
    first), and one must be on 1 device.
    Returns:
      list of dicts sorted by devices: devices, layout ("workers x replicas per worker"),
      images_per_sec, speedup, efficiency (fraction), runs (how many repeats), and when paired
      speedup_low / speedup_high (the range of the per-round speedups).
    """
    if not results:
        raise CourseError("no results to tabulate; run `tfcourse bench resnet50` first")
    for key in COMPARABLE_KEYS:
        values = {str(r.get(key)) for r in results}
        if len(values) > 1:
            raise CourseError(f"results differ in {key} ({', '.join(sorted(values))}); "
                              f"select one configuration, e.g. scaling.select(results, {key}=...)")
    groups = collections.defaultdict(list)
    for r in results:
        devices, workers = int(r["replicas"]), int(r.get("workers", 1))
        groups[(devices, f"{workers}x{devices // workers}")].append(r["images_per_sec"])
    if (1, "1x1") not in groups:
        raise CourseError("a scaling table needs a 1-replica result as its baseline")
    baseline = groups[(1, "1x1")]
    rows = []
    for devices, layout in sorted(groups):
        rounds = groups[(devices, layout)]
        extra = {"runs": len(rounds)}
        if len(rounds) == len(baseline):
            ratio = paired.paired_ratio(rounds, baseline)
            value, extra = ratio.median, dict(extra, speedup_low=ratio.low, speedup_high=ratio.high)
        else:
            value = statistics.median(rounds) / statistics.median(baseline)
        rows.append(_row(devices, layout, statistics.median(rounds), statistics.median(baseline), value, **extra))
    return rows


def _row(devices, layout, images_per_sec, baseline, speedup_value=None, **extra):
    """A table row; speedup_value (a paired statistic) replaces images_per_sec / baseline when given."""
    s = speedup(images_per_sec, baseline) if speedup_value is None else speedup_value
    return {"devices": devices, "layout": layout, "images_per_sec": images_per_sec,
            "speedup": s, "efficiency": parallel_efficiency(s, devices), **extra}


def format_table(rows, title=None, device_name="devices"):
    """The talk's format: one line per device count, e.g. "4 (2x2)  818.5  3.70x  92.5%"."""
    header = f"{device_name:>8} {'layout':>7} {'images/s':>10} {'speedup':>8} {'efficiency':>11}"
    lines = [title] if title else []
    lines += [header, "-" * len(header)]
    for row in rows:
        lines.append(f"{row['devices']:>8} {'(' + row['layout'] + ')':>7} {row['images_per_sec']:>10.1f} "
                     f"{row['speedup']:>7.2f}x {100 * row['efficiency']:>10.1f}%")
    return "\n".join(lines)


# Best published ResNet-50 training images/sec per GPU (mixed precision + XLA, real data):
# NVIDIA's TensorFlow examples for V100 and A100-40G; for H100 MLPerf's MXNet + DALI figure,
# a ceiling rather than a TensorFlow number.
PUBLISHED_IMAGES_PER_SEC = {"V100": 1270.0, "A100": 2375.0, "H100": 7000.0}


def published_reference(gpu_name):
    """(class, images/sec) of the published figure for a GPU name like 'NVIDIA H100 80GB HBM3', or None."""
    for gpu_class, images in PUBLISHED_IMAGES_PER_SEC.items():
        if gpu_class in (gpu_name or "").upper():
            return gpu_class, images
    return None


def options_table(results):
    """One line per (precision, XLA) run, with its speed relative to float32 without XLA.

    Returns text: the single-device matrix that benchmarks/gpu_resnet50.sh prints.
    """
    if not results:
        raise CourseError("no results to tabulate")
    baseline = [r for r in results if r["precision"] == "float32" and not r["xla"]]
    base = max(r["images_per_sec"] for r in baseline) if baseline else None
    header = f"{'precision':<15} {'xla':<4} {'batch':>6} {'images/s':>10} {'step ms':>9} {'vs fp32':>8}"
    lines = [header, "-" * len(header)]
    for r in sorted(results, key=lambda r: r["images_per_sec"]):
        ratio = f"{r['images_per_sec'] / base:>7.2f}x" if base else f"{'n/a':>8}"
        lines.append(f"{r['precision']:<15} {'on' if r['xla'] else 'off':<4} {r['batch_size_per_replica']:>6} "
                     f"{r['images_per_sec']:>10.1f} {1e3 * r['step_time_mean_s']:>9.1f} {ratio}")
    gpus = (results[0].get("hardware") or {}).get("gpus") or []
    reference = published_reference(gpus[0]) if gpus else None
    if reference:
        best = max(r["images_per_sec"] for r in results)
        # Not like for like: the benchmark draws synthetic batches in the step (no decoding,
        # no input pipeline); the published figures trained on real ImageNet.
        lines.append(f"best {best:.0f} images/s = {100 * best / reference[1]:.0f}% of the published "
                     f"{reference[0]} figure ({reference[1]:.0f} images/s); ours on synthetic data, "
                     f"theirs on real ImageNet data")
    return "\n".join(lines)

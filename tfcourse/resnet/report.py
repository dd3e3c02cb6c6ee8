"""Charts for the scaling lab, written as PNG files (matplotlib's Agg backend: no display needed)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

from tfcourse.errors import CourseError  # noqa: E402


def plot_scaling(rows, path, title="ResNet-50 training throughput", reference=None, device_name="devices",
                 label="measured"):
    """Images/sec and parallel efficiency against device count, each with its ideal line.

    Args:
      rows: scaling rows (scaling.scaling_table / talk_table): devices, images_per_sec, efficiency.
      path: PNG file to write.
      reference: optional (label, rows, matplotlib style) drawn as a second series, e.g. the
        talk's rows or a prediction.
      label: legend label of `rows`.
    Returns:
      path.
    """
    if not rows:
        raise CourseError("no scaling rows to plot")
    figure, (throughput, efficiency) = plt.subplots(1, 2, figsize=(10, 4))
    series = [(label, rows, "o-")]
    if reference:
        series.append(reference)
    for label, data, style in series:
        devices = [r["devices"] for r in data]
        base = next(r["images_per_sec"] / r["speedup"] for r in data)
        throughput.plot(devices, [r["images_per_sec"] for r in data], style, label=label)
        throughput.plot(devices, [base * d for d in devices], ":", color="grey",
                        label="ideal (linear)" if data is rows else None)
        efficiency.plot(devices, [100 * r["efficiency"] for r in data], style, label=label)
    efficiency.axhline(100, linestyle=":", color="grey", label="ideal (100%)")
    for axis in (throughput, efficiency):
        axis.set_xlabel(device_name)
        axis.set_xscale("log", base=2)
        axis.set_xticks(sorted({r["devices"] for _, d, _ in series for r in d}))
        axis.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
        axis.grid(alpha=0.3)
        axis.legend()
    throughput.set_ylabel("images / second")
    efficiency.set_ylabel("parallel efficiency (%)")
    efficiency.set_ylim(min(50, *(100 * r["efficiency"] - 5 for _, d, _ in series for r in d)), 105)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def plot_model_vs_talk(rows, fitted, path):
    """The talk's efficiencies next to the scaling model's (predict.model_vs_talk), as PNG."""
    figure, axis = plt.subplots(figsize=(6, 4))
    devices = [r["devices"] for r in rows]
    axis.plot(devices, [100 * r["talk"] for r in rows], "ko-", label="talk (P100, Horovod)")
    for name, style in (("ring", "b--"), ("hierarchical", "g--"), ("ring_fit", "b:"), ("hierarchical_fit", "g:")):
        topology = name.replace("_fit", "")
        label = f"{topology}, overlap {fitted[topology]:.2f}" if name.endswith("fit") else f"{topology}, no overlap"
        axis.plot(devices, [100 * r[name] for r in rows], style, marker=".", label=label)
    axis.set_xscale("log", base=2)
    axis.set_xticks(devices)
    axis.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
    axis.set_xlabel("GPUs")
    axis.set_ylabel("parallel efficiency (%)")
    axis.set_title("Scaling model vs the talk (25 Gbit/s, batch 64 assumed)")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path

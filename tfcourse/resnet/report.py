"""Charts for the scaling lab, written as PNG files (matplotlib's Agg backend: no display needed)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

from tfcourse.errors import CourseError  # noqa: E402


def plot_scaling(rows, path, title="ResNet-50 training throughput", reference=None, device_name="devices",
                 label="measured", log_images=False, dpi=100):
    """Images/sec and parallel efficiency against device count, each with its ideal line.

    Args:
      rows: scaling rows (scaling.scaling_table / talk_table): devices, layout, images_per_sec,
        efficiency. Where one device count comes in two layouts (2 replicas in one process and
        2 worker processes), each layout kind is its own line (see split_by_layout).
      path: PNG file to write.
      reference: optional (label, rows, matplotlib style) drawn as a second series, e.g. the
        talk's rows or a prediction.
      label: legend label of `rows`.
      log_images: log scale for images/sec, so series of very different speeds (a CPU and
        a GPU cluster) both show their shape.
    Returns:
      path.
    """
    if not rows:
        raise CourseError("no scaling rows to plot")
    # With a reference series the labels get long: one legend under both panels instead.
    figure, (throughput, efficiency) = plt.subplots(1, 2, figsize=(10, 5 if reference else 4))
    series = split_by_layout(rows, label)
    if reference:
        series.append(reference)
    for number, (name, data, style) in enumerate(series):
        devices = [r["devices"] for r in data]
        base = next(r["images_per_sec"] / r["speedup"] for r in data)
        throughput.plot(devices, [r["images_per_sec"] for r in data], style, label=name)
        # Each series' own ideal: its 1-device speed times the device count.
        throughput.plot(devices, [base * d for d in devices], ":", color="grey",
                        label="ideal (linear)" if number == 0 else None)
        efficiency.plot(devices, [100 * r["efficiency"] for r in data], style, label=name)
    efficiency.axhline(100, linestyle=":", color="grey", label="ideal (100%)")
    for axis in (throughput, efficiency):
        axis.set_xlabel(device_name)
        axis.set_xscale("log", base=2)
        axis.set_xticks(sorted({r["devices"] for _, d, _ in series for r in d}))
        axis.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
        axis.grid(alpha=0.3)
        if not reference:
            axis.legend()
    throughput.set_ylabel("images / second")
    if log_images:
        throughput.set_yscale("log")
        throughput.get_yaxis().set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1, 2, 5)))
        throughput.get_yaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
        throughput.get_yaxis().set_minor_formatter(matplotlib.ticker.NullFormatter())
    efficiency.set_ylabel("parallel efficiency (%)")
    efficiency.set_ylim(min(50, *(100 * r["efficiency"] - 5 for _, d, _ in series for r in d)), 105)
    figure.suptitle(title)
    if reference:
        handles = dict(zip(*reversed(efficiency.get_legend_handles_labels())))
        handles.update(zip(*reversed(throughput.get_legend_handles_labels())))
        figure.legend(handles.values(), handles.keys(), loc="lower center", ncol=2, fontsize=9)
        figure.tight_layout(rect=(0, 0.14, 1, 1))
    else:
        figure.tight_layout()
    figure.savefig(path, dpi=dpi)
    plt.close(figure)
    return path


def split_by_layout(rows, label="measured"):
    """[(label, rows, style)]: one series, or two when a device count has several layouts.

    Layout "W x R" = W workers (processes or machines) of R replicas. Rows in one process
    (W = 1) and rows across processes (W > 1) are two ways to add devices; both start from
    the 1-device row, so each line is a scaling curve of its own.
    """
    counts = [r["devices"] for r in rows]
    if len(counts) == len(set(counts)):
        return [(label, list(rows), "o-")]
    single = [r for r in rows if r["layout"].startswith("1x")]
    several = [r for r in rows if r["devices"] == 1] + [r for r in rows if not r["layout"].startswith("1x")]
    return [(f"{label}, one process", single, "o-"), (f"{label}, worker processes", several, "s-")]


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

"""The figures the notebooks show: digits, class counts, learning curves, confusion matrices, histograms.

Every function returns a matplotlib Figure already closed in pyplot: a notebook shows it
once, as the cell's result (an open pyplot figure would show twice and pile up in
memory), and a script can still `fig.savefig(...)`. Figures use a modest dpi: notebooks store them as PNG
and must stay small.
"""

import numpy as np

from tfcourse.datasets.mnist_files import IMAGE_SIZE
from tfcourse.errors import CourseError

DPI = 80


def new_figure(figsize, rows=1, columns=1):
    """(Figure, axes) closed in pyplot; axes is one Axes for 1x1, else a [rows, columns] array.

    Made through pyplot (whose import switches Jupyter to inline PNG display) and closed
    at once, so only the returned object displays it.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(rows, columns, figsize=figsize, dpi=DPI, squeeze=(rows == 1 and columns == 1))
    plt.close(fig)
    return fig, axes


def digit_grid(images, labels, predictions=None, columns=10, rows=None):
    """A grid of digits titled with their labels (and predictions, wrong ones in red).

    Args:
      images: [N, 784] or [N, 28, 28] float in [0, 1] or uint8.
      labels: [N] integer labels or [N, 10] one-hot rows.
      predictions: optional [N] predicted labels.
      columns: digits per row; rows: number of rows (default: as many as N needs).
    Returns:
      the matplotlib Figure.
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    if labels.ndim == 2:
        labels = labels.argmax(axis=1)
    if images.shape[0] != labels.shape[0] or images.shape[0] == 0:
        raise CourseError(f"digit_grid needs as many labels as images (>0), got {images.shape[0]} and {labels.shape[0]}")
    rows = rows or int(np.ceil(images.shape[0] / columns))
    count = min(images.shape[0], rows * columns)
    fig, axes = new_figure((columns * 0.9, rows * 1.05), rows, columns)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index >= count:
            continue
        ax.imshow(images[index].reshape(IMAGE_SIZE, IMAGE_SIZE), cmap="gray_r")
        if predictions is None:
            ax.set_title(str(int(labels[index])), fontsize=9)
        else:
            wrong = int(predictions[index]) != int(labels[index])
            ax.set_title(f"{int(labels[index])}->{int(predictions[index])}" if wrong else str(int(labels[index])),
                         fontsize=9, color="red" if wrong else "black")
    fig.tight_layout()
    return fig


def class_histogram(labels, title="examples per class", num_classes=10):
    """Bar chart of how many examples each digit class has. labels: [N] ints or [N, 10]."""
    labels = np.asarray(labels)
    if labels.ndim == 2:
        labels = labels.argmax(axis=1)
    counts = np.bincount(labels.astype(np.int64), minlength=num_classes)
    fig, ax = new_figure((6, 2.8))
    ax.bar(np.arange(num_classes), counts, color="#3366cc")
    ax.set_xticks(np.arange(num_classes))
    ax.set_xlabel("digit")
    ax.set_ylabel("examples")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def learning_curve(curves, xlabel="step", ylabel="loss", title=None, logy=False):
    """Plots one or more curves, e.g. {"train loss": (steps, values), ...}.

    Args:
      curves: dict name -> (steps [K], values [K]) (sequences or arrays).
    Returns:
      the matplotlib Figure.
    """
    if not curves:
        raise CourseError("learning_curve needs at least one curve: {name: (steps, values)}")
    fig, ax = new_figure((6, 3.2))
    for name, (steps, values) in curves.items():
        if len(steps) != len(values):
            raise CourseError(f"curve {name!r}: {len(steps)} steps but {len(values)} values")
        ax.plot(steps, values, label=name, marker="o" if len(steps) < 20 else None, markersize=3)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def plot_scalars(scalars, tags=None, xlabel="global step"):
    """Plots TensorBoard scalars read back with `tfcourse.events.read_scalars`.

    Args:
      scalars: dict tag -> (steps, values), as `read_scalars` returns.
      tags: which tags to draw (default all), one panel per tag.
    """
    tags = list(tags or sorted(scalars))
    missing = [t for t in tags if t not in scalars]
    if not tags or missing:
        raise CourseError(f"no scalars to plot for tags {missing or tags}; available: {sorted(scalars)}")
    fig, axes = new_figure((4.2 * len(tags), 3), 1, len(tags))
    axes = [axes] if len(tags) == 1 else list(axes.flat)
    for ax, tag in zip(axes, tags):
        steps, values = scalars[tag]
        ax.plot(steps, values, marker="o" if len(steps) < 20 else None, markersize=3)
        ax.set_title(tag)
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(matrix, title="confusion matrix (rows: true digit, columns: predicted)"):
    """Heat map of a [C, C] confusion matrix with the counts written in each cell."""
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise CourseError(f"confusion matrix must be square [C, C], got shape {matrix.shape}")
    num_classes = matrix.shape[0]
    fig, ax = new_figure((5.5, 5))
    # Log colours: the diagonal holds ~1000 per class, errors a handful; linear colours hide them.
    ax.imshow(np.log1p(matrix), cmap="Blues")
    for true in range(num_classes):
        for predicted in range(num_classes):
            count = int(matrix[true, predicted])
            ax.text(predicted, true, str(count), ha="center", va="center", fontsize=7,
                    color="white" if true == predicted else "black")
    ax.set_xticks(range(num_classes))
    ax.set_yticks(range(num_classes))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def sync_vs_async_figure(rows, staleness):
    """Synchronous vs asynchronous training side by side: steps/s, test precision, staleness.

    Args:
      rows: the two dicts `distribute.paramserver.sync_vs_async` returns (mode, steps_per_sec,
        test_precision, ...), sync first.
      staleness: int [steps], the asynchronous run's staleness of every update.
    Returns:
      the matplotlib Figure.
    """
    if len(rows) != 2 or len(staleness) == 0:
        raise CourseError("sync_vs_async_figure needs the two rows of sync_vs_async and a non-empty staleness array")
    fig, axes = new_figure((10, 2.8), 1, 3)
    axes = list(axes.flat)
    names = [row["mode"].split(" ")[0] for row in rows]
    colors = ["tab:blue", "tab:orange"]
    for ax, key, title in ((axes[0], "steps_per_sec", "updates per second"),
                           (axes[1], "test_precision", "test precision @ 1")):
        values = [row[key] for row in rows]
        ax.bar(names, values, color=colors)
        for x, value in enumerate(values):
            ax.text(x, value, f"{value:.4f}" if key == "test_precision" else f"{value:.0f}", ha="center", va="bottom")
        ax.set_title(title)
    axes[0].set_ylim(0, 1.2 * max(row["steps_per_sec"] for row in rows))
    low = min(row["test_precision"] for row in rows)
    axes[1].set_ylim(max(0.0, low - 0.1), 1.02)
    counts = np.bincount(np.asarray(staleness, dtype=np.int64))
    axes[2].bar(np.arange(len(counts)), counts, color=colors[1])
    axes[2].set_xticks(np.arange(len(counts)))
    axes[2].set_xlabel("staleness (updates missed)")
    axes[2].set_title(f"async: {np.mean(staleness):.2f} on average")
    fig.tight_layout()
    return fig


def histograms_over_steps(histograms, columns=3, title=None):
    """TensorBoard's histogram "overlay" view: one panel per tag, one curve per recorded step.

    Args:
      histograms: dict tag -> (steps int [K], buckets [K, B, 3]): for every step, B rows of
        (left edge, right edge, count), as TF2's `tf.summary.histogram` stores them (read back
        with TensorBoard's EventAccumulator and `tf.make_ndarray`).
      columns: panels per row.
    Returns:
      the matplotlib Figure: for each step, the count of each bucket divided by its width at the
      bucket's centre; early steps are drawn dark, late steps light (viridis).
    """
    import matplotlib.cm
    import matplotlib.colors

    if not histograms:
        raise CourseError("histograms_over_steps needs at least one tag: {tag: (steps, buckets [K, B, 3])}")
    for tag, (steps, buckets) in histograms.items():
        shapes = {np.shape(b) for b in buckets}
        if len(steps) == 0 or len(steps) != len(buckets) or any(len(s) != 2 or s[1] != 3 for s in shapes):
            raise CourseError(f"histogram {tag!r}: expected K > 0 steps and K bucket arrays of shape [B, 3] "
                              f"(left edge, right edge, count), got {len(steps)} steps and shapes {sorted(shapes)}")
    rows = int(np.ceil(len(histograms) / columns))
    fig, axes = new_figure((3.4 * min(columns, len(histograms)), 2.6 * rows + 0.3), rows, min(columns, len(histograms)))
    axes = np.atleast_1d(axes).ravel()
    for ax, (tag, (steps, buckets)) in zip(axes, histograms.items()):
        norm = matplotlib.colors.Normalize(min(steps), max(steps) if max(steps) > min(steps) else min(steps) + 1)
        for step, bucket in zip(steps, buckets):
            bucket = np.asarray(bucket, np.float64)
            centers = (bucket[:, 0] + bucket[:, 1]) / 2
            # Counts per unit of value: TensorBoard's buckets span each step's own min..max, so raw
            # counts would grow with the spread; densities keep the curves' areas comparable.
            widths = np.maximum(bucket[:, 1] - bucket[:, 0], np.finfo(np.float64).tiny)
            ax.plot(centers, bucket[:, 2] / widths, color=matplotlib.cm.viridis(norm(step)), linewidth=1)
        ax.set_title(tag, fontsize=9)
        ax.set_ylabel("count / bucket width", fontsize=7)
        ax.tick_params(labelsize=7)
        fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap="viridis"), ax=ax, label="step")
    for ax in axes[len(histograms):]:
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig

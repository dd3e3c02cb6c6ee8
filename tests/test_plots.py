import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from tfcourse import plots
from tfcourse.errors import CourseError


def test_digit_grid_titles_and_marks_mistakes():
    images = np.zeros((12, 784), np.float32)
    labels = np.arange(12) % 10
    predictions = labels.copy()
    predictions[3] = 5
    fig = plots.digit_grid(images, labels, predictions, columns=6)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(fig.axes) == 12 and titles[0] == "0" and titles[3] == "3->5"
    assert fig.axes[3].title.get_color() == "red"


def test_class_histogram_counts_each_class():
    fig = plots.class_histogram(np.array([0, 1, 1, 9, 9, 9]))
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights == [1, 2, 0, 0, 0, 0, 0, 0, 0, 3]


def test_learning_curve_and_scalars_plot_the_given_points():
    fig = plots.learning_curve({"train": ([0, 10, 20], [2.3, 1.0, 0.5])})
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), [2.3, 1.0, 0.5])
    fig = plots.plot_scalars({"loss": (np.array([1, 2]), np.array([0.9, 0.4])), "lr": ([1, 2], [0.1, 0.1])})
    assert len(plots.plot_scalars({"loss": ([1], [1.0])}).axes) == 1
    assert [ax.get_title() for ax in fig.axes] == ["loss", "lr"]
    with pytest.raises(CourseError, match="available"):
        plots.plot_scalars({"loss": ([1], [1.0])}, tags=["accuracy"])
    with pytest.raises(CourseError, match="steps"):
        plots.learning_curve({"x": ([1, 2], [1.0])})


def test_confusion_matrix_plot_writes_every_count():
    matrix = np.arange(9).reshape(3, 3)
    fig = plots.plot_confusion_matrix(matrix)
    assert sorted(int(t.get_text()) for t in fig.axes[0].texts) == list(range(9))
    with pytest.raises(CourseError, match="square"):
        plots.plot_confusion_matrix(np.zeros((2, 3)))


def test_sync_vs_async_figure_draws_rows_and_staleness_histogram():
    rows = [dict(mode="sync (MirroredStrategy)", steps_per_sec=500.0, test_precision=0.95),
            dict(mode="async (ParameterServerStrategy)", steps_per_sec=200.0, test_precision=0.94)]
    fig = plots.sync_vs_async_figure(rows, np.array([0, 1, 1, 2, 0, 1]))
    speed, precision, staleness = fig.axes
    assert [p.get_height() for p in speed.patches] == [500.0, 200.0]
    assert [p.get_height() for p in precision.patches] == [0.95, 0.94]
    assert [p.get_height() for p in staleness.patches] == [2, 3, 1]
    assert staleness.get_title() == "async: 0.83 on average"  # 5 / 6
    with pytest.raises(CourseError, match="two rows"):
        plots.sync_vs_async_figure(rows[:1], [0])


def test_histograms_over_steps_draws_one_density_curve_per_step_at_bucket_centres():
    buckets = np.array([[[0.0, 1.0, 5.0], [1.0, 2.0, 3.0]],
                        [[0.0, 1.0, 1.0], [1.0, 3.0, 7.0]]])  # 2 steps x 2 buckets x (left, right, count)
    fig = plots.histograms_over_steps({"weights/w": ([10, 20], buckets), "activations/a": ([5], buckets[:1])},
                                      columns=2)
    weights, activations = [ax for ax in fig.axes if ax.get_title()]
    assert [weights.get_title(), activations.get_title()] == ["weights/w", "activations/a"]
    assert len(weights.lines) == 2 and len(activations.lines) == 1
    np.testing.assert_allclose(weights.lines[1].get_xdata(), [0.5, 2.0])
    np.testing.assert_allclose(weights.lines[1].get_ydata(), [1.0, 3.5])  # counts / bucket widths 1 and 2
    # Later steps get lighter colours, so the drift over training reads left to right in colour.
    assert weights.lines[0].get_color() != weights.lines[1].get_color()
    with pytest.raises(CourseError, match=r"shape \[B, 3\]"):
        plots.histograms_over_steps({"w": ([1], [np.zeros((4, 2))])})
    with pytest.raises(CourseError, match="at least one tag"):
        plots.histograms_over_steps({})

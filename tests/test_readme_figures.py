"""The README's scaling chart is drawn from the committed benchmark results, and those
results say which command produced them."""

import importlib.util
import json
import pathlib

import matplotlib.figure
import matplotlib.image
import numpy as np

from tfcourse.resnet import scaling

ROOT = pathlib.Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "docs" / "img" / "scaling.png"


def _script():
    spec = importlib.util.spec_from_file_location("make_readme_figures", ROOT / "scripts" / "make_readme_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _plot_areas(figure, dpi, height):
    """Pixel boxes (top, bottom, left, right) inside each axes of `figure` saved at `dpi`:
    the lines and markers, without the tick labels and titles whose fonts vary with matplotlib."""
    scale = dpi / figure.dpi
    boxes = []
    for axes in figure.axes:
        extent = axes.get_window_extent()
        boxes.append((height - int(extent.y1 * scale) + 2, height - int(extent.y0 * scale) - 2,
                      int(extent.x0 * scale) + 2, int(extent.x1 * scale) - 2))
    return boxes


def test_scaling_chart_comes_from_the_committed_results(tmp_path, monkeypatch):
    script = _script()
    results = ROOT / script.SCALING_RESULTS
    assert "benchmarks/resnet_cpu_scaling.py" in (results.parent / "README.md").read_text()
    drawn = []  # the figure the script saves, to read back what it plotted
    save = matplotlib.figure.Figure.savefig

    def save_and_keep(fig, *args, **kwargs):
        drawn.append((fig, kwargs))
        return save(fig, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", save_and_keep)
    rows = script.draw_scaling(results, tmp_path / "scaling.png")
    assert [(r["devices"], r["layout"]) for r in rows] == [(1, "1x1"), (2, "1x2"), (2, "2x1")]

    # The chart plots the committed results' numbers: each measured row is a vertex of a drawn line.
    committed = [json.loads(line) for line in results.read_text().splitlines()]
    expected = scaling.scaling_table(scaling.select(
        [r for r in committed if r.get("benchmark") == "resnet_train_synthetic"], model="small"))
    (figure, options), = drawn
    throughput, efficiency = figure.axes
    vertices = {name: np.concatenate([line.get_xydata() for line in axes.lines])
                for name, axes in (("images", throughput), ("efficiency", efficiency))}
    for row in expected:
        for name, value in (("images", row["images_per_sec"]), ("efficiency", 100 * row["efficiency"])):
            assert np.isclose(vertices[name], [row["devices"], value], rtol=1e-9).all(axis=1).any(), (name, row)

    # The committed PNG is that drawing: inside both plot areas, the redraw matches it pixel for pixel
    # (up to anti-aliasing), so a chart left over from other results fails.
    committed_image = matplotlib.image.imread(COMMITTED)[..., :3]
    redrawn = matplotlib.image.imread(tmp_path / "scaling.png")[..., :3]
    assert committed_image.shape == redrawn.shape == (350, 700, 3)
    for top, bottom, left, right in _plot_areas(figure, options["dpi"], redrawn.shape[0]):
        differs = np.abs(committed_image[top:bottom, left:right] - redrawn[top:bottom, left:right]).max(axis=-1) > 0.1
        assert differs.sum() <= 20, f"{differs.sum()} pixels differ in a plot area of {differs.size}"
    assert COMMITTED.stat().st_size < 100_000

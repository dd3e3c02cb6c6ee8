"""The README's scaling chart is drawn from the committed benchmark results, and those
results say which command produced them."""

import importlib.util
import pathlib

import matplotlib.image

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("make_readme_figures", ROOT / "scripts" / "make_readme_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_scaling_chart_comes_from_the_committed_results(tmp_path):
    script = _script()
    results = ROOT / script.SCALING_RESULTS
    assert "benchmarks/resnet_cpu_scaling.py" in (results.parent / "README.md").read_text()
    rows = script.draw_scaling(results, tmp_path / "scaling.png")
    assert [(r["devices"], r["layout"]) for r in rows] == [(1, "1x1"), (2, "1x2"), (2, "2x1")]
    assert all(0 < r["efficiency"] <= 1.05 for r in rows)
    image = matplotlib.image.imread(tmp_path / "scaling.png")
    assert image.shape[:2] == (350, 700) and image[..., :3].std() > 0.05
    assert (ROOT / "docs" / "img" / "scaling.png").stat().st_size < 100_000

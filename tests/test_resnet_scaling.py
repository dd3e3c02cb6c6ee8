"""Speedup/efficiency tables (the talk's own numbers), and the scaling chart read back."""

import matplotlib.image
import pytest

from tfcourse.errors import CourseError
from tfcourse.resnet import report, scaling


def _result(replicas, images_per_sec, workers=1, **overrides):
    base = {"model": "small", "precision": "float32", "xla": False, "batch_size_per_replica": 32,
            "device": "CPU", "replicas": replicas, "workers": workers, "images_per_sec": images_per_sec}
    return dict(base, **overrides)


def test_the_talks_numbers_give_the_talks_efficiencies():
    rows = {r["devices"]: r for r in scaling.talk_table()}
    assert rows[2]["efficiency"] == pytest.approx(442.37 / (2 * 221.4))
    assert rows[4]["efficiency"] == pytest.approx(0.925)
    assert rows[8]["efficiency"] == pytest.approx(0.9125)
    assert rows[16]["efficiency"] == pytest.approx(0.93125)
    assert rows[32]["efficiency"] == pytest.approx(0.903125)
    assert rows[32]["images_per_sec"] == pytest.approx(28.9 * 221.4)
    text = scaling.format_table(scaling.talk_table(), device_name="GPUs")
    for printed in ("99.9%", "92.5%", "91.2%", "93.1%", "90.3%", "3.70x", "28.90x", "(4x8)"):
        assert printed in text
    # The talk's printed efficiencies are its speedups / GPUs, to its rounding.
    for entry in scaling.TALK_RESULTS:
        if "efficiency_pct" in entry:
            assert f"{100 * rows[entry['devices']]['efficiency']:.1f}" == f"{entry['efficiency_pct']:.1f}"


def test_scaling_table_pairs_interleaved_rounds_and_keeps_layouts():
    # 3 rounds of each layout, interleaved; the 1-replica's round 3 was disturbed (60): paired
    # round by round 2 replicas gain 1.8x, 1.8x and 2.5x, median 1.8x. Best over best would say
    # 190 / 100 = 1.9x, medians 180 / 90 = 2.0x.
    results = [_result(1, 100.0), _result(2, 180.0), _result(2, 150.0, workers=2),
               _result(1, 90.0), _result(2, 162.0), _result(2, 135.0, workers=2),
               _result(1, 60.0), _result(2, 150.0), _result(2, 90.0, workers=2),
               _result(4, 320.0)]
    rows = scaling.scaling_table(results)
    assert [(r["devices"], r["layout"]) for r in rows] == [(1, "1x1"), (2, "1x2"), (2, "2x1"), (4, "1x4")]
    assert rows[0]["runs"] == 3 and rows[0]["speedup"] == 1.0 and rows[0]["images_per_sec"] == 90.0
    assert rows[1]["speedup"] == pytest.approx(1.8) and rows[1]["efficiency"] == pytest.approx(0.9)
    assert (rows[1]["speedup_low"], rows[1]["speedup_high"]) == (pytest.approx(1.8), pytest.approx(2.5))
    assert rows[2]["efficiency"] == pytest.approx(0.75)
    # One round only: no pairing, its median over the baseline's median.
    assert rows[3]["runs"] == 1 and rows[3]["speedup"] == pytest.approx(320 / 90) and "speedup_low" not in rows[3]
    assert "90.0%" in scaling.format_table(rows)


def test_scaling_table_refuses_mixed_or_baseless_results():
    with pytest.raises(CourseError, match="precision"):
        scaling.scaling_table([_result(1, 100.0), _result(2, 150.0, precision="mixed_float16")])
    with pytest.raises(CourseError, match="1-replica"):
        scaling.scaling_table([_result(2, 150.0)])
    mixed = [_result(1, 100.0), _result(1, 300.0, xla=True), _result(2, 500.0, xla=True)]
    assert [r["devices"] for r in scaling.scaling_table(scaling.select(mixed, xla=True))] == [1, 2]


def test_scaling_chart_is_a_real_png(tmp_path):
    path = report.plot_scaling(scaling.talk_table(), tmp_path / "scaling.png", device_name="GPUs")
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 300 and image.shape[1] > 800
    assert image[..., :3].std() > 0.05  # not a blank canvas


def test_options_table_ratios_and_published_reference():
    gpu = {"gpus": ["NVIDIA H100 80GB HBM3"]}
    results = [_result(1, 1000.0, precision="float32", hardware=gpu, step_time_mean_s=0.256,
                       batch_size_per_replica=256),
               _result(1, 3500.0, precision="mixed_float16", xla=True, hardware=gpu, step_time_mean_s=0.073,
                       batch_size_per_replica=256)]
    text = scaling.options_table(results)
    assert "3.50x" in text and "1.00x" in text
    assert "50% of the published H100 figure (7000" in text
    assert scaling.published_reference("Tesla V100-SXM2-16GB") == ("V100", 1270.0)
    assert scaling.published_reference("NVIDIA A100-SXM4-40GB") == ("A100", 2375.0)
    assert scaling.published_reference("some CPU") is None


def test_two_layouts_of_one_device_count_are_two_lines(tmp_path):
    rows = scaling.scaling_table([_result(1, 100.0), _result(2, 150.0), _result(2, 120.0, workers=2)])
    series = report.split_by_layout(rows, "measured")
    assert [(name, [r["layout"] for r in data]) for name, data, _ in series] == [
        ("measured, one process", ["1x1", "1x2"]), ("measured, worker processes", ["1x1", "2x1"])]
    assert [name for name, _, _ in report.split_by_layout(scaling.talk_table(), "talk")] == ["talk"]
    path = report.plot_scaling(rows, tmp_path / "both.png", reference=("talk", scaling.talk_table(), "k^--"),
                               log_images=True, dpi=60)
    assert matplotlib.image.imread(path).shape[:2] == (300, 600)  # taller: the shared legend goes below


def test_results_table_shows_totals_per_replica_and_spread():
    from tfcourse.resnet import results

    run = _result(2, 150.0, workers=2, images_per_sec_per_replica=75.0, step_time_mean_s=0.4267,
                  step_time_std_s=0.0123, step_time_min_s=0.41, step_time_max_s=0.455)
    lines = results.format_results([run]).splitlines()
    assert lines[0].split()[:3] == ["model", "precision", "xla"]
    assert lines[2].split() == ["small", "float32", "off", "CPU", "2x1", "32", "150.0", "75.0",
                                "426.7", "+-", "12.3", "410..455"]
    with pytest.raises(CourseError, match="no results"):
        results.format_results([])

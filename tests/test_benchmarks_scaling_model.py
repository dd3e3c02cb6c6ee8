"""What benchmarks/resnet_cpu_scaling.py and docs/resnet.md read from the scaling model."""

import pytest

from tfcourse.resnet import predict


def test_each_allreduce_of_a_step_pays_the_latency_once():
    measured = {"workers": 2, "bandwidth_bytes_per_s": 4e8, "latency_s": 2e-3}
    one = predict.predict_local_efficiency(0.1, 4e6, measured)
    two = predict.predict_local_efficiency(0.1, 4e6, measured, allreduces_per_step=2)
    # The gradient bytes cross once; the second collective (the loss) adds one latency.
    assert one == pytest.approx(0.1 / (0.1 + 4e6 / 4e8 + 2e-3))
    assert two == pytest.approx(0.1 / (0.1 + 4e6 / 4e8 + 2 * 2e-3))


def test_the_printed_largest_gap_is_the_largest_row_difference():
    rows, fitted = predict.model_vs_talk()
    gap = predict.max_gap_points(rows, "hierarchical_fit")
    differences = sorted(abs(100 * r["hierarchical_fit"] - 100 * r["talk"]) for r in rows)
    assert gap == differences[-1] and differences[-1] > differences[-2]
    assert f"hierarchical {gap:.1f} points" in predict.format_model_vs_talk(rows, fitted)

"""The all-reduce bandwidth benchmark with two real worker processes."""

import json

import pytest

from tfcourse.distribute import tfconfig
from tfcourse.errors import CourseError
from tfcourse.resnet import allreduce


def test_tf_config_and_free_ports():
    ports = tfconfig.free_ports(3)
    assert len(set(ports)) == 3
    config = json.loads(tfconfig.tf_config(tfconfig.cluster_spec(3, ports), "worker", 1))
    assert config["cluster"]["worker"][2] == f"127.0.0.1:{ports[2]}"
    assert config["task"] == {"type": "worker", "index": 1}


@pytest.mark.slow
def test_two_worker_processes_measure_a_positive_bandwidth():
    result = allreduce.measure_allreduce_bandwidth(num_workers=2, sizes_mb=(0.25, 1, 4), iterations=3,
                                                   timeout_s=150)
    assert result["workers"] == 2 and result["implementation"] == "RING"
    assert [r["bytes"] for r in result["rows"]] == [2**18, 2**20, 2**22]
    assert all(r["seconds_median"] > 0 and r["busbw_bytes_per_s"] > 0 for r in result["rows"])
    assert result["fit_statistic"] == "seconds_median"
    assert result["rows"][-1]["seconds_median"] > result["rows"][0]["seconds_median"]
    assert result["bandwidth_bytes_per_s"] > 1e6  # loopback gRPC: far above 1 MB/s
    check_fit_against_timings(result)


def check_fit_against_timings(result):
    """The fitted latency and bandwidth reproduce the timings they came from.

    A fit in the wrong unit (bits, MB, ms), with a wrong ring factor or with its terms swapped
    misses these bands by far more than the noise of a loaded machine moves them.
    """
    rows = result["rows"]
    first, last = rows[0], rows[-1]
    factor = allreduce.ring_factor(result["workers"])
    # The slope between the smallest and the largest tensor: the same bandwidth, without least squares.
    two_point = factor * (last["bytes"] - first["bytes"]) / (last["seconds_median"] - first["seconds_median"])
    assert 0.5 < result["bandwidth_bytes_per_s"] / two_point < 2, (result["bandwidth_bytes_per_s"], two_point)
    # The largest tensor, which weighs most in the fit, is predicted within 30%.
    predicted = result["latency_s"] + factor * last["bytes"] / result["bandwidth_bytes_per_s"]
    assert abs(predicted / last["seconds_median"] - 1) < 0.3, (predicted, last["seconds_median"])
    # Latency is what an all-reduce costs whatever its size: at most the smallest one's time.
    assert result["latency_s"] <= first["seconds_median"], (result["latency_s"], first["seconds_median"])


def test_the_fit_refuses_a_latency_longer_than_a_measured_all_reduce():
    """The fit once committed (cpu_small_resnet, Dec 1): 8.57 ms latency from means whose 0.25 MiB took 5.45 ms."""
    rows = [(262144, 0.005448), (1048576, 0.006732), (4194304, 0.029389), (16777216, 0.047648)]  # its mean times
    with pytest.raises(CourseError, match=r"latency, [\d.]+ ms, is longer than a whole all-reduce of 262,144 bytes"):
        allreduce.fit_latency_bandwidth([b for b, _ in rows], [s for _, s in rows], 2)
    latency, bandwidth = allreduce.fit_latency_bandwidth([2**18, 2**20, 2**22], [0.003, 0.005, 0.013], 2)
    assert 0 <= latency <= 0.003 and bandwidth > 0


def test_timings_too_noisy_for_a_line_are_measured_again_with_more_iterations(monkeypatch):
    # The smallest size took less than the line's intercept in the first run (impossible for a
    # line through physical timings): the measurement is repeated with twice the iterations.
    from tfcourse.resnet import allreduce

    runs = []

    def measure(num_workers, sizes_mb, iterations, warmup, timeout_s, hide_gpus):
        runs.append(iterations)
        noisy = [0.0020, 0.0040, 0.0060] if len(runs) == 1 else [0.0005, 0.0020, 0.0140]
        return {"workers": num_workers, "rows": [{"bytes": int(mb * 2**20), "seconds_median": s}
                                                  for mb, s in zip(sizes_mb, noisy)]}

    monkeypatch.setattr(allreduce, "_measure", measure)
    result = allreduce.measure_allreduce_bandwidth(2, sizes_mb=[0.25, 2, 16], iterations=5)
    assert runs == [5, 10] and result["iterations"] == 10
    assert 0 <= result["latency_s"] <= 0.0005 and result["bandwidth_bytes_per_s"] > 0
    runs.clear()
    monkeypatch.setattr(allreduce, "_measure", lambda *args: (runs.append(args[2]) or
                        {"workers": 2, "rows": [{"bytes": b, "seconds_median": s} for b, s in
                                                [(2**18, 0.0020), (2**21, 0.0040), (2**24, 0.0060)]]}))
    with pytest.raises(CourseError, match="too noisy for a line"):
        allreduce.measure_allreduce_bandwidth(2, sizes_mb=[0.25, 2, 16], iterations=5, attempts=2)
    assert runs == [5, 10]

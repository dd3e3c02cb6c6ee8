"""Measured all-reduce bandwidth: a collective benchmark across local worker processes.

Each worker runs MultiWorkerMirroredStrategy with RING collectives (gRPC between processes,
exactly the path a multi-machine job takes, over loopback here) and all-reduces float32
tensors of several sizes. For a ring of N workers each all-reduce of B bytes sends
2(N-1)/N x B bytes per worker, so time(B) = latency + 2(N-1)/N x B / bandwidth; a straight
line fitted through the measured times gives both terms, which the scaling model uses.

Run directly (one worker): python -m tfcourse.resnet.allreduce --sizes-mb 1 4 --iterations 5
with TF_CONFIG set; `measure_allreduce_bandwidth` starts the workers itself.
"""

import argparse
import json
import time

import numpy as np

from tfcourse.distribute import processes
from tfcourse.errors import CourseError

RESULT_PREFIX = "ALLREDUCE_RESULT "
DEFAULT_SIZES_MB = (0.25, 1.0, 4.0, 16.0)
# The one statistic of a size's iterations that the bandwidths and the fit both use.
STATISTIC = "seconds_median"


def ring_factor(num_workers):
    """Bytes each worker sends per byte all-reduced in a ring: 2(N-1)/N."""
    return 2.0 * (num_workers - 1) / num_workers


def fit_latency_bandwidth(num_bytes, seconds, num_workers):
    """Least-squares fit of seconds = latency + ring_factor x bytes / bandwidth.

    Returns (latency_s, bandwidth_bytes_per_s). Bandwidth is per worker link ("bus
    bandwidth" in nccl-tests' terms), directly comparable with a NIC's rate.

    Raises:
      CourseError: the line is not a physical all-reduce: time does not grow with size, or the
        latency (the cost of an all-reduce of nothing) is longer than an all-reduce measured.
    """
    slope, intercept = np.polyfit(np.asarray(num_bytes, float), np.asarray(seconds, float), 1)
    if slope <= 0:
        raise CourseError("all-reduce time did not grow with size; measure larger tensors or more iterations")
    latency = max(float(intercept), 0.0)
    fastest = min(zip(seconds, num_bytes))
    if latency > fastest[0]:
        raise CourseError(f"the fitted all-reduce latency, {1e3 * latency:.2f} ms, is longer than a whole all-reduce "
                          f"of {fastest[1]:,} bytes took ({1e3 * fastest[0]:.2f} ms): the timings are too noisy "
                          "for a line; measure more iterations, on a quieter machine")
    return latency, ring_factor(num_workers) / float(slope)


def predicted_seconds(result, num_bytes):
    """The fitted model's time for one all-reduce of `num_bytes`: latency + ring_factor x bytes / bandwidth.

    Args:
      result: measure_allreduce_bandwidth's result (workers, latency_s, bandwidth_bytes_per_s).
    """
    return result["latency_s"] + ring_factor(result["workers"]) * num_bytes / result["bandwidth_bytes_per_s"]


def _worker(sizes_mb, iterations, warmup):
    """Body of one worker process: prints the chief's timings as one JSON line."""
    import tensorflow as tf

    from tfcourse.distribute import strategies, tfconfig

    strategy = strategies.multi_worker_strategy()
    task_index, num_workers = tfconfig.worker_info()
    rows = []
    for size_mb in sizes_mb:
        count = max(int(size_mb * 2**20) // 4, 1)
        with strategy.scope():
            values = tf.Variable(tf.ones([count]), trainable=False)

        # `values` is this size's variable: the function is traced and timed within this iteration only.
        @tf.function
        def all_reduce():
            def replica_fn():
                reduced = tf.distribute.get_replica_context().all_reduce(
                    tf.distribute.ReduceOp.SUM, tf.identity(values))  # noqa: B023
                return reduced[0]  # one scalar back to the host, so the timing is the collective

            return strategy.experimental_local_results(strategy.run(replica_fn))[0]

        for _ in range(warmup):
            checked = float(all_reduce())
        if checked != num_workers:
            raise RuntimeError(f"all-reduce returned {checked}, expected {num_workers}")
        seconds = []
        for _ in range(iterations):
            start = time.perf_counter()
            float(all_reduce())
            seconds.append(time.perf_counter() - start)
        rows.append({"bytes": count * 4, "seconds_median": float(np.median(seconds)),
                     "seconds_mean": float(np.mean(seconds)), "seconds_min": float(np.min(seconds)),
                     "seconds_std": float(np.std(seconds))})
    if task_index == 0:
        print(RESULT_PREFIX + json.dumps({"workers": num_workers, "rows": rows}), flush=True)


def _measure(num_workers, sizes_mb, iterations, warmup, timeout_s, hide_gpus):
    """One run of the worker processes: the chief's {"workers", "rows"} with each row's statistics."""
    argv = ["-m", "tfcourse.resnet.allreduce", "--sizes-mb", *map(str, sizes_mb),
            "--iterations", str(iterations), "--warmup", str(warmup)]
    env = {"CUDA_VISIBLE_DEVICES": "-1"} if hide_gpus else None
    outputs = processes.run_and_collect(argv, num_workers, timeout_s=timeout_s, extra_env=env)
    lines = [line for line in outputs[0].splitlines() if line.startswith(RESULT_PREFIX)]
    if not lines:
        raise CourseError("the chief worker printed no all-reduce result")
    return json.loads(lines[-1][len(RESULT_PREFIX):])


def measure_allreduce_bandwidth(num_workers=2, sizes_mb=DEFAULT_SIZES_MB, iterations=10, warmup=2,
                                timeout_s=180, hide_gpus=True, attempts=3):
    """Starts `num_workers` local worker processes and measures the RING all-reduce.

    hide_gpus: the workers see no GPU, so on a GPU machine they neither fight over one
    device's memory nor add device copies: what is timed is the gRPC transport between processes.
    attempts: when the timings are too noisy for a physical line (`fit_latency_bandwidth` refuses
    them), measure again with twice the iterations, at most this many times in all.

    Returns:
      dict: "workers", "implementation", "rows" (bytes, seconds_median/mean/min/std, algbw and
      busbw in bytes/s per size), and the fit "latency_s", "bandwidth_bytes_per_s",
      "bandwidth_gbit_per_s". One statistic, "fit_statistic": the bandwidths and the fit use
      each size's median time (a burst of other work moves a mean; the minimum is one lucky run).
      "iterations": the iterations per size of the run that was kept.
    """
    if len(sizes_mb) < 2:
        raise CourseError("sizes_mb needs at least two sizes to separate latency from bandwidth")
    for attempt in range(attempts):
        result = _measure(num_workers, sizes_mb, iterations * 2 ** attempt, warmup, timeout_s, hide_gpus)
        try:
            latency, bandwidth = fit_latency_bandwidth([r["bytes"] for r in result["rows"]],
                                                       [r[STATISTIC] for r in result["rows"]], num_workers)
            break
        except CourseError:
            if attempt == attempts - 1:
                raise
    for row in result["rows"]:
        row["algbw_bytes_per_s"] = row["bytes"] / row[STATISTIC]
        row["busbw_bytes_per_s"] = ring_factor(num_workers) * row["algbw_bytes_per_s"]
    result.update(implementation="RING", fit_statistic=STATISTIC, latency_s=latency, iterations=iterations * 2 ** attempt,
                  bandwidth_bytes_per_s=bandwidth, bandwidth_gbit_per_s=bandwidth * 8 / 1e9)
    return result


def _main(argv=None):
    parser = argparse.ArgumentParser(description="one all-reduce benchmark worker (needs TF_CONFIG)")
    parser.add_argument("--sizes-mb", type=float, nargs="+", default=list(DEFAULT_SIZES_MB))
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args(argv)
    _worker(args.sizes_mb, args.iterations, args.warmup)


if __name__ == "__main__":
    _main()

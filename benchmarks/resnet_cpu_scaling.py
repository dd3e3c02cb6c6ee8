"""The small ResNet on this CPU: 1 replica vs 2 (logical devices, one process) vs 2 local workers.

Every run is a fresh `tfcourse bench resnet50 --small` process (TensorFlow fixes its device
list at start-up), run `--repeats` times interleaved so background load hits all alike; the
table keeps each configuration's best run. Then the ring all-reduce between 2 local worker
processes is measured, and the scaling model predicts the 2-worker efficiency from it.

One statistic throughout: the MEAN over a run's timed iterations. A run's images/s is its
batch over its mean step time, the 1-replica compute time is that mean, and the all-reduce's
latency and bandwidth are fitted to each size's median time (tfcourse.resnet.allreduce.STATISTIC). The model charges what the
benchmark step does: two all-reduces per step (the gradients, then the loss summed across
workers, which the step returns), each paying the fitted latency.

    PYTHONPATH=$PWD python benchmarks/resnet_cpu_scaling.py [--steps 20] [--repeats 1] [--out-dir DIR]

Prints the scaling table, the measured efficiencies and the prediction; appends to
results.jsonl (the benchmark runs) and allreduce.jsonl (the all-reduce fit) and writes
scaling.png in --out-dir (default: a new temporary directory).
"""

import argparse
import os
import tempfile

from tfcourse.resnet import allreduce, benchmark, predict, report, scaling
from tfcourse.resnet import model as resnet_model
from tfcourse.resnet.results import append_result, read_results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--allreduce-iterations", type=int, default=20)
    parser.add_argument("--out-dir", default=None)
    args = parser.parse_args()
    out_dir = args.out_dir or tempfile.mkdtemp(prefix="resnet_cpu_scaling_")
    os.makedirs(out_dir, exist_ok=True)
    results_path = os.path.join(out_dir, "results.jsonl")
    config = benchmark.BenchConfig(model="small", batch_size=args.batch_size, steps=args.steps, warmup=args.warmup)
    benchmark.run_cpu_layouts(config, args.repeats, output=results_path, printer=lambda line: print(line, flush=True))
    rows = scaling.scaling_table(read_results(results_path))
    print()
    print(scaling.format_table(rows, title=f"small ResNet, CPU ({os.cpu_count()} cores), "
                                           f"batch {args.batch_size}/replica, best of {args.repeats}"))
    chart = report.plot_scaling(rows, os.path.join(out_dir, "scaling.png"), title="small ResNet on this CPU")

    runs = read_results(results_path)
    for name, (replicas, processes) in benchmark.CPU_LAYOUTS.items():
        rates = [r["images_per_sec"] for r in runs if (r["replicas"], r["workers"]) == (replicas * processes, processes)]
        print(f"{name}: rounds {', '.join(f'{rate:.1f}' for rate in rates)} images/s, "
              f"fastest / slowest {max(rates) / min(rates):.2f}x")

    # Bandwidths and fit from each size's median time, one statistic (tfcourse.resnet.allreduce.STATISTIC);
    # the fit refuses a latency longer than a measured all-reduce.
    measured = allreduce.measure_allreduce_bandwidth(2, sizes_mb=(0.25, 1, 4, 16), iterations=args.allreduce_iterations)
    append_result(os.path.join(out_dir, "allreduce.jsonl"), dict(measured, benchmark="allreduce"))
    print(f"\nring all-reduce, 2 local workers, fitted to the median of {args.allreduce_iterations} iterations per size: "
          f"{measured['bandwidth_gbit_per_s']:.2f} Gbit/s, latency {1e6 * measured['latency_s']:.0f} us")
    single = max((r for r in runs if r["replicas"] == 1), key=lambda r: r["images_per_sec"])
    gradient = resnet_model.trainable_parameter_count(resnet_model.small_resnet()) * 4
    per_step = 2  # the gradients, and the loss the step returns summed across workers
    predicted = predict.predict_local_efficiency(single["step_time_mean_s"], gradient, measured,
                                                 allreduces_per_step=per_step)
    two_workers = next(r for r in rows if r["layout"] == "2x1")
    print(f"gradient {gradient / 1e6:.2f} MB, 1-replica step {1e3 * single['step_time_mean_s']:.1f} ms (mean), "
          f"{per_step} all-reduces per step")
    shared = predict.predict_local_efficiency(single["step_time_mean_s"], gradient, measured, compute_slowdown=2,
                                              allreduces_per_step=per_step)
    print(f"2 workers, model: {100 * predicted:.1f}% if each had cores of its own (communication only); "
          f"{100 * shared:.1f}% sharing the cores one replica already used (this machine)")
    print(f"2 workers, measured: {100 * two_workers['efficiency']:.1f}%")
    print(f"results: {results_path}\nchart: {chart}")


if __name__ == "__main__":
    main()

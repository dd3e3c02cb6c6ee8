"""tfcourse bench: the ResNet-50 scaling lab from the command line.

  tfcourse bench resnet50 [--small] --batch-size 64 --precision mixed_float16 --xla --replicas 2
  tfcourse bench allreduce --workers 2          measured ring all-reduce bandwidth
  tfcourse bench report results.jsonl --chart scaling.png
  tfcourse bench talk --chart model.png         the talk's table next to the scaling model
"""

import argparse
import json
import sys

from tfcourse.commands.args import non_negative_int, positive_float, positive_int, seed
from tfcourse.distribute.devices import DEVICES
from tfcourse.distribute.strategies import STRATEGIES

HELP = "ResNet-50 images/sec benchmark, all-reduce bandwidth, scaling tables and charts"

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


def configure(parser):
    benchmarks = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)

    resnet = benchmarks.add_parser("resnet50", help="training images/sec on synthetic ImageNet-shaped data")
    resnet.add_argument("--small", action="store_true", help="the small CPU/CI variant (32x32, 2 stages)")
    resnet.add_argument("--batch-size", type=positive_int, default=None,
                        help="images per replica per step (default 64; 32 with --small)")
    resnet.add_argument("--precision", choices=PRECISIONS, default="float32")
    resnet.add_argument("--xla", action=argparse.BooleanOptionalAction, default=False,
                        help="compile the step with XLA (jit_compile)")
    resnet.add_argument("--replicas", type=positive_int, default=1,
                        help="replicas in this process: GPUs, or logical CPU devices")
    resnet.add_argument("--workers", type=positive_int, default=1,
                        help="start this many local worker processes (MultiWorkerMirroredStrategy, TF_CONFIG)")
    resnet.add_argument("--strategy", choices=STRATEGIES, default="auto",
                        help="multiworker: join the cluster in TF_CONFIG (set by `tfcourse launch`)")
    resnet.add_argument("--device", choices=DEVICES, default="auto")
    resnet.add_argument("--steps", type=positive_int, default=50, help="timed steps")
    resnet.add_argument("--warmup", type=non_negative_int, default=5, help="untimed steps first (compile, autotune)")
    resnet.add_argument("--image-size", type=positive_int, default=None)
    resnet.add_argument("--num-classes", type=positive_int, default=None)
    resnet.add_argument("--seed", type=seed, default=0)
    resnet.add_argument("--output", default=None, help="append the result as a JSON line to this file")
    resnet.add_argument("--no-progress", action="store_true", help="no progress bar")

    allreduce = benchmarks.add_parser("allreduce", help="ring all-reduce bandwidth across local worker processes")
    allreduce.add_argument("--workers", type=positive_int, default=2)
    allreduce.add_argument("--sizes-mb", type=positive_float, nargs="+", default=[0.25, 1, 4, 16, 64])
    allreduce.add_argument("--iterations", type=positive_int, default=10)
    allreduce.add_argument("--output", default=None, help="append the result as a JSON line to this file")

    report = benchmarks.add_parser("report", help="speedup/efficiency table (and chart) from results")
    report.add_argument("results", help="JSON-lines file written by `tfcourse bench resnet50 --output`")
    report.add_argument("--model", choices=("resnet50", "small"), default=None, help="only this model")
    report.add_argument("--precision", choices=PRECISIONS, default=None, help="only this precision")
    report.add_argument("--xla", action=argparse.BooleanOptionalAction, default=None, help="only XLA on/off")
    report.add_argument("--chart", default=None, help="write the scaling chart to this PNG")
    report.add_argument("--options", action="store_true",
                        help="compare precision x XLA runs (one device) instead of device counts")

    talk = benchmarks.add_parser("talk", help="the talk's scaling table next to the scaling model")
    talk.add_argument("--chart", default=None, help="write the model-vs-talk chart to this PNG")


def run(args):
    return {"resnet50": _resnet50, "allreduce": _allreduce, "report": _report, "talk": _talk}[args.benchmark](args)


def _resnet50(args):
    from tfcourse.resnet import benchmark

    config = benchmark.BenchConfig(
        model="small" if args.small else "resnet50",
        batch_size=args.batch_size or (32 if args.small else 64),
        precision=args.precision, xla=args.xla, replicas=args.replicas, steps=args.steps,
        warmup=args.warmup, device=args.device, strategy=args.strategy, image_size=args.image_size,
        num_classes=args.num_classes, seed=args.seed)
    if args.workers > 1:
        result = benchmark.run_local_workers(config, args.workers, progress=not args.no_progress)
    else:
        result = benchmark.run_benchmark(config, progress=not args.no_progress)
    if result["worker_index"] != 0:
        return 0  # the chief reports and records for the whole cluster
    if args.output:
        benchmark.append_result(args.output, result)
    print(benchmark.summary_line(result))
    return 0


def _allreduce(args):
    from tfcourse.resnet import allreduce

    result = allreduce.measure_allreduce_bandwidth(args.workers, args.sizes_mb, args.iterations)
    for row in result["rows"]:
        print(f"{row['bytes'] / 2**20:>9.2f} MiB  {1e3 * row[allreduce.STATISTIC]:>8.2f} ms (median)  "
              f"bus bandwidth {row['busbw_bytes_per_s'] * 8 / 1e9:>6.2f} Gbit/s")
    print(f"fit ({result['workers']} workers, RING): bandwidth {result['bandwidth_gbit_per_s']:.2f} Gbit/s, "
          f"latency {1e6 * result['latency_s']:.0f} us")
    if args.output:
        with open(args.output, "a") as f:
            f.write(json.dumps(dict(result, benchmark="allreduce")) + "\n")
    return 0


def _report(args):
    from tfcourse.resnet import results as results_io
    from tfcourse.resnet import scaling

    results = [r for r in results_io.read_results(args.results) if r.get("benchmark") == "resnet_train_synthetic"]
    criteria = {k: v for k, v in (("model", args.model), ("precision", args.precision), ("xla", args.xla))
                if v is not None}
    results = scaling.select(results, **criteria)
    if args.options:
        print(scaling.options_table(results))
        return 0
    rows = scaling.scaling_table(results)
    print(scaling.format_table(rows, title=f"{args.results} {criteria or ''}".strip()))
    if args.chart:
        from tfcourse.resnet import report

        report.plot_scaling(rows, args.chart)
        print(f"chart: {args.chart}")
    return 0


def _talk(args):
    from tfcourse.resnet import predict, scaling

    print(scaling.format_table(scaling.talk_table(), "The talk: ResNet-50, Horovod + MPI, P100", "GPUs"))
    print()
    print("Scaling model (efficiency %): batch 64/GPU, 25 Gbit/s, 10 GB/s in a machine, 30 us/hop")
    rows, fitted = predict.model_vs_talk()
    print(predict.format_model_vs_talk(rows, fitted))
    if args.chart:
        from tfcourse.resnet import report

        report.plot_model_vs_talk(rows, fitted, args.chart)
        print(f"chart: {args.chart}", file=sys.stdout)
    return 0

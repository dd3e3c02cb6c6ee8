"""tfcourse's ResNet-50 next to keras.applications.ResNet50, same step, same data, one run.

Both networks are trained by the step `tfcourse bench resnet50` runs
(tfcourse.resnet.train_step.make_train_step): the same synthetic batches drawn inside the step
(stateless, one seed), the same loss (cross-entropy on float32 logits), the same optimizer
(SGD, momentum 0.9, learning rate 0.1; loss scaling for float16), in each precision given.
The peer is `keras.applications.ResNet50(weights=None, classifier_activation=None)` with its
logits cast to float32, the Keras mixed-precision recipe.

Protocol: every (model, precision) is built first and warmed up (`--warmup` steps: tracing,
memory, oneDNN/cuDNN choices); then `--rounds` interleaved rounds of `--steps` steps each, every
step ended by reading its loss on the host. Statistic: each configuration's BEST round, its
images/s = batch x steps / the round's seconds (other work on the machine only adds time).

    PYTHONPATH=$PWD python benchmarks/resnet50_peer.py [--batch-size 16] [--steps 3] [--rounds 2]
        [--precisions float32 mixed_bfloat16] [--device auto] [--image-size 224] [--xla] [--json out.json]
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfcourse import environment, paired  # noqa: E402
from tfcourse.distribute import strategies  # noqa: E402
from tfcourse.resnet import benchmark, train_step  # noqa: E402
from tfcourse.resnet import model as resnet_model

MODELS = ("tfcourse", "keras.applications")


def build(which, precision, image_size, num_classes):
    """The network under `precision`'s Keras policy: logits float32 [B, num_classes]."""
    with train_step.dtype_policy(precision):
        if which == "tfcourse":
            config = benchmark.BenchConfig(model="resnet50", image_size=image_size, num_classes=num_classes)
            return resnet_model.resnet(config.net_config())
        base = keras.applications.ResNet50(weights=None, input_shape=(image_size, image_size, 3),
                                           classes=num_classes, classifier_activation=None)
        logits = keras.layers.Activation("linear", dtype="float32", name="logits_float32")(base.output)
        return keras.Model(base.input, logits, name="keras_resnet50")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per round")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--precisions", nargs="+", default=["float32", "mixed_bfloat16"], choices=list(train_step.PRECISIONS))
    parser.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--num-classes", type=int, default=1000)
    parser.add_argument("--xla", action="store_true", help="compile both models' steps with XLA")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write every number to this JSON file")
    args = parser.parse_args()
    for name in ("batch_size", "steps", "rounds", "image_size", "num_classes"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.warmup < 0:
        parser.error(f"--warmup must be >= 0, got {args.warmup}")
    if args.image_size < 32:
        parser.error(f"--image-size must be >= 32 (keras.applications.ResNet50's smallest), got {args.image_size}")

    strategy, device_kind = strategies.choose_strategy(1, args.device)
    runs = {}
    for precision in args.precisions:
        for which in MODELS:
            with strategy.scope():
                model = build(which, precision, args.image_size, args.num_classes)
                optimizer = train_step.resnet_optimizer(precision)
            step = train_step.make_train_step(model, optimizer, strategy, args.batch_size, xla=args.xla,
                                         synthetic=(args.batch_size, args.image_size, args.num_classes, args.seed))
            start = time.perf_counter()
            benchmark.time_steps(step, args.warmup)
            runs[(which, precision)] = {"step": step, "parameters": resnet_model.trainable_parameter_count(model),
                                        "warmup_s": time.perf_counter() - start, "rates": []}
            print(f"built and warmed up {which} {precision}: {runs[(which, precision)]['parameters']:,} parameters, "
                  f"{runs[(which, precision)]['warmup_s']:.0f} s", flush=True)

    load_before = os.getloadavg()
    for _ in range(args.rounds):
        for run in runs.values():
            seconds = sum(benchmark.time_steps(run["step"], args.steps))  # each step ends on a host read
            run["rates"].append(args.batch_size * args.steps / seconds)
    load_after = os.getloadavg()

    hardware = environment.hardware()
    print(f"\nResNet-50 training, synthetic {args.image_size}x{args.image_size} batches of {args.batch_size}, "
          f"{device_kind}, XLA {'on' if args.xla else 'off'}, {args.steps} steps x {args.rounds} interleaved rounds, "
          f"statistic: median of paired per-round ratios; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; "
          f"TF {tf.__version__}, Keras {keras.__version__}")
    ratios = {}
    for precision in args.precisions:
        ours, peer = (runs[(which, precision)]["rates"] for which in MODELS)
        ratios[f"tfcourse / keras.applications, {precision}"] = paired.paired_ratio(ours, peer)
    for which in MODELS:
        for precision in args.precisions[1:]:
            ratios[f"{which}: {precision} / {args.precisions[0]}"] = paired.paired_ratio(
                runs[(which, precision)]["rates"], runs[(which, args.precisions[0])]["rates"])
    for (which, precision), run in runs.items():
        print(f"{which:<20} {precision:<16} rounds {', '.join(f'{rate:.2f}' for rate in run['rates'])} im/s")
    for name, ratio in ratios.items():
        print(f"  {name:<52}{paired.describe(ratio)}")
    if args.json:
        report = {"batch_size": args.batch_size, "image_size": args.image_size, "steps": args.steps,
                  "rounds": args.rounds, "xla": args.xla, "device": device_kind,
                  "statistic": "median of paired per-round ratios (tfcourse.paired.paired_ratio)",
                  "run": paired.run_record(sys.argv, load_before, load_after), "hardware": hardware,
                  "ratios": {name: paired.as_dict(ratio) for name, ratio in ratios.items()},
                  "versions": environment.versions(),
                  "runs": [{"model": which, "precision": precision, "parameters": run["parameters"],
                            "images_per_sec": run["rates"]}
                           for (which, precision), run in runs.items()]}
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()

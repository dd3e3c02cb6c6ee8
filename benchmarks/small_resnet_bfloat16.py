"""Mixed bfloat16 for the small ResNet on MNIST: speed and test precision next to float32, one run.

The small ResNet (`tfcourse bench resnet50 --small`'s network, `tfcourse.resnet.model.SMALL`:
two stages of one bottleneck, 16/32 wide) is built twice per seed, under the float32 and the
mixed_bfloat16 Keras policy exactly as `--precision` does it (`tfcourse.resnet.train_step.dtype_policy`:
variables float32, layers compute in bfloat16, logits float32), the second given the first's
initial weights. Both are trained by the benchmark's own step (`train_step.make_train_step`, SGD
momentum 0.9, batch 64, as tests/test_resnet_data.py trains it on MNIST) on the same MNIST
batches and scored on the whole MNIST test split (10,000 digits) in the precision they trained
in. Two changes from that test: the learning rate decays from 0.05 to 0 on a cosine over the
run, because at a constant 0.05 the last step's test precision spread over 11 points (0.848-0.957)
in the 4 runs of a pilot here and would hide what bfloat16 changes; and 900 steps, not 100.
Images are 16x16 by default, as in that test: at the benchmark's 32x32 a step costs about 4x more, and 2 seeds x 2
precisions trained that far would not fit in 5 minutes on 2 cores; `--image_size 32` measures
that shape (fewer `--steps`).

Speed: training runs in rounds of `--round_steps` steps, the two precisions interleaved (their
order alternating) on the same batches, which are built before the clock; every timed round
ends on the loss read by the host. Round 0 pays for tracing and oneDNN's kernel choices and is
left out; the statistic is the median over later rounds of the per-round ratio mixed_bfloat16 /
float32 (`tfcourse.paired.paired_ratio`, round i against round i), with its range and the
rounds bfloat16 won. Every step is credited: steps_run is read from the optimizer's own counter.

    PYTHONPATH=$PWD python benchmarks/small_resnet_bfloat16.py [--seeds 0 1] [--steps 900] [--image_size 16]
        [--round_steps 50] [--json out.json]
"""

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfcourse import environment, paired  # noqa: E402
from tfcourse.datasets import read_data_sets  # noqa: E402
from tfcourse.resnet import inputs, train_step  # noqa: E402
from tfcourse.resnet import model as resnet_model

PRECISIONS = ("float32", "mixed_bfloat16")
BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of x86 bfloat16 units
CONV_OPS = ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter")


def cpu_bf16_units():
    """The bfloat16 units /proc/cpuinfo lists ([] elsewhere or on CPUs without them)."""
    if not os.path.exists("/proc/cpuinfo"):
        return []
    with open("/proc/cpuinfo") as cpuinfo:
        flags = set(cpuinfo.read().split())
    return [flag for flag in BF16_FLAGS if flag in flags]


def conv_op_dtypes(step, images, labels):
    """{op type: sorted dtypes} of the convolutions (forward and both gradients) in the traced step.

    What the step really computes in, read from its graph rather than from the Keras policy.
    """
    graph = step.get_concrete_function((images, labels)).graph
    found = {}
    for op in graph.get_operations():
        if op.type in CONV_OPS:
            found.setdefault(op.type, set()).add(op.get_attr("T").name)
    return {op_type: sorted(dtypes) for op_type, dtypes in sorted(found.items())}


def build_run(precision, initial_weights, batch_size, learning_rate, image_size):
    """A model under `precision`'s policy holding `initial_weights`, its optimizer and its step.

    learning_rate: a float or a keras LearningRateSchedule (SGD takes either).
    """
    strategy = tf.distribute.get_strategy()
    with train_step.dtype_policy(precision):
        model = resnet_model.small_resnet(image_size=image_size)
    model.set_weights(initial_weights)
    optimizer = train_step.resnet_optimizer(precision, learning_rate=learning_rate)
    step = train_step.make_train_step(model, optimizer, strategy, batch_size)
    return {"precision": precision, "model": model, "optimizer": optimizer, "step": step,
            "compute_dtype": model.get_layer("stem_conv").compute_dtype, "rates": [], "steps_credited": 0}


def train_round(run, batches):
    """Runs one step per batch; returns the seconds, ended on the last loss read by the host."""
    start = time.perf_counter()
    loss = None
    for batch in batches:
        loss = run["step"](batch)
    run["last_loss"] = float(loss)
    seconds = time.perf_counter() - start
    run["steps_credited"] += len(batches)
    return seconds


def train_seed(data_sets, seed, args):
    """Both precisions from one seed's initial weights on one seed's batches: a list of 2 rows."""
    keras.utils.set_random_seed(seed)
    initial = resnet_model.small_resnet(image_size=args.image_size).get_weights()
    runs = [build_run(p, initial, args.batch_size,
                      keras.optimizers.schedules.CosineDecay(args.learning_rate, args.steps), args.image_size)
            for p in PRECISIONS]
    iterator = iter(inputs.mnist_dataset(data_sets.train, args.batch_size, args.image_size, seed=seed))
    rounds = -(-args.steps // args.round_steps)
    for index in range(rounds):
        count = min(args.round_steps, args.steps - index * args.round_steps)
        batches = [next(iterator) for _ in range(count)]
        if index == 0:
            for run in runs:
                run["conv_op_dtypes"] = conv_op_dtypes(run["step"], *batches[0])
        for run in runs if index % 2 == 0 else runs[::-1]:
            seconds = train_round(run, batches)
            if index > 0:
                run["rates"].append(count * args.batch_size / seconds)
    test = data_sets.test
    count = min(args.eval_examples, test.num_examples)
    eval_batches = tf.data.Dataset.from_tensor_slices(
        (test.images[:count], test.labels[:count].astype("int32"))).batch(500)
    eval_batches = eval_batches.map(lambda x, y: (inputs.mnist_to_rgb(x, args.image_size), y))
    rows = []
    for run in runs:
        rows.append({"precision": run["precision"], "seed": seed, "compute_dtype": run["compute_dtype"],
                     "conv_op_dtypes": run["conv_op_dtypes"],
                     "steps_run": int(run["optimizer"].iterations.numpy()), "steps_credited": run["steps_credited"],
                     "images_per_s_rounds": run["rates"],
                     "test_precision": train_step.evaluate_accuracy(run["model"], eval_batches),
                     "test_examples": count, "last_loss": run["last_loss"]})
    return rows


def seed_ratio(rows, seed):
    """mixed_bfloat16 / float32 speed for one seed: the median of its paired per-round ratios."""
    fp32, bf16 = (next(r for r in rows if r["seed"] == seed and r["precision"] == p) for p in PRECISIONS)
    return paired.paired_ratio(bf16["images_per_s_rounds"], fp32["images_per_s_rounds"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--steps", type=int, default=900, help="training steps per precision and seed")
    parser.add_argument("--round_steps", type=int, default=50, help="steps per timed round")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--learning_rate", type=float, default=0.05, help="at step 0; cosine decay to 0")
    parser.add_argument("--image_size", type=int, default=16)
    parser.add_argument("--eval_examples", type=int, default=10000, help="first N test digits (10,000 = all)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    for name in ("steps", "round_steps", "batch_size", "eval_examples"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    if args.steps < 2 * args.round_steps:
        parser.error(f"--steps must be at least 2 x --round_steps (round 0 is untimed), got {args.steps}")
    if args.learning_rate <= 0 or args.image_size < 8:
        parser.error("--learning_rate must be > 0 and --image_size >= 8")
    units = cpu_bf16_units()
    print(f"CPU: {environment.hardware()['cpu']}; bfloat16 units: {', '.join(units) or 'none'}", flush=True)
    data_sets = read_data_sets()
    load_before = os.getloadavg()
    started = time.perf_counter()
    rows = []
    for seed in args.seeds:
        for row in train_seed(data_sets, seed, args):
            rows.append(row)
            print(f"{row['precision']:<15} seed {seed}: {row['steps_run']} steps of {args.batch_size}, "
                  f"median round {statistics.median(row['images_per_s_rounds']):,.0f} images/s (rounds: "
                  f"{', '.join(f'{r:,.0f}' for r in row['images_per_s_rounds'])}), test precision@1 "
                  f"{row['test_precision']:.4f} on {row['test_examples']} digits; layers compute in "
                  f"{row['compute_dtype']}, step convolutions {row['conv_op_dtypes']}", flush=True)
    load_after = os.getloadavg()
    print(f"{args.steps} steps per run in rounds of {args.round_steps}, round 0 untimed; "
          f"{time.perf_counter() - started:.0f} s in all; load average {load_before[0]:.2f} before, "
          f"{load_after[0]:.2f} after")
    speed = {}
    for seed in args.seeds:
        speed[seed] = seed_ratio(rows, seed)
        fp32, bf16 = (next(r for r in rows if r["seed"] == seed and r["precision"] == p) for p in PRECISIONS)
        print(f"seed {seed}: mixed_bfloat16 / float32 speed {paired.describe(speed[seed])}, "
              f"test precision {bf16['test_precision'] - fp32['test_precision']:+.4f}")
    if args.json:
        report = {"run": paired.run_record(sys.argv, load_before, load_after), "args": vars(args),
                  "statistic": "median of paired per-round ratios after round 0 (tfcourse.paired.paired_ratio)",
                  "cpu_bf16_units": units, "hardware": environment.hardware(), "versions": environment.versions(),
                  "rows": rows, "bf16_over_fp32": {str(seed): paired.as_dict(ratio) for seed, ratio in speed.items()}}
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()

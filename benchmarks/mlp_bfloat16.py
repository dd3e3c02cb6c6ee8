"""Mixed bfloat16 for the MNIST MLP: speed and test precision next to float32, one run.

Mixed bfloat16 as Keras's `mixed_bfloat16` policy does it: variables stay float32; each step
casts the images and the weights to bfloat16, runs the matmuls, biases and ReLUs in bfloat16
and casts the logits back to float32 for the softmax cross-entropy (gradients flow through the
casts into the float32 variables). Both precisions train the same network from the same
initial weights on the same batches with `tfcourse train`'s defaults (Adam 0.002, cosine decay,
batch 100, `--epochs` epochs), `--steps_per_call` steps per tf.function call, and are scored on
the whole test split in the precision they trained in.

Speed, two ways: the training seconds of each run above (input built before the clock; every
call ends on losses read by the host); and, less exposed to other jobs on the machine, the
step alone in an in-graph loop over 100 batches already in memory, `--rounds` interleaved
rounds of `--loop_steps` steps (their order alternating); the statistic is the median of the
per-round ratios mixed_bfloat16 / float32 (`tfcourse.paired.paired_ratio`), with their range.

    PYTHONPATH=$PWD python benchmarks/mlp_bfloat16.py [--seeds 0 1] [--epochs 10] [--json out.json]
"""

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfcourse import mnist, paired  # noqa: E402
from tfcourse.datasets import (
    pipeline,  # noqa: E402
    read_data_sets,  # noqa: E402
)
from tfcourse.training import optimizers  # noqa: E402

BATCH, LR = 100, 0.002
PRECISIONS = {"float32": tf.float32, "mixed_bfloat16": tf.bfloat16}


def forward(model, images, compute_dtype):
    """Logits float32 [B, 10] from float32 images [B, 784], the layers computed in compute_dtype."""
    x = tf.cast(images, compute_dtype)
    for index, layer in enumerate((model.hidden1, model.hidden2, model.softmax_linear)):
        x = tf.matmul(x, tf.cast(layer.weights, compute_dtype)) + tf.cast(layer.biases, compute_dtype)
        if index < 2:
            x = tf.nn.relu(x)
    return tf.cast(x, tf.float32)


def train_and_score(data_sets, precision, seed, epochs, steps_per_call):
    """Returns (training seconds, test precision@1, last loss, steps trained)."""
    compute_dtype = PRECISIONS[precision]
    total = round(epochs * pipeline.steps_per_epoch(data_sets.train.num_examples, BATCH))
    total -= total % steps_per_call
    model = mnist.MLP(128, 32, seed=seed)
    optimizer = optimizers.make_optimizer("adam", optimizers.make_schedule("cosine", LR, total))
    optimizer.build(model.trainable_variables)
    iterator = iter(pipeline.make_dataset(data_sets.train, BATCH, seed=seed))

    @tf.function
    def train_steps(num_steps):
        losses = tf.TensorArray(tf.float32, size=num_steps)
        for i in tf.range(num_steps):
            images, labels = next(iterator)
            with tf.GradientTape() as tape:
                loss = mnist.loss(forward(model, images, compute_dtype), labels)
            optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
            losses = losses.write(i, loss)
        return losses.stack()

    @tf.function
    def correct(images, labels):
        return mnist.evaluation(forward(model, images, compute_dtype), labels)

    train_steps(tf.constant(1)).numpy()  # trace; the schedule's one extra step changes nothing measurable
    start = time.perf_counter()
    for _ in range(total // steps_per_call):
        losses = train_steps(tf.constant(steps_per_call)).numpy()
    seconds = time.perf_counter() - start
    test = data_sets.test
    right = int(correct(tf.constant(test.images), tf.constant(test.labels.astype(np.int32))))
    return seconds, right / test.num_examples, float(losses[-1]), total


def loop_rates(data_sets, rounds, loop_steps):
    """{precision: [examples/s of each round]} of the step alone, rounds interleaved across precisions."""
    dataset = pipeline.make_dataset(data_sets.train, BATCH, seed=0).take(100)
    images, labels = (tf.constant(np.stack(a)) for a in zip(*[(x.numpy(), y.numpy()) for x, y in dataset]))
    loops = {}
    for precision, compute_dtype in PRECISIONS.items():
        model = mnist.MLP(128, 32, seed=0)
        optimizer = optimizers.make_optimizer("adam", LR)
        optimizer.build(model.trainable_variables)

        @tf.function
        def loop(num_steps, model=model, optimizer=optimizer, compute_dtype=compute_dtype):
            loss = tf.constant(0.0)
            for i in tf.range(num_steps):
                with tf.GradientTape() as tape:
                    loss = mnist.loss(forward(model, images[i % 100], compute_dtype), labels[i % 100])
                optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                                              model.trainable_variables))
            return loss

        loop(tf.constant(2)).numpy()
        loops[precision] = loop
    rates = {precision: [] for precision in PRECISIONS}
    order = list(loops.items())
    for index in range(rounds):
        for precision, loop in order if index % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            loop(tf.constant(loop_steps)).numpy()
            rates[precision].append(loop_steps * BATCH / (time.perf_counter() - start))
    return rates


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--epochs", type=float, default=10)
    parser.add_argument("--steps_per_call", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--loop_steps", type=int, default=1000)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    if args.epochs <= 0 or min(args.steps_per_call, args.rounds, args.loop_steps) < 1:
        parser.error("--epochs must be > 0; --steps_per_call, --rounds and --loop_steps >= 1")
    flags = ""
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as cpuinfo:
            flags = cpuinfo.read()
    units = [f for f in ("avx512_bf16", "amx_bf16") if f in flags.split()]
    data_sets = read_data_sets()
    rows = []
    load_before = os.getloadavg()
    for seed in args.seeds:
        for precision in PRECISIONS:
            seconds, precision_at_1, loss, steps = train_and_score(data_sets, precision, seed, args.epochs,
                                                                   args.steps_per_call)
            rows.append({"precision": precision, "seed": seed, "seconds": seconds, "steps": steps,
                         "examples_per_s": steps * BATCH / seconds, "test_precision": precision_at_1,
                         "last_loss": loss})
            print(f"{precision:<15} seed {seed}: {steps} steps in {seconds:.2f} s = "
                  f"{steps * BATCH / seconds:,.0f} examples/s, test precision@1 {precision_at_1:.4f}", flush=True)
    loop = loop_rates(data_sets, args.rounds, args.loop_steps)
    load_after = os.getloadavg()
    step_ratio = paired.paired_ratio(loop["mixed_bfloat16"], loop["float32"])
    print(f"the step alone (Adam, in-graph loop, {args.rounds} interleaved rounds of {args.loop_steps}): "
          + ", ".join(f"{p} median {statistics.median(r):,.0f} examples/s" for p, r in loop.items())
          + f"; mixed_bfloat16 / float32 {paired.describe(step_ratio)}")
    print(f"CPU bfloat16 units: {', '.join(units) or 'none'}; load average {load_before[0]:.2f} before, "
          f"{load_after[0]:.2f} after")
    for seed in args.seeds:
        fp32, bf16 = (next(r for r in rows if r["seed"] == seed and r["precision"] == p) for p in PRECISIONS)
        print(f"seed {seed}: mixed_bfloat16 / float32 speed {bf16['examples_per_s'] / fp32['examples_per_s']:.2f}x, "
              f"test precision {bf16['test_precision'] - fp32['test_precision']:+.4f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"run": paired.run_record(sys.argv, load_before, load_after),
                       "statistic": "median of paired per-round ratios (tfcourse.paired.paired_ratio)",
                       "rows": rows, "loop_examples_per_s_rounds": loop, "cpu_bf16_units": units,
                       "step_alone_bf16_over_fp32": paired.as_dict(step_ratio)}, f, indent=1)


if __name__ == "__main__":
    main()

"""Where the MLP training step's time goes, op by op (TensorFlow Profiler), and one change it suggests, timed.

1. Profile: `tfcourse.profiling.profile_trainer` traces the TF2 face (the trainer's compiled
   loop, 100 steps per call, batch 100, SGD 0.01, as benchmarks/train_throughput.py runs it) and
   reads the profiler's .xplane.pb back into a table: per op type, count, total and self time,
   share of all op self time.
2. The change: the profile shows the SGD update of the weights (AssignSubVariableOp) among the
   costliest ops. The op-by-op floor's loop (train_throughput.py's) is timed as it is (Keras
   SGD: a Mul, then AssignSubVariableOp per weight) and with the update as one fused kernel per
   weight (`tf.raw_ops.ResourceApplyGradientDescent`), rounds interleaved; the statistic is the
   median of the paired per-round ratios (`tfcourse.paired.paired_ratio`), and each variant's
   update ops are profiled too.

    PYTHONPATH=$PWD python benchmarks/mlp_step_profile.py [--rounds 7] [--steps 1000] [--json out.json]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import tensorflow as tf  # noqa: E402

from tfcourse import mnist, paired, profiling, training  # noqa: E402
from tfcourse.datasets import pipeline, read_data_sets  # noqa: E402
from tfcourse.training import optimizers  # noqa: E402

BATCH, LR, SEED = 100, 0.01, 0


def batches_in_memory(data_sets, count=100):
    dataset = pipeline.make_dataset(data_sets.train, BATCH, seed=SEED).take(count)
    images, labels = zip(*[(x.numpy(), y.numpy()) for x, y in dataset])
    return tf.stack(images), tf.stack(labels)


def floor_loop(images, labels, fused):
    """The op-by-op floor: forward, backward, SGD update in a tf.range loop over batches in memory."""
    model = mnist.MLP(128, 32, seed=SEED)
    optimizer = optimizers.make_optimizer("sgd", LR)
    optimizer.build(model.trainable_variables)
    count = int(images.shape[0])

    def step(x, y):
        with tf.GradientTape() as tape:
            loss = mnist.loss(model(x), y)
        grads = tape.gradient(loss, model.trainable_variables)
        if fused:
            # One kernel per weight: var -= alpha * delta, in place.
            for variable, grad in zip(model.trainable_variables, grads):
                tf.raw_ops.ResourceApplyGradientDescent(var=variable.handle, alpha=tf.constant(LR), delta=grad)
        else:
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    @tf.function
    def loop(num_steps):
        loss = tf.constant(0.0)
        for i in tf.range(num_steps):
            loss = step(images[i % count], labels[i % count])
        return loss

    loop(tf.constant(2)).numpy()
    return lambda steps: loop(tf.constant(steps)).numpy()


def rows_as_dicts(table, steps):
    return [dict(row._asdict(), us_per_step=row.self_us / steps) for row in table]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    if min(args.rounds, args.steps) < 1:
        parser.error("--rounds and --steps must be >= 1")
    data_sets = read_data_sets()
    logdir = tempfile.mkdtemp(prefix="mlp_step_profile_")
    load_before = os.getloadavg()

    config = training.TrainConfig(batch_size=BATCH, optimizer="sgd", learning_rate=LR, lr_schedule="constant",
                                  max_steps=10**9, steps_per_call=100, seed=SEED)
    trainer = training.Trainer(config, data_sets.train.num_examples)
    profile = profiling.profile_trainer(trainer, iter(trainer.dataset(data_sets.train)),
                                        os.path.join(logdir, "tf2_face"), steps_per_call=100, calls=5)
    profiled_steps = 500
    print(f"TF2 face, {profiled_steps} steps profiled: {profile['step_us']:.0f} us per step (wall, under the "
          f"profiler), {profile['op_us_per_step']:.0f} us of op self time per step")
    print(profiling.format_op_table(profile["table"]))

    images, labels = batches_in_memory(data_sets)
    variants = {"keras SGD (Mul + AssignSubVariableOp)": floor_loop(images, labels, fused=False),
                "fused ResourceApplyGradientDescent": floor_loop(images, labels, fused=True)}
    update_tables = {}
    for name, run in variants.items():
        path = profiling.trace(lambda run=run: run(100), os.path.join(logdir, name.split()[0]), calls=3)
        update_tables[name] = rows_as_dicts(profiling.op_table(path), 300)
    rates = {name: [] for name in variants}
    order = list(variants.items())
    for index in range(args.rounds):
        for name, run in order if index % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            run(args.steps)
            rates[name].append(args.steps * BATCH / (time.perf_counter() - start))
    load_after = os.getloadavg()
    fused, keras_sgd = list(variants)[1], list(variants)[0]
    ratio = paired.paired_ratio(rates[fused], rates[keras_sgd])
    for name in variants:
        update_us = sum(row["us_per_step"] for row in update_tables[name]
                        if row["op_type"] in ("AssignSubVariableOp", "ResourceApplyGradientDescent", "Mul"))
        print(f"op-by-op floor, {name}: median {statistics.median(rates[name]):,.0f} examples/s "
              f"(rounds {min(rates[name]):,.0f}-{max(rates[name]):,.0f}); update ops {update_us:.0f} us per step")
    print(f"fused / keras SGD: {paired.describe(ratio)}; load average {load_before[0]:.2f} before, "
          f"{load_after[0]:.2f} after")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"run": paired.run_record(sys.argv, load_before, load_after),
                       "statistic": "median of paired per-round ratios (tfcourse.paired.paired_ratio)",
                       "tf2_face": {"profiled_steps": profiled_steps, "step_us": profile["step_us"],
                                    "op_us_per_step": profile["op_us_per_step"],
                                    "table": rows_as_dicts(profile["table"], profiled_steps)},
                       "floor_update_tables": update_tables,
                       "floor_examples_per_s": rates, "fused_over_keras_sgd": paired.as_dict(ratio)}, f, indent=1)


if __name__ == "__main__":
    main()

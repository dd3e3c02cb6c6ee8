"""XLA on/off for the MNIST MLP training step, at several batch sizes, ratios from one run.

Three ways to run steps:
  per call      one tf.function call per step (Python dispatch each step);
  loop tf.slice K steps inside one call, batches cut with tf.slice (static size B);
  loop [s:s+B]  the same loop with Python slicing: under XLA the slice is padded to the
                whole dataset (see tfcourse.xla.loop_slice_shapes), so each step does N/B
                times the work.
XLA off and on run in interleaved rounds (off, on, on, off, ...); the ratio off/on (>1: XLA
faster) is the median of the per-round ratios (`tfcourse.paired.paired_ratio`), with its range.
Usage: python benchmarks/xla_onoff.py [--batch-sizes 32,100,1000] [--steps 50] [--rounds 5] [--json out.json]
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import tensorflow as tf

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from tfcourse import mnist, paired  # noqa: E402


def make_step(model, learning_rate=0.05):
    def step(images, labels):
        with tf.GradientTape() as tape:
            loss = mnist.loss(model(images), labels)
        for var, grad in zip(model.trainable_variables, tape.gradient(loss, model.trainable_variables)):
            var.assign_sub(learning_rate * grad)
        return loss
    return step


def make_loop(step, batch_size, num_examples, static_slice):
    def loop(images, labels, num_steps):
        loss = tf.zeros([])
        for i in tf.range(num_steps):
            start = (i * batch_size) % (num_examples - batch_size)
            if static_slice:
                x, y = tf.slice(images, [start, 0], [batch_size, 784]), tf.slice(labels, [start], [batch_size])
            else:
                x, y = images[start:start + batch_size], labels[start:start + batch_size]
            loss = step(x, y)
        return loss
    return loop


def ms_per_step(fn, steps_per_call, calls):
    """One timing of `calls` calls of fn (a tensor-returning step or loop), in ms per step."""
    tick = time.perf_counter()
    for _ in range(calls):
        result = fn()
    # The steps update the same variables, so they run in order: the last result read on
    # the host means every step has finished (on a GPU the calls only queue work).
    result.numpy()
    return (time.perf_counter() - tick) / (calls * steps_per_call) * 1e3


def paired_off_on(off, on, steps_per_call, calls, rounds):
    """XLA off and on timed in interleaved rounds: (ms/step rounds off, rounds on, PairedRatio off/on)."""
    off().numpy(), on().numpy()  # trace and compile
    times = {"off": [], "on": []}
    for index in range(rounds):
        order = (("off", off), ("on", on)) if index % 2 == 0 else (("on", on), ("off", off))
        for name, fn in order:
            times[name].append(ms_per_step(fn, steps_per_call, calls))
    # lower_is_better: ratio = off / on, above 1 when XLA is faster.
    return times["off"], times["on"], paired.paired_ratio(times["on"], times["off"], lower_is_better=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-sizes", default="32,100,1000")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--num-examples", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    if min(args.steps, args.rounds) < 1:
        parser.error("--steps and --rounds must be >= 1")
    rng = np.random.RandomState(0)
    images = tf.constant(rng.rand(args.num_examples, 784).astype(np.float32))
    labels = tf.constant(rng.randint(0, 10, args.num_examples).astype(np.int32))
    model = mnist.MLP(seed=0)
    step = make_step(model)
    load_before = os.getloadavg()
    print(f"device: {'GPU' if tf.config.list_physical_devices('GPU') else 'CPU'}; ms/step, median of "
          f"{args.rounds} interleaved rounds; ratio = off/on (>1: XLA faster), median of paired rounds")
    print(f"{'batch':>6} {'mode':<14} {'XLA off':>9} {'XLA on':>9}  ratio")
    results = []
    for batch_size in [int(b) for b in args.batch_sizes.split(",")]:
        x, y = images[:batch_size], labels[:batch_size]
        off, on = (tf.function(step, jit_compile=jit) for jit in (False, True))
        cases = [("per call", lambda f=off, a=x, b=y: f(a, b), lambda f=on, a=x, b=y: f(a, b), 1, args.steps)]
        for static, name, steps in ((True, "loop tf.slice", args.steps), (False, "loop [s:s+B]", 5)):
            loops = [tf.function(make_loop(step, batch_size, args.num_examples, static), jit_compile=jit)
                     for jit in (False, True)]
            n = tf.constant(steps)
            cases.append((name, lambda f=loops[0], count=n: f(images, labels, count),
                          lambda f=loops[1], count=n: f(images, labels, count), steps, 1))
        for name, run_off, run_on, steps_per_call, calls in cases:
            off_ms, on_ms, ratio = paired_off_on(run_off, run_on, steps_per_call, calls, args.rounds)
            results.append({"batch": batch_size, "mode": name, "ms_per_step_off": off_ms, "ms_per_step_on": on_ms,
                            "off_over_on": paired.as_dict(ratio)})
            print(f"{batch_size:>6} {name:<14} {np.median(off_ms):9.3f} {np.median(on_ms):9.3f}  "
                  f"{paired.describe(ratio)}")
    load_after = os.getloadavg()
    print(f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"run": paired.run_record(sys.argv, load_before, load_after),
                       "statistic": "median of paired per-round ratios (tfcourse.paired.paired_ratio)",
                       "results": results}, f, indent=1)


if __name__ == "__main__":
    main()

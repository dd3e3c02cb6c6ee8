"""XLA on/off for the MNIST MLP training step, at several batch sizes, ratios from one run.

Three ways to run steps:
  per call      one tf.function call per step (Python dispatch each step);
  loop tf.slice K steps inside one call, batches cut with tf.slice (static size B);
  loop [s:s+B]  the same loop with Python slicing: under XLA the slice is padded to the
                whole dataset (see tfcourse.xla.loop_slice_shapes), so each step does N/B
                times the work.
Usage: python benchmarks/xla_onoff.py [--batch-sizes 32,100,1000] [--steps 50]
"""

import argparse
import time

import numpy as np
import tensorflow as tf

from tfcourse import mnist


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


def best_ms_per_step(fn, steps_per_call, calls, repeats=3):
    """Best of `repeats` timings of `calls` calls of fn (a tensor-returning step or loop)."""
    fn().numpy()  # trace and compile
    best = float("inf")
    for _ in range(repeats):
        tick = time.perf_counter()
        for _ in range(calls):
            result = fn()
        # The steps update the same variables, so they run in order: the last result read on
        # the host means every step has finished (on a GPU the calls only queue work).
        result.numpy()
        best = min(best, (time.perf_counter() - tick) / (calls * steps_per_call))
    return best * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-sizes", default="32,100,1000")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--num-examples", type=int, default=10000)
    args = parser.parse_args()
    rng = np.random.RandomState(0)
    images = tf.constant(rng.rand(args.num_examples, 784).astype(np.float32))
    labels = tf.constant(rng.randint(0, 10, args.num_examples).astype(np.int32))
    model = mnist.MLP(seed=0)
    step = make_step(model)
    print(f"device: {'GPU' if tf.config.list_physical_devices('GPU') else 'CPU'}; ms/step, best of 3; "
          f"ratio = off/on (>1: XLA faster)")
    print(f"{'batch':>6} {'mode':<14} {'XLA off':>9} {'XLA on':>9} {'ratio':>7}")
    for batch_size in [int(b) for b in args.batch_sizes.split(",")]:
        x, y = images[:batch_size], labels[:batch_size]
        rows = []
        for jit in (False, True):
            per_call = tf.function(step, jit_compile=jit)
            rows.append(best_ms_per_step(lambda f=per_call, a=x, b=y: f(a, b), 1, args.steps))
        print(f"{batch_size:>6} {'per call':<14} {rows[0]:9.3f} {rows[1]:9.3f} {rows[0] / rows[1]:7.2f}")
        for static, name, steps in ((True, "loop tf.slice", args.steps), (False, "loop [s:s+B]", 5)):
            times = []
            for jit in (False, True):
                loop = tf.function(make_loop(step, batch_size, args.num_examples, static), jit_compile=jit)
                n = tf.constant(steps)
                times.append(best_ms_per_step(lambda f=loop, count=n: f(images, labels, count), steps, 1))
            print(f"{batch_size:>6} {name:<14} {times[0]:9.3f} {times[1]:9.3f} {times[0] / times[1]:7.2f}")


if __name__ == "__main__":
    main()

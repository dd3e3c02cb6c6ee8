"""Input speed: loading MNIST, and tf.data delivery vs what the MLP consumes.

Targets (issue 2): all 70k images to float32 arrays in < 1 s; the trainer's pipeline delivers
batches of 100 at least 10x faster than the MLP's training step consumes them. Both sides are
measured in this one run, on this machine, inside tf.function (as the trainer uses them).

    python benchmarks/input_pipeline.py [--steps 3000]
"""

import argparse
import time

import numpy as np
import tensorflow as tf

from tfcourse import mnist
from tfcourse.datasets import read_data_sets
from tfcourse.datasets.pipeline import make_dataset, textbook_pipeline


def best_of(fn, repeats=3):
    """Fastest of `repeats` calls of fn, in seconds; fn must end on a value the host has received."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def delivery_ms(dataset, steps, batches_per_element=1):
    """Milliseconds per batch to pull `steps` batches through a tf.function loop."""
    dataset = dataset.take(steps // batches_per_element)

    @tf.function
    def drain():
        total = tf.constant(0.0)
        for images, _ in dataset:
            total += images[0, 0]
        return total

    drain().numpy()
    return best_of(lambda: drain().numpy()) / (steps // batches_per_element * batches_per_element) * 1e3


def consumption_ms(data_set, steps, batch_size=100):
    """Milliseconds per MLP training step (128/32 units, SGD) on batches already in memory."""
    model = mnist.MLP(128, 32)
    images = tf.constant(data_set.images[:batch_size])
    labels = tf.constant(data_set.labels[:batch_size].astype(np.int32))

    @tf.function
    def train_steps():
        for _ in tf.range(steps):
            with tf.GradientTape() as tape:
                loss = mnist.loss(model(images), labels)
            for var, grad in zip(model.trainable_variables, tape.gradient(loss, model.trainable_variables)):
                var.assign_sub(0.01 * grad)
        return loss

    train_steps().numpy()
    return best_of(lambda: train_steps().numpy()) / steps * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    args = parser.parse_args()

    load_s = best_of(lambda: read_data_sets())
    load_unverified_s = best_of(lambda: read_data_sets(verify=False))
    data = read_data_sets()
    fast = delivery_ms(make_dataset(data.train, 100), args.steps)
    blocks = delivery_ms(make_dataset(data.train, 100, batches_per_element=10), args.steps, 10)
    textbook = delivery_ms(textbook_pipeline(data.train, 100), args.steps)
    step = consumption_ms(data.train, args.steps)
    print(f"load 70k images -> float32   {load_s:.3f} s (checksums verified), {load_unverified_s:.3f} s unverified  [target < 1 s]")
    print(f"make_dataset delivery        {fast:.4f} ms/batch of 100")
    print(f"make_dataset, blocks of 10   {blocks:.4f} ms/batch of 100")
    print(f"textbook_pipeline delivery   {textbook:.4f} ms/batch of 100")
    print(f"MLP train step consumes      {step:.4f} ms/batch of 100")
    print(f"ratio delivery/consumption   make_dataset {step / fast:.1f}x, blocks of 10 {step / blocks:.1f}x, textbook {step / textbook:.1f}x  [target >= 10x]")


if __name__ == "__main__":
    main()

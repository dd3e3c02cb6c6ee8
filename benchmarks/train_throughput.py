"""Training throughput at batch 100, same MLP (784-128-32-10, SGD 0.01) and same MNIST data:

  * TF2 face: tfcourse.train.Trainer, `steps_per_call` steps per tf.function call, tf.data
    input gathered in-graph;
  * Keras model.fit on numpy arrays (its defaults: one step per call, jit_compile="auto");
  * graph/session face: tfcourse.v1, sess.run([train_op, loss], feed_dict=...) per step.

The three faces are timed in turns (A B C A B C ...) and each keeps its best round, so a
burst of load from another process does not decide the ratio. Usage:

    python benchmarks/train_throughput.py [--steps 1100] [--rounds 3] [--steps_per_call 100]
        [--intra_op_threads N] [--hidden1 128 --hidden2 32] [--xla]
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfcourse import train, v1  # noqa: E402
from tfcourse.datasets import read_data_sets  # noqa: E402

BATCH, LR = 100, 0.01
HIDDEN1, HIDDEN2 = 128, 32  # the tutorial's sizes; --hidden1/--hidden2 change them


def tf2_face(data_sets, steps_per_call, xla):
    config = train.TrainConfig(hidden1=HIDDEN1, hidden2=HIDDEN2, batch_size=BATCH, optimizer="sgd",
                               learning_rate=LR, max_steps=10**9, steps_per_call=steps_per_call, xla=xla)
    trainer = train.Trainer(config, data_sets.train.num_examples)
    iterator = iter(trainer.dataset(data_sets.train))
    trainer.train_steps(iterator, steps_per_call)  # trace and warm up

    def run(steps):
        for _ in range(steps // steps_per_call):
            trainer.train_steps(iterator, steps_per_call)

    return run


def keras_fit(data_sets):
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(HIDDEN1, activation="relu"),
                              keras.layers.Dense(HIDDEN2, activation="relu"), keras.layers.Dense(10)])
    model.compile(optimizer=keras.optimizers.SGD(LR),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    images, labels = data_sets.train.images, data_sets.train.labels.astype(np.int32)
    model.fit(images[:BATCH * 10], labels[:BATCH * 10], batch_size=BATCH, epochs=1, verbose=0)  # warm up

    def run(steps):
        model.fit(images[:steps * BATCH], labels[:steps * BATCH], batch_size=BATCH, epochs=1, verbose=0,
                  shuffle=True)

    return run


def feed_dict_face(data_sets):
    graph = tf.Graph()
    with graph.as_default():
        ops = v1.build_graph(BATCH, HIDDEN1, HIDDEN2, LR)
        init = tf.compat.v1.global_variables_initializer()
    sess = tf.compat.v1.Session(graph=graph)
    sess.run(init)

    def run(steps):
        for _ in range(steps):
            feed = v1.fill_feed_dict(data_sets.train, ops["images"], ops["labels"])
            sess.run([ops["train_op"], ops["loss"]], feed_dict=feed)

    run(20)  # warm up
    return run


def main():
    global HIDDEN1, HIDDEN2
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1100, help="steps per timed round (multiple of --steps_per_call)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps_per_call", type=int, default=100)
    parser.add_argument("--xla", action="store_true", help="also time the TF2 face with an XLA-compiled step")
    parser.add_argument("--hidden1", type=int, default=HIDDEN1)
    parser.add_argument("--hidden2", type=int, default=HIDDEN2)
    parser.add_argument("--intra_op_threads", type=int, default=0,
                        help="threads per op for all three faces (0: TensorFlow's default, one per core)")
    args = parser.parse_args()
    # Must precede the first op; applies to every face alike, so the ratios stay fair.
    tf.config.threading.set_intra_op_parallelism_threads(args.intra_op_threads)
    HIDDEN1, HIDDEN2 = args.hidden1, args.hidden2
    steps = args.steps // args.steps_per_call * args.steps_per_call
    data_sets = read_data_sets()
    faces = {"tf2 (tfcourse.train)": tf2_face(data_sets, args.steps_per_call, xla=False),
             "keras model.fit": keras_fit(data_sets),
             "graph/session feed_dict": feed_dict_face(data_sets)}
    if args.xla:
        faces["tf2 + xla"] = tf2_face(data_sets, args.steps_per_call, xla=True)
    best = {name: 0.0 for name in faces}
    for _ in range(args.rounds):
        for name, run in faces.items():
            start = time.perf_counter()
            run(steps)
            best[name] = max(best[name], steps * BATCH / (time.perf_counter() - start))
    print(f"MLP 784-{HIDDEN1}-{HIDDEN2}-10, SGD {LR}, batch {BATCH}, {steps} steps per round, best of {args.rounds} rounds, "
          f"{os.cpu_count()} CPUs, intra-op threads {args.intra_op_threads or 'default'}, TF {tf.__version__}, Keras {keras.__version__}")
    for name, rate in best.items():
        print(f"  {name:<26}{rate:>12,.0f} examples/sec")
    tf2 = best["tf2 (tfcourse.train)"]
    print(f"  tf2 / keras fit:      {tf2 / best['keras model.fit']:.2f}x  (target >= 4x)")
    print(f"  tf2 / feed_dict:      {tf2 / best['graph/session feed_dict']:.2f}x  (target >= 2x)")


if __name__ == "__main__":
    main()

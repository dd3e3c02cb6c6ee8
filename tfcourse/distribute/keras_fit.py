"""Does Keras 3's `model.fit` train under MultiWorkerMirroredStrategy? Run it and see.

Notebook 07 says it does not with two or more workers (keras-team/keras#20585,
tensorflow/tensorflow#72388). A notebook's kernel is one process, where the strategy has one
worker and `fit` runs; the failure needs a process per worker. One command starts them:

    tfcourse launch -np 2 -- python -m tfcourse.distribute.keras_fit

Each worker builds the course's MLP as a `keras.Sequential` under the strategy's scope,
compiles it and calls `fit` on a few batches of random images, then prints one line:
`fit: ok, ...` or `fit: failed: <exception type>: <its message, on one line>`. The worker
exits 0 either way: the line is the result (tests/test_distribute_keras_fit.py reads it).
"""

import re

BATCH_SIZE = 32  # the global batch: each of N workers gets BATCH_SIZE / N examples per step
STEPS = 2


def one_line(error):
    """`Type: message` on one line, a PerReplica's printed tensors left out."""
    message = re.sub(r"PerReplica:\{.*?\n\}", "PerReplica:{...}", str(error), flags=re.DOTALL)
    return f"{type(error).__name__}: {' '.join(message.split())}"


def fit_under_multi_worker_mirrored():
    """Builds, compiles and fits the MLP under MultiWorkerMirroredStrategy (TF_CONFIG from the
    environment; none: one local worker). Returns (number of workers, None or the error's one line)."""
    import keras
    import numpy as np
    import tensorflow as tf

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(128, activation="relu"),
                                  keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10)])
        model.compile(optimizer=keras.optimizers.SGD(0.1),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    rng = np.random.default_rng(0)
    images = rng.uniform(size=[BATCH_SIZE * STEPS, 784]).astype(np.float32)
    labels = rng.integers(0, 10, size=[BATCH_SIZE * STEPS])
    cluster = strategy.cluster_resolver.cluster_spec().as_dict()  # empty without TF_CONFIG: one local worker
    workers = sum(len(cluster.get(job, [])) for job in ("chief", "worker")) or 1
    try:
        model.fit(images, labels, batch_size=BATCH_SIZE, epochs=1, verbose=0)
    except Exception as error:  # the point is to report whatever fit raises, in one line
        return workers, one_line(error)
    return workers, None


def _main():
    workers, failure = fit_under_multi_worker_mirrored()
    print(f"fit: failed: {failure}" if failure else f"fit: ok, {STEPS} steps with {workers} worker(s)", flush=True)


if __name__ == "__main__":
    _main()

"""Asynchronous data parallel: parameter servers, workers that never wait, and stale updates.

The talk's second data-parallel flavour. The variables live on a parameter server (ps);
each worker, as fast as it can and without waiting for the others, reads the current
weights, computes a gradient on its own batch and sends `w -= lr * grad` back to the ps.
Nobody synchronises, so by the time a worker's update lands, other workers' updates may
have landed since it read the weights: its gradient is *stale* by that many steps.

Here the cluster is local: 1 ps and N workers as in-process `tf.distribute.Server`s on
free 127.0.0.1 ports, and this process is the coordinator (the "chief"), which
`ClusterCoordinator.schedule`s step functions onto whichever worker is free. Two facts of
TF 2.21 / Keras 3 shape the code:
  * The update is a plain `variable.assign_sub(lr * grad)`, one op that runs on the ps under
    the variable's lock: no update is lost, and `version` (the ps's update counter) ends equal
    to the number of steps. Keras 3's SGD also writes weights with `assign_sub`, but counts its
    `iterations` by read-then-assign, which loses increments under concurrent workers
    (`distribute.keras_ps` shows both); the course keeps its own counter for that reason.
  * ClusterCoordinator deadlocked with inter_op_parallelism_threads=1 on 2 cores; the
    servers get num_workers + 1 threads.
The coordinator feeds every step its batch, in the same order as the synchronous trainer
(`train_input.epoch_batches`), so both see the same data from the same initial weights.
"""

import dataclasses
import gc
import time

import numpy as np

from tfcourse import mnist, settings
from tfcourse.datasets import pipeline as train_input
from tfcourse.distribute.tfconfig import HOST, free_ports
from tfcourse.errors import CourseError, check_positive_int, check_positive_number

# In-process servers cannot be stopped; keeping references stops them being garbage
# collected while a strategy still talks to them (they end with the process).
_SERVERS = []


@dataclasses.dataclass
class AsyncResult:
    """One asynchronous run: per-update losses and staleness, in the order they were scheduled."""

    losses: np.ndarray      # float32 [steps]
    staleness: np.ndarray   # int64 [steps]: updates by others between reading the weights and landing
    bias_steps: np.ndarray  # float32 [steps, 10]: each update's step on softmax_linear/biases
    bias_gap: float         # max |final - (initial - sum of bias_steps)|: float rounding unless one was lost
    updates: int            # the ps's update counter at the end (== steps when none is lost)
    steps_per_sec: float    # updates per second, all workers together, first call excluded
    test_precision: float
    seconds: float
    weights: dict = dataclasses.field(repr=False, default=None)


def local_cluster(num_workers=2, num_ps=1):
    """Starts `num_ps` ps and `num_workers` worker servers in this process on free ports.

    Returns:
      a SimpleClusterResolver for {"worker": [...], "ps": [...]} (this process is the coordinator).
    """
    import tensorflow as tf

    num_workers, num_ps = check_positive_int("num_workers", num_workers), check_positive_int("num_ps", num_ps)
    ports = free_ports(num_workers + num_ps)
    spec = tf.train.ClusterSpec({"worker": [f"{HOST}:{p}" for p in ports[:num_workers]],
                                 "ps": [f"{HOST}:{p}" for p in ports[num_workers:]]})
    config = tf.compat.v1.ConfigProto(inter_op_parallelism_threads=num_workers + 1)
    for job, count in (("worker", num_workers), ("ps", num_ps)):
        for index in range(count):
            _SERVERS.append(tf.distribute.Server(spec, job_name=job, task_index=index, config=config,
                                                 protocol="grpc", start=True))
    return tf.distribute.cluster_resolver.SimpleClusterResolver(spec, rpc_layer="grpc")


def make_ps_strategy(num_workers=2, num_ps=1):
    """(ParameterServerStrategy, ClusterCoordinator) over a fresh `local_cluster`."""
    import tensorflow as tf

    strategy = tf.distribute.experimental.ParameterServerStrategy(local_cluster(num_workers, num_ps))
    return strategy, tf.distribute.coordinator.ClusterCoordinator(strategy)


def global_batches(num_examples, batch_size, seed, num_steps):
    """The example indices of steps 0..num_steps-1, as the synchronous trainer orders them.

    Returns:
      int64 [num_steps, batch_size].
    """
    train_input.check_batch(batch_size, num_examples)
    per_epoch = train_input.steps_per_epoch(num_examples, batch_size)
    epochs = -(-num_steps // per_epoch)
    rows = [train_input.epoch_batches(num_examples, batch_size, seed, epoch).numpy() for epoch in range(epochs)]
    return np.concatenate(rows)[:num_steps]


UPDATES = ("assign_sub", "read_assign")


def async_update(model, version, learning_rate, images, labels, update="assign_sub"):
    """One worker's asynchronous SGD step against the ps; call it inside a tf.function.

    Reads the update counter, then the weights (through the forward pass), computes the
    gradient, applies `w -= learning_rate * grad` to each variable where it lives, and
    only then bumps the counter.

    Args:
      model: a mnist.MLP created under the ParameterServerStrategy's scope.
      version: int64 scalar variable on the ps counting the updates applied.
      images: float32 [B, 784]; labels: int32 [B].
      update: "assign_sub" (one op on the ps, under the variable's lock) or "read_assign"
        (`v.assign(v - step)`: read, then write back; an update landing in between is
        overwritten, i.e. lost; kept to show that pitfall).
    Returns:
      (loss float32 [], staleness int64 [], bias_step float32 [10]): staleness counts the
      other workers' updates that landed between this step reading the weights and its own
      update landing; bias_step is what it subtracted from softmax_linear/biases (so the
      caller can check that the biases end at their start minus the sum of all steps).
    """
    import tensorflow as tf

    read = version.read_value()
    with tf.control_dependencies([read]):
        with tf.GradientTape() as tape:
            loss = mnist.loss(model(images), labels)
    grads = tape.gradient(loss, model.trainable_variables)
    steps = {variable.ref(): learning_rate * grad for variable, grad in zip(model.trainable_variables, grads)}
    if update == "assign_sub":
        updates = [variable.assign_sub(steps[variable.ref()]) for variable in model.trainable_variables]
    else:
        updates = [variable.assign(variable - steps[variable.ref()]) for variable in model.trainable_variables]
    with tf.control_dependencies(updates):
        landed = version.assign_add(1)
    return loss, landed - 1 - read, steps[model.softmax_linear.biases.ref()]


def train_async(data_sets, num_workers=2, batch_size=100, learning_rate=0.1, max_steps=600, steps_per_call=10,
                seed=0, hidden1=128, hidden2=32, update="assign_sub"):
    """Asynchronous SGD of the MLP on a local 1-ps, `num_workers`-worker cluster.

    Every scheduled call runs `steps_per_call` updates on one worker (each update reading
    the ps's current weights), so `max_steps` updates are spread over the workers by
    whoever is free. Connects this process to the cluster (TensorFlow's eager context
    stays connected; a second call starts another cluster).

    `update` picks how a step is applied (see `async_update`).
    Returns:
      AsyncResult; test precision of the final weights on `data_sets.test`.
    """
    import tensorflow as tf

    from tfcourse import training as train

    for name, value in (("num_workers", num_workers), ("batch_size", batch_size), ("max_steps", max_steps),
                        ("steps_per_call", steps_per_call)):
        check_positive_int(name, value)
    check_positive_number("learning_rate", learning_rate)
    if update not in UPDATES:
        raise CourseError(f"update must be one of {', '.join(UPDATES)}, got {update!r}")
    settings.set_seed(seed)
    batches = global_batches(data_sets.train.num_examples, batch_size, seed, max_steps)
    images, labels = data_sets.train.images, data_sets.train.labels.astype(np.int32)
    started = time.perf_counter()
    # Functions of earlier runs that die after the eager context joins the cluster are
    # "removed" on every remote task too, which logs gRPC errors: let them die first.
    gc.collect()
    strategy, coordinator = make_ps_strategy(num_workers)
    with strategy.scope():
        model = mnist.MLP(hidden1, hidden2, seed=seed)
        version = tf.Variable(0, dtype=tf.int64, trainable=False, name="version")
    initial_biases = model.softmax_linear.biases.numpy()

    @tf.function(input_signature=[tf.TensorSpec([None, batch_size, mnist.IMAGE_PIXELS], tf.float32),
                                  tf.TensorSpec([None, batch_size], tf.int32)])
    def worker_steps(step_images, step_labels):
        """k updates in one scheduled call: images [k, B, 784] -> losses [k], staleness [k], bias steps [k, 10]."""
        count = tf.shape(step_images)[0]
        outputs = [tf.TensorArray(dtype, size=count) for dtype in (tf.float32, tf.int64, tf.float32)]
        for i in tf.range(count):
            values = async_update(model, version, learning_rate, step_images[i], step_labels[i], update)
            outputs = [array.write(i, value) for array, value in zip(outputs, values)]
        return tuple(array.stack() for array in outputs)

    results, timed_from = [], None
    for first in range(0, max_steps, steps_per_call):
        rows = batches[first:first + steps_per_call]
        results.append(coordinator.schedule(worker_steps, args=(tf.constant(images[rows]),
                                                                 tf.constant(labels[rows]))))
        if first == 0:
            # The first call traces the function and registers it on the workers.
            coordinator.join()
            timed_from = time.perf_counter()
    coordinator.join()
    timed_steps = max_steps - min(steps_per_call, max_steps)
    elapsed = time.perf_counter() - timed_from
    values = [result.fetch() for result in results]
    weights = model.get_weights()
    bias_steps = np.concatenate([v[2] for v in values])
    expected_biases = initial_biases - bias_steps.astype(np.float64).sum(axis=0)
    test = train.evaluate(mnist.MLP(hidden1, hidden2, weights=weights), data_sets.test)
    return AsyncResult(losses=np.concatenate([v[0] for v in values]),
                       staleness=np.concatenate([v[1] for v in values]),
                       bias_steps=bias_steps,
                       bias_gap=float(np.max(np.abs(weights["softmax_linear/biases"] - expected_biases))),
                       updates=int(version.numpy()),
                       steps_per_sec=timed_steps / elapsed if timed_steps and elapsed > 0 else float("nan"),
                       test_precision=test.precision, seconds=time.perf_counter() - started, weights=weights)


def train_sync(data_sets, replicas=2, batch_size=100, learning_rate=0.1, max_steps=600, steps_per_call=10,
               seed=0, hidden1=128, hidden2=32, log_dir=None):
    """The synchronous trainer (tfcourse.training) with plain SGD under MirroredStrategy.

    `replicas` logical CPUs (or GPUs) share each global batch of `batch_size`; must run
    before TensorFlow initialises its devices when replicas > 1.
    Returns:
      TrainResult.
    """
    import tempfile

    from tfcourse import settings
    from tfcourse import training as train
    from tfcourse.distribute import strategies

    config = train.TrainConfig(hidden1=hidden1, hidden2=hidden2, batch_size=batch_size, optimizer="sgd",
                               learning_rate=learning_rate, lr_schedule="constant", max_steps=max_steps,
                               steps_per_call=steps_per_call, seed=seed, write_summaries=False,
                               log_dir=log_dir or tempfile.mkdtemp(prefix="sync-", dir=settings.runs_dir()))
    strategy, chief = strategies.make_strategy(replicas)
    return train.train(data_sets, config, strategy=strategy, chief=chief, progress=False, verbose=False)


def sync_vs_async(data_sets, num_workers=2, batch_size=100, learning_rate=0.1, max_steps=600, steps_per_call=10,
                  seed=0, hidden1=128, hidden2=32):
    """Synchronous (Mirrored, `num_workers` replicas) and asynchronous (1 ps + `num_workers`
    workers) SGD on the same batches, initial weights, learning rate and number of updates.

    Call it before any other TensorFlow op in the process (the synchronous run needs
    `num_workers` logical CPUs).
    Returns:
      ([row, row], AsyncResult): rows are dicts with mode, workers, steps, steps_per_sec,
      examples_per_sec, mean_staleness, max_staleness, final_loss, test_precision. The
      synchronous row's staleness is None: every replica computes on the weights of the
      same step and one combined update lands before the next, so there is none to measure.
    """
    common = dict(batch_size=batch_size, learning_rate=learning_rate, max_steps=max_steps,
                  steps_per_call=steps_per_call, seed=seed, hidden1=hidden1, hidden2=hidden2)
    sync = train_sync(data_sets, replicas=num_workers, **common)
    sync_steps_per_sec = sync.examples_per_sec / batch_size
    async_result = train_async(data_sets, num_workers=num_workers, **common)
    tail = max(1, min(50, max_steps // 5))  # the final loss, averaged over the last updates
    rows = [
        dict(mode="sync (MirroredStrategy)", workers=num_workers, steps=sync.final_step,
             steps_per_sec=sync_steps_per_sec, examples_per_sec=sync_steps_per_sec * batch_size,
             mean_staleness=None, max_staleness=None, final_loss=float(np.mean(sync.losses[-tail:])),
             test_precision=sync.test_precision),
        dict(mode="async (ParameterServerStrategy)", workers=num_workers, steps=async_result.updates,
             steps_per_sec=async_result.steps_per_sec, examples_per_sec=async_result.steps_per_sec * batch_size,
             mean_staleness=float(async_result.staleness.mean()), max_staleness=int(async_result.staleness.max()),
             final_loss=float(np.mean(async_result.losses[-tail:])), test_precision=async_result.test_precision),
    ]
    return rows, async_result


def format_rows(rows):
    """A plain-text table of `sync_vs_async` rows ("-": no staleness, the synchronous row)."""
    lines = [f"{'mode':<32}{'workers':>8}{'steps':>7}{'steps/s':>9}{'staleness':>11}{'max':>5}"
             f"{'loss':>8}{'test prec':>11}"]
    for row in rows:
        mean, most = row["mean_staleness"], row["max_staleness"]
        lines.append(f"{row['mode']:<32}{row['workers']:>8}{row['steps']:>7}{row['steps_per_sec']:>9.0f}"
                     f"{'-' if mean is None else f'{mean:.2f}':>11}{'-' if most is None else most:>5}"
                     f"{row['final_loss']:>8.3f}{row['test_precision']:>11.4f}")
    return "\n".join(lines)

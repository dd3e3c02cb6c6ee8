"""Synchronous vs asynchronous parameter-server training, and what a straggler does to each.

Synchronous training is not only all-reduce. In the talk's synchronous parameter-server
scheme the variables live on the parameter server (ps); every step, each worker reads the
same weights, computes a gradient on its own batch and pushes it to the ps, which waits
until it holds ALL the workers' gradients, averages them and applies ONE update; then the
next step starts. The result is exact (one update per global batch, as on one device),
but every step lasts as long as its slowest worker. Asynchronously, the ps applies each
worker's gradient the moment it arrives: a slow worker delays only its own updates.

Here the workers are threads of this process and the ps is the model's `tf.Variable`s, so
the rule that differs, when an update is applied, is all that differs between the two
modes (`tfcourse.distribute.paramserver` runs the asynchronous scheme on a real gRPC
cluster). A worker can be made a straggler by `delays_s`: it sleeps that long after
computing each gradient, as a worker on a slower or busier machine would, without taking
the cores from the others.
"""

import dataclasses
import numbers
import threading
import time

import numpy as np

from tfcourse import mnist
from tfcourse.errors import CourseError, check_choice, check_positive_int, check_positive_number

MODES = ("sync", "async")


@dataclasses.dataclass
class PsRun:
    """One run on the ps: every update the ps applied, in the order it applied them."""

    mode: str                 # "sync" or "async"
    update_times: np.ndarray  # float64 [updates]: seconds from the start when each update landed
    contributors: list        # [updates] tuples of the worker indices whose gradients went into it
    losses: np.ndarray        # float32 [updates]: the mean loss of the gradients in each update
    seconds: float            # wall time of the run
    num_workers: int

    @property
    def updates(self):
        return len(self.update_times)

    def updates_by_worker(self):
        """[num_workers] ints: how many updates carried each worker's gradient."""
        counts = np.zeros(self.num_workers, dtype=np.int64)
        for workers in self.contributors:
            counts[list(workers)] += 1
        return counts

    def seconds_per_update(self):
        """Mean seconds between consecutive updates (the first one counted from the start)."""
        return float(np.mean(np.diff(self.update_times, prepend=0.0))) if self.updates else float("nan")


def _check_delays(delays_s):
    delays = list(delays_s)
    if not delays:
        raise CourseError("delays_s needs one delay (seconds, >= 0) per worker, got none")
    for delay in delays:
        if isinstance(delay, bool) or not isinstance(delay, numbers.Real) or not 0 <= delay < float("inf"):
            raise CourseError(f"delays_s must be seconds >= 0, one per worker, got {delays_s!r}")
    return [float(d) for d in delays]


def _batches(data_set, batch_size, seed):
    """An endless iterator of (images float32 [B, 784], labels int32 [B]) drawn with `seed`."""
    rng = np.random.default_rng(seed)
    images, labels = data_set.images, data_set.labels.astype(np.int32)
    while True:
        rows = rng.choice(len(images), size=batch_size, replace=False)
        yield images[rows], labels[rows]


def train_ps(data_set, mode, delays_s=(0.0, 0.2), steps=5, seconds=None, batch_size=100, learning_rate=0.1,
             seed=0, hidden1=128, hidden2=32):
    """SGD of the MLP with workers pushing gradients to one ps, synchronously or not.

    Args:
      data_set: a DataSet (e.g. `read_data_sets().train`): images float32 [n, 784], labels [n].
      mode: "sync": the ps waits for every worker's gradient, averages them and applies one
        update per step, `steps` steps; "async": each worker's gradient is applied as soon as
        it arrives, every worker looping until `seconds` have passed (default: as long as
        `steps` synchronous steps would take at the slowest worker's delay).
      delays_s: per worker, seconds it sleeps after each gradient (0: full speed); its length
        is the number of workers.
    Returns:
      PsRun.
    """
    import tensorflow as tf

    check_choice("mode", mode, MODES)
    delays = _check_delays(delays_s)
    check_positive_int("steps", steps)
    check_positive_int("batch_size", batch_size)
    if seconds is None:
        seconds = steps * max(max(delays), 0.05)
    check_positive_number("seconds", seconds)
    check_positive_number("learning_rate", learning_rate)
    num_workers = len(delays)
    model = mnist.MLP(hidden1, hidden2, seed=seed)  # its variables are the ps's
    variables = model.trainable_variables

    @tf.function
    def gradients(images, labels):
        """A worker's part: float32 [B, 784], int32 [B] -> (loss [], one gradient per variable)."""
        with tf.GradientTape() as tape:
            loss = mnist.loss(model(images), labels)
        return loss, tape.gradient(loss, variables)

    def apply(grads):
        # assign_sub is one op on the variable: concurrent async updates never overwrite each other.
        for variable, grad in zip(variables, grads):
            variable.assign_sub(learning_rate * grad)

    gradients(*next(_batches(data_set, batch_size, seed)))  # trace once, before the clock starts
    log, lock = [], threading.Lock()
    pushed = [None] * num_workers
    started = time.perf_counter()

    def aggregate_and_update():
        # Runs once per step, after the last worker arrives: the ps's one synchronous update.
        losses = [loss for loss, _ in pushed]
        mean = [tf.add_n(list(parts)) / num_workers for parts in zip(*(grads for _, grads in pushed))]
        apply(mean)
        log.append((time.perf_counter() - started, tuple(range(num_workers)), float(np.mean(losses))))

    barrier = threading.Barrier(num_workers, action=aggregate_and_update)
    errors = []

    def keep_going(done):
        if mode == "sync":
            return done < steps
        return time.perf_counter() - started < seconds

    def worker(index):
        batches = _batches(data_set, batch_size, seed + 1 + index)
        done = 0
        try:
            while keep_going(done):
                done += 1
                loss, grads = gradients(*next(batches))
                time.sleep(delays[index])
                if mode == "sync":
                    pushed[index] = (float(loss), grads)
                    barrier.wait()  # the step ends when the slowest worker's gradient is in
                else:
                    apply(grads)
                    with lock:
                        log.append((time.perf_counter() - started, (index,), float(loss)))
        except threading.BrokenBarrierError:
            return
        except Exception as error:  # re-raised in the caller's thread below
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(i,), name=f"ps-worker-{i}") for i in range(num_workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return PsRun(mode=mode, update_times=np.array([t for t, _, _ in log], dtype=np.float64),
                 contributors=[workers for _, workers, _ in log],
                 losses=np.array([loss for _, _, loss in log], dtype=np.float32),
                 seconds=time.perf_counter() - started, num_workers=num_workers)


def straggler_rows(runs, delays_s):
    """Table rows of `train_ps` runs: mode, updates, updates/s, seconds per update, updates per worker."""
    rows = []
    for run in runs:
        rows.append(dict(mode=run.mode, updates=run.updates, updates_per_sec=run.updates / run.seconds,
                         seconds_per_update=run.seconds_per_update(), by_worker=run.updates_by_worker().tolist(),
                         delays_s=list(delays_s)))
    return rows


def format_straggler(rows):
    """A plain-text table of `straggler_rows`."""
    lines = [f"{'mode':<7}{'updates':>8}{'updates/s':>11}{'s/update':>10}   updates carrying each worker's gradient"]
    for row in rows:
        per_worker = ", ".join(f"w{i} (sleeps {d:.2f} s): {n}"
                               for i, (d, n) in enumerate(zip(row["delays_s"], row["by_worker"])))
        lines.append(f"{row['mode']:<7}{row['updates']:>8}{row['updates_per_sec']:>11.1f}"
                     f"{row['seconds_per_update']:>10.3f}   {per_worker}")
    return "\n".join(lines)

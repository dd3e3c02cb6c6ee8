"""The trainer: the tutorial's `training` and run loop in TensorFlow 2, strategy-aware.

`train(data_sets, TrainConfig(...))` builds the MLP and optimizer under a
tf.distribute strategy's scope, feeds per-replica batches through
`strategy.distribute_datasets_from_function`, runs `steps_per_call` steps inside one
tf.function call (so Python overhead does not dominate a small model), evaluates like
the tutorial's do_eval, checkpoints every N steps and writes TensorBoard summaries.
The default strategy (one device) and MirroredStrategy / MultiWorkerMirroredStrategy
all go through the same code.
"""

import dataclasses
import os
import re
import shutil
import tempfile
import time

import numpy as np
import tensorflow as tf

from tfcourse import checkpoints, mnist, optimizers, run_lock, settings, summaries, train_input, train_safety, xla
from tfcourse import progress as progress_bar
from tfcourse.distribute import protocol
from tfcourse.errors import CourseError
from tfcourse.train_config import TrainConfig

TrainingInterrupted = train_safety.TrainingInterrupted

__all__ = ["TrainConfig", "Trainer", "TrainResult", "TrainingInterrupted", "Evaluation", "train",
           "evaluate", "do_eval", "total_steps"]

@dataclasses.dataclass
class Evaluation:
    """do_eval's numbers for one split."""

    num_examples: int
    num_correct: int

    @property
    def precision(self):
        return self.num_correct / self.num_examples if self.num_examples else 0.0

    def __str__(self):
        return (f"Num examples: {self.num_examples}  Num correct: {self.num_correct}  "
                f"Precision @ 1: {self.precision:0.04f}")


@dataclasses.dataclass
class TrainResult:
    """What a run produced: per-step losses of this invocation, evaluations and paths."""

    steps: list
    losses: list
    final_step: int
    evaluations: dict
    run_dir: str
    checkpoint_dir: str
    checkpoint_path: str | None
    examples_per_sec: float
    seconds: float
    resumed_from: int
    model: object = dataclasses.field(repr=False, default=None)
    xla_functions: list = dataclasses.field(default_factory=list)  # Trainer.xla_functions() of the run

    @property
    def test_precision(self):
        return self.evaluations["test"].precision


def evaluate(model, data_set, batch_size=5000):
    """Counts correct top-1 predictions over a whole split (every example, in order).

    Returns:
      Evaluation(num_examples, num_correct).
    """
    correct = 0
    labels = data_set.labels.astype(np.int32)
    for first in range(0, data_set.num_examples, batch_size):
        correct += int(_eval_step(model, data_set.images[first:first + batch_size], labels[first:first + batch_size]))
    return Evaluation(int(data_set.num_examples), correct)


@tf.function(reduce_retracing=True)
def _eval_step(model, images, labels):
    return mnist.evaluation(model(images), labels)


def do_eval(model, data_set, batch_size=5000, printer=print):
    """The tutorial's do_eval: prints 'Num examples / Num correct / Precision @ 1'; returns precision."""
    result = evaluate(model, data_set, batch_size)
    printer(f"  {result}")
    return result.precision


def total_steps(config, num_train_examples):
    if config.max_steps is not None:
        return int(config.max_steps)
    per_epoch = train_input.steps_per_epoch(num_train_examples, config.batch_size)
    return max(1, int(round(config.epochs * per_epoch)))


class Trainer:
    """Model, optimizer, step counter and the compiled multi-step loop, under one strategy.

    Args:
      config: TrainConfig.
      num_train_examples: size of the training split (fixes the schedule's length).
      strategy: a tf.distribute.Strategy; default: the current one (a single device).
    """

    def __init__(self, config, num_train_examples, strategy=None):
        config.validate()
        self.config = config
        self.strategy = strategy or tf.distribute.get_strategy()
        self.total_steps = total_steps(config, num_train_examples)
        train_input.check_batch(config.batch_size, num_train_examples, self.strategy.num_replicas_in_sync)
        with self.strategy.scope():
            self.model = mnist.MLP(config.hidden1, config.hidden2, seed=config.seed)
            schedule = optimizers.make_schedule(config.lr_schedule, config.learning_rate, self.total_steps)
            self.optimizer = optimizers.make_optimizer(config.optimizer, schedule, config.momentum)
            # Build the slots now: a restore then fills them instead of deferring.
            self.optimizer.build(self.model.trainable_variables)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
        self.checkpoint = checkpoints.make_checkpoint(self.model, self.optimizer, self.step)
        self._grad_fn = tf.function(self._gradients, jit_compile=bool(config.xla))
        self._loop = tf.function(self._train_steps)

    def _gradients(self, images, labels):
        """Forward and backward pass of one replica's batch (the part XLA fuses)."""
        with tf.GradientTape() as tape:
            logits = self.model(images)
            per_example = mnist.per_example_loss(logits, labels)
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=self.config.batch_size)
        grads = tape.gradient(loss, self.model.trainable_variables)
        return loss, grads, mnist.evaluation(logits, labels)

    def _replica_step(self, images, labels):
        loss, grads, correct = self._grad_fn(images, labels)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
        return loss, correct

    def _train_steps(self, iterator, num_steps):
        """num_steps training steps in one graph: losses float32 [num_steps], correct int32 []."""
        losses = tf.TensorArray(tf.float32, size=num_steps)
        correct = tf.constant(0, tf.int32)
        for i in tf.range(num_steps):
            per_replica_loss, per_replica_correct = self.strategy.run(self._replica_step, args=next(iterator))
            losses = losses.write(i, self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica_loss, axis=None))
            correct += self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica_correct, axis=None)
            self.step.assign_add(1)
        return losses.stack(), correct

    def dataset(self, train_set):
        """The distributed training dataset, starting at the current step (resume-exact)."""
        fn = train_input.train_dataset_fn(train_set, self.config.batch_size, self.config.seed, int(self.step.numpy()))
        return self.strategy.distribute_datasets_from_function(fn)

    def train_steps(self, iterator, num_steps):
        """Runs num_steps steps in one call; returns (losses numpy [num_steps], correct int)."""
        losses, correct = self._loop(iterator, tf.constant(num_steps, tf.int32))
        return losses.numpy(), int(correct)

    def xla_functions(self):
        """Names of the functions the traced training loop runs through XLA ([] without config.xla)."""
        return xla.jit_compiled_functions(self._loop)


def _next_stop(step, total, config):
    """The next step at which the loop must come back to Python (checkpoint, eval, end)."""
    stops = [total, step + config.steps_per_call,
             (step // config.checkpoint_every + 1) * config.checkpoint_every]
    if config.eval_every:
        stops.append((step // config.eval_every + 1) * config.eval_every)
    return min(stops)


def _resuming(config):
    """--resume, or a job the launcher relaunched (TFCOURSE_ATTEMPT >= 1): that one must not start over."""
    return config.resume or protocol.launch_attempt() > 0


def _lock_and_clean(run_dir, ckpt_dir, resume, say):
    """The chief's start-up: lock the run's directories, clear a fresh run, drop half-saves.

    Returns:
      The RunLock objects to release when the run ends.
    """
    locks = [run_lock.RunLock(run_dir)]
    if os.path.relpath(os.path.abspath(ckpt_dir), os.path.abspath(run_dir)).startswith(".."):
        try:
            locks.append(run_lock.RunLock(ckpt_dir))
        except CourseError:
            locks[0].release()
            raise
    if not resume:
        # Like the tutorial (which cleared log_dir): a fresh run must not mix with an old
        # one. The lock file stays: deleting it would let a third run lock a new inode.
        for name in os.listdir(run_dir):
            if name != run_lock.LOCK_NAME:
                path = os.path.join(run_dir, name)
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.remove(path)
    for name in checkpoints.remove_unpublished(ckpt_dir):
        say(f"Removed {os.path.join(ckpt_dir, name)}: left by a save that did not finish")
    if resume:
        for prefix, reason, moved_to in checkpoints.set_aside_damaged(ckpt_dir):
            # Printed even when not verbose: a resume that skips back must never be silent.
            print(f"Checkpoint {prefix} is damaged ({reason}): moved to {moved_to}; "
                  "resuming from the newest intact checkpoint", flush=True)
    return locks


def train(data_sets, config=None, strategy=None, progress=True, verbose=True, chief=True):
    """Trains the MLP on `data_sets` (Datasets(train, validation, test)) and evaluates it.

    Args:
      data_sets: from tfcourse.datasets.read_data_sets.
      config: TrainConfig (default: the course defaults).
      strategy: tf.distribute.Strategy; default tf.distribute.get_strategy().
      progress: show a tqdm bar with loss and examples/sec.
      verbose: print the tutorial's do_eval blocks for train/validation/test.
      chief: False on non-chief workers: no summaries, no lock, checkpoints in a scratch dir.
    Returns:
      TrainResult.
    Raises:
      CourseError: bad config, the run directory locked by another live run, a checkpoint
        of another architecture, a NaN/Inf loss (naming its step; nothing is saved), or a
        checkpoint that cannot be written (a full disk; the last complete one is kept).
      TrainingInterrupted: Ctrl-C, after saving a checkpoint at the step reached.
      SystemExit(42): SIGTERM, after saving (under MultiWorkerMirroredStrategy: every
        worker, at one agreed step).
    """
    config = config or TrainConfig()
    config.validate()
    settings.set_seed(config.seed, deterministic=config.deterministic)
    if config.log_dir is None:
        config = dataclasses.replace(config, log_dir=settings.default_log_dir())
    run_dir = os.path.join(config.log_dir, config.run_name or config.default_run_name())
    ckpt_dir = config.checkpoint_dir or os.path.join(run_dir, "checkpoints")
    say = print if verbose else (lambda *a, **k: None)
    resume = _resuming(config)
    # Only the chief writes run_dir and ckpt_dir, so only the chief locks them.
    locks = _lock_and_clean(run_dir, ckpt_dir, resume, say) if chief else []
    # Every worker takes part in saving (a collective under MultiWorkerMirroredStrategy),
    # but only the chief's files are kept; all workers resume from the chief's directory.
    save_dir = ckpt_dir if chief else tempfile.mkdtemp(prefix="worker-ckpt-", dir=settings.runs_dir())
    try:
        return _train(data_sets, config, strategy, progress, chief, run_dir, ckpt_dir, save_dir, resume, say)
    finally:
        for lock in locks:
            lock.release()
        if not chief:
            shutil.rmtree(save_dir, ignore_errors=True)


def _train(data_sets, config, strategy, progress, chief, run_dir, ckpt_dir, save_dir, resume, say):
    trainer = Trainer(config, data_sets.train.num_examples, strategy)
    manager = checkpoints.make_manager(trainer.checkpoint, save_dir, config.keep_checkpoints)
    restored = checkpoints.restore_latest(ckpt_dir, trainer.checkpoint, trainer.model) if resume else None
    start = int(trainer.step.numpy())
    total = trainer.total_steps
    # Under MultiWorkerMirroredStrategy a SIGTERM to any worker becomes a save by all at one
    # agreed step. The handler agrees on a count of handler.run() calls, not on steps, so
    # each compiled multi-step call below stays one run() call (every worker makes the same
    # calls: _next_stop is a function of the step). TensorFlow's docs suggest one step per
    # run() call; measured here with 2 workers of this MLP (batch 64, 2 busy cores), one
    # step per call ran 90 steps/s, 10 per call 121 and 50 per call 178. A preempted job
    # saves within two calls (<= 2 * steps_per_call steps; about 5 s from SIGTERM to exit
    # here), well inside the tens of seconds a scheduler leaves before its SIGKILL.
    handler = (train_safety.preemption_handler(trainer.strategy, manager, trainer.step, say)
               if train_safety.is_multi_worker(trainer.strategy) else None)
    run_steps = trainer.train_steps if handler is None else train_safety.preemptible(handler, trainer.train_steps)
    writer = summaries.Summaries(run_dir, enabled=chief and config.write_summaries)
    probe = data_sets.validation.images[:1000] if data_sets.validation.num_examples else data_sets.test.images[:1000]
    if restored:
        say(f"Resumed from {restored} at step {start}")

    def save(step):
        if not train_safety.weights_finite(trainer.model):
            raise CourseError(f"weights became NaN/Inf by step {step}: training diverged and stopped; the last good "
                              f"checkpoint {manager.latest_checkpoint} is kept; lower the learning rate")
        try:
            manager.save(checkpoint_number=step)
        except (tf.errors.OpError, OSError) as error:
            # A full disk or a quota: TensorFlow wrote to `ckpt-N_temp` and never published it,
            # so the last complete checkpoint stays the latest (removed at the next start-up).
            reason = (getattr(error, "message", None) or str(error)).strip().splitlines()[0]
            reason = re.sub(r"^\{\{[^}]*\}\}\s*|\s*\[Op:\w+\]$", "", reason)
            kept = (f"the last complete checkpoint {manager.latest_checkpoint} is kept" if manager.latest_checkpoint
                    else "no checkpoint was written")
            raise CourseError(f"cannot write the checkpoint of step {step} in {save_dir}: {reason}; free some "
                              f"space or choose another --log_dir; {kept}") from None

    iterator = iter(trainer.dataset(data_sets.train))
    steps, losses = [], []
    timed_examples, timed_seconds, started = 0, 0.0, time.perf_counter()
    bar = progress_bar.bar(total, initial=start, enabled=progress)
    step, first_call = start, True
    # Ctrl-C under several workers would reach only some of them and split the collective
    # save; there the preemption handler owns SIGTERM, the way to stop with a checkpoint.
    try:
        with train_safety.StopOnSignal(enabled=handler is None) as interrupt:
            while step < total:
                num = _next_stop(step, total, config) - step
                if first_call:
                    writer.trace_on()
                tick = time.perf_counter()
                chunk_losses, _ = run_steps(iterator, num)
                seconds = time.perf_counter() - tick
                if first_call:
                    writer.trace_export("train_step", step=start)
                else:
                    timed_examples += num * config.batch_size
                    timed_seconds += seconds
                first_call = False
                chunk_steps = list(range(step + 1, step + num + 1))
                train_safety.check_losses(chunk_steps, chunk_losses, manager.latest_checkpoint)
                steps += chunk_steps
                losses += [float(x) for x in chunk_losses]
                step += num
                examples_per_sec = num * config.batch_size / seconds
                for s, value in zip(chunk_steps, chunk_losses):
                    if s % config.summary_every == 0 or s == total:
                        writer.scalars(s, {"loss": float(value)})
                writer.scalars(step, {"learning_rate": optimizers.current_learning_rate(trainer.optimizer),
                                      "examples_per_sec": examples_per_sec})
                bar.set_postfix(loss=f"{chunk_losses[-1]:.4f}", ex_s=f"{examples_per_sec:,.0f}", refresh=False)
                bar.update(num)
                evaluating = (config.eval_every and step % config.eval_every == 0) or step == total
                if evaluating:
                    accuracy = {"accuracy/train": evaluate(trainer.model, data_sets.train).precision}
                    if data_sets.validation.num_examples:
                        accuracy["accuracy/validation"] = evaluate(trainer.model, data_sets.validation).precision
                    writer.scalars(step, accuracy)
                    writer.histograms(step, trainer.model, probe)
                if step % config.checkpoint_every == 0 or step == total or interrupt.requested is not None:
                    save(step)
                if interrupt.requested is not None and step < total:
                    interrupt.stop(step, manager.latest_checkpoint)
    finally:
        bar.close()
        writer.close()
    if start >= total and manager.latest_checkpoint is None:
        save(step)

    evaluations = {}
    for name in ("train", "validation", "test"):
        split = getattr(data_sets, name)
        if split.num_examples:
            say({"train": "Training Data Eval:", "validation": "Validation Data Eval:", "test": "Test Data Eval:"}[name])
            evaluations[name] = evaluate(trainer.model, split)
            say(f"  {evaluations[name]}")
    return TrainResult(
        steps=steps, losses=losses, final_step=step, evaluations=evaluations, run_dir=run_dir,
        checkpoint_dir=ckpt_dir, checkpoint_path=tf.train.latest_checkpoint(ckpt_dir),
        examples_per_sec=timed_examples / timed_seconds if timed_seconds else float("nan"),
        seconds=time.perf_counter() - started, resumed_from=start, model=trainer.model,
        xla_functions=trainer.xla_functions())

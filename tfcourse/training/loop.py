"""The trainer's run: the tutorial's run_training in TensorFlow 2, strategy-aware.

`train(data_sets, TrainConfig(...))` reads like the tutorial's run_training: build the
model and optimizer (a Trainer, under a tf.distribute strategy's scope), lock the run's
folders, restore the latest checkpoint, build the input, run the steps (evaluating,
writing TensorBoard summaries and checkpoints every N steps), then evaluate every split
like the tutorial's do_eval.
"""

import dataclasses
import os
import shutil
import tempfile
import time

import tensorflow as tf

from tfcourse import progress as progress_bar
from tfcourse import settings
from tfcourse.distribute import protocol
from tfcourse.errors import CourseError
from tfcourse.training import checkpoints, evaluation, lock, optimizers, safety, summaries
from tfcourse.training.config import TrainConfig
from tfcourse.training.trainer import Trainer


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


@dataclasses.dataclass
class RunFolders:
    """Where one run writes, and who this process is in it.

    Only the chief writes run_dir and checkpoint_dir. Every worker takes part in saving (a
    collective under MultiWorkerMirroredStrategy), so the others save into a scratch
    save_dir that is deleted at the end; all of them restore from checkpoint_dir.
    """

    run_dir: str
    checkpoint_dir: str
    save_dir: str
    chief: bool
    resume: bool


@dataclasses.dataclass
class _Tally:
    """What the loop measured: the losses of each step, and the timed examples and seconds."""

    steps: list = dataclasses.field(default_factory=list)
    losses: list = dataclasses.field(default_factory=list)
    timed_examples: int = 0
    timed_seconds: float = 0.0

    def add(self, steps, losses, examples, seconds, timed):
        self.steps += steps
        self.losses += [float(x) for x in losses]
        if timed:  # the first call traces and compiles: it would understate the speed
            self.timed_examples += examples
            self.timed_seconds += seconds

    @property
    def examples_per_sec(self):
        return self.timed_examples / self.timed_seconds if self.timed_seconds else float("nan")


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
    settings.set_seed(config.seed, deterministic=config.deterministic)
    say = print if verbose else (lambda *a, **k: None)
    # The model first: a batch that does not fit the split fails before an old run is cleared.
    trainer = Trainer(config, data_sets.train.num_examples, strategy)
    folders = _run_folders(config, chief)
    # Only the chief writes run_dir and checkpoint_dir, so only the chief locks them.
    locks = _lock_and_clean(folders, say) if chief else []
    try:
        return _run_training(trainer, data_sets, folders, progress, say)
    finally:
        for held in locks:
            held.release()
        if not chief:
            shutil.rmtree(folders.save_dir, ignore_errors=True)


def _run_folders(config, chief):
    """The run's RunFolders (the scratch save_dir of a non-chief worker is made here)."""
    log_dir = config.log_dir or settings.default_log_dir()
    run_dir = os.path.join(log_dir, config.run_name or config.default_run_name())
    checkpoint_dir = config.checkpoint_dir or os.path.join(run_dir, "checkpoints")
    save_dir = checkpoint_dir if chief else tempfile.mkdtemp(prefix="worker-ckpt-", dir=settings.runs_dir())
    return RunFolders(run_dir, checkpoint_dir, save_dir, chief, _resuming(config))


def _resuming(config):
    """--resume, or a job the launcher relaunched (TFCOURSE_ATTEMPT >= 1): that one must not start over."""
    return config.resume or protocol.launch_attempt() > 0


def _lock_and_clean(folders, say=print):
    """The chief's start-up: lock the run's directories, clear a fresh run, drop half-saves.

    Returns:
      The RunLock objects to release when the run ends.
    """
    run_dir, ckpt_dir = folders.run_dir, folders.checkpoint_dir
    locks = [lock.RunLock(run_dir)]
    if os.path.relpath(os.path.abspath(ckpt_dir), os.path.abspath(run_dir)).startswith(".."):
        try:
            locks.append(lock.RunLock(ckpt_dir))
        except CourseError:
            locks[0].release()
            raise
    if not folders.resume:
        # Like the tutorial (which cleared log_dir): a fresh run must not mix with an old
        # one. The lock file stays: deleting it would let a third run lock a new inode.
        for name in os.listdir(run_dir):
            if name != lock.LOCK_NAME:
                path = os.path.join(run_dir, name)
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.remove(path)
    for name in checkpoints.remove_unpublished(ckpt_dir):
        say(f"Removed {os.path.join(ckpt_dir, name)}: left by a save that did not finish")
    if folders.resume:
        for prefix, reason, moved_to in checkpoints.set_aside_damaged(ckpt_dir):
            # Printed even when not verbose: a resume that skips back must never be silent.
            print(f"Checkpoint {prefix} is damaged ({reason}): moved to {moved_to}; "
                  "resuming from the newest intact checkpoint", flush=True)
    return locks


def _run_training(trainer, data_sets, folders, progress=True, say=print):
    """Restore, run the steps, evaluate: the tutorial's run_training once the model is built.

    Returns:
      TrainResult.
    """
    started = time.perf_counter()
    manager = checkpoints.make_manager(trainer.checkpoint, folders.save_dir, trainer.config.keep_checkpoints)
    start = _restore(trainer, folders, say)
    tally = _train_loop(trainer, data_sets, folders, manager, start, progress, say)
    step = int(trainer.step.numpy())
    if start >= trainer.total_steps and manager.latest_checkpoint is None:
        _save(trainer, manager, step)
    evaluations = evaluation.evaluate_splits(trainer.model, data_sets, say)
    return TrainResult(
        steps=tally.steps, losses=tally.losses, final_step=step, evaluations=evaluations, run_dir=folders.run_dir,
        checkpoint_dir=folders.checkpoint_dir, checkpoint_path=tf.train.latest_checkpoint(folders.checkpoint_dir),
        examples_per_sec=tally.examples_per_sec, seconds=time.perf_counter() - started, resumed_from=start,
        model=trainer.model, xla_functions=trainer.xla_functions())


def _restore(trainer, folders, say=print):
    """Restores the run's latest checkpoint when resuming; returns the step training starts at."""
    restored = checkpoints.restore_latest(folders.checkpoint_dir, trainer.checkpoint, trainer.model) \
        if folders.resume else None
    start = int(trainer.step.numpy())
    if restored:
        say(f"Resumed from {restored} at step {start}")
    return start


def _save(trainer, manager, step):
    """Checkpoints the run at `step`, unless its weights went NaN/Inf (the last good one stays the latest)."""
    safety.check_weights_finite(trainer.model, step, manager.latest_checkpoint)
    checkpoints.save(manager, step)


def _train_loop(trainer, data_sets, folders, manager, start, progress=True, say=print):
    """The steps from `start` to the end, evaluating, summarising and checkpointing on the way.

    Returns:
      _Tally of this invocation's steps and losses.
    """
    config, total = trainer.config, trainer.total_steps
    run_steps, preemptible = safety.step_runner(trainer, manager, say)
    writer = summaries.Summaries(folders.run_dir, enabled=folders.chief and config.write_summaries)
    iterator = iter(trainer.dataset(data_sets.train))
    bar = progress_bar.bar(total, initial=start, enabled=progress)
    tally, step = _Tally(), start
    # Ctrl-C under several workers would reach only some of them and split the collective
    # save; there the preemption handler owns SIGTERM, the way to stop with a checkpoint.
    try:
        with safety.StopOnSignal(enabled=not preemptible) as interrupt:
            while step < total:
                num = _next_stop(step, total, config) - step
                chunk_steps, chunk_losses, seconds = _run_chunk(run_steps, iterator, step, num, writer, step == start)
                safety.check_losses(chunk_steps, chunk_losses, manager.latest_checkpoint)
                tally.add(chunk_steps, chunk_losses, num * config.batch_size, seconds, timed=step != start)
                step += num
                _summarise(writer, bar, trainer, chunk_steps, chunk_losses, num * config.batch_size / seconds)
                if (config.eval_every and step % config.eval_every == 0) or step == total:
                    _summarise_accuracy(writer, trainer.model, data_sets, step)
                if step % config.checkpoint_every == 0 or step == total or interrupt.requested is not None:
                    _save(trainer, manager, step)
                if interrupt.requested is not None and step < total:
                    interrupt.stop(step, manager.latest_checkpoint)
    finally:
        bar.close()
        writer.close()
    return tally


def _next_stop(step, total, config):
    """The next step at which the loop must come back to Python (checkpoint, eval, end)."""
    stops = [total, step + config.steps_per_call,
             (step // config.checkpoint_every + 1) * config.checkpoint_every]
    if config.eval_every:
        stops.append((step // config.eval_every + 1) * config.eval_every)
    return min(stops)


def _run_chunk(run_steps, iterator, step, num, writer, first):
    """`num` steps in one compiled call; the first call's graph goes to TensorBoard.

    Returns:
      (the global step of each loss [step + 1 ... step + num], losses float32 [num], seconds).
    """
    if first:
        writer.trace_on()
    tick = time.perf_counter()
    losses, _ = run_steps(iterator, num)
    seconds = time.perf_counter() - tick
    if first:
        writer.trace_export("train_step", step=step)
    return list(range(step + 1, step + num + 1)), losses, seconds


def _summarise(writer, bar, trainer, steps, losses, examples_per_sec):
    """Loss every summary_every steps (and the last), learning rate and speed; the bar's postfix."""
    total = trainer.total_steps
    for s, value in zip(steps, losses):
        if s % trainer.config.summary_every == 0 or s == total:
            writer.scalars(s, {"loss": float(value)})
    writer.scalars(steps[-1], {"learning_rate": optimizers.current_learning_rate(trainer.optimizer),
                               "examples_per_sec": examples_per_sec})
    bar.set_postfix(loss=f"{losses[-1]:.4f}", ex_s=f"{examples_per_sec:,.0f}", refresh=False)
    bar.update(len(steps))


def _summarise_accuracy(writer, model, data_sets, step):
    """Train (and validation) precision@1, and histograms of the weights and activations."""
    accuracy = {"accuracy/train": evaluation.evaluate(model, data_sets.train).precision}
    if data_sets.validation.num_examples:
        accuracy["accuracy/validation"] = evaluation.evaluate(model, data_sets.validation).precision
    writer.scalars(step, accuracy)
    split = data_sets.validation if data_sets.validation.num_examples else data_sets.test
    writer.histograms(step, model, split.images[:1000])

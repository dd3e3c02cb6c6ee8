"""What keeps a training run from losing work: Ctrl-C, SIGTERM, divergence, preemption.

  * Ctrl-C (SIGINT): the first one asks the loop to stop at the end of the current
    compiled call; the trainer then saves a checkpoint at that step and raises
    TrainingInterrupted (a KeyboardInterrupt, so the CLI exits 130). A second Ctrl-C
    interrupts at once, without saving.
  * SIGTERM to a single-process run (a scheduler's stop, the launcher's teardown): the
    same save at the end of the current call, then exit 42, the preemption code.
  * Divergence: a NaN/Inf loss stops training with a CourseError naming the first bad
    step, before anything is saved, so the last good checkpoint stays the latest.
  * Preemption under MultiWorkerMirroredStrategy: PreemptionCheckpointHandler turns a
    SIGTERM to any worker into a save by every worker at one agreed step, then exit 42.
"""

import signal
import sys
import threading

import numpy as np
import tensorflow as tf
from tensorflow.python.util import deprecation

from tfcourse.distribute.protocol import PREEMPTED_EXIT_CODE
from tfcourse.errors import CourseError


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped training after saving; `.step` and `.checkpoint` say where it is."""

    def __init__(self, step, checkpoint):
        super().__init__(f"interrupted at step {step}; saved {checkpoint}; resume with resume=True (--resume)")
        self.step = step
        self.checkpoint = checkpoint


class StopOnSignal:
    """Context manager: while inside, SIGINT and SIGTERM only set `.requested` (the signal).

    The loop checks it after each compiled call, saves, then calls `stop()`. A second
    Ctrl-C raises KeyboardInterrupt at once (the student insists); a second SIGTERM is
    ignored (the save under way is what the scheduler's grace period is for). Signal
    handlers can only be set from the main thread; elsewhere the defaults stay.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, enabled=True):
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.requested = None
        self._previous = {}

    def _handle(self, signum, frame):
        if self.requested is not None:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            return
        self.requested = signum
        again = " (Ctrl-C again to quit without saving)" if signum == signal.SIGINT else ""
        print(f"\n{signal.Signals(signum).name}: saving a checkpoint after the current steps{again}",
              file=sys.stderr, flush=True)

    def stop(self, step, checkpoint):
        """Ends training after the save: TrainingInterrupted for SIGINT, exit 42 for SIGTERM."""
        if self.requested == signal.SIGTERM:
            print(f"terminated (SIGTERM) at step {step}; saved {checkpoint}; exiting with code {PREEMPTED_EXIT_CODE} "
                  "so that the launcher or scheduler restarts the job, which resumes there", flush=True)
            sys.exit(PREEMPTED_EXIT_CODE)
        raise TrainingInterrupted(step, checkpoint)

    def __enter__(self):
        if self.enabled:
            self._previous = {signum: signal.signal(signum, self._handle) for signum in self.SIGNALS}
        return self

    def __exit__(self, *exc):
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)


def check_losses(steps, losses, kept):
    """Raises CourseError at the first non-finite loss.

    Args:
      steps: the global step of each loss, e.g. [51, ..., 100].
      losses: float32 numpy [len(steps)], one compiled call's losses.
      kept: path of the last checkpoint (None when there is none), named in the message.
    """
    bad = ~np.isfinite(losses)
    if bad.any():
        first = int(np.argmax(bad))
        where = f"the last good checkpoint {kept} is kept" if kept else "no checkpoint was written"
        raise CourseError(f"loss became {losses[first]} at step {steps[first]}: training diverged and stopped; "
                          f"{where}; lower the learning rate")


def weights_finite(model):
    """True when every trainable variable of `model` is finite (checked before each save)."""
    return bool(tf.reduce_all([tf.reduce_all(tf.math.is_finite(v)) for v in model.trainable_variables]))


def check_weights_finite(model, step, kept):
    """Raises CourseError when a weight of `model` is NaN/Inf at `step`; `kept`: the last checkpoint's path."""
    if not weights_finite(model):
        raise CourseError(f"weights became NaN/Inf by step {step}: training diverged and stopped; the last good "
                          f"checkpoint {kept} is kept; lower the learning rate")


def is_multi_worker(strategy):
    """True under MultiWorkerMirroredStrategy with more than one worker."""
    resolver = getattr(strategy.extended, "_cluster_resolver", None) or getattr(strategy, "cluster_resolver", None)
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or resolver is None:
        return False
    return sum(len(tasks) for tasks in resolver.cluster_spec().as_dict().values()) > 1


def step_runner(trainer, manager, say=print):
    """`trainer.train_steps`, run through a preemption handler when there are several workers.

    Under MultiWorkerMirroredStrategy a SIGTERM to any worker becomes a save by all at one
    agreed step. The handler agrees on a count of handler.run() calls, not on steps, so
    each compiled multi-step call stays one run() call (every worker makes the same calls:
    the loop's stops are a function of the step). TensorFlow's docs suggest one step per
    run() call; measured here with 2 workers of this MLP (batch 64, 2 busy cores), one
    step per call ran 90 steps/s, 10 per call 121 and 50 per call 178. A preempted job
    saves within two calls (<= 2 * steps_per_call steps; about 5 s from SIGTERM to exit
    here), well inside the tens of seconds a scheduler leaves before its SIGKILL.

    Returns:
      (run_steps(iterator, num_steps), preemptible): preemptible is True when the handler
      owns SIGTERM (then the loop must not install its own signal handlers).
    """
    handler = preemption_handler(trainer.strategy, manager, trainer.step, say) \
        if is_multi_worker(trainer.strategy) else None
    if handler is None:
        return trainer.train_steps, False
    return preemptible(handler, trainer.train_steps), True


def preemption_handler(strategy, manager, step, say=print):
    """A PreemptionCheckpointHandler saving through `manager`, exiting with code 42.

    Call it after the checkpoint is restored: the handler counts its run() calls from the
    value its own variable had in that checkpoint, and every worker must count alike. On
    the chief `manager` writes the shared checkpoint directory; on the others it must
    write a throwaway folder (every worker takes part in the save, only one copy is kept).
    Returns None off the main thread: the handler installs a signal handler, which only the
    main thread may do, and a host that runs the trainer in another thread (Ray Train's
    workers) handles failures and restarts itself.
    """
    if threading.current_thread() is not threading.main_thread():
        return None

    def exit_fn():
        say(f"preempted: every worker saved at step {int(step.numpy())}; exiting with code {PREEMPTED_EXIT_CODE} "
            "so that the launcher or scheduler restarts the job, which resumes there")
        sys.stdout.flush()
        sys.exit(PREEMPTED_EXIT_CODE)

    def save_fn():
        # Named by the training step like every other save (the handler's default would
        # number it by the checkpoint's save counter).
        manager.save(checkpoint_number=int(step.numpy()))

    config = tf.distribute.experimental.TerminationConfig(exit_fn=exit_fn, save_fn=save_fn)
    return tf.distribute.experimental.PreemptionCheckpointHandler(
        strategy.cluster_resolver, manager, termination_config=config)


def preemptible(handler, train_steps):
    """`train_steps(iterator, num_steps)` run through `handler.run` (positional arguments:
    the docstring's args= form fails), with the deprecation note TensorFlow prints about
    the handler's own use of total_run_calls hushed: it is not the student's to act on.
    """

    def run(iterator, num_steps):
        with deprecation.silence():
            return handler.run(train_steps, iterator, num_steps)

    return run

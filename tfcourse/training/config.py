"""What a training run depends on, without importing TensorFlow (so `tfcourse train --help`
and flag errors answer instantly).
"""

import dataclasses

from tfcourse.errors import CourseError, check_choice, check_positive_int, check_positive_number

OPTIMIZERS = ("sgd", "momentum", "adam")
SCHEDULES = ("constant", "cosine", "exponential")
# Used when no rate is given: the tutorial's 0.01 for gradient descent; for Adam, 2e-3
# decayed by a cosine over the run, the better of 1e-3/2e-3 measured on this MLP (docs/train.md).
DEFAULT_LEARNING_RATES = {"sgd": 0.01, "momentum": 0.01, "adam": 0.002}


@dataclasses.dataclass
class TrainConfig:
    """Everything a run depends on, checked when it is made (`validate()`: one-line CourseErrors).

    The one check of a run's settings: the CLI's flags, a notebook's TrainConfig(...) and
    `dataclasses.replace` all construct one, so every config the trainer sees passed it.
    Length: `max_steps` if given, else `epochs` passes over the training split.
    """

    hidden1: int = 128
    hidden2: int = 32
    batch_size: int = 100
    optimizer: str = "adam"
    learning_rate: float = 2e-3
    lr_schedule: str = "cosine"
    momentum: float = 0.9
    max_steps: int | None = None
    epochs: float | None = 10
    seed: int = 0
    deterministic: bool = True
    steps_per_call: int = 50
    xla: bool = False
    # None: settings.default_log_dir(), the user's own run folder (resolved when training starts).
    log_dir: str | None = None
    run_name: str | None = None
    resume: bool = False
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    checkpoint_dir: str | None = None
    eval_every: int | None = None
    summary_every: int = 10
    write_summaries: bool = True

    def __post_init__(self):
        self.validate()

    def validate(self):
        for name in ("hidden1", "hidden2", "batch_size", "steps_per_call", "checkpoint_every",
                     "keep_checkpoints", "summary_every", "max_steps", "eval_every"):
            value = getattr(self, name)
            if value is None and name in ("max_steps", "eval_every"):
                continue
            check_positive_int(name, value)
        if self.max_steps is None and (self.epochs is None or not self.epochs > 0):
            raise CourseError(f"epochs must be > 0 (or give max_steps), got {self.epochs!r}")
        check_positive_number("learning_rate", self.learning_rate)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("lr_schedule", self.lr_schedule, SCHEDULES)

    def default_run_name(self):
        """A name fixed by the hyperparameters, so --resume finds the same directory."""
        return (f"mlp{self.hidden1}x{self.hidden2}-{self.optimizer}-lr{self.learning_rate:g}"
                f"-b{self.batch_size}-seed{self.seed}")

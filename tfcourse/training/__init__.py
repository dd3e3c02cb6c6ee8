"""The MNIST trainer: `train(data_sets, TrainConfig(...))` -> TrainResult.

    config.py       TrainConfig: everything a run depends on, checked when it is made
    loop.py         train(): the tutorial's run_training (input, model, restore, steps, evaluation)
    trainer.py      Trainer: model, optimizer and the compiled multi-step loop under a strategy
    steps.py        training_step: the one-device step the notebooks spell out
    evaluation.py   evaluate / do_eval: precision@1 over a split
    optimizers.py   optimizers and learning-rate schedules by name
    checkpoints.py  save, restore, damaged and half-written checkpoints
    summaries.py    TensorBoard event files of a run
    safety.py       Ctrl-C, SIGTERM, NaN losses and preemption
    lock.py         one writer per run directory

The input is `tfcourse.datasets.pipeline.make_dataset`. Only config.py is imported with
the package: `tfcourse train --help` must answer before TensorFlow loads; the other
names load TensorFlow on first use.
"""

import importlib

from tfcourse.training.config import TrainConfig

_LAZY = {
    "train": "loop", "TrainResult": "loop", "Trainer": "trainer", "total_steps": "trainer",
    "TrainingInterrupted": "safety", "Evaluation": "evaluation", "evaluate": "evaluation", "do_eval": "evaluation",
}

__all__ = ["TrainConfig", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f"tfcourse.training.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'tfcourse.training' has no attribute {name!r}")

"""The TF2 trainer: determinism, the multi-step loop, optimizers, XLA, strategies, input order."""

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest
from fake_splits import small_data_sets

from tfcourse import training, xla
from tfcourse.errors import CourseError
from tfcourse.training import optimizers


@pytest.fixture(scope="module")
def data_sets():
    return small_data_sets()


def _config(tmp_path, **overrides):
    values = dict(hidden1=32, hidden2=16, max_steps=40, steps_per_call=20, log_dir=str(tmp_path),
                  checkpoint_every=1000, summary_every=10)
    values.update(overrides)
    return training.TrainConfig(**values)


def _trained(data_sets, steps=20, **overrides):
    """(Trainer, per-step losses) of a bare Trainer (no evaluation or files): the cheap way to compare runs."""
    values = dict(hidden1=32, hidden2=16, max_steps=steps, steps_per_call=steps)
    values.update(overrides)
    trainer = training.Trainer(training.TrainConfig(**values), data_sets.train.num_examples)
    return trainer, trainer.train_steps(iter(trainer.dataset(data_sets.train)), steps)[0]


def _losses(data_sets, steps=20, **overrides):
    return _trained(data_sets, steps, **overrides)[1]


def test_same_seed_gives_identical_losses_whatever_the_steps_per_call(data_sets, tmp_path, capsys):
    first = training.train(data_sets, _config(tmp_path / "a"), progress=False, verbose=True)
    out = capsys.readouterr().out
    second = training.train(data_sets, _config(tmp_path / "b", steps_per_call=7), progress=False, verbose=False)
    assert first.steps == list(range(1, 41)) and len(first.losses) == 40
    assert first.losses == second.losses
    for name, value in first.model.get_weights().items():
        np.testing.assert_array_equal(value, second.model.get_weights()[name])
    assert first.losses[-1] < first.losses[0] / 4
    assert _losses(data_sets, steps=40, seed=1).tolist() != first.losses

    validation = first.evaluations["validation"]
    assert validation.num_examples == 1000 and validation.precision > 0.9
    assert "Validation Data Eval:\n  Num examples: 1000  Num correct: " in out
    assert f"Precision @ 1: {validation.precision:0.04f}" in out
    assert first.evaluations["train"].num_examples == 6000 and first.final_step == 40
    assert first.checkpoint_path.endswith("ckpt-40") and first.examples_per_sec > 0


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam"])
def test_each_optimizer_lowers_the_loss(data_sets, name):
    lr = optimizers.DEFAULT_LEARNING_RATES[name] * (10 if name != "adam" else 1)
    losses = _losses(data_sets, steps=30, optimizer=name, learning_rate=lr)
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])


def test_xla_step_is_compiled_and_gives_the_same_losses(data_sets):
    compiled, compiled_losses = _trained(data_sets, xla=True)
    plain, plain_losses = _trained(data_sets)
    np.testing.assert_allclose(compiled_losses, plain_losses, rtol=1e-4, atol=1e-5)
    # Same losses alone would pass with xla=True ignored: the loop that ran must hand the
    # forward/backward pass to XLA, and XLA must have fused it into kernels.
    (name,) = compiled.xla_functions()
    assert "_gradients" in name and plain.xla_functions() == []
    images, labels = next(iter(compiled.dataset(data_sets.train)))
    hlo = compiled._grad_fn.experimental_get_compiler_ir(images, labels)(stage="optimized_hlo")
    assert len(xla.fusions(hlo)) >= 3


def test_cosine_schedule_decays_to_zero_over_the_run(data_sets):
    config = training.TrainConfig(hidden1=8, hidden2=8, max_steps=30, lr_schedule="cosine", learning_rate=0.01,
                                  steps_per_call=15)
    trainer = training.Trainer(config, data_sets.train.num_examples)
    iterator = iter(trainer.dataset(data_sets.train))
    assert optimizers.current_learning_rate(trainer.optimizer) == pytest.approx(0.01)
    trainer.train_steps(iterator, 15)
    assert optimizers.current_learning_rate(trainer.optimizer) == pytest.approx(0.005, rel=1e-4)
    trainer.train_steps(iterator, 15)
    assert optimizers.current_learning_rate(trainer.optimizer) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("field, value, message", [
    ("hidden1", 0, "hidden1 must be a positive integer"),
    ("batch_size", -5, "batch_size must be a positive integer"),
    ("max_steps", 0, "max_steps must be a positive integer"),
    ("learning_rate", 0.0, "learning_rate must be a positive finite number"),
    ("optimizer", "rmsprop", "optimizer must be one of sgd, momentum, adam"),
    ("lr_schedule", "step", "lr_schedule must be one of"),
])
def test_bad_config_raises_course_error_when_made(field, value, message):
    with pytest.raises(CourseError, match=message):
        training.TrainConfig(**{field: value})
    with pytest.raises(CourseError, match=message):  # a changed copy is checked too
        dataclasses.replace(training.TrainConfig(), **{field: value})


MIRRORED_SCRIPT = """
import json, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from tfcourse import training
from tfcourse.datasets import read_data_sets
data = read_data_sets(fake_data=True, validation_size=1000)
losses = {}
for name, strategy in (("one", None), ("mirrored", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))):
    config = training.TrainConfig(hidden1=32, hidden2=16, optimizer="sgd", learning_rate=0.1, max_steps=20,
                                  steps_per_call=10)
    trainer = training.Trainer(config, data.train.num_examples, strategy)
    losses[name] = trainer.train_steps(iter(trainer.dataset(data.train)), 20)[0].tolist()
    losses[name + "_replicas"] = trainer.strategy.num_replicas_in_sync
print(json.dumps(losses))
"""


def test_mirrored_strategy_on_two_cpus_matches_one_device():
    out = subprocess.run([sys.executable, "-c", MIRRORED_SCRIPT], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    losses = json.loads(out.stdout.strip().splitlines()[-1])
    assert losses["mirrored_replicas"] == 2 and losses["one_replicas"] == 1
    np.testing.assert_allclose(losses["mirrored"], losses["one"], rtol=1e-5, atol=1e-6)

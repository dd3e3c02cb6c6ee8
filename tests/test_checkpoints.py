"""Checkpoints: keep-K, shapes, in-process resume (kills and half-saves: tests/test_train_faults.py)."""

import os

import numpy as np
import pytest
from fake_splits import small_data_sets

from tfcourse import training
from tfcourse.errors import CourseError


@pytest.fixture(scope="module")
def data_sets():
    return small_data_sets()


def _config(tmp_path, **overrides):
    values = dict(hidden1=32, hidden2=16, max_steps=50, steps_per_call=10, checkpoint_every=10,
                  keep_checkpoints=2, log_dir=str(tmp_path), run_name="run")
    values.update(overrides)
    return training.TrainConfig(**values)


def test_keeps_the_last_k_and_restoring_another_shape_names_both(data_sets, tmp_path):
    result = training.train(data_sets, _config(tmp_path), progress=False, verbose=False)
    files = sorted(os.listdir(result.checkpoint_dir))
    assert [f for f in files if f.endswith(".index")] == ["ckpt-40.index", "ckpt-50.index"]
    assert result.checkpoint_path == os.path.join(result.checkpoint_dir, "ckpt-50")

    with pytest.raises(CourseError, match=r"holds hidden1/weights of shape \[784, 32\] but the model's is \[784, 64\]"):
        training.train(data_sets, _config(tmp_path, hidden1=64, resume=True), progress=False, verbose=False)

    # Resuming a finished run trains nothing and keeps the weights.
    again = training.train(data_sets, _config(tmp_path, resume=True), progress=False, verbose=False)
    assert again.resumed_from == 50 and again.losses == []
    np.testing.assert_array_equal(again.model.get_weights()["hidden2/weights"],
                                  result.model.get_weights()["hidden2/weights"])


def test_resume_in_process_continues_to_a_longer_target(data_sets, tmp_path):
    # A constant rate: a cosine schedule's shape depends on the run's length.
    constant = dict(lr_schedule="constant")
    short = training.train(data_sets, _config(tmp_path / "a", max_steps=30, **constant), progress=False, verbose=False)
    longer = training.train(data_sets, _config(tmp_path / "a", max_steps=50, resume=True, **constant),
                            progress=False, verbose=False)
    whole = training.train(data_sets, _config(tmp_path / "b", max_steps=50, **constant), progress=False, verbose=False)
    assert longer.resumed_from == 30 and longer.steps == list(range(31, 51))
    assert short.losses + longer.losses == whole.losses

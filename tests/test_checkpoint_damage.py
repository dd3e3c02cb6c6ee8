"""A damaged newest checkpoint loses nothing: set aside, never deleted, resume from the intact one.

The reference for "the same result" is a run that stopped at step 20 and resumed from its
ckpt-20: with op determinism and the data order a function of (seed, step), the resumed run
past a damaged ckpt-30 must end with bit-identical weights.
"""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO
from fake_splits import small_data_sets

from tfcourse import training

TOTAL = 40


@pytest.fixture(scope="module")
def data_sets():
    return small_data_sets()


def _config(log_dir, **overrides):
    # A constant rate, so a run to 20 steps and one to 40 follow the same schedule.
    values = dict(hidden1=32, hidden2=16, max_steps=TOTAL, steps_per_call=10, checkpoint_every=10,
                  keep_checkpoints=3, lr_schedule="constant", log_dir=str(log_dir), run_name="run")
    values.update(overrides)
    return training.TrainConfig(**values)


@pytest.fixture(scope="module")
def runs(data_sets, tmp_path_factory):
    """(a finished run's directory with ckpt-20/30/40, the weights of a run resumed from ckpt-30)."""
    base = tmp_path_factory.mktemp("damage")
    training.train(data_sets, _config(base / "finished"), progress=False, verbose=False)
    training.train(data_sets, _config(base / "reference", max_steps=30), progress=False, verbose=False)
    reference = training.train(data_sets, _config(base / "reference", resume=True), progress=False, verbose=False)
    assert reference.resumed_from == 30
    return base / "finished" / "run", reference.model.get_weights()


def _flip_a_byte(ckpt):
    data = ckpt.parent / (ckpt.name + ".data-00000-of-00001")
    content = bytearray(data.read_bytes())
    content[len(content) // 2] ^= 0x01
    data.write_bytes(bytes(content))
    return data


def _truncate_index(ckpt):
    index = ckpt.parent / (ckpt.name + ".index")
    index.write_bytes(index.read_bytes()[:-40])
    return index


def _remove_index(ckpt):
    (ckpt.parent / (ckpt.name + ".index")).unlink()
    return ckpt.parent / (ckpt.name + ".data-00000-of-00001")


@pytest.mark.parametrize("damage, reason", [
    (_flip_a_byte, "checksum mismatch in its data file"),
    (_truncate_index, "its index file is truncated or corrupt: "),
    (_remove_index, "its index file is missing"),
], ids=["flipped-byte", "truncated-index", "missing-index"])
def test_resume_skips_a_damaged_newest_checkpoint(data_sets, runs, tmp_path, capsys, damage, reason):
    finished, reference_weights = runs
    log_dir = tmp_path / "log"
    shutil.copytree(finished.parent, log_dir)
    ckpt_dir = log_dir / "run" / "checkpoints"
    damaged_file = damage(ckpt_dir / "ckpt-40")
    damaged_bytes = damaged_file.read_bytes()
    capsys.readouterr()

    result = training.train(data_sets, _config(log_dir, resume=True), progress=False, verbose=False)

    lines = capsys.readouterr().out.splitlines()
    moved_to = ckpt_dir / "damaged" / "ckpt-40"
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"Checkpoint {ckpt_dir / 'ckpt-40'} is damaged ({reason}")
    assert lines[0].endswith(f"): moved to {moved_to}; resuming from the newest intact checkpoint")
    assert (moved_to / damaged_file.name).read_bytes() == damaged_bytes  # kept as it was, never deleted
    assert result.resumed_from == 30 and result.final_step == TOTAL
    weights = result.model.get_weights()
    for name, value in reference_weights.items():
        np.testing.assert_array_equal(weights[name], value, err_msg=name)
    # The new ckpt-40 is intact and the latest; the older ones are still there.
    assert sorted(f for f in os.listdir(ckpt_dir) if f.endswith(".index")) == [
        "ckpt-20.index", "ckpt-30.index", "ckpt-40.index"]


def test_cli_resume_past_a_flipped_byte_prints_one_line_and_finishes(runs, tmp_path):
    """The command a student types: no DataLossError traceback, one line, exit 0."""
    finished, _ = runs
    log_dir = tmp_path / "log"
    shutil.copytree(finished.parent, log_dir)
    ckpt_dir = log_dir / "run" / "checkpoints"
    _flip_a_byte(ckpt_dir / "ckpt-40")
    _flip_a_byte(ckpt_dir / "ckpt-30")  # two in a row: back to ckpt-20
    command = [sys.executable, "-m", "tfcourse", "train", "--fake_data", "--log_dir", str(log_dir),
               "--run_name", "run", "--hidden1", "32", "--hidden2", "16", "--max_steps", str(TOTAL),
               "--checkpoint_every", "10", "--lr_schedule", "constant", "--no_progress", "--resume"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "DataLossError" not in result.stderr
    damaged = [line for line in result.stdout.splitlines() if "is damaged" in line]
    assert damaged == [
        f"Checkpoint {ckpt_dir / name} is damaged (checksum mismatch in its data file): moved to "
        f"{ckpt_dir / 'damaged' / name}; resuming from the newest intact checkpoint" for name in ("ckpt-30", "ckpt-40")]
    assert f"Resumed from {ckpt_dir / 'ckpt-20'} at step 20" in result.stdout
    assert "test precision@1" in result.stdout.splitlines()[-1]

"""`tfcourse train`: flags, one-line errors with exit 2, and the default run's accuracy on real MNIST."""

import subprocess
import sys

import pytest

TFCOURSE = [sys.executable, "-m", "tfcourse", "train"]


@pytest.mark.parametrize("args, message", [
    (["--max_steps", "0"], "argument --max_steps/--max-steps: expected a positive integer, got '0'"),
    (["--max-steps", "-4"], "expected a positive integer, got '-4'"),
    (["--learning_rate", "0"], "argument --learning_rate/--learning-rate: expected a positive float, got '0'"),
    (["--learning-rate", "-0.1"], "expected a positive float, got '-0.1'"),
    (["--learning_rate", "nan"], "expected a positive float, got 'nan'"),
    (["--learning_rate", "inf"], "expected a positive float, got 'inf'"),
    (["--hidden1", "0"], "argument --hidden1: expected a positive integer, got '0'"),
    (["--hidden2", "x"], "argument --hidden2: expected a positive integer, got 'x'"),
    (["--batch_size", "0"], "expected a positive integer, got '0'"),
    (["--epochs", "0"], "argument --epochs: expected a positive float, got '0'"),
    (["--optimizer", "rmsprop"], "argument --optimizer: invalid choice: 'rmsprop'"),
    (["--checkpoint_every", "0"], "expected a positive integer, got '0'"),
])
def test_bad_flags_exit_2_with_one_line(args, message):
    out = subprocess.run(TFCOURSE + args, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in out.stderr


def test_missing_data_dir_without_fake_data_exits_2(tmp_path):
    missing = tmp_path / "nowhere"
    out = subprocess.run(TFCOURSE + ["--input_data_dir", str(missing)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines() == [f"tfcourse train: error: --input_data_dir {missing} does not exist; pass --fake_data "
                      "or fetch it with 'tfcourse data --download --input_data_dir DIR'"]


def test_batch_larger_than_the_split_exits_2(tmp_path):
    out = subprocess.run(TFCOURSE + ["--fake-data", "--batch-size", "99999", "--log-dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    # This check needs the data, so TensorFlow is loaded first and its C++ start-up lines
    # (not silenced by TF_CPP_MIN_LOG_LEVEL in 2.21) may precede ours: ours is the last line.
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1] == (
        "tfcourse train: error: batch_size 99999 is larger than the training split (55000 examples)")


@pytest.mark.slow
def test_default_run_on_the_shipped_mnist_reaches_97_percent(tmp_path):
    """The README's main job: `tfcourse train` with its defaults (adam, 128/32, batch 100)."""
    out = subprocess.run(TFCOURSE + ["--log_dir", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    final = out.stdout.strip().splitlines()[-1]
    assert final.startswith("test precision@1 ") and f"logs: {tmp_path}/" in final and "checkpoints: " in final
    precision = float(final.split()[2])
    assert precision >= 0.97, final
    assert "Test Data Eval:\n  Num examples: 10000  Num correct: " in out.stdout
    # The progress bar (tqdm, on stderr) shows the loss and examples/sec.
    assert "loss=" in out.stderr and "ex_s=" in out.stderr


def test_the_command_checks_its_config_once(tmp_path, monkeypatch, capsys):
    """Validation happens at the boundary, when the command makes its TrainConfig; the trainer trusts it."""
    from tfcourse.cli import main
    from tfcourse.training.config import TrainConfig

    checked = []
    validate = TrainConfig.validate

    def counted(config):
        checked.append(config.batch_size)
        return validate(config)

    monkeypatch.setattr(TrainConfig, "validate", counted)
    code = main(["train", "--fake_data", "--max_steps", "2", "--steps_per_call", "1", "--hidden1", "8",
                 "--hidden2", "8", "--batch_size", "10", "--no_progress", "--log_dir", str(tmp_path)])
    assert code == 0 and "test precision@1" in capsys.readouterr().out
    assert checked == [10]

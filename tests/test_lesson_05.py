"""The proof notebook 05 no longer asserts on the page, read back from its stored outputs (a full run)."""

import pathlib
import re

from exercise_answers import lesson_outputs

NOTEBOOK = pathlib.Path(__file__).parents[1] / "notebooks" / "05_checkpoints.ipynb"


def test_the_manager_keeps_the_newest_two():
    printed = lesson_outputs(NOTEBOOK)
    assert "manager.checkpoints: ['ckpt-20', 'ckpt-30']" in printed
    assert "files: ['checkpoint', 'ckpt-20.data-00000-of-00001', 'ckpt-20.index', " \
           "'ckpt-30.data-00000-of-00001', 'ckpt-30.index']" in printed


def test_restores_give_back_the_saved_values_exactly():
    printed = lesson_outputs(NOTEBOOK)
    before = float(re.search(r"before the restore, the weights differ by up to ([\d.]+)", printed).group(1))
    assert before > 0
    assert "after: by 0.0e+00 | restored step 30 | Adam's iterations 30" in printed
    assert "model-only restore: the six variables differ from the saved ones by 0.0e+00" in printed
    assert "largest difference from the model in memory: 0.0" in printed


def test_the_trainers_checkpoint_differs_from_ours_only_in_the_optimizer():
    printed = lesson_outputs(NOTEBOOK)
    for side in ("in the trainer's checkpoint only", "in ours only"):
        keys = re.findall(r"'([^']+)'", re.search(rf"{side}: (\[.*\])", printed).group(1))
        assert keys and all(key.startswith("optimizer/") for key in keys), (side, keys)


def test_the_crashed_run_resumed_after_its_crash_point_and_finished():
    printed = lesson_outputs(NOTEBOOK)
    left = re.findall(r"'ckpt-(\d+)'", re.search(r"checkpoints left behind: (\[.*\])", printed).group(1))
    resumed, final, ran, total = map(int, re.search(
        r"resumed from step (\d+), finished at step (\d+), ran (\d+) steps instead of (\d+)", printed).groups())
    assert resumed == int(left[-1]) >= 1000 and final == total == 2200 and ran == total - resumed

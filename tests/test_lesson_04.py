"""The proof notebook 04 no longer asserts on the page, read back from its stored outputs (a full run)."""

import ast
import pathlib
import re

import numpy as np
from exercise_answers import lesson_cells, lesson_outputs

NOTEBOOK = pathlib.Path(__file__).parents[1] / "notebooks" / "04_graph_and_session.ipynb"


def test_the_library_makes_the_same_placeholders_and_feed_dict_as_the_lesson():
    printed = lesson_outputs(NOTEBOOK)
    assert "v1.placeholder_inputs: [('images:0', TensorShape([100, 784]), 'float32'), " \
           "('labels:0', TensorShape([100]), 'int32')]" in printed
    ours = re.search(r"^(\{'images:0': \(100, 784\), 'labels:0': \(100,\)\})$", printed, re.M).group(1)
    assert f"v1.fill_feed_dict: {ours}" in printed


def test_training_adds_ops_and_an_untrained_global_step():
    printed = lesson_outputs(NOTEBOOK)
    assert int(re.search(r"ops added by training\(\): (\d+)", printed).group(1)) > 0
    assert "not trainable: ['global_step']" in printed


def test_the_truncated_normal_stays_within_two_stddevs_and_below_the_parameter():
    printed = lesson_outputs(NOTEBOOK)
    stddev, measured, largest, cut = map(float, re.search(
        r"stddev parameter ([\d.]+), measured std ([\d.]+), largest \|w\| ([\d.]+) \(two stddevs: ([\d.]+)\)",
        printed).groups())
    assert largest <= cut and measured < stddev and np.isclose(stddev, 1 / np.sqrt(784), atol=1e-4)


def test_evaluation_trains_nothing_and_the_restore_gives_back_the_step_and_precision():
    printed = lesson_outputs(NOTEBOOK)
    assert "global_step after the evaluation: 1 " in printed
    assert "[('global_step', [])," in printed and "('hidden1/weights', [784, 128])" in printed
    assert "restored global_step: 2000" in printed
    tests = re.findall(r"Num examples: 10000  Num correct: (\d+)", printed)
    assert len(tests) >= 2 and tests[-1] == tests[-2]  # the run's last test evaluation, then the restored one


def test_the_notebook_shows_saver_restore_and_do_eval():
    code = "\n".join(cell.source for cell in lesson_cells(NOTEBOOK) if cell.cell_type == "code")
    calls = {node.func.attr for node in ast.walk(ast.parse(code))
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)}
    assert "restore" in calls and "restore_and_evaluate" not in calls
    assert "source.show(v1.do_eval)" in code

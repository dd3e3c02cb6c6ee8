"""Notebook 10's proof, out of the lesson: the checks its cells used to assert, run on the
library code they called or read from the notebook's stored outputs (a full run)."""

import pathlib
import re

import nbformat
import numpy as np
import pytest

from tfcourse.resnet import model as resnet_model
from tfcourse.resnet import predict, scaling

NOTEBOOK = pathlib.Path(__file__).resolve().parents[1] / "notebooks" / "10_resnet_scaling.ipynb"


def stored_output(marker):
    """The text the (one) code cell whose source contains `marker` printed in the stored run."""
    cells = [c for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code" and marker in c.source]
    assert len(cells) == 1, (marker, len(cells))
    return "".join(o.get("text", "") for o in cells[0].outputs if o.get("output_type") == "stream")


def test_resnet50_has_the_published_v15_parameter_count():
    assert resnet_model.trainable_parameter_count(resnet_model.resnet50()) == 25_557_032


def test_two_blocks_change_the_shape_as_the_lesson_says():
    text = stored_output("two_blocks = keras.Model(inputs, same)")
    assert re.search(r"same_out\s+ReLU\s+-> \(None, 4, 4, 128\)", text), text


def talk_fit(overlap_row=4):
    """The lesson's one-row fit: the overlap matching row `overlap_row`, per topology -> predictions."""
    assumptions = predict.TalkAssumptions()
    talk = {row["devices"]: row["efficiency"] for row in scaling.talk_table()}

    def efficiencies(overlap, topology):
        return {r["devices"]: r["efficiency"] for r in predict.predict_talk(assumptions, overlap, topology)}

    fitted = {}
    for topology in ("ring", "hierarchical"):
        overlap = min(np.linspace(0.0, 0.99, 100),
                      key=lambda o: abs(efficiencies(o, topology)[overlap_row] - talk[overlap_row]))
        fitted[topology] = efficiencies(overlap, topology)
    return talk, fitted


def test_the_one_row_fit_beats_the_constant_and_a_constant_cannot_pass_the_same_check():
    talk, fitted = talk_fit()
    held_out = [d for d in talk if d not in (1, 4)]
    constant = max(abs(talk[4] - talk[d]) for d in held_out)
    for topology, predicted in fitted.items():
        assert max(abs(predicted[d] - talk[d]) for d in held_out) < constant, topology
    # The old bound |predicted - talk| < 0.03 over 8-32 GPUs let the constant 91.7% pass; this one does not.
    assert max(abs(0.917 - talk[d]) for d in held_out) > constant
    assert all(abs(0.917 - talk[d]) < 0.03 for d in (8, 16, 32))


def test_the_stored_run_printed_the_fit_and_its_rival():
    text = stored_output("constant = max(abs(talk[4] - talk[devices]) for devices in held_out)")
    found = re.search(r"ring ([\d.]+) points, hierarchical ([\d.]+), the constant [\d.]+% ([\d.]+)", text)
    assert found, text
    ring, hierarchical, constant = map(float, found.groups())
    assert max(ring, hierarchical) < constant


def test_the_written_out_loop_measures_what_the_library_measures():
    text = stored_output("ratios = np.array(mine)")
    median = float(re.search(r"paired rounds: median ([\d.]+)", text).group(1))
    # Same model, same batch, same protocol: the two differ by the library's strategy wrapper only.
    assert 0.5 < median < 2.0, text


def test_two_workers_are_not_far_below_the_model_that_shares_the_cores():
    # A floor: below 0.3 x the model the all-reduce (or a stalled worker) would cost several steps'
    # compute, far beyond the all-reduce measured in the same run.
    text = stored_output("shared = predict.predict_local_efficiency(")
    ratio = float(re.search(r"([\d.]+) x the model sharing these cores", text).group(1))
    assert ratio > 0.3, text


def test_the_all_reduce_line_predicts_the_tensor_it_never_saw():
    text = stored_output("ring = allreduce.measure_allreduce_bandwidth(")
    found = re.search(r"predicts ([\d.]+) ms for it; measured ([\d.]+) ms", text)
    predicted, measured = map(float, found.groups())
    # A unit slip (bits for bytes: 8x, ms for s: 1000x) misses by far more than 3x; load alone made a
    # run at load average 19 on 2 cores miss by 2.2x (the stored run, at load 7: 11%).
    assert 1 / 3 < predicted / measured < 3, text


@pytest.mark.parametrize("question", ["q3", "q4"])
def test_the_prediction_exercises_answers_are_not_printed(question):
    from tfcourse.exercises import nb10

    values = np.ravel(getattr(nb10, question).reference())
    outputs = "".join(o.get("text", "") for c in nbformat.read(NOTEBOOK, as_version=4).cells
                      if c.cell_type == "code" and "exercise" not in " ".join(c.metadata.get("tags", []))
                      for o in c.get("outputs", []))
    for value in values:
        for form in (f"{100 * value:.1f}%", f"{value:.3f}", f"{value:.2f} ms"):
            assert form not in outputs, (question, form)

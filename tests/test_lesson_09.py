"""Notebook 09's claims, proved here rather than asserted in the lesson: read from the stored
outputs of its full run (2 replicas match 1 device; the straggler's effect; async staleness and
accuracy; the hand-scheduled updates all land), and TF_CONFIG as the launcher writes it."""

import json
import pathlib
import re

import nbformat

NOTEBOOK = pathlib.Path(__file__).resolve().parents[1] / "notebooks" / "09_distributed.ipynb"


def stored_text():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    return "\n".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                     for output in cell.get("outputs", []) if output.get("output_type") == "stream")


def number(pattern, text):
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in the stored outputs"
    return float(match.group(1))


def test_two_replicas_train_as_one_device():
    text = stored_text()
    assert number(r"largest over the steps: 1-20 ([0-9.e+-]+)", text) < 1e-5
    assert number(r"([0-9.]+)% of how far training moved them", text) < 5
    one = number(r"test precision ([0-9.]+) vs [0-9.]+", text)
    two = number(r"test precision [0-9.]+ vs ([0-9.]+)", text)
    assert abs(one - two) <= 2e-3


def test_the_launcher_writes_the_tf_config_the_lesson_shows():
    from tfcourse.distribute import tfconfig

    written = {"cluster": {"worker": ["host-a:2222", "host-b:2222"]}, "task": {"type": "worker", "index": 0}}
    assert json.loads(tfconfig.tf_config(written["cluster"], "worker", 0)) == written


def test_the_straggler_sets_the_sync_pace_and_not_the_async_one():
    text = stored_text()
    delay = number(r"the straggler sleeps ([0-9.]+) s", text)
    assert number(r"sync: ([0-9.]+) s per update", text) >= delay
    assert number(r"async: the fast worker made ([0-9]+)x as many updates", text) > 3
    sync_row = re.search(r"^sync\s+(\d+)\s+[0-9.]+\s+[0-9.]+\s+w0 \(sleeps [0-9.]+ s\): (\d+), w1 \(sleeps [0-9.]+ s\): (\d+)",
                         text, re.M)
    assert sync_row and sync_row.group(1) == sync_row.group(2) == sync_row.group(3), "every sync update carries both"


def test_async_training_on_the_ps_cluster():
    text = stored_text()
    row = re.search(r"async \(ParameterServerStrategy\)\s+2\s+(\d+)\s+\d+\s+([0-9.]+)\s+(\d+)\s+([0-9.]+)\s+([0-9.]+)",
                    text)
    assert row, "the sync-vs-async table is missing"
    assert int(row.group(1)) == 1100 and float(row.group(5)) >= 0.93
    assert number(r"updates with staleness > 0: (\d+)%", text) > 0, "two workers never overlapped"
    assert number(r"updates counted on the ps: (\d+)", text) == 20
    staleness = json.loads(re.search(r"staleness of each update: (\[.*\])", text).group(1))
    assert len(staleness) == 20 and min(staleness) >= 0


def test_read_then_write_loses_updates_and_assign_sub_does_not():
    text = stored_text()
    kept = number(r"assign_sub:\s+updates counted \d+, biases off by ([0-9.e+-]+)", text)
    lost = number(r"read_assign: updates counted \d+, biases off by ([0-9.e+-]+)", text)
    assert kept < 1e-5 and lost > 10 * kept

"""benchmarks/train_throughput.py: steps credited as run, inputs built outside the clock, one statistic.

The script once gave Keras fit a slice of the training split holding half the steps it was
credited for, and once built the feed_dict face's batches inside its timed region while the
docs said no face did. This runs the real script in-process, briefly, recording when any input
is built and when every timed region starts and ends.
"""

import importlib.util
import json
import os
import sys
import time

import pytest

from tfcourse import paired, v1
from tfcourse.datasets import mnist_files, pipeline

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS, STEPS_PER_CALL, ROUNDS = 20, 10, 2
ARGS = ["--steps", str(STEPS), "--steps_per_call", str(STEPS_PER_CALL), "--matmul_size", "128", "--matmul_steps", "2"]


def load_script():
    spec = importlib.util.spec_from_file_location("train_throughput", os.path.join(ROOT, "benchmarks",
                                                                                   "train_throughput.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_main(script, argv, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["train_throughput.py"] + argv)
    script.main()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The script's JSON, its timed regions, and the times any input was built."""
    script = load_script()
    built = []

    def recording(function, what):
        def wrapper(*args, **kwargs):
            built.append((what, time.perf_counter()))
            return function(*args, **kwargs)
        return wrapper

    out = tmp_path_factory.mktemp("throughput") / "throughput.json"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mnist_files.DataSet, "next_batch", recording(mnist_files.DataSet.next_batch, "next_batch"))
        patch.setattr(pipeline, "make_dataset", recording(pipeline.make_dataset, "make_dataset"))
        patch.setattr(v1, "fill_feed_dict", recording(v1.fill_feed_dict, "fill_feed_dict"))
        run_main(script, ARGS + ["--rounds", str(ROUNDS), "--json", str(out)], patch)
    return json.loads(out.read_text()), list(script.TIMED), built, script


def test_every_face_is_credited_the_steps_its_counter_saw(report):
    result, _, _, script = report
    counted = {name for name, face in result["faces"].items() if face["counter"]}
    assert counted == {script.TF2, script.FIT, f"keras fit, steps_per_execution={STEPS_PER_CALL}", script.FEED,
                       script.FEED_NEXT_BATCH, script.FLOOR}
    for name in counted:
        face = result["faces"][name]
        assert face["steps_run"] == [STEPS] * ROUNDS, (name, face["steps_run"])
        assert len(face["examples_per_s"]) == ROUNDS and all(rate > 0 for rate in face["examples_per_s"]), name
    # The step's matmuls at batch 100: forward 784x128, 128x32, 32x10, their weight
    # gradients, and the input gradients of layers 2 and 3 (not of the images).
    assert result["step_matmul_flops"] == 2 * 100 * (2 * (784 * 128 + 128 * 32 + 32 * 10) + 128 * 32 + 32 * 10)


def test_a_face_that_runs_fewer_steps_than_credited_is_refused(monkeypatch):
    script = load_script()
    real_face = script.feed_dict_face

    def short_face(*args):
        run = real_face(*args)
        return lambda steps: run(steps - 1)

    monkeypatch.setattr(script, "feed_dict_face", short_face)
    with pytest.raises(SystemExit, match="graph/session feed_dict: ran 19 steps but would be credited 20"):
        run_main(script, ARGS + ["--rounds", "1"], monkeypatch)


def test_no_input_is_built_inside_a_timed_region_but_the_named_one(report):
    result, timed, built, script = report
    assert len(timed) == ROUNDS * len(result["faces"])
    inside = {}
    for face, start, end in timed:
        inside.setdefault(face, []).extend(what for what, when in built if start <= when <= end)
    # The tutorial's loop row builds its batches inside its clock on purpose (its name says so):
    # it shows the check sees a batch built in a timed region.
    assert inside.pop(script.FEED_NEXT_BATCH).count("fill_feed_dict") == ROUNDS * STEPS
    assert {face: calls for face, calls in inside.items() if calls} == {}


def test_fit_set_up_is_measured_outside_its_clock(report):
    result, _, _, script = report
    for name in (script.FIT, f"keras fit, steps_per_execution={STEPS_PER_CALL}"):
        setup = result["faces"][name]["fit_setup_ms"]
        assert len(setup) == ROUNDS and all(ms > 0 for ms in setup), name


def test_every_ratio_is_the_median_of_paired_rounds(report):
    result, _, _, script = report
    rates = {name: face["examples_per_s"] for name, face in result["faces"].items()}
    rates[script.LIMIT] = result["compute_limit_examples_per_s"]
    assert len(rates[script.LIMIT]) == ROUNDS  # the compute limit: one burst a round, paired too
    assert result["run"]["load_average_before"] and "--json" in result["run"]["command"]
    for name, stored in result["ratios"].items():
        a, b = name.split(" / ")
        assert stored == paired.as_dict(paired.paired_ratio(rates[a], rates[b])), name
    assert f"{script.TF2} / {script.LIMIT}" in result["ratios"] and f"{script.TF2} / {script.FEED}" in result["ratios"]

"""Keras 3 SGD under asynchronous ParameterServerStrategy: weights updated by assign_sub (no update
lost), its `iterations` counter by read-then-write (increments lost when workers overlap)."""

import json
import subprocess
import sys
import textwrap

import pytest

from tfcourse.distribute import keras_ps

# Its own process: the run connects TensorFlow's eager context to the cluster for good.
SCRIPT = textwrap.dedent("""
    import dataclasses, json
    from tfcourse.datasets import read_data_sets
    from tfcourse.distribute import keras_ps
    print("RESULT", json.dumps(dataclasses.asdict(keras_ps.keras_sgd_async(read_data_sets(), steps=80))))
    """)


def test_sgd_writes_weights_with_assign_sub_and_its_counter_with_assign():
    # 6 weight tensors (3 layers x weights, biases); the one AssignVariableOp is iterations += 1.
    assert keras_ps.update_op_counts() == {"AssignSubVariableOp": 6, "AssignVariableOp": 1,
                                           "AssignAddVariableOp": 0}


def test_async_keras_sgd_loses_no_weight_update_but_loses_iterations():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=420)  # a hang guard: 150 s ran out at load 25-50
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    result = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))[7:])
    assert result["steps"] == 80
    # Every step the workers sent is in the biases, to float rounding: one lost step would leave a
    # gap of the size of a step (~2e-3 here, measured 1e-8..1e-7 without loss).
    assert result["bias_gap"] < 1e-5 < result["mean_bias_step"] / 10, result
    # How many increments are lost depends on how often the two workers overlap (seen: 15-30%
    # over 5 runs of 60-300 steps, none on a machine where one worker ran alone), so the loss is
    # not asserted here: that the counter is written read-then-write is, by the graph's ops,
    # in the test above, whatever the timing. What holds always: no increment is invented.
    assert 0 < result["iterations"] <= result["steps"], result


@pytest.mark.parametrize("name", ["num_workers", "steps", "batch_size"])
def test_counts_must_be_positive(name):
    with pytest.raises(ValueError, match=f"{name} must be a positive integer"):
        keras_ps.keras_sgd_async(None, **{name: 0})

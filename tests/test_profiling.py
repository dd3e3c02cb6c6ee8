"""The profiler's op table: a real trace of the MLP trainer read back op by op, and self time by nesting."""

import pytest
from tensorflow.tsl.profiler.protobuf import xplane_pb2

from tfcourse import profiling, training
from tfcourse.datasets import read_data_sets

STEPS, CALLS = 20, 3


@pytest.fixture(scope="module")
def mlp_profile(tmp_path_factory):
    data_sets = read_data_sets(fake_data=True, validation_size=0)
    config = training.TrainConfig(batch_size=100, optimizer="sgd", learning_rate=0.01, lr_schedule="constant",
                                  max_steps=10**6, steps_per_call=STEPS, seed=0)
    trainer = training.Trainer(config, data_sets.train.num_examples)
    iterator = iter(trainer.dataset(data_sets.train))
    before = int(trainer.step.numpy())
    result = profiling.profile_trainer(trainer, iterator, str(tmp_path_factory.mktemp("profile")), STEPS, CALLS)
    return result, int(trainer.step.numpy()) - before


def test_trace_of_the_mlp_step_counts_its_matmuls(mlp_profile):
    result, steps_run = mlp_profile
    assert steps_run == STEPS * (CALLS + 1)  # the warm-up call plus the recorded ones
    table = {row.op_type: row for row in result["table"]}
    # 784-128-32-10: 3 forward matmuls, 5 backward (no gradient for the input images), per step;
    # oneDNN names them _MklMatMul / _MklNativeFusedMatMul, plain builds MatMul: count them all.
    matmuls = sum(row.count for name, row in table.items() if "MatMul" in name)
    assert matmuls == 8 * STEPS * CALLS
    # With op determinism on (any earlier `set_seed` in this process turns it on for good), the fused
    # loss kernel is replaced by smaller ops: then its LogSoftmax stands for it, once per step.
    from tensorflow.python.framework import config

    loss_op = "LogSoftmax" if config.is_op_determinism_enabled() else "SoftmaxCrossEntropyWithLogits"
    assert table[loss_op].count == STEPS * CALLS, sorted(table)
    assert sum(row.share for row in result["table"]) == pytest.approx(1.0)
    assert all(0 <= row.self_us <= row.total_us for row in result["table"])
    assert [row.self_us for row in result["table"]] == sorted((row.self_us for row in result["table"]), reverse=True)
    assert result["step_us"] > 0 and result["op_us_per_step"] > 0
    assert len(profiling.function_call_us(profiling.read_xspace(result["xplane"]))) == CALLS
    text = profiling.format_op_table(result["table"], limit=3)
    assert text.splitlines()[1].split()[0] == result["table"][0].op_type
    assert "other op types" in text.splitlines()[-1]


def _space(events):
    """An XSpace with one host line holding events [(name, offset_ps, duration_ps)]."""
    space = xplane_pb2.XSpace()
    plane = space.planes.add(name="/host:CPU")
    line = plane.lines.add(name="tf_Compute/1")
    for index, (name, offset, duration) in enumerate(events, start=1):
        plane.event_metadata[index].id = index
        plane.event_metadata[index].name = name
        line.events.add(metadata_id=index, offset_ps=offset, duration_ps=duration)
    return space


def test_self_time_subtracts_nested_ops_only():
    space = _space([
        ("loop:While", 0, 1000),
        ("loop/body/MatMul:MatMul", 100, 300),
        ("ExecutorState::Process", 450, 100),  # bookkeeping: not an op, not subtracted
        ("loop/body/Relu:Relu", 600, 200),
        ("after:AddV2", 1000, 50),  # starts where While ends: not nested
    ])
    rows = {row.op_type: row for row in profiling.op_table(space)}
    assert set(rows) == {"While", "MatMul", "Relu", "AddV2"}
    assert rows["While"].total_us == pytest.approx(1000 / 1e6)
    assert rows["While"].self_us == pytest.approx(500 / 1e6)
    assert rows["AddV2"].self_us == pytest.approx(50 / 1e6)
    assert rows["MatMul"].share == pytest.approx(300 / 1050)


def test_bad_inputs_say_what_was_expected(tmp_path):
    with pytest.raises(ValueError, match=r"\.xplane\.pb"):
        profiling.read_xspace(tmp_path / "trace.json.gz")
    with pytest.raises(ValueError, match="no TensorFlow op events"):
        profiling.op_table(_space([("ExecutorState::Process", 0, 10)]))
    with pytest.raises(ValueError, match="calls must be a positive"):
        profiling.trace(lambda: None, str(tmp_path), calls=0)

"""Model parallel: hidden1 on one device, hidden2 on another, and the Send/Recv TensorFlow inserts."""

import math

from tfcourse.distribute import modelparallel


def test_activations_and_their_gradient_cross_devices_through_send_recv():
    ops, transfers, loss = modelparallel.model_parallel_step(("/cpu:0", "/cpu:1"), batch_size=32)
    assert set(ops) == {"CPU:0", "CPU:1"}
    # hidden1's matmul runs on CPU:0, hidden2's and the softmax layer's on CPU:1.
    # (Grappler may have fused them: _FusedMatMul, oneDNN variants.)
    assert any("MatMul" in op for op in ops["CPU:0"])
    assert sum("MatMul" in op for op in ops["CPU:1"]) >= 2
    forward = [t for t in transfers if t.tensor_name.endswith("hidden1_activations")]
    assert {(t.op, t.send_device, t.recv_device) for t in forward} == {
        ("_Send", "CPU:0", "CPU:1"), ("_Recv", "CPU:0", "CPU:1")}
    backward = [t for t in transfers if "grad" in t.tensor_name and t.send_device == "CPU:1"]
    assert {t.op for t in backward} == {"_Send", "_Recv"} and all(t.recv_device == "CPU:0" for t in backward)
    assert "_Send" in ops["CPU:0"] and "_Recv" in ops["CPU:1"]
    assert math.isfinite(loss) and 1.5 < loss < 3.5  # random labels: about log(10)


def test_one_device_needs_no_transfers_between_layers():
    _, transfers, _ = modelparallel.model_parallel_step(("/cpu:0", "/cpu:0"), batch_size=8)
    assert not [t for t in transfers if "hidden1_activations" in t.tensor_name]

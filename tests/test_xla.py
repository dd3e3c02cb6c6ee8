"""XLA: the talk's matmul + add + ReLU example, compiled and read back from the optimized HLO."""

import numpy as np
import pytest
import tensorflow as tf

from tfcourse import xla


@pytest.fixture(scope="module")
def dense_relu_report():
    x = tf.random.stateless_normal([8, 4], seed=[1, 2])
    w = tf.random.stateless_normal([4, 3], seed=[3, 4])
    b = tf.random.stateless_normal([3], seed=[5, 6])
    return xla.show_fusions(xla.dense_relu, x, w, b, print_report=False), (x, w, b)


def test_bias_add_and_relu_fuse_into_one_kernel(dense_relu_report):
    report, _ = dense_relu_report
    # On CPU the matmul stays a library call (dot) and add + ReLU become one loop kernel.
    relu_fusions = [f for f in report.fusions if "maximum" in f.hlo_ops and "add" in f.hlo_ops]
    assert len(relu_fusions) == 1
    assert {"AddV2", "Relu"} <= set(relu_fusions[0].tf_ops)
    after = xla.op_counts(report.optimized_hlo)
    assert after["add"] == 0 and after["maximum"] == 0, "add/maximum must live only inside the fusion"
    assert after["dot"] + after["fusion"] == report.kernels
    before = xla.op_counts(report.hlo)
    assert before["add"] == 1 and before["maximum"] == 1 and before["dot"] == 1
    assert report.kernels < report.hlo_ops


def test_compiled_result_matches_eager(dense_relu_report):
    _, (x, w, b) = dense_relu_report
    compiled = tf.function(xla.dense_relu, jit_compile=True)
    np.testing.assert_allclose(compiled(x, w, b).numpy(), xla.dense_relu(x, w, b).numpy(), rtol=1e-5, atol=1e-6)


def test_parse_hlo_handles_tuple_shapes_and_rejects_garbage():
    text = """HloModule m

ENTRY %main (p: f32[2]) -> (f32[2], f32[2]) {
  %p = f32[2]{0} parameter(0)
  %n = f32[2]{0} negate(f32[2]{0} %p), metadata={op_type="Neg" op_name="neg"}
  ROOT %t = (f32[2]{0}, f32[2]{0}) tuple(%n, %p)
}
"""
    parsed = xla.parse_hlo(text)
    assert [i.opcode for i in parsed["ENTRY"]] == ["parameter", "negate", "tuple"]
    assert parsed["ENTRY"][1].op_type == "Neg"
    assert parsed["ENTRY"][2].shape == "(f32[2]{0}, f32[2]{0})"
    assert xla.op_counts(text) == {"negate": 1}
    with pytest.raises(ValueError, match="ENTRY"):
        xla.parse_hlo("not hlo at all")


def test_loop_collapse_is_the_dynamic_slice_padded_to_the_whole_dataset():
    shapes = xla.loop_slice_shapes(num_examples=2000, batch_size=100)
    # images[s:s+B] in a compiled loop slices the bounding [2000, 784] tensor every step;
    # tf.slice with a stated size slices [100, 784].
    assert "f32[2000,784]" in shapes["python_slice"]
    assert "f32[100,784]" not in shapes["python_slice"]
    assert shapes["tf_slice"] == ["f32[100,784]"]

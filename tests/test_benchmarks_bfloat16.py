"""The mixed_bfloat16 benchmarks credit each precision its steps and really compute in bfloat16.

A benchmark whose "bfloat16" run silently computed in float32 (a policy set after the layers
were built, a cast lost) would report a speed-up of 1.00x and equal precision for nothing, so
these read the dtypes from the traced graphs, not from the settings.
"""

import argparse
import importlib.util
import os

import numpy as np
import tensorflow as tf

from tfcourse import mnist
from tfcourse.datasets import read_data_sets

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_benchmark(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "benchmarks", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_small_resnet_both_precisions_credited_their_steps_and_bf16_convolves_in_bfloat16():
    bench = load_benchmark("small_resnet_bfloat16")
    # 7 steps in rounds of 3: an untimed round 0, a full round and a 1-step remainder.
    args = argparse.Namespace(steps=7, round_steps=3, batch_size=8, learning_rate=0.05, image_size=8,
                              eval_examples=40)
    rows = {row["precision"]: row for row in bench.train_seed(read_data_sets(), 0, args)}
    assert set(rows) == {"float32", "mixed_bfloat16"}
    for row in rows.values():
        assert row["steps_run"] == row["steps_credited"] == 7, row  # the optimizer's own counter
        assert len(row["images_per_s_rounds"]) == 2 and min(row["images_per_s_rounds"]) > 0
        assert row["test_examples"] == 40 and 0 <= row["test_precision"] <= 1
        assert np.isfinite(row["last_loss"])
    # The speed verdict pairs round i of bfloat16 with round i of float32; rounds already timed
    # stand in for a new run (one round each after round 0 gives one pair).
    ratio = bench.seed_ratio(list(rows.values()), 0)
    per_round = [b / f for b, f in zip(rows["mixed_bfloat16"]["images_per_s_rounds"],
                                       rows["float32"]["images_per_s_rounds"])]
    assert ratio.rounds == 2 and (ratio.low, ratio.high) == (min(per_round), max(per_round))
    for precision, dtype in (("float32", "float32"), ("mixed_bfloat16", "bfloat16")):
        assert rows[precision]["compute_dtype"] == dtype
        assert rows[precision]["conv_op_dtypes"] == {op: [dtype] for op in bench.CONV_OPS}, precision


def test_mlp_bfloat16_forward_multiplies_in_bfloat16_and_returns_float32_logits():
    bench = load_benchmark("mlp_bfloat16")
    model = mnist.MLP(128, 32, seed=0)
    images = tf.random.stateless_uniform([4, 784], seed=[0, 1])
    for precision, dtype in bench.PRECISIONS.items():
        graph = tf.function(lambda x, dtype=dtype: bench.forward(model, x, dtype)).get_concrete_function(images).graph
        matmuls = [op for op in graph.get_operations() if op.type == "MatMul"]
        assert len(matmuls) == 3 and {op.get_attr("T") for op in matmuls} == {dtype}, precision
        assert graph.outputs[0].dtype == tf.float32


def test_small_resnet_speed_verdict_pairs_rounds_not_best_rounds():
    """One outlier float32 round (300) would make bfloat16 look 0.40x by best rounds; it won 2 of 3."""
    bench = load_benchmark("small_resnet_bfloat16")
    rows = [{"seed": 0, "precision": "float32", "images_per_s_rounds": [100, 100, 300]},
            {"seed": 0, "precision": "mixed_bfloat16", "images_per_s_rounds": [110, 120, 120]}]
    ratio = bench.seed_ratio(rows, 0)
    assert ratio.median == 1.1 and ratio.wins == 2 and ratio.best == 0.4

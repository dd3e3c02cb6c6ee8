"""Exercises of notebook 00: independent oracles, other right answers, wrong answers no catalogue names."""

import textwrap

import numpy as np
import pytest
import tensorflow as tf

from tfcourse import graphs
from tfcourse.exercises import core, nb00


def answer(source, name):
    return core.run_source(textwrap.dedent(source), name, f"<{name} test>")


def test_q1_the_trace_count_matches_tracing_by_hand():
    # Oracle: TensorFlow's own count of concrete functions for the same calls.
    @tf.function
    def scale(x, factor):
        return x * factor

    for x, factor in [([1.0, 2.0], 2.0), ([3.0, 4.0], 2.0), ([5.0, 6.0], 3.0), ([1.0, 2.0, 3.0], 3.0),
                      ([7.0, 8.0], tf.constant(2.0)), ([9.0, 1.0], tf.constant(5.0))]:
        scale(tf.constant(x), factor)
    scale(tf.constant([1, 2]), 2)
    assert scale.experimental_get_tracing_count() == nb00.q1.reference() == 5


@pytest.mark.parametrize("right", [5, 5.0, np.int64(5)])
def test_q1_accepts_the_count_in_any_form(right):
    assert nb00.q1.evaluate(right).status == "passed"


@pytest.mark.parametrize("wrong", [3, 2])
def test_q1_uncatalogued_counts_say_expected_and_got(wrong):
    result = nb00.q1.evaluate(wrong)
    assert (result.status, result.mistake) == ("mistake", core.WRONG_RESULT)
    assert f"expected 5, got {wrong}" in result.message


COUNT_RIGHT = [
    """\
    def count_ops(function, spec, op_type):
        graph = tf.function(function).get_concrete_function(spec).graph
        return sum(1 for op in graph.get_operations() if op.type == op_type)
    """,
    """\
    import collections

    def count_ops(function, spec, op_type):
        traced = tf.function(function)
        types = collections.Counter(op.type for op in traced.get_concrete_function(spec).graph.get_operations())
        return float(types[op_type])
    """,
    """\
    def count_ops(function, spec, op_type):
        graph_def = tf.function(function).get_concrete_function(spec).graph.as_graph_def()
        return np.int64(len([node for node in graph_def.node if node.op == op_type]))
    """,
]


def test_q2_the_reference_agrees_with_the_library_count():
    for case in nb00.q2.cases():
        function, spec, op_type = case.input
        oracle = graphs.op_type_counts(graphs.trace_graph(function, spec))[op_type]
        assert nb00.q2.reference()(function, spec, op_type) == oracle, case.label


@pytest.mark.parametrize("source", COUNT_RIGHT)
def test_q2_other_right_answers_pass(source):
    result = nb00.q2.evaluate(answer(source, "count_ops"))
    assert result.status == "passed", result.message


@pytest.mark.parametrize("source,says", [
    ("""\
    def count_ops(function, spec, op_type):
        graph = tf.function(function).get_concrete_function(spec).graph
        return len([op for op in graph.get_operations() if op.type == op_type]) + 1
    """, "on three matmuls, count MatMul: expected 3, got 4"),
    ("""\
    def count_ops(function, spec, op_type):
        graph = tf.function(function).get_concrete_function(spec).graph
        return len({op.type for op in graph.get_operations() if op_type.lower() in op.type.lower()})
    """, "on three matmuls, count MatMul: expected 3, got 1"),
])
def test_q2_uncatalogued_wrong_answers_show_expected_got_and_case(source, says):
    result = nb00.q2.evaluate(answer(source, "count_ops"))
    assert (result.status, result.mistake) == ("mistake", core.WRONG_RESULT)
    assert says in result.message, result.message


ACCUMULATOR_RIGHT = [
    """\
    def make_accumulator():
        total = tf.Variable(0.0, dtype=tf.float32)

        @tf.function
        def add(x):
            return total.assign_add(x)

        return add
    """,
    """\
    def make_accumulator():
        state = {}

        @tf.function
        def add(x):
            if "total" not in state:  # a tf.function may create its variables on the first call
                state["total"] = tf.Variable(0.0)
            state["total"].assign_add(x)
            return state["total"] + 0.0
        return add
    """,
]


def test_q3_reference_gives_numpy_running_sums():
    for case in nb00.q3.cases():
        add = nb00.q3.reference()()
        got = [float(add(tf.constant(v))) for v in case.input[0]]
        np.testing.assert_allclose(got, np.cumsum(case.input[0]))


@pytest.mark.parametrize("source", ACCUMULATOR_RIGHT)
def test_q3_other_right_answers_pass(source):
    result = nb00.q3.evaluate(answer(source, "make_accumulator"))
    assert result.status == "passed", result.message


@pytest.mark.parametrize("source,says", [
    ("""\
    def make_accumulator():
        total = tf.Variable(0.0)

        @tf.function
        def add(x):
            total.assign_add(x)
            return total * 2.0
        return add
    """, "on calls with 1, 2, 3: in 'totals': expected [1. 3. 6.], got [ 2. 6. 12.]"),
    ("""\
    def make_accumulator():
        total = tf.Variable(0.0)

        @tf.function
        def add(x):
            old = total.read_value()
            total.assign_add(x)
            return old
        return add
    """, "expected [1. 3. 6.], got [0. 1. 3.]"),
])
def test_q3_uncatalogued_wrong_answers_show_expected_got_and_where(source, says):
    result = nb00.q3.evaluate(answer(source, "make_accumulator"))
    assert (result.status, result.mistake) == ("mistake", core.WRONG_RESULT)
    assert says in result.message, result.message


def test_q3_a_plain_python_function_is_refused():
    plain = answer("""\
    def make_accumulator():
        total = tf.Variable(0.0)
        def add(x):
            total.assign_add(x)
            return total.read_value()
        return add
    """, "make_accumulator")
    result = nb00.q3.evaluate(plain)
    assert result.status == "error" and "tf.function" in result.message


def test_q4_the_send_count_matches_the_library_partition():
    namespace = {"tf": tf}
    exec(nb00.SEND_SNIPPET, namespace)  # noqa: S102 - the prompt's snippet
    _, partitions = graphs.partition_graphs(namespace["graph"], namespace["outputs"],
                                            {namespace["inputs"]: [[1.0, 2.0, 3.0]]})
    sends = sum(op_type == "_Send" for ops in partitions.values() for _, op_type in ops)
    assert sends == nb00.q4.reference() == 2


@pytest.mark.parametrize("right,wrong", [(2, 5), (np.int32(2), 0)])
def test_q4_right_forms_pass_and_other_counts_fail(right, wrong):
    assert nb00.q4.evaluate(right).status == "passed"
    result = nb00.q4.evaluate(wrong)
    assert result.status == "mistake" and f"expected 2, got {wrong}" in result.message

"""Exercises of notebook 00 (graphs, tracing, ops): retracing, counting ops, state in a
tf.function, and the Send/Recv pairs the master inserts.

    from tfcourse.exercises import nb00 as ex

The predictions are checked by running the very snippet the prompt shows; the written answers
by tracing them and running them on several inputs.
"""

import functools
import linecache
import textwrap

import numpy as np

from tfcourse.exercises.core import (
    AnswerError,
    Case,
    FunctionExercise,
    Mistake,
    ValueExercise,
    answered,
    compare_counts,
)

# ---------------------------------------------------------------- q1: predict the traces

RETRACE_SNIPPET = textwrap.dedent("""\
    traces = 0


    @tf.function
    def scale(x, factor):
        global traces
        traces += 1  # Python: runs once per trace
        return x * factor


    scale(tf.constant([1.0, 2.0]), 2.0)
    scale(tf.constant([3.0, 4.0]), 2.0)
    scale(tf.constant([5.0, 6.0]), 3.0)
    scale(tf.constant([1.0, 2.0, 3.0]), 3.0)
    scale(tf.constant([7.0, 8.0]), tf.constant(2.0))
    scale(tf.constant([9.0, 1.0]), tf.constant(5.0))
    scale(tf.constant([1, 2]), 2)
    """)


def _run_snippet(source, filename):
    """Runs one of the prompts' snippets; registered with linecache so AutoGraph can read its source."""
    import tensorflow as tf

    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"tf": tf}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - our snippet
    return namespace


@functools.cache
def _traces_of_snippet():
    return _run_snippet(RETRACE_SNIPPET, "<nb00 retrace>")["traces"]


q1 = ValueExercise(
    "nb00.q1", "predicted_traces", "predict how often it traces",
    prompt=(
        "Predict, then let the check run it: how many times is `scale` traced (so how many times does "
        "`traces += 1` run) during these seven calls?\n\n```python\n" + RETRACE_SNIPPET + "```\n\n"
        "Set `predicted_traces` to the number."),
    skeleton="predicted_traces = ...\n",
    solution=("predicted_traces = 5  # new: first call; factor 3.0 (a Python value); shape [3]; "
              "factor a tensor; int32 x\n"),
    hints=["A call traces again when its input signature is new: a tensor's dtype and shape, and the *value* of "
           "each plain Python argument.",
           "Go call by call: call 2 reuses call 1's graph; a new Python number (3.0) is a new signature; so are "
           "a new shape, a tensor where a Python float was, and an int32 tensor. A tensor argument's value "
           "never causes a trace."],
    mistakes=[
        Mistake("one_trace", "one trace would mean every call fits the first graph, but a new shape, a new dtype, "
                "and a new Python value each make `tf.function` trace again.",
                "predicted_traces = 1\n", detect=answered(1)),
        Mistake("every_call_traces", "not every call traces: call 2 has the same shapes, dtypes and Python value "
                "as call 1, and call 6 the same as call 5 (a tensor's *value* is not part of the signature).",
                "predicted_traces = 7\n", detect=answered(7)),
        Mistake("python_value_ignored", "a plain Python number is part of the signature by its value: "
                "`factor=3.0` after `factor=2.0` traces again.",
                "predicted_traces = 4\n", detect=answered(4)),
        Mistake("tensor_value_counted", "a tensor argument's value is not part of the signature (only its dtype "
                "and shape): `tf.constant(5.0)` after `tf.constant(2.0)` reuses the graph.",
                "predicted_traces = 6\n", detect=answered(6)),
    ],
    expected=_traces_of_snippet,
    explain=lambda count: f"running it, `scale` was traced {count} times.",
)

# ---------------------------------------------------------------- q2: count the ops of a type

COUNT_SOLUTION = '''\
def count_ops(function, spec, op_type):
    """The number of ops of type `op_type` in the graph tf.function traces from `function` for `spec`."""
    concrete = tf.function(function).get_concrete_function(spec)
    return len([op for op in concrete.graph.get_operations() if op.type == op_type])
'''


def _count_cases():
    import tensorflow as tf

    def two_layers(x):
        hidden = tf.nn.relu(tf.matmul(x, tf.ones([4, 3])))
        return tf.matmul(hidden, tf.ones([3, 2])) + tf.matmul(x, tf.ones([4, 2]))

    def unrolled(x):
        for _ in range(4):  # a Python loop runs while tracing: four copies of its ops
            x = tf.tanh(x) * 0.5
        return x

    def no_relu(x):
        return tf.matmul(x, tf.ones([4, 4]))

    def relu_twice(x):
        return tf.nn.relu(x) - tf.nn.relu(-x)

    spec = tf.TensorSpec([None, 4], tf.float32)
    return [Case("three matmuls, count MatMul", (two_layers, spec, "MatMul")),
            Case("three matmuls, count Mul (none)", (two_layers, spec, "Mul")),
            Case("a Python loop of 4 rounds, count Tanh", (unrolled, spec, "Tanh")),
            Case("the same loop, count Mul", (unrolled, spec, "Mul")),
            Case("one matmul, count Relu (none)", (no_relu, spec, "Relu")),
            Case("two relus, count Relu", (relu_twice, spec, "Relu")),
            Case("two relus, batch of 2, count Neg", (relu_twice, tf.TensorSpec([2, 4]), "Neg"))]


def _run_count(function, case_input):
    count = function(*case_input)
    if isinstance(count, (list, tuple, dict)):
        raise AnswerError(f"expected a number of ops, got {type(count).__name__}: return how many there are")
    return count


q2 = FunctionExercise(
    "nb00.q2", "count_ops", "count the ops of one type",
    prompt=(
        "Write `count_ops(function, spec, op_type)`: trace `function` with `tf.function` for the input "
        "`spec` (a `tf.TensorSpec`), and return how many ops of type `op_type` (e.g. `\"MatMul\"`, `\"Relu\"`) "
        "the traced `tf.Graph` holds (`function` is a plain Python function). Use the graph's own API, not the "
        "course library."),
    skeleton='''\
def count_ops(function, spec, op_type):
    """The number of ops of type `op_type` in the graph tf.function traces from `function` for `spec`."""
    ...
''',
    solution=COUNT_SOLUTION,
    hints=["Section 2 gets a graph in two calls: `tf.function(f)` then `.get_concrete_function(spec).graph`.",
           "`graph.get_operations()` lists every op; each has a `.type` such as `\"MatMul\"`: count those equal "
           "to `op_type`."],
    mistakes=[
        Mistake("counted_all_ops",
                "you returned the number of all ops in the graph: count only those whose `op.type == op_type`.",
                COUNT_SOLUTION.replace(" if op.type == op_type", "")),
        Mistake("matched_names",
                "you compared the op's *name* (unique, like `\"MatMul_1\"`), not its *type*: use `op.type`.",
                COUNT_SOLUTION.replace("op.type == op_type", "op.name == op_type")),
        Mistake("substring_match",
                "you counted every op whose type *contains* `op_type` (`\"Mul\"` matches `\"MatMul\"` too): "
                "compare the type with `==`.",
                COUNT_SOLUTION.replace("op.type == op_type", "op_type in op.type")),
    ],
    cases=_count_cases, run=_run_count, compare=compare_counts,
)

# ---------------------------------------------------------------- q3: state that survives tracing

ACCUMULATOR_SOLUTION = '''\
def make_accumulator():
    """A tf.function add(x) returning the running total of every x it was called with."""
    total = tf.Variable(0.0)

    @tf.function
    def add(x):
        total.assign_add(x)
        return total.read_value()

    return add
'''

BROKEN_ACCUMULATOR = '''\
def make_accumulator():
    total = 0.0

    @tf.function
    def add(x):
        nonlocal total
        total += x  # Python: runs only while tracing
        return total

    return add
'''


def _accumulator_cases():
    return [Case("calls with 1, 2, 3", ([1.0, 2.0, 3.0],)),
            Case("calls with 0.5, -2, 10, 4", ([0.5, -2.0, 10.0, 4.0],))]


def _run_accumulator(function, case_input):
    """Makes two accumulators, calls the first with the values and the second once: their returns."""
    import tensorflow as tf

    (values,) = case_input
    add = function()
    if not callable(add):
        raise AnswerError(f"expected `make_accumulator()` to return a function, got {type(add).__name__}")
    if not hasattr(add, "get_concrete_function"):
        raise AnswerError("expected `make_accumulator()` to return a `tf.function`: decorate `add` with "
                          "`@tf.function`")
    totals = [float(add(tf.constant(value))) for value in values]
    fresh = float(function()(tf.constant(1.0)))  # a new accumulator starts from zero
    return {"totals": np.asarray(totals), "fresh accumulator after one call with 1.0": np.asarray(fresh),
            "calls": np.asarray(values)}


def _shared_total(outcomes):
    """The totals run on (maybe from an earlier accumulator's total), and a new accumulator does not
    start from zero."""
    return all(o.error is None and np.allclose(np.diff(o.value["totals"]), o.value["calls"][1:]) for o in outcomes) \
        and any(float(o.value["fresh accumulator after one call with 1.0"]) != 1.0 for o in outcomes)


q3 = FunctionExercise(
    "nb00.q3", "make_accumulator", "fix a side effect that runs once",
    prompt=(
        "This accumulator should return the running total of everything it was called with, but every call "
        "returns only its own `x`:\n\n```python\n" + BROKEN_ACCUMULATOR + "```\n\n"
        "Fix it: write `make_accumulator()` returning a `tf.function` `add(x)` (x a float32 scalar tensor) whose "
        "calls with 1, 2, 3 return 1, 3, 6. Each `make_accumulator()` call starts a new total at 0."),
    skeleton='''\
def make_accumulator():
    """A tf.function add(x) returning the running total of every x it was called with."""
    ...
''',
    solution=ACCUMULATOR_SOLUTION,
    hints=["`total += x` is Python: it runs while tracing, once, and the graph keeps only the addition it "
           "saw then. State the graph must change on every call lives in a `tf.Variable`.",
           "Create `total = tf.Variable(0.0)` in `make_accumulator` (outside `add`), and in `add` call "
           "`total.assign_add(x)` and return the total."],
    mistakes=[
        Mistake("python_state",
                "each call returned only its own `x`: the Python `total += x` ran once, while tracing. Keep the "
                "total in a `tf.Variable` and update it with `assign_add`.",
                BROKEN_ACCUMULATOR),
        Mistake("variable_created_each_call",
                "creating the `tf.Variable` inside `add` makes a new variable per trace (TensorFlow refuses a "
                "second one): create it once, in `make_accumulator`, outside the `tf.function`.",
                ACCUMULATOR_SOLUTION.replace("    total = tf.Variable(0.0)\n\n", "").replace(
                    "    def add(x):\n", "    def add(x):\n        total = tf.Variable(0.0)\n"),
                detect=lambda outcomes: all(o.error is not None and "Variable" in str(o.error) for o in outcomes)),
        Mistake("shared_total",
                "a second accumulator goes on from the first one's total: create the variable inside "
                "`make_accumulator`, so each call makes its own.",
                "_total = tf.Variable(0.0)\n\n\n" + ACCUMULATOR_SOLUTION.replace(
                    "    total = tf.Variable(0.0)\n", "    total = _total\n"),
                detect=_shared_total),
    ],
    cases=_accumulator_cases, run=_run_accumulator,
)

# ---------------------------------------------------------------- q4: predict the Send ops

SEND_SNIPPET = textwrap.dedent("""\
    graph = tf.Graph()
    with graph.as_default():
        with tf.device("/cpu:0"):
            inputs = tf.compat.v1.placeholder(tf.float32, [None, 3], name="inputs")
            hidden = tf.matmul(inputs, tf.ones([3, 2]))
        with tf.device("/cpu:1"):
            positive = tf.nn.relu(hidden)
            negative = tf.nn.relu(-hidden)
            both = positive + negative
        with tf.device("/cpu:0"):
            outputs = both * 2.0
    """)


@functools.cache
def _sends_of_snippet():
    import tensorflow as tf

    namespace = _run_snippet(SEND_SNIPPET, "<nb00 sends>")
    config = tf.compat.v1.ConfigProto(device_count={"CPU": 2})
    options = tf.compat.v1.RunOptions(output_partition_graphs=True)
    metadata = tf.compat.v1.RunMetadata()
    with tf.compat.v1.Session(graph=namespace["graph"], config=config) as session:
        session.run(namespace["outputs"], {namespace["inputs"]: [[1.0, 2.0, 3.0]]}, options=options,
                    run_metadata=metadata)
    return sum(node.op == "_Send" for partition in metadata.partition_graphs for node in partition.node)


q4 = ValueExercise(
    "nb00.q4", "predicted_sends", "predict the Send ops",
    prompt=(
        "Predict, then let the check run it: the graph below runs in a `Session` with two CPU devices, "
        "fetching `outputs` and feeding `inputs` (as in section 4).\n\n```python\n" + SEND_SNIPPET + "```\n\n"
        "How many `_Send` ops do the partition graphs hold, all devices together? Set `predicted_sends`."),
    skeleton="predicted_sends = ...\n",
    solution="predicted_sends = 2  # hidden: CPU:0 -> CPU:1 once (two consumers, one tensor); both: CPU:1 -> CPU:0\n",
    hints=["A `_Send`/`_Recv` pair goes on every edge that crosses from one device to another.",
           "One tensor sent to one device needs one pair, however many ops there read it. Which tensors cross, "
           "and in which direction?"],
    mistakes=[
        Mistake("one_per_consumer",
                "`hidden` goes to CPU:1 once, even though two ops read it there: the master sends each tensor "
                "once per destination device.",
                "predicted_sends = 3\n", detect=answered(3)),
        Mistake("one_direction_only",
                "the result comes back too: `both` is computed on CPU:1 and `outputs` on CPU:0, so a second "
                "tensor crosses, in the other direction.",
                "predicted_sends = 1\n", detect=answered(1)),
        Mistake("counted_pairs_twice",
                "that counts the `_Recv`s as well: every pair has one `_Send` and one `_Recv`.",
                "predicted_sends = 4\n", detect=answered(4)),
    ],
    expected=_sends_of_snippet,
    explain=lambda count: f"running it, the partition graphs hold {count} `_Send` ops.",
)

EXERCISES = [q1, q2, q3, q4]

"""Exercises of notebook 08 (XLA): counting fusions, a compiled layer for every batch size,
the talk's example on this CPU, and whether XLA is faster here.

    from tfcourse.exercises import nb08 as ex

The checks compile with XLA when they run (`experimental_get_compiler_ir`) and measure when a
prediction is about speed: no count or timing is written down here.
"""

import collections
import functools
import linecache
import re

import numpy as np

from tfcourse.exercises.core import (
    AnswerError,
    Case,
    FunctionExercise,
    Mistake,
    ValueExercise,
    answered,
    compare_values,
)

# ---------------------------------------------------------------- q1: count the fusions

FUSIONS_SOLUTION = '''\
def count_fusions(function, *args):
    """Compiles `function` with XLA for `args` and returns how many fusions (generated kernels)
    the optimised HLO holds: an int."""
    compiled = tf.function(function, jit_compile=True)
    hlo = compiled.experimental_get_compiler_ir(*args)(stage="optimized_hlo")
    # An instruction line reads `%name = f32[100,16]{1,0} fusion(%a, %b), kind=kLoop, calls=...`.
    return sum(1 for line in hlo.splitlines() if " fusion(" in line)
'''


def _fusion_cases():
    import tensorflow as tf

    rng = np.random.default_rng(7)

    def normal(*shape):
        return rng.normal(size=shape).astype(np.float32)

    def dense_relu(x, w, b):
        return tf.nn.relu(tf.matmul(x, w) + b)

    def matmul(x, w):
        return tf.matmul(x, w)

    def softmax(logits):
        return tf.nn.softmax(logits)

    def two_layers(x, w1, w2):
        return tf.nn.relu(tf.matmul(tf.nn.relu(tf.matmul(x, w1)), w2))

    return [
        Case("relu(x @ w + b), x [100, 784]", (dense_relu, normal(100, 784), normal(784, 16), np.zeros(16, np.float32))),
        Case("a matmul alone (nothing to fuse)", (matmul, normal(4, 8), normal(8, 3))),
        Case("softmax of [8, 10] logits", (softmax, normal(8, 10))),
        Case("two ReLU layers", (two_layers, normal(32, 784), normal(784, 16), normal(16, 10))),
    ]


def _run_count(function, case_input):
    fn, *args = case_input
    count = function(fn, *args)
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)):
        raise AnswerError(f"expected the number of fusions (an int), got {type(count).__name__}")
    return int(count)


def _count_difference(expected, got):
    return None if expected == got else f"expected {expected} fusion(s), got {got}"


def _every_case_raised(error_type, pattern):
    def detect(outcomes):
        return all(isinstance(o.error, error_type) and re.search(pattern, str(o.error)) for o in outcomes)
    return detect


q1 = FunctionExercise(
    "nb08.q1", "count_fusions", "compile with XLA and count the fusions",
    prompt=(
        "Write `count_fusions(function, *args)`: compile `function` with XLA, "
        "`tf.function(function, jit_compile=True)`, get the HLO program the compiler produced for `args` with "
        "`compiled.experimental_get_compiler_ir(*args)(stage=...)`, and return how many **fusions** it holds: "
        "each `fusion` instruction of the *optimised* HLO is one generated kernel. The check calls it on the "
        "talk's `relu(x @ w + b)`, a lone matmul, a softmax and two layers."),
    skeleton='''\
def count_fusions(function, *args):
    """Compiles `function` with XLA for `args` and returns how many fusions (generated kernels)
    the optimised HLO holds: an int."""
    ...
''',
    solution=FUSIONS_SOLUTION,
    hints=[
        "`experimental_get_compiler_ir(*args)` returns a function; call it with `stage=\"optimized_hlo\"` to get "
        "the HLO text after XLA's passes (the fusion pass among them).",
        "Print the text once for `relu(x @ w + b)`: a fusion is an instruction line like "
        "`%broadcast_maximum_fusion = f32[...] fusion(...), kind=kLoop, calls=%fused_computation`.",
        "Count the lines containing ` fusion(` (the opcode, followed by its operands); the word \"fusion\" "
        "also appears in instruction names, so counting the bare word counts too much.",
    ],
    mistakes=[
        Mistake("not_a_tf_function",
                "a plain Python function has no `experimental_get_compiler_ir`: wrap it first, "
                "`compiled = tf.function(function, jit_compile=True)`, and ask `compiled` for its HLO.",
                FUSIONS_SOLUTION.replace("hlo = compiled.experimental_get_compiler_ir",
                                         "hlo = function.experimental_get_compiler_ir"),
                detect=_every_case_raised(AttributeError, "experimental_get_compiler_ir")),
        Mistake("jit_compile_not_set",
                "your `tf.function` is not compiled with XLA, so there is no HLO to read: pass "
                "`jit_compile=True`, `tf.function(function, jit_compile=True)`.",
                FUSIONS_SOLUTION.replace("tf.function(function, jit_compile=True)", "tf.function(function)"),
                detect=_every_case_raised(ValueError, "jit_compile")),
        Mistake("unoptimised_hlo",
                "you counted in the HLO *before* XLA's passes (`stage=\"hlo\"`, also the default when no stage is "
                "given): fusion has not happened there yet. Ask for `stage=\"optimized_hlo\"`.",
                FUSIONS_SOLUTION.replace('(stage="optimized_hlo")', '(stage="hlo")')),
        Mistake("counted_the_word_fusion",
                "you counted every occurrence of the word \"fusion\", but fusion *names* contain it too "
                "(`%broadcast_maximum_fusion = ... fusion(...)`): count the instructions whose opcode is "
                "`fusion`, e.g. the lines containing ` fusion(`.",
                FUSIONS_SOLUTION.replace('return sum(1 for line in hlo.splitlines() if " fusion(" in line)',
                                         'return hlo.count("fusion")')),
    ],
    cases=_fusion_cases, run=_run_count, compare=_count_difference,
)

# ---------------------------------------------------------------- q2: a compiled layer for every batch size

LAYER_SOLUTION = '''\
@tf.function(jit_compile=True)
def hidden_layer(images, weights, biases):
    """The talk's layer, compiled with XLA: images float32 [batch, 28, 28], weights [784, units],
    biases [units] -> relu(images as [batch, 784] @ weights + biases), float32 [batch, units].
    Works for any batch size, known or not when traced."""
    flat = tf.reshape(images, [-1, 784])  # -1: the batch size, whatever it is when this runs
    return tf.nn.relu(tf.matmul(flat, weights) + biases)
'''

UNITS = 16


def _layer_cases():
    rng = np.random.default_rng(11)
    weights = (0.05 * rng.normal(size=[784, UNITS])).astype(np.float32)
    biases = (0.1 * rng.normal(size=[UNITS])).astype(np.float32)

    def case(label, batch):
        return Case(label, (rng.uniform(size=[batch, 28, 28]).astype(np.float32), weights, biases))

    return [case("a batch of 1", 1), case("a batch of 5", 5), case("a batch of 100", 100)]


def _run_layer(function, case_input):
    """Runs the answer -> {"output": array, "tf_function", "jit": bools, "any_batch": None or why a
    trace for an unknown batch size failed}."""
    import tensorflow as tf

    images, weights, biases = (tf.constant(a) for a in case_input)
    output = function(images, weights, biases)
    if not isinstance(output, (tf.Tensor, np.ndarray)):
        raise AnswerError(f"expected a float32 tensor [batch, {UNITS}] from `hidden_layer`, got {type(output).__name__}")
    result = {"output": np.asarray(output), "tf_function": hasattr(function, "experimental_get_compiler_ir"),
              "jit": False, "any_batch": None}
    if result["tf_function"]:
        try:
            function.experimental_get_compiler_ir(images, weights, biases)(stage="hlo")
            result["jit"] = True
        except ValueError as error:
            if "jit_compile" not in str(error):
                raise
        try:
            # One trace for every batch size: the batch dimension unknown (None) while tracing.
            function.get_concrete_function(tf.TensorSpec([None, 28, 28], tf.float32),
                                           tf.TensorSpec(weights.shape, tf.float32),
                                           tf.TensorSpec(biases.shape, tf.float32))
        except (TypeError, ValueError) as error:
            result["any_batch"] = f"{type(error).__name__}: {str(error).strip().splitlines()[-1][:200]}"
    return result


def _compare_layers(expected, got):
    difference = compare_values(expected["output"], got["output"], rtol=1e-4, atol=1e-5)
    if difference:
        return difference
    if not got["tf_function"]:
        return "`hidden_layer` is a plain Python function: decorate it with `@tf.function(jit_compile=True)`"
    if not got["jit"]:
        return "`hidden_layer` is not compiled with XLA: `@tf.function(jit_compile=True)`"
    if got["any_batch"]:
        return f"`hidden_layer` cannot be traced for an unknown batch size ({got['any_batch']})"
    return None


def _right_outputs_but(predicate):
    def detect(outcomes):
        return all(o.error is None for o in outcomes) and all(
            compare_values(e.value["output"], o.value["output"], rtol=1e-4, atol=1e-5) is None and predicate(o.value)
            for o, e in zip(outcomes, q2._expected()))
    return detect


q2 = FunctionExercise(
    "nb08.q2", "hidden_layer", "a compiled layer for every batch size",
    prompt=(
        "Write `hidden_layer(images, weights, biases)`, the talk's fusion example as a layer compiled with XLA: "
        "decorate it with `@tf.function(jit_compile=True)`, flatten `images` (float32 `[batch, 28, 28]`) to "
        "`[batch, 784]`, and return `relu(flat @ weights + biases)`. It must not depend on the batch size in "
        "Python: one trace should serve batches of any size (the check traces it with the batch size unknown, "
        "then runs batches of 1, 5 and 100)."),
    skeleton='''\
@tf.function(jit_compile=True)
def hidden_layer(images, weights, biases):
    """The talk's layer, compiled with XLA: images float32 [batch, 28, 28], weights [784, units],
    biases [units] -> relu(images as [batch, 784] @ weights + biases), float32 [batch, units].
    Works for any batch size, known or not when traced."""
    ...
''',
    solution=LAYER_SOLUTION,
    hints=[
        "Three ops: `tf.reshape`, `tf.matmul` plus the biases, `tf.nn.relu`; XLA fuses the add and the ReLU.",
        "`images.shape[0]` is a Python number fixed when the function is traced: a new batch size means a new "
        "trace and a new compilation, and with the batch size unknown it is `None`.",
        "Let TensorFlow work out the batch size when the function runs: `tf.reshape(images, [-1, 784])` "
        "(or `tf.shape(images)[0]`, a tensor).",
    ],
    mistakes=[
        Mistake("not_a_tf_function",
                "the numbers are right, but this is plain Python, run op by op and never compiled: decorate it "
                "with `@tf.function(jit_compile=True)`.",
                LAYER_SOLUTION.replace("@tf.function(jit_compile=True)\n", ""),
                detect=_right_outputs_but(lambda got: not got["tf_function"])),
        Mistake("jit_compile_not_set",
                "the numbers are right, but `@tf.function` alone builds a graph without XLA: add "
                "`jit_compile=True`, `@tf.function(jit_compile=True)`.",
                LAYER_SOLUTION.replace("@tf.function(jit_compile=True)", "@tf.function"),
                detect=_right_outputs_but(lambda got: got["tf_function"] and not got["jit"])),
        Mistake("static_batch_size",
                "your layer reads the batch size in Python (`images.shape[0]` or `len(images)`): a Python "
                "number fixed at trace time, so every new batch size retraces and recompiles, and with the "
                "batch size unknown it is `None` and fails. Use `tf.reshape(images, [-1, 784])`.",
                LAYER_SOLUTION.replace("tf.reshape(images, [-1, 784])", "tf.reshape(images, [images.shape[0], 784])"),
                detect=lambda outcomes: _right_outputs_but(
                    lambda got: got["tf_function"] and got["jit"] and got["any_batch"])(outcomes)
                or _every_case_raised((TypeError, ValueError), r"None")(outcomes)),
        Mistake("forgot_relu",
                "your layer gives negative numbers: the ReLU is missing. Return "
                "`tf.nn.relu(tf.matmul(flat, weights) + biases)`.",
                LAYER_SOLUTION.replace("return tf.nn.relu(tf.matmul(flat, weights) + biases)",
                                       "return tf.matmul(flat, weights) + biases")),
    ],
    cases=_layer_cases, run=_run_layer, compare=_compare_layers,
)

# ---------------------------------------------------------------- q3: the talk's example on this CPU


def _talk_example_hlo():
    """The optimised HLO of relu(x @ w + b) at the notebook's shapes: x [100, 784], w [784, 128]."""
    import tensorflow as tf

    from tfcourse import xla

    x = tf.random.stateless_normal([100, 784], seed=[0, 1])
    w = tf.random.stateless_normal([784, 128], seed=[0, 2])
    return xla.compiler_ir(xla.dense_relu, x, w, tf.zeros([128]))


def _talk_example_fusions():
    from tfcourse import xla

    return len(xla.fusions(_talk_example_hlo()))


def _explain_fusions(value):
    from tfcourse import xla

    text = _talk_example_hlo()
    inside = "; ".join(f"{', '.join(f.hlo_ops)} (from TF {', '.join(f.tf_ops)})" for f in xla.fusions(text))
    outside = dict(xla.op_counts(text) - collections.Counter(fusion=value))
    return f"compiling it here gives {value} fusion(s): {inside}; outside any fusion: {outside}."


def _compare_whole_number(expected, got):
    if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
        raise AnswerError(f"expected a whole number, got {type(got).__name__}")
    return compare_values(expected, got, rtol=0, atol=0)


q3 = ValueExercise(
    "nb08.q3", "talk_example_fusions", "the talk's example on this CPU",
    prompt=(
        "The talk's picture: XLA fuses matmul, add and ReLU. On this machine's CPU, how many **fusions** does "
        "`relu(x @ w + b)` become (x `[100, 784]`, w `[784, 128]`, as in section 1)? Set "
        "`talk_example_fusions` to the number. The check compiles it and counts."),
    skeleton="talk_example_fusions = ...\n",
    solution="talk_example_fusions = 1  # add + ReLU in one loop kernel; the dot stays a matmul library call\n",
    hints=["Section 1 printed the optimised HLO's fusions and what is left outside them.",
           "On CPU the `dot` is not fused: XLA calls the optimised matmul library for it. What about add and ReLU?"],
    mistakes=[
        Mistake("one_kernel_per_op",
                "XLA did fuse: the add and the ReLU became one loop kernel (the intermediate `x @ w + b` is never "
                "written to memory). Three would mean no fusion at all.",
                "talk_example_fusions = 3\n", detect=answered(3)),
        Mistake("nothing_fused",
                "there is a fusion: the add and the ReLU (`maximum` with 0) were fused into one loop kernel; "
                "only the `dot` stayed outside.",
                "talk_example_fusions = 0\n", detect=answered(0)),
        Mistake("counted_kernels",
                "2 is the number of kernels: one fusion (add + ReLU) plus the `dot`, which on CPU stays its own "
                "library call outside any fusion. The question counts fusions.",
                "talk_example_fusions = 2\n", detect=answered(2)),
    ],
    expected=_talk_example_fusions, compare=_compare_whole_number, explain=_explain_fusions,
)

# ---------------------------------------------------------------- q4: is XLA faster here?

ROWS, BATCH, LOOP_STEPS = 2000, 100, 50

LOOP_SOURCE = f'''\
def sliced_loop(data, steps):           # data: float32 [{ROWS}, 784]
    total = tf.zeros([])
    for i in tf.range(steps):
        start = (i * {BATCH}) % ({ROWS} - {BATCH})
        total += tf.reduce_sum(data[start:start + {BATCH}])
    return total

plain = tf.function(sliced_loop)
compiled = tf.function(sliced_loop, jit_compile=True)
'''


@functools.lru_cache(maxsize=1)
def _loop_timings(repeats=5):
    """{"plain": s, "compiled": s}: the best of `repeats` timed calls (LOOP_STEPS steps each) of each
    loop, after a first call that traces and compiles. Cached: a check and its explanation agree."""
    import time

    import tensorflow as tf

    # AutoGraph reads the loop's source to turn `for i in tf.range(...)` into a graph loop.
    linecache.cache["<nb08 loop>"] = (len(LOOP_SOURCE), None, LOOP_SOURCE.splitlines(True), "<nb08 loop>")
    namespace = {"tf": tf}
    exec(compile(LOOP_SOURCE, "<nb08 loop>", "exec"), namespace)  # noqa: S102 - our snippet
    data = tf.random.stateless_normal([ROWS, 784], seed=[0, 3])
    steps = tf.constant(LOOP_STEPS)
    timings = {}
    for name in ("plain", "compiled"):
        function = namespace[name]
        function(data, steps).numpy()
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            function(data, steps).numpy()
            best = min(best, time.perf_counter() - start)
        timings[name] = best
    return timings


def _xla_faster():
    timings = _loop_timings()
    return timings["compiled"] < timings["plain"]


def _compare_prediction(expected, got):
    if not isinstance(got, (bool, np.bool_)):
        raise AnswerError(f"expected True or False, got {type(got).__name__}")
    return None if bool(got) == expected else f"measuring here, XLA is {'faster' if expected else 'slower'}"


def _explain_timings(value):
    timings = _loop_timings()
    ratio = timings["compiled"] / timings["plain"]
    comparison = f"{ratio:.1f} times slower" if ratio >= 1 else f"{1 / ratio:.1f} times faster"
    return (f"measured here: {timings['plain'] * 1e3:.2f} ms without XLA, {timings['compiled'] * 1e3:.2f} ms with "
            f"it, XLA {comparison}. XLA cannot see the slice's size, so each step works on all {ROWS} rows "
            f"instead of {BATCH}: compiling is no promise of speed, measure.")


q4 = ValueExercise(
    "nb08.q4", "xla_faster_for_loop", "is XLA faster here?",
    prompt=(
        "Predict, then let the check measure it on this machine: the loop below sums batches of "
        f"{BATCH} rows of a `[{ROWS}, 784]` tensor, sliced the Python way.\n\n```python\n" + LOOP_SOURCE + "```\n\n"
        f"Once both are traced and compiled, is `compiled(data, tf.constant({LOOP_STEPS}))` faster than "
        f"`plain(data, tf.constant({LOOP_STEPS}))`? Set `xla_faster_for_loop` to `True` or `False`. (Section 4 of "
        "the notebook shows what XLA makes of this slice.)"),
    skeleton="xla_faster_for_loop = ...\n",
    solution="xla_faster_for_loop = False  # the slice's size is unknown to XLA: each step works on all 2000 rows\n",
    hints=["Section 4: what shape does the slice `data[start:start + 100]` get in the compiled loop?",
           "XLA compiles for static shapes; a slice whose size it cannot see becomes a slice of the whole tensor."],
    mistakes=[
        Mistake("assumed_xla_is_faster",
                "compiling is no promise of speed: XLA cannot see the size of `data[start:start + 100]` inside the "
                "loop, so every step works on the whole tensor (section 4). `tf.slice` with a fixed size fixes it.",
                "xla_faster_for_loop = True\n", detect=lambda outcomes: outcomes[0].value is True),
    ],
    expected=_xla_faster, compare=_compare_prediction, explain=_explain_timings,
)

EXERCISES = [q1, q2, q3, q4]

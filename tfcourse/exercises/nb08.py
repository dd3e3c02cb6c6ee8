"""Exercises of notebook 08 (XLA): counting fusions, a compiled layer for every batch size,
the slice shape XLA gives a Python loop, and a compiled loop whose slice XLA cannot see, repaired.

    from tfcourse.exercises import nb08 as ex

The checks compile with XLA when they run (`experimental_get_compiler_ir`). Every expected answer
comes from the HLO *before* XLA's optimisation passes (the shapes TensorFlow hands to XLA), or
from the reference run on the same machine: no timing and no CPU-specific fusion count is an
expected value, so the answers are the same on any machine.
"""

import linecache
import re

import numpy as np

from tfcourse.exercises.core import (
    AnswerError,
    Case,
    FunctionExercise,
    Mistake,
    ValueExercise,
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

LAYER_DOC = '''\
    """A layer whose weights are shaped like the picture, compiled with XLA: images float32
    [batch, 28, 28], weights float32 [28, 28, units] (one weight per pixel and unit), biases [units]
    -> relu(sum over the pixels of image * weights + biases), float32 [batch, units].
    One trace must serve every batch size."""
'''

LAYER_SOLUTION = '''\
@tf.function(jit_compile=True)
def picture_layer(images, weights, biases):
''' + LAYER_DOC + '''\
    flat_images = tf.reshape(images, [-1, 784])    # [batch, 784]: -1, whatever the batch is when it runs
    flat_weights = tf.reshape(weights, [784, -1])  # [784, units]: the pixels in the images' order
    return tf.nn.relu(tf.matmul(flat_images, flat_weights) + biases)
'''

UNITS = 16


def _layer_cases():
    rng = np.random.default_rng(11)
    weights = (0.05 * rng.normal(size=[28, 28, UNITS])).astype(np.float32)
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
        raise AnswerError(f"expected a float32 tensor [batch, {UNITS}] from `picture_layer`, got "
                          f"{type(output).__name__}")
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
        return "`picture_layer` is a plain Python function: decorate it with `@tf.function(jit_compile=True)`"
    if not got["jit"]:
        return "`picture_layer` is not compiled with XLA: `@tf.function(jit_compile=True)`"
    if got["any_batch"]:
        return f"`picture_layer` cannot be traced for an unknown batch size ({got['any_batch']})"
    return None


def _right_outputs_but(predicate):
    def detect(outcomes):
        return all(o.error is None for o in outcomes) and all(
            compare_values(e.value["output"], o.value["output"], rtol=1e-4, atol=1e-5) is None and predicate(o.value)
            for o, e in zip(outcomes, q2._expected()))
    return detect


q2 = FunctionExercise(
    "nb08.q2", "picture_layer", "a compiled layer for every batch size",
    prompt=(
        "Write `picture_layer(images, weights, biases)`, a dense layer whose weights are stored shaped like the "
        "picture: `images` float32 `[batch, 28, 28]`, `weights` float32 `[28, 28, units]` (the weight of pixel "
        "(row, column) for each unit), `biases` `[units]`. Output unit u of an image is "
        "`relu(sum over its pixels of pixel * weights[row, column, u] + biases[u])`, float32 `[batch, units]`. "
        "Compile it with XLA (`@tf.function(jit_compile=True)`), and make one trace serve every batch size: "
        "the check traces it with the batch size unknown, then runs batches of 1, 5 and 100."),
    skeleton='''\
@tf.function(jit_compile=True)
def picture_layer(images, weights, biases):
''' + LAYER_DOC + '''\
    ...
''',
    solution=LAYER_SOLUTION,
    hints=[
        "Flatten both so that a matmul does the sum over the pixels: images to `[batch, 784]`, weights to "
        "`[784, units]`, each pixel in the same place in both.",
        "`images.shape[0]` is a Python number fixed when the function is traced: with the batch size unknown it "
        "is `None`. Section 4 reshaped with `-1`, computed when the function runs.",
        "`tf.reshape(images, [-1, 784])` and `tf.reshape(weights, [784, -1])`, then "
        "`tf.nn.relu(tf.matmul(...) + biases)`. (`tf.tensordot(images, weights, axes=2)` sums over both pixel "
        "axes at once.)",
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
        Mistake("weights_flattened_in_another_order",
                "the pixels of your weights are not in the images' order: `tf.reshape` keeps the memory order, "
                "the last axis fastest, so `[28, 28, units]` reshaped to `[units, 784]` (then transposed) mixes "
                "units and pixels. Reshape to `[784, -1]`: pixel-major, as the flattened images are.",
                LAYER_SOLUTION.replace("tf.reshape(weights, [784, -1])", "tf.transpose(tf.reshape(weights, [-1, 784]))")),
        Mistake("forgot_relu",
                "your layer gives negative numbers: the ReLU is missing. Return "
                "`tf.nn.relu(tf.matmul(flat_images, flat_weights) + biases)`.",
                LAYER_SOLUTION.replace("return tf.nn.relu(tf.matmul(flat_images, flat_weights) + biases)",
                                       "return tf.matmul(flat_images, flat_weights) + biases")),
    ],
    cases=_layer_cases, run=_run_layer, compare=_compare_layers,
)

# ---------------------------------------------------------------- shapes XLA sees in a compiled function


def _slice_shapes(compiled, *args):
    """[(opcode, [dims...]), ...] of every float32 slice, dynamic-slice and gather in the HLO
    TensorFlow hands to XLA (stage "hlo": before XLA's passes, the same on any CPU)."""
    from tfcourse import xla

    text = compiled.experimental_get_compiler_ir(*args)(stage="hlo")
    found = []
    for instructions in xla.parse_hlo(text).values():
        for inst in instructions:
            if inst.opcode in ("slice", "dynamic-slice", "gather") and inst.shape.startswith("f32["):
                dims = inst.shape[len("f32["):].split("]")[0]
                found.append((inst.opcode, [int(d) for d in dims.split(",") if d]))
    return found


def _exec_snippet(source, filename, names):
    """Runs our own snippet `source` (AutoGraph reads its source through linecache) -> {name: object}."""
    import tensorflow as tf

    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"tf": tf}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - our snippet, not the student's
    return {name: namespace[name] for name in names}


# ---------------------------------------------------------------- q3: the slice of a Python loop

ROWS, BATCH, PY_STEPS = 3000, 250, 4

PY_LOOP_SOURCE = f"""\
@tf.function(jit_compile=True)
def unrolled_sum(data):                     # data: float32 [{ROWS}, 784]
    total = tf.zeros([])
    for i in range({PY_STEPS}):                  # a Python range, not tf.range
        start = (i * {BATCH}) % ({ROWS} - {BATCH})
        total += tf.reduce_sum(data[start:start + {BATCH}])
    return total
"""


def _python_loop_slice():
    """[rows, columns] of the slices XLA gets for PY_LOOP_SOURCE (all equal), read from its HLO."""
    import tensorflow as tf

    compiled = _exec_snippet(PY_LOOP_SOURCE, "<nb08 python loop>", ["unrolled_sum"])["unrolled_sum"]
    shapes = {tuple(dims) for _, dims in _slice_shapes(compiled, tf.zeros([ROWS, 784]))}
    if len(shapes) != 1:
        raise RuntimeError(f"nb08.q3: expected one slice shape in the HLO, found {sorted(shapes)}")
    return list(shapes.pop())


def _as_dims(got):
    """A shape answer as a list of ints: list/tuple/ndarray/tensor/TensorShape of whole numbers."""
    if hasattr(got, "as_list"):  # a tf.TensorShape
        got = got.as_list()
    try:
        array = np.asarray(got)
    except Exception:
        array = np.asarray(None, dtype=object)
    if array.ndim != 1 or array.dtype.kind not in "iuf" or not np.all(np.mod(array, 1) == 0):
        raise AnswerError(f"expected a shape like `[rows, columns]` (2 whole numbers), got {got!r}")
    return [int(d) for d in array]


def _compare_shape(expected, got):
    dims = _as_dims(got)
    if len(dims) != len(expected):
        raise AnswerError(f"expected a shape of {len(expected)} numbers `[rows, columns]`, got {dims}")
    return None if dims == list(expected) else f"the compiled HLO slices shape {list(expected)}, you predicted {dims}"


def _said(*shapes):
    def detect(outcomes):
        try:
            return _as_dims(outcomes[0].value) in [list(s) for s in shapes]
        except AnswerError:
            return False
    return detect


q3 = ValueExercise(
    "nb08.q3", "python_loop_slice_shape", "the slice XLA gets from a Python loop",
    prompt=(
        "Section 4's loop ran over `tf.range(steps)`. Here the loop runs over a Python `range`, and the data "
        f"has {ROWS:,} rows, batches of {BATCH}:\n\n```python\n" + PY_LOOP_SOURCE + "```\n\n"
        "Predict the shape of the slices in the HLO that TensorFlow hands to XLA for "
        f"`unrolled_sum(tf.zeros([{ROWS}, 784]))`. Set `python_loop_slice_shape` to it as `[rows, columns]`. "
        "The check compiles the function and reads the shapes from its HLO."),
    skeleton="python_loop_slice_shape = ...\n",
    solution=(f"python_loop_slice_shape = [{BATCH}, 784]  # a Python loop is unrolled while tracing: "
              "each start is a constant\n"),
    hints=["What is `i` while the function is traced: a tensor, or a Python int?",
           "A Python `for` runs while tracing and writes one slice per iteration into the graph; "
           "`(i * 250) % 2750` is then a plain number. What can XLA see about `data[start:start + 250]`?"],
    mistakes=[
        Mistake("python_loop_seen_as_graph_loop",
                "that is what a `tf.range` loop gives: its `start` is a tensor, unknown to XLA. A Python `range` "
                "loop runs while the function is traced: `i` is 0, 1, 2, 3, every `start` a constant, and each "
                "of the 4 slices has a size XLA can see.",
                f"python_loop_slice_shape = [{ROWS}, 784]\n", detect=_said([ROWS, 784])),
        Mistake("rows_and_columns_swapped",
                "the slice keeps all 784 columns of the rows it takes: `[rows, columns]`.",
                f"python_loop_slice_shape = [784, {BATCH}]\n", detect=_said([784, BATCH], [784, ROWS])),
    ],
    expected=_python_loop_slice, compare=_compare_shape,
    explain=lambda value: (f"its HLO slices {value} {PY_STEPS} times: a Python loop is unrolled while tracing, so "
                           "every start is a constant; with `tf.range` the start is a tensor and the slice "
                           f"becomes the whole [{ROWS}, 784]."),
)

# ---------------------------------------------------------------- q4: repair a compiled loop

WIDTH = 10

WINDOWS_BROKEN = f"""\
@tf.function(jit_compile=True)
def window_sums(data, steps):
    \"\"\"data float32 [rows, columns], steps int32 [] -> float32 [steps]: entry i is the sum of the
    {WIDTH} columns starting at column (i * {WIDTH}) % (columns - {WIDTH}), over all rows.\"\"\"
    sums = tf.TensorArray(tf.float32, size=steps)
    for i in tf.range(steps):
        start = (i * {WIDTH}) % (data.shape[1] - {WIDTH})
        sums = sums.write(i, tf.reduce_sum(data[:, start:start + {WIDTH}]))
    return sums.stack()
"""

WINDOWS_SOLUTION = WINDOWS_BROKEN.replace(
    f"tf.reduce_sum(data[:, start:start + {WIDTH}])",
    f"tf.reduce_sum(tf.slice(data, [0, start], [data.shape[0], {WIDTH}]))")


def _window_cases():
    rng = np.random.default_rng(12)

    def case(label, rows, columns, steps):
        return Case(label, (rng.normal(size=[rows, columns]).astype(np.float32), steps))

    return [case("a [64, 1000] matrix, 7 windows", 64, 1000, 7),
            case("a [3, 50] matrix, 12 windows (they wrap around)", 3, 50, 12),
            case("a [200, 31] matrix, 1 window", 200, 31, 1)]


def _windows_oracle(data, steps):
    """numpy: what `window_sums` must return."""
    columns = data.shape[1]
    return np.array([data[:, (i * WIDTH) % (columns - WIDTH):][:, :WIDTH].sum(dtype=np.float64)
                     for i in range(steps)], np.float32)


def _run_windows(function, case_input):
    """-> {"sums": float array [steps], "jit": bool, "largest": None or (opcode, dims) of the largest
    float32 slice/gather in the HLO XLA gets, "data_shape": [rows, columns]}."""
    import tensorflow as tf

    data, steps = tf.constant(case_input[0]), tf.constant(case_input[1], tf.int32)
    sums = function(data, steps)
    if not isinstance(sums, (tf.Tensor, np.ndarray)):
        raise AnswerError(f"expected a float32 tensor [steps] from `window_sums`, got {type(sums).__name__}")
    result = {"sums": np.asarray(sums), "jit": False, "largest": None, "shapes": [],
              "data_shape": list(case_input[0].shape)}
    if hasattr(function, "experimental_get_compiler_ir"):
        try:
            shapes = _slice_shapes(function, data, steps)
            result["jit"] = True
        except ValueError as error:
            if "jit_compile" not in str(error):
                raise
            shapes = []
        result["shapes"] = shapes
        if shapes:
            result["largest"] = max(shapes, key=lambda found: np.prod(found[1]))
    return result


def _compare_windows(expected, got):
    difference = compare_values(expected["sums"], got["sums"], rtol=1e-4, atol=1e-3)
    if difference:
        return f"the window sums: {difference}"
    if not got["jit"]:
        return "`window_sums` is not compiled with XLA: keep `@tf.function(jit_compile=True)`"
    rows, columns = got["data_shape"]
    if got["largest"] is not None and np.prod(got["largest"][1]) > rows * WIDTH:
        opcode, dims = got["largest"]
        return (f"XLA still gets a {opcode} of shape {dims} from a [{rows}, {columns}] matrix (expected at most "
                f"[{rows}, {WIDTH}]): the window's size is not one it can see")
    return None


def _full_slice(outcomes):
    return all(o.error is None and o.value["jit"] and o.value["largest"] is not None
               and np.prod(o.value["largest"][1]) > o.value["data_shape"][0] * WIDTH for o in outcomes)


def _sliced_to_size_afterwards(outcomes):
    """The whole matrix is sliced, then cut to [rows, WIDTH] by a second, static slice (`tf.slice`
    with a size of -1)."""
    return _full_slice(outcomes) and all(
        ("slice", [o.value["data_shape"][0], WIDTH]) in [(op, dims) for op, dims in o.value["shapes"]]
        for o in outcomes)


def _right_sums(outcomes):
    return all(o.error is None and compare_values(_windows_oracle(*case.input), o.value["sums"], rtol=1e-4,
                                                 atol=1e-3) is None for o, case in zip(outcomes, q4.cases()))


q4 = FunctionExercise(
    "nb08.q4", "window_sums", "repair a compiled loop",
    prompt=(
        f"This compiled function sums windows of {WIDTH} columns of a matrix, one window per loop step. It gives "
        "the right numbers, but XLA cannot see the size of `data[:, start:start + "
        f"{WIDTH}]` (section 4), so every step slices the whole matrix. Repair it: same results, and no slice in "
        f"its HLO larger than `[rows, {WIDTH}]`. The check runs it on matrices of several shapes and reads the "
        "HLO TensorFlow hands to XLA.\n\n```python\n" + WINDOWS_BROKEN + "```"),
    skeleton=WINDOWS_BROKEN.replace(
        f"        sums = sums.write(i, tf.reduce_sum(data[:, start:start + {WIDTH}]))\n",
        f"        sums = sums.write(i, ...)  # the sum of the {WIDTH} columns from `start`, a slice XLA can size\n"),
    solution=WINDOWS_SOLUTION,
    hints=["Which of the slice's numbers are tensors when the loop is traced, and which are Python ints?",
           "`tf.slice(data, begin, size)` takes the size separately from the begin: give it a size that "
           "does not depend on `start`.",
           f"`tf.slice(data, [0, start], [data.shape[0], {WIDTH}])`: all rows (a Python int once traced), "
           f"{WIDTH} columns. A size of -1 means \"to the end\", which depends on `start` again."],
    mistakes=[
        Mistake("size_minus_one",
                "the sums are right, but XLA still slices the whole matrix ({detail}): a size of -1 in "
                "`tf.slice` means \"up to the end\", and where the end is depends on `start`. Give both sizes: "
                f"`[data.shape[0], {WIDTH}]`.",
                WINDOWS_SOLUTION.replace(f"[data.shape[0], {WIDTH}]", f"[-1, {WIDTH}]"),
                detect=lambda outcomes: _right_sums(outcomes) and _sliced_to_size_afterwards(outcomes) and (
                    f"a {outcomes[0].value['largest'][0]} of shape {outcomes[0].value['largest'][1]}")),
        Mistake("still_a_python_slice",
                "the sums are right, but XLA still slices the whole matrix ({detail}): `data[:, start:start + "
                f"{WIDTH}]` with a tensor `start` has a size XLA cannot see. Use `tf.slice(data, [0, start], "
                f"[data.shape[0], {WIDTH}])` (or `tf.gather` of {WIDTH} column indices).",
                WINDOWS_BROKEN,
                detect=lambda outcomes: _right_sums(outcomes) and _full_slice(outcomes) and (
                    f"a {outcomes[0].value['largest'][0]} of shape {outcomes[0].value['largest'][1]}")),
        Mistake("jit_compile_dropped",
                "the sums are right, but without `jit_compile=True` nothing is compiled by XLA: keep "
                "`@tf.function(jit_compile=True)` and give the slice a size XLA can see.",
                WINDOWS_SOLUTION.replace("@tf.function(jit_compile=True)", "@tf.function"),
                detect=lambda outcomes: _right_sums(outcomes) and all(not o.value["jit"] for o in outcomes)),
        Mistake("rows_instead_of_columns",
                f"your window takes {WIDTH} *rows* from `start`: the window is {WIDTH} columns of every row, "
                f"`tf.slice(data, [0, start], [data.shape[0], {WIDTH}])`.",
                WINDOWS_SOLUTION.replace(f"tf.slice(data, [0, start], [data.shape[0], {WIDTH}])",
                                         f"tf.slice(data, [start, 0], [{WIDTH}, data.shape[1]])"),
                detect=lambda outcomes: any(
                    o.error is None and o.value["largest"] is not None
                    and o.value["largest"][1] == [WIDTH, o.value["data_shape"][1]] for o in outcomes)
                and not _right_sums(outcomes)),
    ],
    cases=_window_cases, run=_run_windows, compare=_compare_windows,
)

EXERCISES = [q1, q2, q3, q4]

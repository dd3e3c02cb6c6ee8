"""XLA you can see: compile a function with jit_compile and read what the compiler fused.

The talk's claim is that XLA fuses several ops (matmul, add, ReLU) into one kernel, saving
kernel launches and the round trips of intermediates through memory. TensorFlow shows the
evidence: `fn.experimental_get_compiler_ir(*args)(stage=...)` returns the HLO program before
optimisation ("hlo": one HLO instruction per piece of each TF op) and after ("optimized_hlo":
what actually runs, where each `fusion` instruction is one generated kernel). This module
parses that text, lists every fusion with the HLO ops and the TF ops that went into it, and
counts ops before and after.

What the CPU backend really does with the talk's example (checked on TF 2.21): the `dot`
stays its own instruction (a call into Eigen/oneDNN's matmul), and the bias add and the ReLU
(`maximum` with 0) are fused into one loop kernel. GPU backends go further and can fold the
bias into the cuBLAS call as an epilogue. Either way, add + ReLU no longer write an
intermediate tensor to memory.
"""

import collections
import re

from tfcourse.datasets.mnist_files import IMAGE_PIXELS

# HLO instructions that are bookkeeping, not work: they generate no kernel.
_NOT_KERNELS = frozenset(["parameter", "constant", "tuple", "get-tuple-element", "bitcast"])

_HEADER = re.compile(r"^\s*(ENTRY\s+)?%?([\w.\-]+)\s*\(.*\)\s*->\s*.*\{\s*$")
_INSTRUCTION = re.compile(r"^\s*(ROOT\s+)?%?([\w.\-]+)\s*=\s*(.*)$")
_ATTR_CALLS = re.compile(r"calls=%?([\w.\-]+)")
_ATTR_KIND = re.compile(r"kind=(k\w+)")
_ATTR_OP_TYPE = re.compile(r'op_type="([^"]+)"')

Instruction = collections.namedtuple("Instruction", "name opcode shape op_type calls kind")
Fusion = collections.namedtuple("Fusion", "name kind hlo_ops tf_ops")
XlaReport = collections.namedtuple("XlaReport", "hlo optimized_hlo fusions tf_ops hlo_ops kernels")


def dense_relu(x, w, b):
    """The talk's fusion example: relu(x @ w + b).

    Args:
      x: float32 [B, n_in]; w: float32 [n_in, n_out]; b: float32 [n_out].
    Returns:
      float32 [B, n_out].
    """
    import tensorflow as tf

    return tf.nn.relu(tf.matmul(x, w) + b)


def compiler_ir(fn, *args, stage="optimized_hlo"):
    """The HLO text of `fn` compiled for `args`.

    Args:
      fn: a tf.function with jit_compile=True (or a plain Python function, which is wrapped).
      *args: example arguments (tensors or variables) fixing shapes and dtypes.
      stage: "hlo" (before XLA's passes) or "optimized_hlo" (what runs).
    """
    import tensorflow as tf

    if not hasattr(fn, "experimental_get_compiler_ir"):
        fn = tf.function(fn, jit_compile=True)
    return fn.experimental_get_compiler_ir(*args)(stage=stage)


def _split_shape(rest):
    """Splits 'f32[8,3]{1,0} add(...), ...' (or a '(tuple, shape) op(...)') into shape, tail."""
    if rest.startswith("("):
        depth = 0
        for i, ch in enumerate(rest):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0:
                return rest[:i + 1], rest[i + 1:].lstrip()
    shape, _, tail = rest.partition(" ")
    return shape, tail


def parse_hlo(text):
    """Parses HLO module text into {computation name: [Instruction, ...]}.

    The entry computation is also available under the key "ENTRY".
    """
    computations = {}
    current = None
    for line in text.splitlines():
        header = _HEADER.match(line)
        if header and "=" not in line.split("(")[0]:
            current = []
            computations[header.group(2)] = current
            if header.group(1):
                computations["ENTRY"] = current
            continue
        if current is None or line.strip() == "}":
            continue
        match = _INSTRUCTION.match(line)
        if not match:
            continue
        shape, tail = _split_shape(match.group(3))
        opcode = tail.split("(", 1)[0].strip()
        calls = _ATTR_CALLS.search(tail)
        kind = _ATTR_KIND.search(tail)
        op_type = _ATTR_OP_TYPE.search(tail)
        current.append(Instruction(match.group(2), opcode, shape, op_type.group(1) if op_type else None,
                                   calls.group(1) if calls else None, kind.group(1) if kind else None))
    if "ENTRY" not in computations:
        raise ValueError("not an HLO module: no ENTRY computation found")
    return computations


def op_counts(text, computation="ENTRY"):
    """Counter of HLO opcodes doing work in one computation (default: the entry)."""
    return collections.Counter(i.opcode for i in parse_hlo(text)[computation] if i.opcode not in _NOT_KERNELS)


def fusions(text):
    """Every fusion in an optimized HLO module, with what went into it.

    Returns:
      list of Fusion(name, kind, hlo_ops, tf_ops): kind is XLA's fusion kind (kLoop,
      kInput, kOutput...), hlo_ops the sorted working HLO opcodes inside, tf_ops the sorted
      TensorFlow op types they came from (read from the HLO metadata).
    """
    computations = parse_hlo(text)
    found = []
    for instructions in computations.values():
        for inst in instructions:
            if inst.opcode != "fusion" or inst.calls not in computations:
                continue
            body = computations[inst.calls]
            hlo_ops = sorted({i.opcode for i in body if i.opcode not in _NOT_KERNELS})
            tf_ops = sorted({i.op_type for i in body if i.op_type})
            found.append(Fusion(inst.name, inst.kind, hlo_ops, tf_ops))
    unique = {f.name: f for f in found}
    return list(unique.values())


def _tf_op_count(fn, args):
    """Number of TF ops doing work in the traced graph (placeholders and identities excluded)."""
    graph = fn.get_concrete_function(*args).graph
    bookkeeping = {"Placeholder", "Identity", "NoOp", "Const", "ReadVariableOp"}
    return sum(1 for op in graph.get_operations() if op.type not in bookkeeping)


def show_fusions(fn, *args, print_report=True):
    """Compiles `fn` for `args` with XLA and reports what it fused.

    Args:
      fn: a Python function or tf.function; it is (re)wrapped with jit_compile=True.
      *args: example arguments fixing shapes and dtypes.
      print_report: print a short table (what the notebook shows).
    Returns:
      XlaReport(hlo, optimized_hlo, fusions, tf_ops, hlo_ops, kernels): both HLO texts,
      the list of Fusion tuples, the number of TF ops in the graph, the number of working HLO
      instructions before optimisation, and the number of kernels left after it (each
      fusion counts once).
    """
    import tensorflow as tf

    python_fn = getattr(fn, "python_function", fn)
    compiled = tf.function(python_fn, jit_compile=True)
    hlo = compiler_ir(compiled, *args, stage="hlo")
    optimized = compiler_ir(compiled, *args, stage="optimized_hlo")
    report = XlaReport(hlo, optimized, fusions(optimized), _tf_op_count(compiled, args),
                       sum(op_counts(hlo).values()), sum(op_counts(optimized).values()))
    if print_report:
        print(f"TF ops in the graph: {report.tf_ops}; HLO ops before XLA's passes: {report.hlo_ops}; "
              f"kernels after: {report.kernels} ({len(report.fusions)} fusions)")
        for fusion in report.fusions:
            print(f"  {fusion.name} [{fusion.kind}]: HLO {', '.join(fusion.hlo_ops)} <- TF {', '.join(fusion.tf_ops) or '-'}")
        unfused = op_counts(optimized) - collections.Counter(fusion=len(report.fusions))
        if unfused:
            print(f"  outside fusions: {dict(sorted(unfused.items()))}")
    return report


def jit_compiled_functions(fn):
    """The functions that `fn`'s traced graphs hand to XLA: evidence that jit_compile took effect.

    A function traced with jit_compile=True carries `_XlaMustCompile: true` in its
    FunctionDef, and the graph of any tf.function that calls it holds that FunctionDef in its
    library; TensorFlow then runs it only as one XLA cluster. Without XLA the list is empty.

    Args:
      fn: a tf.function that has been called (traced) at least once.
    Returns:
      sorted list of function names (str).
    """
    found = set()
    # tf.function has no public listing of its traces; this private one is used by SavedModel.
    for concrete in fn._list_all_concrete_functions():
        for definition in (concrete.function_def, *concrete.graph.as_graph_def().library.function):
            flag = definition.attr.get("_XlaMustCompile")
            if flag is not None and flag.b:
                found.add(definition.signature.name)
    return sorted(found)


def loop_slice_shapes(num_examples=2000, batch_size=100):
    """Why a jit-compiled in-graph training loop can collapse on CPU, shown in the HLO.

    Inside a `for i in tf.range(n)` loop, `images[start:start + B]` has a begin and an end
    XLA cannot see as constants, so tf2xla lowers the StridedSlice to a slice of the
    *bounding* size (the whole [num_examples, 784] tensor, padded) with a dynamic size: every
    step then computes on num_examples rows instead of B (measured ~60x-120x slower per step).
    `tf.slice(images, [start, 0], [B, 784])` (or a gather with B indices) states the size,
    and the compiled loop is as fast as, or faster than, the plain one.

    Returns:
      {"python_slice": [...], "tf_slice": [...]}: the shapes of the slices XLA emits in the
      loop body for each way of writing it (HLO shape strings like "f32[2000,784]").
    """
    import tensorflow as tf

    images = tf.zeros([num_examples, IMAGE_PIXELS])

    def python_slice(data, steps):
        total = tf.zeros([])
        for i in tf.range(steps):
            start = (i * batch_size) % (num_examples - batch_size)
            total += tf.reduce_sum(data[start:start + batch_size])
        return total

    def tf_slice(data, steps):
        total = tf.zeros([])
        for i in tf.range(steps):
            start = (i * batch_size) % (num_examples - batch_size)
            total += tf.reduce_sum(tf.slice(data, [start, 0], [batch_size, IMAGE_PIXELS]))
        return total

    shapes = {}
    for fn in (python_slice, tf_slice):
        text = compiler_ir(tf.function(fn, jit_compile=True), images, tf.constant(3), stage="hlo")
        shapes[fn.__name__] = sorted({i.shape.split("{")[0] for comp in parse_hlo(text).values() for i in comp
                                      if i.opcode in ("slice", "dynamic-slice") and i.shape.startswith("f32[")})
    return shapes


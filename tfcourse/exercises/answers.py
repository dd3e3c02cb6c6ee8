"""Reading a student's answer: comparing values, one-line errors, running snippets, `...` left in.

The exercise classes (`core`) use these; an exercise module uses `compare_values` (and
`AnswerError`) in its own comparisons, through `core`.
"""

import ast
import inspect
import linecache
import textwrap

import numpy as np

PRELUDE = "import numpy as np\nimport tensorflow as tf\n"  # what every snippet and the notebook setup cell import


class AnswerError(Exception):
    """The answer has the wrong type or shape; the message tells the student what was expected."""


class NotAttempted(Exception):
    """The answer is still the skeleton (`...`); the message says what to do."""


def describe_shape(shape):
    return "a scalar (shape [])" if len(shape) == 0 else f"shape {list(shape)}"


def _short(value):
    array = np.asarray(value)
    if array.ndim == 0:
        return f"{array.item():.6g}" if np.issubdtype(array.dtype, np.floating) else str(array.item())
    # One line: a message is one line, whatever the array's rank.
    return " ".join(np.array2string(array, precision=4, threshold=12, max_line_width=10**6).split())


def _as_array(value):
    """`value` as a numpy array (numbers, lists, tuples, arrays, tensors, variables), or None."""
    try:
        array = np.asarray(value)
    except Exception:  # a tensor-like object numpy cannot read
        return None
    return None if array.dtype == object or array.dtype.kind not in "biuf" else array


def _dtype_name(value):
    dtype = getattr(value, "dtype", None)
    return getattr(dtype, "name", None) or (np.dtype(dtype).name if dtype is not None else type(value).__name__)


def _first_difference(expected, array, rtol, atol):
    """" (first difference at [i, j]: expected x, got y)" for arrays of more than one element."""
    if expected.size <= 1:
        return ""
    close = np.isclose(array.astype(np.float64), expected.astype(np.float64), rtol=rtol, atol=atol)
    index = tuple(int(i) for i in np.argwhere(~close)[0])
    count = int((~close).sum())
    return (f" (first difference at index {list(index)}: expected {_short(expected[index])}, got "
            f"{_short(array[index])}; {count} of {expected.size} elements differ)")


def compare_values(expected, got, rtol=1e-5, atol=1e-6, dtype=None):
    """None if `got` equals `expected`; else a one-line difference naming expected, got and where.

    Numbers, lists, tuples, arrays and tensors compare by value, whichever of these the answer
    is. A dict compares key by key and a tuple of several outputs output by output (an
    answer returning several tensors): the difference names the key or output. `dtype` (e.g.
    "float32"), when the prompt names one, is checked too.

    Raises AnswerError when `got` is no number/array, has another shape or another dtype.
    """
    if got is None:
        raise AnswerError("got None: did you forget to `return` the result?")
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            raise AnswerError(f"expected a dict with keys {sorted(expected)}, got {type(got).__name__}")
        missing = sorted(set(expected) - set(got))
        if missing:
            raise AnswerError(f"expected keys {sorted(expected)}, yours lacks {missing}")
        for key in expected:
            difference = compare_values(expected[key], got[key], rtol=rtol, atol=atol, dtype=dtype)
            if difference is not None:
                return f"in {key!r}: {difference}"
        return None
    if isinstance(expected, tuple) and len({np.shape(e) for e in expected}) > 1 or (
            isinstance(expected, tuple) and any(isinstance(e, (dict, tuple)) for e in expected)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            raise AnswerError(f"expected {len(expected)} outputs, got "
                              f"{len(got) if isinstance(got, (tuple, list)) else type(got).__name__}")
        for number, (want, have) in enumerate(zip(expected, got), start=1):
            difference = compare_values(want, have, rtol=rtol, atol=atol, dtype=dtype)
            if difference is not None:
                return f"in output {number} of {len(expected)}: {difference}"
        return None
    expected_array = np.asarray(expected)
    array = _as_array(got)
    if array is None:
        wanted = "a number" if expected_array.ndim == 0 else f"an array of shape {list(expected_array.shape)}"
        raise AnswerError(f"expected {wanted}, got {type(got).__name__}")
    if array.shape != expected_array.shape:
        raise AnswerError(f"expected {describe_shape(expected_array.shape)}, got {describe_shape(array.shape)}")
    if dtype is not None and _dtype_name(got) != np.dtype(dtype).name:
        raise AnswerError(f"expected dtype {np.dtype(dtype).name}, got {_dtype_name(got)}")
    if not np.allclose(array.astype(np.float64), expected_array.astype(np.float64), rtol=rtol, atol=atol):
        return (f"expected {_short(expected_array)}, got {_short(array)}"
                + _first_difference(expected_array, array, rtol, atol))
    return None


def as_count(value, what="a whole number"):
    """`value` as an int when it is a whole number in any form: 13, 13.0, np.int64(13), a 0-d tensor.

    Raises AnswerError for 13.5, True/False, strings, lists and None (naming what was expected).
    """
    if isinstance(value, (bool, np.bool_)) or value is None or isinstance(value, str):
        raise AnswerError(f"expected {what}, got {value!r}")
    array = _as_array(value)
    if array is None or array.ndim != 0 or array.dtype.kind == "b":
        raise AnswerError(f"expected {what}, got {type(value).__name__}")
    number = array.item()
    if not float(number).is_integer():
        raise AnswerError(f"expected {what}, got {_short(array)}: a count has no fractional part")
    return int(number)


def as_sequence(value, what="a list"):
    """`value` as a list when it is a sequence in any form: list, tuple, range, 1-d ndarray or tensor."""
    if isinstance(value, (str, bytes, dict)) or value is None:
        raise AnswerError(f"expected {what}, got {type(value).__name__}")
    if isinstance(value, (list, tuple, range)):
        return list(value)
    array = np.asarray(value) if hasattr(value, "__array__") or hasattr(value, "numpy") else None
    if array is None or array.ndim != 1:
        raise AnswerError(f"expected {what}, got {type(value).__name__}"
                          + (f" of {describe_shape(array.shape)}" if array is not None else ""))
    return array.tolist()


def compare_counts(expected, got):
    """For an answer that is a whole number, or a sequence of whole numbers (any form of either).

    13, 13.0 and np.int64(13) are all 13; [4, 4, 2], (4, 4, 2), np.array([4, 4, 2]) and
    tf.constant([4, 4, 2]) are all the same sequence; 13.5 or [4, 4.5] are refused.
    """
    if np.ndim(expected) == 0 and not isinstance(expected, (list, tuple)):
        number = as_count(got)
        return None if number == int(expected) else f"expected {int(expected)}, got {number}"
    expected = [int(v) for v in expected]
    example = ", ".join(map(str, expected[:2])) + (", ..." if len(expected) > 2 else "")
    items = as_sequence(got, f"a list of {len(expected)} whole numbers like `[{example}]`")
    values = [as_count(item, "whole numbers in the list") for item in items]
    if len(values) != len(expected):
        return f"expected {len(expected)} numbers {expected}, got {len(values)}: {values}"
    if values != expected:
        index = next(i for i, (e, v) in enumerate(zip(expected, values)) if e != v)
        return (f"expected {expected}, got {values} (first difference at position {index + 1}: "
                f"expected {expected[index]}, got {values[index]})")
    return None


def summary(value):
    """A short text of a value an answer returned (number, array, tensor, dict or tuple of them), or None."""
    if isinstance(value, dict):
        parts = [f"{key!r}: {summary(item)}" for key, item in list(value.items())[:6]]
        return None if any(p.endswith("None") for p in parts) else "{" + ", ".join(parts) + "}"
    if isinstance(value, tuple) and len({np.shape(v) for v in value}) > 1:
        parts = [summary(item) for item in value]
        return None if None in parts else "(" + ", ".join(parts) + ")"
    array = _as_array(value)
    return None if array is None else _short(array)


def first_line(error):
    """The exception as `Type: first line`, TensorFlow's node prefix removed."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if text.startswith("{{function_node"):
        text = text.split("}}", 1)[-1].strip()
    return f"{type(error).__name__}: {text[:300]}" if text else type(error).__name__


def run_source(source, name, filename):
    """Executes `PRELUDE + source` in a fresh namespace and returns the object bound to `name`.

    The source is registered with linecache so `inspect.getsource` works on its functions,
    as it does on functions defined in notebook cells.
    """
    code = PRELUDE + source
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    namespace = {"__name__": "__exercise__"}
    exec(compile(code, filename, "exec"), namespace)  # noqa: S102 - the course's own snippets
    if name not in namespace:
        raise ValueError(f"{filename}: the source defines no {name!r}")
    return namespace[name]


def _is_ellipsis(node):
    return isinstance(node, ast.Constant) and node.value is Ellipsis


def placeholder_state(function):
    """"empty" (body is only `...`/`pass`/docstring), "partial" (a `...` placeholder left in
    an expression), "filled", or None when the source cannot be read."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    definition = next((n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.Lambda))), None)
    if isinstance(definition, ast.FunctionDef):
        body = [s for s in definition.body
                if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) and isinstance(s.value.value, str))]
        if all(isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and _is_ellipsis(s.value)) for s in body):
            return "empty"
    in_slices = {id(n) for sub in ast.walk(tree) if isinstance(sub, ast.Subscript) for n in ast.walk(sub.slice)}
    if any(_is_ellipsis(n) and id(n) not in in_slices for n in ast.walk(tree)):
        return "partial"
    return "filled"

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
    return np.array2string(array, precision=4, threshold=12, max_line_width=90)


def compare_values(expected, got, rtol=1e-5, atol=1e-6):
    """None if `got` equals `expected` (numbers, arrays, tensors); else a one-line difference.

    Raises AnswerError when `got` is no number/array or has another shape.
    """
    expected = np.asarray(expected)
    if got is None:
        raise AnswerError("got None: did you forget to `return` the result?")
    try:
        array = np.asarray(got)
    except Exception:  # a tensor-like object numpy cannot read: say what we got, no traceback
        array = np.asarray(None, dtype=object)
    if array.dtype == object or array.dtype.kind not in "biuf":
        wanted = "a number" if expected.ndim == 0 else f"an array of shape {list(expected.shape)}"
        raise AnswerError(f"expected {wanted}, got {type(got).__name__}")
    if array.shape != expected.shape:
        raise AnswerError(f"expected {describe_shape(expected.shape)}, got {describe_shape(array.shape)}")
    if not np.allclose(array.astype(np.float64), expected.astype(np.float64), rtol=rtol, atol=atol):
        return f"expected {_short(expected)}, got {_short(array)}"
    return None


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

"""Showing the library's own code in a notebook: the lesson's TensorFlow, read where it runs.

A lesson function too long to retype in a cell (the v1 training op, the trainer's loop) is shown
from the very source the library executes, syntax highlighted, then explained and called:

    from tfcourse import source, v1
    source.show(v1.training)

In JupyterLab the output is highlighted HTML; in a terminal or `nbconvert --to script`, plain text.
"""

import html
import inspect
import pathlib
import textwrap


def highlighted(code):
    """(html, text) of Python `code`, syntax highlighted with inline styles by pygments."""
    import pygments
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    return pygments.highlight(code, PythonLexer(), HtmlFormatter(noclasses=True, style="default")), code


def display_bundle(bundle):
    """Displays `bundle` ({mime type: data}) in IPython with all its views, else prints its plain text."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display(bundle, raw=True)
    else:
        print(bundle["text/plain"])


def where(obj):
    """'tfcourse/v1.py, line 88': the file (relative to the package's parent) and first line of `obj`."""
    path = pathlib.Path(inspect.getsourcefile(obj)).resolve()
    root = pathlib.Path(__file__).resolve().parents[1]
    shown = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
    return f"{shown}, line {inspect.getsourcelines(obj)[1]}"


def source_of(obj):
    """The source text of a function, class or method `obj`, dedented.

    Raises:
      ValueError: `obj` has no Python source (a builtin, a C extension, an instance).
    """
    try:
        return textwrap.dedent(inspect.getsource(obj))
    except (TypeError, OSError) as error:
        raise ValueError(f"source.show expects a Python function, class or method, got {obj!r}") from error


def excerpt(code, start=None, end=None):
    """The lines of `code` from the first containing `start` to the next containing `end`.

    A long function is shown by the part the lesson is about; `...` marks what was left out
    above and below, so the reader knows the display is a slice.

    Args:
      code: source text.
      start: text of the first line to show (None: the first line).
      end: text of the last line to show, searched from the start line on (None: the last line).

    Returns:
      (text, first, last): the slice with its `...` markers, and its 1-based first and last line in `code`.

    Raises:
      ValueError: `start` or `end` is on no line.
    """
    lines = code.rstrip().splitlines()
    first = 0 if start is None else next((i for i, line in enumerate(lines) if start in line), None)
    if first is None:
        raise ValueError(f"no line of the source contains start={start!r}")
    last = len(lines) - 1 if end is None else next((i for i in range(first, len(lines)) if end in lines[i]), None)
    if last is None:
        raise ValueError(f"no line after {start!r} contains end={end!r}")
    shown = lines[first:last + 1]
    indent = " " * (len(shown[0]) - len(shown[0].lstrip()))
    if first > 0:
        shown = [indent + "..."] + shown
    if last < len(lines) - 1:
        shown = shown + [indent + "..."]
    return "\n".join(shown) + "\n", first + 1, last + 1


def show(obj, start=None, end=None):
    """Shows the source of `obj` highlighted, headed by its qualified name and where it lives.

    Args:
      obj: a Python function, class or method of the library (or any module).
      start, end: show only the lines from the one containing `start` to the next containing
        `end` (see `excerpt`), for a function too long to read at once.
    """
    code = source_of(obj)
    lines = ""
    if start is not None or end is not None:
        code, first, last = excerpt(code, start, end)
        offset = inspect.getsourcelines(obj)[1] - 1
        lines = f", lines {offset + first}-{offset + last}"
    code_html, code_text = highlighted(code)
    title = f"{obj.__module__}.{obj.__qualname__}  ({where(obj)}{lines})"
    display_bundle({"text/plain": f"# {title}\n{code_text.rstrip()}",
                    "text/html": f"<div><code>{html.escape(title)}</code>{code_html}</div>"})

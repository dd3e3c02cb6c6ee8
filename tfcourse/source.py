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


def show(obj):
    """Shows the source of `obj` highlighted, headed by its qualified name and where it lives."""
    code = source_of(obj)
    code_html, code_text = highlighted(code)
    title = f"{obj.__module__}.{obj.__qualname__}  ({where(obj)})"
    display_bundle({"text/plain": f"# {title}\n{code_text.rstrip()}",
                    "text/html": f"<div><code>{html.escape(title)}</code>{code_html}</div>"})

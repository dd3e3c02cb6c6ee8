"""docs/talk_map.md maps every point of the talk to a library function and a notebook cell:
each name must import and each notebook must call it, so the map cannot drift from the code."""

import ast
import importlib
import pathlib
import re

import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
TALK_MAP = ROOT / "docs" / "talk_map.md"


def talk_map_rows():
    """(point, [dotted library names], [notebook paths]) for each row of the table."""
    rows = []
    for line in TALK_MAP.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not re.fullmatch(r"\d+\.\d+", cells[0]):
            continue
        # A library name, or TensorFlow's own API where the notebook writes the lesson out (`tf.x`).
        names = [re.sub(r"^tf\.", "tensorflow.", name)
                 for name in re.findall(r"`((?:tfcourse|tf)(?:\.\w+)+)`", cells[2])]
        notebooks = [ROOT / "docs" / link for link in re.findall(r"\]\(([^)]+\.ipynb)\)", cells[3])]
        rows.append((cells[0], names, notebooks))
    return rows


def resolve(dotted):
    """The object a dotted name `tfcourse.pkg.module.attr` names (module import, then getattr)."""
    parts = dotted.split(".")
    if parts[0] == "tensorflow":  # TensorFlow's public API is attributes of the package, not modules
        obj = importlib.import_module("tensorflow")
        for attr in parts[1:]:
            obj = getattr(obj, attr)
        return obj
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(dotted)


def _dotted(node):
    """'a.b.c' for a Name/Attribute chain, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else None


def calls_in(notebook_path):
    """Full dotted names of everything the notebook's code calls, read through its imports
    (`from tfcourse import graphs` + `graphs.trace_graph(...)` -> tfcourse.graphs.trace_graph).
    Parsed, so comments, strings and markdown never count."""
    trees = []
    for cell in nbformat.read(notebook_path, as_version=4).cells:
        if cell.cell_type == "code":
            # IPython magics and shell lines are not Python.
            lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.splitlines()]
            trees.append(ast.parse("\n".join(lines)))
    names = {}
    for node in (n for tree in trees for n in ast.walk(tree)):
        if isinstance(node, ast.Import):
            names.update({a.asname or a.name.split(".")[0]: a.name if a.asname else a.name.split(".")[0]
                          for a in node.names})
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.update({a.asname or a.name: f"{node.module}.{a.name}" for a in node.names})
    called = set()
    for node in (n for tree in trees for n in ast.walk(tree)):
        dotted = _dotted(node.func) if isinstance(node, ast.Call) else None
        if dotted:
            head, _, rest = dotted.partition(".")
            called.add(".".join(filter(None, [names.get(head, head), rest])))
    return called


ROWS = talk_map_rows()


def test_the_map_covers_all_three_parts_of_the_talk():
    parts = {point.split(".")[0] for point, _, _ in ROWS}
    assert parts == {"1", "2", "3"}
    assert len(ROWS) >= 20
    assert all(names and notebooks for _, names, notebooks in ROWS), "a row lacks a function or a notebook"


@pytest.mark.parametrize("point,names,notebooks", ROWS, ids=[r[0] for r in ROWS])
def test_each_point_has_its_library_function_and_notebook_cell(point, names, notebooks):
    for name in names:
        assert callable(resolve(name)), f"{point}: {name} is not callable"
    for notebook in notebooks:
        assert notebook.exists(), f"{point}: {notebook.name} does not exist"
    code = {notebook.name: calls_in(notebook) for notebook in notebooks}
    called = {nb: {name for name in names if _calls(source, name)} for nb, source in code.items()}
    for name in names:
        assert any(name in found for found in called.values()), f"{point}: no notebook of the row calls {name}()"
    for nb, found in called.items():
        assert found, f"{point}: {nb} calls none of {names}"


def _calls(called, dotted):
    """Whether `dotted` is among the full names called, directly or through a re-export
    (tfcourse.datasets.read_data_sets is tfcourse.datasets.mnist_files.read_data_sets)."""
    if dotted in called:
        return True
    target = resolve(dotted)
    for name in called:
        if name.startswith("tfcourse."):
            try:
                if resolve(name) is target:
                    return True
            except (ImportError, AttributeError):
                continue
    return False

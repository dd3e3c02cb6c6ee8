"""Checks on the notebooks as stored (no kernel): clean top-to-bottom outputs, size,
one parameters cell, and no helper that the library already provides redefined.

Executing them is nbval's job: `pytest --nbval-lax notebooks/` (see the root conftest.py).
"""

import ast
import importlib
import inspect
import os
import pathlib
import pkgutil
import subprocess
import sys

import nbformat
import pytest

import tfcourse

NOTEBOOKS_DIR = pathlib.Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
EXPECTED = ["00_setup", "01_input_pipeline", "02_inference_graph", "03_loss_and_training",
            "04_graph_and_session", "05_checkpoints", "06_tensorboard", "07_keras", "08_xla", "09_distributed",
            "10_resnet_scaling", "11_one_command_service"]
MAX_BYTES = 1_000_000


def _code_cells(path):
    notebook = nbformat.read(path, as_version=4)
    return [cell for cell in notebook.cells if cell.cell_type == "code" and cell.source.strip()]


def _python_source(cell):
    """Cell source with IPython magics and shell lines blanked so `ast` can parse it."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.splitlines())


def library_public_names():
    """Names of public functions and classes defined anywhere in the tfcourse package."""
    names = set()
    for module_info in pkgutil.walk_packages(tfcourse.__path__, "tfcourse."):
        if module_info.name.endswith("__main__"):
            continue  # importing it would run the CLI
        module = importlib.import_module(module_info.name)
        for name, obj in vars(module).items():
            if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj)) \
                    and obj.__module__ == module.__name__:
                names.add(name)
    return names


def test_the_course_notebooks_come_in_order_without_gaps():
    # Every lesson is there under its name, numbered without a gap.
    stems = sorted(p.stem for p in NOTEBOOKS if p.stem[:2] in {e[:2] for e in EXPECTED})
    assert stems == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_outputs_come_from_one_clean_top_to_bottom_run(path):
    cells = _code_cells(path)
    counts = [cell.execution_count for cell in cells]
    assert counts == list(range(1, len(cells) + 1)), f"{path.name}: execution counts {counts}"
    errors = [o.get("ename") for cell in cells for o in cell.outputs if o.output_type == "error"]
    assert errors == [], f"{path.name} stores error outputs"
    assert path.stat().st_size < MAX_BYTES, f"{path.name} is {path.stat().st_size} bytes"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_starts_with_environment_report_and_one_parameters_cell(path):
    cells = _code_cells(path)
    assert "environment_report" in cells[0].source, f"{path.name}: first cell must print the environment"
    tagged = [cell for cell in cells if "parameters" in cell.metadata.get("tags", [])]
    calling = [cell for cell in cells if "course_params(" in cell.source]
    assert len(tagged) == 1 and calling == tagged, f"{path.name}: exactly one parameters cell calling course_params"
    assert cells.index(tagged[0]) == 1, f"{path.name}: the parameters cell comes right after the environment"


def checked_against_library(name, later_cells):
    """True if a later cell compares the notebook's own `name` with the library's `<module>.name`:
    one assert statement or one assert_* call (`np.testing.assert_allclose(name(x), mnist.name(x))`)
    that uses both the bare name and the attribute."""
    def asserting(node):
        if isinstance(node, ast.Assert):
            return True
        function = getattr(node, "func", None)
        return getattr(function, "attr", getattr(function, "id", "")).startswith("assert")

    for cell in later_cells:
        for node in ast.walk(ast.parse(_python_source(cell))):
            if asserting(node):
                inner = list(ast.walk(node))
                if any(isinstance(n, ast.Name) and n.id == name for n in inner) and \
                        any(isinstance(n, ast.Attribute) and n.attr == name for n in inner):
                    return True
    return False


def redefined_unchecked(cells, library):
    """Library names a notebook's cells define without then checking them against the library's."""
    found = []
    for index, cell in enumerate(cells):
        for node in ast.walk(ast.parse(_python_source(cell))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in library \
                    and not checked_against_library(node.name, cells[index + 1:]):
                found.append(node.name)
    return sorted(set(found))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_defines_a_library_name_only_to_check_it_against_the_library(path):
    # A lesson may write `inference` out on the page, as the talk did, then compare it with
    # `mnist.inference`; a helper copied in without that comparison is a second copy that drifts.
    found = redefined_unchecked(_code_cells(path), library_public_names())
    assert found == [], f"{path.name} redefines library names {found}: import them, or check yours against them"


def test_the_redefinition_rule_needs_a_comparison_after_the_definition():
    cell = nbformat.v4.new_code_cell
    written = cell("def loss(logits, labels):\n    return 0")
    library = {"loss"}
    assert redefined_unchecked([written], library) == ["loss"]
    assert redefined_unchecked([written, cell("print(loss(1, 2), mnist.loss(1, 2))")], library) == ["loss"]
    assert redefined_unchecked([cell("assert loss(1, 2) == mnist.loss(1, 2)"), written], library) == ["loss"]
    assert redefined_unchecked([written, cell("assert loss(1, 2) == mnist.loss(1, 2)")], library) == []
    assert redefined_unchecked([written, cell("np.testing.assert_allclose(loss(a, b), mnist.loss(a, b))")],
                               library) == []


def test_the_redefinition_check_sees_library_helpers():
    library = library_public_names()
    assert {"digit_grid", "trace_graph", "read_scalars", "course_params"} <= library


def test_nbval_reads_the_check_tags_and_no_cell_carries_marker_comments():
    import nbval.plugin

    tagged = 0
    for path in NOTEBOOKS:
        for cell in _code_cells(path):
            assert "NBVAL_" not in cell.source, f"{path.name}: nbval marker comment; use a cell tag"
            tags = [tag for tag in cell.metadata.get("tags", []) if tag.startswith("nbval")]
            assert all(tag in nbval.plugin.metadata_tags for tag in tags), f"{path.name}: unknown tag in {tags}"
            tagged += "nbval-check-output" in tags
    assert tagged >= 20


def test_a_cell_time_out_fails_the_rest_of_the_notebook(tmp_path):
    # nbval alone marks the cells after a time-out as non-strict xfails; the root conftest.py fails them.
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import time\ntime.sleep(60)"),
                                               nbformat.v4.new_code_cell("assert True")])
    nbformat.write(notebook, tmp_path / "sleeps.ipynb")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # this folder is the rootdir, the repo's settings stay out
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(NOTEBOOKS_DIR.parent), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:cacheprovider", "--nbval-lax",
                          "--nbval-cell-timeout", "1", "-rA", "sleeps.ipynb"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stdout[-3000:]
    assert "1 failed, 1 error" in run.stdout and "xfail" not in run.stdout, run.stdout[-3000:]
    assert "an earlier cell of sleeps.ipynb timed out" in run.stdout


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_outputs_name_no_machine(path):
    """Outputs are read on the web and in every student's copy: no absolute path of the machine
    that stored them (the checkout, the temp folder, the home folder), only `settings.shown` forms."""
    import re

    outputs = "\n".join(str(cell.get("outputs", "")) for cell in nbformat.read(path, as_version=4).cells)
    found = sorted(set(re.findall(r"(?:/work|/root|/home|/tmp|/var/folders|/private)/[\w.\-/]*", outputs)))
    assert found == [], f"{path.name} stores absolute paths {found[:5]}: print them with settings.shown"


def test_shown_writes_checkout_temp_and_home_paths_relative(tmp_path, monkeypatch):
    from tfcourse import settings

    checkout = str(pathlib.Path(settings.__file__).resolve().parents[1])
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)
    assert settings.shown(os.path.join(checkout, "data", "mnist")) == os.path.join("data", "mnist")
    assert settings.shown(f"runs {tmp_path}/tfcourse-7 (x)") == "runs <tmp>/tfcourse-7 (x)"
    assert settings.shown(os.path.expanduser("~/notes")) == "~/notes"
    assert settings.shown("/usr/lib/x") == "/usr/lib/x"


def test_smoke_values_live_in_the_library_and_only_shrink_known_parameters(monkeypatch):
    """The parameters cell shows the course's values only; the smoke table may name no other key."""
    from tfcourse import settings
    from tfcourse.smoke import SMOKE

    monkeypatch.setenv("TFCOURSE_SMOKE", "1")
    assert settings.course_params("03", {"manual_steps": 300, "epochs": 10, "min_test_precision": 0.97,
                                         "seed": 0})["epochs"] == SMOKE["03"]["epochs"]
    monkeypatch.setenv("TFCOURSE_SMOKE", "0")
    assert settings.course_params("03", {"manual_steps": 300, "epochs": 10, "min_test_precision": 0.97})["epochs"] == 10
    with pytest.raises(ValueError, match="smoke values for unknown parameters"):
        settings.course_params("03", {"epochs": 10})
    with pytest.raises(ValueError, match="unknown notebook '99'"):
        settings.course_params("99", {})
    for path in NOTEBOOKS:
        source = "".join(cell.source for cell in nbformat.read(path, as_version=4).cells
                         if "parameters" in cell.metadata.get("tags", []))
        assert "smoke" not in source, f"{path.name}: the parameters cell shows smoke values"
        assert f'"{path.name[:2]}"' in source, f"{path.name}: course_params names another notebook"

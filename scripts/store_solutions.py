"""Stores each lesson's exercise section solved and run, for the website's solution pages.

    python scripts/store_solutions.py            # every lesson with exercises
    python scripts/store_solutions.py 03 07      # some of them

For each notebook with an exercise module, the exercise section (the environment cell, the
setup cell, every prompt) gets the module's reference solutions, runs in a fresh kernel, and
lands in docs/solutions/<notebook>.ipynb with its outputs: the feedback every check shows a
student in JupyterLab. The site renders these stored outputs as it renders the lessons; it
never runs them. tests/test_site.py fails when a stored copy no longer holds the module's
solutions or one of its checks did not pass, which says to run this again.
"""

import os
import pathlib
import sys

import nbformat
from nbclient import NotebookClient

from tfcourse.exercises import cells

REPO = pathlib.Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "solutions"


def solved_copy(notebook_path):
    """The solved exercise section of one lesson, not yet run, headed for the website."""
    notebook = nbformat.read(notebook_path, as_version=4)
    module = cells.exercise_module(notebook_path)
    solved = cells.solved_notebook(cells.exercise_section(notebook), module)
    title = notebook.cells[0].source.splitlines()[0].lstrip("# ").strip()
    solved.cells[0] = nbformat.v4.new_markdown_cell(
        f"# Solutions · {title}\n\n"
        f"The exercises of [this lesson](../../notebooks/{notebook_path.name}) with the course's reference "
        "solutions, run in a fresh kernel: each cell's output is the feedback its check gives in "
        "JupyterLab. Try them yourself first; other correct ways of writing them pass too.",
        id="solutions-title")
    return solved


def main(argv):
    wanted = set(argv)
    os.environ.setdefault("TFCOURSE_SMOKE", "1")  # the checks are the same; the lesson's long runs are not here
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    OUT.mkdir(parents=True, exist_ok=True)
    for path in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        if wanted and path.name[:2] not in wanted:
            continue
        solved = solved_copy(path)
        NotebookClient(solved, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(REPO / "notebooks")}}).execute()
        statuses = {key: record["status"] for key, record in cells.check_results(solved).items()}
        nbformat.write(solved, OUT / path.name)
        print(f"{path.name}: {statuses}")
        if set(statuses.values()) != {"passed"}:
            print(f"{path.name}: a reference solution did not pass its check", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

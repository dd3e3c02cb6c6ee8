"""The exercise section of a notebook, its solved copy, and the check records of a run.

Every cell of the section is generated from the notebook's exercise module (nbNN.py), so the
module is the one source of prompts, skeletons and solutions:
  * a markdown heading "Exercises" and a setup code cell (tag "exercises:setup");
  * per exercise, a markdown prompt and a code cell (tag "exercise:qK") holding the skeleton
    followed by the check call, e.g. `ex.q1.check(my_loss)`.
All of them carry the tag "exercises". `solved_notebook` swaps each skeleton for the module's
solution (`answered_notebook` for any answers, e.g. a catalogued mistake); `collect_records`
reads the records `check()` left in an executed notebook's outputs.

Write (or refresh) a notebook's section with:
    python -m tfcourse.exercises.cells notebooks/03_loss_and_training.ipynb
"""

import copy
import importlib
import pathlib
import re
import sys

import nbformat

from tfcourse.exercises.answers import PRELUDE
from tfcourse.exercises.feedback import RECORD_MIME_TYPE

SECTION_TAG = "exercises"
SETUP_TAG = "exercises:setup"
EXERCISE_TAG_PREFIX = "exercise:"

INTRO = """\
## Exercises

Write the code of this lesson yourself. Each exercise is a code cell with `...` to replace;
run it and its last line checks your answer on several inputs, edge cases included, and names
the usual mistake if it sees one. Stuck? `ex.q1.hint()` gives a hint (call it again for a
stronger one) and `ex.q1.solution()` shows the reference code. Run the setup cell first."""


def module_name_for(notebook_path):
    """"nb03" for notebooks/03_loss_and_training.ipynb."""
    stem = pathlib.Path(notebook_path).name
    if not re.match(r"\d\d_.*\.ipynb$", stem):
        raise ValueError(f"expected a course notebook named NN_name.ipynb, got {notebook_path}")
    return f"nb{stem[:2]}"


def exercise_module(notebook_path):
    """The exercise module of a notebook (ModuleNotFoundError if it has none yet)."""
    return importlib.import_module(f"tfcourse.exercises.{module_name_for(notebook_path)}")


def exercise_tag(exercise):
    return f"{EXERCISE_TAG_PREFIX}{exercise.question}"


def cell_source(exercise, solved=False, answer=None):
    """The code cell of `exercise`: skeleton (or solution, or the given answer source) then the check call."""
    body = answer if answer is not None else exercise.solution_source if solved else exercise.skeleton
    return body.rstrip("\n") + "\n\n" + exercise.check_call


def prompt_source(exercise):
    return (f"### {exercise.question}. {exercise.title}\n\n{exercise.prompt}\n\n"
            f"Hint: `ex.{exercise.question}.hint()` · solution: `ex.{exercise.question}.solution()`")


def section_cells(module):
    """The cells of the exercise section of `module` (a tfcourse.exercises.nbNN module)."""
    short_name = module.__name__.rsplit(".", 1)[1]
    # Fixed cell ids: writing the section again changes nothing when the module did not change
    # (random ids would make every rewrite a diff, and notebooks merge badly).
    cells = [
        nbformat.v4.new_markdown_cell(INTRO, metadata={"tags": [SECTION_TAG]}, id="exercises"),
        nbformat.v4.new_code_cell(PRELUDE + f"from tfcourse.exercises import {short_name} as ex",
                                  metadata={"tags": [SECTION_TAG, SETUP_TAG]}, id="exercises-setup"),
    ]
    for exercise in module.EXERCISES:
        cells.append(nbformat.v4.new_markdown_cell(prompt_source(exercise), metadata={"tags": [SECTION_TAG]},
                                                   id=f"exercise-{exercise.question}-prompt"))
        cells.append(nbformat.v4.new_code_cell(cell_source(exercise), id=f"exercise-{exercise.question}",
                                               metadata={"tags": [SECTION_TAG, exercise_tag(exercise)]}))
    return cells


def _tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def write_section(notebook_path):
    """Appends the exercise section to the notebook, replacing a previous one (the trailing
    cells tagged "exercises"); the lesson's cells are left as they are."""
    notebook = nbformat.read(notebook_path, as_version=4)
    while notebook.cells and SECTION_TAG in _tags(notebook.cells[-1]):
        notebook.cells.pop()
    notebook.cells.extend(section_cells(exercise_module(notebook_path)))
    nbformat.write(notebook, notebook_path)


def exercise_section(notebook):
    """A copy holding the notebook's title, its first code cell (the environment report) and its
    exercise section: what CI executes to run the solutions without the lesson."""
    first_code = next(i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code")
    short = copy.deepcopy(notebook)
    short.cells = [copy.deepcopy(c) for c in notebook.cells[:first_code + 1]] + [
        copy.deepcopy(c) for c in notebook.cells if SECTION_TAG in _tags(c)]
    return short


def solved_notebook(notebook, module):
    """A copy of `notebook` whose exercise cells hold the module's solutions."""
    return answered_notebook(notebook, module, {e.question: e.solution_source for e in module.EXERCISES})


def answered_notebook(notebook, module, answers):
    """A copy of `notebook` whose exercise cells hold the given answers, {"q1": source, ...}
    (e.g. `module.q1.mistakes[0].wrong` for a notebook with a known mistake); others keep theirs."""
    by_tag = {exercise_tag(exercise): exercise for exercise in module.EXERCISES}
    unknown = sorted(set(answers) - {exercise.question for exercise in module.EXERCISES})
    if unknown:
        raise ValueError(f"{module.__name__} has no exercises {unknown}")
    answered = copy.deepcopy(notebook)
    for cell in answered.cells:
        for tag in _tags(cell):
            if tag in by_tag and by_tag[tag].question in answers:
                cell.source = cell_source(by_tag[tag], answer=answers[by_tag[tag].question])
                cell.outputs, cell.execution_count = [], None
    return answered


def exercise_ids(notebook):
    """["nb03.q1", ...]: the exercises a notebook asks, from its cell tags (in cell order)."""
    ids = []
    for cell in notebook.cells:
        for tag in _tags(cell):
            if tag.startswith(EXERCISE_TAG_PREFIX):
                ids.append(f"{cell_module_name(notebook)}.{tag[len(EXERCISE_TAG_PREFIX):]}")
    return ids


def cell_module_name(notebook):
    """The exercise module the setup cell imports ("nb03"), or None."""
    for cell in notebook.cells:
        if SETUP_TAG in _tags(cell):
            match = re.search(r"from tfcourse\.exercises import (nb\d\d) as ex", cell.source)
            if match:
                return match.group(1)
    return None


def collect_records(notebook):
    """Every record (dict) that check/hint/solution left in the notebook's outputs, in order."""
    records = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if RECORD_MIME_TYPE in data:
                records.append(dict(data[RECORD_MIME_TYPE]))
    return records


def check_results(notebook):
    """{exercise id: the record of its last check} for an executed notebook.

    An exercise that was never checked (the run stopped before its cell) is absent; a grader
    lists it from `exercise_ids` as not reached.
    """
    results = {}
    for record in collect_records(notebook):
        if record.get("event") == "check":
            results[record["exercise"]] = record
    return results


def _main(argv):
    if not argv or any(not pathlib.Path(a).is_file() for a in argv):
        print("usage: python -m tfcourse.exercises.cells NOTEBOOK.ipynb... (existing course notebooks)",
              file=sys.stderr)
        return 2
    for path in argv:
        write_section(path)
        print(f"{path}: exercise section written ({len(exercise_module(path).EXERCISES)} exercises)")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))

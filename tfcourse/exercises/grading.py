"""Grading submitted notebooks: run each headless in a fresh kernel, then read back its checks.

    notebook = grading.read_submission("alice/03_loss_and_training.ipynb")
    grade = grading.grade_notebook(notebook, "alice/03_loss_and_training.ipynb", timeout=300,
                                   kernel_name="python3")
    grade.passed, grade.total          # 3, 4
    grade.exercises[1].status          # "mistake" (grade.exercises[1].mistake: "sum_instead_of_mean")

Each notebook runs in a new kernel whose working directory (and TMPDIR) is in a new temporary
directory, removed afterwards, so no file of one run reaches the next. Stored outputs are cleared first
(a record someone else's run left proves nothing), then nbclient runs the code cells in order.
An exception in a cell does not stop the run, so one broken answer costs one exercise; a kernel
that dies, or a notebook that outlasts its time budget, does stop it. nbclient fills the
notebook it was given cell by cell, so after a stop it holds the outputs of every cell that ran:
the notebook scores what it reached. Statuses are core.STATUSES plus "not_reached"; an exercise
without a check record (`cells.check_results`) is
  * error: its cell raised before the check ran, timed out, or killed the kernel;
  * not_reached: the run stopped before its cell;
  * not_attempted: its cell ran without calling the check, or the notebook has no cell for it.

Grading runs the students' code with your permissions: grade untrusted submissions in a
container or a virtual machine.
"""

import dataclasses
import importlib
import os
import pathlib
import subprocess
import tempfile
import time

import nbformat

from tfcourse.errors import CourseError
from tfcourse.exercises import cells, core
from tfcourse.exercises.answers import first_line

STATUSES = core.STATUSES + ("not_reached",)


class NotANotebook(CourseError):
    """A path given for grading is missing, is no .ipynb file, or does not hold a valid notebook."""


@dataclasses.dataclass(frozen=True)
class ExerciseGrade:
    """One exercise of one notebook: `status` in STATUSES, `mistake` the catalogued name (or
    "wrong_result") when status is "mistake", `message` one line saying why (empty when passed)."""
    exercise: str
    status: str
    mistake: str | None = None
    message: str = ""


@dataclasses.dataclass(frozen=True)
class NotebookGrade:
    """A graded notebook: its exercises in notebook order, and `note`: None when every cell ran
    without an error outside the exercises, else one line saying what happened ("stopped: the
    300 s budget ran out in nb03.q2's cell", "not run: no exercise section to grade", "another
    cell raised (first: the exercises' setup cell: ModuleNotFoundError: ...)")."""
    notebook: str
    exercises: tuple[ExerciseGrade, ...]
    note: str | None = None
    seconds: float = 0.0

    @property
    def passed(self):
        return sum(e.status == "passed" for e in self.exercises)

    @property
    def total(self):
        return len(self.exercises)


def read_submission(path):
    """The notebook at `path` (nbformat v4), or NotANotebook saying what is wrong in one line."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise NotANotebook(f"{path}: no such file; expected a Jupyter notebook (.ipynb)")
    if path.suffix != ".ipynb":
        raise NotANotebook(f"{path}: not a notebook; expected a Jupyter notebook file ending in .ipynb")
    invalid = {}
    try:
        notebook = nbformat.read(path, as_version=4, capture_validation_error=invalid)
    except Exception as error:  # noqa: BLE001 - nbformat raises many types (JSON, schema, decoding) for a bad file
        raise NotANotebook(f"{path}: not a valid notebook ({first_line(error)})") from None
    if invalid:
        raise NotANotebook(f"{path}: not a valid notebook ({first_line(invalid['ValidationError'])})")
    return notebook


def exercises_of(notebook, path=None):
    """["nb03.q1", ...]: what the notebook asks, in order: its exercise module's list (so a deleted
    cell still counts), else its cell tags. The module is the one the setup cell imports, else
    (exercise cells without their setup cell) the one the file name implies (NN_name.ipynb);
    [] for a notebook without exercises."""
    name = cells.cell_module_name(notebook)
    if name is None and path is not None and cells.exercise_ids(notebook):
        try:
            name = cells.module_name_for(path)
        except ValueError:
            return []
    if name is None:
        return []
    try:
        module = importlib.import_module(f"tfcourse.exercises.{name}")
    except ModuleNotFoundError:
        module = None
    ids = [exercise.id for exercise in module.EXERCISES] if module is not None else []
    # exercise_ids prefixes the module its setup cell imports ("None" when that cell is gone).
    tagged = [f"{name}.{i.rsplit('.', 1)[1]}" for i in cells.exercise_ids(notebook)]
    return ids + [i for i in tagged if i not in ids]


def _tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def _exercise_cells(notebook, ids):
    """{exercise id: index of the cell tagged for it} (the first such cell)."""
    questions = {i.rsplit(".", 1)[1]: i for i in ids}
    found = {}
    for index, cell in enumerate(notebook.cells):
        for tag in _tags(cell):
            question = tag[len(cells.EXERCISE_TAG_PREFIX):] if tag.startswith(cells.EXERCISE_TAG_PREFIX) else None
            if question in questions:
                found.setdefault(questions[question], index)
    return found


def _describe_cell(notebook, index, ids):
    """How a teacher finds the cell: "nb03.q2's cell", "the exercises' setup cell", "code cell 7 (`x = 1`)"."""
    for exercise, cell_index in _exercise_cells(notebook, ids).items():
        if cell_index == index:
            return f"{exercise}'s cell"
    cell = notebook.cells[index]
    if cells.SETUP_TAG in _tags(cell):
        return "the exercises' setup cell"
    number = sum(c.cell_type == "code" for c in notebook.cells[:index + 1])
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    return f"code cell {number} (`{first[:40]}`)"


def _raised(cell):
    """"Type: message" of the error output a cell left, or None."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            value = str(output.get("evalue", "")).strip().splitlines()
            return f"{output.get('ename', 'Error')}: {value[0][:300]}" if value else output.get("ename", "Error")
    return None


def other_errors_note(notebook, ids):
    """"N other cells raised (first: <cell>: Type: message)" for the code cells outside the
    exercises that raised, or None. A setup cell that cannot import tfcourse (a kernel without
    it) or a lesson cell missing its data says here why the exercises failed."""
    exercise_cells = set(_exercise_cells(notebook, ids).values())
    raised = [(index, _raised(cell)) for index, cell in enumerate(notebook.cells)
              if cell.cell_type == "code" and index not in exercise_cells and _raised(cell)]
    if not raised:
        return None
    index, error = raised[0]
    count = f"{len(raised)} other cells raised" if len(raised) > 1 else "another cell raised"
    return f"{count} (first: {_describe_cell(notebook, index, ids)}: {error})"


def grades_from_run(notebook, ids, stopped_at=None, stop_reason=None):
    """The ExerciseGrade of each id in `ids` from an executed `notebook`.

    Args:
      notebook: the notebook as nbclient left it (outputs of every cell that ran).
      ids: the exercises asked, in order (`exercises_of`).
      stopped_at: index of the cell running when the run stopped (timeout, dead kernel), or None
        when every cell ran (or the run stopped before the first cell: pass -1).
      stop_reason: "timed out", "the kernel died", ...: the error of the exercise whose cell it was.
    """
    records = cells.check_results(notebook)
    where = _exercise_cells(notebook, ids)
    grades = []
    for exercise in ids:
        record = records.get(exercise)
        index = where.get(exercise)
        if record is not None:
            grades.append(ExerciseGrade(exercise, record["status"], record.get("mistake"), record.get("message", "")))
        elif stopped_at is not None and (index is None or index > stopped_at):
            grades.append(ExerciseGrade(exercise, "not_reached", None, "the run stopped before this exercise"))
        elif index is None:
            grades.append(ExerciseGrade(exercise, "not_attempted", None, "the notebook has no cell for it"))
        elif index == stopped_at:
            grades.append(ExerciseGrade(exercise, "error", None, stop_reason))
        elif _raised(notebook.cells[index]):
            grades.append(ExerciseGrade(exercise, "error", None, _raised(notebook.cells[index])))
        else:
            question = exercise.rsplit(".", 1)[1]
            grades.append(ExerciseGrade(exercise, "not_attempted", None,
                                        f"its cell ran without calling `ex.{question}.check`"))
    return tuple(grades)


def grade_notebook(notebook, name, *, timeout, kernel_name, smoke=False, exercises_only=False):
    """Runs a copy of `notebook` in a fresh kernel and temporary directory; returns its NotebookGrade.

    Args:
      notebook: a submission (`read_submission`); it is not modified.
      name: how the grade names the notebook (its path); a file name NN_x.ipynb also tells the
        exercise module when the notebook's setup cell is gone.
      timeout: seconds all the notebook's cells may run in total (kernel start-up not counted);
        `tfcourse grade` gives 300.
      kernel_name: the Jupyter kernel to run it in ("python3").
      smoke: set TFCOURSE_SMOKE=1 in the kernel (the lessons' small CI sizes); otherwise the
        kernel inherits this process's environment, TFCOURSE_SMOKE included.
      exercises_only: run only the environment cell and the exercise section
        (`cells.exercise_section`; the section uses nothing from the lesson), not the lesson.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    ids = exercises_of(notebook, name)
    if not ids:
        why = ("its exercises' setup cell is gone, so which notebook's exercises they are is unknown; "
               "name the file NN_name.ipynb" if cells.exercise_ids(notebook) else "no exercise section to grade")
        return NotebookGrade(name, (), f"not run: {why}")
    has_code = any(cell.cell_type == "code" for cell in notebook.cells)
    run = cells.exercise_section(notebook) if exercises_only and has_code else nbformat.from_dict(notebook)
    for cell in run.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    deadline, current = [], [-1]

    def remaining(cell):
        # One budget for the whole notebook: each cell gets what the cells before it left.
        if not deadline:
            deadline.append(time.monotonic() + timeout)
        return max(deadline[0] - time.monotonic(), 0.001)

    def started(cell, cell_index):
        current[0] = cell_index

    env = {**os.environ, "TFCOURSE_SMOKE": "1"} if smoke else dict(os.environ)
    start = time.monotonic()
    stopped_at, reason, note = None, None, None
    # ignore_cleanup_errors: a file the student's code left locked must not stop the other notebooks.
    with tempfile.TemporaryDirectory(prefix="tfcourse-grade-", ignore_cleanup_errors=True) as root:
        # The kernel's working directory starts empty; its TMPDIR is a sibling so that temporary
        # files (TensorFlow's AutoGraph sources, which a killed kernel never deletes) go too.
        workdir, env["TMPDIR"] = os.path.join(root, "work"), os.path.join(root, "tmp")
        os.mkdir(workdir)
        os.mkdir(env["TMPDIR"])
        # shutdown_kernel="immediate": the kernel is thrown away anyway, and a graceful shutdown
        # waits seconds per notebook (longer for one stuck in a loop).
        client = NotebookClient(run, timeout=timeout, timeout_func=remaining, allow_errors=True,
                                kernel_name=kernel_name, on_cell_execute=started, shutdown_kernel="immediate",
                                resources={"metadata": {"path": workdir}})
        try:
            # The kernel's own stderr (TensorFlow's C++ start-up lines) would flood the
            # teacher's terminal; what the cells print is still captured in their outputs.
            client.execute(env=env, stderr=subprocess.DEVNULL)
        except CellTimeoutError:
            stopped_at, reason = current[0], f"timed out (the notebook's {timeout:g} s were spent)"
            note = f"stopped: the {timeout:g} s budget ran out in {_describe_cell(run, stopped_at, ids)}"
        except DeadKernelError:
            stopped_at, reason = current[0], "the kernel died while this cell ran"
            note = f"stopped: the kernel died in {_describe_cell(run, stopped_at, ids)}"
        except Exception as error:  # noqa: BLE001 - one notebook that cannot run must not stop the others
            stopped_at = current[0]
            reason = f"the run failed: {first_line(error)}"
            note = (f"not run: {first_line(error)}" if stopped_at < 0 else
                    f"stopped: the run failed in {_describe_cell(run, stopped_at, ids)}: {first_line(error)}")
    others = other_errors_note(run, ids)
    note = "; ".join(part for part in (note, others) if part) or None
    return NotebookGrade(name, grades_from_run(run, ids, stopped_at, reason), note,
                         round(time.monotonic() - start, 1))

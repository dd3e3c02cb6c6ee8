"""Grading submitted notebooks: run each headless in a fresh, confined kernel, with the grader's own checks.

    notebook = grading.read_submission("alice/03_loss_and_training.ipynb")
    grade = grading.grade_notebook(notebook, "alice/03_loss_and_training.ipynb", timeout=300,
                                   kernel_name="python3", limits=sandbox.Limits(), bwrap=sandbox.bwrap_path())
    grade.passed, grade.total          # 3, 4
    grade.exercises[1].status          # "mistake" (grade.exercises[1].mistake: "sum_instead_of_mean")

Each notebook runs in a new kernel, confined by `sandbox` (no network, a read-only system, an
empty private home and /tmp, limits), in a new temporary directory of the grader's, removed
afterwards. Stored outputs are cleared first, then nbclient runs the code cells in order, and
after each exercise cell a cell of the grader's own (`verdict`) checks the answer and prints a
verdict carrying a nonce drawn for that cell: only those verdicts score. A check record the
notebook's own cells displayed proves nothing; one that says "passed" where the grader's
check does not is flagged as forged.
An exception in a cell does not stop the run, so one broken answer costs one exercise; a kernel
that dies, too much output, or a notebook that outlasts its time budget does stop it (and its
process group and PID namespace are killed). nbclient fills the notebook cell by cell, so after
a stop it holds the outputs of every cell that ran: the notebook scores what it reached.
Statuses are core.STATUSES plus "not_reached"; besides the grader's verdicts an exercise is
  * error: its cell raised, timed out, or killed the kernel (or the grader's check gave no verdict);
  * not_reached: the run stopped before its cell;
  * not_attempted: the notebook has no cell for it.
"""

import dataclasses
import importlib
import os
import pathlib
import shutil
import subprocess
import tempfile
import time

import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from tfcourse import settings
from tfcourse.errors import CourseError
from tfcourse.exercises import cells, core, sandbox, verdict
from tfcourse.exercises.answers import first_line

STATUSES = core.STATUSES + ("not_reached",)
DEFAULT_MAX_OUTPUT = 20 << 20  # bytes of outputs per notebook: a full lesson with its plots keeps ~2 MB


class NotANotebook(CourseError):
    """A path given for grading is missing, is no .ipynb file, or does not hold a valid notebook."""


@dataclasses.dataclass(frozen=True)
class ExerciseGrade:
    """One exercise of one notebook: `status` in STATUSES, `mistake` the catalogued name (or
    "wrong_result") when status is "mistake", `message` one line saying why (empty when passed),
    `flag` what the grader found suspicious (a forged record), else None, `hints_seen` the
    strongest hint the student asked for in this run (0: none)."""
    exercise: str
    status: str
    mistake: str | None = None
    message: str = ""
    flag: str | None = None
    hints_seen: int = 0


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
    student: str | None = None        # `gradebook.identity`: the id, and the name to show
    student_name: str | None = None

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


def with_grader_checks(notebook, ids):
    """`notebook` with the grader's check cell after each exercise's cell (`verdict.add_check_cells`)."""
    return verdict.add_check_cells(notebook, _exercise_cells(notebook, ids))


def _describe_cell(notebook, index, ids):
    """How a teacher finds the cell: "nb03.q2's cell", "the exercises' setup cell", "code cell 7 (`x = 1`)"."""
    grader = verdict.grader_cell(notebook.cells[index])
    if grader is not None:
        return f"the grader's check of {grader['exercise']}"
    for exercise, cell_index in _exercise_cells(notebook, ids).items():
        if cell_index == index:
            return f"{exercise}'s cell"
    cell = notebook.cells[index]
    if cells.SETUP_TAG in _tags(cell):
        return "the exercises' setup cell"
    number = sum(c.cell_type == "code" and not verdict.grader_cell(c) for c in notebook.cells[:index + 1])
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
              if cell.cell_type == "code" and index not in exercise_cells and not verdict.grader_cell(cell)
              and _raised(cell)]
    if not raised:
        return None
    index, error = raised[0]
    count = f"{len(raised)} other cells raised" if len(raised) > 1 else "another cell raised"
    return f"{count} (first: {_describe_cell(notebook, index, ids)}: {error})"


def grades_from_run(notebook, ids, stopped_at=None, stop_reason=None):
    """The ExerciseGrade of each id in `ids` from an executed `notebook` (`with_grader_checks`).

    Only the verdicts of the grader's own check cells count. A check record in the notebook's
    own outputs that says "passed" where the grader's check does not is flagged (`flag`).

    Args:
      notebook: the notebook as nbclient left it (outputs of every cell that ran).
      ids: the exercises asked, in order (`exercises_of`).
      stopped_at: index of the cell running when the run stopped (timeout, dead kernel), or None
        when every cell ran (or the run stopped before the first cell: pass -1).
      stop_reason: "timed out", "the kernel died", ...: the error of the exercise whose cell it was.
    """
    verdicts = verdict.verdicts(notebook)
    claimed = verdict.claimed_passes(notebook)
    hints = {}
    for record in cells.collect_records(notebook):
        if record.get("event") == "hint" and isinstance(record.get("level"), int):
            hints[record.get("exercise")] = max(hints.get(record.get("exercise"), 0), record["level"])
    where = _exercise_cells(notebook, ids)
    grades = []
    for exercise in ids:
        index = where.get(exercise)
        checked_at = index + 1 if index is not None else None  # the grader's cell follows the exercise's
        if index is None:
            grade = ExerciseGrade(exercise, "not_attempted", None, "the notebook has no cell for it")
        elif stopped_at is not None and index > stopped_at:
            grade = ExerciseGrade(exercise, "not_reached", None, "the run stopped before this exercise")
        elif stopped_at in (index, checked_at):
            grade = ExerciseGrade(exercise, "error", None, stop_reason)
        elif _raised(notebook.cells[index]):
            grade = ExerciseGrade(exercise, "error", None, _raised(notebook.cells[index]))
        elif verdicts.get(exercise, (None, None))[0] is not None:
            record = verdicts[exercise][0]
            grade = ExerciseGrade(exercise, record["status"], record.get("mistake"), record.get("message", ""))
        else:
            why = verdicts.get(exercise, (None, "the grader's check did not run"))[1]
            grade = ExerciseGrade(exercise, "error", None, why)
        grade = dataclasses.replace(grade, hints_seen=hints.get(exercise, 0))
        if exercise in claimed and grade.status != "passed":
            grade = dataclasses.replace(grade, flag="forged record: the notebook's output shows a passed check "
                                                    "that the grader's own check does not confirm")
        grades.append(grade)
    return tuple(grades)


def grade_notebook(notebook, name, *, timeout, kernel_name, smoke=False, exercises_only=False,
                   limits=None, bwrap=None, max_output=DEFAULT_MAX_OUTPUT):
    """Runs a copy of `notebook` in a fresh kernel and temporary directory; returns its NotebookGrade.

    Args:
      notebook: a submission (`read_submission`); it is not modified.
      name: how the grade names the notebook (its path); a file name NN_x.ipynb also tells the
        exercise module when the notebook's setup cell is gone.
      timeout: seconds all the notebook's cells may run in total (kernel start-up not counted);
        `tfcourse grade` gives 300. At the end the kernel's process group is killed.
      kernel_name: the Jupyter kernel to run it in ("python3").
      smoke: set TFCOURSE_SMOKE=1 in the kernel (the lessons' small CI sizes); otherwise the
        kernel inherits TFCOURSE_SMOKE from this process's environment.
      exercises_only: run only the environment cell and the exercise section
        (`cells.exercise_section`; the section uses nothing from the lesson), not the lesson.
      limits: a `sandbox.Limits` to run the kernel confined (with `bwrap`, `sandbox.bwrap_path()`),
        or None to run it with this process's permissions and environment.
      max_output: bytes of outputs kept; past them the kernel is killed and the notebook scores
        what it reached.
    """
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
    run = with_grader_checks(run, ids)
    deadline, current = [], [-1]

    def remaining(cell):
        # One budget for the whole notebook: each cell gets what the cells before it left.
        if not deadline:
            deadline.append(time.monotonic() + timeout)
        return max(deadline[0] - time.monotonic(), 0.001)

    def started(cell, cell_index):
        current[0] = cell_index

    start = time.monotonic()
    stopped_at, reason, note = None, None, None
    # ignore_cleanup_errors: a file the student's code left locked must not stop the other notebooks.
    with tempfile.TemporaryDirectory(prefix="tfcourse-grade-", ignore_cleanup_errors=True) as root:
        # The kernel's working directory starts empty; its TMPDIR is a sibling so that temporary
        # files (TensorFlow's AutoGraph sources, which a killed kernel never deletes) go too.
        workdir, tmpdir = os.path.join(root, "work"), os.path.join(root, "tmp")
        os.mkdir(workdir)
        os.mkdir(tmpdir)
        remove_ipc_dir = False
        if limits is None:
            env = {**os.environ, "TMPDIR": tmpdir, **({"TFCOURSE_SMOKE": "1"} if smoke else {})}
            manager = {}
        else:
            ipc_dir, remove_ipc_dir = sandbox.socket_dir(root)
            env = sandbox.kernel_env(smoke or settings.smoke_mode())
            manager = {"kernel_manager_class": sandbox.kernel_manager_class(ipc_dir=ipc_dir, limits=limits,
                                                                            bwrap=bwrap)}
        # shutdown_kernel="immediate": the kernel is thrown away anyway, and a graceful shutdown
        # waits seconds per notebook (longer for one stuck in a loop).
        client = sandbox.capped_client_class()(run, timeout=timeout, timeout_func=remaining, allow_errors=True,
                               on_cell_execute=started, shutdown_kernel="immediate", max_output=max_output,
                               kernel_name=kernel_name,
                               resources={"metadata": {"path": workdir}}, **manager)
        try:
            # The kernel's own stderr (TensorFlow's C++ start-up lines) would flood the
            # teacher's terminal; what the cells print is still captured in their outputs.
            client.execute(env=env, stderr=None if os.environ.get("GRADE_DEBUG") else subprocess.DEVNULL)
        except CellTimeoutError:
            stopped_at, reason = current[0], f"timed out (the notebook's {timeout:g} s were spent)"
            note = f"stopped: the {timeout:g} s budget ran out in {_describe_cell(run, stopped_at, ids)}"
        except DeadKernelError:
            stopped_at = current[0]
            if client.over_limit:
                what = f"it printed more than the {max_output} bytes of output a notebook may"
                reason = f"stopped: {what}"
            else:
                what, reason = "the kernel died", "the kernel died while this cell ran"
            note = f"stopped: {what} in {_describe_cell(run, stopped_at, ids)}"
        except Exception as error:  # noqa: BLE001 - one notebook that cannot run must not stop the others
            stopped_at = current[0]
            reason = f"the run failed: {first_line(error)}"
            note = (f"not run: {first_line(error)}" if stopped_at < 0 else
                    f"stopped: the run failed in {_describe_cell(run, stopped_at, ids)}: {first_line(error)}")
        finally:
            # Whatever the submission started (even in a new session) goes with its group and namespace.
            sandbox.kill_group(client.km)
            if remove_ipc_dir:
                shutil.rmtree(ipc_dir, ignore_errors=True)
    others = other_errors_note(run, ids)
    grades = grades_from_run(run, ids, stopped_at, reason)
    flagged = [g.exercise for g in grades if g.flag]
    flags = f"flagged: forged check record in {', '.join(flagged)}" if flagged else None
    note = "; ".join(part for part in (note, others, flags) if part) or None
    return NotebookGrade(name, grades, note, round(time.monotonic() - start, 1))

"""The grades of `tfcourse grade` as a terminal table, JSON or CSV (one row per exercise).

All three are built from the same list of `grading.NotebookGrade`, so they always agree:

    notebook                 exercise  status
    alice/03_loss.ipynb      nb03.q1   passed
                             nb03.q2   mistake: sum_instead_of_mean
                             total     1/2 passed
    overall                            1/2 passed (1 notebook)
"""

import csv
import io
import json
import pathlib
import re

GRADEBOOK_FORMAT = 1
CSV_COLUMNS = ("notebook", "exercise", "status", "mistake", "message", "flag")


def status_text(grade):
    """"passed", "mistake: sum_instead_of_mean", "not attempted", "error", "not reached";
    "not attempted (flagged: forged record)" when the grader found a forged record."""
    text = grade.status.replace("_", " ")
    text = f"{text}: {grade.mistake}" if grade.status == "mistake" and grade.mistake else text
    return f"{text} (flagged: {grade.flag.split(':')[0]})" if grade.flag else text


def totals(notebook_grades):
    """(passed, total) over every exercise of every notebook."""
    return sum(g.passed for g in notebook_grades), sum(g.total for g in notebook_grades)


def _total_text(passed, total):
    return f"{passed}/{total} passed"


def _points_text(exercise_grades, weights):
    got = sum(points(e, weights) for e in exercise_grades)
    return f"{got:g}/{sum(possible(e, weights) for e in exercise_grades):g} points"


def format_gradebook(notebook_grades, details=False, weights=None):
    """The table a teacher reads in a terminal: a notebook's exercises in order, its total (and
    why not every cell ran, if so), then the overall total. With `details`, each exercise
    that did not pass is followed by the one-line message its student saw (or why it was
    not graded). With `weights` (`load_points`), the totals give points too."""
    rows = [("notebook", "exercise", "status", None)]
    for grade in notebook_grades:
        first = True
        for exercise in grade.exercises:
            detail = exercise.message if details and exercise.status != "passed" and exercise.message else None
            rows.append((grade.notebook if first else "", exercise.exercise, status_text(exercise), detail))
            first = False
        total = _total_text(grade.passed, grade.total)
        if weights is not None:
            total += f", {_points_text(grade.exercises, weights)}"
        if grade.note:
            total += f" ({grade.note})"
        rows.append((grade.notebook if first else "", "total", total, None))
    passed, total = totals(notebook_grades)
    count = len(notebook_grades)
    overall = _total_text(passed, total)
    if weights is not None:
        overall += f", {_points_text([e for g in notebook_grades for e in g.exercises], weights)}"
    rows.append(("overall", "", f"{overall} ({count} notebook{'s' if count != 1 else ''})", None))
    name_width = max(len(row[0]) for row in rows)
    exercise_width = max(len(row[1]) for row in rows)
    lines = []
    for name, exercise, status, detail in rows:
        lines.append(f"{name:<{name_width}}  {exercise:<{exercise_width}}  {status}".rstrip())
        if detail:
            lines.append(" " * (name_width + exercise_width + 6) + detail)
    return "\n".join(lines)


def to_dict(notebook_grades, weights=None):
    """The gradebook as a JSON-ready dict: totals, and per notebook its student, points and
    exercises in order (points by `weights`, default one per exercise)."""
    passed, total = totals(notebook_grades)
    return {
        "format": GRADEBOOK_FORMAT,
        "passed": passed,
        "total": total,
        "notebooks": [
            {"notebook": g.notebook, "student": g.student, "student_name": g.student_name,
             "passed": g.passed, "total": g.total, "points": sum(points(e, weights) for e in g.exercises),
             "possible": sum(possible(e, weights) for e in g.exercises), "note": g.note, "seconds": g.seconds,
             "exercises": [{"exercise": e.exercise, "status": e.status, "mistake": e.mistake,
                            "message": e.message, "flag": e.flag, "hints_seen": e.hints_seen,
                            "points": points(e, weights)} for e in g.exercises]}
            for g in notebook_grades],
    }


def format_json(notebook_grades, weights=None):
    return json.dumps(to_dict(notebook_grades, weights), indent=2) + "\n"


def format_csv(notebook_grades):
    """One row per exercise (CSV_COLUMNS), for a spreadsheet; totals are COUNTIF(status, "passed")."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for grade in notebook_grades:
        for e in grade.exercises:
            writer.writerow((grade.notebook, e.exercise, e.status, e.mistake or "", e.message, e.flag or ""))
    return buffer.getvalue()


# --- who, and how many points -------------------------------------------------------------

STUDENT_METADATA = "tfcourse"  # notebook.metadata["tfcourse"]["student"] = {"id": ..., "name": ...}
LMS_FIXED_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


def identity(path, notebook):
    """(student id, name) of a submission, from where the teacher collected it, else its metadata.

    The id is the folder of a collected notebook (submissions/<id>/03_loss.ipynb, the layout
    deploy/jupyterhub/collect.sh writes), else the part of the file name before the lesson
    number (<id>_03_loss.ipynb), else the notebook's metadata `tfcourse.student.id`, else the
    file's stem. The name is the metadata's `tfcourse.student.name`, else the id. The path
    wins over the metadata because the student can edit the metadata.
    """
    path = pathlib.PurePath(path)
    student = dict(notebook.get("metadata", {}).get(STUDENT_METADATA, {}).get("student", {}) or {})
    match = re.match(r"(.+?)[_-](\d\d_.*)\.ipynb$", path.name)
    if re.match(r"\d\d_.*\.ipynb$", path.name) and path.parent.name not in ("", "."):
        student_id = path.parent.name
    elif match:
        student_id = match.group(1)
    else:
        student_id = str(student.get("id") or path.stem)
    return student_id, str(student.get("name") or student_id)


def load_points(path):
    """{exercise id: points} from a TOML file; exercises it does not name score `default` (1).

        default = 1
        [points]
        "nb03.q1" = 2
        "nb03.q4" = 0.5

    Raises:
      ValueError: unreadable TOML, an id that is not "nbNN.qK", or points that are not a number >= 0.
    """
    import tomllib

    try:
        with open(path, "rb") as f:
            table = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"points file {path}: {error}; expected TOML such as `[points]` then "
                         "`\"nb03.q1\" = 2`") from None
    points = dict(table.get("points", {}))
    default = table.get("default", 1)
    for name, value in [("default", default), *points.items()]:
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= 0:
            raise ValueError(f"points file {path}: {name} = {value!r}; expected a number >= 0")
        if name != "default" and not re.match(r"nb\d\d\.q\d+$", name):
            raise ValueError(f"points file {path}: {name!r} is no exercise id; expected one like \"nb03.q1\"")
    return {"default": default, **points}


def points(exercise_grade, weights=None):
    """The points of one exercise: its weight when passed, else 0 (a named mistake included)."""
    weights = weights or {}
    weight = weights.get(exercise_grade.exercise, weights.get("default", 1))
    return weight if exercise_grade.status == "passed" else 0


def possible(exercise_grade, weights=None):
    weights = weights or {}
    return weights.get(exercise_grade.exercise, weights.get("default", 1))


def format_lms_csv(notebook_grades, weights=None, assignment="tfcourse exercises"):
    """A gradebook Canvas imports (its export's columns: Student, ID, SIS User ID, SIS Login ID,
    Section, then one column per assignment) and Moodle imports (map "SIS Login ID" to the
    username, the assignment column to a grade item): one row per student, their points summed
    over their notebooks. Canvas's own "ID" is left empty: it matches on the SIS ids."""
    totals, names = {}, {}
    for grade in notebook_grades:
        student = grade.student or grade.notebook
        names.setdefault(student, grade.student_name or student)
        totals[student] = totals.get(student, 0) + sum(points(e, weights) for e in grade.exercises)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow((*LMS_FIXED_COLUMNS, assignment))
    for student, total in totals.items():
        writer.writerow((names[student], "", student, student, "", f"{total:g}"))
    return buffer.getvalue()

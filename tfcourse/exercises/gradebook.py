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

GRADEBOOK_FORMAT = 1
CSV_COLUMNS = ("notebook", "exercise", "status", "mistake", "message")


def status_text(grade):
    """"passed", "mistake: sum_instead_of_mean", "not attempted", "error", "not reached"."""
    text = grade.status.replace("_", " ")
    return f"{text}: {grade.mistake}" if grade.status == "mistake" and grade.mistake else text


def totals(notebook_grades):
    """(passed, total) over every exercise of every notebook."""
    return sum(g.passed for g in notebook_grades), sum(g.total for g in notebook_grades)


def _total_text(passed, total):
    return f"{passed}/{total} passed"


def format_gradebook(notebook_grades, details=False):
    """The table a teacher reads in a terminal: a notebook's exercises in order, its total (and
    why not every cell ran, if so), then the overall total. With `details`, each exercise
    that did not pass is followed by the one-line message its student saw (or why it was
    not graded)."""
    rows = [("notebook", "exercise", "status", None)]
    for grade in notebook_grades:
        first = True
        for exercise in grade.exercises:
            detail = exercise.message if details and exercise.status != "passed" and exercise.message else None
            rows.append((grade.notebook if first else "", exercise.exercise, status_text(exercise), detail))
            first = False
        total = _total_text(grade.passed, grade.total)
        if grade.note:
            total += f" ({grade.note})"
        rows.append((grade.notebook if first else "", "total", total, None))
    passed, total = totals(notebook_grades)
    count = len(notebook_grades)
    rows.append(("overall", "", f"{_total_text(passed, total)} ({count} notebook{'s' if count != 1 else ''})", None))
    name_width = max(len(row[0]) for row in rows)
    exercise_width = max(len(row[1]) for row in rows)
    lines = []
    for name, exercise, status, detail in rows:
        lines.append(f"{name:<{name_width}}  {exercise:<{exercise_width}}  {status}".rstrip())
        if detail:
            lines.append(" " * (name_width + exercise_width + 6) + detail)
    return "\n".join(lines)


def to_dict(notebook_grades):
    """The gradebook as a JSON-ready dict: totals, and per notebook its exercises in order."""
    passed, total = totals(notebook_grades)
    return {
        "format": GRADEBOOK_FORMAT,
        "passed": passed,
        "total": total,
        "notebooks": [
            {"notebook": g.notebook, "passed": g.passed, "total": g.total, "note": g.note,
             "seconds": g.seconds,
             "exercises": [{"exercise": e.exercise, "status": e.status, "mistake": e.mistake,
                            "message": e.message} for e in g.exercises]}
            for g in notebook_grades],
    }


def format_json(notebook_grades):
    return json.dumps(to_dict(notebook_grades), indent=2) + "\n"


def format_csv(notebook_grades):
    """One row per exercise (CSV_COLUMNS), for a spreadsheet; totals are COUNTIF(status, "passed")."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for grade in notebook_grades:
        for e in grade.exercises:
            writer.writerow((grade.notebook, e.exercise, e.status, e.mistake or "", e.message))
    return buffer.getvalue()

"""What a teacher hands back after `tfcourse grade --reports DIR`: feedback and the class report.

  * DIR/feedback/<student>.html: per student, each exercise's status, the check's message and
    the hint that would help next (the one after the strongest hint they asked for);
  * DIR/class-report.txt and .png: per exercise how many passed, and the named mistakes ranked by
    how many students made them, with the check's message: what to re-teach next lesson;
  * DIR/grades-lms.csv: the points per student in a CSV Canvas and Moodle import
    (`gradebook.format_lms_csv`).
"""

import collections
import html
import importlib
import os
import re

from tfcourse.exercises import feedback, gradebook

STATUS_STYLE = {"passed": "passed", "mistake": "mistake", "not_attempted": "not_attempted", "error": "error",
                "not_reached": "not_attempted"}


def _exercise(exercise_id):
    """The exercise object of "nb03.q1", or None when the module or question no longer exists."""
    module_name, question = exercise_id.split(".")
    try:
        return getattr(importlib.import_module(f"tfcourse.exercises.{module_name}"), question, None)
    except ModuleNotFoundError:
        return None


def next_hint(exercise_grade):
    """The hint that would help next (None when passed, or the exercise has no hints)."""
    exercise = _exercise(exercise_grade.exercise)
    if exercise_grade.status == "passed" or exercise is None or not exercise.hints:
        return None
    return exercise.hints[min(exercise_grade.hints_seen, len(exercise.hints) - 1)]


def feedback_html(student_name, notebook_grades, weights=None):
    """One student's feedback page: per notebook a table of exercise, status, message and next hint."""
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Feedback: {html.escape(student_name)}"
             "</title><style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
             "td,th{padding:4px 8px;vertical-align:top;text-align:left}tr{border-bottom:1px solid #ddd}"
             "table{border-collapse:collapse}</style></head><body>",
             f"<h1>Feedback for {html.escape(student_name)}</h1>"]
    for grade in notebook_grades:
        got = sum(gradebook.points(e, weights) for e in grade.exercises)
        out_of = sum(gradebook.possible(e, weights) for e in grade.exercises)
        parts.append(f"<h2>{html.escape(os.path.basename(grade.notebook))}: {got:g} of {out_of:g} points</h2>")
        if grade.note:
            parts.append(f"<p><i>{html.escape(grade.note)}</i></p>")
        parts.append("<table><tr><th>exercise</th><th>status</th><th>what the check said</th>"
                     "<th>a hint for next time</th></tr>")
        for e in grade.exercises:
            exercise = _exercise(e.exercise)
            title = f"{e.exercise}" + (f": {exercise.title}" if exercise is not None else "")
            _, colour, _ = feedback.STYLES[STATUS_STYLE[e.status]]
            hint = next_hint(e)
            message = e.message + (f" ({e.flag})" if e.flag else "")
            parts.append(f"<tr><td>{html.escape(title)}</td>"
                         f"<td style='color:{colour}'><b>{html.escape(gradebook.status_text(e))}</b></td>"
                         f"<td>{feedback.markdown_code_to_html(message)}</td>"
                         f"<td>{feedback.markdown_code_to_html(hint) if hint else ''}</td></tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def class_summary(notebook_grades):
    """Per exercise, in order: (exercise, passed, submissions, [(mistake, count, message)] most made
    first, {other status: count}). A student's notebooks count once each."""
    order, passed, seen, mistakes, others = [], collections.Counter(), collections.Counter(), {}, {}
    for grade in notebook_grades:
        for e in grade.exercises:
            if e.exercise not in seen:
                order.append(e.exercise)
                mistakes[e.exercise], others[e.exercise] = {}, collections.Counter()
            seen[e.exercise] += 1
            if e.status == "passed":
                passed[e.exercise] += 1
            elif e.status == "mistake":
                count, message = mistakes[e.exercise].get(e.mistake, (0, e.message))
                mistakes[e.exercise][e.mistake] = (count + 1, message)
            else:
                others[e.exercise][e.status] += 1
    return [(exercise, passed[exercise], seen[exercise],
             sorted(((name, count, message) for name, (count, message) in mistakes[exercise].items()),
                    key=lambda item: (-item[1], item[0])),
             dict(others[exercise])) for exercise in order]


def format_class_report(notebook_grades):
    """The class report as text: per exercise the passes, then its named mistakes, most made first."""
    lines = ["exercise   passed    named mistakes (students), most made first"]
    for exercise, passed, seen, mistakes, others in class_summary(notebook_grades):
        rest = ", ".join(f"{status.replace('_', ' ')} {count}" for status, count in sorted(others.items()))
        lines.append(f"{exercise:<10} {passed:>3}/{seen:<4}  {'(' + rest + ')' if rest else ''}".rstrip())
        for name, count, message in mistakes:
            lines.append(f"{'':<10} {count:>3}       {name}: {message}")
    return "\n".join(lines)


def plot_class_report(notebook_grades, path):
    """A bar chart (PNG at `path`): the share of students passing each exercise, and the named
    mistakes ranked by how many students made them."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    summary = class_summary(notebook_grades)
    ranked = sorted(((count, f"{exercise} {name}") for exercise, _, _, mistakes, _ in summary
                     for name, count, _ in mistakes), key=lambda item: -item[0])
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, max(3, 0.4 * max(len(summary), len(ranked)) + 1.5)))
    left.barh([row[0] for row in summary][::-1], [row[1] for row in summary][::-1], color="#2e7d32")
    left.set_xlim(0, max([row[2] for row in summary] + [1]))
    left.set_xlabel("students who passed")
    left.set_title("Passed, per exercise")
    if ranked:
        right.barh([label for _, label in ranked][::-1], [count for count, _ in ranked][::-1], color="#ef6c00")
    else:
        right.text(0.5, 0.5, "no named mistakes", ha="center", va="center", transform=right.transAxes)
    right.set_xlabel("students who made it")
    right.set_title("Named mistakes, most made first")
    for axis in (left, right):
        axis.xaxis.get_major_locator().set_params(integer=True)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _file_name(student):
    return re.sub(r"[^A-Za-z0-9._@-]+", "_", student) or "student"


def write_reports(notebook_grades, directory, weights=None, assignment="tfcourse exercises"):
    """Writes the feedback pages, the class report (text and chart) and the LMS CSV into
    `directory` (created); returns the paths written."""
    os.makedirs(os.path.join(directory, "feedback"), exist_ok=True)
    by_student = {}
    for grade in notebook_grades:
        by_student.setdefault(grade.student or grade.notebook, []).append(grade)
    written = []
    for student, grades in by_student.items():
        path = os.path.join(directory, "feedback", f"{_file_name(student)}.html")
        with open(path, "w", encoding="utf-8") as f:
            f.write(feedback_html(grades[0].student_name or student, grades, weights))
        written.append(path)
    text_path, chart_path = os.path.join(directory, "class-report.txt"), os.path.join(directory, "class-report.png")
    with open(text_path, "w", encoding="utf-8") as f:
        f.write(format_class_report(notebook_grades) + "\n")
    plot_class_report(notebook_grades, chart_path)
    lms_path = os.path.join(directory, "grades-lms.csv")
    with open(lms_path, "w", newline="", encoding="utf-8") as f:
        f.write(gradebook.format_lms_csv(notebook_grades, weights, assignment))
    return written + [text_path, chart_path, lms_path]

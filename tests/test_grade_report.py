"""What a teacher hands back: points, identities, the LMS CSV, feedback pages and the class report.

Built from grades made by hand (the grading itself is tests/test_grade.py's and
test_grade_sandbox.py's); the command writing these files is tested in tests/test_grade.py.
"""

import csv
import io

import nbformat
import pytest

from tfcourse.exercises import gradebook, nb03, report
from tfcourse.exercises.grading import ExerciseGrade, NotebookGrade

SUM, SIGN = nb03.q2.mistakes[:2]


def notebook_grade(student, *statuses, name=None):
    """A graded notebook 03 of `student`: statuses "passed", "mistake" (q2's first named mistake,
    or the wrong result elsewhere), "sign" (q2's second), "not_attempted"..., in exercise order."""
    exercises = []
    for exercise, status in zip(nb03.EXERCISES, statuses):
        if status in ("mistake", "sign") and exercise is nb03.q2:
            mistake = SUM if status == "mistake" else SIGN
            exercises.append(ExerciseGrade(exercise.id, "mistake", mistake.name, mistake.message))
        elif status == "mistake":
            exercises.append(ExerciseGrade(exercise.id, "mistake", "wrong_result", "expected 2, got 3"))
        else:
            exercises.append(ExerciseGrade(exercise.id, status, None, "" if status == "passed" else "why"))
    return NotebookGrade(f"submissions/{student}/03_loss_and_training.ipynb", tuple(exercises),
                         student=student, student_name=name or student)


CLASS = [notebook_grade("alice", "passed", "mistake", "passed", "passed", name="Alice Liddell"),
         notebook_grade("bob", "passed", "mistake", "mistake", "not_attempted"),
         notebook_grade("carol", "mistake", "sign", "passed", "error"),
         notebook_grade("dave", "passed", "mistake", "not_attempted", "not_attempted")]


@pytest.mark.parametrize("path, metadata, expected", [
    ("submissions/alice/03_loss_and_training.ipynb", {"id": "mallory", "name": "Alice L."}, ("alice", "Alice L.")),
    ("bob_03_loss_and_training.ipynb", {}, ("bob", "bob")),
    ("03_loss_and_training.ipynb", {"id": "s1234", "name": "Carol"}, ("s1234", "Carol")),
    ("homework.ipynb", None, ("homework", "homework")),
])
def test_identity_comes_from_the_collected_path_before_the_notebooks_metadata(path, metadata, expected):
    notebook = nbformat.v4.new_notebook()
    if metadata is not None:
        notebook.metadata["tfcourse"] = {"student": metadata}
    assert gradebook.identity(path, notebook) == expected


def test_points_default_to_one_and_a_named_mistake_scores_zero(tmp_path):
    (tmp_path / "points.toml").write_text('default = 1\n[points]\n"nb03.q1" = 2\n"nb03.q4" = 0.5\n')
    weights = gradebook.load_points(tmp_path / "points.toml")
    alice, bob, carol, dave = CLASS
    assert [gradebook.points(e, weights) for e in alice.exercises] == [2, 0, 1, 0.5]
    assert [gradebook.points(e) for e in bob.exercises] == [1, 0, 0, 0]
    table = gradebook.format_gradebook(CLASS, weights=weights)
    assert "total     3/4 passed, 3.5/4.5 points" in table
    assert table.splitlines()[-1].endswith("6/16 passed, 8.5/18 points (4 notebooks)")


@pytest.mark.parametrize("text, expected", [
    ('[points]\n"nb03.q1" = -1\n', 'nb03.q1 = -1; expected a number >= 0'),
    ('[points]\n"question one" = 1\n', "'question one' is no exercise id"),
    ("[points\n", "expected TOML such as"),
])
def test_a_bad_points_file_says_what_was_expected(text, expected, tmp_path):
    (tmp_path / "points.toml").write_text(text)
    with pytest.raises(ValueError, match=expected.replace("[", r"\[")):
        gradebook.load_points(tmp_path / "points.toml")


def test_the_lms_csv_has_one_row_per_student_with_canvas_columns():
    rows = list(csv.reader(io.StringIO(gradebook.format_lms_csv(CLASS + [notebook_grade("bob", "passed")],
                                                                assignment="Lesson 3"))))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Lesson 3"]
    assert rows[1:] == [["Alice Liddell", "", "alice", "alice", "", "3"], ["bob", "", "bob", "bob", "", "2"],
                        ["carol", "", "carol", "carol", "", "1"], ["dave", "", "dave", "dave", "", "1"]]


def test_the_class_report_ranks_named_mistakes_by_how_many_made_them():
    summary = report.class_summary(CLASS)
    assert [(exercise, passed, seen) for exercise, passed, seen, _, _ in summary] == [
        ("nb03.q1", 3, 4), ("nb03.q2", 0, 4), ("nb03.q3", 2, 4), ("nb03.q4", 1, 4)]
    assert summary[1][3] == [(SUM.name, 3, SUM.message), (SIGN.name, 1, SIGN.message)]   # most made first
    assert summary[3][4] == {"not_attempted": 2, "error": 1}
    text = report.format_class_report(CLASS).splitlines()
    assert text[1:7] == ["nb03.q1      3/4", f"{'':<10}   1       wrong_result: expected 2, got 3",
                         "nb03.q2      0/4", f"{'':<10}   3       {SUM.name}: {SUM.message}",
                         f"{'':<10}   1       {SIGN.name}: {SIGN.message}", "nb03.q3      2/4     (not attempted 1)"]


def test_feedback_shows_status_message_and_the_next_hint(tmp_path):
    bob = CLASS[1]
    bob = NotebookGrade(bob.notebook, (bob.exercises[0], ExerciseGrade("nb03.q2", "mistake", SUM.name, SUM.message,
                                                                       hints_seen=1)) + bob.exercises[2:],
                        student="bob", student_name="Bob <b>")
    page = report.feedback_html("Bob <b>", [bob])
    assert "Feedback for Bob &lt;b&gt;" in page and "2 of 4 points" not in page and "1 of 4 points" in page
    assert f"mistake: {SUM.name}" in page
    assert report.next_hint(bob.exercises[1]) == nb03.q2.hints[1]      # they had seen hint 1
    assert report.next_hint(bob.exercises[0]) is None                  # passed: nothing to add
    written = report.write_reports(CLASS, tmp_path / "reports")
    assert sorted(p.rsplit("/", 1)[1] for p in written) == [
        "alice.html", "bob.html", "carol.html", "class-report.png", "class-report.txt", "dave.html",
        "grades-lms.csv"]
    assert (tmp_path / "reports" / "class-report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "reports" / "class-report.png").stat().st_size > 10_000

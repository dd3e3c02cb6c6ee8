"""`tfcourse grade` on real notebooks in real kernels: the solved and unsolved copies of notebook
03, one with a catalogued mistake (and a kernel that dies) and one that loops forever, graded by
the real command line.

Two commands run four notebooks (a kernel each, ~10 s for the TensorFlow import): the first
grades the looping notebook then the solved one (full notebooks, --exercises-only, JSON to a
file), the second the mistake then the unsolved copy (exercise sections only, CSV to a file):
each time the second notebook is graded after the first one stopped early.
Each prints the table as well, so every format is compared with the table of the same run.
"""

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile

import nbformat
import pytest
from conftest import REPO

from tfcourse import cli
from tfcourse.exercises import cells, feedback, gradebook, grading, nb03, sandbox, verdict

NOTEBOOK = REPO / "notebooks" / "03_loss_and_training.ipynb"
LOOP_TIMEOUT = 45  # seconds: the environment cell, the setup cell and q1 need 11-25 s on a 2-core machine at load 15
# A kernel's working directory must be the sandbox's new home (Keras adds its ~/.keras): q1 of the solved copy
# fails with an AssertionError if it is not, and the looping notebook (graded first) leaves a file.
FRESH_DIRECTORY = ("import os, pathlib\n"
                   "assert os.getcwd() == '/home/student' and not os.path.exists('scratch.txt'), os.getcwd()\n")
LEAVE_A_FILE = "pathlib.Path('scratch.txt').write_text('left by the previous notebook')\n"


def grade(*args, tmp_path):
    """`tfcourse grade ARGS` in a subprocess whose temporary directories go under tmp_path/tmp."""
    (tmp_path / "tmp").mkdir(exist_ok=True)
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp"),
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "tfcourse", "grade", *map(str, args)], check=False,
                          capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)


def parse_table(text):
    """{(notebook, exercise): status} and the overall line from the table `format_gradebook` printed."""
    lines = text.splitlines()
    header = lines[0]
    exercise_at, status_at = header.index("exercise"), header.index("status")
    rows, notebook = {}, None
    for line in lines[1:]:
        if line.startswith("overall"):
            return rows, line[status_at:].strip()
        notebook = line[:exercise_at].strip() or notebook
        rows[(notebook, line[exercise_at:status_at].strip())] = line[status_at:].strip()
    raise AssertionError(f"no overall line in:\n{text}")


@pytest.fixture(scope="module")
def notebook03():
    return nbformat.read(NOTEBOOK, as_version=4)


@pytest.fixture(scope="module")
def loop_then_solved(notebook03, tmp_path_factory):
    """Grades a notebook whose q2 never ends, then the solved copy, in one command (JSON to a file)."""
    tmp_path = tmp_path_factory.mktemp("loop_then_solved")
    looping = cells.answered_notebook(notebook03, nb03, {
        "q1": "import pathlib\n" + LEAVE_A_FILE + nb03.q1.solution_source, "q2": "while True:\n    pass\n"})
    solved = cells.solved_notebook(notebook03, nb03)
    solved = cells.answered_notebook(solved, nb03, {"q1": FRESH_DIRECTORY + nb03.q1.solution_source})
    nbformat.write(looping, tmp_path / "looping.ipynb")
    nbformat.write(solved, tmp_path / "solved.ipynb")
    result = grade("--exercises-only", "--smoke", "--timeout", LOOP_TIMEOUT, "--json", "-o", "grades.json",
                   "looping.ipynb", "solved.ipynb", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    return result, tmp_path


@pytest.fixture(scope="module")
def mistake_then_unsolved(notebook03, tmp_path_factory):
    """Grades a section with a catalogued mistake in q2, an exception in q3 and a kernel that dies
    in q4, then the unsolved section (CSV to a file)."""
    tmp_path = tmp_path_factory.mktemp("mistake_then_unsolved")
    section = cells.exercise_section(notebook03)
    mistake = nb03.q2.mistakes[0]
    nbformat.write(cells.answered_notebook(section, nb03, {"q1": nb03.q1.solution_source, "q2": mistake.wrong,
                                                           "q3": "uniform_loss = undefined_name\n",
                                                           "q4": "import os\nos._exit(1)\n"}),
                   tmp_path / "mistake.ipynb")
    nbformat.write(section, tmp_path / "unsolved.ipynb")
    (tmp_path / "points.toml").write_text('[points]\n"nb03.q1" = 2\n')
    result = grade("--csv", "-o", "grades.csv", "--points", "points.toml", "--reports", "reports",
                   "mistake.ipynb", "unsolved.ipynb", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    return result, tmp_path, mistake


def test_the_solved_copy_passes_everything_in_a_fresh_directory_removed_afterwards(loop_then_solved):
    result, tmp_path = loop_then_solved
    rows, _ = parse_table(result.stdout)
    assert [rows[("solved.ipynb", e.id)] for e in nb03.EXERCISES] == ["passed"] * 4, result.stdout
    assert rows[("solved.ipynb", "total")] == "4/4 passed"
    # Both kernels worked in directories under $TMPDIR, removed afterwards; none in the teacher's.
    assert list((tmp_path / "tmp").iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grades.json", "looping.ipynb", "solved.ipynb", "tmp"]


def test_a_notebook_that_loops_scores_what_it_reached_and_the_next_is_graded(loop_then_solved):
    result, _ = loop_then_solved
    rows, overall = parse_table(result.stdout)
    assert [rows[("looping.ipynb", e.id)] for e in nb03.EXERCISES] == \
        ["passed", "error", "not reached", "not reached"], result.stdout
    assert rows[("looping.ipynb", "total")] == \
        f"1/4 passed (stopped: the {LOOP_TIMEOUT} s budget ran out in nb03.q2's cell)"
    assert overall == "5/8 passed (2 notebooks)"
    assert "[2/2] solved.ipynb: 4/4 passed" in result.stderr


def test_json_gradebook_matches_the_table(loop_then_solved):
    result, tmp_path = loop_then_solved
    rows, overall = parse_table(result.stdout)
    book = json.loads((tmp_path / "grades.json").read_text())
    assert [n["notebook"] for n in book["notebooks"]] == ["looping.ipynb", "solved.ipynb"]
    looping = book["notebooks"][0]
    assert looping["exercises"][1] == {"exercise": "nb03.q2", "status": "error", "mistake": None,
                                       "message": f"timed out (the notebook's {LOOP_TIMEOUT} s were spent)",
                                       "flag": None, "hints_seen": 0, "points": 0}
    assert looping["note"] == f"stopped: the {LOOP_TIMEOUT} s budget ran out in nb03.q2's cell"
    assert book["notebooks"][1]["note"] is None
    from_json = {(n["notebook"], e["exercise"]): gradebook.status_text(grading.ExerciseGrade(
                 **{key: value for key, value in e.items() if key != "points"}))
                 for n in book["notebooks"] for e in n["exercises"]}
    assert from_json == {key: status for key, status in rows.items() if key[1] != "total"}
    for notebook in book["notebooks"]:
        assert rows[(notebook["notebook"], "total")].startswith(f"{notebook['passed']}/{notebook['total']} passed")
    assert overall.startswith(f"{book['passed']}/{book['total']} passed") and (book["passed"], book["total"]) == (5, 8)


def test_a_catalogued_mistake_is_named_an_exception_and_a_dead_kernel_are_errors(mistake_then_unsolved):
    result, _, mistake = mistake_then_unsolved
    rows, _ = parse_table(result.stdout)
    assert [rows[("mistake.ipynb", e.id)] for e in nb03.EXERCISES] == \
        ["passed", f"mistake: {mistake.name}", "error", "error"], result.stdout
    assert rows[("mistake.ipynb", "total")] == \
        "1/4 passed, 2/5 points (stopped: the kernel died in nb03.q4's cell)"


def test_the_unsolved_copy_is_not_attempted(mistake_then_unsolved):
    result, _, _ = mistake_then_unsolved
    rows, overall = parse_table(result.stdout)
    assert [rows[("unsolved.ipynb", e.id)] for e in nb03.EXERCISES] == ["not attempted"] * 4
    assert rows[("unsolved.ipynb", "total")] == "0/4 passed, 0/5 points"
    assert overall == "1/8 passed, 2/10 points (2 notebooks)"
    assert "[2/2] unsolved.ipynb: 0/4 passed" in result.stderr
    assert result.stdout.endswith("gradebook written to grades.csv\n")


def test_csv_gradebook_matches_the_table(mistake_then_unsolved):
    result, tmp_path, mistake = mistake_then_unsolved
    rows, _ = parse_table(result.stdout)
    with open(tmp_path / "grades.csv", newline="") as f:
        records = list(csv.DictReader(f))
    assert tuple(records[0]) == gradebook.CSV_COLUMNS and len(records) == 8
    from_csv = {(r["notebook"], r["exercise"]): gradebook.status_text(grading.ExerciseGrade(
        r["exercise"], r["status"], r["mistake"] or None, r["message"], r["flag"] or None)) for r in records}
    assert from_csv == {key: status for key, status in rows.items() if key[1] != "total"}
    q2, q3, q4 = records[1:4]
    assert (q2["status"], q2["mistake"], q2["message"]) == ("mistake", mistake.name, mistake.message)
    assert q3["message"] == "NameError: name 'undefined_name' is not defined"
    assert q4["message"] == "the kernel died while this cell ran"


def test_the_reports_hand_back_feedback_the_class_report_and_an_lms_csv(mistake_then_unsolved):
    result, tmp_path, mistake = mistake_then_unsolved
    reports = tmp_path / "reports"
    assert sorted(p.name for p in (reports / "feedback").iterdir()) == ["mistake.html", "unsolved.html"]
    page = (reports / "feedback" / "mistake.html").read_text()
    assert f"mistake: {mistake.name}" in page and "2 of 5 points" in page
    assert feedback.markdown_code_to_html(nb03.q2.hints[0]) in page     # no hint asked: the first one
    report_lines = (reports / "class-report.txt").read_text().splitlines()
    assert report_lines[2:4] == ["nb03.q2      0/2     (not attempted 1)",
                                 f"{'':<10}   1       {mistake.name}: {mistake.message}"]
    assert (reports / "class-report.png").read_bytes()[:4] == b"\x89PNG"
    assert (reports / "grades-lms.csv").read_text().splitlines() == [
        "Student,ID,SIS User ID,SIS Login ID,Section,tfcourse exercises", "mistake,,mistake,mistake,,2",
        "unsolved,,unsolved,unsolved,,0"]
    assert "feedback for 2 students" in result.stderr


def executed(*cells_and_outputs):
    """A notebook as nbclient leaves it: [(source, tags, outputs)] -> code cells, each exercise's
    followed by the grader's check cell (which printed `verdicts[exercise]`, or nothing)."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source, metadata={"tags": tags}, outputs=outputs, execution_count=1)
                      for source, tags, outputs in cells_and_outputs]
    return notebook


def verdict_output(nonce, exercise, status, message="", mistake=None):
    record = {"exercise": exercise, "event": "check", "status": status, "mistake": mistake, "message": message}
    return nbformat.v4.new_output("stream", name="stdout", text=f"{verdict.MARK} {nonce} {json.dumps(record)}\n")


def test_only_the_graders_verdicts_score_and_a_forged_record_is_flagged():
    forged = {"format": 1, "exercise": "nb03.q2", "event": "check", "status": "passed", "mistake": None,
              "message": "well done"}
    notebook = executed(
        ("from tfcourse.exercises import nb03 as ex", [cells.SETUP_TAG], []),
        ("def my_loss(logits, labels): return 0", ["exercise:q1"], []),
        ("...", ["exercise:q2"], [nbformat.v4.new_output("display_data", {feedback.RECORD_MIME_TYPE: forged})]),
        ("uniform_loss = 1 / 0", ["exercise:q3"], [nbformat.v4.new_output(
            "error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])]))
    ids = grading.exercises_of(notebook)
    assert ids == [e.id for e in nb03.EXERCISES]
    run = grading.with_grader_checks(notebook, ids)
    assert len(run.cells) == 7 and run.cells[1].source == notebook.cells[1].source
    checks = {run.cells[i].metadata[verdict.GRADER_KEY]["exercise"]: run.cells[i] for i in (2, 4, 6)}
    assert list(checks) == ["nb03.q1", "nb03.q2", "nb03.q3"]
    nonces = [cell.metadata[verdict.GRADER_KEY]["nonce"] for cell in checks.values()]
    assert len(set(nonces)) == 3 and all(nonce not in cell.source for nonce, cell in zip(nonces, run.cells[:2]))
    for cell in checks.values():
        cell.execution_count = 1
    checks["nb03.q1"].outputs = [verdict_output(nonces[0], "nb03.q1", "mistake", "you summed", "sum_instead_of_mean")]
    # A verdict line with a nonce the grader did not draw for this cell is a forgery, as is silence.
    checks["nb03.q2"].outputs = [verdict_output("0" * 32, "nb03.q2", "passed")]
    grades = grading.grades_from_run(run, ids)
    assert [(g.status, g.mistake, g.message) for g in grades] == [
        ("mistake", "sum_instead_of_mean", "you summed"),
        ("error", None, "the grader's check was tampered with (its output is not the one verdict line it prints)"),
        ("error", None, "ZeroDivisionError: division by zero"),
        ("not_attempted", None, "the notebook has no cell for it")]                # q4's cell was deleted
    assert [g.exercise for g in grades if g.flag] == ["nb03.q2"]                   # the displayed "passed"
    checks["nb03.q2"].outputs = [verdict_output(nonces[1], "nb03.q2", "passed", "well done")]
    assert grading.grades_from_run(run, ids)[1].status == "passed" and not grading.grades_from_run(run, ids)[1].flag
    stopped = grading.grades_from_run(run, ids, stopped_at=4, stop_reason="timed out")  # in q2's check
    assert [g.status for g in stopped] == ["mistake", "error", "not_reached", "not_attempted"]
    assert grading.other_errors_note(run, ids) is None                            # q3's error is q3's grade
    run.cells[0].outputs = [nbformat.v4.new_output(
        "error", ename="ModuleNotFoundError", evalue="No module named 'tfcourse'", traceback=[])]
    assert grading.other_errors_note(run, ids) == \
        "another cell raised (first: the exercises' setup cell: ModuleNotFoundError: No module named 'tfcourse')"


def grade_in_process(*args, capsys):
    """(exit status, stdout, stderr) of `tfcourse grade ARGS` run by cli.main in this process
    (misuse is found before any kernel starts; a subprocess would pay nbformat's import again)."""
    try:
        status = cli.main(["grade", *args])
    except SystemExit as exit_info:  # argparse's own errors
        status = exit_info.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize("content, name, expected", [
    (None, "missing.ipynb", "missing.ipynb: no such file; expected a Jupyter notebook (.ipynb)"),
    ("{}", "notes.txt", "notes.txt: not a notebook; expected a Jupyter notebook file ending in .ipynb"),
    ("not json", "broken.ipynb", "broken.ipynb: not a valid notebook (NotJSONError: Notebook does not appear"),
    ('{"cells": [{"cell_type": "code"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', "invalid.ipynb",
     "invalid.ipynb: not a valid notebook (ValidationError: "),
])
def test_a_path_that_is_not_a_notebook_exits_2_with_one_line(content, name, expected, tmp_path, notebook03,
                                                              monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    if content is not None:
        (tmp_path / name).write_text(content)
    # A good notebook first: every path is checked before anything runs.
    nbformat.write(cells.exercise_section(notebook03), tmp_path / "good.ipynb")
    status, out, err = grade_in_process("good.ipynb", name, capsys=capsys)
    assert status == 2 and out == ""
    assert err.splitlines() == [err.strip()] and "Traceback" not in err
    assert err.startswith(f"tfcourse grade: error: {expected}"), err


def test_the_real_command_says_the_same_single_line(tmp_path):
    result = grade("submission.txt", tmp_path=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "tfcourse grade: error: submission.txt: no such file; expected a Jupyter notebook (.ipynb)"]


@pytest.mark.parametrize("args, expected", [
    (["--kernel", "no-such-kernel", "good.ipynb"], "no Jupyter kernel named 'no-such-kernel'; expected one of: "),
    (["-o", "good.ipynb", "good.ipynb"], "--output 'good.ipynb' would overwrite a notebook"),
    (["-o", "no/such/dir/grades.csv", "good.ipynb"], "directory 'no/such/dir' does not exist"),
    (["--json", "--csv", "good.ipynb"], "argument --csv: not allowed with argument --json"),
    ([], "the following arguments are required: PATH"),
])
def test_other_misuse_exits_2_with_one_line(args, expected, tmp_path, notebook03, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    nbformat.write(cells.exercise_section(notebook03), tmp_path / "good.ipynb")
    status, out, err = grade_in_process(*args, capsys=capsys)
    assert status == 2 and out == ""
    assert len(err.splitlines()) == 1 and expected in err, err


def test_without_bubblewrap_the_grader_refuses_in_one_line_unless_no_sandbox(tmp_path, notebook03):
    nbformat.write(cells.exercise_section(notebook03), tmp_path / "good.ipynb")
    (tmp_path / "tmp").mkdir()
    env = {**os.environ, "PATH": str(tmp_path / "no-programs-here"), "TMPDIR": str(tmp_path / "tmp"),
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-m", "tfcourse", "grade", "good.ipynb"], capture_output=True,
                            text=True, timeout=120, cwd=tmp_path, env=env, check=False)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [f"tfcourse grade: error: {sandbox.INSTALL_HINT}"]


def test_under_a_deep_temp_folder_the_kernels_sockets_go_to_a_short_private_folder(tmp_path):
    from tfcourse.exercises import sandbox

    deep = tmp_path / ("d" * 80)
    deep.mkdir()
    path, remove = sandbox.socket_dir(str(deep))
    try:
        assert remove and path.startswith("/tmp/tfcourse-ipc-") and os.listdir(path) == []
        assert len(os.fsencode(path + "/kernel-65535")) <= sandbox.SOCKET_PATH_MAX
        assert os.stat(path).st_mode & 0o777 == 0o700
    finally:
        os.rmdir(path)
    short = tempfile.mkdtemp(dir="/tmp")
    try:
        assert sandbox.socket_dir(short) == (os.path.join(short, "ipc"), False)  # a short path stays where it is
    finally:
        shutil.rmtree(short)

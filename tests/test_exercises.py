"""The exercises: every reference passes, every catalogued mistake is named, bad answers get a
one-line message, and each notebook's solved exercise section runs clean in a real kernel.

Parametrised over every module tfcourse/exercises/nbNN.py, so a new module is tested by adding it.
"""

import importlib
import logging
import os
import pathlib
import pkgutil
import subprocess
import sys
import textwrap

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

import tfcourse.exercises
from tfcourse.exercises import cells, core, feedback

REPO = pathlib.Path(__file__).resolve().parents[1]
MODULE_NAMES = sorted(m.name for m in pkgutil.iter_modules(tfcourse.exercises.__path__) if m.name[:2] == "nb")
MODULES = [importlib.import_module(f"tfcourse.exercises.{name}") for name in MODULE_NAMES]
EXERCISES = [exercise for module in MODULES for exercise in module.EXERCISES]
FUNCTION_EXERCISES = [e for e in EXERCISES if isinstance(e, core.FunctionExercise)]
MISTAKES = [(exercise, mistake) for exercise in EXERCISES for mistake in exercise.mistakes]


def by_id(exercise):
    return exercise.id


def assert_one_friendly_line(result):
    assert "\n" not in result.message and "Traceback" not in result.message, result.message
    assert "{{function_node" not in result.message, result.message


def test_exercise_modules_import_no_tensorflow():
    code = ("import sys\n" + "".join(f"import tfcourse.exercises.{name}\n" for name in MODULE_NAMES)
            + "import tfcourse.exercises.cells\nprint('tensorflow' in sys.modules)")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)}).stdout
    assert output.strip() == "False"


def test_every_module_has_four_to_eight_exercises_with_ids_matching_their_names():
    assert MODULE_NAMES, "no exercise modules found"
    for module in MODULES:
        short = module.__name__.rsplit(".", 1)[1]
        assert 4 <= len(module.EXERCISES) <= 8, f"{short} has {len(module.EXERCISES)} exercises"
        for number, exercise in enumerate(module.EXERCISES, start=1):
            assert exercise.id == f"{short}.q{number}" and getattr(module, f"q{number}") is exercise


@pytest.mark.parametrize("exercise", EXERCISES, ids=by_id)
def test_reference_solution_passes(exercise):
    result = exercise.evaluate(exercise.reference())
    assert (result.status, result.mistake) == ("passed", None), result.message


@pytest.mark.parametrize("exercise,mistake", MISTAKES, ids=[f"{e.id}-{m.name}" for e, m in MISTAKES])
def test_each_catalogued_mistake_gets_its_own_diagnosis(exercise, mistake):
    result = exercise.evaluate(exercise.answer_with(mistake))
    assert (result.status, result.mistake) == ("mistake", mistake.name), result.message
    before, detail, after = mistake.message.partition("{detail}")
    if detail:  # the detector filled in a detail (e.g. both shapes of a mismatch)
        assert result.message.startswith(before) and result.message.endswith(after), result.message
        assert len(result.message) > len(before) + len(after), result.message
    else:
        assert result.message == mistake.message


DETECTORS = [(e, m) for e, m in MISTAKES if m.detect is not None]


@pytest.mark.parametrize("exercise,mistake", DETECTORS, ids=[f"{e.id}-{m.name}" for e, m in DETECTORS])
def test_no_detector_fires_on_the_reference(exercise, mistake):
    # A detector runs only after an answer failed, but one that also fits the reference would
    # misname a nearly right answer.
    assert not mistake.detect(exercise._outcomes(exercise.reference()))


@pytest.mark.parametrize("exercise", EXERCISES, ids=by_id)
def test_the_skeleton_is_not_attempted(exercise):
    skeleton_answer = core.run_source(exercise.skeleton, exercise.answer, f"<{exercise.id} skeleton>")
    for answer in (Ellipsis, skeleton_answer):
        result = exercise.evaluate(answer)
        assert result.status == "not_attempted", result.message


@pytest.mark.parametrize("exercise", FUNCTION_EXERCISES, ids=by_id)
def test_a_non_callable_answer_gets_a_clear_message(exercise):
    result = exercise.evaluate(42)
    assert result.status == "error"
    assert f"expected a function `{exercise.answer}(...)`, got int" in result.message
    assert_one_friendly_line(result)


@pytest.mark.parametrize("exercise", FUNCTION_EXERCISES, ids=by_id)
def test_a_result_of_the_wrong_kind_gets_a_clear_message(exercise):
    result = exercise.evaluate(lambda *args: "a string")
    assert result.status == "error" and "expected" in result.message and "str" in result.message, result.message
    assert_one_friendly_line(result)


# A small exercise of the tests' own, so the generic behaviour does not hang on a module its
# owner may rework (a loss function, as notebook 03 teaches).
LOSS_SOLUTION = """\
def my_loss(logits, labels):
    one_hot = tf.one_hot(labels, depth=10)
    return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=one_hot, logits=logits))
"""


def _loss_cases():
    rng = np.random.default_rng(0)
    labels = np.array([0, 9, 3, 9], np.int32)
    return [core.Case("a batch of 4 (labels 0, 9, 3, 9)", (rng.normal(size=[4, 10]).astype(np.float32), labels))]


LOSS = core.FunctionExercise(
    "nb99.q1", "my_loss", "a loss", prompt="", skeleton="def my_loss(logits, labels):\n    ...\n",
    solution=LOSS_SOLUTION, hints=["one", "two", "three"], cases=_loss_cases)
UNIFORM = core.ValueExercise("nb99.q2", "uniform_loss", "a value", prompt="", skeleton="uniform_loss = ...\n",
                             solution="uniform_loss = -np.log(0.1)\n", hints=["h"], expected=lambda: 2.302585)
SGD_LIKE = core.run_source("def sgd_step(model, images, labels, learning_rate):\n    return 0.0\n", "sgd_step", "<sgd>")


def test_the_wrong_function_is_told_which_arguments_are_expected():
    result = LOSS.evaluate(SGD_LIKE)
    assert result.status == "error"
    assert result.message == ("the check calls `my_loss(logits, labels)`, but yours is "
                              "`sgd_step(model, images, labels, learning_rate)`: give it the same arguments, in that order")


def test_a_wrong_shape_names_both_shapes():
    result = core.run_source("def my_loss(logits, labels):\n    return tf.zeros([3, 3])\n", "my_loss", "<shape>")
    result = LOSS.evaluate(result)
    assert result.status == "error"
    assert "expected a scalar (shape []), got shape [3, 3]" in result.message
    assert_one_friendly_line(result)


def test_an_error_deep_inside_tensorflow_is_one_line_naming_the_case():
    wrong = core.run_source(textwrap.dedent("""\
        def my_loss(logits, labels):
            return tf.reduce_mean(tf.matmul(logits, tf.one_hot(labels, 10)))
        """), "my_loss", "<deep error>")
    result = LOSS.evaluate(wrong)
    assert result.status == "error"
    assert result.message.startswith("on a batch of 4 (labels 0, 9, 3, 9): your code raised InvalidArgumentError: ")
    assert_one_friendly_line(result)


def test_a_placeholder_left_in_a_half_written_function_is_not_attempted():
    half = core.run_source(textwrap.dedent("""\
        def my_loss(logits, labels):
            one_hot = tf.one_hot(labels, depth=10)
            return tf.reduce_mean(...)
        """), "my_loss", "<half written>")
    result = LOSS.evaluate(half)
    assert result.status == "not_attempted" and "placeholders" in result.message


def test_check_reads_the_callers_variable_and_prints_outside_jupyter(capsys):
    exercise = UNIFORM
    uniform_loss = ...
    exercise.check()
    assert capsys.readouterr().out.startswith("[not attempted] Not attempted yet: replace the `...`")
    uniform_loss = 2.302585  # noqa: F841 - read by check() from this frame
    exercise.check()
    assert capsys.readouterr().out.startswith("[passed] Correct: ")


def test_hints_get_stronger_and_the_solution_shows_its_source(capsys):
    exercise = LOSS
    exercise._hints_shown = 0
    exercise.hint()
    exercise.hint()
    output = capsys.readouterr().out
    assert "Hint 1 of 3: " + exercise.hints[0] in output and "Hint 2 of 3: " + exercise.hints[1] in output
    exercise.solution()
    assert exercise.solution_source.strip() in capsys.readouterr().out
    with pytest.raises(ValueError, match="hint level must be 1..3, got 7"):
        exercise.hint(7)


def test_the_display_bundle_carries_html_text_and_the_record():
    result = core.Result("nb03.q1", "mistake", "you summed the `losses`", "sum_instead_of_mean")
    bundle = feedback.message_bundle(result.status, None, result.message, result.record())
    assert bundle[feedback.RECORD_MIME_TYPE] == {"format": 1, "exercise": "nb03.q1", "event": "check",
                                                 "status": "mistake", "mistake": "sum_instead_of_mean",
                                                 "message": "you summed the `losses`"}
    assert "<code>losses</code>" in bundle["text/html"] and "Not quite" in bundle["text/html"]
    assert bundle["text/plain"] == "[mistake] Not quite: you summed the `losses`"


def test_exercise_ids_must_name_module_and_question():
    with pytest.raises(ValueError, match="exercise id must look like 'nb03.q1', got 'q1'"):
        core.ValueExercise("q1", "x", "t", prompt="", skeleton="x = ...\n", solution="x = 1\n", hints=[],
                           expected=lambda: 1)


def notebook_path(module_name):
    return next((REPO / "notebooks").glob(f"{module_name[2:]}_*.ipynb"))


@pytest.mark.parametrize("module_name", MODULE_NAMES)
def test_the_stored_exercise_section_is_generated_from_the_module(module_name):
    notebook = nbformat.read(notebook_path(module_name), as_version=4)
    stored = [(c.cell_type, c.source, c.metadata.get("tags")) for c in notebook.cells
              if cells.SECTION_TAG in c.metadata.get("tags", [])]
    module = MODULES[MODULE_NAMES.index(module_name)]
    generated = [(c.cell_type, c.source, c.metadata.get("tags")) for c in cells.section_cells(module)]
    assert stored == generated, f"run: python -m tfcourse.exercises.cells {notebook_path(module_name).relative_to(REPO)}"
    assert notebook.cells[-len(stored):] == [c for c in notebook.cells if c.metadata.get("tags", []) and
                                             cells.SECTION_TAG in c.metadata["tags"]], "the section ends the notebook"
    assert cells.exercise_ids(notebook) == [e.id for e in module.EXERCISES]


def test_answered_notebook_puts_each_answer_in_its_tagged_cell():
    module = MODULES[MODULE_NAMES.index("nb01")]
    notebook = nbformat.read(notebook_path("nb01"), as_version=4)
    mistake = module.q1.mistakes[0]
    answered = cells.answered_notebook(notebook, module, {"q1": mistake.wrong})
    sources = {tag: c.source for c in answered.cells for tag in c.metadata.get("tags", []) if tag.startswith("exercise:")}
    assert sources["exercise:q1"] == mistake.wrong.rstrip("\n") + f"\n\nex.q1.check({module.q1.answer})"
    assert sources["exercise:q2"] == cells.cell_source(module.q2)  # untouched: the skeleton
    with pytest.raises(ValueError, match=r"tfcourse.exercises.nb01 has no exercises \['q9'\]"):
        cells.answered_notebook(notebook, module, {"q9": "x = 1"})


def _solved_course():
    """One notebook holding every notebook's solved exercise section, after notebook 09's first cell.

    One kernel for all sections, not one each: a kernel start and TensorFlow's import cost several
    seconds apiece, nine times over in CI. Each section is self-contained (its setup cell imports
    its own module as `ex`), and 09's first cell is the environment report plus the 2 logical CPUs
    its exercises need, made before TensorFlow's first op as in the notebook."""
    course = None
    for module_name, module in zip(MODULE_NAMES, MODULES):
        section = cells.exercise_section(nbformat.read(notebook_path(module_name), as_version=4))
        solved = cells.solved_notebook(section, module)
        exercise_cells = [c for c in solved.cells if cells.SECTION_TAG in c.metadata.get("tags", [])]
        if course is None:
            course = solved
            course.cells = []
        course.cells += exercise_cells
    first = cells.exercise_section(nbformat.read(notebook_path("nb09"), as_version=4))
    first_code = next(c for c in first.cells if c.cell_type == "code")
    assert "environment_report" in first_code.source and "use_logical_cpus(2)" in first_code.source
    course.cells.insert(0, first_code)
    return course


def test_every_solved_exercise_section_runs_in_a_kernel_and_every_check_passes(tmp_path, monkeypatch):
    """The solutions run in a real kernel, in smoke mode, as the generated cells hold them."""
    monkeypatch.setenv("TFCOURSE_SMOKE", "1")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    solved = _solved_course()
    NotebookClient(solved, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    results = cells.check_results(solved)
    assert {key: record["status"] for key, record in results.items()} == \
        {exercise.id: "passed" for exercise in EXERCISES}, results
    # What a module's checks must say in a real kernel (nb09: its replicas ran on 2 logical CPUs).
    for module in MODULES:
        for exercise_id, text in getattr(module, "SOLVED_SECTION_SAYS", {}).items():
            assert text in results[exercise_id]["message"], results[exercise_id]
    assert list(tmp_path.iterdir()) == []


def test_answer_names_do_not_shadow_library_names():
    # A notebook may not `def` a name the library exports (tests/test_notebooks.py), and the
    # student's function is defined in the notebook: its name must be new.
    from test_notebooks import library_public_names

    clashes = sorted({e.answer for e in EXERCISES} & library_public_names())
    assert clashes == [], f"rename these answers: {clashes}"


def test_nb08_fusion_count_agrees_with_the_lesson_library():
    # The student's count (lines with ` fusion(`) and the notebook's `xla.fusions` must agree,
    # or the exercise and the lesson would tell two stories.
    from tfcourse import xla

    module = MODULES[MODULE_NAMES.index("nb08")]
    for case in module.q1.cases():
        function, *args = case.input
        assert module.q1.reference()(function, *args) == len(xla.fusions(xla.compiler_ir(function, *args))), case.label


OTHER_RIGHT_ANSWERS = {
    # Other idioms a student may rightly use: they must pass too (compare behaviour, not code).
    # nb06 and nb07: their other right answers are in tests/test_exercises_nb06.py and _nb07.py.
    "nb08.q1": """\
import re


def count_fusions(function, *args):
    ir = tf.function(function, jit_compile=True).experimental_get_compiler_ir(*args)
    return len(re.findall(r"= \\S+ fusion\\(", ir(stage="optimized_hlo")))
""",
}


@pytest.mark.parametrize("exercise_id", sorted(OTHER_RIGHT_ANSWERS))
def test_other_right_answers_pass(exercise_id):
    exercise = next(e for e in EXERCISES if e.id == exercise_id)
    answer = core.run_source(OTHER_RIGHT_ANSWERS[exercise_id], exercise.answer, f"<{exercise_id} other>")
    result = exercise.evaluate(answer)
    assert result.status == "passed", result.message


# nb08.q2's and nb09's own tests (oracles, other right and wrong answers): tests/test_exercises_nb08.py, nb09.py.




def test_answered_fires_on_the_listed_values_only():
    detect = core.answered(10, 3)
    assert detect([core.Outcome("value", value=3)]) and detect([core.Outcome("value", value=10)])
    assert not detect([core.Outcome("value", value=11)]) and not detect([core.Outcome("value", value=None)])


# ---------------------------------------------------------------- answers in any correct form


@pytest.mark.parametrize("right", [13, 13.0, "np.int64(13)", "np.float32(13)", "tf.constant(13)", "tf.constant(13.0)"])
def test_a_count_is_accepted_in_every_whole_number_form(right):
    import tensorflow as tf  # noqa: F401

    value = eval(right) if isinstance(right, str) else right  # noqa: S307 - our own literals
    exercise = core.ValueExercise("nb99.q1", "count", "t", prompt="", skeleton="count = ...\n",
                                  solution="count = 10 + 3\n", hints=[], expected=lambda: 13)
    assert exercise.evaluate(value).status == "passed"


@pytest.mark.parametrize("wrong,says", [(13.5, "expected a whole number, got 13.5"), (True, "got True"),
                                        ("13", "got '13'"), (12, "expected 13, got 12"), (12.0, "expected 13, got 12")])
def test_a_count_refuses_fractions_bools_strings_and_other_numbers(wrong, says):
    exercise = core.ValueExercise("nb99.q1", "count", "t", prompt="", skeleton="count = ...\n",
                                  solution="count = 13\n", hints=[], expected=lambda: 13)
    result = exercise.evaluate(wrong)
    assert result.status in ("mistake", "error") and says in result.message, result.message
    assert_one_friendly_line(result)


@pytest.mark.parametrize("right", ["[4, 4, 2]", "(4, 4, 2)", "np.array([4, 4, 2])", "tf.constant([4, 4, 2])",
                                   "[4.0, 4.0, 2.0]", "range(4, 1, -1)"])
def test_a_sequence_is_accepted_as_list_tuple_array_or_tensor(right):
    import tensorflow as tf  # noqa: F401

    exercise = core.ValueExercise("nb99.q1", "sizes", "t", prompt="", skeleton="sizes = ...\n",
                                  solution="sizes = [4, 4, 2]\n", hints=[],
                                  expected=lambda: [4, 4, 2] if right != "range(4, 1, -1)" else [4, 3, 2])
    assert exercise.evaluate(eval(right)).status == "passed"  # noqa: S307


@pytest.mark.parametrize("wrong,says", [([4, 4], "expected 3 numbers [4, 4, 2], got 2: [4, 4]"),
                                        ([4, 3, 2], "first difference at position 2: expected 4, got 3"),
                                        ([4, 4.5, 2], "got 4.5"), (442, "expected a list of 3 whole numbers"),
                                        ("[4, 4, 2]", "got str")])
def test_a_sequence_refuses_other_lengths_values_and_types(wrong, says):
    exercise = core.ValueExercise("nb99.q1", "sizes", "t", prompt="", skeleton="sizes = ...\n",
                                  solution="sizes = [4, 4, 2]\n", hints=[], expected=lambda: [4, 4, 2])
    result = exercise.evaluate(wrong)
    assert result.status in ("mistake", "error") and says in result.message, result.message
    assert_one_friendly_line(result)


def test_answered_recognises_a_catalogued_value_in_any_form():
    detect = core.answered(429, [4, 4, 4, 4, 4])
    for value in (429, 429.0, np.int32(429), [4, 4, 4, 4, 4], (4, 4, 4, 4, 4), np.array([4, 4, 4, 4, 4])):
        assert detect([core.Outcome("", value=value)]), value
    for value in (430, 429.5, [4, 4, 4, 4], "429"):
        assert not detect([core.Outcome("", value=value)]), value


def test_compare_values_checks_the_dtype_the_prompt_names():
    assert core.compare_values(np.zeros(3, np.float32), np.zeros(3, np.float32), dtype="float32") is None
    with pytest.raises(core.AnswerError, match="expected dtype float32, got float64"):
        core.compare_values(np.zeros(3, np.float32), np.zeros(3), dtype="float32")


# ---------------------------------------------------------------- uncatalogued wrong answers: numbers and where


def _two_output_exercise(compare=None):
    return core.FunctionExercise(
        "nb99.q1", "stats", "t", prompt="", skeleton="def stats(x):\n    ...\n",
        solution="def stats(x):\n    return {'mean': tf.reduce_mean(x), 'scaled': tf.constant(x) * 2.0}\n", hints=[],
        cases=lambda: [core.Case("a row of 3", (np.array([1.0, 2.0, 3.0], np.float32),)),
                       core.Case("a row of 4", (np.array([1.0, 2.0, 3.0, 6.0], np.float32),))],
        compare=compare)


def test_an_uncatalogued_wrong_answer_shows_expected_got_the_case_and_the_output():
    wrong = core.run_source("def stats(x):\n    return {'mean': tf.reduce_mean(x), 'scaled': x * 2.0 + "
                            "tf.one_hot(2, tf.size(x))}\n", "stats", "<wrong>")
    result = _two_output_exercise().evaluate(wrong)
    assert (result.status, result.mistake) == ("mistake", core.WRONG_RESULT)
    assert result.message.startswith("on a row of 3: in 'scaled': expected [2. 4. 6.], got [2. 4. 7.] "
                                     "(first difference at index [2]: expected 6, got 7; 1 of 3 elements differ)")
    assert_one_friendly_line(result)


def test_a_comparison_that_names_no_numbers_gets_them_added():
    # An exercise module's own comparison may say only "computes other values": the numbers are added.
    exercise = _two_output_exercise(compare=lambda e, g: None if core.compare_values(e, g) is None
                                    else "computes other values")
    wrong = core.run_source("def stats(x):\n    return {'mean': tf.reduce_max(x), 'scaled': x * 2.0}\n",
                            "stats", "<wrong>")
    result = exercise.evaluate(wrong)
    assert result.mistake == core.WRONG_RESULT
    assert result.message.startswith("on a row of 3: computes other values: expected {'mean': 2, 'scaled': "
                                     "[2. 4. 6.]}, got {'mean': 3, 'scaled': [2. 4. 6.]}"), result.message


# ---------------------------------------------------------------- not copyable, not printed above

# Names a student cannot rename (modules and builtins) stay; every other name becomes NAME and
# every string STR, so `ds = ds.shuffle(n)` matches `dataset = dataset.shuffle(size)`.
API_NAMES = {"tf", "np", "keras", "math", "os", "glob", "re", "tempfile", "collections", "itertools", "functools"}
# A solution whose body (def line, docstrings and imports left out) has this share of its tokens
# as one contiguous run in one lesson cell is a copy. Measured on the modules as they stood
# (issue 21): the exercises read as copies had runs of 0.58-0.72 of their body (01.q1, 03.q1,
# 05.q1, 09.q1); written-anew answers that merely use the lesson's API stayed at or below 0.47
# (an idiom such as `tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(...))` is
# ~20 tokens, a third of a typical body).
CONTIGUOUS_SHARE = 0.5
# A copy with a line moved or a constant changed breaks the run but keeps long pieces: runs of
# >= COVERAGE_RUN tokens, in order, covering this share of the body in one cell are a copy too
# (the copies above: 0.82-0.95, 07.q1 included; answers written anew: at most 0.74).
COVERAGE_SHARE, COVERAGE_RUN = 0.8, 6
MIN_BODY_TOKENS = 8  # shorter bodies are one-line values (`x = 430`): the printed-output rule judges those

# Exercises that fail these rules today, each to be deleted from here by its owner when reworked
# (strict: a fixed exercise left in the list fails as XPASS). nb-a: nb00-02, nb-b: nb03-05,
# nb-c: nb06-07, nb-d: nb08-09, nb-e: nb10.
KNOWN_COPYABLE = set()
KNOWN_PRINTED = set()
KNOWN_WITHOUT_EXERCISES = set()


def _tokens(source, skip_lines=()):
    import io
    import keyword
    import tokenize

    layout = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
              tokenize.ENCODING, tokenize.ENDMARKER}
    normalised, previous = [], None
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in layout or token.start[0] in skip_lines:
            continue
        if token.type == tokenize.STRING:
            normalised.append("STR")
        elif (token.type == tokenize.NAME and not keyword.iskeyword(token.string) and previous != "."
              and token.string not in API_NAMES and not hasattr(__builtins__ if isinstance(__builtins__, dict)
                                                                 else __builtins__, token.string)):
            normalised.append("NAME")
        else:
            normalised.append(token.string)
        previous = token.string
    return normalised


def solution_body_tokens(solution):
    """The normalised tokens of a solution without def/class lines, decorators, docstrings and imports."""
    import ast

    skip = set()
    for node in ast.walk(ast.parse(solution)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            skip.update(range(first, node.body[0].lineno))
            head = node.body[0]
            if isinstance(head, ast.Expr) and isinstance(head.value, ast.Constant) and isinstance(head.value.value, str):
                skip.update(range(head.lineno, head.end_lineno + 1))
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            skip.update(range(node.lineno, node.end_lineno + 1))
    return _tokens(solution, skip)


def _cell_tokens(source):
    import tokenize

    python = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        return _tokens(python + "\n")
    except (tokenize.TokenError, SyntaxError):
        return []


def lesson_cells(notebook):
    """The cells before the exercise section."""
    lesson = []
    for cell in notebook.cells:
        if cells.SECTION_TAG in cell.metadata.get("tags", []):
            break
        lesson.append(cell)
    return lesson


def copied_from(body, cell_source):
    """(longest contiguous share, share covered by runs >= COVERAGE_RUN) of `body` found in one cell."""
    import difflib

    theirs = _cell_tokens(cell_source)
    matcher = difflib.SequenceMatcher(None, body, theirs, autojunk=False)
    longest = matcher.find_longest_match(0, len(body), 0, len(theirs)).size
    covered = sum(block.size for block in matcher.get_matching_blocks() if block.size >= COVERAGE_RUN)
    return longest / len(body), covered / len(body)


def copy_problem(exercise, notebook):
    """A sentence naming the lesson cell the solution can be copied from, or None."""
    body = solution_body_tokens(exercise.solution_source)
    if len(body) < MIN_BODY_TOKENS:
        return None
    for number, cell in enumerate(lesson_cells(notebook)):
        if cell.cell_type != "code":
            continue
        longest, covered = copied_from(body, cell.source)
        if longest >= CONTIGUOUS_SHARE or covered >= COVERAGE_SHARE:
            return (f"{exercise.id}'s solution is in lesson cell {number} ({longest:.0%} of its {len(body)} tokens "
                    f"in one run, {covered:.0%} in runs of >= {COVERAGE_RUN}): ask for the API in a new situation")
    return None


def printed_forms(value):
    """The texts an output would show `value` as: repr, thousands separators, roundings, percentages."""
    import numpy as np

    if isinstance(value, (bool, np.bool_)) or value is None:
        return set()
    if isinstance(value, (int, np.integer)):
        # Below 100 a number in an output is as likely a step or a size as the answer.
        return {str(int(value)), f"{int(value):,}", f"{int(value):_}"} if abs(int(value)) >= 100 else set()
    if isinstance(value, (float, np.floating)):
        if float(value).is_integer():
            return printed_forms(int(value))
        forms = {repr(float(value))}
        for decimals in range(1, 7):
            forms |= {f"{value:.{decimals}f}", f"{value:.{decimals}%}"}
        # Only forms that show >= 3 significant digits: "0.5" or "2.3" say little.
        return {form for form in forms if len(form.lstrip("-0.").replace(".", "").rstrip("%")) >= 3}
    if isinstance(value, (list, tuple)) and len(value) >= 2:
        items = list(value)
        return {repr(items), repr(tuple(items)), " ".join(map(str, items)), ", ".join(map(str, items))}
    if isinstance(value, str) and len(value) >= 3:
        return {value}
    return set()


def _output_texts(cell):
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            yield output.get("text", "")
        for mime in ("text/plain", "text/html", "text/markdown"):
            text = output.get("data", {}).get(mime)
            if text:
                yield text if isinstance(text, str) else "".join(text)


def printed_problem(exercise, notebook):
    import re

    forms = printed_forms(exercise.reference())
    for number, cell in enumerate(lesson_cells(notebook)):
        for text in _output_texts(cell):
            for form in sorted(forms):
                if re.search(r"(?<![\w.])" + re.escape(form) + r"(?![\w%]|[.,]\d)", text):
                    return f"{exercise.id}'s answer is printed in lesson cell {number}'s output as {form!r}"
    return None


def _marked(exercises, known):
    return [pytest.param(e, marks=pytest.mark.xfail(strict=True, reason="reworked in issue 21 by its owner"))
            if e.id in known else e for e in exercises]


@pytest.mark.parametrize("exercise", _marked(FUNCTION_EXERCISES, KNOWN_COPYABLE), ids=by_id)
def test_no_solution_can_be_copied_from_a_lesson_cell(exercise):
    # Function exercises only: a value answer's source is one expression (its strings all read
    # STR, so any list of three names would "match"); whether it can be read off the lesson is
    # the printed-output rule's question.
    notebook = nbformat.read(notebook_path(exercise.id.split(".")[0]), as_version=4)
    problem = copy_problem(exercise, notebook)
    assert problem is None, problem


VALUE_EXERCISES = [e for e in EXERCISES if isinstance(e, core.ValueExercise)]


@pytest.mark.parametrize("exercise", _marked(VALUE_EXERCISES, KNOWN_PRINTED), ids=by_id)
def test_no_value_answer_is_printed_in_a_lesson_output(exercise):
    notebook = nbformat.read(notebook_path(exercise.id.split(".")[0]), as_version=4)
    problem = printed_problem(exercise, notebook)
    assert problem is None, problem


def test_the_copy_and_print_rules_catch_a_planted_copy():
    # The rules must fail when it matters: plant nb01.q1's solution, renamed and reflowed, into a
    # lesson cell, and its value answer into an output, and both are found.
    module = MODULES[MODULE_NAMES.index("nb01")]
    notebook = nbformat.read(notebook_path("nb01"), as_version=4)
    planted = module.q1.solution_source.replace("dataset", "ds").replace("images", "x").replace("labels", "y")
    notebook.cells.insert(3, nbformat.v4.new_code_cell("x, y = load()\n" + planted.split('"""\n', 2)[-1]
                                                       .replace("    ", "") + "print(len(x))\n"))
    assert copy_problem(module.q1, notebook) is not None
    value = module.q3.reference()
    notebook.cells[3].outputs = [nbformat.v4.new_output("stream", text=f"batches per epoch: {value:,}\n")]
    assert printed_problem(module.q3, notebook) is not None
    assert copy_problem(module.q2, nbformat.read(notebook_path("nb01"), as_version=4)) is None


def test_printed_forms_cover_counts_roundings_and_lists():
    assert {"104938", "104,938"} <= printed_forms(104938)
    assert {"2.303", "2.30259", "99.903%"} & printed_forms(2.302585) == {"2.303", "2.30259"}
    assert "99.9%" in printed_forms(0.99903) and "[4, 4, 2]" in printed_forms([4, 4, 2])
    assert printed_forms(13) == set() and printed_forms(True) == set()


NOTEBOOKS_WITH_EXERCISES = [pytest.param(f"{n:02d}", marks=pytest.mark.xfail(strict=True, reason="nb-a is writing it"))
                            if f"{n:02d}" in KNOWN_WITHOUT_EXERCISES else f"{n:02d}" for n in range(11)]


@pytest.mark.parametrize("number", NOTEBOOKS_WITH_EXERCISES)
def test_every_notebook_has_an_exercise_section_and_a_module(number):
    path = next((REPO / "notebooks").glob(f"{number}_*.ipynb"))
    notebook = nbformat.read(path, as_version=4)
    assert f"nb{number}" in MODULE_NAMES, f"no tfcourse/exercises/nb{number}.py"
    assert cells.exercise_ids(notebook), f"{path.name} has no exercise section"


def test_tensorflow_info_lines_from_a_checks_own_runs_stay_out_of_the_feedback(caplog):
    # tf.compat.v1 Saver logs "INFO:tensorflow:Restoring parameters from /tmp/..." each time a check
    # restores the student's checkpoint: the student did not print it, and it buries the verdict.
    logger = logging.getLogger("tensorflow")
    logger.setLevel(logging.INFO)
    noisy = core.run_source("def restore_count(n):\n    logging.getLogger('tensorflow').info('Restoring parameters')"
                            "\n    return n\n", "restore_count", "<noisy>")
    exercise = core.FunctionExercise(
        "nb99.q3", "restore_count", "quiet", prompt="", skeleton="def restore_count(n):\n    ...\n",
        solution="import logging\n\ndef restore_count(n):\n    logging.getLogger('tensorflow').info('Restoring')\n"
                 "    return n\n", hints=["h"], cases=lambda: [core.Case("n=3", (3,))])
    noisy.__globals__["logging"] = logging
    with caplog.at_level(logging.INFO, logger="tensorflow"):
        logger.setLevel(logging.INFO)
        assert exercise.evaluate(noisy).status == "passed"
    assert [r for r in caplog.records if "Restoring" in r.getMessage()] == []
    assert logger.level == logging.INFO  # restored after the check

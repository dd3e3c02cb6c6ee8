"""The exercises: every reference passes, every catalogued mistake is named, bad answers get a
one-line message, and each notebook's solved exercise section runs clean in a real kernel.

Parametrised over every module tfcourse/exercises/nbNN.py, so a new module is tested by adding it.
"""

import importlib
import os
import pathlib
import pkgutil
import subprocess
import sys
import textwrap

import nbformat
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


def test_every_module_has_three_to_five_exercises_with_ids_matching_their_names():
    assert MODULE_NAMES, "no exercise modules found"
    for module in MODULES:
        short = module.__name__.rsplit(".", 1)[1]
        assert 3 <= len(module.EXERCISES) <= 5, short
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


def test_the_wrong_function_is_told_which_arguments_are_expected():
    module = MODULES[MODULE_NAMES.index("nb03")]
    result = module.q1.evaluate(module.q2.reference())
    assert result.status == "error"
    assert result.message == ("the check calls `my_loss(logits, labels)`, but yours is "
                              "`sgd_step(model, images, labels, learning_rate)`: give it the same arguments, in that order")


def test_a_wrong_shape_names_both_shapes():
    result = core.run_source("def my_loss(logits, labels):\n    return tf.zeros([3, 3])\n", "my_loss", "<shape>")
    result = MODULES[MODULE_NAMES.index("nb03")].q1.evaluate(result)
    assert result.status == "error"
    assert "expected a scalar (shape []), got shape [3, 3]" in result.message
    assert_one_friendly_line(result)


def test_an_error_deep_inside_tensorflow_is_one_line_naming_the_case():
    wrong = core.run_source(textwrap.dedent("""\
        def my_loss(logits, labels):
            return tf.reduce_mean(tf.matmul(logits, tf.one_hot(labels, 10)))
        """), "my_loss", "<deep error>")
    result = MODULES[MODULE_NAMES.index("nb03")].q1.evaluate(wrong)
    assert result.status == "error"
    assert result.message.startswith("on a batch of 4 (labels 0, 9, 3, 9): your code raised InvalidArgumentError: ")
    assert_one_friendly_line(result)


def test_a_placeholder_left_in_a_half_written_function_is_not_attempted():
    half = core.run_source(textwrap.dedent("""\
        def my_loss(logits, labels):
            one_hot = tf.one_hot(labels, depth=10)
            return tf.reduce_mean(...)
        """), "my_loss", "<half written>")
    result = MODULES[MODULE_NAMES.index("nb03")].q1.evaluate(half)
    assert result.status == "not_attempted" and "placeholders" in result.message


def test_check_reads_the_callers_variable_and_prints_outside_jupyter(capsys):
    exercise = MODULES[MODULE_NAMES.index("nb03")].q3
    uniform_loss = ...
    exercise.check()
    assert capsys.readouterr().out.startswith("[not attempted] Not attempted yet: replace the `...`")
    uniform_loss = 2.302585  # noqa: F841 - read by check() from this frame
    exercise.check()
    assert capsys.readouterr().out.startswith("[passed] Correct: ")


def test_hints_get_stronger_and_the_solution_shows_its_source(capsys):
    exercise = MODULES[MODULE_NAMES.index("nb03")].q1
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
    module = MODULES[MODULE_NAMES.index("nb03")]
    notebook = nbformat.read(notebook_path("nb03"), as_version=4)
    mistake = module.q1.mistakes[0]
    answered = cells.answered_notebook(notebook, module, {"q1": mistake.wrong})
    sources = {tag: c.source for c in answered.cells for tag in c.metadata.get("tags", []) if tag.startswith("exercise:")}
    assert sources["exercise:q1"] == mistake.wrong.rstrip("\n") + "\n\nex.q1.check(my_loss)"
    assert sources["exercise:q2"] == cells.cell_source(module.q2)  # untouched: the skeleton
    with pytest.raises(ValueError, match=r"tfcourse.exercises.nb03 has no exercises \['q9'\]"):
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
    "nb06.q1": """\
import glob
import os


def write_and_read_losses(log_dir, steps, losses):
    writer = tf.summary.create_file_writer(log_dir)
    for step, loss in zip(steps, losses):
        with writer.as_default(step=step):
            tf.summary.scalar("loss", loss)
    writer.flush()
    pairs = []
    for path in sorted(glob.glob(os.path.join(log_dir, "events.out.tfevents.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag == "loss":
                    pairs.append((event.step, float(tf.make_ndarray(value.tensor))))
    return pairs
""",
    "nb06.q2": """\
def write_weight_histograms(log_dir, model, step):
    writer = tf.summary.create_file_writer(log_dir)
    with writer.as_default():
        for variable in model.trainable_variables:
            tf.summary.histogram("weights/" + variable.name[:-2], variable, step=step, buckets=5)
    writer.flush()
""",
    "nb08.q1": """\
import re


def count_fusions(function, *args):
    ir = tf.function(function, jit_compile=True).experimental_get_compiler_ir(*args)
    return len(re.findall(r"= \\S+ fusion\\(", ir(stage="optimized_hlo")))
""",
    "nb08.q2": """\
@tf.function(jit_compile=True, reduce_retracing=True)
def hidden_layer(images, weights, biases):
    batch = tf.shape(images)[0]
    return tf.nn.relu(tf.matmul(tf.reshape(images, tf.stack([batch, 784])), weights) + biases)
""",
}


@pytest.mark.parametrize("exercise_id", sorted(OTHER_RIGHT_ANSWERS))
def test_other_right_answers_pass(exercise_id):
    exercise = next(e for e in EXERCISES if e.id == exercise_id)
    answer = core.run_source(OTHER_RIGHT_ANSWERS[exercise_id], exercise.answer, f"<{exercise_id} other>")
    result = exercise.evaluate(answer)
    assert result.status == "passed", result.message


def test_nb08_a_batch_size_read_in_python_is_named_even_when_every_call_fails():
    # With an input_signature of batch None, `images.shape[0]` fails on every call, not only
    # in the check's own trace: still the same mistake.
    exercise = MODULES[MODULE_NAMES.index("nb08")].q2
    answer = core.run_source(textwrap.dedent("""\
        @tf.function(jit_compile=True, input_signature=[tf.TensorSpec([None, 28, 28]), tf.TensorSpec([784, None]),
                                                        tf.TensorSpec([None])])
        def hidden_layer(images, weights, biases):
            return tf.nn.relu(tf.matmul(tf.reshape(images, [images.shape[0], 784]), weights) + biases)
        """), "hidden_layer", "<signature>")
    result = exercise.evaluate(answer)
    assert (result.status, result.mistake) == ("mistake", "static_batch_size"), result.message


def test_nb09_step_reference_is_one_sgd_step_of_the_whole_batch_on_one_device():
    # The prompt promises the 2-replica step equals one device's; check the reference keeps it.
    import numpy as np
    import tensorflow as tf

    from tfcourse import mnist

    module = MODULES[MODULE_NAMES.index("nb09")]
    for case, expected in zip(module.q1.cases(), module.q1._expected()):
        model = mnist.MLP(16, 8, seed=case.input["seed"])
        before = model.get_weights()
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=case.input["labels"], logits=model(case.input["images"])))
        gradients = tape.gradient(loss, model.trainable_variables)
        tf.keras.optimizers.SGD(module.LEARNING_RATE).apply_gradients(zip(gradients, model.trainable_variables))
        after = model.get_weights()
        assert np.isclose(float(expected.value["loss"]), float(loss), rtol=1e-5), case.label
        for name, moved in expected.value["moved"].items():
            np.testing.assert_allclose(moved, after[name] - before[name], rtol=1e-4, atol=1e-7, err_msg=case.label)


def test_nb10_block_written_another_way_passes():
    # Judged by what it computes: other layer order, Activation/add, biases, BN settings are all right.
    other = textwrap.dedent('''\
        import keras

        def unit(x, filters, kernel, strides=1, relu=True):
            x = keras.layers.Conv2D(filters, kernel, strides=strides, padding="same")(x)
            x = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(x)
            return keras.layers.Activation("relu")(x) if relu else x

        def my_bottleneck(x, filters, strides):
            main = unit(unit(unit(x, filters, 1), filters, 3, strides), 4 * filters, 1, relu=False)
            fits = strides == 1 and x.shape[-1] == 4 * filters
            shortcut = x if fits else unit(x, 4 * filters, 1, strides, relu=False)
            return keras.layers.Activation("relu")(keras.layers.add([main, shortcut]))
        ''')
    module = MODULES[MODULE_NAMES.index("nb10")]
    result = module.q1.evaluate(core.run_source(other, "my_bottleneck", "<another block>"))
    assert result.status == "passed", result.message


@pytest.mark.parametrize("sizes,model_shape", [("hidden2_units, hidden1_units", "[8]"), ("", "[128]")])
def test_a_checkpoint_restored_into_another_shape_names_both_shapes(sizes, model_shape):
    module = MODULES[MODULE_NAMES.index("nb05")]
    wrong = core.run_source(module.RESTORE_IMPORT + module.RESTORE_SOLUTION.replace(
        "mnist.MLP(hidden1_units, hidden2_units)", f"mnist.MLP({sizes})"), "restore_model", "<another shape>")
    result = module.q2.evaluate(wrong)
    assert (result.status, result.mistake) == ("mistake", "model_of_another_shape"), result.message
    assert f"the checkpoint's `hidden1/biases` has shape [16], your model's {model_shape}." in result.message
    assert_one_friendly_line(result)


def test_nb03_shape_mistakes_are_named_with_op_determinism_on():
    # `settings.set_seed` turns op determinism on, and then TensorFlow computes the cross-entropy
    # from smaller ops whose shape error reads differently: the diagnosis must not depend on it.
    script = textwrap.dedent("""\
        import tensorflow as tf
        tf.random.set_seed(0)
        tf.config.experimental.enable_op_determinism()
        from tfcourse.exercises import nb03
        for mistake in nb03.q1.mistakes:
            if mistake.name in ("one_hot_wrong_depth", "labels_not_one_hot"):
                result = nb03.q1.evaluate(nb03.q1.answer_with(mistake))
                print(mistake.name, result.status, result.mistake)
        """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.split("\n")
    assert "one_hot_wrong_depth mistake one_hot_wrong_depth" in lines, done.stdout
    assert "labels_not_one_hot mistake labels_not_one_hot" in lines, done.stdout


def test_answered_fires_on_the_listed_values_only():
    detect = core.answered(10, 3)
    assert detect([core.Outcome("value", value=3)]) and detect([core.Outcome("value", value=10)])
    assert not detect([core.Outcome("value", value=11)]) and not detect([core.Outcome("value", value=None)])

"""Helpers of the per-notebook exercise and lesson tests: run an answer written as source, judge the
verdict, and read a notebook's lesson cells and their stored outputs."""

import nbformat

from tfcourse.exercises import cells, core


def evaluate(exercise, source):
    """The Result of checking the answer that `source` defines (under the exercise's answer name)."""
    return exercise.evaluate(core.run_source(source, exercise.answer, f"<{exercise.id} answer>"))


def assert_passes(exercise, source):
    result = evaluate(exercise, source)
    assert result.status == "passed", f"{exercise.id}: a right answer was refused: {result.message}"


def assert_uncatalogued_wrong(exercise, source, *shown):
    """A wrong answer no catalogue names: status mistake, and the message names expected, got and where."""
    result = evaluate(exercise, source)
    assert result.status == "mistake", f"{exercise.id}: a wrong answer got {result.status}: {result.message}"
    assert result.mistake == core.WRONG_RESULT, f"{exercise.id}: named {result.mistake}, expected none"
    for text in ("expected", "got") + shown:
        assert text in result.message, f"{exercise.id}: {text!r} not in {result.message!r}"
    return result


def lesson_cells(path):
    """The notebook's lesson cells (the exercise section left out)."""
    notebook = nbformat.read(path, as_version=4)
    return [cell for cell in notebook.cells if cells.SECTION_TAG not in cell.metadata.get("tags", [])]


def lesson_outputs(path):
    """Every text the lesson cells print or display."""
    texts = []
    for cell in lesson_cells(path):
        for output in cell.get("outputs", []):
            texts.append("".join(output.get("text", "")))
            texts.extend("".join(value) for key, value in output.get("data", {}).items() if key.startswith("text/"))
    return "\n".join(texts)

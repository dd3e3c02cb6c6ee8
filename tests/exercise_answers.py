"""Helpers of the per-notebook exercise tests: run an answer written as source, judge the verdict,
and measure how much of a reference solution a lesson cell already shows."""

import io
import keyword
import tokenize

import nbformat

from tfcourse.exercises import cells, core


def evaluate(exercise, source):
    """The Result of checking the answer that `source` defines (under the exercise's answer name)."""
    if isinstance(exercise, core.ValueExercise):
        return exercise.evaluate(core.run_source(source, exercise.answer, f"<{exercise.id} answer>"))
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


def _tokens(code):
    """Code tokens with identifiers (not attribute names, not keywords) normalised to ID."""
    out, previous = [], None
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENDMARKER, tokenize.ENCODING}
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            if token.type in skip or (token.type == tokenize.STRING and previous in (None, ":")):
                continue
            text = token.string
            if token.type == tokenize.NAME and not keyword.iskeyword(text) and previous != ".":
                text = "ID"
            out.append(text)
            previous = token.string
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return out


def longest_shared_run(solution, code):
    """Length of the longest run of normalised tokens the solution shares with `code`."""
    a, b = _tokens(solution), _tokens(code)
    best, row = 0, [0] * (len(b) + 1)
    for x in a:
        new = [0] * (len(b) + 1)
        for j, y in enumerate(b, start=1):
            if x == y:
                new[j] = row[j - 1] + 1
                best = max(best, new[j])
        row = new
    return best


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

"""Exercises, their catalogues of usual mistakes, and the check that names them.

An exercise asks for one answer under one name: a function (`FunctionExercise`, e.g.
`my_loss(logits, labels)`) or a value (`ValueExercise`, e.g. `batches_per_epoch`, also used
for predictions the check verifies by running the code). Its reference solution is a piece
of source, the very code `solution()` shows and the solved notebook runs; each `Mistake`
carries the source of a wrong answer too, so the tests can make every mistake and check that
the check names it.

`evaluate(answer)` returns a `Result` (status in STATUSES) without displaying anything;
`check(answer)` evaluates and shows it (see `feedback`). Nothing here imports TensorFlow:
the snippets and the test cases do, when a check runs.
"""

import copy
import dataclasses
import inspect
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from tfcourse import source
from tfcourse.exercises import feedback
from tfcourse.exercises.answers import (  # noqa: F401 - AnswerError, compare_values and PRELUDE are the authors' API
    PRELUDE,
    AnswerError,
    NotAttempted,
    as_count,
    as_sequence,
    compare_counts,
    compare_values,
    first_line,
    placeholder_state,
    run_source,
    summary,
)

STATUSES = ("passed", "mistake", "not_attempted", "error")
WRONG_RESULT = "wrong_result"  # the mistake name of a wrong answer no catalogued mistake explains
_FROM_CALLER = object()


@dataclasses.dataclass(frozen=True)
class Case:
    """One input a function answer is run on; `label` names it in feedback ("a batch of 1")."""
    label: str
    input: Any


@dataclasses.dataclass
class Outcome:
    """What an answer did on one case: a (normalised) value, or the exception it raised."""
    label: str
    value: Any = None
    error: BaseException | None = None


@dataclasses.dataclass(frozen=True)
class Mistake:
    """A usual mistake: its name, what to tell the student, and a wrong answer that makes it.

    Args:
      name: snake_case id, recorded for the grader (e.g. "sum_instead_of_mean").
      message: one or two friendly sentences: what went wrong and what to do instead.
      wrong: source defining the exercise's answer name with this mistake (tests run it).
      detect: detect(outcomes) -> bool, a property of the student's outcomes (list of
        `Outcome`, one per case). None: the student's outcomes equal those of `wrong`
        (values equal by the exercise's comparison, or the same exception type raised).
        A detector may return a non-empty str instead of True: the detail (e.g. both shapes
        of a mismatch) that replaces "{detail}" in `message`.
    """
    name: str
    message: str
    wrong: str
    detect: Callable | None = None

    def render(self, found):
        """The message shown when `detect` returned `found` (True, or a detail string)."""
        return self.message.replace("{detail}", found) if isinstance(found, str) else self.message


@dataclasses.dataclass(frozen=True)
class Result:
    """The outcome of one check; `record()` is what the grader reads."""
    exercise: str
    status: str
    message: str
    mistake: str | None = None

    def record(self):
        return {"exercise": self.exercise, "event": "check", "status": self.status,
                "mistake": self.mistake, "message": self.message}


class Exercise:
    """What every exercise has; `FunctionExercise` and `ValueExercise` say how answers are run.

    Args:
      id: "nbNN.qK" (the module's name and the attribute the student calls).
      answer: the name the student defines (function or variable).
      title: a few words, the heading of the exercise in the notebook.
      prompt: markdown, the task as the student reads it.
      skeleton: the student's starting code; `...` marks what to fill in.
      solution: the reference answer's source (one source: shown, tested, put in the solved notebook).
      hints: from gentle to nearly the answer; each `hint()` call shows the next.
      mistakes: the catalogue of usual mistakes, tried in order.
    """

    def __init__(self, id, answer, title, prompt, skeleton, solution, hints, mistakes=()):
        if not (isinstance(id, str) and id.count(".") == 1 and id.split(".")[1].startswith("q")):
            raise ValueError(f"exercise id must look like 'nb03.q1', got {id!r}")
        names = [m.name for m in mistakes]
        if len(set(names)) != len(names) or WRONG_RESULT in names:
            raise ValueError(f"{id}: mistake names must be unique and not {WRONG_RESULT!r}: {names}")
        self.id, self.answer, self.title, self.prompt = id, answer, title, prompt
        self.skeleton, self.solution_source, self.hints = skeleton, solution, list(hints)
        self.mistakes = list(mistakes)
        self._hints_shown = 0
        self._wrong_outcomes = {}  # mistake name -> outcomes of its wrong answer (computed once, like the reference's)

    @property
    def question(self):
        """"q1": the attribute of the notebook module."""
        return self.id.split(".")[1]

    @property
    def check_call(self):
        """The line the notebook cell ends with."""
        raise NotImplementedError

    def reference(self):
        return run_source(self.solution_source, self.answer, f"<{self.id} solution>")

    def answer_with(self, mistake):
        """The wrong answer of `mistake` (a Mistake or its name), as the student would have it."""
        if isinstance(mistake, str):
            mistake = next(m for m in self.mistakes if m.name == mistake)
        return run_source(mistake.wrong, self.answer, f"<{self.id} mistake {mistake.name}>")

    # Subclasses: the expected outcomes, the student's, and how two values compare.
    def _check_attempted(self, answer):
        raise NotImplementedError

    def _outcomes(self, answer):
        raise NotImplementedError

    def _expected(self):
        raise NotImplementedError

    def compare(self, expected, got):
        raise NotImplementedError

    def evaluate(self, answer):
        """The Result of checking `answer`, nothing displayed."""
        try:
            return self._evaluate(answer)
        except NotAttempted as reason:
            return Result(self.id, "not_attempted", str(reason))
        except AnswerError as reason:
            return Result(self.id, "error", str(reason))

    def _evaluate(self, answer):
        self._check_attempted(answer)
        outcomes = self._outcomes(answer)
        self._check_outcomes_attempted(answer, outcomes)
        failure = None
        expected_outcomes = self._expected()
        for expected, outcome in zip(expected_outcomes, outcomes):
            if outcome.error is not None:
                failure = (outcome, None)
                break
            try:
                difference = self.compare(expected.value, outcome.value)
            except AnswerError as wrong_kind:
                failure = (outcome, wrong_kind)
                break
            if difference is not None:
                failure = (outcome, wrong_result_detail(difference, expected.value, outcome.value))
                break
        if failure is None:
            return Result(self.id, "passed", self._passed_message())
        for mistake in self.mistakes:
            found = self._detects(mistake, outcomes)
            if found:
                return Result(self.id, "mistake", mistake.render(found), mistake.name)
        outcome, problem = failure
        where = f"on {outcome.label}: " if outcome.label else ""
        if isinstance(outcome.error, AnswerError):  # `run` found a result of the wrong kind
            return Result(self.id, "error", f"{where}{outcome.error}")
        if outcome.error is not None:
            return Result(self.id, "error", f"{where}your code raised {first_line(outcome.error)}")
        if isinstance(problem, AnswerError):
            return Result(self.id, "error", f"{where}{problem}")
        return Result(self.id, "mistake", f"{where}{problem}. Compare with the lesson, or ask for "
                      f"`ex.{self.question}.hint()`.", WRONG_RESULT)

    def _passed_message(self):
        return "well done."

    def _check_outcomes_attempted(self, answer, outcomes):
        pass

    def _detects(self, mistake, outcomes):
        try:
            if mistake.detect is not None:
                found = mistake.detect(outcomes)
                return found if isinstance(found, str) else bool(found)
            if mistake.name not in self._wrong_outcomes:
                self._wrong_outcomes[mistake.name] = self._outcomes(self.answer_with(mistake))
            wrong = self._wrong_outcomes[mistake.name]
            return all(self._same(w, o) for w, o in zip(wrong, outcomes))
        except Exception:  # a detector that cannot judge these outcomes does not match
            return False

    def _same(self, wrong, outcome):
        if wrong.error is not None or outcome.error is not None:
            return type(wrong.error) is type(outcome.error)
        return self.compare(wrong.value, outcome.value) is None

    def check(self, answer=_FROM_CALLER):
        """Checks `answer` (by default the caller's variable named `self.answer`) and shows the verdict."""
        if answer is _FROM_CALLER:
            answer = _caller_variable(self.answer, sys._getframe(1))
        try:
            result = self.evaluate(answer)
        except Exception as bug:  # the checker itself failed: say so in one line, never a traceback
            result = Result(self.id, "error", f"the checker could not run ({first_line(bug)}); "
                            "please report this to your teacher")
        source.display_bundle(feedback.message_bundle(result.status, None, result.message, result.record()))

    def hint(self, level=None):
        """Shows hint `level` (1-based), by default the next one (a second call gives a stronger hint)."""
        if not self.hints:
            raise ValueError(f"{self.id} has no hints")
        if level is None:
            level = min(self._hints_shown + 1, len(self.hints))
        if not (isinstance(level, int) and 1 <= level <= len(self.hints)):
            raise ValueError(f"hint level must be 1..{len(self.hints)}, got {level!r}")
        self._hints_shown = max(self._hints_shown, level)
        more = " (call `hint()` again for a stronger one)" if level < len(self.hints) else ""
        source.display_bundle(feedback.message_bundle(
            "hint", f"Hint {level} of {len(self.hints)}", self.hints[level - 1] + more,
            {"exercise": self.id, "event": "hint", "level": level}))

    def solution(self):
        """Shows the reference solution, syntax highlighted."""
        code_html, code_text = source.highlighted(self.solution_source)
        source.display_bundle(feedback.message_bundle(
            "solution", f"Solution to {self.question}", "", {"exercise": self.id, "event": "solution"},
            code_html=code_html, code_text=code_text))

    def __repr__(self):
        return f"<exercise {self.id}: {self.title}; call .check(), .hint() or .solution()>"


def wrong_result_detail(difference, expected, got):
    """The difference a comparison found, with the numbers when it gave none.

    A module's comparison may say only what differs ("the logits differ"); the student still
    needs to see expected and got. When the difference names neither, the values' summaries
    (numbers, arrays, dicts of them) are added; values with no summary leave it as it is.
    """
    text = str(difference)
    if "expected" in text and "got" in text:
        return text
    want, have = summary(expected), summary(got)
    if want is None or have is None:
        return text
    return f"{text}: expected {want}, got {have}"


def _caller_variable(name, frame):
    for namespace in (frame.f_locals, frame.f_globals):
        if name in namespace:
            return namespace[name]
    return _Missing(name)


class _Missing:
    def __init__(self, name):
        self.name = name


def _check_not_missing(answer, what):
    if answer is Ellipsis:
        raise NotAttempted(f"replace the `...` with {what}, run the cell, and the check will tell you how it went.")
    if isinstance(answer, _Missing):
        raise NotAttempted(f"there is no `{answer.name}` yet: run the cell that defines it.")


class FunctionExercise(Exercise):
    """The answer is a function, run on every case and compared with the reference.

    Extra args:
      cases: cases() -> list of Case; build them inside (TensorFlow is imported there).
      run: run(function, case.input) -> a value `compare` understands; default function(*input).
        Raise AnswerError for a result of the wrong kind (e.g. "expected a tf.data.Dataset").
      compare: compare(expected, got) -> None when equal, else a one-line difference; raises
        AnswerError for a wrong type or shape. Default `compare_values`.
    """

    def __init__(self, *args, cases, run=None, compare=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._cases_factory = cases
        self._run = run or (lambda function, case_input: function(*case_input))
        self._compare = compare or compare_values
        self._cases = None
        self._expected_outcomes = None

    @property
    def check_call(self):
        return f"ex.{self.question}.check({self.answer})"

    def cases(self):
        if self._cases is None:
            self._cases = list(self._cases_factory())
        return self._cases

    def compare(self, expected, got):
        return self._compare(expected, got)

    def _check_attempted(self, answer):
        _check_not_missing(answer, f"your function `{self.answer}`")
        if not callable(answer):
            raise AnswerError(f"expected a function `{self.answer}(...)`, got {type(answer).__name__}: "
                              f"define it with `def {self.answer}(...):` and pass the function itself")
        if placeholder_state(answer) == "empty":
            raise NotAttempted(f"`{self.answer}` is still the skeleton: write its body in place of `...`.")
        self._check_signature(answer)

    def _check_signature(self, answer):
        """AnswerError unless `answer` can be called like the reference (same positional arguments)."""
        expected = inspect.signature(self.reference())
        try:
            got = inspect.signature(answer)
        except (TypeError, ValueError):  # a builtin or C function: let the run show what happens
            return
        try:
            got.bind(*expected.parameters)
        except TypeError:
            raise AnswerError(f"the check calls `{self.answer}{expected}`, but yours is "
                              f"`{getattr(answer, '__name__', self.answer)}{got}`: give it the same arguments, "
                              "in that order") from None

    def _outcomes(self, function):
        outcomes = []
        for case in self.cases():
            try:
                # A copy per run: an answer that changes its inputs in place (`images /= 255`)
                # must not change the cases the next answer is run on.
                outcomes.append(Outcome(case.label, value=self._run(function, copy.deepcopy(case.input))))
            except Exception as error:  # the student's code failed: reported in one line
                outcomes.append(Outcome(case.label, error=error))
        return outcomes

    def _expected(self):
        if self._expected_outcomes is None:
            self._expected_outcomes = self._outcomes(self.reference())
            failed = [o for o in self._expected_outcomes if o.error is not None]
            if failed:
                raise RuntimeError(f"{self.id}: the reference failed on {failed[0].label}: {first_line(failed[0].error)}")
        return self._expected_outcomes

    def _check_outcomes_attempted(self, answer, outcomes):
        if any(o.value is Ellipsis for o in outcomes) or (
                any(o.error is not None for o in outcomes) and placeholder_state(answer) == "partial"):
            raise NotAttempted(f"`{self.answer}` still has `...` placeholders: fill them in.")

    def _passed_message(self):
        return f"`{self.answer}` agrees with the reference on {len(self.cases())} cases: " \
               + ", ".join(case.label for case in self.cases()) + "."


def _whole_numbers(value):
    """True for an int (not bool) or a non-empty list/tuple of ints: what `compare_counts` judges."""
    def whole(item):
        return isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_))
    return whole(value) or (isinstance(value, (list, tuple)) and len(value) > 0 and all(map(whole, value)))


def answered(*values):
    """A value exercise's mistake detector: the answer is one of `values`, in any form.

    13.0 and np.int64(13) are 13, and a tuple, ndarray or tensor is the list it holds, as in
    `compare_counts`; other values compare with ==.
    """
    def normal(value):
        try:
            return as_count(value)
        except AnswerError:
            pass
        try:
            return tuple(normal(item) for item in as_sequence(value))
        except AnswerError:
            return value

    wanted = [normal(v) for v in values]
    return lambda outcomes: any(_equal(normal(outcomes[0].value), w) for w in wanted)


def _equal(a, b):
    try:
        return bool(a == b)
    except Exception:  # e.g. arrays of different shapes
        return False


class ValueExercise(Exercise):
    """The answer is a value (a count, a prediction) compared with `expected()`.

    Extra args:
      expected: expected() -> the right value, computed when a check runs (a prediction's
        check runs the code the student predicted).
      compare: as for FunctionExercise; default `compare_counts` when expected() is a whole
        number or a list of them (13, 13.0, np.int64(13) all pass; 13.5 does not; any sequence
        type for a list), else `compare_values`.
      explain: explain(value) -> a sentence added when the answer passes (what running gave).
    """

    def __init__(self, *args, expected, compare=None, explain=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._expected_factory = expected
        self._compare = compare
        self._explain = explain

    @property
    def check_call(self):
        return f"ex.{self.question}.check()"

    def compare(self, expected, got):
        if self._compare is not None:
            return self._compare(expected, got)
        return compare_counts(expected, got) if _whole_numbers(expected) else compare_values(expected, got)

    def _check_attempted(self, answer):
        _check_not_missing(answer, f"your value of `{self.answer}`")

    def _outcomes(self, value):
        return [Outcome("", value=value)]

    def _expected(self):
        return [Outcome("", value=self._expected_factory())]

    def _passed_message(self):
        return self._explain(self._expected_factory()) if self._explain else "well done."

"""The grader's own check of one exercise, run in the student's kernel right after its cell.

`tfcourse grade` never reads a grade from what the student's cells displayed: after each
exercise cell it sends a cell of its own (never part of the notebook) that calls

    report("nb03.q1", "<nonce>")

which checks the answer the student's namespace holds now and prints one line,
`MARK <nonce> <record JSON>`. The nonce is drawn by the grader when it sends that cell, so no
file, variable or output that existed before it can carry it: a record a student printed or
displayed (or stored in the notebook) scores nothing. What this cannot stop is code the
student ran earlier in the same kernel that rewrites the checker or watches for the
grader's cell: docs/exercises.md says what a teacher can do about that.
"""

import importlib
import json
import secrets
import sys

MARK = "tfcourse-grader-verdict"
GRADER_KEY = "tfcourse_grader"  # metadata of the grader's check cells (never in a submission)


def source(exercise_id, nonce):
    """The code of the grader's cell for `exercise_id`."""
    return f"__import__('tfcourse.exercises.verdict', fromlist=['report']).report({exercise_id!r}, {nonce!r})"


def report(exercise_id, nonce):
    """Checks the answer of `exercise_id` in the caller's (IPython) namespace and prints the verdict line."""
    from tfcourse.exercises import core
    from tfcourse.exercises.answers import first_line

    module_name, question = exercise_id.split(".")
    exercise = getattr(importlib.import_module(f"tfcourse.exercises.{module_name}"), question)
    namespace = sys._getframe(1).f_globals
    if exercise.answer not in namespace:
        result = core.Result(exercise_id, "not_attempted", f"there is no `{exercise.answer}` when the cell has run")
    else:
        try:
            result = exercise.evaluate(namespace[exercise.answer])
        except Exception as bug:  # noqa: BLE001 - the checker failing is reported, never a traceback
            result = core.Result(exercise_id, "error", f"the checker could not run ({first_line(bug)})")
    sys.stdout.write(f"{MARK} {nonce} {json.dumps(result.record())}\n")
    sys.stdout.flush()


def parse(outputs, nonce):
    """The record the grader's cell printed (its outputs as nbclient stored them), or (None, why)."""
    text = "".join(output.get("text", "") for output in outputs
                   if output.get("output_type") == "stream" and output.get("name") == "stdout")
    lines = [line for line in text.splitlines() if line.strip()]
    others = [output for output in outputs if output.get("output_type") != "stream"]
    if len(lines) != 1 or others or not lines[0].startswith(f"{MARK} {nonce} "):
        error = next((o for o in others if o.get("output_type") == "error"), None)
        if error is not None:
            return None, f"the grader's check raised {error.get('ename')}: {error.get('evalue', '')[:200]}"
        return None, "the grader's check was tampered with (its output is not the one verdict line it prints)"
    try:
        return json.loads(lines[0][len(MARK) + len(nonce) + 2:]), None
    except ValueError:
        return None, "the grader's check was tampered with (its verdict is not valid JSON)"


# --- the grader's side: adding the check cells, reading their verdicts ----------------------
# (imports inside: the kernel imports this module for `report` and needs none of them)

def grader_cell(cell):
    """The grader's check cell's {"exercise", "nonce"}, or None for the notebook's own cells."""
    return cell.get("metadata", {}).get(GRADER_KEY)


def add_check_cells(notebook, exercise_cells):
    """A copy of `notebook` with the grader's check cell (`source`, a new nonce each) after each
    exercise's cell ({exercise id: cell index}); the nonce stays in the cell's metadata, which no
    kernel sees."""
    import nbformat

    where = {index: exercise for exercise, index in exercise_cells.items()}
    run = nbformat.from_dict(notebook)
    run.cells = []
    for index, cell in enumerate(notebook.cells):
        run.cells.append(nbformat.from_dict(cell))
        if index in where:
            nonce = secrets.token_hex(16)
            run.cells.append(nbformat.v4.new_code_cell(source(where[index], nonce), metadata={
                GRADER_KEY: {"exercise": where[index], "nonce": nonce}}))
    return run


def verdicts(notebook):
    """{exercise: (record, None) or (None, why)} from the grader's check cells that ran."""
    found = {}
    for cell in notebook.cells:
        grader = grader_cell(cell)
        if grader is not None and cell.get("execution_count") is not None:
            record, why = parse(cell.get("outputs", []), grader["nonce"])
            if record is not None and record.get("exercise") != grader["exercise"]:
                record, why = None, "the grader's check was tampered with (its verdict names another exercise)"
            found[grader["exercise"]] = (record, why)
    return found


def claimed_passes(notebook):
    """The exercises a check record in the notebook's own cells' outputs says passed."""
    import nbformat

    from tfcourse.exercises import cells

    return {record.get("exercise") for cell in notebook.cells if not grader_cell(cell)
            for record in cells.collect_records(nbformat.from_dict({"cells": [cell]}))
            if record.get("event") == "check" and record.get("status") == "passed"}

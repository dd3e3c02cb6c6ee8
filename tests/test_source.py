"""source.show: the library's real lesson code, shown where the notebook teaches it."""

import inspect

import pytest

from tfcourse import source, v1


def test_show_prints_the_very_source_the_library_runs(capsys):
    source.show(v1.training)
    out = capsys.readouterr().out
    assert out.startswith("# tfcourse.v1.training  (tfcourse/v1.py, line ")
    assert inspect.getsource(v1.training).strip() in out
    assert "minimize(loss, global_step=global_step)" in out


def test_highlighted_html_carries_the_code_and_inline_colours():
    code_html, code_text = source.highlighted("x = tf.constant(1)\n")
    assert code_text == "x = tf.constant(1)\n"
    assert "style=" in code_html and "constant" in code_html


def test_show_of_something_without_python_source_is_one_line_error():
    with pytest.raises(ValueError, match="expects a Python function, class or method, got <built-in function len>"):
        source.show(len)


def test_show_slices_a_long_function_between_two_markers(capsys):
    from tfcourse.training import trainer

    code = source.source_of(trainer.Trainer)
    text, first, last = source.excerpt(code, start="def _train_steps", end="return")
    lines = text.splitlines()
    assert lines[0].strip() == "..." and "def _train_steps" in lines[1] and "return" in lines[-2]
    assert lines[-1].strip() == "..." and last > first > 1
    assert code.splitlines()[first - 1] == lines[1]
    source.show(trainer.Trainer, start="def _train_steps", end="return")
    shown = capsys.readouterr().out
    assert f"lines {inspect.getsourcelines(trainer.Trainer)[1] + first - 1}-" in shown
    with pytest.raises(ValueError, match="no line of the source contains start='no such line'"):
        source.excerpt(code, start="no such line")

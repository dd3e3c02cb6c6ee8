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

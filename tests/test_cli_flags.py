"""Every numeric or choice flag of every subcommand, given a bad value: exit 2, one stderr line.

The matrix is built by walking the real argparse parsers, so a flag added later is
covered without editing this file; a numeric flag declared with a bare `int`/`float`
(which would let `--seed -1` or `--timeout nan` through to a traceback) fails
`test_every_typed_flag_uses_a_checked_type`. Cases run in-process through `cli.main`
(no TensorFlow import, milliseconds each); two subprocess checks confirm the real
`python -m tfcourse` behaves the same.
"""

import argparse
import subprocess
import sys

import pytest

from tfcourse import cli
from tfcourse.commands import NAMES
from tfcourse.commands import args as flag_types

# Values each checked type must refuse: wrong type, out of range, non-finite.
BAD_VALUES = {
    flag_types.positive_int: ["0", "-3", "x", "2.5"],
    flag_types.non_negative_int: ["-1", "x", "1.5"],
    flag_types.seed: ["-1", str(2**32), "x"],
    flag_types.port: ["-1", "65536", "x"],
    flag_types.server_port: ["0", "65536", "x"],
    flag_types.port_list: ["x", "80,x", "0", "1,70000", ""],
    flag_types.positive_float: ["0", "-0.5", "nan", "inf", "x"],
    flag_types.non_negative_float: ["-1", "nan", "inf", "x"],
    flag_types.notebook_number: ["6", "006", "x6", ""],
}
# And values they must accept, with what they turn into.
GOOD_VALUES = {
    flag_types.positive_int: ("3", 3),
    flag_types.non_negative_int: ("0", 0),
    flag_types.seed: (str(2**32 - 1), 2**32 - 1),
    flag_types.port: ("0", 0),
    flag_types.server_port: ("65535", 65535),
    flag_types.port_list: ("12345,12346", [12345, 12346]),
    flag_types.positive_float: ("1e-3", 1e-3),
    flag_types.non_negative_float: ("0", 0.0),
    flag_types.notebook_number: ("06", "06"),
}


def _flags(parser, path):
    """(path, action) for every option of `parser` and its nested subcommands."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _flags(sub, path + [name])
        elif action.option_strings and not isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            yield path, action


def _all_flags():
    flags = []
    for name in NAMES:
        parser = cli.build_parser(name)
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[name]
        flags += list(_flags(sub, [name]))
    return flags


FLAGS = _all_flags()
TYPED = [(path, action) for path, action in FLAGS if action.type is not None]
CHOICES = [(path, action) for path, action in FLAGS if action.choices is not None]
CASES = [pytest.param(path, action.option_strings[0], bad, "expected",
                      id=f"{' '.join(path)} {action.option_strings[0]}={bad}")
         for path, action in TYPED if action.type in BAD_VALUES for bad in BAD_VALUES[action.type]]
CASES += [pytest.param(path, action.option_strings[0], "bogus", "invalid choice: 'bogus'",
                       id=f"{' '.join(path)} {action.option_strings[0]}=bogus")
          for path, action in CHOICES]


def test_the_matrix_reaches_nested_subcommands_and_every_kind_of_flag():
    covered = {(" ".join(path), action.option_strings[0]) for path, action in TYPED + CHOICES}
    assert {("train", "--seed"), ("train", "--optimizer"), ("launch", "-np"), ("launch", "--ports"),
            ("tensorboard", "--port"), ("bench resnet50", "--precision"), ("bench allreduce", "--sizes-mb"),
            ("bench report", "--model")} <= covered
    assert len(CASES) >= 100


@pytest.mark.parametrize("path, action", TYPED, ids=lambda x: " ".join(x) if isinstance(x, list) else x.dest)
def test_every_typed_flag_uses_a_checked_type(path, action):
    assert action.type in BAD_VALUES, (
        f"tfcourse {' '.join(path)} {action.option_strings[0]} has type={action.type!r}; use a type from "
        "tfcourse/commands/args.py so a bad value exits 2 with one line")


@pytest.mark.parametrize("path, flag, bad, expected", CASES)
def test_bad_flag_value_exits_2_with_one_line(path, flag, bad, expected, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*path, flag, bad])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"tfcourse {' '.join(path)}: error: argument {flag}")
    assert expected in lines[0] and repr(bad) in lines[0]
    assert captured.out == ""


@pytest.mark.parametrize("kind", list(GOOD_VALUES), ids=lambda k: k.__name__)
def test_checked_types_accept_good_values(kind):
    text, value = GOOD_VALUES[kind]
    assert kind(text) == value


@pytest.mark.parametrize("argv, line", [
    (["bench", "resnet50", "--steps", "0"],
     "tfcourse bench resnet50: error: argument --steps: expected a positive integer, got '0' "
     "(see 'tfcourse bench resnet50 --help')"),
    (["train", "--seed", "-1"],
     "tfcourse train: error: argument --seed: expected an integer seed in 0..4294967295, got '-1' "
     "(see 'tfcourse train --help')"),
])
def test_real_process_prints_the_same_single_line(argv, line):
    done = subprocess.run([sys.executable, "-m", "tfcourse", *argv], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [line] and done.stdout == ""

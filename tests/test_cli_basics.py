import importlib
import os
import pkgutil
import re
import subprocess
import sys

from conftest import REPO

from tfcourse import commands
from tfcourse.datasets import locate


def tfcourse(*args, env=None):
    return subprocess.run([sys.executable, "-m", "tfcourse", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})}, cwd=REPO)


def test_help_lists_every_command_module_with_its_help():
    result = tfcourse("--help")
    assert result.returncode == 0
    # The COMMAND section: "    name   help text" lines, help wrapped onto indented lines.
    section = result.stdout.split("\n  COMMAND\n", 1)[1].split("\n\n")[0]
    listed = [line.split()[0] for line in section.splitlines() if re.match(r"    \S", line)]
    modules = [m.name for m in pkgutil.iter_modules(commands.__path__) if m.name != "args"]
    assert sorted(listed) == sorted(modules)
    flat = " ".join(section.split())
    for name in listed:
        help_text = " ".join(importlib.import_module(f"tfcourse.commands.{name}").HELP.split())
        assert f"{name} {help_text}" in flat, name


def test_info_reports_versions_and_verified_data():
    result = tfcourse("info")
    assert result.returncode == 0, result.stderr
    import tensorflow as tf

    lines = result.stdout.splitlines()
    assert f"tensorflow  {tf.__version__}" in lines and "xla         available" in lines
    data = next(line for line in lines if line.startswith("data "))
    assert data.endswith(f"the {len(locate.FILES)} MNIST files verified (SHA-256 ok)"), lines


def test_data_check_fails_on_missing_files(tmp_path):
    result = tfcourse("data", "--input_data_dir", str(tmp_path))
    assert result.returncode == 1
    assert result.stdout.count("missing") == 4


def test_misuse_exits_2_with_one_line():
    for args in (["nonsense"], ["info", "--bogus"], []):
        result = tfcourse(*args)
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr
    bogus = tfcourse("info", "--bogus")
    assert bogus.stderr.strip().count("\n") == 0
    assert "unrecognized arguments: --bogus" in bogus.stderr

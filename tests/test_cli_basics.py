import os
import subprocess
import sys

from conftest import REPO


def tfcourse(*args, env=None):
    return subprocess.run([sys.executable, "-m", "tfcourse", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})}, cwd=REPO)


def test_help_lists_subcommands():
    result = tfcourse("--help")
    assert result.returncode == 0
    assert "info" in result.stdout and "data" in result.stdout


def test_info_reports_versions_and_verified_data():
    result = tfcourse("info")
    assert result.returncode == 0, result.stderr
    import tensorflow as tf

    assert f"tensorflow  {tf.__version__}" in result.stdout
    assert "xla         available" in result.stdout
    assert result.stdout.count("   ok") == 4


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

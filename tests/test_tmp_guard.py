"""The session check of tests/tmp_guard.py catches a stray write, and only a stray write.

Each case runs a real inner pytest session in a subprocess whose TMPDIR is a new empty folder
(what .ci/run gives the real suite), with the guard loaded by a conftest as in tests/.
"""

import os
import subprocess
import sys

import pytest
from conftest import REPO

TESTS = REPO / "tests"


def _inner_session(tmp_path, body, mode=0o700):
    project = tmp_path / "project"
    project.mkdir()
    (project / "conftest.py").write_text(
        f"import sys\nsys.path.insert(0, {str(TESTS)!r})\n"
        "from tmp_guard import pytest_sessionfinish, pytest_sessionstart  # noqa: F401\n")
    (project / "test_inner.py").write_text(
        "import os\nimport tempfile\n\nfrom tfcourse import settings\n\n\n"
        f"def test_writes(tmp_path):\n{body}\n")
    fresh_tmp = tmp_path / "tmp"
    fresh_tmp.mkdir()
    fresh_tmp.chmod(mode)
    env = dict(os.environ, TMPDIR=str(fresh_tmp), PYTHONPATH=str(REPO))
    env.pop("TFCOURSE_RUNS", None)
    # The inner basetemp lives inside fresh_tmp, as pytest's own does in a CI run.
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(project)],
                            capture_output=True, text=True, env=env, cwd=project, timeout=120)
    return result, fresh_tmp


@pytest.mark.parametrize("body", [
    "    (tmp_path / 'mine.txt').write_text('x')",
    "    open(os.path.join(settings.runs_dir(), 'run.txt'), 'w').close()",
    "    import shutil\n    shutil.rmtree(tempfile.mkdtemp(prefix='scratch-'))",
], ids=["tmp_path", "run-folder", "mkdtemp-removed"])
def test_writes_in_allowed_places_pass(tmp_path, body):
    result, _ = _inner_session(tmp_path, body)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "written outside" not in result.stdout


def test_a_stray_write_fails_the_session_and_is_named(tmp_path):
    result, fresh_tmp = _inner_session(
        tmp_path, "    os.makedirs(os.path.join(tempfile.gettempdir(), 'tfcourse', 'notebook04'))")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 passed" in result.stdout  # the test itself passed: the session check failed it
    assert f"written outside the tests' own folders and the run folder: {fresh_tmp / 'tfcourse'}" in result.stdout


def test_in_a_shared_tmp_a_new_entry_is_only_reported(tmp_path):
    # /tmp-like (1777): another user's program may have made it, so the session passes.
    result, fresh_tmp = _inner_session(tmp_path, "    open(os.path.join(tempfile.gettempdir(), 'x'), 'w').close()",
                                       mode=0o1777)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"note: new in the shared temp directory during this session (maybe other programs'): {fresh_tmp / 'x'}" \
        in result.stdout

"""Fails the pytest session when a test or notebook wrote outside its own folder.

Every test writes under its tmp_path (pytest's basetemp) or a folder it makes with mkdtemp and
removes; the course's code writes under the user's run folder (tfcourse.settings.runs_dir).
At the end of the session any other new entry at the top of the temp directory is a stray
write: the session exits non-zero naming it, since the next run on that machine (or another
student's) could come to depend on it.

Strict only when the temp directory is private (not writable by other users: .ci/run gives
pytest a new one from mktemp -d): in a shared /tmp other users' programs come and go during a
session, so there it only reports.
Imported by tests/conftest.py (hooks are found by name in a conftest's namespace).
"""

import fnmatch
import os
import stat
import tempfile

import pytest

# Created by TensorFlow and TensorBoard themselves, not by a path the course chooses:
# AutoGraph writes its generated code there and removes it at interpreter exit, which a
# kernel shut down by nbval or a run killed on purpose by a fault test never reaches;
# every TensorBoard server registers itself in .tensorboard-info (for the %tensorboard magic).
THIRD_PARTY = ("__autograph_generated_file*.py", ".tensorboard-info")

_KEY = pytest.StashKey[tuple]()


def _top_entry(path, tmp):
    """The name of the entry of `tmp` that holds `path`, or None when `path` is elsewhere."""
    relative = os.path.relpath(os.path.realpath(path), os.path.realpath(tmp))
    return None if relative.startswith("..") else relative.split(os.sep)[0]


def pytest_sessionstart(session):
    tmp = tempfile.gettempdir()
    private = not os.stat(tmp).st_mode & stat.S_IWOTH
    session.stash[_KEY] = (tmp, set(os.listdir(tmp)), private)


def pytest_sessionfinish(session, exitstatus):
    from tfcourse import settings

    tmp, before, strict = session.stash.get(_KEY, (None, None, False))
    if tmp is None:
        return
    allowed = {_top_entry(str(session.config._tmp_path_factory.getbasetemp()), tmp),
               _top_entry(os.environ.get(settings.RUNS_ENV) or settings.default_runs_dir(), tmp)}
    stray = sorted(name for name in set(os.listdir(tmp)) - before - allowed
                   if not any(fnmatch.fnmatch(name, pattern) for pattern in THIRD_PARTY))
    if not stray:
        return
    where = ", ".join(os.path.join(tmp, name) for name in stray)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if strict:
        message = f"FAILED: written outside the tests' own folders and the run folder: {where}"
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        message = f"note: new in the shared temp directory during this session (maybe other programs'): {where}"
    if reporter:
        reporter.ensure_newline()
        reporter.write_line(message, red=strict)
    else:
        print(message)

"""Each user's own run folder: the CLI, notebooks and `tfcourse tensorboard` write only there.

The second user is `nobody` (uid 65534), played by a forked child that drops root's rights
with os.setuid: the course's Python lives under /root here, so a separate `nobody` process
could not even start it. The child works in the shared folder through relative paths
(chdir before setuid), since pytest's basetemp is not traversable by other users.
"""

import os
import stat
import subprocess
import sys
import tempfile

import pytest
from conftest import REPO

from tfcourse import settings
from tfcourse.errors import CourseError

OTHER_UID = 65534  # nobody

needs_root = pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0,
                                reason="needs root to act as a second user")


def _as_other_user(shared, action):
    """Runs `action()` in a child with uid/gid OTHER_UID, cwd `shared`, tempdir `.`; returns its result line."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        status = 1
        try:
            os.close(read_end)
            os.chdir(shared)
            os.setgroups([])
            os.setgid(OTHER_UID)
            os.setuid(OTHER_UID)
            tempfile.tempdir = "."
            os.write(write_end, str(action()).encode())
            status = 0
        except BaseException as e:  # reported to the parent, which fails the test with it
            os.write(write_end, f"ERROR {type(e).__name__}: {e}".encode())
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end) as f:
        answer = f.read()
    os.waitpid(pid, 0)
    return answer


@pytest.fixture
def shared_tmp(tmp_path, monkeypatch):
    """A world-writable sticky folder, like /tmp, used as this process's temp dir."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    monkeypatch.setattr(tempfile, "tempdir", str(shared))
    monkeypatch.delenv(settings.RUNS_ENV, raising=False)
    return shared


@needs_root
def test_two_users_get_different_private_run_folders(shared_tmp):
    mine = settings.runs_dir()  # created first, as on a lab server where one student starts early
    theirs = _as_other_user(shared_tmp, settings.runs_dir)
    assert not theirs.startswith("ERROR"), theirs
    theirs = shared_tmp / theirs
    assert mine == str(shared_tmp / f"tfcourse-{os.getuid()}") and theirs == shared_tmp / f"tfcourse-{OTHER_UID}"
    for path, uid in ((mine, os.getuid()), (theirs, OTHER_UID)):
        info = os.lstat(path)
        assert info.st_uid == uid and stat.S_IMODE(info.st_mode) == 0o700, (path, info)
    # The second user's notebook folder lands in their own run folder too.
    notebook = _as_other_user(shared_tmp, lambda: settings.notebook_dir("04"))
    assert notebook == os.path.join(".", f"tfcourse-{OTHER_UID}", "notebook04"), notebook


@needs_root
def test_a_folder_of_another_user_is_never_written_into(shared_tmp):
    # The other user got there first and created the folder that is this user's default.
    my_uid = os.getuid()
    created = _as_other_user(shared_tmp, lambda: os.mkdir(f"tfcourse-{my_uid}", 0o777))
    assert not created.startswith("ERROR"), created
    squatted = shared_tmp / f"tfcourse-{os.getuid()}"
    assert squatted.stat().st_uid == OTHER_UID
    with pytest.raises(CourseError, match=rf"{squatted} belongs to another user .*set TFCOURSE_RUNS"):
        settings.runs_dir()
    env = dict(os.environ, TMPDIR=str(shared_tmp), PYTHONPATH=str(REPO))
    env.pop(settings.RUNS_ENV, None)
    result = subprocess.run([sys.executable, "-m", "tfcourse", "train", "--fake_data", "--max_steps", "5"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"tfcourse train: error: the run folder {squatted} belongs to another user (uid {OTHER_UID}); "
        "set TFCOURSE_RUNS to a folder of your own"]
    assert list(squatted.iterdir()) == []


@needs_root
def test_a_symlink_planted_by_another_user_is_refused(shared_tmp, tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir()
    link = shared_tmp / f"tfcourse-{os.getuid()}"
    link.symlink_to(target)
    os.lchown(link, OTHER_UID, OTHER_UID)
    with pytest.raises(CourseError, match="is not a directory|belongs to another user"):
        settings.runs_dir()
    assert list(target.iterdir()) == []


def test_the_env_var_moves_every_default(tmp_path, monkeypatch):
    runs = tmp_path / "my-runs"
    monkeypatch.setenv(settings.RUNS_ENV, str(runs))
    assert settings.default_log_dir() == str(runs / "mnist" / "logs")
    assert stat.S_IMODE(runs.stat().st_mode) == 0o700
    stale = runs / "notebook05" / "ckpt-7.index"
    stale.parent.mkdir()
    stale.write_bytes(b"left by an earlier run")
    assert settings.notebook_dir("05") == str(runs / "notebook05")
    assert list(stale.parent.iterdir()) == []  # each notebook run starts empty


def test_info_prints_the_run_folder(tmp_path):
    env = dict(os.environ, TFCOURSE_RUNS=str(tmp_path / "runs"), PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-m", "tfcourse", "info"], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"runs        {tmp_path / 'runs'} ($TFCOURSE_RUNS overrides)" in result.stdout.splitlines()


def test_tensorboard_looks_in_the_run_folder_by_default(tmp_path):
    env = dict(os.environ, TFCOURSE_RUNS=str(tmp_path / "runs"), PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-m", "tfcourse", "tensorboard"], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"tfcourse tensorboard: error: log directory '{tmp_path / 'runs' / 'mnist' / 'logs'}'"
                                     " does not exist; expected the --log_dir a `tfcourse train` run wrote to")

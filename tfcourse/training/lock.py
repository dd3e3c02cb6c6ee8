"""One writer per run directory: an advisory lock so two runs never interleave their files.

Two `tfcourse train` processes pointed at the same --log_dir/--run_name would otherwise
clear each other's event files and publish each other's checkpoints in turn. The first
run takes an exclusive `fcntl.flock` on `<run dir>/.tfcourse.lock` and writes its PID
there; a second run is refused with a one-line error naming that PID. The kernel drops a
flock when its process dies however it dies (SIGKILL included), so a lock file left by a
dead run never blocks the next one: only a live holder does.
"""

import errno
import fcntl
import os

from tfcourse.errors import CourseError

LOCK_NAME = ".tfcourse.lock"


class RunLock:
    """An exclusive lock on `directory` held by this process until `release()`.

    Raises CourseError naming the holder's PID when another live process holds it.
    """

    def __init__(self, directory):
        self.directory = str(directory)
        self.path = os.path.join(self.directory, LOCK_NAME)
        self._fd = None
        try:
            os.makedirs(self.directory, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise CourseError(f"cannot write the run directory {self.directory}: {e.strerror}; "
                              "choose a writable --log_dir") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            holder = holder_pid(self.directory)
            who = f"pid {holder}" if holder else "another process"
            raise CourseError(
                f"{self.directory} is in use by another training run ({who}); wait for it to finish, "
                "stop it, or choose another --run_name/--log_dir") from None
        # The PID is written only while holding the lock, so a reader sees the holder's.
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self):
        """Drops the lock (the file stays: removing it could race with a new holder)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


def holder_pid(directory):
    """The PID last written to `directory`'s lock file, or None (no file, or empty)."""
    try:
        with open(os.path.join(str(directory), LOCK_NAME)) as f:
            text = f.read().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None

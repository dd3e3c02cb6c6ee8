"""The confinement `tfcourse grade` runs each submission's kernel in: bubblewrap plus rlimits.

Why bubblewrap (Debian's `bubblewrap`, the sandbox Flatpak uses) rather than a container or
`unshare`: it builds the kernel's whole view of the machine from an empty root with one
command line, needs no daemon and no image, and works for a teacher without root (through a
user namespace) as well as for root. Each kernel gets
  * new network, PID, IPC and UTS namespaces: no network at all (not even the host's
    127.0.0.1), no view of the grader's or any other process, nothing to signal but itself;
  * a root holding only /usr, /etc and the Python that runs the kernel, read-only, the
    `tfcourse` package and its MNIST files, read-only, and a new /home/student and /tmp
    (tmpfs, `disk` bytes each): the other submissions, the teacher's files and the
    gradebook are not in it;
  * when the grader runs as root, the uid of `nobody` (setpriv drops every capability);
    otherwise the teacher's own uid, mapped in a user namespace;
  * rlimits (prlimit): address space (memory), CPU seconds, processes, file size, open files,
    and no core files; `nice` keeps the machine responsive while a submission spins;
  * --die-with-parent and its own PID namespace: when the grader kills the sandbox's process
    group at the time limit, the namespace's init dies and the kernel kills every process left
    in it, even one a submission started in a new session.
The kernel talks to the grader over Unix sockets (Jupyter's "ipc" transport) in a folder bound
into the sandbox: TCP to the grader would need the network the sandbox does not have.
"""

import dataclasses
import json
import os
import pathlib
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile

from tfcourse.errors import CourseError

HOME = "/home/student"
INSTALL_HINT = ("grading runs each notebook in a sandbox and needs bubblewrap: run "
                "scripts/install_sandbox.sh (apt-get install bubblewrap), or pass --no-sandbox to run "
                "the notebooks with your own permissions")
# Passed into the kernel; everything else of the teacher's environment (tokens, paths) stays out.
PASSED_ENV = ("TFCOURSE_SMOKE", "TF_CPP_MIN_LOG_LEVEL", "LANG")


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one notebook's kernel may use.

    Attributes:
      memory: bytes of address space per process (TensorFlow alone maps ~2 GB).
      cpu_seconds: CPU seconds per process (the wall-clock budget is the grader's timeout).
      processes: processes and threads of the sandbox's user (TensorFlow starts dozens of threads).
      disk: bytes of each of the sandbox's /home/student and /tmp; also the largest file.
      open_files: file descriptors per process.
    """
    memory: int = 8 << 30
    cpu_seconds: int = 1200
    processes: int = 1024
    disk: int = 1 << 30
    open_files: int = 1024


def bwrap_path():
    """The bubblewrap executable, or CourseError with the one line that says how to install it."""
    path = shutil.which("bwrap")
    if path is None:
        raise CourseError(INSTALL_HINT)
    # A kernel or container that forbids namespaces makes bwrap fail at every start: say so now.
    probe = subprocess.run([path, "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid", "--", sys.executable, "-c", ""],
                           capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        why = (probe.stderr.strip().splitlines() or [f"exit status {probe.returncode}"])[-1]
        raise CourseError(f"bubblewrap cannot create a sandbox here ({why}); grade on a machine that "
                          "allows namespaces, or pass --no-sandbox to run the notebooks with your own permissions")
    return path


def _sandbox_uid():
    """(uid, gid) the kernel runs as: nobody's when the grader is root, else None (the teacher's)."""
    if os.getuid() != 0:
        return None
    try:
        entry = pwd.getpwnam("nobody")
        return entry.pw_uid, entry.pw_gid
    except KeyError:
        return 65534, 65534


def _read_only(path):
    """bwrap arguments showing `path` read-only at the same place (a symlink stays a symlink)."""
    if os.path.islink(path):
        return ["--symlink", os.readlink(path), path]
    return ["--ro-bind", path, path] if os.path.exists(path) else []


def package_root():
    """The folder holding the `tfcourse` package the grader imports (what the kernel must import too)."""
    import tfcourse
    return str(pathlib.Path(tfcourse.__file__).resolve().parent.parent)


# A Unix socket's path holds at most 107 bytes (sun_path); the kernel's are <folder>/kernel-<n>.
SOCKET_PATH_MAX = 107


def socket_dir(root):
    """A new empty folder for the kernel's connection file and sockets.

    `root`/ipc, unless that path is too long for a Unix socket (a deep TMPDIR: a CI's, macOS's
    /var/folders/...), where ZeroMQ would fail with "File name too long": then a new private
    folder under /tmp.

    Returns:
      (path, remove): `remove` is True when the caller must delete the /tmp folder afterwards.
    """
    path = os.path.join(root, "ipc")
    if len(os.fsencode(path)) + len("/kernel-65535") <= SOCKET_PATH_MAX:
        os.mkdir(path)
        return path, False
    return tempfile.mkdtemp(prefix="tfcourse-ipc-", dir=os.path.join(os.sep, "tmp")), True


def command(kernel_argv, ipc_dir, limits, bwrap=None):
    """The argv that starts `kernel_argv` confined (see the module docstring).

    Args:
      kernel_argv: the kernel's own command, e.g. [python, "-m", "ipykernel_launcher", "-f", file].
      ipc_dir: the folder of the connection file and the kernel's sockets, bound read-write.
      limits: a Limits.
      bwrap: the bubblewrap executable (default: `bwrap_path()`).
    """
    root = package_root()
    args = [bwrap or bwrap_path(), "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--hostname", "sandbox"]
    for path in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc"):
        args += _read_only(path)
    args += ["--proc", "/proc", "--dev", "/dev", "--perms", "0755", "--dir", "/home"]
    for path in (HOME, "/tmp", "/dev/shm"):
        args += ["--perms", "1777", "--size", str(limits.disk), "--tmpfs", path]
    # The Python the kernel runs (a venv and the interpreter it points at, e.g. under /root/.pyenv),
    # and the package, not its checkout: a teacher's submissions may well sit in that checkout.
    executable = shutil.which(kernel_argv[0]) or kernel_argv[0]
    prefixes = {sys.prefix, sys.base_prefix, os.path.realpath(sys.base_prefix),
                str(pathlib.Path(os.path.realpath(executable)).parent.parent)}
    shown = sorted(p for p in prefixes if not p.startswith("/usr/"))
    shown += [os.path.join(root, "tfcourse"), os.path.join(root, "data", "mnist")]
    shown = [path for path in shown if os.path.exists(path)]
    # bwrap makes the folders above a bound path mode 0700 (root's), which nobody cannot cross.
    parents = {str(parent) for path in shown + [ipc_dir] for parent in pathlib.Path(path).parents}
    for parent in sorted(parents - {"/", "/tmp", "/home"}, key=lambda p: p.count("/")):
        args += ["--perms", "0755", "--dir", parent]
    for path in shown:
        args += _read_only(path)
    args += ["--bind", ipc_dir, ipc_dir, "--chdir", HOME, "--"]
    identity = _sandbox_uid()
    if identity is not None:
        uid, gid = identity
        args += ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--inh-caps=-all",
                 "--bounding-set=-all", "--"]
    args += ["prlimit", f"--as={limits.memory}", f"--cpu={limits.cpu_seconds}", f"--nproc={limits.processes}",
             f"--fsize={limits.disk}", f"--nofile={limits.open_files}", "--core=0", "--",
             "nice", "-n", "10"]
    kernel_argv = list(kernel_argv)
    if any("ipykernel" in arg for arg in kernel_argv):
        # ipykernel exits when its parent looks like init, and in the PID namespace its parent is
        # bwrap's pid 1; --die-with-parent already ends the kernel with the grader.
        kernel_argv.append("--IPKernelApp.parent_handle=1")
    return args + kernel_argv


def kernel_env(smoke):
    """The kernel's whole environment: a path, a home, a temp dir, the package, the smoke switch."""
    env = {name: os.environ[name] for name in PASSED_ENV if name in os.environ}
    env.setdefault("LANG", "C.UTF-8")
    path = os.pathsep.join(dict.fromkeys([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]))
    env.update(HOME=HOME, TMPDIR="/tmp", PATH=path, PYTHONPATH=package_root(), MPLBACKEND="agg")
    if smoke:
        env["TFCOURSE_SMOKE"] = "1"
    return env


def kernel_manager_class(*, ipc_dir, limits, bwrap):
    """A jupyter_client kernel manager class whose kernel starts inside `command(...)`, connected
    through Unix sockets in `ipc_dir` (an empty folder under the grader's private temp dir)."""
    from jupyter_client.manager import AsyncKernelManager

    identity = _sandbox_uid()
    if identity is not None:  # nobody creates the sockets and reads the connection file
        os.chown(ipc_dir, *identity)

    class SandboxKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            super().__init__(transport="ipc", ip=os.path.join(ipc_dir, "kernel"),
                             connection_file=os.path.join(ipc_dir, "connection.json"), **kwargs)

        def write_connection_file(self, **kwargs):
            super().write_connection_file(**kwargs)
            if identity is not None:
                os.chown(self.connection_file, *identity)

        def format_kernel_cmd(self, extra_arguments=None):
            return command(super().format_kernel_cmd(extra_arguments), ipc_dir, limits, bwrap)

    return SandboxKernelManager


def kill_group(kernel_manager):
    """SIGKILL to the kernel's process group (the sandbox's: its PID namespace dies with it)."""
    provisioner = getattr(kernel_manager, "provisioner", None)
    pgid = getattr(provisioner, "pgid", None)
    if pgid:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def capped_client_class():
    """nbclient's NotebookClient keeping at most `max_output` bytes of outputs (a keyword of its
    constructor): past that it kills the kernel's process group, since an endless print would
    otherwise fill the grader's memory. `over_limit` tells afterwards whether it did."""
    from nbclient import NotebookClient

    class CappedClient(NotebookClient):
        def __init__(self, *args, max_output, **kwargs):
            super().__init__(*args, **kwargs)
            self.max_output, self.output_bytes, self.over_limit = max_output, 0, False

        def output(self, outs, msg, display_id, cell_index):
            if self.over_limit:
                return None
            out = super().output(outs, msg, display_id, cell_index)
            if out is not None:
                self.output_bytes += len(json.dumps(out))
                if self.output_bytes > self.max_output:
                    self.over_limit = True
                    outs.remove(out)
                    kill_group(self.km)
            return out

    return CappedClient

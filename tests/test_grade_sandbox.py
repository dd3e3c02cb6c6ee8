"""A hostile class graded by the real `tfcourse grade` in its bubblewrap sandbox.

One command grades ten submissions that each attack the grader in their first exercise cell
(a memory bomb, a fork bomb, a disk filler, an endless print, a connection to a server on the
host's 127.0.0.1, reading a sibling submission and the teacher's gradebook, writing into the
installed tfcourse, killing the grader, sleeping past the time limit while a detached child
keeps running, a forged "passed" record), then a solved notebook, which must still score 4/4.
The hostile notebooks hold only the exercises' setup cell and q1's cell (no TensorFlow), so
each costs a kernel start; small limits keep the bombs small. While the command runs, a
thread of this process measures how late its 0.1 s sleeps wake up: the machine stays responsive.
"""

import json
import os
import pathlib
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time

import nbformat
import pytest
from conftest import REPO

from tfcourse.exercises import cells, nb03

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap: scripts/install_sandbox.sh")

TIMEOUT = 50       # seconds per notebook: the solved one needs 17-30 s on a 2-core machine at load 15
MEMORY_MB = 3072   # TensorFlow maps ~2.1 GB of address space; the memory bomb gets the rest
PROCESSES = 96 + 4 * os.cpu_count()  # TensorFlow's threads (~3 per core) fit; the fork bomb stops there
DISK_MB = 64
OUTPUT_MB = 1
SECRET = secrets.token_hex(8)   # in the sibling's and the gradebook's text: it must not reach a grade


def hostile_cases(tmp_path, port, sleep_marker):
    """{file name: q1's cell source}; each leaves `my_loss` undefined, so q1 is never "passed"."""
    sibling, gradebook = tmp_path / "good.ipynb", tmp_path / "grades-last-week.csv"
    planted = pathlib.Path(cells.__file__).with_name("planted_by_student.py")
    return {
        "memory_bomb.ipynb": "chunks = []\nwhile True:\n    chunks.append(b'x' * (64 << 20))\n",
        "fork_bomb.ipynb": "import os\nwhile True:\n    os.fork()\n",
        "disk_filler.ipynb": ("import itertools\nfor n in itertools.count():\n"
                              "    with open(f'/tmp/fill{n}', 'wb') as f:\n"
                              "        for _ in range(16):\n            f.write(b'x' * (1 << 20))\n"),
        "endless_print.ipynb": "while True:\n    print('x' * 1000)\n",
        "network.ipynb": (f"import socket\nconnection = socket.create_connection(('127.0.0.1', {port}), timeout=5)\n"
                          "connection.sendall(b'hello from a submission')\n"),
        "read_others.ipynb": (f"stolen = open({str(sibling)!r}).read()[-2000:] + open({str(gradebook)!r}).read()\n"
                              "raise RuntimeError(stolen)\n"),
        "write_tfcourse.ipynb": f"open({str(planted)!r}, 'w').write('print(\"planted\")')\n",
        "kill_grader.ipynb": ("import os, signal\n"
                              "for pid in [p for p in os.listdir('/proc') if p.isdigit()]:\n"
                              "    try:\n"
                              "        if b'tfcourse\\0grade' in open(f'/proc/{pid}/cmdline', 'rb').read():\n"
                              "            os.kill(int(pid), signal.SIGKILL)\n"
                              "    except OSError:\n        pass\n"
                              "os.kill(os.getppid(), signal.SIGKILL)\n"),
        "sleeper.ipynb": (f"import subprocess, time\nsubprocess.Popen(['sleep', '{sleep_marker}'], start_new_session=True)\n"
                          "time.sleep(3600)\n"),
        "forged_record.ipynb": ("from IPython.display import display\n"
                                "display({'application/vnd.tfcourse.exercise+json': {'format': 1, 'exercise': 'nb03.q1',\n"
                                "         'event': 'check', 'status': 'passed', 'mistake': None, 'message': 'well done.'},\n"
                                "         'text/plain': '[passed] Correct'}, raw=True)\n"),
    }


def tiny_notebook(q1_source):
    """The exercises' setup cell (without TensorFlow's import) and q1's cell."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("from tfcourse.exercises import nb03 as ex",
                                  metadata={"tags": [cells.SECTION_TAG, cells.SETUP_TAG]}),
        nbformat.v4.new_code_cell(q1_source, metadata={"tags": [cells.SECTION_TAG, "exercise:q1"]})]
    return notebook


def processes_with(text):
    """Pids of the processes whose command line holds `text`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if text.encode() in pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" "):
                found.append(int(pid))
        except OSError:
            pass
    return found


class Listener:
    """A TCP server on the host's 127.0.0.1 that records every connection it accepts."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port, self.accepted, self.running = self.server.getsockname()[1], [], True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                connection, address = self.server.accept()
            except OSError:
                continue
            self.accepted.append(address)
            connection.close()

    def close(self):
        self.running = False
        self.thread.join()
        self.server.close()


class Lateness:
    """How late a 0.1 s sleep of this process wakes up, at worst, while it runs."""

    def __init__(self):
        self.worst, self.running = 0.0, True
        self.thread = threading.Thread(target=self._measure, daemon=True)
        self.thread.start()

    def _measure(self):
        while self.running:
            start = time.monotonic()
            time.sleep(0.1)
            self.worst = max(self.worst, time.monotonic() - start - 0.1)

    def stop(self):
        self.running = False
        self.thread.join()


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("hostile_class")
    (tmp_path / "tmp").mkdir()
    notebook03 = nbformat.read(REPO / "notebooks" / "03_loss_and_training.ipynb", as_version=4)
    good = cells.solved_notebook(cells.exercise_section(notebook03), nb03)
    good.metadata["student_note"] = f"my answers, keep them secret: {SECRET}"
    nbformat.write(good, tmp_path / "good.ipynb")
    (tmp_path / "grades-last-week.csv").write_text(f"student,points\nalice,{SECRET}\n")
    listener, sleep_marker = Listener(), f"{secrets.randbelow(10**6) + 10**6}.25"
    cases = hostile_cases(tmp_path, listener.port, sleep_marker)
    for name, source in cases.items():
        nbformat.write(tiny_notebook(source), tmp_path / name)
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp"),
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    lateness = Lateness()
    start = time.monotonic()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "tfcourse", "grade", "--smoke", "--json", "-o", "grades.json", "--timeout", str(TIMEOUT),
             "--memory-mb", str(MEMORY_MB), "--processes", str(PROCESSES), "--disk-mb", str(DISK_MB),
             "--output-mb", str(OUTPUT_MB), *cases, "good.ipynb"],
            capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env, check=False)
    finally:
        lateness.stop()
        listener.close()
    seconds = time.monotonic() - start
    leftovers = processes_with(f"sleep {sleep_marker}")
    for pid in leftovers:
        os.kill(pid, 9)
    planted = pathlib.Path(cells.__file__).with_name("planted_by_student.py")
    planted_existed = planted.exists()
    planted.unlink(missing_ok=True)
    book = json.loads((tmp_path / "grades.json").read_text()) if result.returncode == 0 else {"notebooks": []}
    yield {"result": result, "book": {n["notebook"]: n for n in book["notebooks"]},
           "listener": listener, "leftovers": leftovers, "planted": planted_existed, "seconds": seconds,
           "lateness": lateness.worst, "tmp_path": tmp_path}


def q1(hostile_class, name):
    """(status, message, flag) of q1 in notebook `name`, and the notebook's note."""
    notebook = hostile_class["book"][name]
    first = notebook["exercises"][0]
    return first["status"], first["message"], first.get("flag"), notebook["note"] or ""


def test_the_whole_class_is_graded_and_the_solved_notebook_still_passes(hostile_class):
    result = hostile_class["result"]
    assert result.returncode == 0, result.stderr[-3000:]
    book = hostile_class["book"]
    assert list(book) == [*hostile_cases(pathlib.Path("."), 0, "0"), "good.ipynb"], result.stdout
    assert [e["status"] for e in book["good.ipynb"]["exercises"]] == ["passed"] * 4, book["good.ipynb"]
    for name, notebook in book.items():
        if name != "good.ipynb":
            assert notebook["passed"] == 0, (name, notebook)
    assert hostile_class["lateness"] < 10, f"a 0.1 s sleep woke {hostile_class['lateness']:.1f} s late"


def test_a_memory_bomb_hits_the_memory_limit(hostile_class):
    status, message, _, _ = q1(hostile_class, "memory_bomb.ipynb")
    assert (status, message) == ("error", "MemoryError")


def test_a_fork_bomb_hits_the_process_limit_and_leaves_nothing_running(hostile_class):
    status, message, _, note = q1(hostile_class, "fork_bomb.ipynb")
    assert status == "error", (message, note)
    assert "BlockingIOError" in message or "timed out" in message or "kernel died" in message, message
    assert not processes_with("ipykernel_launcher -f " + str(hostile_class["tmp_path"]))


def test_a_disk_filler_fills_only_its_own_small_tmpfs(hostile_class):
    status, message, _, _ = q1(hostile_class, "disk_filler.ipynb")
    assert status == "error" and message.startswith("OSError: [Errno 28] No space left on device"), message


def test_an_endless_print_is_cut_at_the_output_limit(hostile_class):
    status, message, _, note = q1(hostile_class, "endless_print.ipynb")
    assert status == "error" and f"more than the {OUTPUT_MB << 20} bytes of output" in message, message
    assert "ex.q1" not in note and "nb03.q1's cell" in note


def test_no_network_not_even_the_hosts_loopback(hostile_class):
    status, message, _, _ = q1(hostile_class, "network.ipynb")
    assert status == "error" and ("Connection refused" in message or "unreachable" in message), message
    assert hostile_class["listener"].accepted == []


def test_a_sibling_submission_and_the_gradebook_are_out_of_sight(hostile_class):
    status, message, _, _ = q1(hostile_class, "read_others.ipynb")
    assert status == "error" and message.startswith("FileNotFoundError: [Errno 2] No such file or directory"), message
    assert SECRET not in hostile_class["result"].stdout + json.dumps(hostile_class["book"])


def test_the_installed_tfcourse_is_read_only(hostile_class):
    status, message, _, _ = q1(hostile_class, "write_tfcourse.ipynb")
    assert status == "error" and "Read-only file system" in message, message
    assert not hostile_class["planted"]


def test_killing_the_grader_is_not_possible(hostile_class):
    # It sees no grader to kill, and its parent is the sandbox's init, which it may not signal;
    # the grader survived (the whole class is in the table) and so did this kernel.
    status, message, _, note = q1(hostile_class, "kill_grader.ipynb")
    assert (status, message, note) == ("error", "PermissionError: [Errno 1] Operation not permitted", "")


def test_sleeping_past_the_time_limit_stops_it_and_its_detached_child(hostile_class):
    status, message, _, note = q1(hostile_class, "sleeper.ipynb")
    assert (status, message) == ("error", f"timed out (the notebook's {TIMEOUT} s were spent)")
    assert note == f"stopped: the {TIMEOUT} s budget ran out in nb03.q1's cell"
    assert hostile_class["leftovers"] == [], "the detached `sleep` outlived its notebook"


def test_a_forged_passed_record_is_flagged_and_scores_nothing(hostile_class):
    status, message, flag, note = q1(hostile_class, "forged_record.ipynb")
    assert status == "not_attempted" and flag.startswith("forged record"), (status, message, flag)
    assert note == "flagged: forged check record in nb03.q1"

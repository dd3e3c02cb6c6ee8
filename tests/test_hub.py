"""The class's JupyterHub (deploy/jupyterhub) started by its own start command, used by three students.

Three system accounts are created for the test (and deleted after it) in a group of their own.
Two students log in through the hub's real login page in headless Chromium, open notebook 03
in their own JupyterLab and run its parameters cell, then a cell of their own that makes their
run folder; the third starts their server and runs a notebook's cells through the hub's REST
API and the kernel's websocket, with a token the teacher's service issued for them, and tries to
read the others' homes and run folders. Each run folder is the student's own; the hub's
SIGTERM stops the servers and the proxy.
"""

import asyncio
import json
import os
import pathlib
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest
from conftest import REPO
from test_browser_jupyterlab import CHROMIUM, CHROMIUM_ARGS, _accept_kernel_dialog, _free_port

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(os.geteuid() != 0, reason="the hub starts servers as system users: needs root"),
              pytest.mark.skipif(shutil.which("configurable-http-proxy") is None,
                                 reason="configurable-http-proxy is missing: scripts/install_hub.sh"),
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium is missing: scripts/install_browser.sh")]
pytest.importorskip("jupyterhub", reason="pip install 'tfcourse[hub]'")

NOTEBOOK = "03_loss_and_training.ipynb"
MAKE_RUN_FOLDER = "from tfcourse import settings\nprint('run folder:', settings.notebook_dir('03'))"


@pytest.fixture(scope="module")
def students(tmp_path_factory):
    """Three new accounts (name, password) in a new group, made by deploy/jupyterhub/add_students.sh;
    deleted with their homes afterwards."""
    tag = secrets.token_hex(3)
    group, names = f"tfct{tag}", [f"tfct{tag}{letter}" for letter in "abc"]
    roster = tmp_path_factory.mktemp("roster") / "students.txt"
    roster.write_text("# the test's class\n" + "".join(f"{name}\n" for name in names))
    try:
        made = subprocess.run(["bash", str(REPO / "deploy" / "jupyterhub" / "add_students.sh"), str(roster)],
                              env={**os.environ, "TFCOURSE_HUB_GROUP": group}, check=True, capture_output=True,
                              text=True)
        accounts = [tuple(line.split()) for line in made.stdout.splitlines()]
        assert [name for name, _ in accounts] == names, made.stdout
        yield group, accounts
    finally:
        for name in names:
            subprocess.run(["pkill", "-KILL", "-u", name], check=False, capture_output=True)
            subprocess.run(["userdel", "--remove", name], check=False, capture_output=True)
        subprocess.run(["groupdel", group], check=False, capture_output=True)


@pytest.fixture(scope="module")
def hub(students, tmp_path_factory):
    """The hub on 127.0.0.1, started by deploy/jupyterhub/start.sh; yields (url, service token, process)."""
    group, _ = students
    state = tmp_path_factory.mktemp("hub_state")
    port, token = _free_port(), secrets.token_hex(24)
    env = {**os.environ, "TFCOURSE_HUB_IP": "127.0.0.1", "TFCOURSE_HUB_PORT": str(port),
           "TFCOURSE_HUB_API_PORT": str(_free_port()), "TFCOURSE_HUB_PROXY_API_PORT": str(_free_port()),
           "TFCOURSE_HUB_GROUP": group, "TFCOURSE_HUB_STATE": str(state), "TFCOURSE_HUB_COURSE": str(REPO),
           "TFCOURSE_HUB_SERVICE_TOKEN": token, "TFCOURSE_HUB_PYTHON": sys.executable, "TFCOURSE_SMOKE": "1",
           "PYTHONPATH": str(REPO)}
    log = open(state / "hub.log", "w")
    process = subprocess.Popen(["bash", str(REPO / "deploy" / "jupyterhub" / "start.sh")], env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/hub/api/", timeout=2).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the hub did not start: {(state / 'hub.log').read_text()[-3000:]}")
                time.sleep(0.5)
        yield url, token, process, state
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def api(url, path, token, method="GET", body=None):
    request = urllib.request.Request(f"{url}{path}", method=method, headers={"Authorization": f"token {token}"},
                                     data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read()
        return response.status, json.loads(text) if text else None


async def execute(ws_url, token, code):
    """Runs `code` on a kernel's websocket; returns what it printed (stdout and errors)."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    connection = await websocket_connect(HTTPRequest(ws_url, headers={"Authorization": f"token {token}"}))
    msg_id = uuid.uuid4().hex
    await connection.write_message(json.dumps({
        "header": {"msg_id": msg_id, "username": "student", "session": uuid.uuid4().hex,
                   "msg_type": "execute_request", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True}}))
    printed = []
    while True:
        message = json.loads(await asyncio.wait_for(connection.read_message(), 120))
        if message.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind = message["msg_type"]
        if kind == "stream":
            printed.append(message["content"]["text"])
        elif kind == "error":
            printed.append(f"{message['content']['ename']}: {message['content']['evalue']}\n")
        elif kind == "status" and message["content"]["execution_state"] == "idle":
            connection.close()
            return "".join(printed)


def run_through_the_api(url, service_token, name, others, results):
    """The third student: a token the teacher's service issues, their server started through the
    hub's API, notebook 03's parameters cell and two cells of theirs run on a kernel's websocket."""
    try:
        api(url, f"/hub/api/users/{name}", service_token, "POST")     # the teacher registers the student
        _, issued = api(url, f"/hub/api/users/{name}/tokens", service_token, "POST",
                        {"note": "test", "expires_in": 600,
                         "scopes": [f"servers!user={name}", f"access:servers!user={name}"]})
        token = issued["token"]
        status, _ = api(url, f"/hub/api/users/{name}/server", token, "POST")
        assert status in (201, 202), status
        deadline = time.monotonic() + 120
        while True:
            try:
                api(url, f"/user/{name}/api/status", token)
                break
            except (urllib.error.HTTPError, OSError):
                assert time.monotonic() < deadline, "the API student's server did not start"
                time.sleep(1)
        _, notebook = api(url, f"/user/{name}/api/contents/{NOTEBOOK}", token)
        code_cells = [cell["source"] for cell in notebook["content"]["cells"] if cell["cell_type"] == "code"]
        _, kernel = api(url, f"/user/{name}/api/kernels", token, "POST", {"name": "python3"})
        ws_url = f"{url.replace('http', 'ws')}/user/{name}/api/kernels/{kernel['id']}/channels"
        snoop = "\n".join(f"try:\n    print(os.listdir({path!r}))\nexcept OSError as error:\n    print(type(error).__name__)"
                          for other in others for path in (f"/home/{other}", f"/home/{other}/tfcourse-runs"))
        results["outputs"] = [asyncio.run(execute(ws_url, token, code))
                              for code in (code_cells[1], MAKE_RUN_FOLDER, "import os\n" + snoop)]
    except BaseException as error:  # reported by the test thread
        results["error"] = error


def log_in_and_run(context, url, name, password):
    """Logs `name` in on the hub's login page; opens notebook 03; runs its parameters cell, then a
    new cell typed below it. Returns the page (its last cell still running)."""
    page = context.new_page()
    page.goto(f"{url}/hub/login", timeout=60_000)
    page.fill("#username_input", name)
    page.fill("#password_input", password)
    page.click("#login_submit")
    page.wait_for_url(f"**/user/{name}/lab**", timeout=120_000)
    page.goto(f"{url}/user/{name}/lab/tree/{NOTEBOOK}?reset", timeout=60_000)
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
    _accept_kernel_dialog(page)
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(timeout=90_000)
    page.locator(".jp-Notebook .jp-CodeCell .jp-InputArea-editor").nth(1).click()
    page.keyboard.press("Shift+Enter")                 # the parameters cell
    page.keyboard.press("Escape")
    page.keyboard.press("b")                           # a new cell below, as a student adds one
    page.keyboard.press("Enter")
    page.keyboard.type(MAKE_RUN_FOLDER)
    page.keyboard.press("Shift+Enter")
    return page


def test_three_students_work_in_their_own_servers_and_folders(hub, students, tmp_path):
    from playwright.sync_api import sync_playwright

    url, service_token, process, state = hub
    _, accounts = students
    (a, a_password), (b, b_password), (c, _) = accounts
    results = {}
    api_student = threading.Thread(target=run_through_the_api, args=(url, service_token, c, [a, b], results))
    api_student.start()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            pages = {name: log_in_and_run(browser.new_context(viewport={"width": 1400, "height": 1000}), url,
                                          name, password) for name, password in ((a, a_password), (b, b_password))}
            for name, page in pages.items():
                output = page.locator(".jp-OutputArea-output", has_text="run folder:")
                output.wait_for(timeout=120_000)
                assert output.inner_text().strip() == f"run folder: /home/{name}/tfcourse-runs/notebook03"
        finally:
            browser.close()
    api_student.join(180)
    assert "error" not in results, results.get("error")
    _, made, snooped = results["outputs"]
    assert made.strip() == f"run folder: /home/{c}/tfcourse-runs/notebook03"
    assert snooped.split() == ["PermissionError"] * 4, snooped
    for name in (a, b, c):
        user = pwd.getpwnam(name)
        for folder in (pathlib.Path(user.pw_dir), pathlib.Path(user.pw_dir) / "tfcourse-runs"):
            info = folder.stat()
            assert (info.st_uid, info.st_mode & 0o777) == (user.pw_uid, 0o700), folder
        assert (pathlib.Path(user.pw_dir) / "tfcourse-runs" / "notebook03").stat().st_uid == user.pw_uid
        assert (pathlib.Path(user.pw_dir) / "tfcourse" / NOTEBOOK).stat().st_uid == user.pw_uid

    # The teacher collects everyone's notebook 03 into submissions/<student>/, `tfcourse grade`'s layout.
    collected = subprocess.run(["bash", str(REPO / "deploy" / "jupyterhub" / "collect.sh"), NOTEBOOK,
                                str(tmp_path / "submissions")], env={**os.environ, "TFCOURSE_HUB_GROUP": students[0]},
                               check=True, capture_output=True, text=True)
    assert collected.stdout == f"collected {NOTEBOOK} from 3 students into {tmp_path / 'submissions'}\n"
    assert sorted(p.parent.name for p in (tmp_path / "submissions").glob(f"*/{NOTEBOOK}")) == sorted((a, b, c))

    # The hub stops cleanly: its servers and the proxy go with it.
    proxy_pid = int((state / "proxy.pid").read_text())
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0, (state / "hub.log").read_text()[-3000:]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        left = subprocess.run(["pgrep", "-u", ",".join((a, b, c))], capture_output=True, text=True).stdout.split()
        if not left and not os.path.exists(f"/proc/{proxy_pid}"):
            break
        time.sleep(0.5)
    assert left == [] and not os.path.exists(f"/proc/{proxy_pid}"), (left, proxy_pid)

"""Notebook 01 driven the way students meet it: JupyterLab in a real (headless) Chromium.

Starts JupyterLab with the README's own command (its notebook-command block) in a temporary
copy of the repository, checks the address the README names opens notebook 00 with no news
pop-up over it and no conftest.py among the lessons in the file browser, then opens
notebook 01, runs all cells from the Run menu with TFCOURSE_SMOKE=1, waits for the kernel
to go idle, then checks the digit grid rendered as a PNG and no cell shows an error.
A screenshot lands in $TFCOURSE_ARTIFACTS (default: the test's tmp_path/artifacts).
"""

import json
import os
import pathlib
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

pytestmark = pytest.mark.browser

REPO = pathlib.Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
RUN_TIMEOUT_S = int(os.environ.get("TFCOURSE_BROWSER_TIMEOUT", "240"))


def _require_chromium():
    if os.path.exists(CHROMIUM):
        return
    message = f"{CHROMIUM} is missing; run scripts/install_browser.sh (apt: chromium chromium-driver)"
    if os.environ.get("CI"):
        pytest.fail(message + " -- CI must not skip the browser test")
    pytest.skip(message)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _copy_repository(destination):
    ignore = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info", ".pytest_cache",
                                    ".ipynb_checkpoints", "artifacts", "runs", "logs")
    for name in ("tfcourse", "notebooks", "data", "jupyter", "conftest.py", "pyproject.toml"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=ignore)
        elif source.exists():
            shutil.copy2(source, destination / name)


def _notebook_under_test(root):
    found = sorted((root / "notebooks").glob("01_*.ipynb"))
    assert found, "notebooks/01_*.ipynb is missing"
    return found[0]


def _write_lab_settings(settings_dir):
    """Renders every cell (JupyterLab 4 otherwise skips off-screen cells). The news pop-up is left to
    the course's own settings (the README's `--config`): the test checks they keep it away."""
    settings = {"notebook-extension/tracker": {"windowingMode": "none"}}
    for name, values in settings.items():
        package, plugin = name.split("/")
        path = settings_dir / "@jupyterlab" / package / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def readme_lab_command():
    """The README's notebook-command after its last `&&`, with `.venv/bin` the venv running the tests."""
    text = (REPO / "README.md").read_text()
    match = re.search(r"<!-- notebook-command -->\s*```bash\n(.*?)\n```\s*<!-- /notebook-command -->", text, re.S)
    assert match, "README.md has no <!-- notebook-command --> block"
    words = shlex.split(match.group(1).split("&&")[-1])
    assert words[0] == ".venv/bin/jupyter" and words[1] == "lab", words
    return [str(pathlib.Path(sys.executable).parent / "jupyter")] + words[1:]


def readme_lab_address():
    """The address the README tells a student their browser opens, e.g. /lab/tree/00_setup.ipynb."""
    match = re.search(r"`http://localhost:8888(/lab/tree/\S+?)`", (REPO / "README.md").read_text())
    assert match, "README.md names no http://localhost:8888/lab/tree/... address"
    return match.group(1)


@pytest.fixture
def jupyter_lab(tmp_path):
    """Yields (base_url, token, repo_copy) of a running `jupyter lab`; stops it afterwards."""
    _require_chromium()
    root = tmp_path / "repo"
    root.mkdir()
    _copy_repository(root)
    port, token = _free_port(), secrets.token_hex(16)
    home = tmp_path / "jupyter"
    env = dict(os.environ, TFCOURSE_SMOKE="1", PYTHONPATH=str(root),
               JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"), IPYTHONDIR=str(home / "ipython"))
    _write_lab_settings(home / "settings")
    log = open(tmp_path / "jupyter.log", "w")
    # Only what a headless test needs is added to the README's command: no browser to open (Playwright's
    # Chromium opens the address instead), a free port instead of 8888 (another server may hold it), a
    # token the test knows (a student reads it from the terminal), no update check (no network in CI).
    proc = subprocess.Popen(
        readme_lab_command()
        + ["--no-browser", f"--port={port}", f"--IdentityProvider.token={token}",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        # CI containers run as root; Jupyter refuses that unless told.
        + (["--allow-root"] if os.geteuid() == 0 else []),
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not start: {(tmp_path / 'jupyter.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield base, token, root
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _accept_kernel_dialog(page):
    """Clicks Select on JupyterLab's "Select Kernel" dialog if it appears, as a student would."""
    accept = page.locator(".jp-Dialog .jp-mod-accept")
    try:
        accept.wait_for(timeout=10_000)
    except Exception:  # Playwright's TimeoutError: no dialog, the kernel started on its own.
        return
    accept.click()
    accept.wait_for(state="detached", timeout=10_000)


def _wait_until_run_finished(page, timeout_s):
    """Waits until some cell ran, no prompt shows [*] and the kernel reports idle."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        prompts = page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").all_inner_texts()
        status = page.locator(".jp-Notebook-ExecutionIndicator").first.get_attribute("data-status")
        started = any(re.search(r"\[\d+\]", p) for p in prompts)
        if started and not any("*" in p for p in prompts) and status == "idle":
            return prompts
        time.sleep(1.0)
    raise AssertionError(f"cells still running after {timeout_s}s: prompts={prompts} status={status}")


def test_notebook_01_runs_in_headless_chromium(jupyter_lab, tmp_path):
    from playwright.sync_api import sync_playwright

    base, token, root = jupyter_lab
    # `jupyter lab notebooks/00_setup.ipynb` serves the notebook's folder: paths are relative to it.
    notebook = _notebook_under_test(root).relative_to(root / "notebooks").as_posix()
    artifacts = pathlib.Path(os.environ.get("TFCOURSE_ARTIFACTS") or tmp_path / "artifacts")
    artifacts.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 1000})
        try:
            landing = context.new_page()
            landing.goto(f"{base}{readme_lab_address()}?token={token}", timeout=60_000)
            landing.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
            # The notebook shown in the main area is the one the README names.
            landing.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel",
                            has_text=re.compile("^" + re.escape(readme_lab_address().rsplit("/", 1)[1]) + "$")
                            ).wait_for(timeout=30_000)
            # What a student sees first: no "official Jupyter news?" pop-up over the lesson, and in the
            # file browser the lessons, not the test machinery (conftest.py stays at the repository's root).
            landing.locator(".jp-DirListing-item").first.wait_for(timeout=30_000)
            files = landing.locator(".jp-DirListing-item .jp-DirListing-itemText").all_inner_texts()
            assert "00_setup.ipynb" in files and "conftest.py" not in files, files
            time.sleep(5)  # JupyterLab asks about news a moment after start-up
            toasts = landing.locator(".Toastify__toast").all_inner_texts()
            assert not any("news" in toast.lower() for toast in toasts), toasts
            landing.close()

            page = context.new_page()
            # ?reset: a fresh workspace, so notebook 00 left open on the landing page is not restored.
            page.goto(f"{base}/lab/tree/{notebook}?reset&token={token}", timeout=60_000)
            page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
            _accept_kernel_dialog(page)
            page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(timeout=90_000)
            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
            page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
            try:
                prompts = _wait_until_run_finished(page, RUN_TIMEOUT_S)
            finally:
                page.screenshot(path=str(artifacts / "jupyterlab_notebook_01.png"), full_page=True)

            tracebacks = [t for t in page.locator(
                ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts()
                if re.search(r"Traceback|^\w*(Error|Exception)\b", t, re.M)]
            assert not tracebacks, f"a cell shows an error:\n{tracebacks[0][-2000:]}"
            assert all(re.search(r"\[\d+\]", p) for p in prompts), f"some cells never ran: {prompts}"
            images = page.locator(".jp-OutputArea-output img")
            sources = [images.nth(i).get_attribute("src") or "" for i in range(images.count())]
            assert any(s.startswith("data:image/png") for s in sources), f"no PNG output; img srcs: {sources}"
            width = page.locator(".jp-OutputArea-output img").first.evaluate("img => img.naturalWidth")
            assert width >= 200, f"the digit grid image is only {width}px wide"
        finally:
            context.close()

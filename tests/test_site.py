"""The course website, built with `tfcourse site` and read in a real (headless) Chromium.

One build into a temporary folder serves every test here: the home page leads to lesson 03,
whose figures load and whose exercises are on the page; the search finds the lesson that
teaches `GradientTape`; the API page of `tfcourse.mnist` documents `loss` with its signature;
every internal link and anchor resolves; no page names this machine's folders; the site
stays small. Pages are served over HTTP on 127.0.0.1, as a reader's browser gets them.
"""

import functools
import html.parser
import http.server
import os
import re
import subprocess
import sys
import threading
import urllib.parse

import pytest
from conftest import REPO

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MAX_SITE_MB = 40  # 25 MB today: the lessons' PNG figures and the theme's fonts are most of it


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    output = tmp_path_factory.mktemp("site")
    result = subprocess.run([sys.executable, "-m", "tfcourse", "site", "-o", str(output)], cwd=REPO,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "site built" in result.stdout
    return output


@pytest.fixture(scope="module")
def served(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing; run scripts/install_system.sh")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.console_errors = []
    page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    yield page
    page.close()


def test_home_leads_to_lesson_03_with_its_figures_and_exercises(served, page, tmp_path):
    page.goto(served + "/")  # the top-level index.html forwards to the home page
    page.wait_for_url("**/docs/index.html")
    assert "Run the course locally" in page.inner_text("main")
    page.click("nav >> text=03 · Loss and training")
    page.wait_for_load_state("load")
    assert page.url.endswith("/notebooks/03_loss_and_training.html")
    images = page.eval_on_selector_all("main img", "els => els.map(e => [e.naturalWidth, e.src])")
    assert len(images) >= 3 and all(width > 0 for width, _ in images), images  # every figure loaded
    main = page.inner_text("main")
    assert "Learning objectives" in main and "study time" in main.lower()
    exercises = page.locator("main section:has(> h2:text-matches('Exercises'))")
    assert exercises.count() == 1 and "ex.q1.check" in exercises.inner_text()
    # A launch menu and the notebook itself, for a reader who wants to run it.
    links = page.eval_on_selector_all("a", "els => els.map(e => e.href)")
    assert any("mybinder.org" in link for link in links) and any("colab.research.google.com" in link for link in links)
    assert any(link.endswith("03_loss_and_training.ipynb") for link in links)
    page.screenshot(path=str(tmp_path / "lesson03.png"), full_page=False)
    assert page.console_errors == []


def test_search_finds_the_lesson_that_teaches_gradient_tape(served, page):
    page.goto(served + "/search.html?q=GradientTape")
    page.wait_for_selector("#search-results li", timeout=60_000)
    titles = page.eval_on_selector_all("#search-results li a", "els => els.map(e => e.textContent)")
    assert any("03" in title and "Loss and training" in title for title in titles), titles
    assert page.console_errors == []


def test_the_api_page_of_mnist_documents_loss_with_its_signature(served, page, tmp_path):
    page.goto(served + "/docs/api/generated/tfcourse.mnist.html")
    signature = page.inner_text("dt#tfcourse\\.mnist\\.loss")
    assert signature.startswith("tfcourse.mnist.loss(") and "logits" in signature and "labels" in signature
    body = page.inner_text("dl.py.function:has(dt#tfcourse\\.mnist\\.loss) > dd")
    assert "Returns" in body  # the Google-style sections are rendered, not printed raw
    page.screenshot(path=str(tmp_path / "api_mnist.png"), full_page=False)
    assert page.console_errors == []


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attributes):
        attributes = dict(attributes)
        if "id" in attributes:
            self.ids.add(attributes["id"])
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
        if tag in ("img", "script") and attributes.get("src"):
            self.links.append(attributes["src"])
        if tag == "link" and attributes.get("href"):
            self.links.append(attributes["href"])


def _parse(path):
    parser = _Links()
    parser.feed(path.read_text(errors="replace"))
    return parser


def test_every_internal_link_and_anchor_resolves(site):
    # _static holds the theme's Jinja macro files (webpack-macros.html): templates, not pages.
    pages = {path: _parse(path) for path in site.rglob("*.html") if "_static" not in path.relative_to(site).parts}
    assert len(pages) > 50, len(pages)
    broken = []
    for path, parsed in pages.items():
        for link in parsed.links:
            parts = urllib.parse.urlsplit(link)
            if parts.scheme or link.startswith(("//", "mailto:", "javascript:")):
                continue  # the web: launch buttons, the repository, cited papers
            target = (path.parent / urllib.parse.unquote(parts.path)).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{path.relative_to(site)}: {link}")
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else _parse(target).ids
                if parts.fragment not in ids:
                    broken.append(f"{path.relative_to(site)}: {link} (no such anchor)")
    assert broken == [], "\n".join(broken[:40])


def test_no_page_names_this_machines_folders_and_the_site_is_small(site):
    home = os.path.expanduser("~")
    machine = [str(REPO), os.path.realpath(str(REPO)), home + "/"]
    offenders = [f"{path.relative_to(site)}: {needle}" for path in site.rglob("*.html")
                 for needle in machine if needle in path.read_text(errors="replace")]
    assert offenders == [], offenders[:20]
    assert not list(site.rglob("*.doctree")), "Sphinx's cache belongs outside the published site"
    size = sum(f.stat().st_size for f in site.rglob("*") if f.is_file())
    assert size < MAX_SITE_MB * 2**20, f"the site is {size / 2**20:.1f} MB"


def test_without_a_checkout_the_command_says_so_in_one_line(tmp_path):
    code = ("import pathlib, sys; from tfcourse import website; website.CHECKOUT = pathlib.Path(sys.argv[1]);"
            "from tfcourse.cli import main; sys.argv = ['tfcourse', 'site', '-o', sys.argv[1] + '/out'];"
            "sys.exit(main())")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=REPO, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines()[-1].endswith(
        "docs/conf.py does not exist (clone the repository and run this command there)"), result.stderr
    assert not (tmp_path / "out").exists()


def test_a_lessons_source_display_and_the_api_page_link_to_each_other(site):
    """`source.show(fn)` in a lesson links to fn's API page, which names that lesson back."""
    pairs = []
    for lesson in sorted((site / "notebooks").glob("[0-9][0-9]_*.html")):
        text = lesson.read_text()
        for href in re.findall(r'<div><code><a href="([^"]+)">tfcourse\.', text):
            page, _, anchor = href.partition("#")
            api = (lesson.parent / page).resolve()
            body = api.read_text()
            assert f'id="{anchor}"' in body, href
            assert f'href="../../../notebooks/{lesson.name}"' in body, f"{api.name} does not link back to {lesson.name}"
            pairs.append((lesson.name, anchor))
    assert len({lesson for lesson, _ in pairs}) >= 4, pairs  # lessons 03-06 and 09-10 show library code


def test_the_stored_solutions_hold_the_modules_solutions_and_every_check_passed():
    """docs/solutions/NN.ipynb is the lesson's exercise section, solved and run (scripts/store_solutions.py)."""
    import nbformat

    from tfcourse.exercises import cells

    lessons = [p for p in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
               if cells.exercise_ids(nbformat.read(p, as_version=4))]
    assert lessons
    for lesson in lessons:
        stored_path = REPO / "docs" / "solutions" / lesson.name
        assert stored_path.exists(), f"run: python scripts/store_solutions.py {lesson.name[:2]}"
        stored = nbformat.read(stored_path, as_version=4)
        expected = cells.solved_notebook(cells.exercise_section(nbformat.read(lesson, as_version=4)),
                                         cells.exercise_module(lesson))
        code = [c.source for c in expected.cells if c.cell_type == "code"]
        assert [c.source for c in stored.cells if c.cell_type == "code"] == code, \
            f"{stored_path.name} is stale: python scripts/store_solutions.py {lesson.name[:2]}"
        statuses = {key: record["status"] for key, record in cells.check_results(stored).items()}
        assert statuses == {key: "passed" for key in cells.exercise_ids(stored)}, (stored_path.name, statuses)


def test_a_solutions_page_shows_each_checks_feedback(site):
    html_text = (site / "docs" / "solutions" / "03_loss_and_training.html").read_text()
    text = re.sub(r"<[^>]+>", "", html_text)  # the code is highlighted: its words sit in separate spans
    assert text.count("Correct") >= 4 and "ex.q1.check(" in text and "ex.q4.check(" in text

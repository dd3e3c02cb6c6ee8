"""The README's commands are the real set-up: CI runs the test command verbatim."""

import re

from conftest import REPO


def _block(marker):
    text = (REPO / "README.md").read_text()
    match = re.search(rf"<!-- {marker} -->\s*```bash\n(.*?)\n```\s*<!-- /{marker} -->", text, re.S)
    assert match, f"README.md has no <!-- {marker} --> block"
    return match.group(1).strip()


def test_ci_runs_the_readme_test_command():
    ci_lines = [line for line in (REPO / ".ci/run").read_text().splitlines()
                if line.strip() and not line.startswith(("#", "set ", "cd "))]
    # The one line besides the README's: a new empty TMPDIR, so CI sees what a fresh machine sees.
    assert ci_lines == ['export TMPDIR="$(mktemp -d)"', _block("test-command")]


def test_main_command_installs_and_trains():
    command = _block("main-command")
    assert "pip install" in command and command.endswith("tfcourse train")

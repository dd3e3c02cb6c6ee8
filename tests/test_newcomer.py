"""A newcomer's path, end to end: clone -> the README's first command -> a trained model.

Copies the tracked files (what a `git clone` gets) to a temporary directory, then runs the
command the README shows between its two `<!-- main-command -->` lines, exactly, with
`bash -c`: it creates a fresh virtual environment, installs the project and trains. Nothing
from the developer's venv or PYTHONPATH leaks in; pip's cache keeps it to a few minutes.
"""

import os
import pathlib
import re
import shutil
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
MARKER = "<!-- main-command -->"


def main_command(readme_text):
    """The shell command between the README's two MARKER lines, code fences removed."""
    # The closing marker may be written <!-- main-command --> or <!-- /main-command -->.
    parts = re.split(r"<!-- /?main-command -->", readme_text)
    if len(parts) < 3:
        raise ValueError(f"README.md must wrap its first command in two '{MARKER}' lines")
    lines = [line for line in parts[1].strip().splitlines() if line.strip() and not line.startswith("```")]
    command = " ".join(line.rstrip("\\").strip() for line in lines)
    return re.sub(r"^\$\s*", "", command)


def test_main_command_is_read_between_markers():
    readme = f"intro\n{MARKER}\n```bash\npython3 -m venv .venv && \\\n  .venv/bin/tfcourse train\n```\n{MARKER}\nrest"
    assert main_command(readme) == "python3 -m venv .venv && .venv/bin/tfcourse train"
    closed = readme.replace(f"```\n{MARKER}", "```\n<!-- /main-command -->")
    assert main_command(closed) == "python3 -m venv .venv && .venv/bin/tfcourse train"
    with pytest.raises(ValueError, match="main-command"):
        main_command("no markers here")


def copy_tracked_files(destination):
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)


@pytest.mark.slow
def test_readme_first_command_trains_to_97_percent(tmp_path):
    command = main_command((REPO / "README.md").read_text())
    clone = tmp_path / "clone"
    copy_tracked_files(clone)
    # A newcomer's shell: none of the developer's venv, PYTHONPATH or smoke switch.
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "TFCOURSE_SMOKE", "TFCOURSE_DATA_DIR", "PYTHONHOME", "MPLBACKEND")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not p.startswith(os.environ.get("VIRTUAL_ENV") or "\0"))
    # A newcomer has no earlier runs: a private TMPDIR keeps the default log/checkpoint
    # folder (under the temp dir) from resuming or locking on another run's files.
    env["TMPDIR"] = str(tmp_path / "tmp")
    (tmp_path / "tmp").mkdir()
    result = subprocess.run(["bash", "-c", command], cwd=clone, env=env, capture_output=True,
                            text=True, timeout=1200)
    assert result.returncode == 0, f"`{command}` failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    assert (clone / ".venv" / "bin" / "python").exists(), "the README command made no .venv"
    final_line = result.stdout.strip().splitlines()[-1]
    match = re.search(r"test precision@1\D*([0-9]*\.[0-9]+)", final_line)
    assert match, f"final line does not report test precision@1: {final_line!r}"
    assert float(match.group(1)) >= 0.97, final_line

"""environment.yml (conda) and pyproject.toml (pip) must ask for the same packages."""

import re

import tomllib
import yaml
from conftest import REPO

_REQ = re.compile(r"^\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(.*?)\s*$")


def _parse(requirement):
    name, spec = _REQ.match(requirement).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def _pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in ("notebooks", "test", "docs"):
        requirements += project["optional-dependencies"][extra]
    return dict(_parse(r) for r in requirements)


def _environment():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    specs = {}
    for item in env["dependencies"]:
        for requirement in item["pip"] if isinstance(item, dict) else [item]:
            if requirement.startswith("-e"):
                continue
            name, spec = _parse(requirement)
            specs[name] = spec
    return specs


def test_same_packages_and_ranges():
    pyproject, environment = _pyproject(), _environment()
    environment.pop("pip")
    python = environment.pop("python")
    assert python == tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert pyproject == environment


def test_every_pin_is_commented():
    for line in (REPO / "environment.yml").read_text().splitlines():
        if re.match(r"^\s*-\s+[a-z].*[<>=]", line):
            assert "#" in line, f"pin without a comment: {line.strip()}"

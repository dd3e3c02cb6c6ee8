"""Security audit: no pickle on any data path, servers bound to 127.0.0.1 unless told otherwise.

Downloads verified by SHA-256 before use: tests/test_download.py
(test_corrupt_mirror_falls_back_and_leaves_nothing and the Range/truncation cases).
The served TensorBoard's real listening socket: tests/test_tensorboard_served.py.
"""

import ast
import inspect
import pathlib

import pytest

from conftest import REPO
from tfcourse import cli, tensorboard_server
from tfcourse.distribute import launch as launcher

# Every Python file that ships or that students run: the package, examples, benchmarks.
SOURCES = sorted(p for folder in ("tfcourse", "examples", "benchmarks") for p in (REPO / folder).rglob("*.py"))
UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}


def pickle_risks(source, filename="<source>"):
    """Lines of `source` that could unpickle: imports of pickle-like modules, np.load
    without allow_pickle=False, and yaml.load without an explicit Loader."""
    risks = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            risks += [f"{filename}:{node.lineno} imports {a.name}" for a in node.names
                      if a.name.split(".")[0] in UNSAFE_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in UNSAFE_MODULES:
            risks.append(f"{filename}:{node.lineno} imports from {node.module}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value.id if isinstance(node.func.value, ast.Name) else None
            keywords = {k.arg: k.value for k in node.keywords}
            if owner in ("np", "numpy") and node.func.attr == "load":
                flag = keywords.get("allow_pickle")
                if not (isinstance(flag, ast.Constant) and flag.value is False):
                    risks.append(f"{filename}:{node.lineno} np.load without allow_pickle=False")
            if owner == "yaml" and node.func.attr in ("load", "load_all") and "Loader" not in keywords:
                risks.append(f"{filename}:{node.lineno} yaml.{node.func.attr} without a safe Loader")
    return risks


def test_the_checker_finds_what_it_looks_for():
    risky = ("import pickle\nfrom joblib import load\nimport numpy as np\n"
             "np.load('a.npy')\nnp.load('b.npy', allow_pickle=True)\nyaml.load(text)\n")
    assert [r.split(" ", 1)[1] for r in pickle_risks(risky)] == [
        "imports pickle", "imports from joblib", "np.load without allow_pickle=False",
        "np.load without allow_pickle=False", "yaml.load without a safe Loader"]
    assert pickle_risks("import numpy as np\nnp.load('a.npz', allow_pickle=False)\n") == []


def test_no_pickle_on_any_data_path():
    assert len(SOURCES) > 40  # the walk really reaches the package
    risks = [r for path in SOURCES for r in pickle_risks(path.read_text(), str(path.relative_to(REPO)))]
    assert risks == []


def test_downloads_are_checked_against_pinned_sha256():
    from tfcourse.datasets import download, locate

    assert len(locate.SHA256) == 4 and all(len(h) == 64 for h in locate.SHA256.values())
    assert all(url.startswith("https://") for url in download.MIRRORS)


def test_tensorboard_binds_localhost_unless_told_otherwise(tmp_path):
    assert tensorboard_server.DEFAULT_HOST == "127.0.0.1"
    assert inspect.signature(tensorboard_server.start).parameters["host"].default == "127.0.0.1"
    argv = tensorboard_server.tensorboard_command(tmp_path)
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    parse = cli.build_parser("tensorboard").parse_args
    assert parse(["tensorboard", "--logdir", str(tmp_path)]).host == "127.0.0.1"
    assert parse(["tensorboard", "--logdir", str(tmp_path), "--host", "0.0.0.0"]).host == "0.0.0.0"


@pytest.mark.parametrize("chief_task", [False, True])
def test_launcher_cluster_addresses_are_localhost(chief_task):
    assert launcher.HOST == "127.0.0.1"
    ports = launcher.free_ports(3)
    cluster = launcher.cluster_spec(3, ports, chief_task)
    addresses = [a for task in cluster.values() for a in task]
    assert addresses == [f"127.0.0.1:{p}" for p in ports]
    assert inspect.signature(launcher.free_ports).parameters["host"].default == "127.0.0.1"
    assert inspect.signature(launcher.check_ports_free).parameters["host"].default == "127.0.0.1"

"""The package's shape (docs/architecture.md): one name one module, imports flowing one way.

Each rule is a function over a source tree, run on tfcourse/ and on a small tree planted
with the violation it must catch, so a rule that could never fail would fail here.
"""

import ast
import collections
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "tfcourse"
EXEMPT_NAMES = {"__init__.py", "__main__.py"}
# The command layer sits on top: it may import the library, never the other way.
COMMAND_LAYER = ("tfcourse.cli", "tfcourse.__main__", "tfcourse.commands")
MODEL = ("tfcourse.mnist", "tfcourse.v1")
TRAINER = ("tfcourse.training",)
# (modules the rule covers, the modules they must not import): data flows
# datasets -> model -> training, never back.
LAYER_RULES = [
    (("tfcourse.datasets",), MODEL + TRAINER),
    (MODEL, TRAINER),
]


def modules(root):
    """{dotted module name: path} of every .py file under `root` (a package directory)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported_names(path, module):
    """Every module name `path` imports, function-level imports and importlib calls included.

    `from tfcourse import mnist` counts as importing both tfcourse and tfcourse.mnist;
    relative imports are resolved against `module`, the file's own dotted name.
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None))
              in ("import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant)):
            names.add(str(node.args[0].value))
    return names


def _within(name, prefixes):
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def shared_file_names(root):
    """{file name: [paths]} for module file names used more than once under `root`."""
    by_name = collections.defaultdict(list)
    for path in sorted(root.rglob("*.py")):
        if path.name not in EXEMPT_NAMES:
            by_name[path.name].append(str(path.relative_to(root.parent)))
    return {name: paths for name, paths in by_name.items() if len(paths) > 1}


def offending_imports(root, covers, forbidden):
    """["module imports name"] for each module (`covers(module)` true) importing one of `forbidden`."""
    return [f"{module} imports {name}" for module, path in modules(root).items() if covers(module)
            for name in sorted(imported_names(path, module)) if _within(name, forbidden)]


def forbidden_imports(root, covered, forbidden):
    """offending_imports of the modules in (or under) the packages `covered`."""
    return offending_imports(root, lambda module: _within(module, covered), forbidden)


def command_layer_imports(root):
    """offending_imports of every library module (all but the command layer) into the command layer."""
    return offending_imports(root, lambda module: not _within(module, COMMAND_LAYER), COMMAND_LAYER)


# Names that mean the same thing in each place they are defined: every command module's
# protocol (`configure`, `run`), and the tutorial's functions in its two faces, the graph/session
# one (v1) beside the TF2 model (mnist) and trainer (training.evaluation).
SHARED_ON_PURPOSE = {
    "configure": "commands", "run": "commands",
    "loss": "v1 and mnist", "evaluation": "v1 and mnist", "do_eval": "v1 and training",
}


def shared_public_names(root):
    """{name: [modules]} for module-level public functions and classes defined in more than one module."""
    by_name = collections.defaultdict(list)
    for module, path in modules(root).items():
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                by_name[node.name].append(module)
    return {name: found for name, found in by_name.items() if len(found) > 1 and name not in SHARED_ON_PURPOSE}


def test_no_two_modules_define_one_public_name():
    assert shared_public_names(PACKAGE) == {}, "one name, one meaning: rename one, or make it private"


def test_no_two_modules_share_a_file_name():
    assert shared_file_names(PACKAGE) == {}, "rename the library module; commands keep the subcommand names"


def test_the_library_never_imports_the_command_layer():
    assert command_layer_imports(PACKAGE) == []


@pytest.mark.parametrize("covered, forbidden", LAYER_RULES, ids=["datasets", "model"])
def test_imports_flow_datasets_model_training(covered, forbidden):
    assert forbidden_imports(PACKAGE, covered, forbidden) == []


def _plant(tmp_path, files):
    root = tmp_path / "tfcourse"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    for directory in [root, *[p for p in root.rglob("*") if p.is_dir()]]:
        (directory / "__init__.py").touch()
    return root


def test_the_rules_catch_what_they_forbid(tmp_path):
    root = _plant(tmp_path, {
        "commands/train.py": "from tfcourse.training import loop\n",
        "training/train.py": "",
        "distribute/ray.py": "def run(argv):\n    from tfcourse.commands import train\n    return train.run(argv)\n",
        "resnet/bench.py": "import importlib\nimportlib.import_module('tfcourse.cli')\n",
        "exercises/nb01.py": "from ..commands import grade\n",
        "datasets/pipeline.py": "from tfcourse import mnist\n",
        "datasets/locate.py": "import tfcourse.training.config\n",
        "mnist.py": "def f():\n    from tfcourse.training import loop\n",
        "v1.py": "from tfcourse.datasets import pipeline\n",
    })
    assert shared_file_names(root) == {"train.py": ["tfcourse/commands/train.py", "tfcourse/training/train.py"]}
    assert command_layer_imports(root) == [
        "tfcourse.distribute.ray imports tfcourse.commands",
        "tfcourse.distribute.ray imports tfcourse.commands.train",
        "tfcourse.exercises.nb01 imports tfcourse.commands",
        "tfcourse.exercises.nb01 imports tfcourse.commands.grade",
        "tfcourse.resnet.bench imports tfcourse.cli",
    ]
    assert forbidden_imports(root, *LAYER_RULES[0]) == [
        "tfcourse.datasets.locate imports tfcourse.training.config",
        "tfcourse.datasets.pipeline imports tfcourse.mnist",
    ]
    assert forbidden_imports(root, *LAYER_RULES[1]) == [
        "tfcourse.mnist imports tfcourse.training",
        "tfcourse.mnist imports tfcourse.training.loop",
    ]


def test_the_public_name_rule_catches_a_name_defined_twice(tmp_path):
    root = _plant(tmp_path, {
        "resnet/scaling.py": "def format_table(rows):\n    pass\n\ndef _helper():\n    pass\n",
        "exercises/gradebook.py": "class format_table:\n    pass\n\ndef _helper():\n    pass\n",
        "commands/info.py": "def run(args):\n    pass\n",
        "commands/data.py": "def run(args):\n    pass\n",
        "mnist.py": "def inference():\n    def inner():\n        pass\n",
        "v1.py": "def inner():\n    pass\n",
    })
    assert shared_public_names(root) == {"format_table": ["tfcourse.exercises.gradebook", "tfcourse.resnet.scaling"]}

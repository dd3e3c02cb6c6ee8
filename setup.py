"""Maps data/mnist into the package at build time: the wheel carries tfcourse/_data/mnist.

The repository keeps one copy of MNIST (data/mnist/); a wheel built from it (`pip wheel .`,
`pip install .`) gets the four .gz files and SHA256SUMS, so an install without the checkout
trains offline. All other metadata is in pyproject.toml.
"""

import pathlib
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

SOURCE = pathlib.Path(__file__).resolve().parent / "data" / "mnist"


class BuildPyWithMnist(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # `pip install -e .` reads the checkout's data/mnist directly
        target = pathlib.Path(self.build_lib) / "tfcourse" / "_data" / "mnist"
        target.mkdir(parents=True, exist_ok=True)
        for path in sorted(SOURCE.glob("*.gz")) + [SOURCE / "SHA256SUMS"]:
            shutil.copyfile(path, target / path.name)


setup(cmdclass={"build_py": BuildPyWithMnist})

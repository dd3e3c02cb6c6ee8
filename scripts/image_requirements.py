"""Prints the course's dependencies (pyproject.toml) for the image, TensorFlow swapped for a variant.

The image installs `tensorflow-cpu` (no CUDA kernels, less than half the size) or the GPU base's
own TensorFlow; pip would add `tensorflow` itself back if the course were installed with its
dependencies, so the Containerfile installs these (its REQUIREMENTS build argument), then the
course with --no-deps.

Usage: python image_requirements.py TF_PACKAGE PYPROJECT   (one requirement a line)
"""

import re
import sys

import tomllib


def requirements(tf_package, pyproject):
    """The dependency lines of `pyproject` (a path), `tensorflow` renamed to `tf_package`."""
    with open(pyproject, "rb") as f:
        dependencies = tomllib.load(f)["project"]["dependencies"]
    return [re.sub(r"^tensorflow(?=[<>=!~ ;\[]|$)", tf_package, line) for line in dependencies]


if __name__ == "__main__":
    print("\n".join(requirements(sys.argv[1], sys.argv[2])))

"""Where the MNIST files live, and what their contents must hash to.

Resolution order, the one a student can reason about:
  1. the directory passed explicitly (`train_dir=` / `--input_data_dir`);
  2. the environment variable TFCOURSE_DATA_DIR;
  3. data/mnist in the checkout this package was imported from (shipped, offline);
  4. tfcourse/_data/mnist inside an installed wheel (setup.py copies data/mnist there);
  5. ~/.cache/tfcourse/mnist (where a download lands when nothing else has the files).
"""

import os
import pathlib

ENV_VAR = "TFCOURSE_DATA_DIR"

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

# SHA-256 of each file's *uncompressed* bytes: gzip output differs between
# compressors, the IDX content does not. Same values as data/mnist/SHA256SUMS.
SHA256 = {
    TEST_IMAGES: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    TEST_LABELS: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    TRAIN_IMAGES: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    TRAIN_LABELS: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
}

CHECKOUT_DIR = pathlib.Path(__file__).resolve().parents[2] / "data" / "mnist"
PACKAGE_DIR = pathlib.Path(__file__).resolve().parents[1] / "_data" / "mnist"
CACHE_DIR = pathlib.Path.home() / ".cache" / "tfcourse" / "mnist"


def find_file(directory, name):
    """Returns the path of `name` (.gz preferred, raw accepted) in `directory`, or None."""
    for candidate in (name + ".gz", name):
        path = pathlib.Path(directory) / candidate
        if path.is_file():
            return path
    return None


def has_mnist(directory):
    """True when all four MNIST files are present (not yet verified) in `directory`."""
    return all(find_file(directory, name) for name in FILES)


def resolve_data_dir(train_dir=None):
    """Returns (directory, how) for the MNIST files, following the order above.

    An explicit directory or environment variable wins even when it is empty, so the
    caller can download into it; the checkout and cache are used only when complete.
    """
    if train_dir:
        return pathlib.Path(train_dir), "argument"
    if os.environ.get(ENV_VAR):
        return pathlib.Path(os.environ[ENV_VAR]), f"${ENV_VAR}"
    if has_mnist(CHECKOUT_DIR):
        return CHECKOUT_DIR, "checkout data/mnist"
    if has_mnist(PACKAGE_DIR):
        return PACKAGE_DIR, "installed package"
    return CACHE_DIR, "user cache"

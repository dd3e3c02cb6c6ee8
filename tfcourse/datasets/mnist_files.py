"""`read_data_sets`: the MNIST tutorial's input API, rebuilt on a vectorised IDX reader.

Students call `read_data_sets(train_dir, fake_data=False, one_hot=False)` exactly as in
the talk; it returns `Datasets(train, validation, test)` of `DataSet` objects whose
`next_batch(batch_size)` walks each example exactly once per epoch.
"""

import collections
import pathlib

import numpy as np

from tfcourse.datasets import download, locate
from tfcourse.datasets.idx import IMAGES_MAGIC, LABELS_MAGIC, parse_idx, read_bytes, sha256_of
from tfcourse.errors import DataError, check_int, check_positive_int

NUM_CLASSES = 10
IMAGE_SIZE = 28
IMAGE_PIXELS = IMAGE_SIZE * IMAGE_SIZE

Datasets = collections.namedtuple("Datasets", ["train", "validation", "test"])


def dense_to_one_hot(labels, num_classes=NUM_CLASSES):
    """[N] integer labels -> [N, num_classes] float32 one-hot rows (3 -> [0,0,0,1,0,...])."""
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise DataError(f"labels must lie in 0..{num_classes - 1}, got {labels.min()}..{labels.max()}")
    return np.eye(num_classes, dtype=np.float32)[labels]


def check_images_and_labels(images, labels):
    """Raises DataError unless images [N, 28, 28] / [N, 784] and labels [N] 0..9 (or [N, 10]) fit together.

    images: uint8 (0..255) or float (already scaled); labels: integer class ids, or
    one-hot float rows. The O(N) range check runs once per split, never per batch.
    """
    if images.ndim < 2 or int(np.prod(images.shape[1:])) != IMAGE_PIXELS:
        raise DataError(f"images must be [N, {IMAGE_SIZE}, {IMAGE_SIZE}] or [N, {IMAGE_PIXELS}], "
                        f"got shape {list(images.shape)}")
    if images.dtype != np.uint8 and not np.issubdtype(images.dtype, np.floating):
        raise DataError(f"images must be uint8 (0..255) or float (scaled to [0, 1]), got dtype {images.dtype}")
    if labels.ndim == 0 or labels.shape[0] != images.shape[0]:
        count = labels.shape[0] if labels.ndim else "a scalar of"
        raise DataError(f"{images.shape[0]} images but {count} labels: counts must match")
    if labels.ndim == 2 and labels.shape[1] == NUM_CLASSES and np.issubdtype(labels.dtype, np.floating):
        return  # one-hot rows
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"labels must be [N] integer class ids 0..{NUM_CLASSES - 1} (or [N, {NUM_CLASSES}] "
                        f"one-hot floats), got shape {list(labels.shape)} dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise DataError(f"labels must lie in 0..{NUM_CLASSES - 1}, got {labels.min()}..{labels.max()}")


class DataSet:
    """One split: images [N, 784] float32 in [0, 1] and labels [N] uint8 (or [N, 10] one-hot).

    `next_batch` follows the original tutorial's epoch semantics: a batch that crosses
    the end of an epoch takes the epoch's remaining examples and tops up from the next,
    freshly shuffled, epoch, so every example is seen exactly once per epoch.
    """

    def __init__(self, images, labels, seed=0, one_hot=False, reshape=True, dtype=np.float32):
        images = np.asarray(images)
        labels = np.asarray(labels)
        check_images_and_labels(images, labels)
        if reshape and images.ndim == 3:
            # Explicit width: -1 cannot be inferred for an empty split (validation_size=0).
            images = images.reshape(images.shape[0], int(np.prod(images.shape[1:])))
        if dtype == np.float32 and images.dtype == np.uint8:
            # Multiply by a float32 reciprocal: one pass, float32 result, no float64 temporary.
            images = np.multiply(images, np.float32(1.0 / 255.0), dtype=np.float32)
        elif dtype == np.float32 and images.dtype != np.float32:
            images = images.astype(np.float32)
        if one_hot and labels.ndim == 1:
            labels = dense_to_one_hot(labels)
        self._images = images
        self._labels = labels
        self._num_examples = images.shape[0]
        self._rng = np.random.default_rng(seed)
        self._epochs_completed = 0
        self._index_in_epoch = 0
        self._order = np.arange(self._num_examples)

    images = property(lambda self: self._images)
    labels = property(lambda self: self._labels)
    num_examples = property(lambda self: self._num_examples)
    epochs_completed = property(lambda self: self._epochs_completed)

    def next_batch(self, batch_size, shuffle=True):
        """Returns the next (images, labels) batch of exactly `batch_size` examples.

        Args:
          batch_size: int, 1 <= batch_size <= num_examples.
          shuffle: reshuffle the order at the start of every epoch.
        Returns:
          images [batch_size, 784] float32, labels [batch_size] uint8 (or one-hot float32).
        """
        check_positive_int("batch_size", batch_size, error=DataError)
        if batch_size > self._num_examples:
            raise DataError(
                f"batch_size {batch_size} is larger than this split ({self._num_examples} examples)"
            )
        start = self._index_in_epoch
        if start == 0 and self._epochs_completed == 0 and shuffle:
            self._order = self._rng.permutation(self._num_examples)
        if start + batch_size <= self._num_examples:
            self._index_in_epoch = start + batch_size
            picked = self._order[start:self._index_in_epoch]
        else:
            rest = self._order[start:]
            self._epochs_completed += 1
            self._order = self._rng.permutation(self._num_examples) if shuffle else self._order
            self._index_in_epoch = batch_size - rest.size
            picked = np.concatenate([rest, self._order[:self._index_in_epoch]])
        if self._index_in_epoch == self._num_examples:
            # Finishing exactly on the boundary: start the next epoch on the next call.
            self._epochs_completed += 1
            self._index_in_epoch = 0
            if shuffle:
                self._order = self._rng.permutation(self._num_examples)
        return self._images[picked], self._labels[picked]


def _load_file(directory, name, magic, verify):
    path = locate.find_file(directory, name)
    if path is None:
        raise DataError(f"{pathlib.Path(directory) / (name + '.gz')}: file not found (expected {name}[.gz])")
    data = read_bytes(path)
    if verify and sha256_of(data) != locate.SHA256[name]:
        raise DataError(
            f"{path}: SHA-256 {sha256_of(data)[:16]}... does not match the published MNIST file "
            f"(expected {locate.SHA256[name][:16]}...); delete it to download a fresh copy"
        )
    return parse_idx(data, str(path), magic)


def load_mnist(train_dir=None, verify=True, download_missing=True):
    """Reads the four MNIST files into uint8 arrays.

    Args:
      train_dir: directory with the files; None resolves it (see tfcourse.datasets.locate).
      verify: check each file's SHA-256 against the published MNIST.
      download_missing: fill a directory that lacks files: with a copy of the verified files this
        installation ships (checkout or wheel), else from the mirrors.
    Returns:
      dict with train_images [60000, 28, 28], train_labels [60000], test_images
      [10000, 28, 28], test_labels [10000], all uint8, and `directory`.
    """
    directory, _ = locate.resolve_data_dir(train_dir)
    if download_missing and not locate.has_mnist(directory):
        download.copy_shipped(directory)
        if not locate.has_mnist(directory):
            download.maybe_download(directory, mirrors=download.MIRRORS)
    arrays = {"directory": directory}
    for key, name, magic in (
        ("train_images", locate.TRAIN_IMAGES, IMAGES_MAGIC),
        ("train_labels", locate.TRAIN_LABELS, LABELS_MAGIC),
        ("test_images", locate.TEST_IMAGES, IMAGES_MAGIC),
        ("test_labels", locate.TEST_LABELS, LABELS_MAGIC),
    ):
        arrays[key] = _load_file(directory, name, magic, verify)
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.shape[0] != labels.shape[0]:
            raise DataError(
                f"{directory}: {split} split has {images.shape[0]} images but {labels.shape[0]} labels"
            )
        if labels.size and labels.max() >= NUM_CLASSES:
            raise DataError(f"{directory}: {split} labels contain {labels.max()}, expected 0..9")
    return arrays


def fake_images_and_labels(num_examples, seed=0):
    """Deterministic MNIST-shaped data: uint8 [N, 28, 28] images and [N] labels 0..9.

    Each class is a fixed random stroke pattern plus noise, so a model can actually learn
    it (tests of training use this) while no file is read.
    """
    rng = np.random.default_rng(seed)
    prototypes = rng.random((NUM_CLASSES, IMAGE_SIZE, IMAGE_SIZE)) > 0.8
    labels = (np.arange(num_examples) % NUM_CLASSES).astype(np.uint8)
    rng.shuffle(labels)
    noise = rng.random((num_examples, IMAGE_SIZE, IMAGE_SIZE)) > 0.93
    images = np.logical_xor(prototypes[labels], noise).astype(np.uint8) * 255
    return images, labels


def read_data_sets(train_dir=None, fake_data=False, one_hot=False, validation_size=5000,
                   seed=0, verify=True, dtype=np.float32, reshape=True):
    """The tutorial's entry point: MNIST split into train / validation / test DataSets.

    Args:
      train_dir: directory of the IDX files; None: $TFCOURSE_DATA_DIR, then data/mnist.
      fake_data: synthetic data instead of files (60k/10k examples, deterministic).
      one_hot: labels as [N, 10] float32 one-hot rows instead of [N] uint8.
      validation_size: examples carved off the front of the training file.
      seed: seeds every split's shuffling.
    Returns:
      Datasets(train, validation, test).
    """
    check_int("validation_size", validation_size, 0, error=DataError)
    if fake_data:
        # One draw split in two, so train and test share the class prototypes.
        images, labels = fake_images_and_labels(70000, seed=seed)
        train_images, train_labels = images[:60000], labels[:60000]
        test_images, test_labels = images[60000:], labels[60000:]
    else:
        arrays = load_mnist(train_dir, verify=verify)
        train_images, train_labels = arrays["train_images"], arrays["train_labels"]
        test_images, test_labels = arrays["test_images"], arrays["test_labels"]
    if validation_size > len(train_images):
        raise DataError(
            f"validation_size {validation_size} is larger than the training set ({len(train_images)} examples)"
        )
    options = dict(one_hot=one_hot, dtype=dtype, reshape=reshape)
    return Datasets(
        train=DataSet(train_images[validation_size:], train_labels[validation_size:], seed=seed, **options),
        validation=DataSet(train_images[:validation_size], train_labels[:validation_size], seed=seed + 1, **options),
        test=DataSet(test_images, test_labels, seed=seed + 2, **options),
    )

import shutil

import numpy as np
import pytest

from tfcourse.datasets import locate, read_data_sets, write_idx
from tfcourse.datasets.mnist_files import DataSet, dense_to_one_hot, load_mnist
from tfcourse.errors import DataError

# Published per-class counts of the original MNIST files.
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def mnist():
    return read_data_sets()


def test_real_mnist_label_histograms(mnist):
    train_and_val = np.concatenate([mnist.validation.labels, mnist.train.labels])
    assert np.bincount(train_and_val, minlength=10).tolist() == TRAIN_COUNTS
    assert np.bincount(mnist.test.labels, minlength=10).tolist() == TEST_COUNTS
    assert (mnist.train.num_examples, mnist.validation.num_examples, mnist.test.num_examples) == (55000, 5000, 10000)


def test_real_mnist_pixels_and_dtypes(mnist):
    images = mnist.train.images
    assert images.shape == (55000, 784) and images.dtype == np.float32
    assert images.min() == 0.0 and images.max() == 1.0
    assert mnist.train.labels.dtype == np.uint8
    # Mean pixel of all 60k training images is 33.318 / 255 (data/README.md).
    all_train = np.concatenate([mnist.validation.images, images])
    assert abs(all_train.mean() * 255 - 33.318) < 0.01


def test_one_hot_rows():
    np.testing.assert_array_equal(dense_to_one_hot([3])[0], [0, 0, 0, 1, 0, 0, 0, 0, 0, 0])
    with pytest.raises(DataError, match=r"labels must lie in 0..9, got 0..10"):
        dense_to_one_hot([0, 10])
    sets = read_data_sets(fake_data=True, one_hot=True, validation_size=100)
    assert sets.train.labels.shape == (59900, 10) and sets.train.labels.sum(axis=1).max() == 1


def _tiny(n=10, seed=0):
    images = np.arange(n * 784, dtype=np.float32).reshape(n, 784)
    return DataSet(images, np.arange(n) % 10, seed=seed)


def test_next_batch_every_example_once_per_epoch():
    data = _tiny(10)
    seen = []
    for _ in range(5):  # 5 batches of 4 = 2 epochs exactly
        images, labels = data.next_batch(4)
        assert images.shape == (4, 784)
        seen.extend(images[:, 0].astype(int) // 784)
    first, second = seen[:10], seen[10:]
    assert sorted(first) == list(range(10)) and sorted(second) == list(range(10))
    assert first != second  # reshuffled between epochs
    assert data.epochs_completed == 2


def test_next_batch_is_reproducible_and_unshuffled_mode():
    a, b = _tiny(10, seed=7), _tiny(10, seed=7)
    for _ in range(6):
        np.testing.assert_array_equal(a.next_batch(3)[0], b.next_batch(3)[0])
    plain = _tiny(10)
    order = np.concatenate([plain.next_batch(4, shuffle=False)[1] for _ in range(3)])
    assert order.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "4"])
def test_next_batch_rejects_bad_batch_size(bad):
    with pytest.raises(DataError, match="batch_size must be a positive integer"):
        _tiny().next_batch(bad)


def test_next_batch_larger_than_split():
    with pytest.raises(DataError, match=r"batch_size 11 is larger than this split \(10 examples\)"):
        _tiny(10).next_batch(11)


def test_validation_size_too_large():
    with pytest.raises(DataError, match="validation_size 70000 is larger than the training set"):
        read_data_sets(fake_data=True, validation_size=70000)


def test_fake_data_is_deterministic_and_mnist_shaped():
    a = read_data_sets(fake_data=True, seed=3)
    b = read_data_sets(fake_data=True, seed=3)
    np.testing.assert_array_equal(a.train.images[:100], b.train.images[:100])
    assert a.test.images.shape == (10000, 784)
    assert np.bincount(a.test.labels, minlength=10).min() > 900


def test_fake_test_split_shares_the_training_classes():
    """A nearest-class-mean classifier fit on fake train data must work on fake test data."""
    sets = read_data_sets(fake_data=True, seed=1)
    means = np.stack([sets.train.images[sets.train.labels == k].mean(axis=0) for k in range(10)])
    predicted = np.argmin(((sets.test.images[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    assert (predicted == sets.test.labels).mean() > 0.95


def _copy_mnist(tmp_path):
    for name in locate.FILES:
        shutil.copy(locate.find_file(locate.CHECKOUT_DIR, name), tmp_path)
    return tmp_path


def test_checksum_mismatch_names_file(tmp_path):
    directory = _copy_mnist(tmp_path)
    labels = load_mnist(directory)["test_labels"].copy()
    labels[0] = (labels[0] + 1) % 10  # one flipped label: valid IDX, wrong content
    write_idx(directory / (locate.TEST_LABELS + ".gz"), labels)
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz: SHA-256 .* does not match"):
        read_data_sets(directory)


def test_count_mismatch_without_verification(tmp_path):
    directory = _copy_mnist(tmp_path)
    labels = load_mnist(directory)["test_labels"]
    write_idx(directory / (locate.TEST_LABELS + ".gz"), labels[:-1])
    with pytest.raises(DataError, match="test split has 10000 images but 9999 labels"):
        read_data_sets(directory, verify=False)


def test_missing_file_without_download(tmp_path):
    directory = _copy_mnist(tmp_path)
    (directory / (locate.TRAIN_LABELS + ".gz")).unlink()
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz: file not found"):
        load_mnist(directory, download_missing=False)


def test_resolution_order(tmp_path, monkeypatch):
    monkeypatch.delenv(locate.ENV_VAR, raising=False)
    assert locate.resolve_data_dir() == (locate.CHECKOUT_DIR, "checkout data/mnist")
    monkeypatch.setenv(locate.ENV_VAR, str(tmp_path))
    assert locate.resolve_data_dir() == (tmp_path, "$TFCOURSE_DATA_DIR")
    assert locate.resolve_data_dir("/x")[1] == "argument"


def test_raw_uncompressed_files_work(tmp_path):
    arrays = load_mnist()
    write_idx(tmp_path / locate.TEST_LABELS, arrays["test_labels"])
    write_idx(tmp_path / locate.TEST_IMAGES, arrays["test_images"])
    write_idx(tmp_path / locate.TRAIN_LABELS, arrays["train_labels"])
    write_idx(tmp_path / locate.TRAIN_IMAGES, arrays["train_images"])
    again = load_mnist(tmp_path)  # raw files verify against the same uncompressed hashes
    np.testing.assert_array_equal(again["test_images"], arrays["test_images"])


def test_validation_size_zero_gives_an_empty_validation_split():
    sets = read_data_sets(fake_data=True, validation_size=0)
    assert sets.validation.images.shape == (0, 784) and sets.train.num_examples == 60000

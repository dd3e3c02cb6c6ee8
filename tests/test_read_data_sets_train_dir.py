"""read_data_sets(train_dir) with an empty train_dir: the tutorial's contract, kept offline.

TensorFlow's fully_connected_feed.py passes --train_dir expecting the data to land there. The
shipped, verified copy is copied in; the mirrors are asked only when no shipped copy exists.
"""

import gzip
import shutil

import pytest

from tfcourse.datasets import download, locate, read_data_sets
from tfcourse.datasets.idx import read_bytes


@pytest.fixture
def no_network(monkeypatch):
    """Any download attempt fails the test, naming the file it wanted."""
    def refuse(url, part, timeout):
        raise AssertionError(f"tried to download {url}")
    monkeypatch.setattr(download, "_fetch", refuse)


def test_an_empty_train_dir_receives_the_shipped_files_offline(tmp_path, no_network):
    train_dir = tmp_path / "train_dir"
    data_sets = read_data_sets(str(train_dir))
    assert data_sets.train.num_examples == 55000 and data_sets.test.num_examples == 10000
    for name in locate.FILES:
        copied = locate.find_file(train_dir, name)
        assert copied is not None, f"{name} was not left in train_dir"
        assert read_bytes(copied) == read_bytes(locate.find_file(locate.CHECKOUT_DIR, name))
    assert not list(train_dir.glob("*.part"))


def test_only_missing_files_are_copied_and_present_ones_are_kept(tmp_path, no_network):
    shutil.copy(locate.find_file(locate.CHECKOUT_DIR, locate.TEST_LABELS), tmp_path)
    kept = (tmp_path / locate.find_file(locate.CHECKOUT_DIR, locate.TEST_LABELS).name).stat().st_mtime_ns
    assert sorted(download.copy_shipped(tmp_path)) == sorted(set(locate.FILES) - {locate.TEST_LABELS})
    assert (tmp_path / locate.find_file(locate.CHECKOUT_DIR, locate.TEST_LABELS).name).stat().st_mtime_ns == kept


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """The shipped folders pointed at two folders of this test's own (checkout, wheel)."""
    checkout, wheel = tmp_path / "checkout", tmp_path / "wheel"
    checkout.mkdir()
    wheel.mkdir()
    monkeypatch.setattr(locate, "CHECKOUT_DIR", checkout)
    monkeypatch.setattr(locate, "PACKAGE_DIR", wheel)
    return checkout, wheel


def test_a_damaged_shipped_copy_is_skipped_for_the_wheels(shipped):
    checkout, wheel = shipped
    content = read_bytes(_real_file(locate.TRAIN_LABELS))
    (checkout / (locate.TRAIN_LABELS + ".gz")).write_bytes(gzip.compress(content[:-1] + b"\x07"))
    (wheel / (locate.TRAIN_LABELS + ".gz")).write_bytes(gzip.compress(content))
    assert download.shipped_copy(locate.TRAIN_LABELS) == wheel / (locate.TRAIN_LABELS + ".gz")
    assert download.shipped_copy(locate.TEST_LABELS) is None


def test_without_a_shipped_copy_the_mirrors_are_asked(tmp_path, shipped, http_server, monkeypatch):
    server, url = http_server
    for name in locate.FILES:
        server.files[f"/{name}.gz"] = gzip.compress(read_bytes(_real_file(name)), 1)
    monkeypatch.setattr(download, "MIRRORS", (url,))
    data_sets = read_data_sets(str(tmp_path / "train_dir"))
    assert data_sets.test.num_examples == 10000
    assert sorted(path for path, _ in server.requests) == sorted(f"/{name}.gz" for name in locate.FILES)


_REAL = locate.CHECKOUT_DIR


def _real_file(name):
    """The repository's own data/mnist file (the fixture above repoints locate.CHECKOUT_DIR)."""
    return locate.find_file(_REAL, name)

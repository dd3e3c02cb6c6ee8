
import numpy as np
import pytest

from tfcourse.datasets import idx
from tfcourse.errors import DataError


def test_roundtrip_gz_and_raw(tmp_path):
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    for name in ("a-idx3-ubyte.gz", "a-idx3-ubyte"):
        idx.write_idx(tmp_path / name, images)
        back = idx.read_idx(tmp_path / name, expected_magic=idx.IMAGES_MAGIC)
        assert back.shape == (2, 28, 28) and back.dtype == np.uint8
        np.testing.assert_array_equal(back, images)


def test_wrong_magic_names_file_and_expectation(tmp_path):
    idx.write_idx(tmp_path / "labels.gz", np.zeros(5, np.uint8))
    with pytest.raises(DataError, match=r"labels.gz: magic number 2049, expected 2051"):
        idx.read_idx(tmp_path / "labels.gz", expected_magic=idx.IMAGES_MAGIC)


def test_not_idx_at_all(tmp_path):
    path = tmp_path / "junk"
    path.write_bytes(b"PK\x03\x04 this is a zip file")
    with pytest.raises(DataError, match="not an unsigned-byte IDX file"):
        idx.read_idx(path)


def test_truncated_payload(tmp_path):
    idx.write_idx(tmp_path / "x", np.zeros((3, 28, 28), np.uint8))
    data = (tmp_path / "x").read_bytes()
    (tmp_path / "x").write_bytes(data[:-100])
    with pytest.raises(DataError, match=r"truncated or padded: header says shape \(3, 28, 28\)"):
        idx.read_idx(tmp_path / "x")


def test_truncated_gzip_stream(tmp_path):
    idx.write_idx(tmp_path / "x.gz", np.random.default_rng(0).integers(0, 255, (50, 28, 28), dtype=np.uint8))
    data = (tmp_path / "x.gz").read_bytes()
    (tmp_path / "x.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="x.gz: not a readable gzip/IDX file"):
        idx.read_idx(tmp_path / "x.gz")


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="nope.gz: file not found"):
        idx.read_idx(tmp_path / "nope.gz")


def test_empty_and_header_only(tmp_path):
    (tmp_path / "e").write_bytes(b"")
    with pytest.raises(DataError, match="too short for an IDX header"):
        idx.read_idx(tmp_path / "e")
    (tmp_path / "h").write_bytes(bytes([0, 0, 8, 3]) + b"\x00\x00")
    with pytest.raises(DataError, match="truncated header"):
        idx.read_idx(tmp_path / "h")

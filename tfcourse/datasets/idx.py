"""Reading the IDX files MNIST ships in (http://yann.lecun.com/exdb/mnist/ format).

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the data in C order. MNIST uses
type 0x08 (unsigned byte): 2051 for the rank-3 image files, 2049 for rank-1 labels.
The reader is one `np.frombuffer` over the whole payload, so 70k images load in a
fraction of a second instead of the seconds a per-image loop would take.
"""

import gzip
import hashlib
import os
import zlib

import numpy as np

from tfcourse.errors import DataError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
_UBYTE = 0x08


def read_bytes(path):
    """Returns the uncompressed bytes of `path`, gunzipping when it ends in .gz."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise DataError(f"{path}: file not found (expected an MNIST IDX file, .gz or raw)")
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        with open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, zlib.error) as e:
        # A truncated gzip stream surfaces as EOFError; a corrupt one as BadGzipFile/zlib.error.
        raise DataError(f"{path}: not a readable gzip/IDX file ({e})") from None


def parse_idx(data, path="<bytes>", expected_magic=None):
    """Parses IDX bytes into a numpy array.

    Args:
      data: the uncompressed file content.
      path: the file name, used only in error messages.
      expected_magic: 2051 (images) or 2049 (labels); None accepts any ubyte IDX.
    Returns:
      A read-only-safe uint8 array of the shape the header declares.
    """
    if len(data) < 4:
        raise DataError(f"{path}: {len(data)} bytes is too short for an IDX header")
    magic = int.from_bytes(data[:4], "big")
    ndim = data[3]
    if data[0] != 0 or data[1] != 0 or data[2] != _UBYTE or ndim == 0:
        raise DataError(
            f"{path}: magic number {magic} is not an unsigned-byte IDX file "
            f"(expected {expected_magic or '2049 or 2051'})"
        )
    if expected_magic is not None and magic != expected_magic:
        raise DataError(f"{path}: magic number {magic}, expected {expected_magic}")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise DataError(f"{path}: truncated header ({len(data)} bytes, expected {header_len})")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape))
    actual = len(data) - header_len
    if actual != expected:
        raise DataError(
            f"{path}: truncated or padded: header says shape {shape} ({expected} bytes), "
            f"file holds {actual} bytes of data"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_len).reshape(shape)


def read_idx(path, expected_magic=None):
    """Reads an IDX file (.gz or raw) into a uint8 numpy array."""
    return parse_idx(read_bytes(path), os.fspath(path), expected_magic)


def sha256_of(data):
    """SHA-256 hex digest of bytes."""
    return hashlib.sha256(data).hexdigest()


def write_idx(path, array):
    """Writes a uint8 array as an IDX file (gzip when `path` ends in .gz).

    Used by tests and by students who want to package their own digits.
    """
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, _UBYTE, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    payload = header + array.tobytes()
    opener = gzip.open if os.fspath(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(payload)

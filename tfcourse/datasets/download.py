"""Filling a folder with MNIST: a copy of the shipped files, else a download from public mirrors.

Safety properties a course needs on flaky networks:
  * nothing appears under the final name until its content hashes right (a `.part`
    file is written, verified, then renamed atomically);
  * an interrupted download resumes with an HTTP Range request where the server allows;
  * a corrupt or truncated response is discarded and the next mirror is tried.
"""

import gzip
import http.client
import os
import pathlib
import shutil
import urllib.error
import urllib.request
import zlib

from tfcourse.datasets import locate
from tfcourse.datasets.idx import read_bytes, sha256_of
from tfcourse.errors import DataError

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
_CHUNK = 1 << 16


def _fetch(url, part, timeout):
    """Downloads `url` into `part`, resuming from its current size when possible."""
    start = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={start}-"} if start else {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        # 206 means the server honoured the Range; 200 means it sent the whole file.
        mode = "ab" if start and response.status == 206 else "wb"
        try:
            f = open(part, mode)
        except OSError as e:
            raise DataError(f"{part}: cannot write the download ({e})") from None
        expected = int(response.headers.get("Content-Length") or -1)
        received = 0
        with f:
            while chunk := response.read(_CHUNK):  # network errors propagate to the caller
                received += len(chunk)
                try:
                    f.write(chunk)
                except OSError as e:
                    # Disk full or read-only: no other mirror can help; leave nothing behind.
                    f.close()
                    part.unlink(missing_ok=True)
                    raise DataError(f"{part}: cannot write the download ({e})") from None
    if received < expected:
        # http.client returns a short read silently when the peer hangs up early; make it
        # an error so the caller resumes instead of verifying half a file.
        raise http.client.IncompleteRead(b"", expected - received)


def _verified_content(part, name):
    """Returns True when `part` gunzips to bytes with the expected SHA-256."""
    try:
        with gzip.open(part, "rb") as f:
            data = f.read()
    except (OSError, EOFError, zlib.error):
        return False
    return sha256_of(data) == locate.SHA256[name]


def download_file(name, directory, mirrors=MIRRORS, timeout=30.0):
    """Downloads `name`.gz into `directory` and verifies it; returns the final path.

    Raises:
      DataError: the directory is not writable, or no mirror served the right bytes.
    """
    directory = pathlib.Path(directory)
    final = directory / (name + ".gz")
    part = directory / (name + ".gz.part")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if not os.access(directory, os.W_OK):
            raise PermissionError(f"no write permission on {directory}")
    except OSError as e:
        raise DataError(f"{directory}: cannot write the MNIST download here ({e})") from None
    failures = {}  # url -> the last error: each URL is named once however often it was tried
    for mirror in mirrors:
        url = mirror + name + ".gz"
        for _ in range(2):  # the second try resumes a transfer cut short
            try:
                _fetch(url, part, timeout)
            except (OSError, http.client.HTTPException) as e:  # URLError, timeouts, resets
                failures[url] = str(e)
                continue
            if _verified_content(part, name):
                os.replace(part, final)
                return final
            failures[url] = "content does not match the expected SHA-256"
            part.unlink(missing_ok=True)
            break
    part.unlink(missing_ok=True)
    raise DataError(f"could not download {name}: " + "; ".join(f"{url}: {e}" for url, e in failures.items()))


def shipped_copy(name):
    """The verified copy of `name` this installation ships (checkout data/mnist, then the wheel's), or None.

    Args:
      name: one of locate.FILES.
    Returns:
      the path of a shipped file (.gz or raw) whose content has the published SHA-256, or None.
    """
    for shipped_dir in (locate.CHECKOUT_DIR, locate.PACKAGE_DIR):
        path = locate.find_file(shipped_dir, name)
        if path is None:
            continue
        try:
            if sha256_of(read_bytes(path)) == locate.SHA256[name]:
                return path
        except DataError:  # unreadable or a broken gzip: not a copy to hand on
            continue
    return None


def copy_shipped(directory):
    """Copies into `directory` each missing MNIST file the installation ships verified.

    TensorFlow's tutorial contract: `read_data_sets(train_dir)` leaves the data in train_dir.
    A copy of the shipped files fills it offline; only what no shipped copy has is downloaded.

    Args:
      directory: the folder to fill (created when missing).
    Returns:
      the names copied.
    """
    directory = pathlib.Path(directory)
    copied = []
    for name in locate.FILES:
        if locate.find_file(directory, name) is not None:
            continue
        source = shipped_copy(name)
        if source is None:
            continue
        target = directory / source.name
        part = directory / (source.name + ".part")
        try:
            directory.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, part)
            os.replace(part, target)  # never a half-copied file under the final name
        except OSError as e:
            part.unlink(missing_ok=True)
            raise DataError(f"{directory}: cannot copy the shipped MNIST files here ({e})") from None
        copied.append(name)
    return copied


def maybe_download(directory, mirrors=MIRRORS, timeout=30.0):
    """Downloads whichever of the four MNIST files is missing from `directory`."""
    for name in locate.FILES:
        if locate.find_file(directory, name) is None:
            download_file(name, directory, mirrors=mirrors, timeout=timeout)
    return pathlib.Path(directory)

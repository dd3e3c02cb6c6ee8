import ctypes
import gzip
import os
import resource
import signal
import subprocess
import sys
import textwrap

import pytest
from conftest import REPO

from tfcourse.datasets import download, locate
from tfcourse.datasets.idx import read_bytes
from tfcourse.datasets.mnist_files import load_mnist
from tfcourse.errors import DataError


@pytest.fixture(scope="module")
def gz_files():
    """The real MNIST files gzip-compressed by us: {name: bytes} (hash is of the content)."""
    return {name: gzip.compress(read_bytes(locate.find_file(locate.CHECKOUT_DIR, name)), 1) for name in locate.FILES}


def _serve(server, gz_files, names=locate.FILES):
    for name in names:
        server.files[f"/{name}.gz"] = gz_files[name]


def test_downloads_all_and_loads(tmp_path, http_server, gz_files):
    server, url = http_server
    _serve(server, gz_files)
    download.maybe_download(tmp_path, mirrors=(url,))
    assert sorted(os.listdir(tmp_path)) == sorted(n + ".gz" for n in locate.FILES)
    arrays = load_mnist(tmp_path)  # verifies checksums again
    assert arrays["train_images"].shape == (60000, 28, 28)


def test_corrupt_mirror_falls_back_and_leaves_nothing(tmp_path, http_server, gz_files):
    server, url = http_server
    _serve(server, gz_files, [locate.TEST_LABELS])
    server.modes[f"/{locate.TEST_LABELS}.gz"] = "corrupt"
    with pytest.raises(DataError, match="content does not match the expected SHA-256"):
        download.download_file(locate.TEST_LABELS, tmp_path, mirrors=(url,))
    assert os.listdir(tmp_path) == []  # no partial or corrupt file under any name
    server.modes.clear()
    download.download_file(locate.TEST_LABELS, tmp_path, mirrors=(url + "missing/", url))
    assert os.listdir(tmp_path) == [locate.TEST_LABELS + ".gz"]


def test_truncated_transfer_resumes_with_range(tmp_path, http_server, gz_files):
    server, url = http_server
    _serve(server, gz_files, [locate.TEST_IMAGES])
    server.modes[f"/{locate.TEST_IMAGES}.gz"] = "truncate"
    path = download.download_file(locate.TEST_IMAGES, tmp_path, mirrors=(url,))
    assert path.name == locate.TEST_IMAGES + ".gz"
    ranges = [r for p, r in server.requests]
    assert ranges[0] is None and ranges[1].startswith("bytes=") and ranges[1] != "bytes=0-"
    assert read_bytes(path)[:4] == b"\x00\x00\x08\x03"


def test_truncated_transfer_without_range_support(tmp_path, http_server, gz_files):
    server, url = http_server
    server.honour_range = False  # the server answers 200 with the whole body: start over
    _serve(server, gz_files, [locate.TEST_LABELS])
    server.modes[f"/{locate.TEST_LABELS}.gz"] = "truncate"
    path = download.download_file(locate.TEST_LABELS, tmp_path, mirrors=(url,))
    assert len(read_bytes(path)) == 10008


def test_unreachable_mirror_says_what_failed(tmp_path):
    with pytest.raises(DataError, match=r"could not download t10k-labels-idx1-ubyte: http://127.0.0.1:9/"):
        download.download_file(locate.TEST_LABELS, tmp_path, mirrors=("http://127.0.0.1:9/",), timeout=2)
    assert os.listdir(tmp_path) == []


def _run_as_subprocess(code, preexec_fn):
    """Runs `code` in a fresh Python with the given pre-exec hook; returns the result."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          preexec_fn=preexec_fn, env={**os.environ, "PYTHONPATH": str(REPO)})


_DOWNLOAD = (
    "import sys\n"
    "from tfcourse.datasets import download\n"
    "from tfcourse.errors import DataError\n"
    "try:\n"
    "    download.download_file('{name}', '{directory}', mirrors=('{url}',))\n"
    "except DataError as e:\n"
    "    print(e); sys.exit(3)\n"
)


# Runs one download in a child process that, when it is root, first loses the capabilities
# that let root write anywhere (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER): permission
# bits then bind it like any user, on every filesystem, with no chattr.
DOWNLOAD = textwrap.dedent("""
    import sys
    from tfcourse.datasets import download, locate
    from tfcourse.errors import DataError
    try:
        download.download_file(locate.TEST_LABELS, sys.argv[1], mirrors=(sys.argv[2],))
    except DataError as e:
        print("DataError:", e)
        sys.exit(3)
    """)
_PR_CAPBSET_DROP = 24
_ROOT_WRITE_CAPS = (1, 2, 3)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER (linux/capability.h)


def _as_plain_user():
    """preexec_fn: drop root's override capabilities from the bounding set before exec."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in _ROOT_WRITE_CAPS:
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), f"prctl(PR_CAPBSET_DROP, {cap})")


def test_read_only_directory(tmp_path, http_server, gz_files):
    """The download target cannot be written (mode 0555; root too, without its override capabilities)."""
    server, url = http_server
    _serve(server, gz_files, [locate.TEST_LABELS])
    target = tmp_path / "data"
    target.mkdir(mode=0o555)
    try:
        run = subprocess.run([sys.executable, "-c", DOWNLOAD, str(target), url], preexec_fn=_as_plain_user,
                             capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)})
        assert run.returncode == 3 and "cannot write" in run.stdout, run.stdout + run.stderr[-2000:]
        assert os.listdir(target) == []
    finally:
        target.chmod(0o755)


def test_full_disk_leaves_nothing_half_written(tmp_path, http_server, gz_files):
    """A file-size limit makes writes fail with EFBIG, as a full disk fails with ENOSPC."""
    server, url = http_server
    _serve(server, gz_files, [locate.TEST_IMAGES])

    def small_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get an OSError instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    result = _run_as_subprocess(_DOWNLOAD.format(name=locate.TEST_IMAGES, directory=tmp_path, url=url), small_disk)
    assert result.returncode == 3, result.stderr
    assert "cannot write the download" in result.stdout
    assert os.listdir(tmp_path) == []


def test_unwritable_target_is_a_clear_error(tmp_path):
    target = tmp_path / "file-not-dir"
    target.write_text("x")
    with pytest.raises(DataError, match="cannot write the MNIST download here"):
        download.download_file(locate.TEST_LABELS, target, mirrors=("http://127.0.0.1:9/",))

"""A failed download names each URL it tried once, with its last error."""

import pytest

from tfcourse.datasets import download, locate
from tfcourse.errors import DataError


def test_each_failed_url_is_named_once(tmp_path):
    mirrors = ("http://127.0.0.1:9/", "http://127.0.0.1:9/other/")  # port 9: nothing listens
    with pytest.raises(DataError) as caught:
        download.download_file(locate.TEST_LABELS, tmp_path, mirrors=mirrors, timeout=2)
    message = str(caught.value)
    for mirror in mirrors:
        url = f"{mirror}{locate.TEST_LABELS}.gz"
        assert message.count(f"{url}: ") == 1, message  # tried twice (a resume), named once

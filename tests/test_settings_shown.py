"""settings.shown rewrites a folder only as a whole path, whatever the folders' names share."""

import os
import tempfile

import pytest

from tfcourse import settings


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """TMPDIR <base>/t and HOME <base>/tx: one folder's path is a prefix of the other's."""
    temp, home = tmp_path / "t", tmp_path / "tx"
    temp.mkdir()
    home.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(tempfile, "tempdir", None)
    return tmp_path


def test_a_folder_whose_name_extends_another_is_not_rewritten_as_it(folders):
    assert settings.shown(f"{folders}/tx/notes") == "~/notes"
    assert settings.shown(f"{folders}/t/run") == "<tmp>/run"
    assert settings.shown(f"{folders}/tmpx/run") == f"{folders}/tmpx/run"
    assert settings.shown(f"/other{folders}/t/run") == f"/other{folders}/t/run"


def test_a_whole_folder_is_rewritten_at_the_end_or_before_punctuation(folders):
    assert settings.shown(f"in {folders}/t.") == "in <tmp>."
    assert settings.shown(f"({folders}/t) and '{folders}/tx'") == "(<tmp>) and '~'"
    assert settings.shown(f"{folders}/t.d/x") == f"{folders}/t.d/x"


def test_the_checkout_is_a_whole_path_too():
    checkout = os.path.dirname(os.path.dirname(os.path.abspath(settings.__file__)))
    assert settings.shown(os.path.join(checkout, "data", "mnist")) == os.path.join("data", "mnist")
    assert settings.shown(checkout + "tmp" + os.sep + "x") == checkout + "tmp" + os.sep + "x"

"""Settings are read in one place and checked when read; a bad one is named, never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from reco.settings import DEFAULT_DATA_DIR, SettingError, read_settings
from reco.store import StoreUnavailable, open_store

SECRET = "my-secret-key-123"


def test_defaults_and_values_come_from_the_environment_and_the_secrets(tmp_path: Path) -> None:
    assert read_settings({}).data_dir == DEFAULT_DATA_DIR
    assert read_settings({}).qdrant_url is None and read_settings({}).qdrant_timeout == 10
    given = read_settings(
        {"QDRANT_URL": "http://a:1", "RECO_DATA_DIR": str(tmp_path), "RECO_RELEASES": "x, y,"},
        secrets={"QDRANT_URL": "https://b:6333", "QDRANT_API_KEY": SECRET},
    )
    assert given.qdrant_url == "https://b:6333" and given.qdrant_api_key == SECRET
    assert given.data_dir == tmp_path and given.releases == ("x", "y")
    assert SECRET not in repr(given)


@pytest.mark.parametrize("ending", ["\r", "\n", " ", "\x00"])
def test_a_key_with_a_line_ending_is_refused_without_showing_it(ending: str) -> None:
    with pytest.raises(SettingError, match="QDRANT_API_KEY") as caught:
        read_settings({"QDRANT_API_KEY": SECRET + ending})
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:99999", "localhost:6333", "http://[::1", "ftp://x", "http:// x"]
)
def test_an_address_that_does_not_parse_is_named_not_shown(url: str) -> None:
    with pytest.raises(SettingError, match="QDRANT_URL") as caught:
        read_settings({"QDRANT_URL": url})
    assert url not in str(caught.value)


def test_the_store_reports_a_bad_setting_as_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QDRANT_URL", "http://127.0.0.1:6333")
    monkeypatch.setenv("QDRANT_API_KEY", SECRET + "\r")
    with pytest.raises(StoreUnavailable, match="QDRANT_API_KEY") as caught:
        open_store("ml-100k")
    assert SECRET not in str(caught.value)

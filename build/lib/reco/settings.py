"""What an operator configures, read in one place and checked when read.

| Setting | What it is | Default |
|---|---|---|
| ``QDRANT_URL`` | a Qdrant server or cluster (``http(s)://host:port``); ``:memory:`` or ``file:PATH`` for qdrant-client's local mode | none: the embedded engine |
| ``QDRANT_API_KEY`` | the server's API key (never shown, never logged) | none |
| ``QDRANT_TIMEOUT`` | seconds for each request to the server, and for a server that refuses connections | 10 |
| ``RECO_DATA_DIR`` | the folder of releases and embedded indexes | ``data/`` beside the code |
| ``RECO_RELEASES`` | the releases the app offers, comma-separated, the first the default | every known release |

The app also reads ``QDRANT_URL`` and ``QDRANT_API_KEY`` from Streamlit's secrets, before the
environment. A setting that does not parse raises `SettingError` naming it, never its value.
"""  # noqa: E501

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEFAULT_TIMEOUT = 10.0


class SettingError(ValueError):
    """A setting that cannot be used: the message names it, never its value."""


@dataclass(frozen=True)
class Settings:
    qdrant_url: str | None = None
    qdrant_api_key: str | None = field(default=None, repr=False)
    qdrant_timeout: float = DEFAULT_TIMEOUT
    data_dir: Path = DEFAULT_DATA_DIR
    releases: tuple[str, ...] = ()  # empty: every known release


def read_settings(
    environ: Mapping[str, str] | None = None, secrets: Mapping[str, object] | None = None
) -> Settings:
    """The settings from ``secrets`` (Streamlit's, for the server's address and key) and the
    environment (default: this process's), each checked (`SettingError`)."""
    environ = os.environ if environ is None else environ

    def value(name: str, secret: bool = False) -> str | None:
        given = secrets.get(name) if secret and secrets is not None else None
        text = str(given) if given else environ.get(name)
        return text if text else None

    url = check_url(value("QDRANT_URL", secret=True))
    key = check_key(value("QDRANT_API_KEY", secret=True))
    data_dir = value("RECO_DATA_DIR")
    releases = value("RECO_RELEASES") or ""
    return Settings(
        qdrant_url=url,
        qdrant_api_key=key,
        qdrant_timeout=check_timeout(value("QDRANT_TIMEOUT")),
        data_dir=Path(data_dir).expanduser() if data_dir else DEFAULT_DATA_DIR,
        releases=tuple(name.strip() for name in releases.split(",") if name.strip()),
    )


def _has_control(text: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def check_url(url: str | None) -> str | None:
    """A server address that qdrant-client can use, else `SettingError`."""
    if url is None or url == ":memory:" or url.startswith("file:"):
        return url
    problem = "QDRANT_URL is not a usable address: write http(s)://host:port"
    if _has_control(url) or any(c.isspace() for c in url):
        raise SettingError(f"{problem} (it holds spaces or a line ending)")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a port that is not a number from 0 to 65535
    except ValueError:
        raise SettingError(f"{problem} (its host or port does not parse)") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingError(f"{problem} (it needs http:// or https:// and a host)")
    return url


def check_key(key: str | None) -> str | None:
    """An API key that can go into a request header, else `SettingError` (without the key)."""
    if key is not None and (_has_control(key) or any(c.isspace() for c in key)):
        raise SettingError(
            "QDRANT_API_KEY holds spaces or a control character (a line ending from a "
            "secrets file saved on Windows?); remove them. Its value is not shown."
        )
    return key


def check_timeout(text: str | float | None) -> float:
    """Seconds from 0 to 3600 (exclusive), else `SettingError`."""
    if text is None or text == "":
        return DEFAULT_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        raise SettingError("QDRANT_TIMEOUT must be a number of seconds") from None
    if not (math.isfinite(seconds) and 0 < seconds < 3600):
        raise SettingError("the Qdrant timeout (QDRANT_TIMEOUT) must be between 0 and 3600 seconds")
    return seconds

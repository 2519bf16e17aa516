"""The MovieLens releases the project knows, where they live on this machine, and their
download (checksum, progress, a failure that leaves nothing behind)."""

from __future__ import annotations

import hashlib
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from reco.datasets.frames import DatasetError, DatasetUnavailable, Progress
from reco.settings import read_settings

_GROUPLENS = "https://files.grouplens.org/datasets/movielens/"


@dataclass(frozen=True)
class RemoteDataset:
    """Where a named release is published, the MD5 GroupLens gives for its zip, and what the
    release offers (GroupLens's own figures, shown before anything is downloaded)."""

    url: str
    md5: str | None  # None: read the checksum GroupLens publishes beside the zip
    users: int = 0
    ratings: int = 0
    movies: int = 0
    last_year: int = 0  # ratings and films up to this year
    demographics: bool = False
    download_mb: float = 0.0

    def describe(self) -> str:
        """``943 users, 100,000 ratings of 1,682 films up to 1998, with demographics``."""
        about = "with age, gender and occupation" if self.demographics else "no demographics"
        return (
            f"{self.users:,} users, {self.ratings:,} ratings of {self.movies:,} films up to "
            f"{self.last_year}, {about}"
        )


KNOWN_DATASETS: dict[str, RemoteDataset] = {
    "ml-100k": RemoteDataset(
        _GROUPLENS + "ml-100k.zip",
        "0e33842e24a9c977be4e0107933c0723",
        943,
        100_000,
        1_682,
        1998,
        True,
        4.9,
    ),
    "ml-1m": RemoteDataset(
        _GROUPLENS + "ml-1m.zip",
        "c4d9eecfca2ab87c1945afe126590906",
        6_040,
        1_000_209,
        3_706,
        2000,
        True,
        5.9,
    ),
    "ml-latest-small": RemoteDataset(
        _GROUPLENS + "ml-latest-small.zip", None, 610, 100_836, 9_742, 2018, False, 1.0
    ),
    "ml-25m": RemoteDataset(
        _GROUPLENS + "ml-25m.zip",
        "6b51fb2759a8657d3bfcbfc42b592ada",
        162_541,
        25_000_095,
        62_423,
        2019,
        False,
        250.0,
    ),
    "ml-32m": RemoteDataset(
        _GROUPLENS + "ml-32m.zip",
        "d472be332d4daa821edc399621853b57",
        200_948,
        32_000_204,
        87_585,
        2023,
        False,
        239.0,
    ),
}


DEFAULT_DATASET = "ml-100k"
"""The release the app and the command line open unless told otherwise."""


def release_named(name: object, unknown: str = "another release") -> str:
    """A release as a message may name it: a known release's name, never text that came
    from a link or a file."""
    return name if isinstance(name, str) and name in KNOWN_DATASETS else unknown


def default_data_dir() -> Path:
    """The folder holding datasets and indexes: ``$RECO_DATA_DIR`` or ``data/`` in the repo."""
    return read_settings().data_dir


def find_release(
    source: str | Path, *, data_dir: str | Path | None = None
) -> tuple[str, Path | None]:
    """The name of a release (a known name, or a zip's or folder's name) and where its files
    are, or None when they are not on disk (never downloads)."""
    text = str(source)
    if text in KNOWN_DATASETS:
        folder = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
        for candidate in (folder / f"{text}.zip", folder / text):
            if candidate.exists():
                return text, candidate
        return text, None
    path = Path(source).expanduser()
    return path.name.removesuffix(".zip"), path if path.exists() else None


def locate_dataset(
    name: str, *, data_dir: str | Path | None = None, progress: Progress | None = None
) -> Path:
    """Path of a named release in the data folder, downloading the zip if it is not there."""
    if name not in KNOWN_DATASETS:
        raise DatasetError(f"unknown dataset {name!r}; known: {', '.join(KNOWN_DATASETS)}")
    _, found = find_release(name, data_dir=data_dir)
    if found is not None:
        return found
    folder = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    return download_dataset(name, folder, progress=progress)


def available_datasets(data_dir: str | Path | None = None) -> list[str]:
    """Names of the known releases already present in the data folder."""
    folder = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    return [
        name
        for name in KNOWN_DATASETS
        if (folder / f"{name}.zip").exists() or (folder / name).is_dir()
    ]


def download_dataset(
    name: str,
    data_dir: str | Path,
    *,
    progress: Progress | None = None,
    remote: RemoteDataset | None = None,
    timeout: float = 30.0,
) -> Path:
    """Download ``<name>.zip`` into ``data_dir``, check its MD5, and return its path.

    The file appears under its final name only once complete and verified; a failed download
    leaves nothing behind and raises `DatasetUnavailable` saying where to put the zip by hand.
    """
    remote = remote or KNOWN_DATASETS[name]
    folder = Path(data_dir)
    target = folder / f"{name}.zip"
    partial = folder / f".{name}.zip.part"

    def unavailable(reason: str) -> DatasetUnavailable:
        return DatasetUnavailable(
            f"Could not download {name} from {remote.url} ({reason}). "
            f"If this machine is offline, download {remote.url} elsewhere and put it at "
            f"{target.resolve()} (or set RECO_DATA_DIR to the folder that holds {name}.zip)."
        )

    try:
        folder.mkdir(parents=True, exist_ok=True)
        expected = remote.md5 or _published_md5(remote.url, timeout)
        digest = hashlib.md5()
        with urllib.request.urlopen(remote.url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            done = 0
            with partial.open("wb") as out:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
    except (urllib.error.URLError, OSError, ValueError) as error:
        partial.unlink(missing_ok=True)
        reason = getattr(error, "reason", None) or error
        raise unavailable(str(reason)) from error
    if digest.hexdigest() != expected:
        partial.unlink(missing_ok=True)
        raise unavailable(f"checksum mismatch: got MD5 {digest.hexdigest()}, expected {expected}")
    partial.replace(target)
    return target


def _published_md5(url: str, timeout: float) -> str:
    with urllib.request.urlopen(url + ".md5", timeout=timeout) as response:
        text = response.read(4096).decode("ascii", "replace")
    match = re.search(r"\b[0-9a-fA-F]{32}\b", text)
    if match is None:
        raise ValueError(f"no MD5 in {url}.md5")
    return match.group(0).lower()

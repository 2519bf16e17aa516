"""MovieLens loading: ratings, movies and users as frames with standard columns.

`load_movielens(source)` reads ml-100k, the `::`-separated releases (ml-1m, ml-10m) and the CSV
releases (ml-latest-small, ml-25m, ml-32m, ...) from a zip or an extracted folder, and downloads a
named release into the data folder when it is missing.

- `frames`: the `Dataset` and its standard frames; `readers`: a release's files;
- `releases`: the known releases, the data folder and downloads; `titles`: display titles.
"""

from __future__ import annotations

from pathlib import Path

from reco.datasets.frames import (
    MOVIE_COLUMNS,
    NO_GENRE,
    RATING_COLUMNS,
    Dataset,
    DatasetError,
    DatasetUnavailable,
    Progress,
    pairs_ascending,
    user_columns,
)
from reco.datasets.readers import read_release
from reco.datasets.releases import (
    DEFAULT_DATASET,
    KNOWN_DATASETS,
    RemoteDataset,
    available_datasets,
    default_data_dir,
    download_dataset,
    find_release,
    locate_dataset,
    release_named,
)
from reco.datasets.titles import split_title
from reco.filters import AGE_GROUPS, age_group
from reco.words import plural

__all__ = [
    "AGE_GROUPS",
    "DEFAULT_DATASET",
    "KNOWN_DATASETS",
    "MOVIE_COLUMNS",
    "NO_GENRE",
    "RATING_COLUMNS",
    "Dataset",
    "DatasetError",
    "DatasetUnavailable",
    "Progress",
    "RemoteDataset",
    "age_group",
    "available_datasets",
    "default_data_dir",
    "download_dataset",
    "find_release",
    "load_movielens",
    "locate_dataset",
    "pairs_ascending",
    "release_named",
    "plural",
    "split_title",
    "user_columns",
]


def load_movielens(
    source: str | Path = "ml-100k",
    *,
    data_dir: str | Path | None = None,
    progress: Progress | None = None,
) -> Dataset:
    """Load a MovieLens release by name, from a zip, or from an extracted folder.

    A name (``ml-100k``, ``ml-1m``, ``ml-latest-small``, ``ml-25m``, ``ml-32m``) is looked up in
    ``data_dir`` (default `default_data_dir()`) as ``<name>.zip`` or ``<name>/`` and downloaded
    there, with ``progress(bytes_done, bytes_total)``, when missing.
    """
    text = str(source)
    if text in KNOWN_DATASETS:
        path = locate_dataset(text, data_dir=data_dir, progress=progress)
        name = text
    else:
        path = Path(source).expanduser()
        if not path.exists():
            known = ", ".join(KNOWN_DATASETS)
            raise DatasetError(f"{path} does not exist (and is not a known dataset: {known})")
        name = path.name.removesuffix(".zip")
    return read_release(path, name)

"""Building an index from a release, and deciding whether the one in a store is still current.

A build writes the users (`user_batches`), the films over their raters (`film_batches`), the
catalog of films and a manifest into a store.
Whether an index is current is decided from the manifest alone: its layout version, the
encoding it was built with and what the release file looked like (`release_signature`: sizes,
modification time and a hash of the first and last bytes of each file), so opening never
parses the ratings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from reco.catalog import Catalog
from reco.datasets import Dataset, Progress
from reco.datasets.readers import release_files
from reco.encode import Encoding, EncodingName, SparseRows, SparseVector, rows_from_ratings
from reco.filters import field_names
from reco.scale import STAR_STEPS
from reco.store import INDEX_VERSION, FilmPoint, Manifest, OpenIndex, UserPoint, UserStore

_EDGE_BYTES = 1 << 16  # bytes hashed at each end of every release file


def index_fingerprint(dataset: Dataset, encoding: Encoding) -> str:
    """What identifies an index: the data, the encoding and the index layout version."""
    text = f"{INDEX_VERSION}|{dataset.fingerprint}|{encoding.key}"
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


def release_signature(path: str | Path) -> dict[str, Any]:
    """What a release file (or folder) looks like, cheaply: total size, latest modification
    time and a hash of each file's name, size, first and last 64 KiB."""
    path = Path(path)
    if path.is_dir():
        files = sorted(release_files(path))
    else:
        files = [path]
    digest = hashlib.blake2b(digest_size=8)
    size, modified = 0, 0
    for file in files:
        stat = file.stat()
        size += stat.st_size
        modified = max(modified, stat.st_mtime_ns)
        name = file.name if file == path else str(file.relative_to(path))
        digest.update(f"{name}|{stat.st_size}|".encode())
        with file.open("rb") as handle:
            digest.update(handle.read(_EDGE_BYTES))
            if stat.st_size > 2 * _EDGE_BYTES:
                handle.seek(-_EDGE_BYTES, 2)
                digest.update(handle.read(_EDGE_BYTES))
    return {"file": path.name, "size": size, "mtime_ns": modified, "hash": digest.hexdigest()}


def same_release(recorded: Mapping[str, Any] | None, current: Mapping[str, Any]) -> bool:
    """Whether the release file is the one an index was built from (size, time and hash)."""
    if not recorded:
        return False
    return all(recorded.get(key) == current[key] for key in ("size", "mtime_ns", "hash"))


def encoding_of(manifest: Manifest) -> Encoding:
    """The encoding an index was built with (its fitted statistics included)."""
    given = manifest.encoding
    known = {f.name for f in fields(Encoding)}
    return Encoding(**{key: value for key, value in given.items() if key in known})


def same_encoding(manifest: Manifest, wanted: Encoding) -> bool:
    """Whether an index was built with ``wanted``'s choices (its fitted statistics aside)."""
    built = encoding_of(manifest)
    return built.spec == wanted.spec


def user_rows(dataset: Dataset) -> tuple[np.ndarray, SparseRows]:
    """The dataset's user ids (ascending) and their raw stars, one CSR row each."""
    ratings = dataset.ratings
    return rows_from_ratings(
        ratings["user_id"].to_numpy(),
        ratings["movie_id"].to_numpy(),
        ratings["rating"].to_numpy(),
    )


def user_demographics(dataset: Dataset) -> dict[int, dict[str, Any]]:
    """User id -> age and each filter field (`reco.filters`; empty without demographics)."""
    if dataset.users is None:
        return {}
    names = field_names()
    return {
        int(row["user_id"]): {
            "age": None if pd.isna(row["age"]) else int(row["age"]),
            **{name: str(row[name]) for name in names},
        }
        for row in dataset.users.to_dict("records")
    }


def user_batches(
    dataset: Dataset,
    encoding: Encoding,
    batch_size: int = 1_000,
    rows: tuple[np.ndarray, SparseRows] | None = None,
) -> Iterator[list[UserPoint]]:
    """The dataset's users as `UserPoint` batches: taste vector, raw stars, demographics.
    Encoded a batch at a time, so that only one batch of taste vectors is in memory.
    ``rows``: `user_rows` of the dataset, when the caller has them."""
    user_ids, stars = rows if rows is not None else user_rows(dataset)
    demographics = user_demographics(dataset)
    counts = np.diff(stars.indptr)
    for start in range(0, len(user_ids), batch_size):
        rows = np.arange(start, min(start + batch_size, len(user_ids)))
        own = stars.take(rows)
        taste = encoding.encode_rows(own)
        yield [
            UserPoint(
                user_id,
                taste.row(i),
                own.row(i),
                {"n_ratings": int(counts[row]), **demographics.get(user_id, {})},
            )
            for i, (row, user_id) in enumerate(zip(rows, user_ids[rows].tolist(), strict=True))
        ]


def film_batches(
    dataset: Dataset,
    encoding: Encoding,
    batch_size: int = 1_000,
    rows: tuple[np.ndarray, SparseRows] | None = None,
) -> Iterator[list[FilmPoint]]:
    """The dataset's rated films as `FilmPoint` batches: each film's raters as a unit-length
    vector over user ids, valued as the users' own vectors value their ratings (`Encoding`,
    before normalisation: so a film's vector is its column of the users' matrix), and how
    many gave it each half star. ``rows``: `user_rows` of the dataset, when the caller has
    them."""
    user_ids, stars = rows if rows is not None else user_rows(dataset)
    owner = np.repeat(np.arange(len(user_ids)), np.diff(stars.indptr))
    values = encoding.entry_values(stars, owner)
    users = user_ids[owner]
    movies = stars.indices.astype(np.int64)
    order = np.lexsort((users, movies))
    movies, users, values = movies[order], users[order], values[order]
    steps = np.rint(stars.values[order].astype(np.float64) * 2).astype(np.int64) - 1
    films, starts = np.unique(movies, return_index=True)
    ends = np.append(starts[1:], len(movies))
    counts = np.zeros((len(films), len(STAR_STEPS)), dtype=np.int64)
    np.add.at(counts, (np.repeat(np.arange(len(films)), ends - starts), steps), 1)
    for first in range(0, len(films), batch_size):
        batch = []
        for at in range(first, min(first + batch_size, len(films))):
            row = slice(starts[at], ends[at])
            vector, raters = values[row], users[row]
            norm = float(np.sqrt(vector @ vector))
            keep = vector != 0
            scaled = (vector[keep] / (norm if norm > 0 else 1.0)).astype(np.float32)
            batch.append(
                FilmPoint(
                    int(films[at]),
                    SparseVector(raters[keep].astype(np.int32), scaled),
                    tuple(int(c) for c in counts[at]),
                )
            )
        yield batch


def build_index(
    dataset: Dataset,
    store: UserStore,
    encoding: Encoding,
    *,
    release: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    batch_size: int = 1_000,
    force: bool = False,
) -> OpenIndex:
    """Index ``dataset`` into ``store`` (users, catalog, manifest) unless the store already
    holds exactly this index (``force``: build it anew all the same); ``release`` is the
    `release_signature` of the file it came from."""
    fingerprint = index_fingerprint(dataset, encoding)
    opened = None if force else store.ready(fingerprint)
    if opened is not None:
        return opened
    rows = user_rows(dataset)  # once, for the users and for the films
    users = len(rows[0])
    manifest = Manifest(
        dataset=dataset.name,
        ratings=len(dataset.ratings),
        encoding=asdict(encoding),
        release=dict(release) if release else None,
        warnings=tuple(dataset.warnings),
    )
    return store.rebuild(
        fingerprint,
        user_batches(dataset, encoding, batch_size, rows),
        total=users,
        catalog=Catalog.from_dataset(dataset),
        manifest=manifest,
        progress=progress,
        idf=encoding.idf,
        force=force,
        films=film_batches(dataset, encoding, batch_size, rows),
    )


def fit_encoding(
    dataset: Dataset,
    name: EncodingName,
    *,
    normalize: bool,
    idf: bool,
) -> Encoding:
    """The encoding ``name`` with its global statistics learnt from ``dataset``'s ratings."""
    return Encoding.fit(dataset.ratings["rating"].to_numpy(), name, normalize=normalize, idf=idf)


# --------------------------------------------------------------------------- the plan

Action = Literal["open", "refuse", "read"]


@dataclass(frozen=True)
class IndexPlan:
    """What to do with a release's index, decided from its manifest alone: ``open`` it,
    ``refuse`` it (on a server an app never rebuilds: ``reason`` says why), or ``read`` the
    release (then `after_reading` says whether to re-stamp the index or build it)."""

    action: Action
    reason: str = ""


def plan_index(
    current: Manifest | None,
    problem: str | None,
    *,
    server: bool,
    repair: bool,
    wanted: Encoding | None,
    signature: Mapping[str, Any] | None,
) -> IndexPlan:
    """The plan for an index whose store opened ``current`` (None: no usable index, and
    ``problem`` says why when one exists but is damaged). ``wanted``: the encoding asked
    for (None: whatever the index has); ``signature``: the release file's
    (`release_signature`; None when its files are not on this machine). On a server, an
    index that exists is never rebuilt unless ``repair`` is set."""
    fits = current is not None and (wanted is None or same_encoding(current, wanted))
    if server and not repair:
        if fits:
            return IndexPlan("open")
        if problem or current is not None:
            return IndexPlan("refuse", problem or "it was built with another encoding")
    if fits and (signature is None or same_release(current.release, signature)):  # type: ignore[union-attr]
        return IndexPlan("open")
    return IndexPlan("read")


def after_reading(current: Manifest | None, fingerprint: str) -> Literal["restamp", "build"]:
    """Once the release is read: the same data and encoding in a file of another date only
    re-stamps the index (``restamp``), anything else builds it."""
    return "restamp" if current is not None and current.fingerprint == fingerprint else "build"

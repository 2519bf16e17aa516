"""The store's interface and the types both engines share: users to store, neighbours found, an
open index and its manifest.

An index is the single source of truth after a build. It holds:

- one point per user: id = user id, a sparse ``taste`` vector (the encoded ratings, searched by
  dot product) and as payload the demographics and ``stars``, the raw ratings packed into one
  string (`reco.packed`), returned with each neighbour by `UserStore.similar_users`;
- one point per rated film: id = movie id, a sparse ``raters`` vector (dimension = user id,
  value = that user's encoded rating, unit length: films rated alike by the same people are
  near) and as payload ``stars``, how many gave it each half star (`FilmPoint`), queried by
  `UserStore.similar_films` ("more like this");
- the *catalog* of films and their figures (`reco.catalog.Catalog`);
- a *manifest* (`Manifest`): the index layout version, the fingerprint of data and encoding,
  the encoding's parameters, what the release file looked like (for staleness checks without
  reading it), counts and data notes.

`UserStore.open_current` opens the complete index of a name whatever its fingerprint (or says
why it cannot be used); `UserStore.rebuild` builds aside and switches only when complete.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Protocol

import numpy as np

from reco.catalog import Catalog
from reco.datasets import Progress
from reco.encode import SparseRows, SparseVector
from reco.filters import UserFilter

TASTE, STARS, RATERS = "taste", "stars", "raters"
INDEX_VERSION = 5
"""Layout of an index: 5 = users with stars packed in 16-bit words (`reco.packed`) + films
over their raters + catalog + manifest (4 had no films, 3 packed the stars in 32-bit words,
2 kept them in a second sparse vector, 1 had no catalog)."""


@dataclass(frozen=True)
class Manifest:
    """What an index says of itself. The builder gives the first five fields
    (`reco.index.build_index`); a store fills in the rest when the build is complete
    (`completed`), and that is the only place a manifest is written."""

    dataset: str = ""
    ratings: int = 0
    encoding: Mapping[str, Any] = field(default_factory=dict)
    """The `reco.encode.Encoding` the users were encoded with, its fitted statistics included."""
    release: Mapping[str, Any] | None = None
    """What the release file looked like (`reco.index.release_signature`)."""
    warnings: tuple[str, ...] = ()  # what the build skipped in the release (bad rows)
    version: int = INDEX_VERSION
    fingerprint: str = ""
    name: str = ""
    users: int = 0
    movies: int = 0
    build_seconds: float = 0.0
    created: str = ""
    cells: tuple[Mapping[str, Any], ...] = ()  # on a server: the catalog's cells
    files: Mapping[str, Any] = field(default_factory=dict)
    """Embedded: every file of the index and its size (and checksum), `reco.store.inventory`."""
    engine: Mapping[str, Any] = field(default_factory=dict)
    """Embedded: what the engine counted when the build was complete (points, vectors, the
    points of each payload index)."""

    def completed(
        self,
        *,
        fingerprint: str,
        name: str,
        users: int,
        movies: int,
        started: float,
        cells: Sequence[Mapping[str, Any]] = (),
        files: Mapping[str, Any] | None = None,
        engine: Mapping[str, Any] | None = None,
    ) -> Manifest:
        """This manifest as a store writes it once a build is complete."""
        return replace(
            self,
            files=dict(files or {}),
            engine=dict(engine or {}),
            version=INDEX_VERSION,
            fingerprint=fingerprint,
            name=name,
            users=users,
            movies=movies,
            build_seconds=round(time.perf_counter() - started, 3),
            created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            cells=tuple(cells),
        )

    def changed(self, changes: Mapping[str, Any]) -> Manifest:
        """This manifest with some fields changed (e.g. a re-stamped release); checked like a
        manifest read back."""
        return Manifest.from_json({**self.to_json(), **changes})

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["encoding"] = dict(self.encoding)
        data["release"] = None if self.release is None else dict(self.release)
        data["warnings"] = list(self.warnings)
        data["cells"] = [dict(cell) for cell in self.cells]
        data["files"] = dict(self.files)
        data["engine"] = dict(self.engine)
        return data

    @classmethod
    def from_json(cls, data: object) -> Manifest:
        """A manifest read back (from ``manifest.json`` or a collection's metadata); raises
        `ValueError` naming the field of a wrong shape (never its value)."""
        if not isinstance(data, Mapping):
            raise ValueError("the manifest is not an object")
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                continue  # a field of an older layout: ignored
            values[key] = _checked(key, value)
        return cls(**values)


_SHAPES: dict[str, tuple[type, ...]] = {
    "dataset": (str,),
    "ratings": (int,),
    "encoding": (Mapping,),
    "release": (Mapping, type(None)),
    "warnings": (list, tuple),
    "version": (int,),
    "fingerprint": (str,),
    "name": (str,),
    "users": (int,),
    "movies": (int,),
    "build_seconds": (int, float),
    "created": (str,),
    "cells": (list, tuple),
    "files": (Mapping,),
    "engine": (Mapping,),
}


def _checked(key: str, value: Any) -> Any:
    """A manifest field's value if it has the field's shape, else `ValueError`."""
    shapes = _SHAPES[key]
    if isinstance(value, bool) and bool not in shapes or not isinstance(value, shapes):
        raise ValueError(f"the manifest's {key} has the wrong shape")
    if key == "warnings":
        if not all(isinstance(w, str) for w in value):
            raise ValueError("the manifest's warnings have the wrong shape")
        return tuple(value)
    if key == "cells":
        if not all(isinstance(c, Mapping) for c in value):
            raise ValueError("the manifest's cells have the wrong shape")
        return tuple(value)
    return value


@dataclass(frozen=True)
class UserPoint:
    """One user to store."""

    user_id: int
    taste: SparseVector
    stars: SparseVector
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class FilmPoint:
    """One film to store: its raters as a vector, and how many gave it each half star."""

    movie_id: int
    raters: SparseVector
    stars: tuple[int, ...]  # ratings of 0.5, 1, ..., 5 stars (`reco.scale.STAR_STEPS`)


@dataclass(frozen=True)
class SimilarFilm:
    """A film found by `UserStore.similar_films`, and how near it is (the engine's score)."""

    movie_id: int
    similarity: float


EXAMPLE_RATERS = 200
"""A recommendation query's example films count by their strongest raters (largest values),
this many at most: the engine's work grows with the ratings of each rater in the query, so a
film of 50,000 raters then costs what one of 200 does (on ml-100k the same quality:
`python -m reco evaluate --similar`)."""


def strongest(indices: Sequence[int], values: Sequence[float], keep: int = EXAMPLE_RATERS):
    """A film's raters cut to the ``keep`` of largest magnitude, as (indices, values) arrays in
    index order."""
    indices, values = np.asarray(indices, dtype=np.int64), np.asarray(values, dtype=np.float64)
    if len(values) > keep:
        chosen = np.sort(np.argpartition(-np.abs(values), keep - 1)[:keep])
        indices, values = indices[chosen], values[chosen]
    return indices, values


Cut = tuple[np.ndarray, np.ndarray]  # a film's strongest raters: indices, values


def examples(
    found: Mapping[int, Any], positive: Sequence[int], negative: Sequence[int]
) -> tuple[list[Cut], list[Cut]]:
    """The examples of a more-like-this query from their vectors as an engine returned them
    (``found``: film id -> a sparse vector with ``indices`` and ``values``), each cut to its
    strongest raters (`strongest`): the liked, then the disliked, in the order given, those
    the engine has."""
    cut = {int(m): strongest(v.indices, v.values) for m, v in found.items()}
    return [cut[m] for m in positive if m in cut], [cut[m] for m in negative if m in cut]


@dataclass(frozen=True)
class Neighbours:
    """Users found for a query, most similar first: row ``i`` of ``stars`` holds the raw
    ratings of ``user_ids[i]``; ``payloads`` (demographics, ``n_ratings``) when asked for."""

    user_ids: np.ndarray
    similarities: np.ndarray
    stars: SparseRows
    payloads: tuple[Mapping[str, Any], ...] = ()

    def __len__(self) -> int:
        return len(self.user_ids)

    def take(self, keep: np.ndarray) -> Neighbours:
        """The neighbours at positions (or where the mask is true) ``keep``, in order."""
        positions = np.arange(len(self))[keep]
        payloads = tuple(self.payloads[i] for i in positions) if self.payloads else ()
        return Neighbours(
            self.user_ids[positions],
            self.similarities[positions],
            self.stars.take(positions),
            payloads,
        )

    @classmethod
    def empty(cls) -> Neighbours:
        return cls(
            np.empty(0, np.int64),
            np.empty(0, np.float64),
            SparseRows(np.zeros(1, np.int64), np.empty(0, np.int32), np.empty(0, np.float32)),
        )


@dataclass(frozen=True)
class OpenIndex:
    """A complete index a store has opened: its manifest and its catalog."""

    manifest: Manifest
    catalog: Catalog


class IndexDamaged(RuntimeError):
    """An index exists under the name but cannot be used (the message says why)."""


class UserStore(Protocol):
    """The few operations the recommender needs from a vector engine."""

    description: str
    server: bool  # a shared Qdrant server: an app never rebuilds its index on its own

    def open_current(self) -> OpenIndex | None:
        """Open the complete index of this name, whatever its fingerprint; None when there is
        none. Raises `IndexDamaged` when one exists but cannot be used (older layout version,
        missing or damaged catalog, users missing), `StoreUnavailable` when the engine
        cannot be reached."""
        ...

    def ready(self, fingerprint: str) -> OpenIndex | None:
        """The open index when the store holds a complete, usable one with this fingerprint."""
        ...

    def rebuild(
        self,
        fingerprint: str,
        batches: Iterable[Sequence[UserPoint]],
        *,
        total: int,
        catalog: Catalog,
        manifest: Manifest,
        progress: Progress | None = None,
        idf: bool = False,
        force: bool = False,
        films: Iterable[Sequence[FilmPoint]] = (),
    ) -> OpenIndex:
        """Build the index aside from ``batches`` (users), ``films``, ``catalog`` and
        ``manifest`` and switch to it once complete (a store may instead open the same
        fingerprint when another process has just built it). Raises `StoreUnavailable` when
        the engine cannot be reached.

        ``force``: build even when the store holds a sound index of this fingerprint (a
        store that always builds aside, as a server's does, has nothing to skip).

        With ``idf``, the engine weighs each movie in the similarity by its inverse document
        frequency: agreeing on a rarely rated movie counts more than on a popular one.
        """
        ...

    def update_manifest(self, changes: Mapping[str, Any]) -> OpenIndex:
        """Merge ``changes`` into the open index's manifest (e.g. a re-stamped release)."""
        ...

    def upsert(self, users: Sequence[UserPoint]) -> None: ...

    def similar_users(
        self,
        query: SparseVector,
        limit: int,
        where: UserFilter | None = None,
        *,
        with_payload: bool = False,
    ) -> Neighbours:
        """The ``limit`` users with the highest dot product with ``query``, best first, with
        their stored star ratings (and payloads when ``with_payload``)."""
        ...

    def similar_users_batch(
        self, queries: Sequence[SparseVector], limit: int, where: UserFilter | None = None
    ) -> list[Neighbours]:
        """`similar_users` for several queries sent to the engine as one batch, answers in
        the same order (an empty query: no neighbours)."""
        ...

    def similar_films(
        self,
        positive: Sequence[int],
        negative: Sequence[int] = (),
        limit: int = 10,
        exclude: Collection[int] = (),
    ) -> list[SimilarFilm]:
        """Qdrant's recommendation query over the films (the average-vector strategy: nearest
        to ``2 * mean(positive) - mean(negative)``, or to the positives' mean alone), best
        first, never one of ``positive``, ``negative`` or ``exclude``. Films without raters are
        not stored: an unknown id among the examples is left out."""
        ...

    def film_stars(self, movie_ids: Sequence[int]) -> dict[int, tuple[int, ...]]:
        """How many gave each film each half star (the films that have raters)."""
        ...

    def count(self, where: UserFilter | None = None) -> int: ...

    def facet(self, field: str, where: UserFilter | None = None) -> dict[str, int]:
        """How many users hold each value of a payload field (under a filter)."""
        ...

    def close(self) -> None: ...


def is_index_name(name: str, candidate: str) -> bool:
    """Whether ``candidate`` is ``<name>-<fingerprint>``: fingerprints never hold a dash, so
    the indexes of ``ml-latest`` are never mistaken for those of ``ml-latest-small``."""
    prefix = f"{name}-"
    return (
        candidate.startswith(prefix)
        and "-" not in candidate[len(prefix) :]
        and (len(candidate) > len(prefix))
    )


class StoreUnavailable(RuntimeError):
    """The vector engine cannot be reached or opened."""


class IndexNotBuilt(StoreUnavailable):
    """A build that could not be completed here (too little free space, a folder it cannot
    write, the engine failing to write): the message names the folder, for the operator;
    ``reason`` says what happened without it, for a page's visitors. Nothing of the build is
    left behind, and the index in use, if any, stays."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


class IndexFromNewerVersion(StoreUnavailable):
    """An index of a newer layout than this program reads: never rebuilt over (the program is
    older than the index), the message says what to do."""


def read_manifest(data: object, index: str) -> Manifest:
    """The manifest of ``index`` (e.g. "the index ml-100k-…") as read back; `IndexDamaged`
    when it is of another layout than this program's or of the wrong shape."""
    if isinstance(data, Mapping):
        version = data.get("version", 1)
        if version != INDEX_VERSION:
            known = isinstance(version, int) and not isinstance(version, bool)
            if known and version > INDEX_VERSION:
                raise IndexFromNewerVersion(
                    f"{index} was built by a newer version of this program (layout {version}; "
                    f"this one reads layout {INDEX_VERSION}): update the program, or remove "
                    "the index to build it anew"
                )
            raise IndexDamaged(
                f"{index} was built by an older version of this program "
                f"(layout {version if known else '?'}, now {INDEX_VERSION})"
            )
        if "encoding" not in data:  # else opened with another encoding than it was built with
            raise IndexDamaged(f"the manifest of {index} is damaged (it names no encoding)")
    try:
        return Manifest.from_json(data)
    except ValueError as error:
        raise IndexDamaged(f"the manifest of {index} is damaged ({error})") from None

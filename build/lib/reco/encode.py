"""Ratings to sparse vectors: index = movie id, value = normalised rating.

Indexed users and the query (the app user's own stars) go through the same `Encoding`, so a
query and a stored user are comparable by dot product. Zero values are dropped.

Encodings, chosen by name:

- ``zscore``: the seed notebook's global z-score, ``(r - mean) / std`` over all ratings.
- ``centered``: the rating minus the user's own mean, the mean shrunk towards the global mean
  by ``shrinkage`` pseudo-ratings (so a profile of only 5-star ratings still says "liked").
- ``liked``: +1 for a rating of 4 or more, -1 for 2 or less; the rest is dropped.
- ``binary``: 1 for every rated movie (who watched what, not how they liked it).
- ``centered_offset``: ``centered`` plus ``offset`` (default 1): rating a movie counts for
  something, a rating far below one's mean still counts against it.

With ``normalize=True`` every vector has unit length, so the dot product is the cosine. With
``idf=True`` the engine also weighs each movie by its inverse document frequency (Qdrant's IDF
modifier), so agreeing on a rarely rated movie says more than agreeing on a popular one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from reco.datasets import pairs_ascending
from reco.scale import CLEARLY_DISLIKED_AT, LIKED_AT, MAX_STARS, MIN_STARS

EncodingName = Literal["zscore", "centered", "liked", "binary", "centered_offset"]
ENCODINGS: tuple[str, ...] = get_args(EncodingName)


@dataclass(frozen=True)
class SparseVector:
    """Sorted unique int32 indices with their non-zero float32 values."""

    indices: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.indices)

    def as_dict(self) -> dict[int, float]:
        return dict(zip(self.indices.tolist(), self.values.tolist(), strict=True))


@dataclass(frozen=True)
class SparseRows:
    """Many sparse vectors in CSR layout: row ``i`` is ``indices[indptr[i]:indptr[i + 1]]``."""

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def row(self, i: int) -> SparseVector:
        start, end = self.indptr[i], self.indptr[i + 1]
        return SparseVector(self.indices[start:end], self.values[start:end])

    @staticmethod
    def stack(parts: Sequence[SparseRows]) -> SparseRows:
        """The rows of ``parts``, one after the other, as one CSR matrix."""
        sizes = [int(part.indptr[-1]) for part in parts]
        offsets = np.cumsum([0, *sizes[:-1]])
        indptr = np.concatenate(
            [[0], *(part.indptr[1:] + offset for part, offset in zip(parts, offsets, strict=True))]
        ).astype(np.int64)
        return SparseRows(
            indptr,
            np.concatenate([part.indices for part in parts]),
            np.concatenate([part.values for part in parts]),
        )

    def slice(self, start: int, stop: int) -> SparseRows:
        """Rows ``start`` to ``stop`` (exclusive) as views, without copying."""
        first, last = int(self.indptr[start]), int(self.indptr[stop])
        return SparseRows(
            self.indptr[start : stop + 1] - first,
            self.indices[first:last],
            self.values[first:last],
        )

    def take(self, rows: np.ndarray) -> SparseRows:
        """Rows ``rows`` (positions), in that order, as one CSR matrix (no Python loop)."""
        rows = np.asarray(rows, dtype=np.int64)
        starts, ends = self.indptr[rows], self.indptr[rows + 1]
        lengths = ends - starts
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        take = np.arange(indptr[-1]) - np.repeat(indptr[:-1] - starts, lengths)
        return SparseRows(indptr, self.indices[take], self.values[take])


def row_sums(values: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """The sum of each CSR row's ``values`` (0 for an empty row), in float64: one
    ``np.add.reduceat`` over the non-empty rows, several times faster than a weighted
    bincount by owner."""
    counts = np.diff(indptr)
    sums = np.zeros(len(counts), dtype=np.float64)
    filled = counts > 0
    if filled.any():
        sums[filled] = np.add.reduceat(np.asarray(values, dtype=np.float64), indptr[:-1][filled])
    return sums


@dataclass(frozen=True)
class Encoding:
    """How ratings become vector values; `fit` learns the global statistics from the data."""

    name: EncodingName = "centered"
    normalize: bool = False
    shrinkage: float = 5.0
    global_mean: float = 3.5
    global_std: float = 1.0
    offset: float = 1.0  # for centered_offset
    idf: bool = False  # applied by the engine at query time

    def __post_init__(self) -> None:
        if self.name not in ENCODINGS:
            raise ValueError(
                f"unknown encoding {self.name!r}; choose one of {', '.join(ENCODINGS)}"
            )
        if self.shrinkage < 0 or not math.isfinite(self.shrinkage):
            raise ValueError("shrinkage must be a finite number >= 0")
        if not self.global_std > 0:
            raise ValueError("global_std must be positive")
        if not math.isfinite(self.offset):
            raise ValueError("offset must be finite")

    @classmethod
    def fit(
        cls,
        stars: np.ndarray,
        name: EncodingName = "centered",
        *,
        normalize: bool = False,
        shrinkage: float = 5.0,
        offset: float = 1.0,
        idf: bool = False,
    ) -> Encoding:
        """An encoding whose global mean and standard deviation come from ``stars``."""
        stars = np.asarray(stars, dtype=np.float64)
        mean = float(stars.mean()) if len(stars) else 3.5
        std = float(stars.std()) if len(stars) > 1 else 1.0
        return cls(name, normalize, shrinkage, mean, std if std > 0 else 1.0, offset, idf)

    @property
    def spec(self) -> tuple[object, ...]:
        """The choices that make an encoding, without the statistics `fit` learns."""
        return (self.name, self.normalize, self.shrinkage, self.offset, self.idf)

    @property
    def key(self) -> str:
        """What identifies the encoding in an index fingerprint."""
        return (
            f"{self.name}:n={int(self.normalize)}:k={self.shrinkage:g}:"
            f"m={self.global_mean:.6f}:s={self.global_std:.6f}:o={self.offset:g}:"
            f"idf={int(self.idf)}"
        )

    def entry_values(self, rows: SparseRows, owner: np.ndarray | None = None) -> np.ndarray:
        """The encoded value of every rating in ``rows`` (one CSR row per user), before any
        normalisation to unit length; float64, entry by entry. ``owner``: each entry's row,
        when the caller has it."""
        if owner is None:
            owner = np.repeat(np.arange(len(rows)), np.diff(rows.indptr))
        return self._values(rows.values.astype(np.float64), owner, rows.indptr)

    def encode_rows(self, rows: SparseRows) -> SparseRows:
        """Encode users' star ratings (one CSR row per user, indices sorted) to taste vectors."""
        counts = np.diff(rows.indptr)
        owner = np.repeat(np.arange(len(rows)), counts)
        values = self.entry_values(rows, owner)
        if self.normalize:
            norms = np.sqrt(row_sums(values * values, rows.indptr))
            values = values / np.where(norms > 0, norms, 1.0)[owner]
        values = values.astype(np.float32)
        keep = values != 0
        kept_per_row = np.bincount(owner[keep], minlength=len(rows))
        indptr = np.concatenate([[0], np.cumsum(kept_per_row)]).astype(np.int64)
        return SparseRows(indptr, rows.indices[keep], values[keep])

    def encode_query(self, ratings: Mapping[int, float]) -> SparseVector:
        """Encode one profile ``{movie_id: stars}`` the same way as the indexed users."""
        count = len(ratings)
        movie_ids = np.fromiter(ratings.keys(), dtype=np.int64, count=count)
        stars = np.fromiter(ratings.values(), dtype=np.float64, count=count)
        check_stars(stars)
        order = np.argsort(movie_ids)
        row = SparseRows(np.array([0, count]), movie_ids[order].astype(np.int32), stars[order])
        return self.encode_rows(row).row(0)

    def encode_queries(self, profiles: Sequence[Mapping[int, float]]) -> list[SparseVector]:
        """Encode several profiles at once (one pass over all their ratings), in order."""
        sizes = np.fromiter(map(len, profiles), dtype=np.int64, count=len(profiles))
        indptr = np.zeros(len(profiles) + 1, dtype=np.int64)
        np.cumsum(sizes, out=indptr[1:])
        movie_ids = np.fromiter(
            (m for ratings in profiles for m in ratings), dtype=np.int64, count=int(indptr[-1])
        )
        stars = np.fromiter(
            (v for ratings in profiles for v in ratings.values()),
            dtype=np.float64,
            count=int(indptr[-1]),
        )
        check_stars(stars)
        owner = np.repeat(np.arange(len(profiles)), sizes)
        order = np.lexsort((movie_ids, owner))  # movie ids ascending within each profile
        rows = SparseRows(indptr, movie_ids[order].astype(np.int32), stars[order])
        encoded = self.encode_rows(rows)
        return [encoded.row(i) for i in range(len(profiles))]

    def _values(self, stars: np.ndarray, owner: np.ndarray, indptr: np.ndarray) -> np.ndarray:
        if self.name == "zscore":
            return (stars - self.global_mean) / self.global_std
        if self.name == "liked":
            return np.where(
                stars >= LIKED_AT, 1.0, np.where(stars <= CLEARLY_DISLIKED_AT, -1.0, 0.0)
            )
        if self.name == "binary":
            return np.ones_like(stars)
        centered = stars - self.user_means(stars, indptr)[owner]
        return centered + self.offset if self.name == "centered_offset" else centered

    def user_means(self, stars: np.ndarray, indptr: np.ndarray) -> np.ndarray:
        """Each user's mean rating (one CSR row of ``stars`` per user, rows ``indptr``), shrunk
        towards the global mean by ``shrinkage``."""
        counts = np.diff(indptr)
        sums = row_sums(stars, indptr)
        weight = counts + self.shrinkage  # 0 only for a user with no ratings and no shrinkage
        means = np.full(len(counts), self.global_mean)
        return np.divide(
            sums + self.shrinkage * self.global_mean, weight, out=means, where=weight > 0
        )


def check_stars(stars: np.ndarray) -> None:
    """Raise `ValueError` unless every rating is a number from 0.5 to 5."""
    bad = ~((stars >= MIN_STARS) & (stars <= MAX_STARS))  # also catches NaN
    if bad.any():
        raise ValueError(
            f"ratings must be from {MIN_STARS} to {MAX_STARS} stars; got {float(stars[bad][0])}"
        )


def rows_from_ratings(
    user_ids: np.ndarray, movie_ids: np.ndarray, stars: np.ndarray
) -> tuple[np.ndarray, SparseRows]:
    """Group (user, movie, stars) triples into one CSR row of raw stars per user.

    Returns the sorted unique user ids and their rows, movie ids sorted within each row.
    """
    user_ids, movie_ids = np.asarray(user_ids), np.asarray(movie_ids)
    if pairs_ascending(user_ids, movie_ids):  # already by user, then movie (as releases are)
        order: np.ndarray | slice = slice(None)
    else:
        order = np.lexsort((movie_ids, user_ids))
    users_sorted = user_ids[order]
    unique_users, counts = np.unique(users_sorted, return_counts=True)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    rows = SparseRows(
        indptr,
        np.asarray(movie_ids, dtype=np.int32)[order],
        np.asarray(stars, dtype=np.float32)[order],
    )
    return unique_users, rows

"""User-based collaborative filtering on a vector store.

The query profile ``{movie_id: stars}`` is encoded like the indexed users; the store returns the
most similar users (optionally within an age group, gender or occupation) with their raw stars;
`score_candidates` aggregates their ratings of movies the profile has not rated:

    score(movie) = sum over neighbours v who rated it of  w_v * (e_v(movie) + offset)

where ``w_v = similarity_v ** similarity_exponent`` (neighbours with similarity <= 0 are
ignored), ``e_v`` is the neighbour's rating encoded like the index (without length
normalisation) and ``offset`` rewards being rated at all. The seed notebook's method is the
special case ``zscore`` encoding, 20 neighbours, exponent 0 (unweighted) and offset 0.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reco.datasets import AGE_GROUPS, Dataset, Progress, load_movielens
from reco.encode import (
    LIKED_AT,
    Encoding,
    EncodingName,
    SparseRows,
    check_stars,
    rows_from_ratings,
)
from reco.store import (
    EdgeStore,
    SimilarUser,
    StoreUnavailable,
    UserFilter,
    UserPoint,
    UserStore,
    open_store,
)

INDEX_VERSION = "1"
# Chosen by `python -m reco evaluate --tune` on ml-100k (README, "Recommendation quality").
DEFAULT_ENCODING: EncodingName = "centered_offset"
DEFAULT_NORMALIZE = True  # unit-length vectors: dot product = cosine similarity
DEFAULT_IDF = True  # Qdrant's IDF modifier: agreeing on a rare movie counts more


@dataclass(frozen=True)
class ScoringOptions:
    """How neighbours' ratings become scores."""

    neighbours: int = 100
    min_raters: int = 2
    similarity_exponent: float = 3.0
    offset: float = 2.0
    liked_only: bool = False  # only neighbours' ratings of 4+ stars contribute
    popularity_penalty: float = 0.15  # divide scores by (ratings of the movie) ** this

    def __post_init__(self) -> None:
        if not 1 <= self.neighbours <= 10_000:
            raise ValueError("neighbours must be from 1 to 10000")
        if self.min_raters < 1:
            raise ValueError("min_raters must be at least 1")
        if not (math.isfinite(self.similarity_exponent) and self.similarity_exponent >= 0):
            raise ValueError("similarity_exponent must be a finite number >= 0")
        if not math.isfinite(self.offset):
            raise ValueError("offset must be finite")
        if not (math.isfinite(self.popularity_penalty) and self.popularity_penalty >= 0):
            raise ValueError("popularity_penalty must be a finite number >= 0")


SEED_OPTIONS = ScoringOptions(
    neighbours=20,
    min_raters=1,
    similarity_exponent=0.0,
    offset=0.0,
    liked_only=False,
    popularity_penalty=0.0,
)
"""The seed notebook's aggregation: unweighted sum of the top 20 neighbours' values."""


@dataclass(frozen=True)
class Recommendation:
    """A recommended movie, with what the neighbours thought of it."""

    movie_id: int
    title: str
    year: int | None
    genres: str
    score: float
    raters: int
    mean_rating: float
    popular: bool = False  # True: a popularity fallback, not personalised


@dataclass(frozen=True)
class Neighbour:
    """A user of similar taste used for the recommendations."""

    user_id: int
    similarity: float
    ratings: int
    common: int
    age: int | None = None
    age_group: str | None = None
    gender: str | None = None
    occupation: str | None = None


@dataclass(frozen=True)
class NeighbourRating:
    """One neighbour's rating of one recommended movie (the "why" of a recommendation)."""

    neighbour: Neighbour
    stars: float


@dataclass(frozen=True)
class Recommendations:
    """Recommendations with the neighbours behind them."""

    items: tuple[Recommendation, ...]
    neighbours: tuple[Neighbour, ...]
    popular: bool
    where: UserFilter
    _stars: SparseRows | None = field(default=None, repr=False)  # row i: neighbours[i]

    def why(self, movie_id: int) -> list[NeighbourRating]:
        """The neighbours who rated ``movie_id`` and their stars, most similar first."""
        if self._stars is None:
            return []
        rows = self._stars
        positions = np.flatnonzero(rows.indices == movie_id)
        owners = np.searchsorted(rows.indptr, positions, side="right") - 1
        return [
            NeighbourRating(self.neighbours[owner], float(rows.values[position]))
            for owner, position in zip(owners.tolist(), positions.tolist(), strict=True)
        ]


@dataclass(frozen=True)
class Candidates:
    """Aggregated neighbour ratings of candidate movies, best first."""

    movie_ids: np.ndarray
    scores: np.ndarray
    raters: np.ndarray
    mean_stars: np.ndarray


def score_candidates(
    neighbour_stars: SparseRows,
    similarities: np.ndarray,
    exclude: np.ndarray,
    encoding: Encoding,
    options: ScoringOptions,
    popularity: np.ndarray | None = None,
    values: np.ndarray | None = None,
) -> Candidates:
    """Score every movie the neighbours rated and ``exclude`` does not hold, best first.

    Movies rated by fewer than ``options.min_raters`` counted neighbours are left out; ties are
    broken by movie id so the order is deterministic. ``popularity[movie_id]`` (rating counts)
    is needed when ``options.popularity_penalty`` is set. ``values``: the neighbours' stars
    already encoded (without normalisation), when the caller keeps them.
    """
    similarities = np.asarray(similarities, dtype=np.float64)
    positive = np.maximum(similarities, 0.0)
    weights = positive**options.similarity_exponent
    if options.similarity_exponent > 0:
        weights[positive == 0] = 0.0
    counts = np.diff(neighbour_stars.indptr)
    owner = np.repeat(np.arange(len(counts)), counts)
    stars = neighbour_stars.values.astype(np.float64)
    if values is None:
        values = encoding.entry_values(neighbour_stars)
    movie_ids = neighbour_stars.indices
    owner_weights = weights[owner]
    if not (weights > 0).all():  # drop the neighbours that do not count
        counted = owner_weights > 0
        owner_weights, values = owner_weights[counted], values[counted]
        stars, movie_ids = stars[counted], movie_ids[counted]
    contribution = owner_weights * (values + options.offset)
    if options.liked_only:
        contribution = contribution * (stars >= LIKED_AT)
    movies, (scores, raters, star_sums) = _sum_by_movie(movie_ids, [contribution, None, stars])
    if options.popularity_penalty > 0:
        if popularity is None:
            raise ValueError("popularity_penalty needs the movies' rating counts")
        scores = scores / np.maximum(popularity[movies], 1.0) ** options.popularity_penalty
    keep = raters >= options.min_raters
    exclude = np.asarray(exclude, dtype=np.int64)
    if len(exclude) and len(movies):  # movies are ascending: find the rated ones by bisection
        at = np.minimum(np.searchsorted(movies, exclude), len(movies) - 1)
        keep[at[movies[at] == exclude]] = False
    movies, scores, raters, star_sums = movies[keep], scores[keep], raters[keep], star_sums[keep]
    order = np.lexsort((movies, -scores))
    return Candidates(
        movies[order], scores[order], raters[order], (star_sums / np.maximum(raters, 1))[order]
    )


def _sum_by_movie(
    movie_ids: np.ndarray, columns: list[np.ndarray | None]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The distinct movies (ascending) and, per column, its sum for each movie (``None``: a
    count). Dense bincounts when movie ids are compact, a sort when they are sparse."""
    if len(movie_ids) == 0:
        return movie_ids.astype(np.int64), [np.zeros(0) for _ in columns]
    size = int(movie_ids.max()) + 1
    if size <= 8 * len(movie_ids):
        counts = np.bincount(movie_ids, minlength=size)
        movies = np.flatnonzero(counts)
        sums = [
            counts[movies] if c is None else np.bincount(movie_ids, c, minlength=size)[movies]
            for c in columns
        ]
        return movies, sums
    movies, inverse = np.unique(movie_ids, return_inverse=True)
    sums = [np.bincount(inverse, c, minlength=len(movies)) for c in columns]
    return movies, sums


def index_fingerprint(dataset: Dataset, encoding: Encoding) -> str:
    """What identifies an index: the data, the encoding and the index layout version."""
    text = f"{INDEX_VERSION}|{dataset.fingerprint}|{encoding.key}"
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


class Recommender:
    """Recommendations for a profile ``{movie_id: stars}`` from similar users in a store.

    Safe to share between threads (Streamlit sessions): queries only read.
    """

    def __init__(
        self,
        dataset: Dataset,
        store: UserStore,
        encoding: Encoding,
        options: ScoringOptions | None = None,
    ):
        self.dataset = dataset
        self.store = store
        self.encoding = encoding
        self.options = options or ScoringOptions()
        movies = dataset.movies.set_index("movie_id")
        self._titles: dict[int, str] = movies["title"].to_dict()
        self._years: dict[int, Any] = movies["year"].to_dict()
        self._genres: dict[int, str] = movies["genres"].to_dict()
        self.movie_ids: frozenset[int] = frozenset(self._titles)
        """Every movie id of the dataset (a profile may only rate these)."""
        counts = dataset.ratings["movie_id"].value_counts()
        self.rating_counts = np.zeros(int(dataset.movies["movie_id"].max()) + 1, dtype=np.float64)
        self.rating_counts[counts.index.to_numpy()] = counts.to_numpy()
        users = dataset.users
        self._choices: dict[str, frozenset[str]] = {}
        if users is not None:
            self._choices = {
                "age_group": frozenset(AGE_GROUPS),
                "gender": frozenset(users["gender"].unique()),
                "occupation": frozenset(users["occupation"].unique()),
            }
        self._popular_cache: dict[UserFilter, list[tuple[int, int, int, float]]] = {}
        self._popular_lock = threading.Lock()
        self._user_table: _UserTable | None = None
        self._user_table_lock = threading.Lock()

    # ------------------------------------------------------------------ construction

    @classmethod
    def build(
        cls,
        dataset: Dataset,
        store: UserStore | None = None,
        *,
        encoding: EncodingName | Encoding = DEFAULT_ENCODING,
        normalize: bool = DEFAULT_NORMALIZE,
        idf: bool = DEFAULT_IDF,
        progress: Progress | None = None,
        batch_size: int = 1_000,
        **options: Any,
    ) -> Recommender:
        """A recommender over ``dataset``, indexing it into ``store`` unless already there.

        ``store=None`` indexes into a temporary embedded Qdrant Edge store (for tests and
        evaluation). ``options`` are `ScoringOptions` fields. ``progress(users_done, total)``
        is called while indexing.
        """
        if not isinstance(encoding, Encoding):
            encoding = Encoding.fit(
                dataset.ratings["rating"].to_numpy(), encoding, normalize=normalize, idf=idf
            )
        store = store if store is not None else EdgeStore.temporary(dataset.name)
        fingerprint = index_fingerprint(dataset, encoding)
        if not store.ready(fingerprint):
            total = int(dataset.ratings["user_id"].nunique())
            store.rebuild(
                fingerprint,
                user_batches(dataset, encoding, batch_size),
                total=total,
                progress=progress,
                idf=encoding.idf,
            )
        return cls(dataset, store, encoding, ScoringOptions(**options))

    # ------------------------------------------------------------------ queries

    def recommend(
        self,
        ratings: Mapping[int, float],
        limit: int = 10,
        age_groups: Sequence[str] | None = None,
        genders: Sequence[str] | None = None,
        occupations: Sequence[str] | None = None,
        neighbours: int | None = None,
    ) -> list[Recommendation]:
        """The best ``limit`` movies for a profile, best first; never a rated movie.

        Raises `ValueError` for unknown movie ids, ratings outside 0.5-5, or unknown filter
        values. An empty profile gets popular movies, flagged ``popular=True``.
        """
        result = self._answer(
            ratings, limit, age_groups, genders, occupations, neighbours, None, explain=False
        )
        return list(result.items)

    def recommend_explained(
        self,
        ratings: Mapping[int, float],
        limit: int = 10,
        age_groups: Sequence[str] | None = None,
        genders: Sequence[str] | None = None,
        occupations: Sequence[str] | None = None,
        neighbours: int | None = None,
        min_raters: int | None = None,
    ) -> Recommendations:
        """Like `recommend`, with the neighbours used and each item's "why"."""
        return self._answer(
            ratings, limit, age_groups, genders, occupations, neighbours, min_raters, explain=True
        )

    def _answer(
        self,
        ratings: Mapping[int, float],
        limit: int,
        age_groups: Sequence[str] | None,
        genders: Sequence[str] | None,
        occupations: Sequence[str] | None,
        neighbours: int | None,
        min_raters: int | None,
        *,
        explain: bool,
    ) -> Recommendations:
        profile = self.check_profile(ratings)
        if not isinstance(limit, int) or not 1 <= limit <= 1_000:
            raise ValueError("limit must be a whole number from 1 to 1000")
        overrides: dict[str, int] = {}
        if neighbours is not None:
            overrides["neighbours"] = neighbours
        if min_raters is not None:
            overrides["min_raters"] = min_raters
        options = replace(self.options, **overrides) if overrides else self.options
        where = self.user_filter(age_groups, genders, occupations)
        if not profile:
            return Recommendations(self.popular(limit, where), (), True, where)

        query = self.encoding.encode_query(profile)
        # Ids and similarities from the engine; the neighbours' stars from memory (the same
        # values the index holds), which is most of the answer's cost when fetched instead.
        user_ids, similarities = self.store.similar_ids(query, options.neighbours, where)
        counted = counting(similarities, options)
        user_ids, similarities = user_ids[counted], similarities[counted]
        if not len(user_ids):
            return Recommendations(self.popular(limit, where, exclude=profile), (), True, where)
        table = self._users()
        rows, take = gather_rows(table.stars, table.row_of(user_ids))
        exclude = np.fromiter(profile, dtype=np.int64, count=len(profile))
        candidates = self.score_neighbours(
            rows, similarities, exclude, options, values=table.values[take]
        )
        items = tuple(
            self._item(int(m), float(s), int(r), float(mean))
            for m, s, r, mean in zip(
                candidates.movie_ids[:limit],
                candidates.scores[:limit],
                candidates.raters[:limit],
                candidates.mean_stars[:limit],
                strict=True,
            )
        )
        if not explain:  # recommend(): the items are all it returns
            return Recommendations(items, (), False, where)
        counts = np.diff(rows.indptr)
        owner = np.repeat(np.arange(len(user_ids)), counts)
        common = np.bincount(
            owner, weights=np.isin(rows.indices, exclude), minlength=len(user_ids)
        ).astype(int)
        neighbours = tuple(
            table.neighbour(user, similarity, rated, shared)
            for user, similarity, rated, shared in zip(
                user_ids.tolist(),
                similarities.tolist(),
                counts.tolist(),
                common.tolist(),
                strict=True,
            )
        )
        return Recommendations(items, neighbours, False, where, rows)

    def _users(self) -> _UserTable:
        """Every user's stars and demographics in memory, made on the first query."""
        if self._user_table is None:
            with self._user_table_lock:
                if self._user_table is None:
                    self._user_table = _UserTable.of(self.dataset, self.encoding)
        return self._user_table

    def score_neighbours(
        self,
        rows: SparseRows,
        similarities: np.ndarray,
        exclude: np.ndarray,
        options: ScoringOptions,
        values: np.ndarray | None = None,
    ) -> Candidates:
        """`score_candidates` with this recommender's encoding and rating counts: the one
        scoring rule of `recommend` and of the tuning in `evaluate`. ``rows`` are the counted
        neighbours' stars (see `counting`), ``similarities`` theirs."""
        return score_candidates(
            rows, similarities, exclude, self.encoding, options, self.rating_counts, values
        )

    def popular(
        self, limit: int = 10, where: UserFilter | None = None, exclude: Mapping[int, Any] = {}
    ) -> tuple[Recommendation, ...]:
        """Most liked movies (count of 4+ star ratings) among the users matching ``where``."""
        ranked = self._popularity(where or UserFilter())
        items = []
        for movie_id, liked, raters, mean in ranked:
            if movie_id in exclude:
                continue
            items.append(self._item(movie_id, float(liked), raters, mean, popular=True))
            if len(items) == limit:
                break
        return tuple(items)

    def starter_movies(self, limit: int = 12, pool: int = 200) -> tuple[Recommendation, ...]:
        """Popular movies of varied genres, for a newcomer to rate first.

        Walks the most liked movies in order and takes one when it brings a genre not yet
        covered, then fills up with the next most liked.
        """
        ranked = self._popularity(UserFilter())[:pool]
        covered: set[str] = set()
        chosen: list[tuple[int, int, int, float]] = []
        for entry in ranked:
            genres = set(self._genres[entry[0]].split("|")) - {"", "(no genres listed)"}
            if genres - covered:
                chosen.append(entry)
                covered |= genres
            if len(chosen) == limit:
                break
        for entry in ranked:
            if len(chosen) >= limit:
                break
            if entry not in chosen:
                chosen.append(entry)
        return tuple(
            self._item(m, float(liked), raters, mean, popular=True)
            for m, liked, raters, mean in chosen
        )

    def population(self, field: str, where: UserFilter | None = None) -> dict[str, int]:
        """How many indexed users hold each value of a demographic field (facet counts)."""
        return self.store.facet(field, where)

    # ------------------------------------------------------------------ validation

    def check_profile(self, ratings: Mapping[int, float]) -> dict[int, float]:
        """Validate a profile: known movie ids and 0.5-5 stars, else `ValueError`."""
        if not isinstance(ratings, Mapping):
            raise ValueError("ratings must be a mapping {movie_id: stars}")
        profile: dict[int, float] = {}
        for movie_id, stars in ratings.items():
            try:
                key = int(movie_id)
                value = float(stars)
            except (TypeError, ValueError, OverflowError) as error:  # inf is an OverflowError
                raise ValueError(f"bad rating {movie_id!r}: {stars!r}") from error
            if key != movie_id and str(key) != str(movie_id).strip():
                raise ValueError(f"movie id {movie_id!r} is not a whole number")
            profile[key] = value
        unknown = sorted(m for m in profile if m not in self.movie_ids)
        if unknown:
            shown = ", ".join(map(str, unknown[:5])) + (" ..." if len(unknown) > 5 else "")
            raise ValueError(f"unknown movie id(s) in {self.dataset.name}: {shown}")
        check_stars(np.array(list(profile.values()), dtype=np.float64))
        return profile

    def user_filter(
        self,
        age_groups: Sequence[str] | None = None,
        genders: Sequence[str] | None = None,
        occupations: Sequence[str] | None = None,
    ) -> UserFilter:
        """A validated `UserFilter`; unknown values raise `ValueError`."""
        chosen = {"age_group": age_groups, "gender": genders, "occupation": occupations}
        values: dict[str, tuple[str, ...]] = {}
        for name, given in chosen.items():
            if isinstance(given, str):
                given = [given]
            wanted = tuple(dict.fromkeys(str(v) for v in (given or ())))
            if wanted and not self._choices:
                raise ValueError(f"{self.dataset.name} has no demographics to filter by {name}")
            unknown = [v for v in wanted if v not in self._choices.get(name, ())]
            if unknown:
                known = ", ".join(self.choices(name))
                raise ValueError(f"unknown {name} {unknown[0]!r}; choose from {known}")
            values[name] = wanted
        return UserFilter(values["age_group"], values["gender"], values["occupation"])

    def choices(self, field: str) -> list[str]:
        """The values a demographic field can take (empty without demographics)."""
        if field == "age_group":
            return list(AGE_GROUPS) if self._choices else []
        return sorted(self._choices.get(field, ()))

    # ------------------------------------------------------------------ helpers

    def _item(
        self, movie_id: int, score: float, raters: int, mean: float, popular: bool = False
    ) -> Recommendation:
        year = self._years.get(movie_id)
        return Recommendation(
            movie_id=movie_id,
            title=self._titles[movie_id],
            year=None if year is None or pd.isna(year) else int(year),
            genres=self._genres[movie_id],
            score=score,
            raters=raters,
            mean_rating=round(mean, 3),
            popular=popular,
        )

    def _popularity(self, where: UserFilter) -> list[tuple[int, int, int, float]]:
        with self._popular_lock:
            if where not in self._popular_cache:
                if len(self._popular_cache) >= 64:
                    self._popular_cache.clear()
                self._popular_cache[where] = popularity(self.dataset, where)
            return self._popular_cache[where]


def popularity(dataset: Dataset, where: UserFilter) -> list[tuple[int, int, int, float]]:
    """``(movie_id, liked, raters, mean stars)`` by liked count (ratings >= 4), among the
    users matching ``where``."""
    ratings = dataset.ratings
    if where and dataset.users is not None:
        users = dataset.users
        mask = np.ones(len(users), dtype=bool)
        for name, values in where.conditions():
            mask &= users[name].astype(str).isin(values).to_numpy()
        ratings = ratings[ratings["user_id"].isin(users["user_id"][mask])]
    stats = ratings.groupby("movie_id")["rating"].agg(
        liked=lambda s: int((s >= 4).sum()), raters="size", mean="mean"
    )
    stats = stats.reset_index().sort_values(
        ["liked", "mean", "movie_id"], ascending=[False, False, True]
    )
    return [
        (int(m), int(liked), int(raters), float(mean))
        for m, liked, raters, mean in stats[["movie_id", "liked", "raters", "mean"]].itertuples(
            index=False
        )
    ]


def counting(similarities: np.ndarray, options: ScoringOptions) -> np.ndarray:
    """Which neighbours' ratings count: those of positive similarity, or all of them when
    neighbours are not weighted (exponent 0, the seed's method)."""
    if options.similarity_exponent == 0:
        return np.ones(len(similarities), dtype=bool)
    return np.asarray(similarities) > 0


def counted_neighbours(hits: Sequence[SimilarUser], options: ScoringOptions) -> list[SimilarUser]:
    """The first ``options.neighbours`` users whose ratings count (see `counting`)."""
    hits = hits[: options.neighbours]
    keep = counting(np.array([hit.similarity for hit in hits]), options)
    return [hit for hit, kept in zip(hits, keep.tolist(), strict=True) if kept]


def gather_rows(rows: SparseRows, positions: np.ndarray) -> tuple[SparseRows, np.ndarray]:
    """Rows ``positions`` of ``rows``, in that order, as one CSR matrix (no Python loop), and
    where each of its entries sits in ``rows`` (to gather other per-entry arrays alike)."""
    starts, ends = rows.indptr[positions], rows.indptr[positions + 1]
    lengths = ends - starts
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    take = np.arange(indptr[-1]) - np.repeat(indptr[:-1] - starts, lengths)
    return SparseRows(indptr, rows.indices[take], rows.values[take]), take


@dataclass(frozen=True)
class _UserTable:
    """All users' raw stars (CSR, rows in user id order) and demographics, for scoring and
    explaining neighbours found by id."""

    user_ids: np.ndarray
    stars: SparseRows
    values: np.ndarray  # the stars encoded (not normalised), entry by entry
    demographics: Mapping[int, Mapping[str, Any]]

    @classmethod
    def of(cls, dataset: Dataset, encoding: Encoding) -> _UserTable:
        user_ids, stars = user_rows(dataset)
        return cls(user_ids, stars, encoding.entry_values(stars), user_demographics(dataset))

    def row_of(self, user_ids: np.ndarray) -> np.ndarray:
        rows = np.searchsorted(self.user_ids, user_ids)
        if len(rows) and (
            rows.max() >= len(self.user_ids) or (self.user_ids[rows] != user_ids).any()
        ):
            raise StoreUnavailable("the index holds users this dataset does not; rebuild it")
        return rows

    def neighbour(self, user_id: int, similarity: float, rated: int, common: int) -> Neighbour:
        about = self.demographics.get(user_id, {})
        return Neighbour(
            user_id=user_id,
            similarity=similarity,
            ratings=rated,
            common=common,
            age=about.get("age"),
            age_group=about.get("age_group"),
            gender=about.get("gender"),
            occupation=about.get("occupation"),
        )


def stack_neighbours(hits: Sequence[SimilarUser]) -> SparseRows:
    """The neighbours' raw stars as one CSR matrix, in the order given."""
    lengths = [len(hit.stars) for hit in hits]
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return SparseRows(
        indptr,
        np.concatenate([hit.stars.indices for hit in hits]).astype(np.int32),
        np.concatenate([hit.stars.values for hit in hits]).astype(np.float32),
    )


def user_rows(dataset: Dataset) -> tuple[np.ndarray, SparseRows]:
    """The dataset's user ids (ascending) and their raw stars, one CSR row each."""
    ratings = dataset.ratings
    return rows_from_ratings(
        ratings["user_id"].to_numpy(),
        ratings["movie_id"].to_numpy(),
        ratings["rating"].to_numpy(),
    )


def user_demographics(dataset: Dataset) -> dict[int, dict[str, Any]]:
    """User id -> age, age group, gender and occupation (empty without demographics)."""
    if dataset.users is None:
        return {}
    return {
        int(row.user_id): {
            "age": None if pd.isna(row.age) else int(row.age),
            "age_group": str(row.age_group),
            "gender": str(row.gender),
            "occupation": str(row.occupation),
        }
        for row in dataset.users.itertuples(index=False)
    }


def user_batches(
    dataset: Dataset, encoding: Encoding, batch_size: int = 1_000
) -> Iterator[list[UserPoint]]:
    """The dataset's users as `UserPoint` batches: taste vector, raw stars, demographics."""
    user_ids, stars = user_rows(dataset)
    taste = encoding.encode_rows(stars)
    demographics = user_demographics(dataset)
    counts = np.diff(stars.indptr)
    batch: list[UserPoint] = []
    for i, user_id in enumerate(user_ids.tolist()):
        payload = {"n_ratings": int(counts[i]), **demographics.get(user_id, {})}
        batch.append(UserPoint(user_id, taste.row(i), stars.row(i), payload))
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def open_recommender(
    source: str | Path = "ml-100k",
    *,
    data_dir: str | Path | None = None,
    qdrant_url: str | None = None,
    qdrant_api_key: str | None = None,
    shard_number: int | None = None,
    replication_factor: int | None = None,
    download_progress: Progress | None = None,
    build_progress: Progress | None = None,
    **options: Any,
) -> Recommender:
    """Load a dataset, open its persistent store and build the index only if it is missing.

    The store is Qdrant Edge under ``<data_dir>/index/`` unless ``qdrant_url`` or
    ``$QDRANT_URL`` names a Qdrant server (``shard_number`` and ``replication_factor`` then
    shape the collection). ``options`` go to `Recommender.build`.
    """
    dataset = load_movielens(source, data_dir=data_dir, progress=download_progress)
    store = open_store(
        dataset.name,
        data_dir=data_dir,
        url=qdrant_url,
        api_key=qdrant_api_key,
        shard_number=shard_number,
        replication_factor=replication_factor,
    )
    return Recommender.build(dataset, store, progress=build_progress, **options)

"""User-based collaborative filtering on a vector store.

The query profile ``{movie_id: stars}`` is encoded like the indexed users; the store returns the
most similar users (optionally within an age group, gender or occupation) with their raw stars,
read from the engine with the query; `score_candidates` aggregates their ratings of movies the
profile has not rated:

    score(movie) = sum over neighbours v who rated it of  w_v * (e_v(movie) + offset)

where ``w_v = similarity_v ** a`` (neighbours with similarity <= 0 are ignored; ``a`` is
``similarity_exponent`` for profiles of 20 ratings or more and smaller for shorter ones,
`ScoringOptions.exponent_for`), ``e_v`` is the neighbour's rating encoded like the index
(without length normalisation) and ``offset`` rewards being rated at all. A profile of more
than 20 ratings (``regression_from``) also asks which movies the neighbours' rows, weighted to
reproduce the profile as closely as they can, call for (`neighbour_fit`, a ridge regression
over the neighbours), and ranks by the sum of both signals, each scaled to a peak of 1. The
seed notebook's method is the special case ``zscore`` encoding, 20 neighbours, exponent 0
(unweighted), offset 0 and no fit.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from reco.catalog import Catalog, Popular, display_title
from reco.datasets import Dataset, Progress, find_release, load_movielens
from reco.encode import LIKED_AT, Encoding, EncodingName, SparseRows, check_stars
from reco.explain import (
    Explanation,
    explain_all,
    person_mean,
    predict_stars,
    predict_stars_each,
    predicted_from_sums,
    row_means,
)
from reco.filters import FILTERS, UserFilter
from reco.group import (
    DEFAULT_RULE,
    GROUP_NEIGHBOURS,
    MAX_MEMBERS,
    GroupRule,
    check_rule,
    disliked_by,
    rank_group,
    relevance,
)
from reco.index import (
    build_index,
    encoding_of,
    index_fingerprint,
    release_signature,
    same_encoding,
    same_release,
)
from reco.store import (
    EdgeStore,
    IndexDamaged,
    Neighbours,
    OpenIndex,
    StoreUnavailable,
    UserStore,
    open_store,
)


def one_blas_thread() -> None:
    """Run this process's BLAS (numpy's matrix products) on one thread from now on.

    For a process where queries run side by side (the app's sessions): `neighbour_fit`'s
    products are small (100 x 100), and with the cores busy OpenBLAS's own threads made them
    6-20 times slower (a 100 x 1,200 Gram 2.2 ms against 0.36 ms, its solve 2.1 against
    0.09 ms). Alone on an idle machine two threads are faster (`recommend()` p50 0.27 ms less
    on ml-100k), so a library user keeps numpy's default unless they call this. Limiting
    around each query instead cost 0.19 ms a query (the pool's threads stop and restart)."""
    threadpool_limits(limits=1, user_api="blas")


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
    full_exponent_at: int = 20
    """Profiles of at least this many ratings weigh neighbours by ``similarity **
    similarity_exponent``; a shorter profile's exponent is one less each time its length
    halves, down to 1 (`exponent_for`): a handful of ratings makes similarities coarse, and
    neighbours are better weighed more evenly. 0: the same exponent at every length."""
    regression_weight: float = 1.0
    """How much the neighbours' regression fit counts beside their votes (`neighbour_fit`):
    each signal is scaled to a largest magnitude of 1, then ``votes + weight * fit``. 0: the
    votes alone."""
    regression_from: int = 21
    """Profiles of at least this many ratings blend in the regression fit; shorter ones rank
    by the votes alone (with a few ratings the fit chases them and ranks worse)."""
    regression_ridge: float = 1.0
    """The fit's ridge penalty, in units of the neighbours' mean squared row length."""

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
        if self.full_exponent_at < 0:
            raise ValueError("full_exponent_at must be 0 (off) or a number of ratings")
        if not (math.isfinite(self.regression_weight) and self.regression_weight >= 0):
            raise ValueError("regression_weight must be a finite number >= 0")
        if self.regression_from < 1:
            raise ValueError("regression_from must be a number of ratings, at least 1")
        if not (math.isfinite(self.regression_ridge) and self.regression_ridge > 0):
            raise ValueError("regression_ridge must be a finite number > 0")

    def exponent_for(self, ratings: int) -> float:
        """The similarity exponent for a profile of ``ratings`` ratings: ``similarity_exponent
        - log2(full_exponent_at / ratings)`` below ``full_exponent_at``, at least 1 (or the
        exponent itself when it is below 1). With the defaults: 1 at 5 ratings, 2 at 10, 3
        from 20 on."""
        top = self.similarity_exponent
        if not self.full_exponent_at or ratings >= self.full_exponent_at or top <= 1:
            return top
        return max(1.0, top - math.log2(self.full_exponent_at / max(ratings, 1)))

    def for_profile(self, ratings: int) -> ScoringOptions:
        """These options as they apply to a profile of ``ratings`` ratings: its similarity
        exponent (`exponent_for`), and no regression fit below ``regression_from``."""
        changes: dict[str, float] = {}
        exponent = self.exponent_for(ratings)
        if exponent != self.similarity_exponent:
            changes.update(similarity_exponent=exponent, full_exponent_at=0)
        if self.regression_weight and ratings < self.regression_from:
            changes.update(regression_weight=0.0)
        return replace(self, **changes) if changes else self


SEED_OPTIONS = ScoringOptions(
    neighbours=20,
    min_raters=1,
    similarity_exponent=0.0,
    offset=0.0,
    liked_only=False,
    popularity_penalty=0.0,
    full_exponent_at=0,
    regression_weight=0.0,
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
    predicted: float | None = None
    """The stars the person would likely give it (`reco.explain.predict_stars`); None for
    popular films."""

    @property
    def display_title(self) -> str:
        return display_title(self.title, self.year)


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

    def explain(
        self, movie_ids: Sequence[int], profile: Mapping[int, float]
    ) -> dict[int, Explanation]:
        """For each of ``movie_ids``, the neighbours' verdicts and which of ``profile``'s
        ratings those who liked it agree with (`reco.explain.explain_all`); empty without
        neighbours."""
        if self._stars is None:
            return {}
        return explain_all(self._stars, movie_ids, profile)

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
class GroupRecommendation:
    """A film for a group, with each member's predicted stars (in the members' order)."""

    movie_id: int
    title: str
    year: int | None
    genres: str
    score: float  # what the group rule ranks by (`reco.group.group_order`)
    predicted: tuple[float, ...]
    popular: bool = False  # True: a popularity fallback, not personalised

    @property
    def display_title(self) -> str:
        return display_title(self.title, self.year)

    @property
    def disliked_by(self) -> tuple[int, ...]:
        """The members (positions) predicted to dislike it (`reco.group.DISLIKED_BELOW`)."""
        return disliked_by(np.array(self.predicted))


@dataclass(frozen=True)
class GroupRecommendations:
    """Films for a group, and how many neighbours each member's taste found."""

    items: tuple[GroupRecommendation, ...]
    rule: GroupRule
    neighbours: tuple[int, ...]  # per member
    popular: bool
    where: UserFilter


@dataclass(frozen=True)
class Candidates:
    """Aggregated neighbour ratings of candidate movies, best first."""

    movie_ids: np.ndarray
    scores: np.ndarray
    raters: np.ndarray
    mean_stars: np.ndarray
    deviation_sums: np.ndarray
    """Per movie, the neighbours' ratings around their own means, weighted by similarity:
    with ``weight_sums``, what `predicted` needs (`reco.explain.predicted_from_sums`)."""
    weight_sums: np.ndarray

    def predicted(self, own_mean: float) -> np.ndarray:
        """The stars the person (of mean ``own_mean``) would likely give each candidate: the
        same as `reco.explain.predict_stars` over these neighbours, without another pass."""
        return predicted_from_sums(own_mean, self.deviation_sums, self.weight_sums)


def score_candidates(
    neighbour_stars: SparseRows,
    similarities: np.ndarray,
    exclude: np.ndarray,
    encoding: Encoding,
    options: ScoringOptions,
    popularity: np.ndarray | None = None,
    limit: int | None = None,
    rated: np.ndarray | None = None,
) -> Candidates:
    """Score every movie the neighbours rated and ``exclude`` does not hold, best first.

    Movies rated by fewer than ``options.min_raters`` counted neighbours are left out; ties are
    broken by movie id so the order is deterministic. ``popularity[movie_id]`` (rating counts)
    is needed when ``options.popularity_penalty`` is set, ``rated`` (the person's own films)
    when ``options.regression_weight`` is (`neighbour_fit`; apply `ScoringOptions.for_profile`
    first). With ``limit``, only the best ``limit``: the head of the full ranking, found
    without sorting the rest.
    """
    similarities = np.asarray(similarities, dtype=np.float64)
    positive = np.maximum(similarities, 0.0)
    weights = positive**options.similarity_exponent
    if options.similarity_exponent > 0:
        weights[positive == 0] = 0.0
    counts = np.diff(neighbour_stars.indptr)
    owner = np.repeat(np.arange(len(counts)), counts)
    stars = neighbour_stars.values.astype(np.float64)
    values = encoding.entry_values(neighbour_stars, owner)  # each neighbour's mean from their row
    deviations = stars - row_means(neighbour_stars)[owner]  # for the predicted stars
    movie_ids = neighbour_stars.indices
    owner_weights, owner_similarities = weights[owner], positive[owner]
    if not (weights > 0).all():  # drop the neighbours that do not count
        counted = owner_weights > 0
        owner, owner_weights = owner[counted], owner_weights[counted]
        owner_similarities = owner_similarities[counted]
        values, deviations = values[counted], deviations[counted]
        stars, movie_ids = stars[counted], movie_ids[counted]
    entries = values + options.offset
    contribution = owner_weights * entries
    if options.liked_only:
        contribution = contribution * (stars >= LIKED_AT)
    if options.regression_weight > 0 and rated is None:
        raise ValueError("regression_weight needs the person's rated movies")
    movies, position, sums = _sum_by_movie(
        movie_ids,
        [contribution, None, stars, owner_similarities * deviations, owner_similarities],
        positions=options.regression_weight > 0,
    )
    scores, raters, star_sums, deviation_sums, weight_sums = sums
    fit = None
    if position is not None and len(movies):
        at = _positions(movies, rated)
        fit = neighbour_fit(owner, position, entries, at, options.regression_ridge, raters)
    if options.popularity_penalty > 0:
        if popularity is None:
            raise ValueError("popularity_penalty needs the movies' rating counts")
        damping = np.maximum(popularity[movies], 1.0) ** options.popularity_penalty
        scores = scores / damping
        fit = None if fit is None else fit / damping
    keep = raters >= options.min_raters
    if len(exclude):
        keep[_positions(movies, exclude)] = False
    if fit is not None:  # each signal scaled to a peak of 1 over the candidates
        scores = _unit_peak(scores, keep) + options.regression_weight * _unit_peak(fit, keep)
    order = _ranked(movies[keep], scores[keep], limit)
    order = np.flatnonzero(keep)[order]
    return Candidates(
        movies[order],
        scores[order],
        raters[order],
        star_sums[order] / np.maximum(raters[order], 1),
        deviation_sums[order],
        weight_sums[order],
    )


def neighbour_fit(
    owner: np.ndarray,
    position: np.ndarray,
    entries: np.ndarray,
    rated: np.ndarray,
    ridge: float,
    raters: np.ndarray | None = None,
) -> np.ndarray:
    """The neighbours' ridge-regression fit of the person's profile, one value per movie.

    Row ``v`` of ``X`` holds neighbour ``v``'s ``entries`` (their encoded ratings plus the
    offset, as they vote; ``owner`` and ``position``: each entry's row and movie column);
    ``q`` is 1 at the columns of the person's ``rated`` movies, 0 elsewhere. The weights
    ``b = argmin |q - X'b|^2 + lambda |b|^2``, ``lambda = ridge * mean(diag(X X'))``, make
    the neighbours' rows together reproduce the profile: neighbours who rated alike share
    one weight, one who adds little to what the others cover gets little (plain votes count
    each in full). The fit ``X'b`` says how strongly the profile, as the neighbours explain
    it, calls for each movie: the linear model of EASE (Steck 2019), over the few users the
    engine found rather than over all films.

    ``X X'`` is a dense product; when most movies were rated by one neighbour alone (a large,
    long-tailed catalogue), only the shared ones take part in it, the others adding to the
    diagonal alone. ``raters``: how many entries each column has, when the caller knows.
    """
    rows = int(owner.max()) + 1 if len(owner) else 0
    width = int(position.max()) + 1 if len(position) else 0
    on_profile = np.zeros(width, dtype=bool)
    on_profile[rated] = True
    target = np.bincount(owner, weights=entries * on_profile[position], minlength=rows)  # X q
    if raters is None:
        raters = np.bincount(position, minlength=width)
    shared_columns = raters > 1
    if shared_columns.sum() > _DENSE_SHARE * width:  # few single ratings: all columns
        shared_columns[:] = True
    shared = shared_columns[position]
    column = np.cumsum(shared_columns) - 1
    matrix = np.zeros((rows, int(column[-1]) + 1 if width else 0), dtype=np.float32)
    matrix[owner[shared], column[position[shared]]] = entries[shared]  # float32: enough
    gram = (matrix @ matrix.T).astype(np.float64)
    alone = ~shared
    if alone.any():
        gram.flat[:: rows + 1] += np.bincount(owner[alone], entries[alone] ** 2, minlength=rows)
    gram.flat[:: rows + 1] += ridge * max(float(np.trace(gram)) / max(rows, 1), 1e-12)
    weights = np.linalg.solve(gram, target)  # well conditioned: the ridge is the mean diagonal
    fit = np.empty(width)
    fit[shared_columns] = weights.astype(np.float32) @ matrix
    fit[position[alone]] = weights[owner[alone]] * entries[alone]
    return fit


_DENSE_SHARE = 0.7
"""`neighbour_fit` leaves out of its dense product the movies one neighbour alone rated when
they are more than 30% of the neighbours' movies (ml-100k: about 17%, not worth the sorting
out)."""


def _unit_peak(values: np.ndarray, over: np.ndarray) -> np.ndarray:
    """``values`` scaled so that their largest magnitude ``over`` a mask is 1 (unchanged when
    that is 0)."""
    chosen = np.abs(values[over])
    peak = float(chosen.max()) if len(chosen) else 0.0
    return values / peak if peak > 0 else values


def _ranked(movies: np.ndarray, scores: np.ndarray, limit: int | None) -> np.ndarray:
    """Positions by score, best first, ties by movie id; only the best ``limit`` when given
    (those scoring at least the ``limit``-th best, then sorted)."""
    if limit is not None and limit < len(scores):
        kth = np.partition(scores, len(scores) - limit)[len(scores) - limit]
        contenders = np.flatnonzero(scores >= kth)
        return contenders[np.lexsort((movies[contenders], -scores[contenders]))][:limit]
    return np.lexsort((movies, -scores))


def _positions(movies: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Where the ``wanted`` movies that ``movies`` (ascending) holds sit in it (bisection)."""
    wanted = np.asarray(wanted, dtype=np.int64)
    if not len(movies) or not len(wanted):
        return np.zeros(0, dtype=np.int64)
    at = np.minimum(np.searchsorted(movies, wanted), len(movies) - 1)
    return at[movies[at] == wanted]


def _sum_by_movie(
    movie_ids: np.ndarray, columns: list[np.ndarray | None], *, positions: bool = False
) -> tuple[np.ndarray, np.ndarray | None, list[np.ndarray]]:
    """The distinct movies (ascending), with ``positions`` each entry's position among them
    (else None), and per column its sum for each movie (``None``: a count). Dense bincounts
    when movie ids are compact, a sort when they are sparse."""
    if len(movie_ids) == 0:
        empty = movie_ids.astype(np.int64)
        return empty, empty if positions else None, [np.zeros(0) for _ in columns]
    size = int(movie_ids.max()) + 1
    if size <= 8 * len(movie_ids):
        counts = np.bincount(movie_ids, minlength=size)
        present = counts > 0
        movies = np.flatnonzero(present)
        position = (np.cumsum(present) - 1)[movie_ids] if positions else None
        sums = [
            counts[movies] if c is None else np.bincount(movie_ids, c, minlength=size)[movies]
            for c in columns
        ]
        return movies, position, sums
    movies, inverse = np.unique(movie_ids, return_inverse=True)
    sums = [np.bincount(inverse, c, minlength=len(movies)) for c in columns]
    return movies, inverse if positions else None, sums


class IndexUnavailable(StoreUnavailable):
    """An index on a Qdrant server that this process must not rebuild on its own (damaged,
    older, or built from other data): the message names the command that rebuilds it."""


class Recommender:
    """Recommendations for a profile ``{movie_id: stars}`` from similar users in a store.

    Opened on an index (`OpenIndex`: manifest and catalog); everything it knows about films
    comes from the catalog, everything about users from the engine. Safe to share between
    threads (Streamlit sessions): queries only read.
    """

    def __init__(self, store: UserStore, index: OpenIndex, options: ScoringOptions | None = None):
        self.store = store
        self.manifest = index.manifest
        self.catalog: Catalog = index.catalog
        self.encoding: Encoding = encoding_of(index.manifest)
        self.options = options or ScoringOptions()
        self.movie_ids: frozenset[int] = self.catalog.movie_ids
        """Every movie id of the release (a profile may only rate these)."""
        self.rating_counts = self.catalog.rating_counts
        self._everyone: dict[str, dict[str, int]] = {}  # facet counts over all users

    @property
    def name(self) -> str:
        return str(self.manifest.get("dataset") or self.catalog.name)

    @property
    def notes(self) -> tuple[str, ...]:
        """What the build skipped in the release (bad rows), as warnings to show."""
        return tuple(self.manifest.get("warnings") or ())

    def summary(self) -> str:
        extra = "with demographics" if self.catalog.has_demographics else "no demographics"
        return (
            f"{self.name}: {int(self.manifest.get('ratings', 0)):,} ratings, "
            f"{int(self.manifest.get('users', 0)):,} users, {len(self.catalog):,} movies ({extra})"
        )

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
        release: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> Recommender:
        """A recommender over ``dataset``, indexing it into ``store`` unless already there.

        ``store=None`` indexes into a temporary embedded Qdrant Edge store (for tests and
        evaluation). ``options`` are `ScoringOptions` fields. ``progress(users_done, total)``
        is called while indexing.
        """
        if not isinstance(encoding, Encoding):
            encoding = fit_encoding(dataset, encoding, normalize=normalize, idf=idf)
        store = store if store is not None else EdgeStore.temporary(dataset.name)
        index = build_index(
            dataset, store, encoding, release=release, progress=progress, batch_size=batch_size
        )
        return cls(store, index, ScoringOptions(**options))

    # ------------------------------------------------------------------ queries

    def recommend(
        self,
        ratings: Mapping[int, float],
        limit: int = 10,
        *,
        neighbours: int | None = None,
        hidden: Collection[int] = (),
        **filters: Sequence[str] | None,
    ) -> list[Recommendation]:
        """The best ``limit`` movies for a profile, best first; never a rated movie, nor one
        of ``hidden`` (films the person is not interested in).

        ``filters``: neighbours only from users holding one of the values of each filter of
        `reco.filters.FILTERS` given by its keyword (``age_groups=["25-34"]``, ``genders``,
        ``occupations``). Raises `ValueError` for unknown movie ids, ratings outside 0.5-5, or
        unknown filter values. An empty profile gets popular movies, flagged ``popular=True``.
        """
        result = self._answer(ratings, limit, neighbours, None, hidden, filters, explain=False)
        return list(result.items)

    def recommend_explained(
        self,
        ratings: Mapping[int, float],
        limit: int = 10,
        *,
        neighbours: int | None = None,
        min_raters: int | None = None,
        hidden: Collection[int] = (),
        **filters: Sequence[str] | None,
    ) -> Recommendations:
        """Like `recommend`, with the neighbours used and each item's "why"."""
        return self._answer(ratings, limit, neighbours, min_raters, hidden, filters, explain=True)

    def _answer(
        self,
        ratings: Mapping[int, float],
        limit: int,
        neighbours: int | None,
        min_raters: int | None,
        hidden: Collection[int],
        filters: Mapping[str, Sequence[str] | None],
        *,
        explain: bool,
    ) -> Recommendations:
        profile = self.check_profile(ratings)
        skipped = self.check_movies(hidden)
        if not isinstance(limit, int) or not 1 <= limit <= 1_000:
            raise ValueError("limit must be a whole number from 1 to 1000")
        options = self._options(neighbours, min_raters).for_profile(len(profile))
        where = self.user_filter(**filters)
        if not profile:
            return Recommendations(self.popular(limit, where, skipped), (), True, where)

        found = self._counted_neighbours(profile, options, where, with_payload=explain)
        if not len(found):
            unwanted = skipped | profile.keys()
            return Recommendations(self.popular(limit, where, unwanted), (), True, where)
        exclude = np.fromiter(profile.keys() | skipped, dtype=np.int64)
        rated = np.fromiter(profile.keys(), dtype=np.int64, count=len(profile))
        candidates = self.score_neighbours(
            found.stars, found.similarities, exclude, options, limit=limit, rated=rated
        )
        top = candidates.movie_ids
        predicted = candidates.predicted(self._own_mean(profile))
        items = tuple(
            self._item(int(m), float(s), int(r), float(mean), predicted=float(p))
            for m, s, r, mean, p in zip(
                top,
                candidates.scores[:limit],
                candidates.raters[:limit],
                candidates.mean_stars[:limit],
                predicted,
                strict=True,
            )
        )
        if not explain:  # recommend(): the items are all it returns
            return Recommendations(items, (), False, where)
        return Recommendations(items, neighbour_list(found, exclude), False, where, found.stars)

    def predict(
        self,
        ratings: Mapping[int, float],
        movie_ids: Sequence[int],
        *,
        neighbours: int | None = None,
        **filters: Sequence[str] | None,
    ) -> np.ndarray:
        """The stars the person of ``ratings`` would likely give each of ``movie_ids``
        (`reco.explain.predict_stars` over the same neighbours `recommend` asks); their mean
        rating for films none of the neighbours rated. Raises `ValueError` as `recommend`."""
        profile = self.check_profile(ratings)
        self.check_movies(movie_ids)
        wanted = np.array([int(m) for m in movie_ids], dtype=np.int64)
        if not profile:
            raise ValueError("a prediction needs at least one rating")
        options = self._options(neighbours, None)
        found = self._counted_neighbours(profile, options, self.user_filter(**filters))
        return self._predicted(found, profile, wanted)

    def recommend_group(
        self,
        profiles: Sequence[Mapping[int, float]],
        limit: int = 10,
        *,
        rule: GroupRule | str = DEFAULT_RULE,
        hidden: Collection[int] = (),
        neighbours: int | None = None,
        pool: int = 100,
        **filters: Sequence[str] | None,
    ) -> GroupRecommendations:
        """The best ``limit`` films for a group (movie night), never one a member rated nor
        one of ``hidden``, with each member's predicted stars.

        Each member's neighbours (``neighbours``, default `reco.group.GROUP_NEIGHBOURS`) come
        from one similarity query, all sent as one batch; each member's best ``pool`` films
        form the candidates, ranked by ``rule`` (`reco.group`). ``filters`` apply to every
        member's neighbours, as in `recommend`. Raises `ValueError` for no members or more
        than `reco.group.MAX_MEMBERS`, a member without ratings, and what `recommend` refuses.
        """
        rule = check_rule(rule)
        if not 1 <= len(profiles) <= MAX_MEMBERS:
            raise ValueError(f"a group has 1 to {MAX_MEMBERS} members; got {len(profiles)}")
        checked = [self.check_profile(ratings) for ratings in profiles]
        for position, profile in enumerate(checked, 1):
            if not profile:
                raise ValueError(f"member {position} has no ratings")
        skipped = self.check_movies(hidden)
        if not isinstance(limit, int) or not 1 <= limit <= 1_000:
            raise ValueError("limit must be a whole number from 1 to 1000")
        if not isinstance(pool, int) or pool < limit:
            raise ValueError("pool must be a whole number at least as large as limit")
        options = self._options(GROUP_NEIGHBOURS if neighbours is None else neighbours, None)
        where = self.user_filter(**filters)
        queries = self.encoding.encode_queries(checked)
        answers = self.store.similar_users_batch(queries, options.neighbours, where)
        found = [_counted(answer, options) for answer in answers]
        seen = skipped.union(*(profile.keys() for profile in checked))
        exclude = np.fromiter(seen, dtype=np.int64, count=len(seen))
        candidates = [
            self.score_neighbours(
                f.stars,
                f.similarities,
                exclude,
                options.for_profile(len(profile)),
                rated=np.fromiter(profile.keys(), dtype=np.int64, count=len(profile)),
            )
            for f, profile in zip(found, checked, strict=True)
        ]
        films = np.unique(np.concatenate([c.movie_ids[:pool] for c in candidates]))
        counts = tuple(len(f) for f in found)
        if not len(films):
            items = tuple(
                GroupRecommendation(
                    i.movie_id, i.title, i.year, i.genres, i.score, (), popular=True
                )
                for i in self.popular(limit, where, seen)
            )
            return GroupRecommendations(items, rule, counts, True, where)

        rows = SparseRows.stack([f.stars for f in found])  # every member's neighbours
        weights = np.concatenate([f.similarities for f in found])
        members = np.repeat(np.arange(len(found)), [len(f) for f in found])
        means = np.array([self._own_mean(profile) for profile in checked])

        def predict(positions: np.ndarray) -> np.ndarray:
            return predict_stars_each(rows, weights, members, films[positions], means)

        relevances = np.array([relevance(c.movie_ids, c.scores, films) for c in candidates])
        top, scores, predicted = rank_group(films, relevances, rule, limit, predict)
        items = tuple(
            self._group_item(int(films[at]), float(score), predicted[:, column])
            for column, (at, score) in enumerate(zip(top.tolist(), scores.tolist(), strict=True))
        )
        return GroupRecommendations(items, rule, counts, False, where)

    def _group_item(
        self, movie_id: int, score: float, predicted: np.ndarray
    ) -> GroupRecommendation:
        title, year, genres = self.catalog.heading(movie_id)
        return GroupRecommendation(
            movie_id,
            title,
            year,
            genres,
            round(score, 4),
            tuple(round(float(p), 2) for p in predicted),
        )

    def _options(self, neighbours: int | None, min_raters: int | None) -> ScoringOptions:
        """This recommender's scoring options with a query's overrides (None: as they are)."""
        overrides = {
            name: value
            for name, value in (("neighbours", neighbours), ("min_raters", min_raters))
            if value is not None
        }
        return replace(self.options, **overrides) if overrides else self.options

    def _counted_neighbours(
        self,
        profile: Mapping[int, float],
        options: ScoringOptions,
        where: UserFilter,
        *,
        with_payload: bool = False,
    ) -> Neighbours:
        """The engine's most similar users to a (checked, non-empty) profile, with their
        stars, keeping those whose ratings count (`counting`)."""
        query = self.encoding.encode_query(profile)
        found = self.store.similar_users(
            query, options.neighbours, where, with_payload=with_payload
        )
        return _counted(found, options)

    def _own_mean(self, profile: Mapping[int, float]) -> float:
        """The person's mean stars, where predictions start (`reco.explain.person_mean`)."""
        return person_mean(profile.values(), self.encoding.global_mean)

    def _predicted(
        self, found: Neighbours, profile: Mapping[int, float], movie_ids: np.ndarray
    ) -> np.ndarray:
        return predict_stars(found.stars, found.similarities, movie_ids, self._own_mean(profile))

    def score_neighbours(
        self,
        rows: SparseRows,
        similarities: np.ndarray,
        exclude: np.ndarray,
        options: ScoringOptions,
        *,
        limit: int | None = None,
        rated: np.ndarray | None = None,
    ) -> Candidates:
        """`score_candidates` with this recommender's encoding and rating counts: the one
        scoring rule of `recommend` and of the tuning in `evaluate`. ``rows`` are the counted
        neighbours' stars (see `counting`), ``similarities`` theirs, ``rated`` the person's
        films."""
        return score_candidates(
            rows,
            similarities,
            exclude,
            self.encoding,
            options,
            self.rating_counts,
            limit=limit,
            rated=rated,
        )

    def popular(
        self, limit: int = 10, where: UserFilter | None = None, exclude: Collection[int] = ()
    ) -> tuple[Recommendation, ...]:
        """Most liked movies (count of 4+ star ratings) among the users matching ``where``:
        sums of the catalog's demographic cells, never the ratings."""
        ranked = self.catalog.popular((where or UserFilter()).conditions())
        return tuple(self._popular_items(ranked, limit, exclude))

    def _popular_items(
        self, ranked: Popular, limit: int, exclude: Collection[int] = ()
    ) -> list[Recommendation]:
        items = []
        for position, movie_id in enumerate(ranked.movie_ids[: limit + len(exclude)].tolist()):
            if movie_id in exclude:
                continue
            items.append(
                self._item(
                    movie_id,
                    float(ranked.liked[position]),
                    int(ranked.raters[position]),
                    float(ranked.mean_rating[position]),
                    popular=True,
                )
            )
            if len(items) == limit:
                break
        return items

    def starter_movies(
        self, limit: int = 12, pool: int = 200, exclude: Collection[int] = ()
    ) -> tuple[Recommendation, ...]:
        """Popular movies of varied genres, for a newcomer to rate first; never one of
        ``exclude`` (those shown before, for a fresh set).

        Walks the most liked movies in order and takes one when it brings a genre not yet
        covered, then fills up with the next most liked.
        """
        ranked = self.catalog.popular()
        candidates = self._popular_items(ranked, pool, frozenset(exclude))
        covered: set[str] = set()
        chosen: list[Recommendation] = []
        for item in candidates:
            genres = set(item.genres.split("|")) - {"", "(no genres listed)"}
            if genres - covered:
                chosen.append(item)
                covered |= genres
            if len(chosen) == limit:
                break
        for item in candidates:
            if len(chosen) >= limit:
                break
            if item not in chosen:
                chosen.append(item)
        return tuple(chosen)

    def population(self, field: str, where: UserFilter | None = None) -> dict[str, int]:
        """How many indexed users hold each value of a demographic field (facet counts);
        everyone's are asked once (an index's users do not change once built)."""
        if where:
            return self.store.facet(field, where)
        counts = self._everyone.get(field)
        if counts is None:
            counts = self._everyone[field] = self.store.facet(field)
        return dict(counts)

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
            raise ValueError(f"unknown movie id(s) in {self.name}: {shown}")
        check_stars(np.array(list(profile.values()), dtype=np.float64))
        return profile

    def check_movies(self, movie_ids: Collection[int]) -> frozenset[int]:
        """Validate a collection of movie ids (films hidden by the person), else `ValueError`."""
        try:
            found = frozenset(int(m) for m in movie_ids)
        except (TypeError, ValueError, OverflowError) as error:
            raise ValueError(f"movie ids must be whole numbers: {error}") from None
        unknown = sorted(found - self.movie_ids)
        if unknown:
            shown = ", ".join(map(str, unknown[:5])) + (" ..." if len(unknown) > 5 else "")
            raise ValueError(f"unknown movie id(s) in {self.name}: {shown}")
        return found

    def user_filter(self, **filters: Sequence[str] | str | None) -> UserFilter:
        """A validated `UserFilter` from the filters' keywords; unknown values raise
        `ValueError`."""
        chosen: dict[str, tuple[str, ...]] = {}
        for name, given in filters.items():
            field = next((f for f in FILTERS if f.keyword == name), None)
            if field is None:
                raise ValueError(
                    f"unknown filter {name!r}; filters: {', '.join(f.keyword for f in FILTERS)}"
                )
            if isinstance(given, str):
                given = [given]
            wanted = tuple(dict.fromkeys(str(v) for v in (given or ())))
            if wanted and not self.catalog.has_demographics:
                raise ValueError(f"{self.name} has no demographics to filter by {field.name}")
            known = self.choices(field.name)
            unknown = [v for v in wanted if v not in known]
            if unknown:
                raise ValueError(
                    f"unknown {field.name} {unknown[0]!r}; choose from {', '.join(known)}"
                )
            chosen[name] = wanted
        return UserFilter(**chosen)

    def choices(self, field: str) -> list[str]:
        """The values a demographic field can take (empty without demographics)."""
        return self.catalog.choices(field)

    # ------------------------------------------------------------------ helpers

    def _item(
        self,
        movie_id: int,
        score: float,
        raters: int,
        mean: float,
        popular: bool = False,
        predicted: float | None = None,
    ) -> Recommendation:
        title, year, genres = self.catalog.heading(movie_id)
        return Recommendation(
            movie_id=movie_id,
            title=title,
            year=year,
            genres=genres,
            score=score,
            raters=raters,
            mean_rating=round(mean, 3),
            popular=popular,
            predicted=None if predicted is None else round(predicted, 2),
        )


def counting(similarities: np.ndarray, options: ScoringOptions) -> np.ndarray:
    """Which neighbours' ratings count: those of positive similarity, or all of them when
    neighbours are not weighted (exponent 0, the seed's method)."""
    if options.similarity_exponent == 0:
        return np.ones(len(similarities), dtype=bool)
    return np.asarray(similarities) > 0


def _counted(found: Neighbours, options: ScoringOptions) -> Neighbours:
    """The neighbours whose ratings count (`counting`), without a copy when all do."""
    counted = counting(found.similarities, options)
    return found if counted.all() else found.take(counted)


def neighbour_list(found: Neighbours, exclude: np.ndarray) -> tuple[Neighbour, ...]:
    """The neighbours as `Neighbour` records: demographics from their payloads, how many
    movies they rated and how many of them the profile (``exclude``) rated too."""
    rows = found.stars
    counts = np.diff(rows.indptr)
    owner = np.repeat(np.arange(len(found)), counts)
    common = np.bincount(owner, weights=np.isin(rows.indices, exclude), minlength=len(found))
    payloads = found.payloads or tuple({} for _ in range(len(found)))
    return tuple(
        Neighbour(
            user_id=user,
            similarity=similarity,
            ratings=rated,
            common=shared,
            age=about.get("age"),
            age_group=about.get("age_group"),
            gender=about.get("gender"),
            occupation=about.get("occupation"),
        )
        for user, similarity, rated, shared, about in zip(
            found.user_ids.tolist(),
            found.similarities.tolist(),
            counts.tolist(),
            common.astype(int).tolist(),
            payloads,
            strict=True,
        )
    )


def fit_encoding(
    dataset: Dataset,
    name: EncodingName = DEFAULT_ENCODING,
    *,
    normalize: bool = DEFAULT_NORMALIZE,
    idf: bool = DEFAULT_IDF,
) -> Encoding:
    """The encoding ``name`` with its global statistics learnt from ``dataset``'s ratings."""
    return Encoding.fit(dataset.ratings["rating"].to_numpy(), name, normalize=normalize, idf=idf)


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
    encoding: EncodingName | None = None,
    normalize: bool = DEFAULT_NORMALIZE,
    idf: bool = DEFAULT_IDF,
    repair: bool = False,
    **options: Any,
) -> Recommender:
    """Open the index of a release, building it only when needed; never parses the ratings
    when the index is current.

    The store is Qdrant Edge under ``<data_dir>/index/`` unless ``qdrant_url`` or
    ``$QDRANT_URL`` names a Qdrant server (``shard_number`` and ``replication_factor`` then
    shape the collection). The release (a name or a path) is read only to build: when there
    is no index yet, when the release file differs from the one the index was built from
    (size, modification time, hash of its ends), when the index is of an older layout or
    damaged, or when ``encoding`` (None: whatever the index has, the default for a new one)
    differs. An index stays usable when the release's files have been moved away.

    On a server, an index that exists is never rebuilt unless ``repair`` is set (as
    ``python -m reco build`` does): a damaged one raises `IndexUnavailable` naming that
    command, and the release files are not looked at. ``options`` are `ScoringOptions` fields.
    """
    name, path = find_release(source, data_dir=data_dir)
    store = open_store(
        name,
        data_dir=data_dir,
        url=qdrant_url,
        api_key=qdrant_api_key,
        shard_number=shard_number,
        replication_factor=replication_factor,
    )
    wanted = Encoding(encoding or DEFAULT_ENCODING, normalize=normalize, idf=idf)
    scoring = ScoringOptions(**options)
    try:
        current, problem = store.open_current(), None
    except IndexDamaged as error:
        current, problem = None, str(error)
    fits = current is not None and (encoding is None or same_encoding(current.manifest, wanted))
    if store.server and not repair:
        if current is not None and fits:
            return Recommender(store, current, scoring)
        if problem or current is not None:
            reason = problem or "it was built with another encoding"
            raise IndexUnavailable(
                f"the index of {name} on the Qdrant server cannot be used: {reason}. "
                f"Rebuild it with: python -m reco build --dataset {name} (with QDRANT_URL set "
                "to that server)"
            )
    signature = release_signature(path) if path is not None else None
    if current is not None and fits:
        if signature is None or same_release(current.manifest.get("release"), signature):
            return Recommender(store, current, scoring)
    dataset = load_movielens(path or source, data_dir=data_dir, progress=download_progress)
    if path is None:  # downloaded just now
        _, path = find_release(source, data_dir=data_dir)
        signature = release_signature(path) if path is not None else None
    base = encoding_of(current.manifest) if current is not None and encoding is None else wanted
    fitted = fit_encoding(dataset, base.name, normalize=base.normalize, idf=base.idf)
    if current is not None and current.manifest.get("fingerprint") == index_fingerprint(
        dataset, fitted
    ):  # the same data in a file of another date: note the file, keep the index
        return Recommender(store, store.update_manifest({"release": signature}), scoring)
    index = build_index(dataset, store, fitted, release=signature, progress=build_progress)
    return Recommender(store, index, scoring)

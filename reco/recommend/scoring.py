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

from dataclasses import dataclass

import numpy as np

from reco.encode import Encoding, SparseRows
from reco.explain import predicted_from_sums, row_means
from reco.recommend.options import ScoringOptions
from reco.scale import LIKED_AT
from reco.store import Neighbours


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
    allowed: np.ndarray | None = None,
) -> Candidates:
    """Score every movie the neighbours rated and ``exclude`` does not hold, best first.

    Movies rated by fewer than ``options.min_raters`` counted neighbours are left out; ties are
    broken by movie id so the order is deterministic. ``popularity[movie_id]`` (rating counts)
    is needed when ``options.popularity_penalty`` is set, ``rated`` (the person's own films)
    when ``options.regression_weight`` is (`neighbour_fit`; apply `ScoringOptions.for_profile`
    first). With ``limit``, only the best ``limit``: the head of the full ranking, found
    without sorting the rest. ``allowed`` (booleans by movie id, `reco.explore.FilmFilter.mask`):
    only the films it holds are candidates, in the order the full ranking gives them.
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
    if allowed is not None:  # after the scaling: the order within is the full ranking's
        keep &= allowed[movies]
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


def counting(similarities: np.ndarray, options: ScoringOptions) -> np.ndarray:
    """Which neighbours' ratings count: those of positive similarity, or all of them when
    neighbours are not weighted (exponent 0, the seed's method)."""
    if options.similarity_exponent == 0:
        return np.ones(len(similarities), dtype=bool)
    return np.asarray(similarities) > 0


def counted(found: Neighbours, options: ScoringOptions) -> Neighbours:
    """The neighbours whose ratings count (`counting`), without a copy when all do."""
    counts = counting(found.similarities, options)
    return found if counts.all() else found.take(counts)

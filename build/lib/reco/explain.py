"""What the neighbours' ratings say about a film, in the person's own terms.

- `predict_stars`: the stars a person would likely give films, from the neighbours'
  similarity-weighted ratings around their own means, added to the person's mean;
- `explain`: how many neighbours rated a film, a good / neutral / bad histogram of their stars
  (the explanation users rated best in Herlocker et al., CSCW 2000), and which of the person's
  own ratings the neighbours who liked it share and agree with.

Pure functions over the neighbours' stars (`SparseRows`, row ``i`` = neighbour ``i``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from reco.encode import SparseRows, row_sums
from reco.scale import LIKED_AT, MAX_STARS, MIN_STARS, SO_SO_FROM

AGREE_WITHIN = 0.5
"""A neighbour agrees with you on a film when their stars are at most this far from yours."""
PREDICTION_SHRINKAGE = 1.0
"""Added to the sum of weights: a film few similar people rated stays near your mean."""
MEAN_PRIOR = 10.0
"""Your mean counts this many ratings at everyone's mean besides your own: three 5 ★ ratings
do not make every prediction 5 ★. Chosen with `PREDICTION_SHRINKAGE` on validation folds
(split seed 0) of ml-100k for the lowest RMSE; reported in docs/evaluation.md on other folds."""


def row_means(rows: SparseRows) -> np.ndarray:
    """Each row's mean stars (0 for an empty row)."""
    return row_sums(rows.values, rows.indptr) / np.maximum(np.diff(rows.indptr), 1)


def person_mean(stars: Iterable[float], everyone: float, prior: float = MEAN_PRIOR) -> float:
    """A person's mean stars, pulled towards ``everyone``'s mean as if they had also given
    ``prior`` ratings of that value."""
    values = np.fromiter(stars, dtype=np.float64)
    return float((values.sum() + prior * everyone) / (len(values) + prior))


def predict_stars(
    rows: SparseRows,
    weights: np.ndarray,
    movie_ids: np.ndarray,
    own_mean: float,
    *,
    shrinkage: float = PREDICTION_SHRINKAGE,
) -> np.ndarray:
    """Predicted stars for ``movie_ids``: ``own_mean + sum_v w_v (r_v - mean_v) /
    (sum_v w_v + shrinkage)`` over the neighbours ``v`` who rated the film (``w_v >= 0``
    their weights), clipped to 0.5-5. A film nobody rated gets ``own_mean``."""
    members = np.zeros(len(rows), dtype=np.int64)
    return predict_stars_each(
        rows, weights, members, movie_ids, np.array([own_mean]), shrinkage=shrinkage
    )[0]


def predict_stars_each(
    rows: SparseRows,
    weights: np.ndarray,
    members: np.ndarray,
    movie_ids: np.ndarray,
    own_means: np.ndarray,
    *,
    shrinkage: float = PREDICTION_SHRINKAGE,
) -> np.ndarray:
    """`predict_stars` for several people at once (a movie night), in one pass: row ``i`` of
    ``rows`` is a neighbour of person ``members[i]``, whose mean is ``own_means[person]``.
    Returns people x ``movie_ids``."""
    movie_ids = np.asarray(movie_ids, dtype=np.int64)
    own_means = np.asarray(own_means, dtype=np.float64)
    people, films = len(own_means), len(movie_ids)
    if films == 0:
        return np.empty((people, 0), dtype=np.float64)
    weights = np.maximum(np.asarray(weights, dtype=np.float64), 0.0)
    owner = np.repeat(np.arange(len(rows)), np.diff(rows.indptr))
    slots = _slots(rows.indices, movie_ids)  # which of movie_ids each entry rates, or -1
    hit = slots >= 0
    rater = owner[hit]
    cell = np.asarray(members, dtype=np.int64)[rater] * films + slots[hit]
    deviation = rows.values[hit].astype(np.float64) - row_means(rows)[rater]
    entry_weights = weights[rater]
    size = people * films
    deviation_sums = np.bincount(cell, weights=entry_weights * deviation, minlength=size)
    weight_sums = np.bincount(cell, weights=entry_weights, minlength=size)
    return predicted_from_sums(
        own_means[:, None],
        deviation_sums.reshape(people, films),
        weight_sums.reshape(people, films),
        shrinkage=shrinkage,
    )


def predicted_from_sums(
    own_mean: float | np.ndarray,
    deviation_sums: np.ndarray,
    weight_sums: np.ndarray,
    *,
    shrinkage: float = PREDICTION_SHRINKAGE,
) -> np.ndarray:
    """The prediction's formula (`predict_stars`) from its per-film sums: ``sum_v w_v (r_v -
    mean_v)`` and ``sum_v w_v``."""
    total = weight_sums + shrinkage
    shift = np.divide(deviation_sums, total, out=np.zeros(np.shape(total)), where=total > 0)
    return np.clip(own_mean + shift, MIN_STARS, MAX_STARS)


def _slots(indices: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """For each of ``indices``, its position in ``wanted`` (distinct ids), or -1: a dense
    lookup table when the ids are compact, a sorted search otherwise."""
    if len(indices) == 0:
        return np.empty(0, dtype=np.int64)
    size = max(int(indices.max()), int(wanted.max())) + 1
    if size <= 8 * len(indices):
        table = np.full(size, -1, dtype=np.int64)
        table[wanted] = np.arange(len(wanted))
        return table[indices]
    order = np.argsort(wanted, kind="stable")
    ranked = wanted[order]
    at = np.minimum(np.searchsorted(ranked, indices), len(ranked) - 1)
    return np.where(ranked[at] == indices, order[at], -1)


@dataclass(frozen=True)
class Agreement:
    """One of your ratings that neighbours who liked a film share with you."""

    movie_id: int
    your_stars: float
    neighbours: int  # of those who liked the film, how many rated it within half a star of you


@dataclass(frozen=True)
class Explanation:
    """What the neighbours thought of one film."""

    movie_id: int
    neighbours: int  # all the neighbours asked
    good: int
    neutral: int
    bad: int
    agreements: tuple[Agreement, ...]  # most shared first

    @property
    def raters(self) -> int:
        return self.good + self.neutral + self.bad


def explain(
    rows: SparseRows, movie_id: int, profile: Mapping[int, float], *, limit: int = 3
) -> Explanation:
    """The neighbours' verdicts on ``movie_id`` and, among those who liked it (4 ★ and up),
    the person's own ratings they agree with (within half a star), most shared first, then
    the person's favourites first. Neighbours who did not like it are never counted as
    reasons."""
    return explain_all(rows, [movie_id], profile, limit=limit)[int(movie_id)]


def explain_all(
    rows: SparseRows, movie_ids: Sequence[int], profile: Mapping[int, float], *, limit: int = 3
) -> dict[int, Explanation]:
    """`explain` for several films: which neighbours agree with the person on which of their
    films is worked out once, then counted among each film's likers."""
    counts = np.diff(rows.indptr)
    owner = np.repeat(np.arange(len(rows)), counts)
    own = np.array(sorted(profile), dtype=np.int64)
    mine = np.array([profile[m] for m in own], dtype=np.float64)
    entries = np.flatnonzero(np.isin(rows.indices, own))  # the neighbours' ratings of yours
    slot = np.searchsorted(own, rows.indices[entries])
    close = np.abs(rows.values[entries] - mine[slot]) <= AGREE_WITHIN
    agreeing, agreed = owner[entries[close]], slot[close]  # who agrees with you on which film
    found = {}
    for movie_id in map(int, movie_ids):
        positions = np.flatnonzero(rows.indices == movie_id)
        stars = rows.values[positions].astype(np.float64)
        liked = stars >= LIKED_AT
        good = int(liked.sum())
        neutral = int(((stars >= SO_SO_FROM) & ~liked).sum())
        likers = np.zeros(len(rows), dtype=bool)
        likers[owner[positions[liked]]] = True
        shared = np.bincount(agreed[likers[agreeing]], minlength=len(own))
        ranked = sorted(np.flatnonzero(shared).tolist(), key=lambda s: (-shared[s], -mine[s]))
        found[movie_id] = Explanation(
            movie_id=movie_id,
            neighbours=len(rows),
            good=good,
            neutral=neutral,
            bad=len(stars) - good - neutral,
            agreements=tuple(
                Agreement(int(own[s]), float(mine[s]), int(shared[s])) for s in ranked[:limit]
            ),
        )
    return found

"""Movie night: one ranking of films for a group, from each member's own neighbours.

Each member's neighbours score the films as they would for that person alone
(`reco.recommend.score_candidates`). A film's *relevance* to a member is its score over the
member's best score: 1 for their top film, 0 when their neighbours do not recommend it. A
rule turns the members' relevances (and their predicted stars) into the group's order:

- ``average``: the mean relevance;
- ``least-misery``: the worst-off member's relevance (the film that leaves the least happy
  member best off), ties by the mean;
- ``average-without-misery``: the mean, over the films no member is predicted to dislike
  (predicted stars below `DISLIKED_BELOW`); films someone would dislike come after them.

Pure functions over arrays: row ``m`` of a matrix is member ``m``, column ``f`` film ``f``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

import numpy as np

from reco.scale import DISLIKED_BELOW

GroupRule = Literal["average-without-misery", "average", "least-misery"]
RULES: tuple[GroupRule, ...] = get_args(GroupRule)
DEFAULT_RULE: GroupRule = "average-without-misery"
"""Chosen with `python -m reco evaluate --groups` (docs/evaluation.md, "Movie night"): about
the members' mean NDCG@10 of the plain average, with far fewer films someone would dislike."""
RULE_LABELS: dict[GroupRule, str] = {
    "average-without-misery": "Average, nobody likely to dislike it",
    "average": "Average of everyone",
    "least-misery": "Best for the least happy member",
}
MAX_MEMBERS = 6
GROUP_NEIGHBOURS = 50
"""Neighbours asked per member: half of one person's default, at half the cost, for the same
group quality on the validation split (seed 0) of ml-100k (members' NDCG@10 0.310 vs 0.313
with 100, fold spread 0.016; worst-off member 0.142 vs 0.143) and of ml-latest-small (0.276
vs 0.277): a group's list draws on each member's 100 best films, which the nearest
neighbours already settle."""


def check_rule(rule: str) -> GroupRule:
    """``rule`` as a `GroupRule`; `ValueError` naming the rules otherwise."""
    if rule not in RULES:
        raise ValueError(f"unknown group rule {rule!r}; use one of {', '.join(RULES)}")
    return rule  # type: ignore[return-value]


def relevance(movie_ids: np.ndarray, scores: np.ndarray, films: np.ndarray) -> np.ndarray:
    """One member's relevance of each of ``films``: the member's score of it (``movie_ids``
    with their ``scores``: the member's candidates, any order) over their best score, clipped
    to 0-1; 0 for a film not among the candidates (their neighbours did not rate it, or too
    few did)."""
    films = np.asarray(films, dtype=np.int64)
    out = np.zeros(len(films), dtype=np.float64)
    if len(movie_ids) == 0 or len(films) == 0 or float(np.max(scores)) <= 0:
        return out
    order = np.argsort(movie_ids, kind="stable")
    ranked = np.asarray(movie_ids, dtype=np.int64)[order]
    at = np.minimum(np.searchsorted(ranked, films), len(ranked) - 1)
    found = ranked[at] == films
    best = float(np.max(scores))
    out[found] = np.clip(np.asarray(scores, dtype=np.float64)[order[at[found]]] / best, 0, 1)
    return out


Predict = Callable[[np.ndarray], np.ndarray]
"""Film positions -> each member's predicted stars for them (members x films)."""


def rank_group(
    films: np.ndarray,
    relevances: np.ndarray,
    rule: GroupRule,
    limit: int,
    predict: Predict,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The best ``limit`` of ``films`` under ``rule``: their positions, best first, their
    group scores (the mean relevance; the least happy member's under least misery) and the
    members' predicted stars for them. Ties go to the higher mean, then the lower movie id.
    ``relevances`` is members x films; ``predict`` is only asked about the films it must
    know of: the ones returned and, under average-without-misery, those passed over."""
    films = np.asarray(films, dtype=np.int64)
    mean = relevances.mean(axis=0)
    if rule == "least-misery":
        worst = relevances.min(axis=0)
        top = np.lexsort((films, -mean, -worst))[:limit]
        return top, worst[top], predict(top)
    by_mean = np.lexsort((films, -mean))
    if rule == "average":
        top = by_mean[:limit]
        return top, mean[top], predict(top)
    head = min(len(films), 2 * limit + 10)  # average-without-misery: grow the head until it
    while True:  # holds `limit` films nobody is predicted to dislike (or is everything)
        stars = predict(by_mean[:head])
        spared = ~(stars < DISLIKED_BELOW).any(axis=0)
        if spared.sum() >= limit or head == len(films):
            break
        head = min(len(films), 4 * head)
    chosen = np.concatenate([np.flatnonzero(spared), np.flatnonzero(~spared)])[:limit]
    top = by_mean[:head][chosen]
    return top, mean[top], stars[:, chosen]


def disliked_by(predicted: np.ndarray) -> tuple[int, ...]:
    """The members (positions) predicted to dislike a film, given their predicted stars."""
    return tuple(int(m) for m in np.flatnonzero(np.asarray(predicted) < DISLIKED_BELOW))

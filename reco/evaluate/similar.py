"""More like this, measured: for each held-out user, one film they liked in their query asks
for ten films like it; the hits are the films they liked among their hidden ratings (HR@10,
NDCG@10), never a film of their query. Beside them, the share of the ten that share a genre
with the film: how much "like this" the list still is (the most liked films score well on the
hits whatever the film). Against item-kNN by plain cosine over the raw ratings
(the textbook "people who liked this also liked") and the most popular films.

The index (films included) is built on each fold's training users, so no held-out rating
shapes a film's vector. ``popularity`` (the weight of a film's raters in the order,
`reco.recommend.similar.POPULARITY`) is chosen on the tuning split and reported on another.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from reco.datasets import NO_GENRE, Dataset, Progress
from reco.evaluate.metrics import hit_rate, mean_interval, ndcg_at
from reco.evaluate.protocol import Case, EvalProtocol, make_folds
from reco.recommend import Recommender
from reco.recommend.similar import POPULARITY, more_like_this

K = 10
POPULARITY_GRID = (0.0, 0.15, 0.3, 0.5, 0.75)
Ranker = Callable[[int, Case], list[int]]


def query_film(case: Case, liked_at: float) -> int | None:
    """The liked film of a case's query that asks (drawn by the user's id: the same in every
    run), or None when the query likes none."""
    liked = sorted(m for m, stars in case.query.items() if stars >= liked_at)
    if not liked:
        return None
    return int(np.random.default_rng(case.user_id).choice(liked))


class CosineItems:
    """Item-kNN by cosine over the training users' raw ratings (dense: a release's films by
    its users)."""

    def __init__(self, train: Dataset):
        ratings = train.ratings
        users, user_at = np.unique(ratings["user_id"].to_numpy(), return_inverse=True)
        size = int(ratings["movie_id"].max()) + 1
        matrix = np.zeros((size, len(users)), dtype=np.float32)
        matrix[ratings["movie_id"].to_numpy(), user_at] = ratings["rating"].to_numpy()
        norms = np.linalg.norm(matrix, axis=1)
        self.matrix = matrix / np.where(norms > 0, norms, 1)[:, None]
        self.rated = norms > 0

    def rank(self, film: int, case: Case) -> list[int]:
        if film >= len(self.matrix):
            return []
        scores = self.matrix @ self.matrix[film]
        scores[~self.rated] = -np.inf
        scores[[m for m in case.query if m < len(scores)]] = -np.inf
        order = np.lexsort((np.arange(len(scores)), -scores))
        return [int(m) for m in order[:K] if np.isfinite(scores[m])]


def rankers(recommender: Recommender, train: Dataset) -> dict[str, Ranker]:
    """Every method of the comparison, over one fold's index."""
    store, catalog = recommender.store, recommender.catalog
    by_count = catalog.popular().movie_ids  # the most liked
    cosine = CosineItems(train)

    def qdrant(popularity: float, personal: bool) -> Ranker:
        def rank(film: int, case: Case) -> list[int]:
            found = more_like_this(
                store,
                catalog,
                film,
                K,
                ratings=case.query if personal else None,
                hidden=case.query.keys(),
                popularity=popularity,
            )
            return [item.movie_id for item in found.items]

        return rank

    methods: dict[str, Ranker] = {
        f"more like this, popularity {weight:g}": qdrant(weight, False)
        for weight in POPULARITY_GRID
    }
    methods[f"more like this + your ratings, popularity {POPULARITY:g}"] = qdrant(POPULARITY, True)
    methods["item-kNN, cosine over raw ratings"] = cosine.rank
    methods["most liked"] = lambda film, case: [
        int(m) for m in by_count[: K + len(case.query)] if int(m) not in case.query
    ][:K]
    return methods


def evaluate_similar(
    dataset: Dataset, protocol: EvalProtocol, progress: Progress | None = None
) -> pd.DataFrame:
    """One row per method and fold: HR@10, NDCG@10, the share of films of the film's genres
    and how many users asked."""
    rows = []
    folds = make_folds(dataset, protocol)
    for number, fold in enumerate(folds):
        recommender = Recommender.build(fold.train)
        try:
            asked = [(case, query_film(case, protocol.liked_at)) for case in fold.cases]
            asked = [(case, film) for case, film in asked if film is not None and case.relevant]
            genres = _genres(recommender)
            for method, rank in rankers(recommender, fold.train).items():
                scores = []
                for case, film in asked:
                    ranked, relevant = rank(film, case), set(case.relevant)
                    alike = [bool(genres.get(m, set()) & genres.get(film, set())) for m in ranked]
                    scores.append(
                        (
                            hit_rate(ranked, relevant, K),
                            ndcg_at(ranked, relevant, K),
                            float(np.mean(alike)) if alike else 0.0,
                        )
                    )
                table = np.array(scores).reshape(-1, 3)
                means = table.mean(axis=0) if len(table) else np.full(3, np.nan)
                rows.append(
                    {
                        "method": method,
                        "fold": number,
                        "users": len(scores),
                        "hr@10": float(means[0]),
                        "ndcg@10": float(means[1]),
                        "same genre": float(means[2]),
                    }
                )
        finally:
            recommender.store.close()
        if progress is not None:
            progress(number + 1, len(folds))
    return pd.DataFrame(rows)


def _genres(recommender: Recommender) -> dict[int, set[str]]:
    movies = recommender.catalog.movies
    return {
        int(m): set(str(g).split("|")) - {"", NO_GENRE}
        for m, g in zip(movies["movie_id"], movies["genres"], strict=True)
    }


def similar_markdown(folds: pd.DataFrame, order: Sequence[str] = ()) -> str:
    """Each method's fold means with their 95% intervals, best NDCG@10 in bold."""
    metrics = ("hr@10", "ndcg@10", "same genre")
    lines = ["| Method | users | HR@10 | NDCG@10 | shares a genre |", "|---|---|---|---|---|"]
    means = {
        method: {metric: mean_interval(group[metric]) for metric in metrics}
        for method, group in folds.groupby("method", sort=False)
    }
    best = max(means, key=lambda method: means[method]["ndcg@10"][0])
    for method in order or means:
        cells = []
        for metric in metrics:
            mean, half = means[method][metric]
            text = f"{mean:.3f} ± {half:.3f}"
            cells.append(f"**{text}**" if metric == "ndcg@10" and method == best else text)
        users = int(folds.loc[folds["method"] == method, "users"].sum())
        lines.append(f"| {method} | {users:,} | {' | '.join(cells)} |")
    return "\n".join(lines)

"""Exact similarities without an engine (numpy posting lists): the physical reference the
engine is measured against, ranked through the recommender's own neighbours -> rank path."""

from __future__ import annotations

import numpy as np

from reco.datasets import Dataset
from reco.encode import rows_from_ratings
from reco.recommend import Recommender
from reco.store import Neighbours


class PostingLists:
    """Exact similarities without an engine: per-movie posting lists of the taste vectors,
    with the same IDF weighting as Qdrant's modifier, and the users' raw stars."""

    def __init__(self, dataset: Dataset, recommender: Recommender):
        encoding = recommender.encoding
        ratings = dataset.ratings
        self.user_ids, stars = rows_from_ratings(
            ratings["user_id"].to_numpy(),
            ratings["movie_id"].to_numpy(),
            ratings["rating"].to_numpy(),
        )
        self.stars = stars
        taste = encoding.encode_rows(stars)
        owner = np.repeat(np.arange(len(self.user_ids)), np.diff(taste.indptr))
        order = np.argsort(taste.indices, kind="stable")
        self.movie_sorted = taste.indices[order]
        self.owner_sorted = owner[order]
        self.value_sorted = taste.values[order].astype(np.float64)
        self.encoding = encoding
        self.recommender = recommender
        self.options = recommender.options
        self.counts = recommender.rating_counts
        if encoding.idf:
            n = len(self.user_ids)
            movies, df = np.unique(taste.indices, return_counts=True)
            self.idf = np.zeros(int(self.counts.shape[0]))
            self.idf[movies] = np.log((n - df + 0.5) / (df + 0.5) + 1)
        else:
            self.idf = None

    def recommend(self, profile: dict[int, float], limit: int = 10) -> list[int]:
        query = self.encoding.encode_query(profile)
        owners, weights = [], []
        for movie, value in zip(query.indices.tolist(), query.values.tolist(), strict=True):
            lo = np.searchsorted(self.movie_sorted, movie, "left")
            hi = np.searchsorted(self.movie_sorted, movie, "right")
            weight = value * (self.idf[movie] if self.idf is not None else 1.0)
            owners.append(self.owner_sorted[lo:hi])
            weights.append(weight * self.value_sorted[lo:hi])
        sims = np.bincount(
            np.concatenate(owners) if owners else np.empty(0, np.int64),
            weights=np.concatenate(weights) if weights else None,
            minlength=len(self.user_ids),
        ).astype(np.float64)
        k = min(self.options.neighbours, len(sims))
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.argsort(-sims[top], kind="stable")]
        top = top[sims[top] > 0]
        if len(top) == 0:
            return []
        found = Neighbours(self.user_ids[top], sims[top], self.stars.take(top))
        rated = np.fromiter(profile, dtype=np.int64)
        _, candidates = self.recommender.rank(found, profile, rated, self.options, limit)
        return candidates.movie_ids.tolist()

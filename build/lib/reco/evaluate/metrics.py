"""Ranking metrics at k (binary relevance: a held-out film rated 4 stars or more), coverage,
and the 95% interval of a mean over folds."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

METRICS = ("hr", "precision", "recall", "ndcg", "coverage", "ms_per_query")
METRIC_LABELS = {
    "hr": "HR@10",
    "precision": "Precision@10",
    "recall": "Recall@10",
    "ndcg": "NDCG@10",
    "coverage": "Coverage",
    "ms_per_query": "ms/query",
}


def hit_rate(ranked: Sequence[int], relevant: set[int], k: int = 10) -> float:
    """1 if any of the top ``k`` is relevant, else 0."""
    return float(any(item in relevant for item in ranked[:k]))


def precision_at(ranked: Sequence[int], relevant: set[int], k: int = 10) -> float:
    """Relevant items in the top ``k``, divided by ``k``."""
    return sum(item in relevant for item in ranked[:k]) / k


def recall_at(ranked: Sequence[int], relevant: set[int], k: int = 10) -> float:
    """Relevant items in the top ``k``, divided by all relevant items."""
    if not relevant:
        return 0.0
    return sum(item in relevant for item in ranked[:k]) / len(relevant)


def ndcg_at(ranked: Sequence[int], relevant: set[int], k: int = 10) -> float:
    """Binary-relevance NDCG: DCG of the top ``k`` over the DCG of an ideal top ``k``."""
    dcg = sum(1 / math.log2(rank + 2) for rank, item in enumerate(ranked[:k]) if item in relevant)
    ideal = sum(1 / math.log2(rank + 2) for rank in range(min(k, len(relevant))))
    return dcg / ideal if ideal else 0.0


def coverage(recommended: Iterable[Iterable[int]], catalogue: int) -> float:
    """Share of the catalogue that appears in at least one top list."""
    seen: set[int] = set()
    for items in recommended:
        seen.update(items)
    return len(seen) / catalogue if catalogue else 0.0


_T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
         9: 2.262, 10: 2.228}  # fmt: skip
"""Student's t, 97.5th percentile, by degrees of freedom (a 95% interval over folds)."""


def mean_interval(values: Sequence[float]) -> tuple[float, float]:
    """The mean of per-fold values and the half-width of its 95% interval (Student's t)."""
    data = np.asarray(values, dtype=np.float64)
    if len(data) < 2:
        return float(data.mean()) if len(data) else math.nan, math.nan
    t = _T975.get(len(data) - 1, 1.96)
    return float(data.mean()), float(t * data.std(ddof=1) / math.sqrt(len(data)))

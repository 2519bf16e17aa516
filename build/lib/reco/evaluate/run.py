"""The main evaluation: every method on the same folds, and the predicted stars against the
held-out ratings."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from reco.datasets import Dataset, Progress
from reco.evaluate.methods import Method, default_methods
from reco.evaluate.metrics import coverage, hit_rate, ndcg_at, precision_at, recall_at
from reco.evaluate.protocol import EvalProtocol, Fold, make_folds
from reco.evaluate.report import FoldResult, Report
from reco.recommend import Recommender
from reco.store import temporary_store


def evaluate(
    dataset: Dataset,
    methods: Sequence[Method] | None = None,
    protocol: EvalProtocol | None = None,
    progress: Progress | None = None,
    *,
    predictions: bool = False,
) -> Report:
    """Run every method on the same folds and return per-fold metrics; with
    ``predictions``, also `evaluate_predictions` (in ``extra["prediction"]``)."""
    protocol = protocol or EvalProtocol()
    methods = list(methods) if methods is not None else default_methods(dataset)
    folds = make_folds(dataset, protocol)
    catalogue = int(dataset.ratings["movie_id"].nunique())
    started = time.perf_counter()
    results = []
    total, done = len(folds) * len(methods), 0
    for index, fold in enumerate(folds):
        for method in methods:
            results.append(_run(method, fold, index, protocol.k, catalogue))
            done += 1
            if progress is not None:
                progress(done, total)
    extra: dict[str, Any] = {}
    if predictions:
        extra["prediction"] = evaluate_predictions(dataset, protocol).to_dict("records")
    seconds = time.perf_counter() - started
    return Report(dataset.name, protocol, tuple(results), catalogue, seconds, extra)


def _run(method: Method, fold: Fold, index: int, k: int, catalogue: int) -> FoldResult:
    ranker = method.fit(fold.train)
    lists, sums = [], dict.fromkeys(("hr", "precision", "recall", "ndcg"), 0.0)
    elapsed = 0.0
    for case in fold.cases:
        started = time.perf_counter()
        ranked = ranker.rank(case, k)
        elapsed += time.perf_counter() - started
        lists.append(ranked)
        sums["hr"] += hit_rate(ranked, case.relevant, k)
        sums["precision"] += precision_at(ranked, case.relevant, k)
        sums["recall"] += recall_at(ranked, case.relevant, k)
        sums["ndcg"] += ndcg_at(ranked, case.relevant, k)
    users = len(fold.cases)
    metrics = {name: value / max(users, 1) for name, value in sums.items()}
    metrics["coverage"] = coverage(lists, catalogue)
    metrics["ms_per_query"] = 1000 * elapsed / max(users, 1)
    return FoldResult(method.name, index, users, metrics)


PREDICTORS = ("This project (predicted stars)", "Movie mean", "User mean")


def evaluate_predictions(
    dataset: Dataset, protocol: EvalProtocol | None = None, progress: Progress | None = None
) -> pd.DataFrame:
    """How close the predicted stars the app shows come to held-out ratings: MAE and RMSE
    over every hidden rating of every held-out user, per fold, against the movie-mean
    (training users' mean of the film, else their global mean) and user-mean (the query's
    mean) baselines. Same folds and queries as `evaluate`."""
    protocol = protocol or EvalProtocol()
    rows = []
    folds = make_folds(dataset, protocol)
    for index, fold in enumerate(folds):
        recommender = Recommender.build(fold.train, temporary_store("eval"))  # defaults
        try:
            ratings = fold.train.ratings
            movie_mean = ratings.groupby("movie_id")["rating"].mean().to_dict()
            everyone = float(ratings["rating"].mean())
            errors: dict[str, list[np.ndarray]] = {name: [] for name in PREDICTORS}
            for case in fold.cases:
                movies = [m for m in case.held_out if m in recommender.movie_ids]
                if not movies:
                    continue
                truth = np.array([case.held_out[m] for m in movies])
                guesses = (
                    recommender.predict(case.query, movies),
                    np.array([movie_mean.get(m, everyone) for m in movies]),
                    np.full(len(movies), float(np.mean(list(case.query.values())))),
                )
                for name, guess in zip(PREDICTORS, guesses, strict=True):
                    errors[name].append(guess - truth)
        finally:
            recommender.store.close()
        for name in PREDICTORS:
            error = np.concatenate(errors[name]) if errors[name] else np.zeros(0)
            rows.append(
                {
                    "method": name,
                    "fold": index,
                    "ratings": len(error),
                    "mae": float(np.abs(error).mean()) if len(error) else math.nan,
                    "rmse": float(np.sqrt((error**2).mean())) if len(error) else math.nan,
                }
            )
        if progress is not None:
            progress(index + 1, len(folds))
    return pd.DataFrame(rows)

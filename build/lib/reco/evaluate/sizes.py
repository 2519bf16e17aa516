"""The evaluation by profile size: every method at several query sizes on the same folds, the
baselines tuned per fold and size on validation users."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from reco.datasets import Dataset, Progress
from reco.evaluate.baselines import Baseline, Ranker
from reco.evaluate.methods import Method, default_size_methods
from reco.evaluate.metrics import METRIC_LABELS, hit_rate, mean_interval, ndcg_at, recall_at
from reco.evaluate.protocol import (
    PROFILE_SIZES,
    Case,
    EvalProtocol,
    Fold,
    make_folds,
    size_label,
    size_protocol,
    validation_split,
)


def evaluate_profile_sizes(
    dataset: Dataset,
    methods: Sequence[Method | Baseline] | None = None,
    sizes: Sequence[str] = PROFILE_SIZES,
    protocol: EvalProtocol | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Every method at every query size, on the same folds. A `Method` is fitted once per
    fold (the training users are the same at every size); a `Baseline` is first fitted at
    every point of its grid on the fold's training users minus validation users
    (`validation_split`), and for each size the point with the best validation NDCG@k is
    fitted on all training users: tuned per fold and size, never on test users.

    One row per size, method and fold with NDCG@k, Recall@k, HR@k, users, and for tuned
    methods the chosen point and its validation NDCG."""
    base = protocol or EvalProtocol()
    methods = list(methods) if methods is not None else default_size_methods()
    splits = {size: make_folds(dataset, size_protocol(size, base)) for size in sizes}
    rows = []
    for index in range(base.folds):
        train = splits[sizes[0]][index].train
        validation = (
            {size: validation_split(train, size, base) for size in sizes}
            if any(isinstance(m, Baseline) for m in methods)
            else {}
        )
        for method in methods:
            if isinstance(method, Baseline):
                rankers, chosen = _tuned_rankers(method, train, validation, sizes, base.k)
            else:
                ranker = method.fit(train)
                rankers = dict.fromkeys(sizes, ranker)
                chosen = dict.fromkeys(sizes, ("", math.nan))
            for size in sizes:
                cases = splits[size][index].cases
                rows.append(
                    {
                        "size": size,
                        "method": method.name,
                        "fold": index,
                        "users": len(cases),
                        **_scores(rankers[size], cases, base.k),
                        "chosen": chosen[size][0],
                        "validation_ndcg": chosen[size][1],
                    }
                )
        if progress is not None:
            progress(index + 1, base.folds)
    return pd.DataFrame(rows)


def _scores(ranker: Ranker, cases: Sequence[Case], k: int) -> dict[str, float]:
    """Mean NDCG@k, Recall@k and HR@k of a ranker over cases (NaN without cases)."""
    if not cases:
        return {"ndcg": math.nan, "recall": math.nan, "hr": math.nan}
    table = []
    for case in cases:
        ranked = ranker.rank(case, k)
        table.append(
            (
                ndcg_at(ranked, case.relevant, k),
                recall_at(ranked, case.relevant, k),
                hit_rate(ranked, case.relevant, k),
            )
        )
    ndcg, recall, hr = np.mean(table, axis=0).tolist()
    return {"ndcg": ndcg, "recall": recall, "hr": hr}


def _tuned_rankers(
    method: Baseline,
    train: Dataset,
    validation: Mapping[str, Fold],
    sizes: Sequence[str],
    k: int,
) -> tuple[dict[str, Ranker], dict[str, tuple[str, float]]]:
    """For each size, ``method`` at its grid point of best validation NDCG@k (the first of
    equals), fitted on all of ``train``; and the chosen point's label and validation NDCG."""
    inner = validation[sizes[0]].train
    table = np.zeros((len(method.grid), len(sizes)))
    for row, point in enumerate(method.grid):
        ranker = method.fit(inner, **point)
        for column, size in enumerate(sizes):
            table[row, column] = _scores(ranker, validation[size].cases, k)["ndcg"]
    fitted: dict[int, Ranker] = {}
    rankers, chosen = {}, {}
    for column, size in enumerate(sizes):
        best = int(np.nanargmax(table[:, column])) if np.isfinite(table[:, column]).any() else 0
        if best not in fitted:
            fitted[best] = method.fit(train, **method.grid[best])
        rankers[size] = fitted[best]
        chosen[size] = (method.label(method.grid[best]), float(table[best, column]))
    return rankers, chosen


def profile_size_markdown(
    folds: pd.DataFrame, ours: str = "This project (default)", metric: str = "ndcg"
) -> str:
    """``metric`` at 10 per method (rows) and query size (columns), fold means; then the
    default's difference to the best baseline at each size with its 95% interval over folds
    (the project's other rows are not baselines)."""
    sizes = list(dict.fromkeys(folds["size"]))
    lines = [
        f"| {METRIC_LABELS[metric]} | " + " | ".join(size_label(s) for s in sizes) + " |",
        "|---|" + "---|" * len(sizes),
    ]
    means = folds.groupby(["method", "size"], sort=False)[metric].mean()
    methods = list(dict.fromkeys(folds["method"]))
    for method in methods:
        cells = [f"{means[(method, s)]:.3f}" for s in sizes]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    cells = []
    for size in sizes:
        at = folds[folds["size"] == size]
        baselines = [m for m in methods if not m.startswith("This project")]
        best = max(baselines, key=lambda m: means[(m, size)])
        ours_folds = at[at["method"] == ours].sort_values("fold")[metric].to_numpy()
        best_folds = at[at["method"] == best].sort_values("fold")[metric].to_numpy()
        mean, half = mean_interval(ours_folds - best_folds)
        cells.append(f"{mean:+.3f} ± {half:.3f} vs {best}")
    lines.append("| default − best baseline (95% interval) | " + " | ".join(cells) + " |")
    counts = folds[folds["method"] == methods[0]].groupby("size", sort=False)["users"].sum()
    lines.append("| held-out users | " + " | ".join(f"{int(counts[s]):,}" for s in sizes) + " |")
    return "\n".join(lines)


def tuning_markdown(folds: pd.DataFrame) -> str:
    """For each tuned method and size, the grid point chosen on validation users in most
    folds (and in how many); empty when nothing was tuned."""
    tuned = folds[folds["chosen"].fillna("") != ""] if "chosen" in folds else folds.iloc[:0]
    if tuned.empty:
        return ""
    sizes = list(dict.fromkeys(folds["size"]))
    lines = [
        "| chosen on validation users (folds) | " + " | ".join(size_label(s) for s in sizes) + " |",
        "|---|" + "---|" * len(sizes),
    ]
    for method in dict.fromkeys(tuned["method"]):
        cells = []
        for size in sizes:
            picks = tuned[(tuned["method"] == method) & (tuned["size"] == size)]["chosen"]
            counts = picks.value_counts(sort=True)
            top = f"{counts.index[0]} ({counts.iloc[0]}/{len(picks)})" if len(counts) else ""
            cells.append(top)
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)

"""Movie night, measured: synthetic groups of held-out users, each member's NDCG on their own
hidden films."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from reco.datasets import Dataset, Progress
from reco.evaluate.baselines import Popular
from reco.evaluate.metrics import hit_rate, ndcg_at
from reco.evaluate.protocol import Case, EvalProtocol, make_folds
from reco.group import DEFAULT_RULE, RULES, GroupRule
from reco.recommend import Recommender
from reco.store import temporary_store

GROUP_SIZES = (2, 3, 4)
POPULAR_FOR_GROUPS = "Most popular (baseline)"
ONE_MEMBER = "One random member's recommendations (baseline)"


def group_label(rule: GroupRule) -> str:
    return f"Group rule: {rule}" + (" (default)" if rule == DEFAULT_RULE else "")


def make_groups(
    cases: Sequence[Case], rng: np.random.Generator, sizes: Sequence[int] = GROUP_SIZES
) -> list[tuple[Case, ...]]:
    """The fold's held-out users in random groups of ``sizes`` in turn (2, 3, 4, 2, ...),
    each user in one group; a remainder too small for the next size is left out."""
    order = rng.permutation(len(cases)).tolist()
    groups: list[tuple[Case, ...]] = []
    at = 0
    for size in itertools.cycle(sizes):
        if at + size > len(order):
            break
        groups.append(tuple(cases[i] for i in order[at : at + size]))
        at += size
    return groups


def evaluate_groups(
    dataset: Dataset, protocol: EvalProtocol | None = None, progress: Progress | None = None
) -> pd.DataFrame:
    """Movie night, measured: synthetic groups of 2 to 4 held-out users of one fold (same
    folds and queries as `evaluate`). Every method gives the group one top ``k`` that no
    member rated; each member's NDCG@10 and HR@10 are taken on their own hidden liked films.
    Per fold and method: the members' mean NDCG, the worst-off member's NDCG (mean over
    groups), the mean HR and, for the rules, the share of listed films some member is
    predicted to dislike. Baselines: the most popular films, and one random member's own
    recommendations (what a group gets when one person chooses)."""
    protocol = protocol or EvalProtocol()
    rng = np.random.default_rng(protocol.seed + 1000)
    rows = []
    folds = make_folds(dataset, protocol)
    k = protocol.k
    for index, fold in enumerate(folds):
        recommender = Recommender.build(fold.train, temporary_store("eval-groups"))  # defaults
        popular = Popular(fold.train)
        try:
            scores: dict[str, list[tuple[float, float, float, float]]] = {}
            for group in make_groups(fold.cases, rng):
                queries = [case.query for case in group]
                seen = set().union(*(query.keys() for query in queries))
                together = Case(-1, {m: 0.0 for m in seen}, frozenset())
                for rule in RULES:
                    result = recommender.recommend_group(queries, k, rule=rule)
                    ranked = [item.movie_id for item in result.items if not item.popular]
                    disliked = np.mean([bool(item.disliked_by) for item in result.items] or [0])
                    ranked = popular.pad(ranked, together, k)
                    scores.setdefault(group_label(rule), []).append(
                        (*_member_scores(ranked, group, k), float(disliked))
                    )
                ranked = popular.rank(together, k)
                scores.setdefault(POPULAR_FOR_GROUPS, []).append(
                    (*_member_scores(ranked, group, k), math.nan)
                )
                chooser = int(rng.integers(len(group)))
                others = seen - group[chooser].query.keys()
                items = recommender.recommend(queries[chooser], k, hidden=others)
                ranked = popular.pad([i.movie_id for i in items if not i.popular], together, k)
                scores.setdefault(ONE_MEMBER, []).append(
                    (*_member_scores(ranked, group, k), math.nan)
                )
        finally:
            recommender.store.close()
        for method, values in scores.items():
            table = np.array(values)
            rows.append(
                {
                    "method": method,
                    "fold": index,
                    "groups": len(values),
                    "ndcg_mean": float(table[:, 0].mean()),
                    "ndcg_worst": float(table[:, 1].mean()),
                    "hr_mean": float(table[:, 2].mean()),
                    "disliked_share": float(table[:, 3].mean()),
                }
            )
        if progress is not None:
            progress(index + 1, len(folds))
    return pd.DataFrame(rows)


def _member_scores(
    ranked: Sequence[int], group: Sequence[Case], k: int
) -> tuple[float, float, float]:
    """The members' mean NDCG@k, the lowest member NDCG@k and the members' mean HR@k."""
    ndcgs = [ndcg_at(ranked, case.relevant, k) for case in group]
    hits = [hit_rate(ranked, case.relevant, k) for case in group]
    return float(np.mean(ndcgs)), float(np.min(ndcgs)), float(np.mean(hits))


def group_markdown(folds: pd.DataFrame) -> str:
    """Fold means ± standard deviations, one row per method, in run order."""
    lines = [
        "| Method | Members' NDCG@10 | Worst-off member's NDCG@10 | Members' HR@10 "
        "| Films someone would dislike | Groups |",
        "|---|---|---|---|---|---|",
    ]

    def cell(values: pd.Series) -> str:
        if values.isna().all():
            return "–"
        spread = values.std(ddof=1) if len(values) > 1 else 0.0
        return f"{values.mean():.3f} ± {spread:.3f}"

    for name, group in folds.groupby("method", sort=False):
        lines.append(
            f"| {name} | {cell(group['ndcg_mean'])} | {cell(group['ndcg_worst'])} "
            f"| {cell(group['hr_mean'])} | {cell(group['disliked_share'])} "
            f"| {int(group['groups'].sum()):,} |"
        )
    return "\n".join(lines)

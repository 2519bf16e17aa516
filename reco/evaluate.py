"""Offline evaluation that matches how the app is used.

Users are split into folds. For each fold the index is built on the other users; each held-out
user gives part of their ratings as the query (as a person does in the app), and the movies
they rated 4 stars or more among the rest are what a good top 10 should contain. Every method
ranks all movies the query has not rated, on the same split, in the same run.

Methods: the project's recommender (neighbours from the Qdrant store), the seed notebook's
method (global z-score, dot product, top 20 neighbours, unweighted sum), and the baselines of
`reco.baselines`: at fixed settings in the main table (`BASELINES`), tuned per fold and query
size on validation users in the evaluation by profile size (`evaluate_profile_sizes`).
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from reco.baselines import (
    EASE,
    TUNED_BASELINES,
    Baseline,
    ItemKNN,
    Popular,
    Ranker,
)
from reco.datasets import Dataset, Progress
from reco.encode import EncodingName
from reco.group import DEFAULT_RULE, RULES, GroupRule
from reco.recommend import (
    DEFAULT_ENCODING,
    DEFAULT_IDF,
    DEFAULT_NORMALIZE,
    SEED_OPTIONS,
    Recommender,
    ScoringOptions,
    counting,
)
from reco.store import EdgeStore, Neighbours

METRICS = ("hr", "precision", "recall", "ndcg", "coverage", "ms_per_query")
METRIC_LABELS = {
    "hr": "HR@10",
    "precision": "Precision@10",
    "recall": "Recall@10",
    "ndcg": "NDCG@10",
    "coverage": "Coverage",
    "ms_per_query": "ms/query",
}


# --------------------------------------------------------------------------- metrics


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


# --------------------------------------------------------------------------- protocol


@dataclass(frozen=True)
class EvalProtocol:
    """How users are held out and profiles split."""

    folds: int = 5
    query_fraction: float = 0.5
    liked_at: float = 4.0
    k: int = 10
    seed: int = 0
    max_users_per_fold: int | None = None
    query_size: int | None = None  # this many ratings as the query instead of a fraction

    def __post_init__(self) -> None:
        if self.folds < 2:
            raise ValueError("folds must be at least 2")
        if not 0 < self.query_fraction < 1:
            raise ValueError("query_fraction must be between 0 and 1")
        if self.query_size is not None and self.query_size < 1:
            raise ValueError("query_size must be at least 1")

    @property
    def query_label(self) -> str:
        """``"5 ratings"`` or ``"50%"``: how big each held-out user's query is."""
        if self.query_size is not None:
            return f"{self.query_size} ratings"
        return f"{self.query_fraction:.0%}"


@dataclass(frozen=True)
class Case:
    """One held-out user: the ratings given as the query and the hidden liked movies."""

    user_id: int
    query: dict[int, float]
    relevant: frozenset[int]
    age_group: str | None = None
    held_out: Mapping[int, float] = field(default_factory=dict)  # every hidden rating


@dataclass(frozen=True)
class Fold:
    train: Dataset
    cases: tuple[Case, ...]


def make_folds(dataset: Dataset, protocol: EvalProtocol) -> list[Fold]:
    """Split users into folds; each held-out user's ratings into query and hidden parts.

    Users whose hidden part has no liked movie, or whose query would be empty, are skipped;
    with ``protocol.query_size``, so are users with no more ratings than that. The split of
    users into folds depends on the seed only, so every query size has the same training sets.
    """
    rng = np.random.default_rng(protocol.seed)
    users = np.sort(dataset.ratings["user_id"].unique())
    rng.shuffle(users)
    groups = (
        dataset.users.set_index("user_id")["age_group"].astype(str).to_dict()
        if dataset.users is not None
        else {}
    )
    by_user = dict(tuple(dataset.ratings.groupby("user_id", sort=False)))
    folds = []
    for part in np.array_split(users, protocol.folds):
        held = set(part.tolist())
        cases = []
        for user_id in part.tolist():
            rows = by_user[user_id]
            order = rng.permutation(len(rows))
            if protocol.query_size is not None:  # too few ratings for this size: skipped
                cut = protocol.query_size if protocol.query_size < len(rows) else 0
            else:
                cut = int(round(len(rows) * protocol.query_fraction))
            query_rows, hidden_rows = rows.iloc[order[:cut]], rows.iloc[order[cut:]]
            relevant = frozenset(
                hidden_rows.loc[hidden_rows["rating"] >= protocol.liked_at, "movie_id"].tolist()
            )
            if not relevant or cut == 0:
                continue
            query = dict(
                zip(query_rows["movie_id"].tolist(), query_rows["rating"].tolist(), strict=True)
            )
            held_out = dict(
                zip(hidden_rows["movie_id"].tolist(), hidden_rows["rating"].tolist(), strict=True)
            )
            cases.append(Case(int(user_id), query, relevant, groups.get(user_id), held_out))
            if protocol.max_users_per_fold and len(cases) >= protocol.max_users_per_fold:
                break
        keep = ~dataset.ratings["user_id"].isin(held).to_numpy()
        users_frame = dataset.users
        if users_frame is not None:
            users_frame = users_frame[~users_frame["user_id"].isin(held)]
        train = Dataset(
            ratings=dataset.ratings[keep],
            movies=dataset.movies,
            users=users_frame,
            name=f"{dataset.name}-train",
        )
        folds.append(Fold(train, tuple(cases)))
    return folds


# --------------------------------------------------------------------------- methods


@dataclass(frozen=True)
class Method:
    """A named way to fit a ranker on training data."""

    name: str
    fit: Callable[[Dataset], Ranker]


class _Neighbourhood:
    """The project's recommender (or the seed's), its neighbours from a Qdrant Edge store."""

    def __init__(
        self,
        train: Dataset,
        encoding: EncodingName,
        normalize: bool,
        options: ScoringOptions,
        own_age_group: bool = False,
        idf: bool = DEFAULT_IDF,
    ):
        self.recommender = Recommender.build(
            train,
            EdgeStore.temporary("eval"),
            encoding=encoding,
            normalize=normalize,
            idf=idf,
            **asdict(options),
        )
        self.popular = Popular(train)
        self.own_age_group = own_age_group

    def rank(self, case: Case, k: int) -> list[int]:
        groups = [case.age_group] if self.own_age_group and case.age_group else None
        items = self.recommender.recommend(case.query, limit=k, age_groups=groups)
        return self.popular.pad([item.movie_id for item in items if not item.popular], case, k)


class _SharedIndex:
    """The project's recommender with scoring options chosen per call: one index per training
    set, shared by every point of a grid (the options do not change the index)."""

    def __init__(self) -> None:
        self.train: Dataset | None = None
        self.recommender: Recommender | None = None
        self.popular: Popular | None = None

    def fit(self, train: Dataset, **options: Any) -> Ranker:
        if self.train is not train:
            if self.recommender is not None:
                self.recommender.store.close()
            self.recommender = Recommender.build(train, EdgeStore.temporary("eval"))
            self.popular, self.train = Popular(train), train
        assert self.recommender is not None and self.popular is not None
        return _Scored(self.recommender, ScoringOptions(**options), self.popular)


@dataclass(frozen=True)
class _Scored:
    recommender: Recommender
    options: ScoringOptions
    popular: Popular

    def rank(self, case: Case, k: int) -> list[int]:
        query = self.recommender.encoding.encode_query(case.query)
        found = self.recommender.store.similar_users(query, self.options.neighbours)
        exclude = np.fromiter(case.query, dtype=np.int64)
        ranked = _score_found(self.recommender, found, exclude, self.options, k)
        return self.popular.pad(ranked, case, k)


def project_method(
    name: str = "This project (default)",
    encoding: EncodingName = DEFAULT_ENCODING,
    normalize: bool = DEFAULT_NORMALIZE,
    options: ScoringOptions | None = None,
    own_age_group: bool = False,
    idf: bool = DEFAULT_IDF,
) -> Method:
    chosen = options or ScoringOptions()
    return Method(
        name,
        lambda train: _Neighbourhood(train, encoding, normalize, chosen, own_age_group, idf),
    )


SEED_METHOD = Method(
    "Seed notebook (z-score, top 20, sum)",
    lambda train: _Neighbourhood(train, "zscore", False, SEED_OPTIONS, idf=False),
)
BASELINES = (
    Method("Most popular", Popular),
    SEED_METHOD,
    Method("Item-kNN (cosine)", ItemKNN),
    Method("EASE", EASE),
)
"""The baselines of the main table, at fixed settings (see `TUNED_BASELINES` for tuned ones)."""


def tuned_project(grid: Sequence[Mapping[str, Any]] = ()) -> Baseline:
    """The project's recommender with its scoring options chosen on validation users like
    the tuned baselines' (``grid``: `ScoringOptions` fields; default `PROJECT_GRID`)."""
    return Baseline(TUNED_PROJECT, _SharedIndex().fit, tuple(grid) or PROJECT_GRID)


TUNED_PROJECT = "This project, tuned like the baselines"
PROJECT_GRID = tuple(
    {"neighbours": k, "similarity_exponent": a, "popularity_penalty": p}
    for k in (50, 100, 200)
    for a in (2.0, 3.0)
    for p in (0.0, 0.15, 0.3)
)
"""Scoring options the tuned project chooses from (encoding as the default)."""


def default_methods(dataset: Dataset) -> list[Method]:
    """The baselines, the default, and (with demographics) the default within one's age group."""
    methods = [*BASELINES, project_method()]
    if dataset.has_demographics:
        methods.append(project_method("This project, own age group only", own_age_group=True))
    return methods


# --------------------------------------------------------------------------- running


@dataclass(frozen=True)
class FoldResult:
    method: str
    fold: int
    users: int
    metrics: dict[str, float]


@dataclass(frozen=True)
class Report:
    """Per-fold results of every method, with the protocol and dataset they came from."""

    dataset: str
    protocol: EvalProtocol
    results: tuple[FoldResult, ...]
    catalogue: int
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """Mean and standard deviation over folds, one row per method, in run order."""
        rows = []
        methods = list(dict.fromkeys(r.method for r in self.results))
        for method in methods:
            folds = [r for r in self.results if r.method == method]
            row: dict[str, Any] = {"method": method, "users": sum(r.users for r in folds)}
            for metric in METRICS:
                values = np.array([r.metrics[metric] for r in folds])
                row[metric] = float(values.mean())
                row[f"{metric}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
            rows.append(row)
        return pd.DataFrame(rows)

    def markdown(self) -> str:
        table = self.ranking_markdown()
        if "prediction" not in self.extra:
            return table
        folds = pd.DataFrame(self.extra["prediction"])
        return (
            f"{table}\n\nPredicted stars against the held-out ratings (all of them, not only "
            f"the liked ones):\n\n{prediction_markdown(folds)}"
        )

    def ranking_markdown(self) -> str:
        summary = self.summary()
        header = ["Method", *[METRIC_LABELS[m] for m in METRICS]]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for row in summary.to_dict("records"):
            cells = [row["method"]]
            for metric in METRICS:
                if metric == "ms_per_query":
                    cells.append(f"{row[metric]:.1f}")
                else:
                    cells.append(f"{row[metric]:.3f} ± {row[metric + '_std']:.3f}")
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "protocol": asdict(self.protocol),
            "catalogue": self.catalogue,
            "seconds": round(self.seconds, 1),
            "summary": self.summary().to_dict("records"),
            "folds": [asdict(r) for r in self.results],
            **self.extra,
        }

    def chart(self) -> alt.Chart:
        """NDCG@10 and HR@10 per method, with the fold spread as error bars."""
        summary = self.summary()
        rows = []
        for row in summary.to_dict("records"):
            for metric in ("ndcg", "hr", "recall"):
                rows.append(
                    {
                        "method": row["method"],
                        "kind": (
                            "This project"
                            if row["method"].startswith("This project")
                            else "Baseline"
                        ),
                        "metric": METRIC_LABELS[metric],
                        "value": row[metric],
                        "low": row[metric] - row[f"{metric}_std"],
                        "high": row[metric] + row[f"{metric}_std"],
                    }
                )
        frame = pd.DataFrame(rows)
        order = list(summary["method"])
        base = alt.Chart(frame).encode(
            y=alt.Y("method:N", sort=order, title=None, axis=alt.Axis(labelLimit=260)),
        )
        bars = base.mark_bar().encode(
            x=alt.X("value:Q", title=None, scale=alt.Scale(domain=[0, 1])),
            color=alt.Color(
                "kind:N",
                title=None,
                scale=alt.Scale(range=["#f5c518", "#8a96a3"]),
                sort=["This project", "Baseline"],
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=["method", "metric", alt.Tooltip("value:Q", format=".3f")],
        )
        errors = base.mark_rule(color="#333").encode(x="low:Q", x2="high:Q")
        return (
            alt.layer(bars, errors, data=frame)
            .properties(width=260, height=alt.Step(22))
            .facet(
                column=alt.Column("metric:N", title=None, sort=["NDCG@10", "HR@10", "Recall@10"])
            )
            .properties(
                title=f"{self.dataset}: {self.protocol.folds} folds over users, "
                f"{self.protocol.query_fraction:.0%} of each profile as the query"
            )
        )

    def save(self, folder: str | Path) -> list[Path]:
        """Write evaluation.md, evaluation.json, evaluation.html and evaluation.png."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = [folder / "evaluation.md", folder / "evaluation.json"]
        paths[0].write_text(self.markdown() + "\n")
        paths[1].write_text(json.dumps(self.to_json(), indent=2) + "\n")
        chart = self.chart()
        chart.save(str(folder / "evaluation.html"), inline=True)
        chart.save(str(folder / "evaluation.png"), scale_factor=1.5)
        return [*paths, folder / "evaluation.html", folder / "evaluation.png"]


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


# --------------------------------------------------------------------------- predicted stars


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
        recommender = Recommender.build(fold.train, EdgeStore.temporary("eval"))  # defaults
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


def prediction_markdown(folds: pd.DataFrame) -> str:
    """Fold means and standard deviations of MAE and RMSE, one row per predictor."""
    lines = ["| Predictor | MAE | RMSE | held-out ratings |", "|---|---|---|---|"]
    for name, group in folds.groupby("method", sort=False):
        mae, rmse = group["mae"], group["rmse"]
        lines.append(
            f"| {name} | {mae.mean():.3f} ± {mae.std(ddof=1) if len(group) > 1 else 0:.3f} "
            f"| {rmse.mean():.3f} ± {rmse.std(ddof=1) if len(group) > 1 else 0:.3f} "
            f"| {int(group['ratings'].sum()):,} |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- profile sizes

PROFILE_SIZES = ("5", "10", "20", "50%", "80%")
_T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
         9: 2.262, 10: 2.228}  # fmt: skip
"""Student's t, 97.5th percentile, by degrees of freedom (a 95% interval over folds)."""


def size_protocol(size: str, base: EvalProtocol) -> EvalProtocol:
    """``"5"`` (ratings) or ``"50%"`` (of each held-out user's ratings) as a protocol."""
    text = size.strip()
    try:
        if text.endswith("%"):
            return replace(base, query_fraction=float(text[:-1]) / 100, query_size=None)
        return replace(base, query_size=int(text))
    except ValueError as error:
        raise ValueError(f"a profile size is a count or a percentage, got {size!r}") from error


def size_label(size: str) -> str:
    """``"5"`` -> ``"5 ratings"``, ``"50%"`` -> ``"50% of the profile"``."""
    return f"{size} of the profile" if size.strip().endswith("%") else f"{size} ratings"


def mean_interval(values: Sequence[float]) -> tuple[float, float]:
    """The mean of per-fold values and the half-width of its 95% interval (Student's t)."""
    data = np.asarray(values, dtype=np.float64)
    if len(data) < 2:
        return float(data.mean()) if len(data) else math.nan, math.nan
    t = _T975.get(len(data) - 1, 1.96)
    return float(data.mean()), float(t * data.std(ddof=1) / math.sqrt(len(data)))


VALIDATION_FOLDS = 5
"""One in this many training users is a validation user when a method is tuned."""


def default_size_methods() -> list[Method | Baseline]:
    """The methods compared by profile size: popularity, the seed's method, every tuned
    baseline, the default as it ships and the project tuned like the baselines."""
    return [
        Method("Most popular", Popular),
        SEED_METHOD,
        *TUNED_BASELINES,
        project_method(),
        tuned_project(),
    ]


def validation_split(train: Dataset, size: str, protocol: EvalProtocol) -> Fold:
    """Validation users carved from ``train`` (one in `VALIDATION_FOLDS`), their queries of
    ``size``; the same users at every size (the split depends on the seed only)."""
    inner = replace(size_protocol(size, protocol), folds=VALIDATION_FOLDS, seed=protocol.seed + 1)
    return make_folds(train, inner)[0]


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


# --------------------------------------------------------------------------- groups

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
        recommender = Recommender.build(fold.train, EdgeStore.temporary("eval-groups"))  # defaults
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


# --------------------------------------------------------------------------- tuning


@dataclass(frozen=True)
class Setting:
    """One point of the tuning grid."""

    encoding: EncodingName
    normalize: bool
    idf: bool
    options: ScoringOptions

    @property
    def label(self) -> str:
        o = self.options
        return (
            f"{self.encoding}{'+cos' if self.normalize else '+dot'}{'+idf' if self.idf else ''} "
            f"k={o.neighbours} "
            f"a={o.similarity_exponent:g} off={o.offset:g}"
            + (" liked" if o.liked_only else "")
            + (f" pop={o.popularity_penalty:g}" if o.popularity_penalty else "")
        )


def tune(
    dataset: Dataset,
    encodings: Sequence[tuple[EncodingName, bool, bool]],
    options: Sequence[ScoringOptions],
    protocol: EvalProtocol | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """NDCG@10 and HR@10 of every (encoding, scoring options) pair, best first.

    One index per encoding and fold; each case's neighbours are asked of the Qdrant store
    once (as many as the largest neighbour count) and every scoring option reuses them.
    """
    protocol = protocol or EvalProtocol()
    folds = make_folds(dataset, protocol)
    most = max(o.neighbours for o in options)
    scores: dict[Setting, list[tuple[float, float]]] = {}
    total, done = len(folds) * len(encodings), 0
    for fold in folds:
        popular = Popular(fold.train)
        for name, normalize, idf in encodings:
            recommender = Recommender.build(
                fold.train,
                EdgeStore.temporary("tune"),
                encoding=name,
                normalize=normalize,
                idf=idf,
            )
            for case in fold.cases:
                query = recommender.encoding.encode_query(case.query)
                found = recommender.store.similar_users(query, most)
                exclude = np.fromiter(case.query, dtype=np.int64)
                for option in options:
                    ranked = _score_found(recommender, found, exclude, option, protocol.k)
                    ranked = popular.pad(ranked, case, protocol.k)
                    result = (
                        ndcg_at(ranked, case.relevant, protocol.k),
                        hit_rate(ranked, case.relevant, protocol.k),
                    )
                    setting = Setting(name, normalize, idf, option)
                    scores.setdefault(setting, []).append(result)
            recommender.store.close()
            done += 1
            if progress is not None:
                progress(done, total)
    rows = [
        {
            "setting": setting.label,
            "ndcg": float(np.mean([s[0] for s in values])),
            "hr": float(np.mean([s[1] for s in values])),
            "encoding": setting.encoding,
            "normalize": setting.normalize,
            "idf": setting.idf,
            **asdict(setting.options),
        }
        for setting, values in scores.items()
    ]
    return pd.DataFrame(rows).sort_values("ndcg", ascending=False).reset_index(drop=True)


def _score_found(
    recommender: Recommender,
    found: Neighbours,
    exclude: np.ndarray,
    option: ScoringOptions,
    k: int,
) -> list[int]:
    """What `Recommender.recommend` would rank for ``option``, from neighbours already found
    (as many as the largest neighbour count of the grid)."""
    option = option.for_profile(len(exclude))  # exclude: the query's films
    chosen = found.take(np.arange(min(option.neighbours, len(found))))
    chosen = chosen.take(counting(chosen.similarities, option))
    if not len(chosen):
        return []
    candidates = recommender.score_neighbours(
        chosen.stars, chosen.similarities, exclude, option, limit=k, rated=exclude
    )
    return candidates.movie_ids[:k].tolist()


def grid(
    neighbours: Sequence[int] = (50, 100, 200),
    exponents: Sequence[float] = (1.0, 2.0, 3.0),
    offsets: Sequence[float] = (0.5, 1.0, 2.0),
    liked_only: Sequence[bool] = (False, True),
    penalties: Sequence[float] = (0.0, 0.15, 0.3),
) -> list[ScoringOptions]:
    """Every combination of the scoring options to explore, on the neighbours' votes alone
    (the fit has its own exploration: `regression_settings`)."""
    return [
        ScoringOptions(
            neighbours=k,
            similarity_exponent=a,
            offset=o,
            liked_only=liked,
            popularity_penalty=p,
            regression_weight=0.0,
        )
        for k in neighbours
        for a in exponents
        for o in offsets
        for liked in liked_only
        for p in penalties
    ]


def tune_staged(
    dataset: Dataset,
    protocol: EvalProtocol | None = None,
    progress: Progress | None = None,
    finalists: int = 3,
) -> pd.DataFrame:
    """Two stages: every encoding setting with a few scoring options, then the full scoring
    grid on the ``finalists`` best encodings. Rows of both stages, best first."""
    probes = [
        ScoringOptions(regression_weight=0.0),
        ScoringOptions(
            neighbours=50,
            similarity_exponent=2.0,
            offset=1.0,
            popularity_penalty=0.0,
            regression_weight=0.0,
        ),
        SEED_OPTIONS,
    ]
    first = tune(dataset, ENCODING_GRID, probes, protocol, progress)
    best = first.groupby(["encoding", "normalize", "idf"], sort=False)["ndcg"].max()
    chosen = [key for key in best.sort_values(ascending=False).index[:finalists]]
    second = tune(dataset, chosen, grid(), protocol, progress)
    table = pd.concat([first.assign(stage=1), second.assign(stage=2)], ignore_index=True)
    table = table.drop_duplicates("setting")  # a probe may recur in the grid: keep stage 1's
    return table.sort_values("ndcg", ascending=False, kind="stable").reset_index(drop=True)


def exponent_settings(
    exponents: Sequence[float] = (1.0, 1.5, 2.0, 3.0), penalties: Sequence[float] = (0.15, 0.3)
) -> list[tuple[str, ScoringOptions]]:
    """Each fixed similarity exponent and popularity penalty, on the votes alone (the
    exploration behind `ScoringOptions.full_exponent_at`), labelled ``"exponent, penalty"``."""
    return [
        (
            f"{a:g}, {p:g}",
            ScoringOptions(
                similarity_exponent=a, popularity_penalty=p, full_exponent_at=0, regression_weight=0
            ),
        )
        for a in exponents
        for p in penalties
    ]


def regression_settings(
    weights: Sequence[float] = (0.0, 0.5, 1.0, 1.5), ridges: Sequence[float] = (0.5, 1.0, 2.0)
) -> list[tuple[str, ScoringOptions]]:
    """The regression fit's weight and ridge with the default's other settings, the fit at
    every profile length (the exploration behind ``regression_*``), labelled ``"weight,
    ridge"`` (weight 0, the votes alone, once)."""
    points = [(w, r) for w in weights for r in ((ridges[0],) if w == 0 else ridges)]
    return [
        (
            "0 (votes alone)" if w == 0 else f"{w:g}, {r:g}",
            ScoringOptions(regression_weight=w, regression_ridge=r, regression_from=1),
        )
        for w, r in points
    ]


def tune_by_size(
    dataset: Dataset,
    settings: Sequence[tuple[str, ScoringOptions]],
    sizes: Sequence[str] = PROFILE_SIZES,
    protocol: EvalProtocol | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """NDCG@10 and HR@10 of the default encoding with each of the named ``settings`` at each
    query size: one row per size and setting (``setting``: its name, ``order``: its place in
    ``settings``), best first within a size. Split seed 0 unless ``protocol`` says otherwise."""
    base = protocol or EvalProtocol(seed=0)
    names = {options: name for name, options in settings}
    order = {name: at for at, (name, _) in enumerate(settings)}
    fields = list(ScoringOptions.__dataclass_fields__)
    default = (DEFAULT_ENCODING, DEFAULT_NORMALIZE, DEFAULT_IDF)
    tables = []
    for done, size in enumerate(sizes, 1):
        table = tune(dataset, [default], list(names), size_protocol(size, base))
        chosen = [
            names[ScoringOptions(**{f: row[f] for f in fields})] for _, row in table.iterrows()
        ]
        tables.append(table.assign(size=size, setting=chosen, order=[order[c] for c in chosen]))
        if progress is not None:
            progress(done, len(sizes))
    return pd.concat(tables, ignore_index=True)[["size", "setting", "order", "ndcg", "hr"]]


def by_size_markdown(table: pd.DataFrame, heading: str) -> str:
    """NDCG@10 per setting (rows, in the order they were given; ``heading`` names them) and
    query size (columns), the best per size in bold."""
    sizes = list(dict.fromkeys(table["size"]))
    settings = table.sort_values("order", kind="stable")["setting"].drop_duplicates()
    pivot = table.pivot_table(index="setting", columns="size", values="ndcg")
    lines = [
        f"| {heading} | " + " | ".join(size_label(s) for s in sizes) + " |",
        "|---|" + "---|" * len(sizes),
    ]
    best = {size: pivot[size].max() for size in sizes}
    for setting in settings:
        row = pivot.loc[setting]
        cells = [
            f"**{row[size]:.3f}**" if row[size] == best[size] else f"{row[size]:.3f}"
            for size in sizes
        ]
        lines.append(f"| {setting} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


ENCODING_GRID: tuple[tuple[EncodingName, bool, bool], ...] = tuple(
    (name, normalize, idf)
    for name in ("zscore", "centered", "centered_offset", "liked", "binary")
    for normalize in (False, True)
    for idf in (False, True)
)
"""(encoding, unit length, IDF) settings explored by `tune`."""


__all__ = [
    "BASELINES",
    "Case",
    "EvalProtocol",
    "Method",
    "Report",
    "coverage",
    "evaluate",
    "grid",
    "hit_rate",
    "make_folds",
    "ndcg_at",
    "precision_at",
    "project_method",
    "recall_at",
    "tune",
]

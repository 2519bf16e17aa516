"""The methods compared: the project's recommender (neighbours from the Qdrant store, through
the recommender's own neighbours -> rank path), the seed notebook's method and the baselines."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from reco.datasets import Dataset
from reco.encode import EncodingName
from reco.evaluate.baselines import EASE, TUNED_BASELINES, Baseline, ItemKNN, Popular, Ranker
from reco.evaluate.protocol import Case
from reco.recommend import (
    DEFAULT_ENCODING,
    DEFAULT_IDF,
    DEFAULT_NORMALIZE,
    SEED_OPTIONS,
    Recommender,
    ScoringOptions,
)
from reco.store import Neighbours, temporary_store


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
            temporary_store("eval"),
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
            self.recommender = Recommender.build(train, temporary_store("eval"))
            self.popular, self.train = Popular(train), train
        assert self.recommender is not None and self.popular is not None
        return _Scored(self.recommender, ScoringOptions(**options), self.popular)


@dataclass(frozen=True)
class _Scored:
    recommender: Recommender
    options: ScoringOptions
    popular: Popular

    def rank(self, case: Case, k: int) -> list[int]:
        found = self.recommender.ask(case.query, self.options)
        ranked = score_found(self.recommender, found, case.query, self.options, k)
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


def score_found(
    recommender: Recommender,
    found: Neighbours,
    query: Mapping[int, float],
    option: ScoringOptions,
    k: int,
) -> list[int]:
    """What `Recommender.recommend` would rank for ``option``, from neighbours already found
    (as many as the largest neighbour count of a grid), through the recommender's own
    neighbours -> rank path (`Recommender.rank`)."""
    exclude = np.fromiter(query, dtype=np.int64, count=len(query))
    chosen, candidates = recommender.rank(found, query, exclude, option, limit=k)
    return candidates.movie_ids[:k].tolist() if len(chosen) else []

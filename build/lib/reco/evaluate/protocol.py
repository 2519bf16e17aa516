"""How users are held out: folds over users, each held-out user's ratings split into a query
(as a person gives them in the app) and hidden films to find."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from reco.datasets import Dataset
from reco.scale import LIKED_AT

TUNING_SEED = 0
"""The split the defaults were tuned on; every figure is reported on another (the default seed)."""


@dataclass(frozen=True)
class EvalProtocol:
    """How users are held out and profiles split."""

    folds: int = 5
    query_fraction: float = 0.5
    liked_at: float = LIKED_AT
    k: int = 10
    seed: int = 1
    """The split: 1, the test split the figures are reported on (`TUNING_SEED` is the one
    the defaults were chosen on)."""
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


PROFILE_SIZES = ("5", "10", "20", "50%", "80%")


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


VALIDATION_FOLDS = 5
"""One in this many training users is a validation user when a method is tuned."""


def validation_split(train: Dataset, size: str, protocol: EvalProtocol) -> Fold:
    """Validation users carved from ``train`` (one in `VALIDATION_FOLDS`), their queries of
    ``size``; the same users at every size (the split depends on the seed only)."""
    inner = replace(size_protocol(size, protocol), folds=VALIDATION_FOLDS, seed=protocol.seed + 1)
    return make_folds(train, inner)[0]

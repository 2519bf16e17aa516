"""The tuned baselines on a planted dataset with a known answer, and how they are tuned."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from reco.evaluate import (
    Case,
    EvalProtocol,
    Method,
    evaluate_profile_sizes,
    make_folds,
    size_protocol,
    tuned_project,
    tuning_markdown,
    validation_split,
)
from reco.evaluate.baselines import (
    EASE,
    IALS,
    TUNED_BASELINES,
    Baseline,
    ItemKNN,
    Popular,
    RP3beta,
    UserKNN,
)
from tests.test_evaluate import planted

GROUP_A_QUERY = Case(0, {1: 5.0, 2: 5.0, 3: 4.5}, frozenset())


@pytest.mark.parametrize(
    "fit",
    [
        lambda d: ItemKNN(d, neighbours=10),
        lambda d: UserKNN(d, neighbours=10),
        lambda d: EASE(d, regularisation=100.0),
        lambda d: RP3beta(d, alpha=1.0, beta=0.3, neighbours=20),
        lambda d: IALS(d, factors=4, regularisation=0.1, alpha=10.0),
    ],
    ids=["item-knn", "user-knn", "ease", "rp3beta", "ials"],
)
def test_each_baseline_finds_the_group_taste(fit) -> None:
    ranker = fit(planted())
    ranked = ranker.rank(GROUP_A_QUERY, 10)
    assert len(ranked) == 10 and len(set(ranked)) == 10
    assert not {1, 2, 3} & set(ranked)  # never a rated film
    assert sum(m <= 20 for m in ranked) >= 9  # group A's films, nearly all


def test_a_query_of_unknown_films_gets_no_personal_ranking_but_no_error() -> None:
    dataset = planted()
    unknown = Case(0, {999: 4.0}, frozenset())
    assert IALS(dataset, factors=4).rank(unknown, 5) == []
    assert len(EASE(dataset).rank(unknown, 5)) == 5  # all-zero scores: ties by movie id


def test_rp3beta_beta_demotes_popular_films() -> None:
    dataset = planted()
    counts = dataset.ratings.groupby("movie_id").size()
    plain = RP3beta(dataset, alpha=1.0, beta=0.0, neighbours=40)
    demoted = RP3beta(dataset, alpha=1.0, beta=1.0, neighbours=40)
    popularity = lambda ranked: np.mean([counts[m] for m in ranked])  # noqa: E731
    assert popularity(demoted.rank(GROUP_A_QUERY, 5)) < popularity(plain.rank(GROUP_A_QUERY, 5))


def test_every_grid_is_explicit_and_labelled() -> None:
    names = [b.name for b in TUNED_BASELINES]
    assert names == ["Item-kNN", "User-kNN (in memory)", "EASE", "RP3beta", "iALS (implicit)"]
    ease = TUNED_BASELINES[2]
    assert len(ease.grid) == 9 and ease.label(ease.grid[0]) == "regularisation=50"
    ials = TUNED_BASELINES[4]
    assert len(ials.grid) == 36  # 4 factor counts x 3 regularisations x 3 alphas
    assert ials.label(ials.grid[0]) == "factors=16, regularisation=0.1, alpha=1"


# --------------------------------------------------------------------------- tuning


@dataclass(frozen=True)
class _Oracle:
    """Ranks the hidden liked films first when ``honest``, last otherwise: a grid whose best
    point is known, to check the tuning finds it on validation users."""

    train_users: frozenset[int]
    honest: bool

    def rank(self, case: Case, k: int) -> list[int]:
        assert case.user_id not in self.train_users  # never asked about a training user
        films = [m for m in range(1, 41) if m not in case.query]
        liked = [m for m in films if m in case.relevant]
        other = [m for m in films if m not in case.relevant]
        return (liked + other if self.honest else other + liked)[:k]


def _oracle(train, honest: bool) -> _Oracle:
    return _Oracle(frozenset(train.ratings["user_id"].tolist()), honest)


def test_validation_users_come_from_training_users_and_are_the_same_at_every_size() -> None:
    dataset = planted()
    protocol = EvalProtocol(folds=3, seed=2)
    train = make_folds(dataset, size_protocol("50%", protocol))[0].train
    three = validation_split(train, "3", protocol)
    half = validation_split(train, "50%", protocol)
    trained = set(train.ratings["user_id"])
    inner = set(three.train.ratings["user_id"])
    held = {c.user_id for c in three.cases}
    assert held and held <= trained and not held & inner
    assert len(inner) < len(trained)
    assert set(half.train.ratings["user_id"]) == inner  # the same validation users
    assert all(len(c.query) == 3 for c in three.cases)


def test_tuning_picks_the_best_point_on_validation_users_per_size() -> None:
    dataset = planted()
    oracle = Baseline("Oracle", _oracle, ({"honest": False}, {"honest": True}))
    folds = evaluate_profile_sizes(
        dataset,
        [Method("Most popular", Popular), oracle],
        ["3", "50%"],
        EvalProtocol(folds=2, seed=1),
    )
    tuned = folds[folds["method"] == "Oracle"]
    assert (tuned["chosen"] == "honest=1").all()  # True formats as 1
    assert (tuned["validation_ndcg"] == 1.0).all() and (tuned["ndcg"] == 1.0).all()
    assert folds[folds["method"] == "Most popular"]["chosen"].eq("").all()
    table = tuning_markdown(folds)
    assert "| Oracle | honest=1 (2/2) | honest=1 (2/2) |" in table


def test_the_project_tuned_like_the_baselines_shares_one_index_per_training_set() -> None:
    dataset = planted()
    project = tuned_project([{"neighbours": 5}, {"neighbours": 20}])
    folds = evaluate_profile_sizes(dataset, [project], ["50%"], EvalProtocol(folds=2, seed=1))
    assert set(folds["chosen"]) <= {"neighbours=5", "neighbours=20"}
    assert (folds["ndcg"] > 0.5).all()  # the planted taste is easy
    fit = project.fit
    first, second = fit(dataset, neighbours=5), fit(dataset, neighbours=20)
    assert first.recommender is second.recommender  # one index for both points


def test_ease_inverse_by_cholesky_equals_the_general_inverse() -> None:
    from reco.evaluate.baselines import _spd_inverse

    rng = np.random.default_rng(0)
    x = (rng.random((30, 12)) < 0.3).astype(np.float32)
    gram = x.T @ x + 5 * np.eye(12, dtype=np.float32)
    assert np.allclose(_spd_inverse(gram), np.linalg.inv(gram), atol=1e-5)

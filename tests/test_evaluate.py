"""Offline evaluation: metrics by hand, folds, baselines, an end-to-end run on synthetic data."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reco.datasets import Dataset
from reco.evaluate import (
    BASELINES,
    Case,
    EvalProtocol,
    Method,
    coverage,
    evaluate,
    evaluate_profile_sizes,
    grid,
    hit_rate,
    make_folds,
    make_groups,
    mean_interval,
    ndcg_at,
    precision_at,
    profile_size_markdown,
    project_method,
    recall_at,
    size_protocol,
    tune,
)
from reco.evaluate.baselines import EASE, ItemKNN, Popular
from reco.recommend import SEED_OPTIONS, Recommender, ScoringOptions

# --------------------------------------------------------------------------- metrics by hand


def test_metrics_hand_computed() -> None:
    ranked = [5, 1, 9, 2]
    relevant = {1, 2, 7}
    assert hit_rate(ranked, relevant, k=4) == 1.0
    assert hit_rate(ranked, relevant, k=1) == 0.0
    assert precision_at(ranked, relevant, k=4) == pytest.approx(2 / 4)
    assert recall_at(ranked, relevant, k=4) == pytest.approx(2 / 3)
    # hits at ranks 2 and 4: DCG = 1/log2(3) + 1/log2(5); ideal: 3 hits at ranks 1-3
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at(ranked, relevant, k=4) == pytest.approx(dcg / ideal)


def test_metric_edge_cases() -> None:
    assert ndcg_at([1, 2], {1, 2}, k=10) == pytest.approx(1.0)  # ideal cut at |relevant|
    assert ndcg_at([3, 4], {1}, k=10) == 0.0
    assert ndcg_at([1], set(), k=10) == 0.0
    assert recall_at([1], set()) == 0.0
    assert precision_at([1, 2, 3], {1, 2, 3}, k=10) == pytest.approx(0.3)
    assert coverage([[1, 2], [2, 3]], catalogue=6) == pytest.approx(0.5)
    assert coverage([], catalogue=0) == 0.0


# --------------------------------------------------------------------------- a planted dataset


def planted(users_per_group: int = 30, seed: int = 1) -> Dataset:
    """Two taste groups over 40 movies. Group A loves movies 1-20 and dislikes 21-40, group B
    the opposite; like real viewers, each rates 80% of the movies they love and 25% of the rest.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(1, 2 * users_per_group + 1):
        group_a = user <= users_per_group
        for movie in range(1, 41):
            loved = (movie <= 20) == group_a
            if rng.random() < (0.8 if loved else 0.25):
                stars = rng.choice([4.0, 4.5, 5.0]) if loved else rng.choice([1.0, 1.5, 2.0])
                rows.append((user, movie, stars))
    ratings = pd.DataFrame(rows, columns=["user_id", "movie_id", "rating"])
    movies = pd.DataFrame({"movie_id": range(1, 41), "title": [f"M{i}" for i in range(1, 41)]})
    users = pd.DataFrame(
        {
            "user_id": range(1, 2 * users_per_group + 1),
            "age": [20 if u % 2 else 40 for u in range(1, 2 * users_per_group + 1)],
            "gender": "F",
            "occupation": "writer",
        }
    )
    return Dataset(ratings=ratings, movies=movies, users=users, name="planted")


def test_folds_hold_users_out_and_split_profiles() -> None:
    dataset = planted()
    folds = make_folds(dataset, EvalProtocol(folds=3, query_fraction=0.5))
    held = [c.user_id for fold in folds for c in fold.cases]
    assert len(held) == len(set(held))  # each user held out at most once
    assert len(held) >= 55  # almost everyone has a liked hidden movie
    for fold in folds:
        train_users = set(fold.train.ratings["user_id"])
        for case in fold.cases:
            assert case.user_id not in train_users
            assert not set(case.query) & case.relevant
            profile = dataset.ratings[dataset.ratings["user_id"] == case.user_id]
            stars = dict(zip(profile["movie_id"], profile["rating"], strict=True))
            assert all(stars[m] >= 4 for m in case.relevant)
            assert abs(len(case.query) - len(profile) / 2) <= 1
            assert case.age_group in ("18-24", "35-44")


def test_folds_are_reproducible() -> None:
    a = make_folds(planted(), EvalProtocol(folds=3, seed=7))
    b = make_folds(planted(), EvalProtocol(folds=3, seed=7))
    assert [c.query for f in a for c in f.cases] == [c.query for f in b for c in f.cases]


@pytest.mark.parametrize("ranker", [ItemKNN, EASE])
def test_item_baselines_find_the_group_taste(ranker) -> None:
    dataset = planted()
    fitted = ranker(dataset)
    case = Case(0, {1: 5.0, 2: 5.0, 3: 4.5}, frozenset())
    ranked = fitted.rank(case, 10)
    assert len(ranked) == 10 and not {1, 2, 3} & set(ranked)
    assert all(m <= 20 for m in ranked)  # group A's movies only


def test_popular_pads_short_lists_without_repeats() -> None:
    popular = Popular(planted())
    case = Case(0, {1: 5.0}, frozenset())
    padded = popular.pad([7], case, 5)
    assert padded[0] == 7 and len(padded) == 5 and len(set(padded)) == 5 and 1 not in padded


# --------------------------------------------------------------------------- end to end


def test_evaluation_runs_end_to_end_and_the_project_beats_popularity(tmp_path: Path) -> None:
    dataset = planted()
    methods = [*BASELINES, project_method()]
    report = evaluate(dataset, methods, EvalProtocol(folds=3))
    summary = report.summary().set_index("method")
    assert list(summary.index) == [m.name for m in methods]
    assert summary.loc["This project (default)", "users"] >= 55
    for metric in ("hr", "precision", "recall", "ndcg", "coverage"):
        assert summary[metric].between(0, 1).all()
    # planted tastes: neighbours and item models find them, popularity cannot
    ndcg = summary["ndcg"]
    assert ndcg["This project (default)"] > 0.7
    assert ndcg["EASE"] > 0.7 and ndcg["Item-kNN (cosine)"] > 0.7
    assert ndcg["Most popular"] < 0.5
    assert ndcg["This project (default)"] > ndcg["Most popular"] + 0.3
    markdown = report.markdown()
    assert markdown.splitlines()[0].startswith("| Method | HR@10 | Precision@10")
    assert len(markdown.splitlines()) == 2 + len(methods)
    written = report.save(tmp_path)
    assert [p.name for p in written] == [
        "evaluation.md",
        "evaluation.json",
        "evaluation.html",
        "evaluation.png",
    ]
    assert json.loads((tmp_path / "evaluation.json").read_text())["summary"][0]["method"] == (
        "Most popular"
    )
    assert (tmp_path / "evaluation.png").read_bytes()[:4] == b"\x89PNG"


def test_own_age_group_restricts_neighbours() -> None:
    dataset = planted()
    seen_groups: list[str] = []

    def fit(train: Dataset):
        inner = project_method(own_age_group=True).fit(train)

        class Spy:
            def rank(self, case: Case, k: int) -> list[int]:
                result = inner.recommender.recommend_explained(
                    case.query, k, age_groups=[case.age_group]
                )
                seen_groups.extend(n.age_group for n in result.neighbours)
                return inner.rank(case, k)

        return Spy()

    evaluate(dataset, [Method("spy", fit)], EvalProtocol(folds=2, max_users_per_fold=5))
    assert seen_groups and set(seen_groups) <= {"18-24", "35-44"}


def test_tune_ranks_settings_best_first() -> None:
    options = grid(
        neighbours=(5, 20),
        exponents=(1.0,),
        offsets=(0.0, 1.0),
        liked_only=(False,),
        penalties=(0.0,),
    )
    table = tune(
        planted(),
        [("liked", True, False), ("zscore", False, True)],
        options,
        EvalProtocol(folds=2, max_users_per_fold=10),
    )
    assert len(table) == 2 * len(options)
    assert table["ndcg"].is_monotonic_decreasing
    assert table.loc[0, "ndcg"] > 0.7
    assert set(table.columns) >= {"setting", "ndcg", "hr", "neighbours", "offset"}


def test_grid_covers_every_combination() -> None:
    options = grid(
        neighbours=(10, 20),
        exponents=(1.0, 2.0),
        offsets=(0.0,),
        liked_only=(False, True),
        penalties=(0.0, 0.1),
    )
    assert len(options) == 16 and len(set(options)) == 16
    assert all(o.regression_weight == 0 for o in options)  # the votes alone
    assert (
        ScoringOptions(
            neighbours=20,
            similarity_exponent=2.0,
            offset=0.0,
            liked_only=True,
            popularity_penalty=0.1,
            regression_weight=0.0,
        )
        in options
    )


def test_staged_tuning_explores_every_encoding_then_refines_the_best() -> None:
    from reco.evaluate import ENCODING_GRID, tune_staged

    table = tune_staged(
        planted(users_per_group=10), EvalProtocol(folds=2, max_users_per_fold=4), finalists=2
    )
    first, second = table[table["stage"] == 1], table[table["stage"] == 2]
    assert len(first.groupby(["encoding", "normalize", "idf"])) == len(ENCODING_GRID)
    assert len(second.groupby(["encoding", "normalize", "idf"])) == 2
    assert table["ndcg"].is_monotonic_decreasing


@pytest.mark.parametrize("options", [SEED_OPTIONS, ScoringOptions()], ids=["seed", "default"])
def test_tuning_ranks_exactly_as_the_recommender(options: ScoringOptions) -> None:
    from reco.evaluate import score_found

    dataset = planted()
    recommender = Recommender.build(dataset, encoding="zscore", normalize=False, **options.__dict__)
    for case in make_folds(dataset, EvalProtocol(folds=3))[0].cases[:8]:
        query = recommender.encoding.encode_query(case.query)
        found = recommender.store.similar_users(query, 200)
        expected = [item.movie_id for item in recommender.recommend(case.query, limit=10)]
        assert score_found(recommender, found, case.query, options, 10) == expected


def test_groups_take_sizes_in_turn_and_each_user_once() -> None:
    cases = [Case(user, {1: 4.0}, frozenset({2})) for user in range(12)]
    groups = make_groups(cases, np.random.default_rng(0))
    assert [len(g) for g in groups] == [2, 3, 4, 2]  # 12 users: 11 grouped, 1 left out
    users = [case.user_id for group in groups for case in group]
    assert len(users) == len(set(users)) == 11
    assert make_groups(cases[:1], np.random.default_rng(0)) == []


def test_profile_sizes_are_counts_or_shares_and_bad_ones_refused() -> None:
    base = EvalProtocol(folds=3, seed=4)
    assert size_protocol("5", base).query_size == 5
    half = size_protocol("50%", base)
    assert half.query_size is None and half.query_fraction == 0.5 and half.seed == 4
    assert size_protocol("5", base).query_label == "5 ratings" and half.query_label == "50%"
    with pytest.raises(ValueError, match="count or a percentage"):
        size_protocol("five", base)


def test_mean_interval_is_students_t_over_folds() -> None:
    mean, half = mean_interval([0.1, 0.2, 0.3])  # sd 0.1, t(2) = 4.303
    assert mean == pytest.approx(0.2) and half == pytest.approx(4.303 * 0.1 / math.sqrt(3))
    assert math.isnan(mean_interval([0.5])[1])


def test_every_method_at_every_size_on_the_same_training_users() -> None:
    dataset = planted()
    protocol = EvalProtocol(folds=2, seed=1)
    folds = evaluate_profile_sizes(
        dataset, [BASELINES[0], project_method()], ["3", "50%"], protocol
    )
    assert len(folds) == 2 * 2 * 2  # folds x methods x sizes
    three = folds[folds["size"] == "3"]
    assert set(three["method"]) == {"Most popular", "This project (default)"}
    # a query of 3 ratings: only users with more than 3 ratings (and a liked film left) count
    per_user = dataset.ratings.groupby("user_id").size()
    assert three["users"].max() <= int((per_user > 3).sum())
    ours = folds[folds["method"] == "This project (default)"]
    assert (ours["ndcg"] > folds[folds["method"] == "Most popular"]["ndcg"].mean()).all()
    table = profile_size_markdown(folds)
    lines = table.splitlines()
    assert lines[0] == "| NDCG@10 | 3 ratings | 50% of the profile |"
    assert lines[-2].startswith("| default − best baseline (95% interval) | +")
    assert "vs Most popular" in lines[-2]
    # the same training users at every size: the folds hold out the same people
    first = make_folds(dataset, size_protocol("3", protocol))
    second = make_folds(dataset, size_protocol("50%", protocol))
    for a, b in zip(first, second, strict=True):
        assert len(a.train.ratings) == len(b.train.ratings)


def test_tune_by_size_tries_each_setting_at_each_size_and_marks_the_best() -> None:
    from reco.evaluate import (
        by_size_markdown,
        exponent_settings,
        regression_settings,
        tune_by_size,
    )

    protocol = EvalProtocol(folds=2, seed=0)
    exponents = exponent_settings(exponents=(1.0, 3.0), penalties=(0.15,))
    assert [name for name, _ in exponents] == ["1, 0.15", "3, 0.15"]
    assert all(o.regression_weight == 0 and o.full_exponent_at == 0 for _, o in exponents)
    table = tune_by_size(planted(), exponents, ["3", "50%"], protocol=protocol)
    assert len(table) == 2 * 2 and set(table["size"]) == {"3", "50%"}
    assert set(table["setting"]) == {"1, 0.15", "3, 0.15"}
    assert (table["ndcg"] > 0).all()
    text = by_size_markdown(table, "exponent, popularity penalty")
    lines = text.splitlines()
    assert lines[0] == "| exponent, popularity penalty | 3 ratings | 50% of the profile |"
    assert [line.split(" |")[0] for line in lines[2:]] == ["| 1, 0.15", "| 3, 0.15"]
    assert len(lines) == 4 and text.count("**") == 2 * 2  # one best per size, in bold

    fits = regression_settings(weights=(0.0, 1.0), ridges=(0.5, 2.0))
    assert [name for name, _ in fits] == ["0 (votes alone)", "1, 0.5", "1, 2"]
    assert all(o.regression_from == 1 for _, o in fits)  # the fit at every length
    table = tune_by_size(planted(), fits, ["50%"], protocol=protocol)
    assert sorted(table["setting"]) == ["0 (votes alone)", "1, 0.5", "1, 2"]
    lines = by_size_markdown(table, "regression weight, ridge").splitlines()
    assert [line.split(" |")[0] for line in lines[2:]] == [
        "| 0 (votes alone)",
        "| 1, 0.5",
        "| 1, 2",
    ]

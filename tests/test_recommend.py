"""Recommendations on the two-taste population: known answers, filters, validation, reuse."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import NEUTRAL, ROMANCE, SCIFI

from reco.datasets import Dataset
from reco.encode import Encoding, SparseRows
from reco.index import index_fingerprint
from reco.recommend import (
    SEED_OPTIONS,
    Recommender,
    ScoringOptions,
    neighbour_fit,
    score_candidates,
)
from reco.store import EdgeStore, UserStore

FAN = {1: 5.0, 2: 5.0, 3: 4.5}  # a science-fiction fan who has not seen movie 4


@pytest.fixture
def recommender(two_taste: Dataset, store: UserStore) -> Recommender:
    return Recommender.build(two_taste, store)


def test_withheld_movie_of_the_fans_group_comes_first(recommender: Recommender) -> None:
    items = recommender.recommend(FAN)
    assert items[0].movie_id == 4
    assert items[0].raters == 10 and items[0].mean_rating == 5.0
    assert not items[0].popular
    assert items[0].title == "Solaris (1972)"


def test_never_recommends_a_rated_movie(recommender: Recommender) -> None:
    for profile in (FAN, {5: 5.0, 6: 5.0}, {1: 5.0, 5: 1.0, 9: 3.0}):
        ids = [item.movie_id for item in recommender.recommend(profile, limit=20)]
        assert ids and not set(ids) & set(profile)


def test_scores_are_sorted_and_minimum_raters_respected(recommender: Recommender) -> None:
    items = recommender.recommend({5: 5.0, 6: 5.0}, limit=20)
    scores = [item.score for item in items]
    assert scores == sorted(scores, reverse=True)
    assert all(item.raters >= recommender.options.min_raters for item in items)
    # movie 10 has a single rater: left out by the default minimum of 2, kept with 1
    assert 10 not in [i.movie_id for i in recommender.recommend(FAN, limit=20)]
    explained = recommender.recommend_explained(FAN, limit=20, min_raters=1)
    assert 10 in [i.movie_id for i in explained.items]


def test_romance_fan_gets_romance(recommender: Recommender) -> None:
    items = recommender.recommend({5: 5.0, 6: 4.0, 1: 1.0})
    assert [i.movie_id for i in items[:2]] == [7, 8]


def test_neighbours_are_exposed_with_demographics(recommender: Recommender) -> None:
    result = recommender.recommend_explained(FAN)
    assert {n.user_id for n in result.neighbours} == set(range(1, 11))
    first = result.neighbours[0]
    assert first.age_group == "18-24" and first.occupation == "student" and first.age == 20
    assert first.common == 3
    sims = [n.similarity for n in result.neighbours]
    assert sims == sorted(sims, reverse=True) and sims[-1] > 0
    why = result.why(4)
    assert len(why) == 10 and {w.stars for w in why} == {5.0}
    assert result.why(12345) == []


def test_age_group_filter_restricts_neighbours(recommender: Recommender) -> None:
    result = recommender.recommend_explained(FAN, age_groups=["35-44"])
    assert result.neighbours == ()  # the romance fans all dislike these: no positive match
    assert result.popular
    romance = recommender.recommend_explained({5: 5.0}, age_groups=["35-44"], genders=["M"])
    assert romance.neighbours and all(
        n.age_group == "35-44" and n.gender == "M" for n in romance.neighbours
    )
    assert romance.where.conditions() == [("age_group", ["35-44"]), ("gender", ["M"])]


def test_neighbour_count_limits_the_neighbours(recommender: Recommender) -> None:
    assert len(recommender.recommend_explained(FAN, neighbours=3).neighbours) == 3


def test_empty_profile_returns_popular_movies_flagged(recommender: Recommender) -> None:
    items = recommender.recommend({}, limit=5)
    assert len(items) == 5 and all(item.popular for item in items)
    liked = [item.score for item in items]
    assert liked == sorted(liked, reverse=True)
    assert items[0].movie_id in SCIFI + ROMANCE  # liked by 10 users each; 9 by nobody
    filtered = recommender.recommend({}, limit=3, age_groups=["18-24"])
    assert [i.movie_id for i in filtered] == [1, 2, 3]


def test_popular_films_respect_minimum_raters(recommender: Recommender) -> None:
    every = recommender.popular(limit=50)
    assert min(i.raters for i in every) < 5  # some films are rated by few
    enough = recommender.popular(limit=50, min_raters=5)
    assert enough and all(i.raters >= 5 for i in enough)
    assert [i.movie_id for i in enough] == [i.movie_id for i in every if i.raters >= 5]
    assert recommender.popular(limit=50, min_raters=10_000) == ()


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        ({999: 4.0}, "unknown movie id"),
        ({1: 0.0}, "0.5 to 5.0"),
        ({1: 5.5}, "0.5 to 5.0"),
        ({1: float("nan")}, "0.5 to 5.0"),
        ({1: -3}, "0.5 to 5.0"),
        ({"x": 4.0}, "bad rating"),
        ({float("inf"): 4.0}, "bad rating"),
        ({float("nan"): 4.0}, "bad rating"),
        ({1: "five"}, "bad rating"),
        ({1.5: 4.0}, "not a whole number"),
        ([1, 2], "mapping"),
    ],
)
def test_bad_profiles_raise_value_error(recommender: Recommender, profile, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        recommender.recommend(profile)


def test_bad_filters_and_limits_raise_value_error(recommender: Recommender) -> None:
    with pytest.raises(ValueError, match="unknown age_group '99'"):
        recommender.recommend(FAN, age_groups=["99"])
    with pytest.raises(ValueError, match="unknown occupation"):
        recommender.recommend(FAN, occupations=["astronaut"])
    with pytest.raises(ValueError, match="limit"):
        recommender.recommend(FAN, limit=0)
    with pytest.raises(ValueError, match="neighbours"):
        recommender.recommend(FAN, neighbours=0)


def test_filters_on_a_dataset_without_demographics_are_explained(two_taste: Dataset) -> None:
    plain = Dataset(ratings=two_taste.ratings, movies=two_taste.movies, name="plain")
    recommender = Recommender.build(plain)
    assert recommender.recommend(FAN)[0].movie_id == 4
    assert recommender.choices("age_group") == []
    with pytest.raises(ValueError, match="no demographics"):
        recommender.recommend(FAN, genders=["F"])


@pytest.mark.parametrize("encoding", ["zscore", "centered", "liked", "binary", "centered_offset"])
@pytest.mark.parametrize("normalize", [False, True])
def test_every_encoding_finds_the_withheld_movie(
    two_taste: Dataset, encoding: str, normalize: bool
) -> None:
    recommender = Recommender.build(two_taste, encoding=encoding, normalize=normalize)
    assert recommender.recommend(FAN)[0].movie_id == 4


def test_seed_method_is_available_as_a_baseline(two_taste: Dataset) -> None:
    recommender = Recommender.build(
        two_taste, encoding="zscore", normalize=False, **SEED_OPTIONS.__dict__
    )
    assert recommender.options == SEED_OPTIONS
    assert recommender.recommend(FAN, neighbours=10)[0].movie_id == 4
    # With all 20 users as neighbours the seed's unweighted sum lets the opposite taste
    # group cancel the fans' votes: the weakness the weighted default fixes.
    assert recommender.recommend(FAN)[0].movie_id != 4
    assert Recommender.build(two_taste).recommend(FAN, neighbours=20)[0].movie_id == 4


def test_persisted_index_is_reused_not_rebuilt(two_taste: Dataset, tmp_path: Path) -> None:
    calls: list[int] = []
    Recommender.build(two_taste, EdgeStore(tmp_path, "two"), progress=lambda d, t: calls.append(d))
    assert calls == [20]
    again = Recommender.build(
        two_taste, EdgeStore(tmp_path, "two"), progress=lambda d, t: calls.append(d)
    )
    assert calls == [20]
    assert again.recommend(FAN)[0].movie_id == 4
    Recommender.build(
        two_taste,
        EdgeStore(tmp_path, "two"),
        encoding="zscore",
        progress=lambda d, t: calls.append(d),
    )
    assert calls == [20, 20]  # another encoding is another index


def test_fingerprint_depends_on_data_and_encoding(two_taste: Dataset) -> None:
    encoding = Encoding("liked")
    other_data = Dataset(
        ratings=two_taste.ratings.iloc[:-1], movies=two_taste.movies, users=two_taste.users
    )
    assert index_fingerprint(two_taste, encoding) == index_fingerprint(two_taste, encoding)
    assert index_fingerprint(two_taste, encoding) != index_fingerprint(other_data, encoding)
    assert index_fingerprint(two_taste, encoding) != index_fingerprint(
        two_taste, Encoding("zscore")
    )


# --------------------------------------------------------------------------- pure scoring


def _neighbours(*profiles: dict[int, float]) -> SparseRows:
    lengths = [len(p) for p in profiles]
    return SparseRows(
        np.concatenate([[0], np.cumsum(lengths)]),
        np.concatenate([sorted(p) for p in profiles]).astype(np.int32),
        np.concatenate([[p[k] for k in sorted(p)] for p in profiles]).astype(np.float32),
    )


def test_score_candidates_hand_computed() -> None:
    rows = _neighbours({10: 5.0, 20: 1.0, 30: 4.0}, {10: 4.0, 30: 2.0}, {20: 5.0})
    encoding = Encoding("liked")  # +1 at 4 or more, -1 at 2 or less
    options = ScoringOptions(
        similarity_exponent=2.0,
        offset=1.0,
        min_raters=1,
        popularity_penalty=0.0,
        regression_weight=0.0,  # the votes alone (the fit: tests below)
    )
    result = score_candidates(rows, np.array([1.0, 0.5, -0.3]), np.array([99]), encoding, options)
    # weights 1, 0.25, 0 (negative similarity): movie 10: 1*(1+1) + .25*(1+1) = 2.5
    # movie 30: 1*(1+1) + .25*(-1+1) = 2.0; movie 20: 1*(-1+1) = 0
    assert result.movie_ids.tolist() == [10, 30, 20]
    assert result.scores.tolist() == pytest.approx([2.5, 2.0, 0.0])
    assert result.raters.tolist() == [2, 2, 1]
    assert result.mean_stars.tolist() == pytest.approx([4.5, 3.0, 1.0])


def test_score_candidates_limit_is_the_head_of_the_full_ranking_ties_included() -> None:
    # Many ties (every neighbour rates alike) so the cut falls inside a tie.
    rng = np.random.default_rng(4)
    profiles = [
        {int(m): float(rng.choice([1.0, 3.0, 5.0])) for m in rng.choice(40, 12, replace=False)}
        for _ in range(30)
    ]
    rows = _neighbours(*profiles)
    similarities = np.ones(len(profiles))  # whole-number scores: ties
    options = ScoringOptions(min_raters=1, popularity_penalty=0.0, regression_weight=0.0)
    full = score_candidates(rows, similarities, np.array([3]), Encoding("liked"), options)
    for limit in (1, 5, 10, 39, 100):
        head = score_candidates(
            rows, similarities, np.array([3]), Encoding("liked"), options, limit=limit
        )
        assert head.movie_ids.tolist() == full.movie_ids[:limit].tolist()
        assert head.scores.tolist() == full.scores[:limit].tolist()
    assert len(set(full.scores[:10].tolist())) < 10  # the test really has ties at the top


def test_score_candidates_excludes_and_applies_min_raters() -> None:
    rows = _neighbours({10: 5.0, 20: 5.0}, {10: 5.0})
    options = ScoringOptions(min_raters=2, popularity_penalty=0.0, regression_weight=0.0)
    result = score_candidates(rows, np.array([1.0, 1.0]), np.array([]), Encoding("liked"), options)
    assert result.movie_ids.tolist() == [10]
    excluded = score_candidates(
        rows, np.array([1.0, 1.0]), np.array([10]), Encoding("liked"), options
    )
    assert excluded.movie_ids.tolist() == []


def test_seed_options_pin_every_field() -> None:
    # The seed method must not drift when the project's defaults change.
    assert SEED_OPTIONS == ScoringOptions(
        neighbours=20,
        min_raters=1,
        similarity_exponent=0.0,
        offset=0.0,
        liked_only=False,
        popularity_penalty=0.0,
        full_exponent_at=0,
        regression_weight=0.0,
    )
    assert set(SEED_OPTIONS.__dataclass_fields__) == {
        "neighbours",
        "min_raters",
        "similarity_exponent",
        "offset",
        "liked_only",
        "popularity_penalty",
        "full_exponent_at",
        "regression_weight",
        "regression_from",
        "regression_ridge",
    }


def test_seed_scoring_is_an_unweighted_sum() -> None:
    rows = _neighbours({10: 5.0}, {10: 1.0, 20: 5.0})
    encoding = Encoding("zscore", global_mean=3.0, global_std=2.0)
    result = score_candidates(rows, np.array([5.0, -1.0]), np.array([]), encoding, SEED_OPTIONS)
    # z-scores: neighbour 1 -> movie 10: +1; neighbour 2 -> movie 10: -1, movie 20: +1
    assert dict(zip(result.movie_ids.tolist(), result.scores.tolist(), strict=True)) == {
        10: 0.0,
        20: 1.0,
    }


def test_ties_break_by_movie_id() -> None:
    rows = _neighbours({30: 5.0, 10: 5.0, 20: 5.0})
    result = score_candidates(
        rows,
        np.array([1.0]),
        np.array([]),
        Encoding("liked"),
        ScoringOptions(min_raters=1, popularity_penalty=0.0, regression_weight=0.0),
    )
    assert result.movie_ids.tolist() == [10, 20, 30]


def test_liked_movie_ranks_above_a_neutral_one(recommender: Recommender) -> None:
    ids = [i.movie_id for i in recommender.recommend(FAN, limit=20)]
    assert ids.index(4) < ids.index(NEUTRAL)


def test_popularity_penalty_and_liked_only_hand_computed() -> None:
    rows = _neighbours({10: 5.0, 20: 3.0}, {10: 4.0, 20: 5.0})
    counts = np.zeros(21)
    counts[10], counts[20] = 100.0, 4.0
    base = ScoringOptions(
        similarity_exponent=1.0,
        offset=1.0,
        min_raters=1,
        popularity_penalty=0.0,
        regression_weight=0.0,
    )
    plain = score_candidates(rows, np.array([1.0, 1.0]), np.array([]), Encoding("liked"), base)
    # liked: movie 10 -> (1+1) + (1+1) = 4; movie 20 -> (0+1) + (1+1) = 3
    assert dict(zip(plain.movie_ids.tolist(), plain.scores.tolist(), strict=True)) == {
        10: 4.0,
        20: 3.0,
    }
    penalised = score_candidates(
        rows,
        np.array([1.0, 1.0]),
        np.array([]),
        Encoding("liked"),
        replace(base, popularity_penalty=0.5),
        counts,
    )
    # divided by sqrt(ratings): 4 / 10 = 0.4 and 3 / 2 = 1.5: the rarer movie wins
    assert penalised.movie_ids.tolist() == [20, 10]
    assert penalised.scores.tolist() == pytest.approx([1.5, 0.4])
    liked = score_candidates(
        rows, np.array([1.0, 1.0]), np.array([]), Encoding("liked"), replace(base, liked_only=True)
    )
    # only 4+ star ratings count: movie 20's 3-star rating adds nothing
    assert liked.scores.tolist() == pytest.approx([4.0, 2.0])
    with pytest.raises(ValueError, match="rating counts"):
        score_candidates(
            rows,
            np.array([1.0, 1.0]),
            np.array([]),
            Encoding("liked"),
            replace(base, popularity_penalty=0.5),
        )


def test_sparse_rows_take_rows_in_the_order_asked() -> None:
    rows = SparseRows(
        np.array([0, 2, 2, 5]), np.array([1, 4, 2, 3, 9], np.int32), np.arange(5, dtype=np.float32)
    )
    picked = rows.take(np.array([2, 0, 1, 2]))
    assert picked.indptr.tolist() == [0, 3, 5, 5, 8]
    assert picked.indices.tolist() == [2, 3, 9, 1, 4, 2, 3, 9]
    assert picked.values.tolist() == [2, 3, 4, 0, 1, 2, 3, 4]


def test_neighbours_stars_come_from_the_engine_and_equal_their_ratings(
    recommender: Recommender, two_taste: Dataset
) -> None:
    """Each neighbour's stars (read from the engine with the query) are that user's ratings."""
    profile = {1: 5.0, 2: 4.5, 5: 1.0}
    result = recommender.recommend_explained(profile, neighbours=20)
    ratings = two_taste.ratings
    assert len(result.neighbours) >= 10  # the sci-fi fans at least (positive similarity)
    for neighbour in result.neighbours:
        own = ratings[ratings["user_id"] == neighbour.user_id]
        expected = dict(zip(own["movie_id"].tolist(), own["rating"].tolist(), strict=True))
        from_engine = {
            m: r.stars
            for m in range(1, 11)
            for r in result.why(m)
            if r.neighbour.user_id == neighbour.user_id
        }
        assert from_engine == expected
        assert neighbour.ratings == len(expected)
        assert neighbour.age_group == ("18-24" if neighbour.user_id <= 10 else "35-44")


def test_a_recommender_reopened_on_the_index_alone_answers_alike(
    recommender: Recommender,
) -> None:
    """Everything a recommender needs is in the index: reopened without the dataset, the same
    answers, popular films and filters."""
    reopened = Recommender(recommender.store, recommender.store.open_current())
    for profile in (FAN, {5: 5.0, 6: 4.0}, {}):
        assert reopened.recommend(profile) == recommender.recommend(profile)
    assert reopened.recommend(FAN, age_groups=["35-44"]) == recommender.recommend(
        FAN, age_groups=["35-44"]
    )
    assert reopened.choices("occupation") == ["engineer", "student"]
    assert reopened.summary() == "two-taste: 181 ratings, 20 users, 10 movies (with demographics)"


def test_predict_gives_the_stars_shown_with_each_recommendation(recommender: Recommender) -> None:
    items = recommender.recommend(FAN, limit=5)
    predicted = recommender.predict(FAN, [item.movie_id for item in items])
    assert predicted.round(2).tolist() == [item.predicted for item in items]
    # the fan's mean, pulled towards everyone's as if 10 more ratings of it; the withheld film
    # (its raters gave it more than their own means) above it, a romance (less) below it
    own = (14.5 + 10 * recommender.encoding.global_mean) / 13
    solaris, romance = recommender.predict(FAN, [4, 5])
    assert solaris > own > romance
    hidden = recommender.recommend(FAN, limit=5, hidden=[4])
    assert 4 not in [item.movie_id for item in hidden]
    with pytest.raises(ValueError, match="at least one rating"):
        recommender.predict({}, [4])
    with pytest.raises(ValueError, match="unknown movie id"):
        recommender.predict(FAN, [99_999])
    with pytest.raises(ValueError, match="unknown movie id"):
        recommender.recommend(FAN, hidden=[99_999])


def test_everyones_facet_counts_are_asked_once(recommender: Recommender) -> None:
    calls: list[object] = []
    facet = recommender.store.facet

    def counting_facet(field: str, where: object = None) -> dict[str, int]:
        calls.append(where)
        return facet(field, where)

    recommender.store.facet = counting_facet  # type: ignore[method-assign]
    first = recommender.population("age_group")
    assert recommender.population("age_group") == first == {"18-24": 10, "35-44": 10}
    first["18-24"] = 0  # a copy: the cached counts stay as they are
    assert recommender.population("age_group")["18-24"] == 10
    assert len(calls) == 1
    narrowed = recommender.population("age_group", recommender.user_filter(genders=["F"]))
    assert narrowed == {"18-24": 5, "35-44": 5} and len(calls) == 2  # a filter always asks


def test_the_similarity_exponent_grows_with_the_profile_length() -> None:
    options = ScoringOptions()  # exponent 3 from 20 ratings on
    assert [options.exponent_for(n) for n in (1, 5, 10, 20, 400)] == [1.0, 1.0, 2.0, 3.0, 3.0]
    assert options.exponent_for(14) == pytest.approx(3 - math.log2(20 / 14))
    assert ScoringOptions(full_exponent_at=0).exponent_for(5) == 3.0  # off
    assert SEED_OPTIONS.exponent_for(5) == 0.0  # unweighted stays unweighted
    assert ScoringOptions(similarity_exponent=0.5).exponent_for(2) == 0.5
    short = options.for_profile(5)
    assert short.similarity_exponent == 1.0 and short.full_exponent_at == 0
    assert options.for_profile(30) is options
    with pytest.raises(ValueError, match="full_exponent_at"):
        ScoringOptions(full_exponent_at=-1)


def test_neighbour_fit_is_the_ridge_regression_of_the_profile_on_the_neighbours() -> None:
    # 3 neighbours x 5 movies; the person rated columns 0 and 4 (which one neighbour rated).
    matrix = np.array(
        [[2.0, 1.0, 0.0, 3.0, 0.0], [2.0, 0.0, 1.0, 0.0, 0.0], [0.0, 1.0, 2.0, 1.0, 1.5]]
    )
    owner, position = np.nonzero(matrix)
    ridge = 0.5
    fit = neighbour_fit(owner, position, matrix[owner, position], np.array([0, 4]), ridge)
    gram = matrix @ matrix.T
    penalty = ridge * np.trace(gram) / 3  # in units of the mean squared row length
    weights = np.linalg.solve(gram + penalty * np.eye(3), matrix @ np.array([1.0, 0, 0, 0, 1]))
    assert fit == pytest.approx(weights @ matrix, rel=1e-5)


@pytest.mark.parametrize("dense_share", [0.0, 1.0])  # every column in the product, or shared
def test_neighbour_fit_sets_aside_movies_one_neighbour_rated(
    dense_share: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reco.recommend

    monkeypatch.setattr(reco.recommend.scoring, "_DENSE_SHARE", dense_share)
    rng = np.random.default_rng(7)
    matrix = np.zeros((6, 40))
    matrix[:, :8] = rng.integers(0, 2, (6, 8)) * rng.uniform(0.5, 3, (6, 8))  # shared
    matrix[rng.integers(0, 6, 32), np.arange(8, 40)] = rng.uniform(0.5, 3, 32)  # one rater each
    matrix = matrix[:, matrix.any(axis=0)]
    owner, position = np.nonzero(matrix)
    rated = np.array([0, 3, 20])
    fit = neighbour_fit(owner, position, matrix[owner, position], rated, 1.0)
    gram = matrix @ matrix.T
    q = np.zeros(matrix.shape[1])
    q[rated] = 1.0
    weights = np.linalg.solve(gram + np.trace(gram) / 6 * np.eye(6), matrix @ q)
    assert fit == pytest.approx(weights @ matrix, rel=1e-5, abs=1e-9)


def test_neighbour_fit_shares_the_weight_of_neighbours_who_rated_alike() -> None:
    # Votes count a duplicated neighbour twice; the regression splits one weight between them.
    one = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])  # neighbour 0 and another
    twice = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
    rated = np.array([0, 1])

    def fit(matrix: np.ndarray) -> np.ndarray:
        owner, position = np.nonzero(matrix)
        # a tiny ridge: the least-squares solution, where duplicates share exactly
        return neighbour_fit(owner, position, matrix[owner, position], rated, 1e-6)

    assert fit(twice) == pytest.approx(fit(one), abs=1e-4)


def test_long_profiles_blend_the_fit_into_the_votes() -> None:
    rows = _neighbours({10: 5.0, 20: 4.0, 30: 4.0}, {10: 5.0, 20: 4.0, 30: 4.0}, {20: 4.0, 40: 5.0})
    encoding = Encoding("liked")
    votes_only = ScoringOptions(
        min_raters=1, popularity_penalty=0.0, offset=1.0, regression_weight=0.0
    )
    blended = replace(votes_only, regression_weight=1.0, regression_from=1, regression_ridge=0.1)
    similarities = np.array([1.0, 1.0, 0.5])
    rated = np.array([10, 20])
    plain = score_candidates(rows, similarities, rated, encoding, votes_only, rated=rated)
    mixed = score_candidates(rows, similarities, rated, encoding, blended, rated=rated)
    assert plain.movie_ids.tolist() == mixed.movie_ids.tolist() == [30, 40]
    # by hand: votes 30 -> 2 + 2 = 4, 40 -> 0.5**3 * 2 = 0.25; each scaled to a peak of 1
    matrix = np.array([[2.0, 2.0, 2.0, 0.0], [2.0, 2.0, 2.0, 0.0], [0.0, 2.0, 0.0, 2.0]])
    owner, position = np.nonzero(matrix)
    fit = neighbour_fit(owner, position, matrix[owner, position], np.array([0, 1]), 0.1)[2:]
    expected = np.array([4.0, 0.25]) / 4.0 + fit / np.abs(fit).max()
    assert mixed.scores.tolist() == pytest.approx(expected.tolist(), rel=1e-5)
    assert plain.scores.tolist() == pytest.approx([4.0, 0.25])
    with pytest.raises(ValueError, match="rated movies"):
        score_candidates(rows, similarities, rated, encoding, blended)


def test_the_fit_is_blended_in_only_from_regression_from_ratings() -> None:
    options = ScoringOptions()  # the fit from 21 ratings on
    assert options.for_profile(20).regression_weight == 0.0
    assert options.for_profile(21).regression_weight == options.regression_weight == 1.0
    assert options.for_profile(21) is options
    assert SEED_OPTIONS.for_profile(100).regression_weight == 0.0
    for bad in ({"regression_weight": -1.0}, {"regression_from": 0}, {"regression_ridge": 0.0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            ScoringOptions(**bad)


def test_the_fit_keeps_the_known_answers(two_taste: Dataset, store: UserStore) -> None:
    # The fit switched on for every profile length: the two-taste answers must not change.
    fitted = Recommender.build(two_taste, store, regression_from=1)
    assert fitted.options.for_profile(len(FAN)).regression_weight == 1.0
    assert fitted.recommend(FAN)[0].movie_id == 4
    romance = [i.movie_id for i in fitted.recommend({5: 5.0, 6: 4.0, 1: 1.0})[:2]]
    assert romance == [7, 8]
    night = fitted.recommend_group([FAN, {1: 5.0, 2: 4.5}])  # each member's fit, as alone
    assert night.items[0].movie_id == 4 and not night.popular


def test_one_blas_thread_limits_the_process_blas_pool() -> None:
    from threadpoolctl import threadpool_info, threadpool_limits

    from reco.recommend import one_blas_thread

    with threadpool_limits(limits=2, user_api="blas"):  # restored when the test ends
        one_blas_thread()
        pools = [i for i in threadpool_info() if i["user_api"] == "blas"]
        assert pools and all(i["num_threads"] == 1 for i in pools)


def test_every_entry_point_takes_the_same_scoring_overrides(recommender: Recommender) -> None:
    strict = recommender.recommend(FAN, min_raters=11)  # more raters than neighbours hold
    assert strict == []
    loose = recommender.recommend(FAN, scoring={"min_raters": 1, "offset": 0.0})
    assert loose[0].movie_id == 4
    group = recommender.recommend_group([FAN, {5: 5.0}], scoring={"min_raters": 1})
    assert group.items
    for call in (
        lambda: recommender.recommend(FAN, scoring={"neighbors": 5}),
        lambda: recommender.recommend_explained(FAN, scoring={"neighbors": 5}),
        lambda: recommender.predict(FAN, [4], scoring={"neighbors": 5}),
        lambda: recommender.recommend_group([FAN], scoring={"neighbors": 5}),
    ):
        with pytest.raises(ValueError, match="unknown scoring option 'neighbors'"):
            call()

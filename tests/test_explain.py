"""Predicted stars and explanations on hand-made neighbours with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from reco.encode import SparseRows
from reco.explain import (
    explain,
    explain_all,
    person_mean,
    predict_stars,
    predict_stars_each,
    row_means,
)
from reco.scale import verdict


def rows(*users: dict[int, float]) -> SparseRows:
    indptr = np.cumsum([0, *(len(u) for u in users)])
    indices = np.array([m for u in users for m in sorted(u)], dtype=np.int32)
    values = np.array([u[m] for u in users for m in sorted(u)], dtype=np.float32)
    return SparseRows(indptr.astype(np.int64), indices, values)


NEIGHBOURS = rows(
    {10: 5.0, 20: 4.0, 30: 3.0},  # mean 4
    {10: 2.0, 20: 4.0},  # mean 3
    {20: 5.0, 40: 1.0},  # mean 3
)


def test_verdicts_split_at_three_and_four_stars() -> None:
    assert [verdict(s) for s in (5, 4, 3.5, 3, 2.5, 0.5)] == [
        "good",
        "good",
        "neutral",
        "neutral",
        "bad",
        "bad",
    ]


def test_row_means() -> None:
    assert row_means(NEIGHBOURS).tolist() == [4.0, 3.0, 3.0]


def test_prediction_is_own_mean_plus_weighted_deviations() -> None:
    weights = np.array([1.0, 0.5, 0.5])
    predicted = predict_stars(NEIGHBOURS, weights, np.array([10, 20, 99]), 3.0, shrinkage=0.0)
    # film 10: (1*(5-4) + 0.5*(2-3)) / 1.5 = 1/3; film 20: (1*0 + .5*1 + .5*2) / 2 = 0.75
    assert predicted.tolist() == pytest.approx([3.0 + 1 / 3, 3.75, 3.0])


def test_prediction_shrinks_towards_own_mean_and_stays_in_range() -> None:
    weights = np.array([1.0, 0.0, 0.0])
    shrunk = predict_stars(NEIGHBOURS, weights, np.array([10]), 3.0, shrinkage=1.0)
    assert shrunk.tolist() == pytest.approx([3.5])  # (5-4) / (1 + 1)
    high = predict_stars(NEIGHBOURS, weights, np.array([10]), 4.8, shrinkage=0.0)
    assert high.tolist() == [5.0]
    negative = predict_stars(NEIGHBOURS, np.array([-1.0, 0, 0]), np.array([10]), 3.0)
    assert negative.tolist() == [3.0]  # negative similarity counts for nothing
    assert predict_stars(NEIGHBOURS, weights, np.array([], dtype=np.int64), 3.0).size == 0


def test_explanation_counts_verdicts_and_the_likers_agreements() -> None:
    # film 20: liked by all three; neighbour 0 and 1 agree with you on film 10? you gave 10 5★
    profile = {10: 5.0, 30: 3.0, 40: 4.0}
    found = explain(NEIGHBOURS, 20, profile)
    assert (found.good, found.neutral, found.bad, found.raters) == (3, 0, 0, 3)
    assert found.neighbours == 3
    # 10: neighbour 0 gave 5 (agrees), neighbour 1 gave 2 (not); 30: neighbour 0 gave 3
    # (agrees); 40: neighbour 2 gave 1 (not within half a star of your 4)
    assert [(a.movie_id, a.your_stars, a.neighbours) for a in found.agreements] == [
        (10, 5.0, 1),
        (30, 3.0, 1),
    ]  # ties: your favourite first


def test_neighbours_who_disliked_a_film_are_never_reasons() -> None:
    found = explain(NEIGHBOURS, 10, {20: 4.0})
    assert (found.good, found.neutral, found.bad) == (1, 0, 1)
    # only neighbour 0 liked film 10; neighbour 1 (who gave it 2) also gave 20 4 stars, but
    # is not a reason
    assert [(a.movie_id, a.neighbours) for a in found.agreements] == [(20, 1)]
    assert explain(NEIGHBOURS, 40, {20: 5.0}).agreements == ()  # nobody liked 40
    nobody = explain(NEIGHBOURS, 77, {20: 5.0})
    assert (nobody.raters, nobody.agreements) == (0, ())


def test_a_persons_mean_is_pulled_towards_everyones() -> None:
    assert person_mean([5.0, 5.0, 5.0], 3.5, prior=0) == 5.0
    assert person_mean([5.0, 5.0, 5.0], 3.5, prior=3) == pytest.approx(4.25)
    assert person_mean([], 3.5) == 3.5


def test_explaining_several_films_at_once_equals_one_by_one() -> None:
    profile = {10: 5.0, 30: 3.0, 40: 4.0}
    together = explain_all(NEIGHBOURS, [20, 10, 77], profile)
    assert list(together) == [20, 10, 77]
    assert together == {m: explain(NEIGHBOURS, m, profile) for m in (20, 10, 77)}
    assert explain_all(NEIGHBOURS, [20], {})[20].agreements == ()  # nothing rated: no reasons


def test_predictions_for_several_people_at_once_equal_each_alone() -> None:
    rows = NEIGHBOURS
    weights = np.array([0.9, 0.5, 0.2])
    members = np.array([1, 0, 1])  # neighbour 1 is person 0's, neighbours 0 and 2 person 1's
    films = np.array([20, 10, 99])
    together = predict_stars_each(rows, weights, members, films, np.array([3.0, 4.0]))
    assert together.shape == (2, 3)
    first = predict_stars(rows.take(np.array([1])), weights[[1]], films, 3.0)
    second = predict_stars(rows.take(np.array([0, 2])), weights[[0, 2]], films, 4.0)
    assert together[0].tolist() == pytest.approx(first.tolist())
    assert together[1].tolist() == pytest.approx(second.tolist())
    assert together[:, 2].tolist() == [3.0, 4.0]  # nobody rated film 99: each one's mean

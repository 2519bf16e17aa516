"""Movie night: the group rules on known matrices, and `Recommender.recommend_group` on both
engines."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import NEUTRAL, ROMANCE, SCIFI

from reco.datasets import Dataset
from reco.group import DISLIKED_BELOW, RULES, check_rule, rank_group, relevance
from reco.recommend import GroupRecommendation, Recommender
from reco.store import UserStore

FAN = {1: 5.0, 2: 5.0, 3: 4.5}  # science fiction; has not seen 4
ROMANTIC = {5: 5.0, 6: 5.0, 7: 4.5}  # romance; has not seen 8

# Three films, two members. Film 10 is the first member's favourite and the second's worst;
# film 20 suits both fairly; film 30 is the second's favourite, the first does not mind it.
FILMS = np.array([10, 20, 30])
RELEVANCES = np.array([[1.0, 0.6, 0.5], [0.1, 0.6, 1.0]])
PREDICTED = np.array([[4.8, 4.0, 3.5], [2.0, 4.0, 4.6]])


def _predict(asked: list[list[int]]):
    def predict(positions: np.ndarray) -> np.ndarray:
        asked.append(positions.tolist())
        return PREDICTED[:, positions]

    return predict


def test_relevance_is_the_score_over_the_members_best_and_zero_when_not_a_candidate() -> None:
    scores = relevance(np.array([7, 3, 9]), np.array([2.0, 4.0, -1.0]), np.array([3, 7, 9, 5]))
    assert scores.tolist() == [1.0, 0.5, 0.0, 0.0]  # a negative score counts as 0
    assert relevance(np.array([], dtype=np.int64), np.array([]), np.array([1])).tolist() == [0.0]


def test_average_takes_the_mean_and_least_misery_the_least_happy_member() -> None:
    asked: list[list[int]] = []
    top, scores, predicted = rank_group(FILMS, RELEVANCES, "average", 3, _predict(asked))
    assert FILMS[top].tolist() == [30, 20, 10]  # means 0.75, 0.6, 0.55
    assert scores.tolist() == pytest.approx([0.75, 0.6, 0.55])
    assert predicted.tolist() == PREDICTED[:, top].tolist()
    top, scores, _ = rank_group(FILMS, RELEVANCES, "least-misery", 3, _predict(asked))
    assert FILMS[top].tolist() == [20, 30, 10]  # worst-off members 0.6, 0.5, 0.1
    assert scores.tolist() == pytest.approx([0.6, 0.5, 0.1])
    top, _, _ = rank_group(FILMS, RELEVANCES, "average", 1, _predict(asked))
    assert FILMS[top].tolist() == [30] and asked[-1] == top.tolist()  # asks only what it shows


def test_average_without_misery_puts_a_film_someone_would_dislike_last() -> None:
    predicted = PREDICTED.copy()
    predicted[0, 2] = 2.5  # now the first member would dislike film 30, the mean's favourite

    def predict(positions: np.ndarray) -> np.ndarray:
        return predicted[:, positions]

    top, scores, stars = rank_group(FILMS, RELEVANCES, "average-without-misery", 3, predict)
    # 20 (nobody dislikes it) first, then by the mean 30 and 10, both flagged
    assert FILMS[top].tolist() == [20, 30, 10]
    assert scores.tolist() == pytest.approx([0.6, 0.75, 0.55])
    assert (stars[:, 1:] < DISLIKED_BELOW).any(axis=0).all()
    one, _, _ = rank_group(FILMS, RELEVANCES, "average-without-misery", 1, predict)
    assert FILMS[one].tolist() == [20]


def test_a_misery_head_grows_until_it_holds_enough_films_nobody_dislikes() -> None:
    films = np.arange(100)
    relevances = np.tile(np.linspace(1, 0.01, 100), (2, 1))  # film 0 best, 99 worst
    predicted = np.full((2, 100), 4.0)
    predicted[1, :90] = 2.0  # the second member would dislike the 90 best films

    def predict(positions: np.ndarray) -> np.ndarray:
        return predicted[:, positions]

    top, _, _ = rank_group(films, relevances, "average-without-misery", 5, predict)
    assert top.tolist() == [90, 91, 92, 93, 94]


def test_unknown_rule_is_refused_by_name() -> None:
    assert check_rule("least-misery") == "least-misery"
    with pytest.raises(ValueError, match="average-without-misery"):
        check_rule("majority")


def test_a_disliked_film_names_who_would_dislike_it() -> None:
    item = GroupRecommendation(4, "Solaris", 1972, "Sci-Fi", 0.5, (4.6, 2.1, 3.0, 2.99))
    assert item.disliked_by == (1, 3)
    assert item.display_title == "Solaris (1972)"


@pytest.fixture
def recommender(two_taste: Dataset, store: UserStore) -> Recommender:
    return Recommender.build(two_taste, store)


def test_a_group_of_one_gets_what_the_member_gets_alone(recommender: Recommender) -> None:
    alone = [item.movie_id for item in recommender.recommend(FAN)]
    group = recommender.recommend_group([FAN], rule="average")
    assert [item.movie_id for item in group.items] == alone
    assert group.neighbours == (10,) and not group.popular
    assert group.items[0].predicted == (recommender.recommend(FAN)[0].predicted,)


@pytest.mark.parametrize("rule", RULES)
def test_a_group_never_gets_what_a_member_rated_or_hid(recommender: Recommender, rule: str) -> None:
    result = recommender.recommend_group([FAN, ROMANTIC], rule=rule, hidden=[NEUTRAL])
    shown = [item.movie_id for item in result.items]
    assert shown and not set(shown) & (FAN.keys() | ROMANTIC.keys() | {NEUTRAL})
    assert set(shown) <= {4, 8, 10}
    assert all(len(item.predicted) == 2 for item in result.items)
    assert result.rule == rule and result.neighbours == (10, 10)


def test_each_member_predicts_from_their_own_neighbours(recommender: Recommender) -> None:
    result = recommender.recommend_group([FAN, ROMANTIC], rule="average")
    stars = {item.movie_id: item.predicted for item in result.items}
    solaris, casablanca = stars[SCIFI[3]], stars[ROMANCE[3]]
    assert solaris[0] > solaris[1] and casablanca[1] > casablanca[0]
    assert solaris[0] == pytest.approx(casablanca[1])  # the two tastes mirror each other
    predict = recommender.predict(ROMANTIC, [SCIFI[3]])
    assert solaris[1] == pytest.approx(float(predict[0]), abs=0.005)


HATER = {5: 5.0, 6: 5.0, 7: 5.0, 1: 1.0, 2: 1.0, 3: 1.0}  # romance, and hates science fiction


def test_a_film_someone_would_dislike_is_flagged_and_put_last_by_the_default(
    recommender: Recommender,
) -> None:
    average = recommender.recommend_group([FAN, HATER], rule="average")
    assert average.items[0].movie_id == SCIFI[3]  # the fan's favourite leads the average...
    assert average.items[0].disliked_by == (1,)  # ...but the hater would likely dislike it
    assert average.items[0].predicted[1] < 3 < average.items[0].predicted[0]
    spared = recommender.recommend_group([FAN, HATER])  # average-without-misery
    assert [item.movie_id for item in spared.items][-1] == SCIFI[3]
    assert all(not item.disliked_by for item in spared.items[:-1])


def test_filters_apply_to_every_member(recommender: Recommender) -> None:
    # Only users of 35-44 (the romance group): the fan finds no neighbour of similar taste.
    result = recommender.recommend_group([FAN, ROMANTIC], age_groups=["35-44"])
    assert result.neighbours == (0, 10)
    assert [item.movie_id for item in result.items][0] == ROMANCE[3]


def test_bad_groups_are_refused_with_a_reason(recommender: Recommender) -> None:
    with pytest.raises(ValueError, match="1 to 6 members"):
        recommender.recommend_group([])
    with pytest.raises(ValueError, match="1 to 6 members"):
        recommender.recommend_group([FAN] * 7)
    with pytest.raises(ValueError, match="member 2 has no ratings"):
        recommender.recommend_group([FAN, {}])
    with pytest.raises(ValueError, match="unknown movie id"):
        recommender.recommend_group([FAN, {99_999: 4.0}])
    with pytest.raises(ValueError, match="pool must be"):
        recommender.recommend_group([FAN], limit=10, pool=5)
    with pytest.raises(ValueError, match="unknown group rule"):
        recommender.recommend_group([FAN], rule="majority")

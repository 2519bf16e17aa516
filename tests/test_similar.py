"""More like this: the films collection of both engines on the two-taste population (known
answers), the query's examples, the stars' histogram, damage, and the CLI."""

from __future__ import annotations

import io
import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROMANCE, SCIFI, two_taste_dataset, write_release

from reco.cli import main
from reco.datasets import Dataset
from reco.recommend import Recommender
from reco.store import EdgeStore, UserStore
from reco.store.base import strongest
from reco.store.edge_films import average_vector


@pytest.fixture
def recommender(two_taste: Dataset, store: UserStore) -> Recommender:
    return Recommender.build(two_taste, store)


def test_a_films_nearest_are_those_its_raters_rated_alike(recommender: Recommender) -> None:
    found = recommender.similar(1, limit=4)
    assert found.positive == (1,) and found.negative == ()
    assert {item.movie_id for item in found.items[:3]} == set(SCIFI) - {1}
    assert all(item.movie_id != 1 for item in found.items)
    similarities = [item.similarity for item in found.items]
    assert similarities[2] > similarities[3]  # the sci-fi films, then the rest
    romance = recommender.similar(5, limit=3)
    assert {item.movie_id for item in romance.items} == set(ROMANCE) - {5}


def test_your_ratings_steer_it_and_what_you_rated_or_hid_never_shows(
    recommender: Recommender,
) -> None:
    found = recommender.similar(1, limit=10, ratings={2: 5.0, 6: 1.0}, hidden=[3])
    assert 2 in found.positive and 6 in found.negative  # near it: liked, disliked
    shown = {item.movie_id for item in found.items}
    assert not shown & {1, 2, 3, 6}
    assert 4 in shown and next(iter(found.items)).movie_id == 4


def test_the_stars_histogram_comes_from_the_engine(recommender: Recommender) -> None:
    assert recommender.stars_given(1) == (0, 10, 0, 0, 0, 0, 0, 0, 0, 10)  # ten 1s, ten 5s
    assert recommender.stars_given(10) == (0,) * 7 + (1, 0, 0)  # one 4-star rating
    with pytest.raises(ValueError, match="unknown movie id"):
        recommender.stars_given(999)
    with pytest.raises(ValueError, match="unknown movie id"):
        recommender.similar(999)


def test_a_film_nobody_rated_has_nothing_like_it(two_taste: Dataset, store: UserStore) -> None:
    movies = pd.concat(
        [two_taste.movies, pd.DataFrame({"movie_id": [11], "title": ["Unseen"], "genres": [""]})]
    )
    recommender = Recommender.build(replace(two_taste, movies=movies), store)
    assert recommender.similar(11).items == ()
    assert recommender.stars_given(11) == (0,) * 10


def test_both_engines_give_the_same_films_in_the_same_order(tmp_path: Path) -> None:
    from qdrant_client import QdrantClient

    from reco.store import QdrantServerStore

    dataset = two_taste_dataset()
    edge = Recommender.build(dataset, EdgeStore(tmp_path / "edge", "t"))
    server = Recommender.build(dataset, QdrantServerStore(QdrantClient(":memory:"), "t"))
    for film, ratings in ((1, None), (5, {6: 5.0, 2: 1.0}), (9, {1: 4.0})):
        a = edge.similar(film, 8, ratings=ratings)
        b = server.similar(film, 8, ratings=ratings)
        assert [i.movie_id for i in a.items] == [i.movie_id for i in b.items]
        assert np.allclose([i.similarity for i in a.items], [i.similarity for i in b.items], 1e-3)
        assert (a.positive, a.negative) == (b.positive, b.negative)


def test_average_vector_and_the_strongest_raters() -> None:
    one = (np.array([1, 2]), np.array([1.0, 0.5]))
    two = (np.array([2, 3]), np.array([1.0, 1.0]))
    bad = (np.array([3]), np.array([2.0]))
    mean = average_vector([one, two], [])
    assert list(mean.indices) == [1, 2, 3] and np.allclose(mean.values, [0.5, 0.75, 0.5])
    steered = average_vector([one, two], [bad])  # 2 * mean - negatives' mean
    assert list(steered.indices) == [1, 2, 3] and np.allclose(steered.values, [1.0, 1.5, -1.0])
    indices, values = strongest([5, 6, 7, 8], [0.1, -0.9, 0.5, 0.2], keep=2)
    assert indices.tolist() == [6, 7] and values.tolist() == [-0.9, 0.5]


def test_an_index_without_its_films_is_rebuilt(tmp_path: Path) -> None:
    dataset = two_taste_dataset()
    store = EdgeStore(tmp_path, "t")
    built = Recommender.build(dataset, store)
    folder = next(p for p in tmp_path.iterdir() if p.name.startswith("t-"))
    store.close()
    shutil.rmtree(folder / "films")
    assert EdgeStore(tmp_path, "t").ready(built.manifest.fingerprint) is None  # damaged
    again = Recommender.build(dataset, EdgeStore(tmp_path, "t"))
    assert {i.movie_id for i in again.similar(1, 3).items} == set(SCIFI) - {1}


def test_cli_similar_lists_the_films_like_one_as_json(tmp_path: Path) -> None:
    release = write_release(tmp_path / "ml-tiny", "ml-100k", two_taste_dataset())
    out = io.StringIO()
    argv = ["similar", "1", "--dataset", str(release), "--data-dir", str(tmp_path / "data")]
    assert main([*argv, "--json", "--limit", "3"], out=out) == 0
    answer = json.loads(out.getvalue())
    assert answer["title"] == "Alien (1979)"
    assert {film["movie_id"] for film in answer["similar"]} == set(SCIFI) - {1}
    assert all(film["similarity"] > 0 for film in answer["similar"])
    out = io.StringIO()
    assert main([*argv, "--rate", "2=5"], out=out) == 0
    assert "steered by your ratings: like The Matrix (1999)" in out.getvalue()
    assert main([*argv[:1], "999", *argv[2:]], out=io.StringIO()) == 2


def test_a_films_verdict_is_its_neighbours_ratings_and_the_prediction(
    recommender: Recommender,
) -> None:
    fan = {1: 5.0, 2: 5.0, 3: 4.5}
    verdict = recommender.film_verdict(fan, 4)
    assert verdict.neighbours == 10 and verdict.stars == (5.0,) * 10  # the sci-fi fans
    assert verdict.predicted == pytest.approx(float(recommender.predict(fan, [4])[0]))
    with pytest.raises(ValueError, match="at least one rating"):
        recommender.film_verdict({}, 4)

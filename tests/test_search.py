"""Title search: case, accents, leading articles, typos, genre and year filters."""

from __future__ import annotations

import pandas as pd
import pytest

from reco.search import MovieSearch, fold

MOVIES = pd.DataFrame(
    {
        "movie_id": [1, 2, 3, 4, 5, 6],
        "title": ["The Matrix", "The Matrix Reloaded", "Star Wars", "Amélie", "Heat", "Star Trek"],
        "original_title": [
            "Matrix, The (1999)",
            "Matrix Reloaded, The (2003)",
            "Star Wars (1977)",
            "Amélie (2001)",
            "Heat (1995)",
            "Star Trek (2009)",
        ],
        "genres": [
            "Action|Sci-Fi",
            "Action|Sci-Fi",
            "Action|Sci-Fi",
            "Comedy|Romance",
            "Crime",
            "Sci-Fi",
        ],
        "year": pd.array([1999, 2003, 1977, 2001, 1995, 2009], dtype="Int16"),
    }
)
POPULARITY = pd.Series([300, 100, 500, 200, 150, 50], index=[1, 2, 3, 4, 5, 6])


@pytest.fixture
def search() -> MovieSearch:
    return MovieSearch(MOVIES, POPULARITY)


def ids(found: pd.DataFrame) -> list[int]:
    return found["movie_id"].tolist()


def test_fold_lowercases_and_strips_accents_and_punctuation() -> None:
    assert fold("Amélie: Le Fabuleux!") == "amelie le fabuleux"


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("matrix", 1),
        ("MATRIX", 1),
        ("the matrix", 1),
        ("matrix, the", 1),
        ("amelie", 4),
        ("AMÉLIE", 4),
        ("star wars", 3),
        ("star warz", 3),
        ("starwars", 3),
        ("matrx", 1),
        ("reloaded", 2),
    ],
)
def test_finds_titles_despite_case_accents_articles_and_typos(
    search: MovieSearch, query: str, first: int
) -> None:
    assert ids(search.search(query))[0] == first


def test_ties_rank_by_popularity_and_unrelated_titles_are_left_out(search: MovieSearch) -> None:
    assert ids(search.search("star")) == [3, 6]
    assert search.search("xylophone").empty


def test_titles_matching_some_words_come_after_every_full_match(search: MovieSearch) -> None:
    found = search.search("star wars")
    assert ids(found) == [3, 6]  # Star Wars, then Star Trek
    assert found["match"].iloc[0] > 0.5 > found["match"].iloc[1] > 0
    # no title has both words: the partial matches by popularity
    assert ids(search.search("matrix heat")) == [1, 5, 2]


def test_genre_and_year_filters(search: MovieSearch) -> None:
    assert ids(search.search("", genres=["Sci-Fi"], years=(1990, 2005))) == [1, 2]
    assert ids(search.search("matrix", years=(2000, 2010))) == [2]
    assert ids(search.search("", genres=["Romance", "Crime"])) == [4, 5]


def test_results_carry_year_genres_and_rating_counts(search: MovieSearch) -> None:
    found = search.search("heat")
    row = found.iloc[0]
    assert (row["title"], row["year"], row["genres"], row["ratings"]) == (
        "Heat",
        1995,
        "Crime",
        150,
    )
    assert search.genres() == ["Action", "Comedy", "Crime", "Romance", "Sci-Fi"]

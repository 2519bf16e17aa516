"""The catalog: films, links and figures computed once from the ratings, then read back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import two_taste_dataset

from reco.bench import synthetic_movielens
from reco.catalog import Catalog, CatalogError, display_title, imdb_link
from reco.datasets import Dataset

FILTERS = [
    [],
    [("age_group", ["25-34"])],
    [("gender", ["M"])],  # most cells: summed as the totals minus the other cells
    [("age_group", ["18-24", "25-34", "35-44", "45-49"]), ("gender", ["M", "F"])],
    [("age_group", ["25-34"]), ("gender", ["F"]), ("occupation", ["writer", "artist"])],
    [("occupation", ["nobody has this"])],
]


def popular_from_ratings(dataset: Dataset, conditions: list) -> list[tuple[int, int, int, float]]:
    """The ranking the catalog must give, straight from the ratings: liked count, then mean
    stars, then id, among the users matching ``conditions``."""
    ratings, users = dataset.ratings, dataset.users
    mask = np.ones(len(users), dtype=bool)
    for name, values in conditions:
        mask &= users[name].astype(str).isin(values).to_numpy()
    chosen = ratings[ratings["user_id"].isin(users["user_id"][mask])]
    chosen = chosen.assign(rating=chosen["rating"].astype(np.float64))
    stats = chosen.groupby("movie_id")["rating"].agg(
        liked=lambda s: int((s >= 4).sum()), raters="size", mean="mean"
    )
    stats = stats.reset_index().sort_values(
        ["liked", "mean", "movie_id"], ascending=[False, False, True]
    )
    return [
        (int(m), int(liked), int(raters), round(float(mean), 9))
        for m, liked, raters, mean in stats.itertuples(index=False)
    ]


def as_rows(catalog: Catalog, conditions: list) -> list[tuple[int, int, int, float]]:
    ranked = catalog.popular(conditions)
    return [
        (int(m), int(liked), int(raters), round(float(mean), 9))
        for m, liked, raters, mean in zip(
            ranked.movie_ids, ranked.liked, ranked.raters, ranked.mean_rating, strict=True
        )
    ]


@pytest.fixture(scope="module")
def population() -> Dataset:
    return synthetic_movielens(600, seed=5)


@pytest.mark.parametrize("conditions", FILTERS, ids=lambda c: str(len(c)))
def test_popular_under_any_filter_is_the_ranking_of_the_matching_users_ratings(
    population: Dataset, conditions: list
) -> None:
    catalog = Catalog.from_dataset(population)
    assert as_rows(catalog, conditions) == popular_from_ratings(population, conditions)


def test_figures_per_film_are_those_of_the_ratings(population: Dataset) -> None:
    catalog = Catalog.from_dataset(population)
    ratings = population.ratings
    raters = ratings.groupby("movie_id").size()
    movies = catalog.movies.set_index("movie_id")
    assert (movies.loc[raters.index, "raters"] == raters).all()
    assert catalog.rating_counts[raters.index].tolist() == raters.tolist()
    liked = ratings[ratings["rating"] >= 4].groupby("movie_id").size()
    assert (movies.loc[liked.index, "liked"] == liked).all()
    means = ratings.groupby("movie_id")["rating"].mean()
    assert np.allclose(movies.loc[means.index, "mean_rating"], means)
    assert catalog.cells["users"].sum() == 600


def test_the_catalog_comes_back_the_same_from_files_and_from_records(
    population: Dataset, tmp_path: Path
) -> None:
    catalog = Catalog.from_dataset(population)
    catalog.save(tmp_path)
    from_files = Catalog.load(tmp_path, population.name)
    from_records = Catalog.from_records(
        population.name, list(catalog.records()), catalog.cell_records()
    )
    for copy in (from_files, from_records):
        pd.testing.assert_frame_equal(copy.movies, catalog.movies)
        for conditions in FILTERS:
            assert as_rows(copy, conditions) == as_rows(catalog, conditions)
        assert copy.choices("occupation") == catalog.choices("occupation")


def test_a_release_without_demographics_has_no_cells() -> None:
    base = two_taste_dataset()
    catalog = Catalog.from_dataset(Dataset(base.ratings, base.movies, name="plain"))
    assert not catalog.has_demographics and catalog.choices("gender") == []
    assert list(catalog.records())[0].keys() == set(catalog.movies.columns)
    assert catalog.popular().movie_ids[0] in (1, 2, 3, 4, 5, 6, 7, 8)  # 10 likes each


def test_display_titles_and_links() -> None:
    movies = pd.DataFrame(
        {
            "movie_id": [1, 2, 3],
            "title": ["Toy Story", "Heat", "Nameless"],
            "year": [1995, None, 2001],
            "imdb_id": [114709, None, None],
            "tmdb_id": [862, 949, None],
            "imdb_url": [None, "http://us.imdb.com/M/title-exact?Heat%20(1995)", "javascript:x()"],
            "raters": [1, 1, 0],
            "liked": [1, 0, 0],
            "mean_rating": [5.0, 3.0, None],
        }
    )
    catalog = Catalog("t", movies)
    titles = [catalog.display_title(m) for m in (1, 2, 3)]
    assert titles == ["Toy Story (1995)", "Heat", "Nameless (2001)"]
    assert display_title("Alien", 1979) == "Alien (1979)"
    assert display_title("Alien", None) == "Alien"
    assert catalog.links(1) == {
        "IMDb": "https://www.imdb.com/title/tt0114709/",
        "TMDB": "https://www.themoviedb.org/movie/862",
    }
    assert catalog.links(2) == {  # 1998's address: today's search; no parentheses in the link
        "IMDb": "https://www.imdb.com/find/?q=Heat%20%281995%29",
        "TMDB": "https://www.themoviedb.org/movie/949",
    }
    assert catalog.links(3) == {}
    assert imdb_link("https://example.org/a (b)") == "https://example.org/a%20%28b%29"
    assert imdb_link("http://us.imdb.com/Title?L%E9on+(1994)") == (
        "https://www.imdb.com/find/?q=L%C3%A9on%20%281994%29"
    )
    assert imdb_link("http://us.imdb.com/Title?Wallace+%26+Gromit%3A+The+Best+(1996)") == (
        "https://www.imdb.com/find/?q=Wallace%20%26%20Gromit%3A%20The%20Best%20%281996%29"
    )
    assert imdb_link("http://us.imdb.com/M/title-exact/Independence%20(1997)") == (
        "https://www.imdb.com/find/?q=Independence%20%281997%29"
    )
    assert catalog.popular().movie_ids.tolist() == [1, 2]  # never a film nobody rated
    with pytest.raises(KeyError):
        catalog.movie(99)


def test_damaged_catalogs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="lacks column"):
        Catalog("t", pd.DataFrame({"movie_id": [1], "title": ["x"]}))
    with pytest.raises(CatalogError, match="cannot be read"):
        Catalog.load(tmp_path, "t")
    records = list(Catalog.from_dataset(two_taste_dataset()).records())
    records[0]["cells"] = [0, 1]  # lists of different lengths
    with pytest.raises(CatalogError, match="damaged"):
        Catalog.from_records("t", records, [{"age_group": "18-24"}])


def test_titles_are_worked_out_once_and_read_only(population: Dataset) -> None:
    catalog = Catalog.from_dataset(population)
    first = catalog.titles()
    assert len(first) == len(catalog) and first[1] == catalog.display_title(1)
    assert catalog.titles() is first
    with pytest.raises(TypeError):
        first[1] = "changed"  # type: ignore[index]

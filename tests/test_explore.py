"""Explore: recommendations narrowed to genres, years and fame, and their order (`reco.explore`),
on the two-taste population with known answers; the CLI's options."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import ROMANCE, SCIFI, two_taste_dataset, write_release

from reco.cli import main
from reco.datasets import Dataset
from reco.explore import FilmFilter, check_films, genre_names, parse_years, years_text
from reco.recommend import Recommender
from reco.recommend.recommender import widening
from reco.store import UserStore

FAN = {1: 5.0, 2: 5.0, 3: 4.5}  # a science-fiction fan who has not seen movie 4
MIXED = {1: 5.0, 5: 4.0}  # likes Alien and Amélie: both tastes' films are candidates


@pytest.fixture
def recommender(two_taste: Dataset, store: UserStore) -> Recommender:
    movies = two_taste.movies.copy()  # the years out of the titles, as a release's reader does
    found = movies["title"].str.extract(r"^(.*) \((\d{4})\)$")
    movies["title"], movies["year"] = found[0], found[1].astype(int)
    return Recommender.build(replace(two_taste, movies=movies), store)


def test_parse_years_reads_ranges_decades_and_single_years() -> None:
    assert parse_years("1990-1999") == (1990, 1999)
    assert parse_years(" 1990 – 1995 ") == (1990, 1995)
    assert parse_years("1990s") == (1990, 1999)
    assert parse_years("1995") == (1995, 1995)
    for bad in ("199", "1999-1990", "1995s", "nineties", "1990-", ""):
        with pytest.raises(ValueError):
            parse_years(bad)
    assert years_text((1990, 1999)) == "the 1990s"
    assert years_text((1990, 1995)) == "1990–1995"
    assert years_text((1997, 1997)) == "1997"


def test_masks_hold_the_films_of_the_genres_years_and_fame(recommender: Recommender) -> None:
    catalog = recommender.catalog

    def held(films: FilmFilter) -> set[int]:
        return set(np.flatnonzero(films.mask(catalog)).tolist())

    assert genre_names(catalog) == ["Drama", "Romance", "Sci-Fi"]
    assert held(FilmFilter(("Sci-Fi",))) == set(SCIFI)
    assert held(FilmFilter(("Sci-Fi", "Romance"))) == set(SCIFI) | set(ROMANCE)
    assert held(FilmFilter(years=(1990, 1999))) == {2, 7, 10}  # The Matrix, Titanic, Obscure
    assert held(FilmFilter(("Sci-Fi",), (1970, 1979))) == {1, 4}  # Alien, Solaris
    well, lesser = held(FilmFilter(known="well-known")), held(FilmFilter(known="lesser-known"))
    assert well.isdisjoint(lesser) and well | lesser == set(range(1, 11))
    counts = catalog.rating_counts
    assert counts[list(well)].sum() >= counts.sum() / 2  # the most rated, holding half
    assert 10 in lesser  # one rating
    assert not FilmFilter() and FilmFilter(known="lesser-known")


def test_a_genre_narrows_the_ranking_in_its_own_order(recommender: Recommender) -> None:
    full = [i.movie_id for i in recommender.recommend(MIXED, limit=20)]
    romance = recommender.recommend(MIXED, limit=3, films=FilmFilter(("Romance",)))
    assert [i.movie_id for i in romance] == [m for m in full if m in ROMANCE][:3]
    assert all(not i.popular for i in romance)
    scifi = recommender.recommend(MIXED, films=FilmFilter(("sci-fi",)))  # any case
    assert {i.movie_id for i in scifi} == set(SCIFI) - {1}


def test_too_few_films_asks_more_neighbours(recommender: Recommender) -> None:
    plain = recommender.recommend_explained(FAN, neighbours=2)
    narrowed = recommender.recommend_explained(FAN, neighbours=2, films=FilmFilter(("Romance",)))
    assert len(plain.neighbours) == 2
    # the two rated the four romances, too few of ten: asked again, 4 times as many
    assert widening(len(ROMANCE), 10) == 4
    assert len(narrowed.neighbours) == 8
    assert {i.movie_id for i in narrowed.items} == set(ROMANCE)
    assert narrowed.films == FilmFilter(("Romance",))


def test_widening_asks_about_as_many_times_more_as_films_lacked() -> None:
    assert [widening(found, 10) for found in (0, 1, 3, 5, 7, 9)] == [5, 5, 5, 3, 2, 2]


def test_the_most_liked_films_fill_a_narrowing_its_neighbours_did_not_rate(
    recommender: Recommender,
) -> None:
    only_drama = recommender.recommend(FAN, limit=5, films=FilmFilter(("Drama",)), min_raters=1)
    assert [i.movie_id for i in only_drama][:1] == [9]  # every neighbour rated it
    assert all(i.genres == "Drama" for i in only_drama)
    newcomer = recommender.recommend({}, limit=3, films=FilmFilter(("Romance",)))
    assert newcomer and all(i.popular and i.movie_id in ROMANCE for i in newcomer)


def test_order_by_stars_sorts_the_best_of_the_ranking_by_predicted_stars(
    recommender: Recommender,
) -> None:
    by_rank = recommender.recommend(MIXED, limit=6)
    by_stars = recommender.recommend(MIXED, limit=6, order="stars")
    predicted = [i.predicted for i in by_stars]
    assert predicted == sorted(predicted, reverse=True)
    assert {i.movie_id for i in by_stars} <= {i.movie_id for i in recommender.recommend(MIXED, 50)}
    assert by_stars[0].predicted >= max(i.predicted for i in by_rank)
    with pytest.raises(ValueError, match="order must be one of rank, stars"):
        recommender.recommend(MIXED, order="random")  # type: ignore[arg-type]


def test_unknown_genres_and_bad_filters_are_refused(recommender: Recommender) -> None:
    with pytest.raises(ValueError, match="has no genre 'Western'; genres: Drama, Romance"):
        recommender.recommend(FAN, films=FilmFilter(("Western",)))
    with pytest.raises(ValueError, match="known must be one of"):
        FilmFilter(known="famous")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="earlier to the later"):
        FilmFilter(years=(2000, 1990))
    assert check_films(recommender.catalog, FilmFilter(("drama",))).genres == ("Drama",)


def test_cli_recommend_explores_a_genre_and_a_decade(tmp_path: Path) -> None:
    release = write_release(tmp_path / "ml-tiny", "ml-100k", two_taste_dataset())
    base = ["recommend", "--dataset", str(release), "--data-dir", str(tmp_path / "data")]
    out = io.StringIO()
    rate = ["--rate", "1=5", "--rate", "5=4"]
    code = main([*base, *rate, "--genre", "Romance", "--years", "1990s", "--json"], out=out)
    assert code == 0
    answer = json.loads(out.getvalue())
    assert [item["movie_id"] for item in answer["recommendations"]] == [7]  # Titanic (1997)
    assert answer["films"] == {"genres": ["Romance"], "years": [1990, 1999], "known": "any"}
    out = io.StringIO()
    code = main([*base, *rate, "--genre", "Romance", "--order", "stars"], out=out)
    assert code == 0 and "Only films: Romance" in out.getvalue()
    out = io.StringIO()
    assert main([*base, *rate, "--genre", "Western"], out=out) == 2

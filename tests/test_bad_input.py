"""Bad user input: huge profiles, garbage parameters, very long text, markup in shown text.
The app shows a message and keeps the user's valid ratings; nothing is rendered as HTML."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from conftest import ROOT, page_test, write_release
from streamlit.testing.v1 import AppTest

from app import state as keys
from app.state import RATINGS, per_release
from reco.bench import synthetic_movielens
from reco.datasets import Dataset
from reco.profile import MAX_LINK_CHARS, MAX_RATINGS
from reco.recommend import Recommender

ML100K_RATINGS = per_release(RATINGS, "ml-100k")  # the session key of those ratings

HOSTILE_TITLES = [
    "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)>",
    "**Bold** [click](javascript:alert(1))",
    "Heat :red[danger] $x^2$ `code`",
    "<b>Bold</b> & Co.",
]


def catalogue() -> Dataset:
    """800 users over 6,000 movies (enough for a 5,000-movie profile) with ids from 100,001;
    the five most rated movies carry hostile titles."""
    base = synthetic_movielens(800, seed=5, movies=6000)
    movies, ratings = base.movies.copy(), base.ratings.copy()
    # six-digit ids, as in ML-25M: 5,000 ratings then no longer fit in a link
    movies["movie_id"] += 100_000
    ratings["movie_id"] += 100_000
    popular = ratings["movie_id"].value_counts().index[: len(HOSTILE_TITLES)]
    for movie_id, title in zip(popular, HOSTILE_TITLES, strict=True):
        movies.loc[movies["movie_id"] == movie_id, "title"] = title
    return Dataset(ratings=ratings, movies=movies, users=base.users, name="ml-100k")


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return catalogue()


def big_profile(dataset: Dataset, size: int) -> dict[int, float]:
    rng = np.random.default_rng(1)
    movies = dataset.movies["movie_id"].to_numpy()
    chosen = rng.choice(movies, size, replace=False)
    return {int(m): float(rng.integers(1, 11)) / 2 for m in chosen}


def test_a_5000_movie_profile_gets_recommendations(dataset: Dataset) -> None:
    recommender = Recommender.build(dataset)
    profile = big_profile(dataset, MAX_RATINGS)
    result = recommender.recommend_explained(profile, 10)
    assert result.items and not result.popular
    assert not {i.movie_id for i in result.items} & set(profile)
    recommender.store.close()


@pytest.fixture
def app(dataset: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    data = tmp_path / "data"
    write_release(data / "ml-100k", "ml-100k", dataset)
    monkeypatch.setenv("RECO_DATA_DIR", str(data))
    st.cache_resource.clear()
    st.cache_data.clear()
    yield page_test()
    st.cache_resource.clear()
    st.cache_data.clear()


def csv_of(profile: dict[int, float]) -> bytes:
    frame = pd.DataFrame({"movie_id": list(profile), "rating": list(profile.values())})
    return frame.to_csv(index=False).encode()


def test_5000_ratings_from_a_link_are_kept_listed_in_part_and_still_recommend(
    app: AppTest, dataset: Dataset
) -> None:
    profile = big_profile(dataset, 3_500)
    link = ",".join(f"{m}:{s:g}" for m, s in profile.items())
    assert len(link) <= 40_000
    app.query_params["r"] = link
    app.run()
    assert not app.exception
    assert len(app.session_state[ML100K_RATINGS]) == 3_500
    assert "⭐ My ratings (3500)" in [s.value for s in app.subheader]
    assert len([s for s in app.select_slider if s.key.startswith("mine-")]) == 8  # latest
    assert len([s for s in app.select_slider if s.key.startswith("all-")]) == 200  # by title
    assert any("Showing the first 200 of 3,500" in c.value for c in app.caption)
    assert "🎯 Recommended for you" in [s.value for s in app.subheader]


def test_5000_ratings_from_a_csv_are_kept_and_the_link_says_why_it_cannot(
    app: AppTest, dataset: Dataset
) -> None:
    app.run()
    profile = big_profile(dataset, MAX_RATINGS + 1)
    app.file_uploader(key=keys.UPLOAD).set_value(("all.csv", csv_of(profile), "text/csv")).run()
    assert not app.exception
    kept = app.session_state[ML100K_RATINGS]
    assert len(kept) == MAX_RATINGS and set(kept) < set(profile)
    warnings = " ".join(w.value for w in app.warning)
    assert f"Only the first {MAX_RATINGS} ratings in the file were kept" in warnings
    assert "Too many ratings for the page address" in warnings
    assert "r" not in app.query_params  # no link the app itself would refuse
    assert "🎯 Recommended for you" in [s.value for s in app.subheader]


def test_hidden_films_too_many_for_the_link_are_named_not_dropped_silently(
    app: AppTest, dataset: Dataset
) -> None:
    app.run()
    movies = dataset.movies["movie_id"].tolist()
    hidden = movies  # every film
    assert len(",".join(map(str, hidden))) > MAX_LINK_CHARS  # more than a link holds
    rows = "movie_id,rating,hidden\n" + "".join(f"{m},,yes\n" for m in hidden)
    app.file_uploader(key=keys.UPLOAD).set_value(("hidden.csv", rows.encode(), "text/csv")).run()
    assert not app.exception
    assert app.session_state[per_release(keys.HIDDEN, "ml-100k")] == set(hidden)
    warnings = " ".join(w.value for w in app.warning)
    assert "Too many hidden films for the page address" in warnings
    assert "h" not in app.query_params
    restore = [b for b in app.button if b.key.startswith("unhide-")]
    assert len(restore) == 50  # a page of the list, not thousands of buttons a run
    app.number_input(key=keys.HIDDEN_PAGE).set_value(2).run()
    second = [b.key for b in app.button if b.key.startswith("unhide-")]
    assert len(second) == 50 and not set(second) & {b.key for b in restore}


@pytest.mark.parametrize(
    "params",
    [
        {"dataset": "x" * 10_000},
        {"r": "\x00\x01\x02"},
        {"r": "1:5" + ",1:4" * 10},
        {"unknown": "<script>", "r": "%3Cscript%3E"},
        {"r": "１:５"},  # full-width digits
        {"r": "9" * 500 + ":5"},
    ],
)
def test_garbage_parameters_give_a_page_not_a_crash(app: AppTest, params: dict) -> None:
    for key, value in params.items():
        app.query_params[key] = value
    app.run()
    assert not app.exception
    assert "👋 Quick start" in [s.value for s in app.subheader] or app.session_state[ML100K_RATINGS]
    shown = " ".join(e.value for e in [*app.warning, *app.error, *app.info])
    assert "<script>" not in shown and "\x00" not in shown


@pytest.mark.parametrize("text", ["a" * 100_000, "<script>" * 5_000, "star " * 20_000])
def test_very_long_search_text(app: AppTest, text: str) -> None:
    app.run()
    app.text_input(key=keys.SEARCH).input(text).run()
    assert not app.exception
    assert "<script>" not in " ".join(m.value for m in app.markdown)


def test_markup_in_titles_is_shown_as_text(app: AppTest, dataset: Dataset) -> None:
    hostile = dataset.movies[dataset.movies["title"].isin(HOSTILE_TITLES)]["movie_id"].tolist()
    app.query_params["r"] = ",".join(f"{m}:5" for m in hostile[:3])
    app.run()
    app.text_input(key=keys.SEARCH).input("script").run()
    assert not app.exception
    texts = [m.value for m in [*app.markdown, *app.caption, *app.subheader]]
    for title in HOSTILE_TITLES:
        for text in texts:
            # a title may appear only markdown-escaped: every markup character backslashed
            assert title not in text, (title, text)
    escaped = [t for t in texts if "\\<script\\>" in t]
    assert escaped, "the <script> title is listed, escaped"


def test_no_html_is_ever_rendered_from_data() -> None:
    pages = [ROOT / "streamlit_app.py", *ROOT.glob("app/**/*.py"), *ROOT.glob("reco/**/*.py")]
    source = "\n".join(p.read_text() for p in pages)
    assert "unsafe_allow_html" not in source
    assert not re.search(r"\bst\.html\(|components\.html\(", source)
    # the components: fixed scripts that never write markup, one keeping the ratings in the
    # browser's storage, one bringing a film's page into view
    users = sorted(p.name for p in pages if "components.v2" in p.read_text())
    assert users == ["film.py", "keeper.py"], users
    for name in users:
        script = (ROOT / "app" / "views" / name).read_text()
        assert not re.search(
            r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(", script
        )

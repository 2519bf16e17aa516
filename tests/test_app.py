"""The Streamlit page driven by AppTest: on ml-100k from ../shared/datasets when present,
otherwise on a small synthetic release written in the ml-100k layout."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from conftest import (
    LAZY_SECTIONS,
    ROOT,
    SHARED,
    page_test,
    rating_slider,
    two_taste_dataset,
    write_release,
)
from streamlit.testing.v1 import AppTest

from app import state as keys
from app.state import RATINGS, per_release
from reco import open_recommender

ML100K_RATINGS = per_release(RATINGS, "ml-100k")  # the session key of those ratings


@dataclass(frozen=True)
class Scenario:
    """What to search, rate and expect on the dataset the app runs on."""

    data_dir: Path
    search: str
    found_id: int
    found_title: str
    liked: tuple[int, ...]  # three movies one taste loves
    liked_titles: tuple[str, ...]
    age_group: str  # a group with neighbours of that taste
    nobody: dict[str, list[str]]  # sidebar filters that leave no neighbour
    other: tuple[int, ...] = ()  # three movies of another taste (a friend's, at movie night)


@pytest.fixture(params=["ml-100k", "synthetic"])
def scenario(request: pytest.FixtureRequest, tmp_path: Path) -> Scenario:
    data = tmp_path / "data"
    data.mkdir()
    if request.param == "ml-100k":
        if not (SHARED / "ml-100k.zip").exists():
            pytest.skip("../shared/datasets/ml-100k.zip is not present")
        shutil.copy(SHARED / "ml-100k.zip", data / "ml-100k.zip")
        nobody = {
            keys.per_release("age_groups", "ml-100k"): ["Under 18"],
            keys.per_release("occupations", "ml-100k"): ["retired"],
        }
        trilogy = ("Star Wars", "The Empire Strikes Back", "Return of the Jedi")
        family = (1, 71, 588)  # Toy Story, The Lion King, Beauty and the Beast
        return Scenario(
            data, "star wars", 50, "Star Wars", (50, 172, 181), trilogy, "25-34", nobody, family
        )
    write_release(data / "ml-100k", "ml-100k", two_taste_dataset())
    # the romance fans: none likes science fiction
    nobody = {keys.per_release("age_groups", "ml-100k"): ["35-44"]}
    scifi = ("Alien", "The Matrix", "Dune")
    return Scenario(data, "matrix", 2, "The Matrix", (1, 2, 3), scifi, "18-24", nobody, (5, 6, 7))


@pytest.fixture
def app(scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    monkeypatch.setenv("RECO_DATA_DIR", str(scenario.data_dir))
    # Streamlit's caches outlive an AppTest: clear them so each test uses its own data folder.
    st.cache_resource.clear()
    st.cache_data.clear()
    yield page_test()
    st.cache_resource.clear()
    st.cache_data.clear()


def ratings(app: AppTest) -> dict[int, float]:
    return dict(app.session_state[ML100K_RATINGS])


def table(app: AppTest, column: str) -> pd.DataFrame:
    """The shown table that has ``column`` (tables are not widgets: no key lookup)."""
    for frame in app.dataframe:
        if column in frame.value.columns:
            return frame.value
    raise AssertionError(f"no table with a {column!r} column")


def neighbour_table(app: AppTest) -> pd.DataFrame:
    """The neighbours' table, on its tab (only the shown tab is drawn); back to the first."""
    app.session_state[keys.NEIGHBOUR_TAB] = "Table"
    app.run()
    shown = table(app, "Movies in common")
    app.session_state[keys.NEIGHBOUR_TAB] = "Age group"
    app.run()
    return shown


def recommended(app: AppTest) -> list[int]:
    """The recommended films, in the order listed (each card has its own star slider)."""
    return [int(s.key.removeprefix("rec-")) for s in app.select_slider if s.key.startswith("rec-")]


def slider_ids(app: AppTest, prefix: str) -> list[int]:
    return [
        int(s.key.removeprefix(prefix).split("--")[0])
        for s in app.select_slider
        if s.key.startswith(prefix)
    ]


def subheaders(app: AppTest) -> list[str]:
    return [s.value for s in app.subheader]


def changed(app: AppTest, widget) -> AppTest:
    """A rating or a hidden film changed through ``widget``: only the main column and *My
    ratings* rerun (fragments `main` and `mine`; the search too when it lists the film), not
    the sidebar, which is checked; then the whole page is drawn again, as the browser keeps
    showing it."""
    widget.run()
    assert not app.exception
    assert any(s.value.startswith("⭐ My ratings (") for s in app.subheader)
    assert not app.sidebar.children  # the sidebar was not redrawn
    return app.run()


def rate_by_search(app: AppTest, scenario: Scenario) -> None:
    """Find each liked movie by id-free search and set its slider: as a person would."""
    titles = {
        50: "star wars",
        172: "empire strikes back",
        181: "return of the jedi",
        1: "alien",
        2: "matrix",
        3: "dune",
    }
    for movie_id in scenario.liked:
        app.text_input(key=keys.SEARCH).input(titles[movie_id]).run()
        changed(app, rating_slider(app, "search", movie_id).set_value(5.0))
        assert not app.exception


def test_first_visit_shows_onboarding_and_popular_movies(app: AppTest) -> None:
    app.run()
    assert not app.exception
    assert subheaders(app)[0] == "👋 Quick start"
    assert "🍿 Popular movies" in subheaders(app)
    assert any("Not personalised yet" in c.value for c in app.caption)
    assert len([s for s in app.select_slider if s.key.startswith("quick-")]) >= 6
    # the sidebar starts from the recommender's own (tuned) settings
    assert not any(s.key == "neighbours" for s in app.slider)  # drawn when opened
    app.session_state[keys.ADVANCED_OPEN] = True
    app.run()
    assert app.slider(key=keys.NEIGHBOURS).value == 100
    assert app.slider(key=keys.MIN_RATERS).value == 2


def test_later_runs_draw_nothing_left_from_opening_the_release(app: AppTest) -> None:
    """The progress bar of opening a release is drawn while it opens, not replayed (with its
    removal) on every later run, as Streamlit does with what a cached function drew."""
    app.run()
    app.run()
    assert not app.exception
    assert not app.get("progress") and not app.get("empty")
    top = list(app.main)[1]  # the title's row, then the page
    assert [node.type for node in top.children.values()] == ["title", "button_group"]


def test_search_finds_a_known_title(app: AppTest, scenario: Scenario) -> None:
    app.run()
    app.text_input(key=keys.SEARCH).input(scenario.search.upper()).run()
    assert not app.exception
    assert any(scenario.found_title in m.value for m in app.markdown)
    assert any(s.key == f"search-{scenario.found_id}" for s in app.select_slider)


def test_search_examples_come_from_the_release_and_close_spellings_are_labelled(
    app: AppTest, scenario: Scenario
) -> None:
    from reco import open_recommender

    catalog = open_recommender("ml-100k", data_dir=scenario.data_dir).catalog
    first, second = (catalog.movie(m)["title"].lower() for m in catalog.popular().movie_ids[:2])
    app.run()
    assert app.text_input(key=keys.SEARCH).placeholder == f"e.g. {first}, {second}"
    app.text_input(key=keys.SEARCH).input("alein").run()  # a typo of Alien, in both releases
    captions = [c.value for c in app.caption]
    assert "Similar spellings:" in captions
    assert any(m.value.startswith("**Alien**") for m in app.markdown)


def test_genre_and_year_filters_stay_on_while_their_section_is_closed(
    app: AppTest, scenario: Scenario
) -> None:
    """The filters are drawn when their section is opened; closed, they still apply and are
    named under it."""
    if scenario.search != "star wars":
        pytest.skip("needs a release with films of many genres and years (ml-100k)")
    app.run()
    drawn = lambda: [w.key for w in app.main.multiselect]  # noqa: E731
    assert not drawn()  # closed: not drawn
    app.text_input(key=keys.SEARCH).input("the").run()
    everything = [m.value for m in app.markdown if m.value.startswith("**")]
    app.session_state[keys.SEARCH_FILTERS_OPEN] = True
    app.run()
    genre = app.multiselect(key=keys.per_release(keys.GENRES, "ml-100k")).options[0]
    app.multiselect(key=keys.per_release(keys.GENRES, "ml-100k")).set_value([genre]).run()
    app.session_state[keys.SEARCH_FILTERS_OPEN] = True  # AppTest does not keep it open
    app.run()
    app.slider(key=keys.per_release(keys.YEARS, "ml-100k")).set_value((1990, 1998)).run()
    narrowed = [m.value for m in app.markdown if m.value.startswith("**")]
    assert narrowed and narrowed != everything
    assert all(genre in text for text in narrowed), narrowed
    assert all(re.search(r"\\\(199\d\\\)", text) for text in narrowed), narrowed  # "\(1996\)"
    app.session_state[keys.SEARCH_FILTERS_OPEN] = False
    app.run()
    assert not drawn()  # closed again: not drawn, still on
    assert [m.value for m in app.markdown if m.value.startswith("**")] == narrowed
    assert "Filter by genre and year" in [e.label for e in app.expander]  # a label that stays
    captions = [c.value.replace("\\", "") for c in app.caption]  # markdown source, unescaped
    assert f"Filters on: {genre} · 1990–1998" in captions, captions


def open_neighbour_filters(app: AppTest) -> None:
    """Open the sidebar's section of neighbour filters (drawn when opened; AppTest closes
    expanders again after a widget's run)."""
    app.session_state[keys.NEIGHBOUR_FILTERS_OPEN] = True
    app.run()


def test_neighbour_filters_stay_on_while_their_section_is_closed(
    app: AppTest, scenario: Scenario
) -> None:
    """The age group, gender and occupation filters are drawn when their section is opened;
    closed, they still choose the neighbours, and are named under it."""
    app.run()
    rate_by_search(app, scenario)
    assert not app.sidebar.multiselect  # closed: not drawn
    assert recommended(app) and not app.warning
    open_neighbour_filters(app)
    assert [m.key for m in app.sidebar.multiselect] == [
        keys.per_release("age_groups", "ml-100k"),
        keys.per_release("genders", "ml-100k"),
        keys.per_release("occupations", "ml-100k"),
    ]
    for key, values in scenario.nobody.items():  # groups without anyone of this taste
        open_neighbour_filters(app)
        app.multiselect(key=key).set_value(values).run()
    app.session_state[keys.NEIGHBOUR_FILTERS_OPEN] = False
    app.run()
    assert not app.sidebar.multiselect  # closed again: not drawn, still on
    assert "Age group, gender, occupation" in [e.label for e in app.sidebar.expander]
    captions = [c.value.replace("\\", "") for c in app.sidebar.caption]
    assert "Filters on: " + " · ".join(v[0] for v in scenario.nobody.values()) in captions
    assert "Nobody in the chosen groups" in " ".join(w.value for w in app.warning)


def test_the_link_to_copy_holds_the_ratings_and_settings_sit_under_advanced(
    app: AppTest, scenario: Scenario
) -> None:
    app.run()
    assert not app.code  # nothing rated: no link to copy yet
    assert [e.label for e in app.sidebar.expander] == [
        "MovieLens release: ml-100k (films to 1998)",
        "Age group, gender, occupation",
        "Advanced",
    ]
    rate_by_search(app, scenario)
    expected = "r=" + ",".join(f"{m}:5" for m in sorted(scenario.liked))
    assert any(code.value.endswith(f"?{expected}") for code in app.code)


def test_titles_show_literally_in_labels_and_keep_a_clean_accessible_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A title is data: in a widget's label (also its accessible name) markdown in it stays
    text, and the usual punctuation of titles is left alone."""
    dataset = two_taste_dataset()
    odd = "*Batteries* not_included: [x](javascript:y) $5 $6 :tada:"
    movies = dataset.movies
    movies.loc[movies["movie_id"] == 10, "title"] = odd
    movies.loc[movies["movie_id"] == 9, "title"] = "Star Trek: First Contact"
    write_release(tmp_path / "ml-100k", "ml-100k", dataset)
    monkeypatch.setenv("RECO_DATA_DIR", str(tmp_path))
    st.cache_resource.clear()
    st.cache_data.clear()
    app = page_test()
    app.query_params["r"] = "10:4,9:3"
    app.run()
    assert not app.exception
    labels = {s.key: s.label for s in app.select_slider}
    assert labels["mine-9"].startswith("Star Trek: First Contact (")  # nothing escaped
    odd_label = labels["mine-10"]
    assert odd_label.startswith(
        r"\*Batteries\* not\_included: \[x\](javascript\:y) \$5 \$6 \:tada:"
    ), odd_label
    # every markdown-special character in it is escaped
    assert not re.search(r"(?<!\\)[*_\[\]$]", odd_label), odd_label
    st.cache_resource.clear()
    st.cache_data.clear()


def test_films_link_out_to_their_pages(app: AppTest, scenario: Scenario) -> None:
    app.run()
    rate_by_search(app, scenario)
    cards = [m.value for m in app.markdown if m.value.startswith("**1. ")]
    assert cards and "[IMDb ↗](http" in cards[0]
    app.text_input(key=keys.SEARCH).input(scenario.search).run()
    found = [m.value for m in app.markdown if m.value.startswith(f"**{scenario.found_title}**")]
    assert found and "[IMDb ↗](http" in found[0]


def test_sliders_give_recommendations_that_exclude_rated_movies(
    app: AppTest, scenario: Scenario
) -> None:
    app.run()
    rate_by_search(app, scenario)
    assert ratings(app) == {m: 5.0 for m in scenario.liked}
    assert "🎯 Recommended for you" in subheaders(app)
    shown = recommended(app)
    assert len(shown) >= 1
    assert not set(scenario.liked) & set(shown)
    assert app.query_params["r"] == ",".join(f"{m}:5" for m in sorted(scenario.liked))


def test_slider_back_to_not_rated_removes_the_rating(app: AppTest, scenario: Scenario) -> None:
    app.run()
    rate_by_search(app, scenario)
    first, second = scenario.liked[:2]
    labels = {s.key: s.label for s in app.select_slider}
    assert labels[f"mine-{first}"] != labels[f"mine-{second}"]  # each row is titled
    changed(app, rating_slider(app, "mine", first).set_value("Not rated"))
    assert first not in ratings(app)
    assert f"mine-{first}" not in {s.key for s in app.select_slider}
    changed(app, rating_slider(app, "mine", second).set_value("Not rated"))
    assert second not in ratings(app)
    assert "🍿 Popular movies" in subheaders(app)  # back under three ratings


def test_age_group_filter_changes_the_neighbours(app: AppTest, scenario: Scenario) -> None:
    app.run()
    rate_by_search(app, scenario)
    before = neighbour_table(app)
    open_neighbour_filters(app)
    app.multiselect(key=keys.per_release("age_groups", "ml-100k")).set_value(
        [scenario.age_group]
    ).run()
    assert not app.exception
    after = neighbour_table(app)
    assert set(after["Age group"]) == {scenario.age_group}
    captions = [c.value.replace("\\", "") for c in app.caption]  # markdown source, unescaped
    shares = [c for c in captions if c.startswith("Your neighbours vs everyone")]
    assert shares and f"{scenario.age_group} 100% vs " in shares[0]  # the chart, as text
    assert list(after["Neighbour"]) != list(before["Neighbour"]) or set(before["Age group"]) == {
        scenario.age_group
    }


def test_link_with_ratings_restores_them(app: AppTest, scenario: Scenario) -> None:
    app.query_params["r"] = ",".join(f"{m}:4.5" for m in scenario.liked)
    app.run()
    assert not app.exception
    assert ratings(app) == {m: 4.5 for m in scenario.liked}
    assert "🎯 Recommended for you" in subheaders(app)
    assert not app.warning


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("<script>alert(1)</script>", "1 part of the link is not a movie:stars pair"),
        ("50:5," * 20_000, "too long"),
        ("99999:5,123456789:4", "unknown movie id"),
        ("1:9,2:-1", "1 part of the link is not a movie:stars pair"),
        ("1:0.1", "outside 0.5–5 stars"),
        ("[x](javascript:alert(1)):5", "is not a movie:stars pair"),
    ],
)
def test_hostile_links_show_a_message_not_a_crash(app: AppTest, link: str, expected: str) -> None:
    app.query_params["r"] = link
    app.run()
    assert not app.exception
    messages = " ".join(w.value for w in app.warning)
    assert expected in messages
    assert "<script>" not in messages and "javascript" not in messages


def test_link_keeps_valid_ratings_beside_bad_ones(app: AppTest, scenario: Scenario) -> None:
    good = scenario.liked[0]
    app.query_params["r"] = f"{good}:4,oops,99999:5,{scenario.liked[1]}:7"
    app.run()
    assert ratings(app) == {good: 4.0}
    assert len(app.warning) == 3


def test_unknown_dataset_in_link_falls_back(app: AppTest) -> None:
    app.query_params["dataset"] = "../../etc/passwd"
    app.run()
    assert not app.exception
    warned = [w.value for w in app.warning]
    assert any("does not offer" in w for w in warned)
    assert not any("etc" in w or "passwd" in w for w in warned)  # never the link's own text


@pytest.mark.parametrize("linked", ["ml-latest-small", "ml-latest-smal", "../../etc"])
def test_a_link_of_a_release_not_offered_moves_no_rating_and_stays_in_the_address(
    app: AppTest, monkeypatch: pytest.MonkeyPatch, linked: str
) -> None:
    monkeypatch.setenv("RECO_RELEASES", "ml-100k")
    app.query_params["dataset"] = linked
    app.query_params["r"] = "1:4.5,2:5"
    app.query_params["h"] = "3"
    app.run()
    assert not app.exception
    assert ratings(app) == {} and not app.session_state[per_release(keys.HIDDEN, "ml-100k")]
    warned = " ".join(w.value for w in app.warning)
    assert "does not offer" in warned and "stays in the address" in warned
    assert (linked == "ml-latest-small") == ("ml-latest-small" in warned)
    assert app.query_params["dataset"] == linked and app.query_params["r"] == "1:4.5,2:5"
    app.run()  # a later run keeps the address as it came
    assert app.query_params["r"] == "1:4.5,2:5"


def test_empty_state_offers_to_widen_the_filter(app: AppTest, scenario: Scenario) -> None:
    app.run()
    rate_by_search(app, scenario)
    for key, values in scenario.nobody.items():
        open_neighbour_filters(app)
        app.multiselect(key=key).set_value(values).run()
    assert not app.exception
    warning = " ".join(w.value for w in app.warning)
    assert "Nobody in the chosen groups shares your ratings" in warning
    app.button(key=keys.WIDEN).click().run()
    assert not app.exception
    assert "Age group, gender, occupation" in [e.label for e in app.sidebar.expander]
    open_neighbour_filters(app)
    assert all(app.multiselect(key=key).value == [] for key in scenario.nobody)
    assert "Nobody" not in " ".join(w.value for w in app.warning)
    assert len(recommended(app)) >= 1


def test_too_strict_minimum_raters_says_what_to_change(app: AppTest, scenario: Scenario) -> None:
    app.run()
    rate_by_search(app, scenario)
    app.session_state[keys.ADVANCED_OPEN] = True  # the sliders are drawn when it is opened
    app.run()
    app.slider(key=keys.NEIGHBOURS).set_value(5).run()
    app.slider(key=keys.MIN_RATERS).set_value(10).run()
    assert not app.exception
    assert any("Lower “Minimum raters”" in w.value for w in app.warning)
    app.session_state[keys.ADVANCED_OPEN] = False  # closed: the settings are not drawn, still on
    app.run()
    assert not any(s.key in ("neighbours", "min_raters") for s in app.slider)
    assert any("Lower “Minimum raters”" in w.value for w in app.warning)


def test_csv_download_then_upload_restores(app: AppTest, scenario: Scenario) -> None:
    app.run()
    rate_by_search(app, scenario)
    csv = b"movie_id,rating\n" + b"".join(f"{m},{3.5}\n".encode() for m in scenario.liked)
    app.file_uploader(key=keys.UPLOAD).set_value(("mine.csv", csv, "text/csv")).run()
    assert not app.exception
    assert ratings(app) == {m: 3.5 for m in scenario.liked}
    assert any("Restored 3 ratings" in s.value for s in app.success)


def test_only_the_latest_uploads_messages_are_shown(app: AppTest, scenario: Scenario) -> None:
    app.run()
    csv = b"movie_id,rating\n" + b"".join(f"{m},4\n".encode() for m in scenario.liked)
    app.file_uploader(key=keys.UPLOAD).set_value(("good.csv", csv, "text/csv")).run()
    assert any("Restored 3 ratings" in s.value for s in app.success)
    app.file_uploader(key=keys.UPLOAD).set_value(("bad.csv", b"no,columns\n1,2\n", "text/csv"))
    app.run()
    assert not app.success  # the earlier file's "Restored" is gone
    assert any("movie_id column" in w.value for w in app.warning)
    assert ratings(app) == {m: 4.0 for m in scenario.liked}


def test_bad_csv_keeps_current_ratings(app: AppTest, scenario: Scenario) -> None:
    app.run()
    rate_by_search(app, scenario)
    app.file_uploader(key=keys.UPLOAD).set_value(("bad.csv", b"\x00\xff garbage", "text/csv")).run()
    assert not app.exception
    assert ratings(app) == {m: 5.0 for m in scenario.liked}
    assert any("current ratings are kept" in w.value for w in app.warning)


def test_why_explains_a_recommendation(app: AppTest, scenario: Scenario) -> None:
    app.run()
    rate_by_search(app, scenario)
    why = table(app, "Their stars")
    assert len(why) >= 2
    assert (why["Their stars"] >= 0.5).all()
    verdicts = dict(zip(why["Their stars"], why["Verdict"], strict=True))
    assert all(v == "disliked it" for stars, v in verdicts.items() if stars < 3)
    assert all(v == "liked it" for stars, v in verdicts.items() if stars >= 4)
    assert app.metric[0].label == "Neighbours who rated it"
    assert app.metric[2].value.startswith("≈ ")
    first = recommended(app)[0]
    changed(app, rating_slider(app, "why", first).set_value(4.0))  # rated from the why panel
    assert ratings(app)[first] == 4.0
    assert first not in recommended(app)


def test_each_recommendation_predicts_stars_and_explains_itself_in_your_terms(
    app: AppTest, scenario: Scenario
) -> None:
    app.run()
    rate_by_search(app, scenario)
    shown = recommended(app)
    cards = [m.value for m in app.markdown if re.match(r"\*\*\d+\. ", m.value)]
    assert len(cards) == len(shown)
    values = [
        float(re.search(r"\*\*≈ (\d\.\d)\s★\*\* predicted for you", c).group(1)) for c in cards
    ]
    assert all(0.5 <= v <= 5 for v in values)
    assert all(re.search(r"👍 \d+ of your \d+ neighbours liked it", c) for c in cards)
    # the card's tooltip has all of it: the verdicts, and those who liked it agree with you on
    # your own films, named (the trilogy here)
    whys = [m.proto.help for m in app.markdown if re.match(r"\*\*\d+\. ", m.value)]
    assert all(re.search(r"\d+ of your \d+ neighbours rated it: 👍 \d+ liked", w) for w in whys)
    assert any(
        f"*{title} " in w and "5\u00a0★ like you" in w
        for w in whys
        for title in scenario.liked_titles
    )
    why = [c.value for c in app.caption if "neighbours rated it: 👍" in c.value]
    assert len(why) == 1  # and the "why" panel's film


def test_rate_a_recommended_film_in_place_and_it_moves_to_my_ratings(
    app: AppTest, scenario: Scenario
) -> None:
    app.run()
    rate_by_search(app, scenario)
    first = recommended(app)[0]
    changed(app, rating_slider(app, "rec", first).set_value(3.5))
    assert not app.exception
    assert ratings(app)[first] == 3.5
    assert first not in recommended(app)
    assert rating_slider(app, "mine", first).value == 3.5
    assert f"{first}:3.5" in app.query_params["r"]


def test_hide_a_recommendation_then_restore_it_and_it_travels_in_the_link(
    app: AppTest, scenario: Scenario
) -> None:
    app.run()
    rate_by_search(app, scenario)
    first = recommended(app)[0]
    changed(app, app.button(key=keys.hide_key("rec", first)).click())
    assert not app.exception
    assert first not in recommended(app)
    assert first not in ratings(app)
    assert app.query_params["h"] == str(first)
    assert any(e.label == "Not interested (1)" for e in app.expander)
    changed(app, app.button(key=keys.unhide_key(first)).click())
    assert first in recommended(app)
    assert "h" not in app.query_params


def test_hidden_films_come_back_from_a_link_and_from_a_csv(
    app: AppTest, scenario: Scenario
) -> None:
    app.query_params["r"] = ",".join(f"{m}:5" for m in scenario.liked)
    app.run()
    first = recommended(app)[0]
    fresh = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    fresh.query_params["r"] = app.query_params["r"]
    fresh.query_params["h"] = f"{first},oops"
    fresh.run()
    assert first not in recommended(fresh)
    assert any("1 hidden film in the link" in w.value for w in fresh.warning)
    csv = (
        b"movie_id,rating,hidden\n"
        + b"".join(f"{m},4,\n".encode() for m in scenario.liked)
        + f"{first},,yes\n".encode()
    )
    app.file_uploader(key=keys.UPLOAD).set_value(("mine.csv", csv, "text/csv")).run()
    assert ratings(app) == {m: 4.0 for m in scenario.liked}
    assert first not in recommended(app)
    assert app.query_params["h"] == str(first)


def test_quick_rate_offers_other_films_and_popular_films_are_rated_in_place(
    app: AppTest,
) -> None:
    app.run()
    first_set = slider_ids(app, "quick-")
    if len(first_set) < 8:  # QUICK_RATE
        pytest.skip("this release has fewer films than one quick-rate set")
    assert not slider_ids(app, "pop-")  # the popular list is drawn when opened
    app.session_state[keys.POPULAR_OPEN] = True
    app.run()
    popular = slider_ids(app, "pop-")
    assert popular and not set(popular) & set(first_set)  # the list does not repeat the set
    app.button(key=keys.OTHER_FILMS).click().run()
    second_set = slider_ids(app, "quick-")
    assert second_set and not set(second_set) & set(first_set)  # (a small release has fewer)
    popular = slider_ids(app, "pop-")
    assert not set(popular) & set(second_set)
    changed(app, rating_slider(app, "pop", popular[0]).set_value(4.5))
    assert ratings(app) == {popular[0]: 4.5}
    app.session_state[keys.POPULAR_OPEN] = True  # AppTest does not keep an expander open
    app.run()
    changed(app, app.button(key=keys.hide_key("pop", popular[1])).click())
    app.session_state[keys.POPULAR_OPEN] = True
    app.run()
    assert popular[1] not in slider_ids(app, "pop-")


# --------------------------------------------------------------------------- choosing a release


def release_box(app: AppTest):
    """The release's select box, in a sidebar section drawn when opened."""
    app.session_state[keys.RELEASE_OPEN] = True
    app.run()
    return app.sidebar.selectbox(key=keys.RELEASE)


def test_every_release_is_offered_with_what_it_offers(app: AppTest, scenario: Scenario) -> None:
    app.run()
    assert not app.sidebar.selectbox  # drawn when opened; the section names the release
    assert app.sidebar.expander[0].label == "MovieLens release: ml-100k (films to 1998)"
    release = release_box(app)
    assert release.options == [
        "ml-100k (films to 1998)",
        "ml-1m (films to 2000)",
        "ml-latest-small (films to 2018)",
        "ml-25m (films to 2019)",
        "ml-32m (films to 2023)",
    ]
    captions = " ".join(c.value for c in app.sidebar.caption)
    assert "943 users, 100,000 ratings of 1,682 films up to 1998" in captions.replace("\\", "")
    assert "on this machine" in captions
    release.set_value("ml-32m").run()
    captions = " ".join(c.value for c in app.sidebar.caption).replace("\\", "")
    assert "200,948 users" in captions and "no demographics" in captions
    assert app.sidebar.expander[0].label == "MovieLens release: ml-32m (films to 2023)"


def test_an_operator_can_restrict_the_releases_offered(
    app: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECO_RELEASES", "ml-100k, nonsense,ml-latest-small")
    app.run()
    assert not app.exception
    assert release_box(app).options == [
        "ml-100k (films to 1998)",
        "ml-latest-small (films to 2018)",
    ]


def test_a_missing_release_offline_names_the_file_and_keeps_the_ratings(
    app: AppTest, scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reco.datasets.releases

    real = reco.datasets.download_dataset

    def offline(name: str, folder: Path, **options: object) -> Path:  # a refused connection
        remote = reco.datasets.RemoteDataset(f"http://127.0.0.1:9/{name}.zip", "0" * 32)
        return real(name, folder, progress=options.get("progress"), remote=remote, timeout=2)

    monkeypatch.setattr(reco.datasets.releases, "download_dataset", offline)
    liked = ",".join(f"{m}:5" for m in scenario.liked)
    app.query_params["r"] = liked
    app.run()
    release_box(app).set_value("ml-1m").run()
    assert not app.exception
    errors = " ".join(e.value for e in app.error).replace("\\", "")
    assert "Could not download ml-1m" in errors and "ml-1m.zip" in errors
    shown = " ".join(e.value for e in (*app.error, *app.info, *app.warning, *app.caption))
    assert str(scenario.data_dir) not in shown.replace("\\", "")  # no server path
    release_box(app).set_value("ml-100k").run()
    assert f"My ratings ({len(scenario.liked)})" in " ".join(h.value for h in app.subheader)


def test_a_broken_release_names_no_server_path_or_cell(app: AppTest, scenario: Scenario) -> None:
    (scenario.data_dir / "ml-1m.zip").write_bytes(b"PK\x03\x04 not really a zip")
    app.run()
    release_box(app).set_value("ml-1m").run()
    assert not app.exception
    errors = " ".join(e.value for e in app.error).replace("\\", "")
    assert "The files of ml-1m on this server cannot be read" in errors
    assert str(scenario.data_dir) not in errors and "zip archive" not in errors


def test_a_release_that_cannot_open_leaves_the_person_on_the_one_they_had(
    app: AppTest, scenario: Scenario
) -> None:
    """The message, then the release they had with their ratings and recommendations; the
    choice stays in the address (a reload tries it again: once its files are there it
    opens, the ratings of the other still in the link); *Stay on* goes back to the one that
    works."""
    (scenario.data_dir / "ml-1m.zip").write_bytes(b"PK\x03\x04 not really a zip")
    liked = ",".join(f"{m}:5" for m in scenario.liked)
    app.query_params["r"] = liked
    app.run()
    release_box(app).set_value("ml-1m").run()
    assert not app.exception
    errors = " ".join(e.value for e in app.error).replace("\\", "")
    assert "The files of ml-1m on this server cannot be read" in errors
    said = " ".join(i.value for i in app.info)
    assert "Showing ml-100k meanwhile" in said, said
    assert f"⭐ My ratings ({len(scenario.liked)})" in subheaders(app)
    assert "🎯 Recommended for you" in subheaders(app)
    assert app.query_params["dataset"] in ("ml-1m", ["ml-1m"])
    link = {key: app.query_params[key] for key in app.query_params}
    assert keys.other_param("r", "ml-100k") in link and "r" not in link, link

    reload = page_test()  # the same address, later: ml-1m still broken
    for key, value in link.items():
        reload.query_params[key] = value
    reload.run()
    assert not reload.exception
    assert "Showing ml-100k meanwhile" in " ".join(i.value for i in reload.info)
    assert f"⭐ My ratings ({len(scenario.liked)})" in subheaders(reload)

    (scenario.data_dir / "ml-1m.zip").unlink()  # the operator puts the release in place
    write_release(scenario.data_dir / "ml-1m", "ml-1m", two_taste_dataset())
    reload.button(key=keys.RETRY_RELEASE).click().run()
    assert not reload.exception and not reload.error, [e.value for e in reload.error]
    assert release_box(reload).value == "ml-1m"
    assert reload.query_params[keys.other_param("r", "ml-100k")] in (liked, [liked])

    app.button(key=keys.STAY).click().run()
    assert release_box(app).value == "ml-100k" and not app.error
    assert "dataset" not in app.query_params and app.query_params["r"] in (liked, [liked])


def test_a_release_chosen_by_link_opens_and_explains_missing_demographics(
    app: AppTest, scenario: Scenario
) -> None:
    write_release(scenario.data_dir / "ml-latest-small", "csv", two_taste_dataset())
    app.query_params["dataset"] = "ml-latest-small"
    app.run()
    assert not app.exception
    assert release_box(app).value == "ml-latest-small"
    assert any("has no demographics" in i.value for i in app.sidebar.info)
    app.text_input(key=keys.SEARCH).input("matrix").run()
    assert "The Matrix" in " ".join(m.value for m in app.markdown)
    assert app.query_params["dataset"] == "ml-latest-small"


def test_a_damaged_server_index_names_the_command_and_keeps_the_ratings(
    app: AppTest, scenario: Scenario, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from qdrant_client import QdrantClient

    from reco import open_recommender

    url = f"file://{tmp_path / 'qdrant'}"
    built = open_recommender("ml-100k", data_dir=scenario.data_dir, qdrant_url=url)
    movies = f"ml-100k-{built.manifest.fingerprint}-movies"
    built.store.close()
    client = QdrantClient(path=str(tmp_path / "qdrant"))
    client.delete_collection(movies)
    client.close()
    monkeypatch.setenv("QDRANT_URL", url)
    liked = ",".join(f"{m}:5" for m in scenario.liked)
    app.query_params["r"] = liked
    app.run()
    assert not app.exception
    message = " ".join(e.value for e in app.error).replace("\\", "")
    assert "no catalog of films" in message
    assert "python -m reco build --dataset ml-100k" in message
    assert app.query_params["r"] == liked


def test_a_damaged_embedded_index_is_rebuilt_and_the_ratings_kept(
    app: AppTest, scenario: Scenario
) -> None:
    from reco import open_recommender

    built = open_recommender("ml-100k", data_dir=scenario.data_dir)
    folder = built.store.index_path(built.manifest.fingerprint)
    built.store.close()
    shutil.rmtree(folder / "catalog")
    liked = ",".join(f"{m}:5" for m in scenario.liked)
    app.query_params["r"] = liked
    app.run()
    assert not app.exception and not app.error
    assert f"My ratings ({len(scenario.liked)})" in " ".join(h.value for h in app.subheader)
    assert "🎯 Recommended for you" in subheaders(app)
    assert len(recommended(app)) >= 1
    assert (folder / "catalog" / "movies.parquet").is_file()  # rebuilt whole


def test_closed_sections_cost_nothing(app: AppTest, scenario: Scenario) -> None:
    for section in LAZY_SECTIONS:
        app.session_state[section] = False
    app.query_params["r"] = ",".join(f"{m}:5" for m in scenario.liked)
    app.run()
    assert not app.exception
    assert recommended(app)  # the page itself is all there
    assert not app.dataframe  # no neighbour tables built
    assert not app.get("download_button")  # no CSV written
    app.session_state[keys.WHY_OPEN] = True
    app.run()
    assert table(app, "Their stars") is not None


def movie_night(app: AppTest) -> AppTest:
    app.button_group(key=keys.VIEW).set_value("Movie night").run()
    return app


def add_person(app: AppTest, person: str, link: str) -> AppTest:
    app.text_input(key=keys.MEMBER_NAME).input(person)
    app.text_input(key=keys.MEMBER_LINK).input(link)
    submit = next(b for b in app.button if b.key.startswith("FormSubmitter:add-member"))
    return submit.click().run()


def group_cards(app: AppTest) -> list[str]:
    return [m.value for m in app.markdown if re.match(r"\*\*\d+\. ", m.value)]


def test_movie_night_from_two_pasted_links(app: AppTest, scenario: Scenario) -> None:
    app.run()
    movie_night(app)
    assert not app.exception
    assert "Add at least two people" in app.info[0].value
    mine = ",".join(f"{m}:5" for m in scenario.liked)
    theirs = ",".join(f"{m}:4.5" for m in scenario.other)
    add_person(app, "Ann <b>", f"http://localhost:8501/?r={mine}")
    add_person(app, "Bob", f"http://localhost:8501/?r={theirs}&h={scenario.found_id}")
    assert not app.exception
    summaries = [m.value for m in app.markdown if " · " in m.value and "from a shared" in m.value]
    assert summaries[0] == "**Ann \\<b\\>** · 3 ratings from a shared link"  # typed, escaped
    assert summaries[1].startswith("**Bob** · 3 ratings from a shared link, 1 film not")
    cards = group_cards(app)
    recommender = open_recommender("ml-100k", data_dir=scenario.data_dir)
    expected = recommender.recommend_group(
        [dict.fromkeys(scenario.liked, 5.0), dict.fromkeys(scenario.other, 4.5)],
        hidden=[scenario.found_id],
    )
    assert len(cards) == len(expected.items) > 0
    for rank, (card, item) in enumerate(zip(cards, expected.items, strict=True), 1):
        assert card.startswith(f"**{rank}. {md_escape(item.display_title)}**")
    for card in cards:  # each person's predicted stars on every film
        assert re.search(r"Ann \\<b\\> \*\*≈\u00a0\d\.\d\u00a0★\*\*", card)
        assert re.search(r"Bob \*\*≈\u00a0\d\.\d\u00a0★\*\*", card)
    titles = "".join(cards)
    assert f"{md_escape(scenario.found_title)}" not in titles  # Bob is not interested in it
    assert ratings(app) == {}  # a friend's ratings never become the person's own


def test_a_bad_link_is_reported_and_the_other_people_are_kept(
    app: AppTest, scenario: Scenario
) -> None:
    app.query_params["r"] = ",".join(f"{m}:5" for m in scenario.liked)
    app.run()
    movie_night(app)
    app.button(key=keys.ADD_ME).click().run()
    add_person(app, "Bob", "http://localhost:8501/?dataset=ml-latest-small&r=1:5")
    assert [w.value for w in app.warning] == [
        "Bob was not added: no usable ratings.",
        "The link holds ratings of ml-latest-small, not ml-100k; none were used.",
    ]
    add_person(app, "Cy", "not a link at all")
    assert "Cy was not added" in app.warning[0].value
    theirs = ",".join(f"{m}:4.5" for m in scenario.other)
    add_person(app, "Dee", f"?r={theirs},99999:5")
    assert not app.warning
    people = [
        m.value.split(" · ")[0]
        for m in app.markdown
        if m.value.startswith("**") and " rating" in m.value and " · " in m.value
    ]
    assert people[:2] == ["**Me**", "**Dee**"]
    assert "⚠ 1 unknown movie id in the link was ignored (99999)." in [c.value for c in app.caption]
    assert group_cards(app)
    app.button(key=keys.remove_member_key(1)).click().run()
    assert "Add at least two people" in app.info[0].value


def test_movie_night_follows_my_ratings_and_the_rule(app: AppTest, scenario: Scenario) -> None:
    app.query_params["r"] = ",".join(f"{m}:5" for m in scenario.liked)
    app.run()
    movie_night(app)
    app.button(key=keys.ADD_ME).click().run()
    theirs = ",".join(f"{m}:4.5" for m in scenario.other)
    add_person(app, "Bob", f"?r={theirs}")
    app.selectbox(key=keys.GROUP_RULE).set_value("least-misery").run()
    assert not app.exception and group_cards(app)
    app.selectbox(key=keys.GROUP_RULE).set_value("average").run()
    # the page shows what the library recommends for the same people and rule
    recommender = open_recommender("ml-100k", data_dir=scenario.data_dir)
    expected = recommender.recommend_group(
        [dict.fromkeys(scenario.liked, 5.0), dict.fromkeys(scenario.other, 4.5)], rule="average"
    )
    cards = group_cards(app)
    first = expected.items[0]
    assert cards[0].startswith(f"**1. {md_escape(first.display_title)}**")
    # rating the group's first film as "me" takes it off the group's list
    app.session_state[ML100K_RATINGS][first.movie_id] = 4.0
    app.run()
    assert not any(md_escape(first.display_title) in card for card in group_cards(app))


def md_escape(text: str) -> str:
    """A title as the page writes it in markdown (special characters escaped)."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$:])", r"\\\1", text)


def test_my_ratings_shows_the_latest_and_lists_them_all(app: AppTest, scenario: Scenario) -> None:
    """A long profile: the latest ratings inline, newest first; all of them by title in a list
    drawn when opened, where a change counts like anywhere else."""
    recommender = open_recommender("ml-100k", data_dir=scenario.data_dir)
    titles = recommender.catalog.titles()
    films = sorted(titles)[:10]
    if len(films) < 10:
        pytest.skip("this release has fewer than ten films")
    app.query_params["r"] = ",".join(f"{m}:4" for m in films)
    app.run()
    assert not app.exception
    assert slider_ids(app, "mine-") == films[::-1][:8]  # the link's order: last ones first
    assert any("The 8 you rated last; all 10 below" in c.value for c in app.caption)
    assert slider_ids(app, "all-") == sorted(films, key=lambda m: titles[m])
    changed(app, rating_slider(app, "all", films[0]).set_value(2.5))
    assert ratings(app)[films[0]] == 2.5
    changed(app, rating_slider(app, "all", films[1]).set_value("Not rated"))
    assert films[1] not in ratings(app)
    assert "⭐ My ratings (9)" in subheaders(app)
    app.session_state[keys.ALL_RATINGS_OPEN] = False
    app.run()
    assert not slider_ids(app, "all-")  # closed: not drawn


def test_a_change_reruns_the_search_only_when_it_lists_the_film(
    app: AppTest, scenario: Scenario
) -> None:
    app.run()
    rate_by_search(app, scenario)  # the last one rated is still listed by the search
    last = scenario.liked[-1]
    rating_slider(app, "mine", last).set_value(3.0).run()  # changed under My ratings
    assert "🔎 Find movies to rate" in subheaders(app)  # the search reran: it lists the film
    assert rating_slider(app, "search", last).value == 3.0
    assert not app.sidebar.children
    app.run()
    first = scenario.liked[0]
    rating_slider(app, "mine", first).set_value(2.0).run()  # not listed by the search
    assert "🔎 Find movies to rate" not in subheaders(app)
    assert any(s.startswith("⭐ My ratings (") for s in subheaders(app))
    assert ratings(app)[first] == 2.0


def test_a_csv_of_another_release_is_refused_by_its_column_or_its_titles(
    app: AppTest, scenario: Scenario
) -> None:
    app.run()
    rate_by_search(app, scenario)
    before = ratings(app)
    other = b"movie_id,title,rating,release\n1,Toy Story (1995),5,ml-latest-small\n"
    app.file_uploader(key=keys.UPLOAD).set_value(("other.csv", other, "text/csv")).run()
    assert ratings(app) == before
    assert any("ratings of ml-latest-small, not ml-100k" in w.value for w in app.warning)
    titled = b"movie_id,title,rating\n" + b"".join(
        f"{m},Some Other Film {m} (2001),4\n".encode() for m in scenario.liked
    )
    app.file_uploader(key=keys.UPLOAD).set_value(("titled.csv", titled, "text/csv")).run()
    assert ratings(app) == before
    assert any("from another release" in w.value for w in app.warning)


def test_a_restore_keeps_what_the_file_does_not_hold_and_can_be_undone(
    app: AppTest, scenario: Scenario
) -> None:
    app.run()
    rate_by_search(app, scenario)
    before = ratings(app)
    hidden_only = f"movie_id,rating,hidden\n{scenario.other[0]},,yes\n".encode()
    app.file_uploader(key=keys.UPLOAD).set_value(("hidden.csv", hidden_only, "text/csv")).run()
    assert ratings(app) == before  # a file of hidden films alone keeps the ratings
    assert app.session_state[per_release(keys.HIDDEN, "ml-100k")] == {scenario.other[0]}
    one = f"movie_id,rating\n{scenario.other[1]},4\n".encode()
    app.file_uploader(key=keys.UPLOAD).set_value(("one.csv", one, "text/csv")).run()
    assert ratings(app) == {scenario.other[1]: 4.0}
    assert any("in place of your 3 earlier ones" in s.value for s in app.success)
    app.button(key=keys.UNDO_RESTORE).click().run()
    assert not app.exception
    assert ratings(app) == before  # back as they were before that file
    assert any("from before the file are back" in s.value for s in app.success)
    assert app.query_params["r"] == ",".join(f"{m}:{before[m]:g}" for m in sorted(before))


def test_every_releases_ratings_survive_a_switch_and_a_reload(
    app: AppTest, scenario: Scenario
) -> None:
    write_release(scenario.data_dir / "ml-latest-small", "csv", two_taste_dataset())
    app.run()
    rate_by_search(app, scenario)
    mine = ratings(app)
    release_box(app).set_value("ml-latest-small").run()
    app.text_input(key=keys.SEARCH).input("matrix").run()
    changed(app, rating_slider(app, "search", 2).set_value(4.5))
    assert app.query_params["dataset"] == "ml-latest-small"
    assert app.query_params["r"] == "2:4.5"
    assert app.query_params[keys.other_param("r", "ml-100k")] == ",".join(
        f"{m}:{mine[m]:g}" for m in sorted(mine)
    )
    fresh = page_test()  # a reload: a new session from the address alone
    for key, value in dict(app.query_params).items():
        fresh.query_params[key] = value
    fresh.run()
    assert not fresh.exception
    other = per_release(RATINGS, "ml-latest-small")
    assert fresh.session_state[other] == {2: 4.5}
    release_box(fresh).set_value("ml-100k").run()
    assert not fresh.exception
    assert fresh.session_state[ML100K_RATINGS] == mine  # restored when it opens
    assert fresh.query_params["r"] == app.query_params[keys.other_param("r", "ml-100k")]
    assert fresh.query_params[keys.other_param("r", "ml-latest-small")] == "2:4.5"


def test_a_failed_download_is_tried_once_and_remembered_for_the_next_visitors(
    app: AppTest, scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reco.datasets.releases

    attempts: list[str] = []

    def offline(name: str, folder: Path, **options: object) -> Path:
        attempts.append(name)
        raise reco.datasets.DatasetUnavailable(f"Could not download {name} (offline).")

    monkeypatch.setattr(reco.datasets.releases, "download_dataset", offline)
    app.run()
    release_box(app).set_value("ml-1m").run()
    assert "Could not download ml-1m" in " ".join(e.value for e in app.error).replace("\\", "")
    visitor = page_test()  # another person, moments later
    visitor.query_params["dataset"] = "ml-1m"
    visitor.run()
    assert not visitor.exception
    said = " ".join(e.value for e in visitor.error).replace("\\", "")
    assert "Could not download ml-1m" in said
    assert attempts == ["ml-1m"]  # one attempt, not one per visitor


def browser_answers(app: AppTest, params: dict[str, str] | str, storage: bool = True) -> None:
    """What the keeper component reports from the browser's storage (its state, as the
    browser sets it after the first run)."""
    text = params if isinstance(params, str) else json.dumps({"params": params})
    app.session_state[keys.KEEPER] = {"kept": {"text": text, "storage": storage}}


def test_ratings_kept_in_the_browser_come_back_on_a_visit_without_a_link(
    app: AppTest, scenario: Scenario
) -> None:
    liked = ",".join(f"{m}:5" for m in scenario.liked)
    app.run()
    assert ratings(app) == {}
    browser_answers(app, {"r": liked, "h": str(scenario.other[0]) if scenario.other else ""})
    app.run()
    assert not app.exception
    assert ratings(app) == {m: 5.0 for m in scenario.liked}
    assert app.query_params["r"] in (liked, [liked])
    assert any("Kept in this browser" in c.value for c in app.caption)
    assert app.button(key=keys.FORGET)


def test_a_link_of_other_ratings_asks_which_to_keep(app: AppTest, scenario: Scenario) -> None:
    liked = ",".join(f"{m}:5" for m in scenario.liked)
    app.query_params["r"] = f"{scenario.liked[0]}:2"
    app.run()
    browser_answers(app, {"r": liked})
    app.run()
    assert ratings(app) == {scenario.liked[0]: 2.0}  # nothing replaced before the person says
    assert any("This browser keeps other ratings" in i.value for i in app.info)
    app.button(key=keys.USE_KEPT).click().run()
    assert ratings(app) == {m: 5.0 for m in scenario.liked}
    assert not any("This browser keeps other ratings" in i.value for i in app.info)


@pytest.mark.parametrize(
    "kept",
    [
        "{not json",
        json.dumps([1, 2]),
        json.dumps({"params": {"r": 5}}),
        json.dumps({"params": {"dataset": "../../etc", "r": "1:5"}}),
        json.dumps({"params": {"x-evil": "1:5"}}),
        "[" * 100_000,
    ],
)
def test_what_a_browser_kept_is_checked_before_it_is_used(
    app: AppTest, scenario: Scenario, kept: str
) -> None:
    app.run()
    browser_answers(app, kept)
    app.run()
    assert not app.exception
    assert ratings(app) == {}


def test_the_view_choices_and_movie_night_come_back_from_the_browser(
    app: AppTest, scenario: Scenario
) -> None:
    from reco.filters import FILTERS

    liked = ",".join(f"{m}:5" for m in scenario.liked)
    other = ",".join(f"{m}:5" for m in scenario.other) or liked
    ages = FILTERS[0]  # age groups
    people = [
        {"name": "Me", "source": "me", "r": "", "h": ""},
        {"name": "Ann", "source": "link", "r": other, "h": ""},
        {"name": "<b>x</b>" * 20, "source": "link", "r": other},  # a name too long
    ]
    chosen = {
        keys.VIEW: "Movie night",
        keys.LIMIT: 20,
        keys.SEARCH: "star",
        "filters": {"ml-100k": {ages.keyword: ["not a value", scenario.age_group]}},
        "members": {"ml-100k": people},
    }
    app.run()
    browser_answers(app, json.dumps({"params": {"r": liked}, "prefs": chosen}))
    app.run()
    app.run()
    assert not app.exception
    assert app.session_state[keys.VIEW] == "Movie night"
    assert app.session_state[keys.LIMIT] == 20 and app.session_state[keys.SEARCH] == "star"
    group = app.session_state[per_release(keys.MEMBERS, "ml-100k")]
    assert [m.name for m in group] == ["Me", "Ann"]
    assert app.session_state[keys.filter_key(ages, "ml-100k")] == [scenario.age_group]


@pytest.mark.parametrize(
    "chosen",
    [
        {keys.VIEW: "<script>", keys.LIMIT: 10_000, keys.NEIGHBOURS: True},
        {"filters": [1, 2], "members": {"ml-100k": "Ann"}},
        {keys.SEARCH: "x" * 100_000, "members": {"ml-100k": [{"name": 5}]}},
        [1, 2, 3],
    ],
)
def test_choices_a_browser_kept_are_checked_before_they_are_used(
    app: AppTest, scenario: Scenario, chosen: object
) -> None:
    app.run()
    browser_answers(app, json.dumps({"params": {}, "prefs": chosen}))
    app.run()
    app.run()
    assert not app.exception
    assert app.session_state[keys.VIEW] == "For me"
    assert keys.SEARCH not in app.session_state or len(app.session_state[keys.SEARCH]) < 300


def test_a_movie_night_travels_in_its_own_link(app: AppTest, scenario: Scenario) -> None:
    liked = ",".join(f"{m}:5" for m in scenario.liked)
    other = ",".join(f"{m}:5" for m in scenario.other) or liked
    app.query_params["night"] = f"Ann~{liked}|Sam~{other}~{scenario.liked[0]}"
    app.run()
    assert not app.exception
    assert app.session_state[keys.VIEW] == "Movie night"
    group = app.session_state[per_release(keys.MEMBERS, "ml-100k")]
    assert [m.name for m in group] == ["Ann", "Sam"]
    assert group[1].hidden == frozenset({scenario.liked[0]})
    shared = [c.value for c in app.code if "night=" in c.value]
    assert shared and "Ann~" in shared[0] and "Sam~" in shared[0], shared
    assert any("Films for Ann, Sam" in s.value for s in app.markdown)

    again = page_test()  # whoever opens that link gets the same people
    again.query_params["night"] = shared[0].split("night=", 1)[1]
    again.run()
    regrouped = again.session_state[per_release(keys.MEMBERS, "ml-100k")]
    assert [(m.name, m.ratings, m.hidden) for m in regrouped] == [
        (m.name, m.ratings, m.hidden) for m in group
    ]


def test_a_hostile_movie_night_link_is_bounded_and_said(app: AppTest, scenario: Scenario) -> None:
    liked = ",".join(f"{m}:5" for m in scenario.liked)
    people = [f"**P{i}** <script>~{liked}" for i in range(9)] + ["Nobody~999999:5"]
    app.query_params["night"] = "|".join(people)
    app.run()
    assert not app.exception
    group = app.session_state[per_release(keys.MEMBERS, "ml-100k")]
    assert len(group) == 6
    said = " ".join(w.value for w in app.warning)
    assert "holds 10 people; the first 6 are in" in said, said
    assert "<script>" not in " ".join(m.value for m in app.markdown if "script" in m.value)


def test_a_search_the_release_cannot_match_names_its_last_year_and_later_releases(
    app: AppTest, scenario: Scenario
) -> None:
    app.run()
    app.text_input(key=keys.SEARCH).input("qwertyuiop").run()  # in no release here
    said = " ".join(c.value for c in app.caption)
    assert "holds films up to 1998" in said, said
    assert "ml-latest-small (to 2018)" in said and "ml-32m (to 2023)" in said
    app.text_input(key=keys.SEARCH).input(scenario.found_title.lower()).run()
    assert "holds films up to" not in " ".join(c.value for c in app.caption)


def test_the_page_says_what_the_order_of_recommendations_means(
    app: AppTest, scenario: Scenario
) -> None:
    app.query_params["r"] = ",".join(f"{m}:5" for m in scenario.liked)
    app.run()
    line = next(c for c in app.caption if "users most like you" in c.value)
    assert "most strongly backed first, not highest stars" in line.value
    assert "First the films they back most strongly" in line.proto.help  # its tooltip
    assert "can come above one of higher predicted stars" in line.proto.help


def test_a_group_of_one_says_how_small_it_is_and_keeps_minimum_raters(
    app: AppTest, scenario: Scenario
) -> None:
    if scenario.search != "star wars":
        pytest.skip("needs ml-100k's one 25-34 female lawyer")
    app.session_state[keys.per_release("age_groups", "ml-100k")] = ["25-34"]
    app.session_state[keys.per_release("genders", "ml-100k")] = ["F"]
    app.session_state[keys.per_release("occupations", "ml-100k")] = ["lawyer"]
    app.query_params["r"] = "50:5,172:5,181:5"
    app.run()
    assert not app.exception
    said = " ".join(c.value for c in app.sidebar.caption)
    assert "1 user in these groups together" in said, said
    warned = " ".join(w.value for w in app.warning)
    assert "no film is rated by 2 or more of the 1 user in them" in warned, warned
    assert not [s for s in app.select_slider if s.key.startswith("pop-")]  # none "liked by 1 of 1"


def test_the_quick_rate_set_stays_until_the_person_moves_on(app: AppTest) -> None:
    app.run()
    quick = slider_ids(app, "quick-")
    for movie_id in quick[:4]:
        changed(app, rating_slider(app, "quick", movie_id).set_value(4.0))
        assert subheaders(app)[0] == "👋 Quick start"  # in place, the fourth click too
        assert slider_ids(app, "quick-") == quick
    app.button(key=keys.SEE_RECOMMENDATIONS).click().run()
    assert "🎯 Recommended for you" in subheaders(app)
    app.button(key=keys.BACK_TO_QUICK).click().run()
    assert subheaders(app)[0] == "👋 Quick start"
    assert app.button(key=keys.SEE_RECOMMENDATIONS).label.startswith("Show my recommendations (4")

"""Explore on the page (AppTest): the recommendations narrowed to a genre and years, ordered by
predicted stars, in the link and back from it; on the two-taste release in the ml-100k layout
(known answers: its films' genres and years)."""

from __future__ import annotations

import pytest
from conftest import ROMANCE
from streamlit.testing.v1 import AppTest

from app import state as keys
from app.views.explore import SECTION

MIXED = {1: 5.0, 5: 4.0, 9: 3.0}  # Alien, Amélie and the average film: both tastes near
NAME = "ml-100k"
GENRES = keys.per_release(keys.EXPLORE_GENRES, NAME)
YEARS = keys.per_release(keys.EXPLORE_YEARS, NAME)
ORDER = keys.per_release(keys.EXPLORE_ORDER, NAME)
KNOWN = keys.per_release(keys.EXPLORE_KNOWN, NAME)


@pytest.fixture
def app(two_taste_page: AppTest) -> AppTest:
    two_taste_page.session_state[keys.EXPLORE_OPEN] = True
    return two_taste_page


def recommended(app: AppTest) -> list[int]:
    return [
        int(s.key.removeprefix("rec-").split("--")[0])
        for s in app.select_slider
        if s.key.startswith("rec-")
    ]


def rated(app: AppTest) -> AppTest:
    app.session_state[keys.per_release(keys.RATINGS, NAME)] = dict(MIXED)
    return app.run()


def test_a_genre_narrows_the_list_and_goes_in_the_link(app: AppTest) -> None:
    rated(app)
    everything = recommended(app)
    assert set(everything) - set(ROMANCE)  # both tastes' films before narrowing
    app.multiselect(key=GENRES).set_value(["Romance"]).run()
    assert recommended(app) and set(recommended(app)) <= set(ROMANCE)
    assert app.query_params["g"] == "Romance"
    assert any("only films: Romance" in c.value for c in app.caption)
    app.session_state[keys.EXPLORE_OPEN] = False  # closed, the narrowing stays and is named
    app.run()
    assert set(recommended(app)) <= set(ROMANCE)
    assert any("only films: Romance" in c.value for c in app.caption)


def test_years_and_order_by_stars(app: AppTest) -> None:
    rated(app)
    app.slider(key=YEARS).set_value((1990, 1999)).run()
    shown = recommended(app)
    assert shown and set(shown) <= {2, 7, 10}  # The Matrix, Titanic, Obscure Film
    assert app.query_params["y"] == "1990-1999"
    app.session_state[keys.EXPLORE_OPEN] = True
    app.slider(key=YEARS).set_value((1942, 2021)).run()  # the whole span: no narrowing
    app.segmented_control(key=ORDER).set_value("stars").run()
    assert app.query_params["o"] == "stars" and "y" not in app.query_params
    stars = [
        float(m.value.split("**≈ ")[1].split("\u00a0★")[0])
        for m in app.markdown
        if "predicted for you" in m.value
    ]
    assert len(stars) >= 3 and stars == sorted(stars, reverse=True)
    line = next(c for c in app.caption if "users most like you" in c.value)
    assert "by the stars predicted for you" in line.value
    assert "By the stars predicted for you: the best of" in line.proto.help
    app.button(key=keys.EXPLORE_CLEAR).click().run()
    assert "o" not in app.query_params and app.session_state[ORDER] == "rank"


def test_a_link_explores_what_the_release_has_and_says_what_it_left_out(app: AppTest) -> None:
    app.query_params["r"] = "1:5,5:4,9:3"
    app.query_params["g"] = "romance,Western"
    app.query_params["y"] = "1990s"
    app.query_params["k"] = "famous"
    app.run()
    assert app.session_state[GENRES] == ["Romance"]
    assert tuple(app.session_state[YEARS]) == (1990, 1999)
    assert app.session_state[KNOWN] == "any"
    assert recommended(app) == [7]  # Titanic (1997): the one romance of the 1990s
    warnings = " ".join(w.value for w in app.warning)
    assert "1 genre of the link this release does not have" in warnings
    assert "known is not one of any, well-known, lesser-known" in warnings
    assert "Western" not in warnings and "famous" not in warnings  # never the link's text
    assert app.query_params["g"] == "Romance" and app.query_params["y"] == "1990-1999"


def test_the_section_is_drawn_only_when_opened(app: AppTest) -> None:
    app.session_state[keys.EXPLORE_OPEN] = False
    rated(app)
    assert [b.proto.popover.label for b in app.get("popover")] == [SECTION]  # the button
    assert GENRES not in [w.key for w in app.multiselect]

"""A film's page (AppTest): opened from a card, the search, *My ratings*, a link and more like
this; rated there; closed by Back; a hostile ``film`` parameter. On the two-taste release in
the ml-100k layout (known answers: the sci-fi films are alike)."""

from __future__ import annotations

import pytest
from conftest import SCIFI
from streamlit.testing.v1 import AppTest

from app import state as keys

NAME = "ml-100k"
RATINGS = keys.per_release(keys.RATINGS, NAME)


@pytest.fixture
def app(two_taste_page: AppTest) -> AppTest:
    return two_taste_page


def heading(app: AppTest) -> str | None:
    return next((s.value for s in app.subheader if s.value.startswith("🎬")), None)


def like_ids(app: AppTest) -> list[int]:
    """The films like this one, in order (by their "Its page" buttons)."""
    return [
        int(b.key.removeprefix("open-like-")) for b in app.button if b.key.startswith("open-like-")
    ]


def test_a_link_opens_a_films_page_with_films_like_it(app: AppTest) -> None:
    app.query_params["r"] = "1:5,2:5,5:1"
    app.query_params["film"] = "3"
    app.run()
    assert not app.exception
    assert heading(app) == "🎬 Dune \\(2021\\)"
    shown = like_ids(app)
    assert shown[0] == 4 and not {1, 2, 3, 5} & set(shown)  # the sci-fi film; none rated
    assert any("predicted for you" in m.value for m in app.markdown)
    captions = " ".join(c.value for c in app.caption)
    assert "of your" in captions and "neighbours rated it" in captions
    assert "Liked it vs everyone" in captions.replace("\\", "")
    app.button(key=keys.CLOSE_FILM).click().run()
    assert heading(app) is None and "film" not in app.query_params
    assert keys.per_release(keys.FILM, NAME) not in app.session_state


def test_a_card_opens_its_page_and_a_rating_there_is_kept(app: AppTest) -> None:
    app.session_state[RATINGS] = {1: 5.0, 2: 5.0, 3: 4.5}
    app.run()
    app.button(key="open-rec-4").click().run()
    assert heading(app) == "🎬 Solaris \\(1972\\)"
    assert app.query_params["film"] == "4"
    slider = next(s for s in app.select_slider if s.key.split("--")[0] == "film-4")
    slider.set_value(5.0).run()
    assert app.session_state[RATINGS][4] == 5.0
    assert "4:5" in app.query_params["r"]
    assert heading(app) == "🎬 Solaris \\(1972\\)"  # the page stays open


def test_a_film_like_it_is_rated_in_its_popover_and_leaves_the_list(app: AppTest) -> None:
    app.session_state[RATINGS] = {1: 5.0, 2: 5.0}
    app.query_params["film"] = "1"
    app.run()
    first = like_ids(app)[0]
    assert not [s for s in app.select_slider if s.key.startswith("like-")]  # drawn when opened
    app.session_state[f"rate-like-{first}"] = True  # the person opens its "Rate it"
    app.run()
    slider = next(s for s in app.select_slider if s.key.split("--")[0] == f"like-{first}")
    slider.set_value(4.5).run()
    assert app.session_state[RATINGS][first] == 4.5
    assert first not in like_ids(app)  # rated: no longer offered as like this
    assert heading(app) == "🎬 Alien \\(1979\\)"


def test_more_like_this_search_and_my_ratings_open_pages(app: AppTest) -> None:
    app.session_state[RATINGS] = {1: 5.0}
    app.query_params["film"] = "1"
    app.run()
    first = like_ids(app)[0]
    assert first in SCIFI
    app.button(key=f"open-like-{first}").click().run()
    assert app.query_params["film"] == str(first)
    app.run()  # the whole page (the click reran the main column alone)
    app.text_input(key=keys.SEARCH).input("titanic").run()
    app.button(key="open-search-7").click().run()
    assert heading(app) == "🎬 Titanic \\(1997\\)"
    app.run()
    app.selectbox(key=keys.OPEN_RATED).set_value(1).run()
    app.button(key=keys.OPEN_RATED_PAGE).click().run()
    assert heading(app) == "🎬 Alien \\(1979\\)"


def test_another_view_closes_the_page(app: AppTest) -> None:
    app.query_params["film"] = "1"
    app.run()
    assert heading(app) is not None
    app.segmented_control(key=keys.VIEW).set_value("Movie night").run()
    assert heading(app) is None and "film" not in app.query_params
    app.run()
    assert heading(app) is None and keys.per_release(keys.FILM, NAME) not in app.session_state


@pytest.mark.parametrize("film", ["99999", "abc", "-1", "1" * 40, "../../etc"])
def test_a_film_the_release_lacks_is_said_not_opened(app: AppTest, film: str) -> None:
    app.query_params["film"] = film
    app.run()
    assert not app.exception and heading(app) is None
    warnings = [w.value for w in app.warning]
    assert "The link names a film this release does not have: its page is not open." in warnings
    assert all(film not in w for w in warnings)

"""The page under the title: messages said once, the sidebar's choices, then the main column
(*For me* or *Movie night*) beside searching and *My ratings*; an engine that stops answering
gets a message and a retry, and the person's ratings stay."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from app import prefs, state
from app.fetch import Choices, FilmShown, GroupShown, Shown, fetch_film, fetch_group, fetch_shown
from app.resources import reconnect
from app.text import md
from app.views import explore
from app.views.film import film_ui
from app.views.for_me import recommendations_ui
from app.views.keeper import keeper_ui
from app.views.movie_night import group_ui
from app.views.my_ratings import my_ratings_ui
from app.views.search import search_ui
from app.views.sidebar import choices_ui
from reco.group import DEFAULT_RULE
from reco.recommend import IndexUnavailable, Recommender
from reco.store import StoreUnavailable

VIEWS = state.VIEWS


def messages_ui() -> None:
    """What was left out of a shared link, and the like, said once; never the link's text."""
    for kind, text in state.take_flashes():
        if kind == "toast":
            st.toast(text)
        else:
            getattr(st, kind)(text)


def unavailable_ui(error: StoreUnavailable) -> None:
    if isinstance(error, IndexUnavailable):  # on a server: its operator rebuilds it
        st.error(md(str(error)[0].upper() + str(error)[1:]))
        st.info("Your ratings are kept. Retry once the index has been rebuilt.")
    else:
        st.error(f"The vector engine is unavailable: {md(error)}")
        st.info("Your ratings are kept. Retry when it is back.")
    st.button("Retry", key=state.RETRY, on_click=retry, type="primary")


def retry() -> None:
    """Connect to the engine again and draw the whole page (the ratings stay)."""
    reconnect()
    st.rerun()


def view_ui(where: DeltaGenerator, name: str) -> None:
    """*For me* or *Movie night*, beside the title (a change reruns the page)."""
    where.segmented_control(
        "View",
        VIEWS,
        key=state.VIEW,
        default=VIEWS[0],
        required=True,
        label_visibility="collapsed",
        on_change=state.open_film,  # another view closes a film's page
        args=(name, None),
    )


def page_ui(name: str, recommender: Recommender, offered: list[str], top: DeltaGenerator) -> None:
    """The page under ``top``, the title's row (which gets the view control)."""
    known = recommender.movie_ids
    state.follow_history(name, known, offered)  # Back: an undo
    state.restore_from_link(name, known, offered)
    state.restore_pending(name, known)  # the link's ratings of this release
    kept = st.session_state.pop(state.NEXT_PREFS, None)  # what the browser kept, if just read
    if kept is not None:
        prefs.apply(kept, name, known, recommender.choices)
    prefs.restore_pending(name, known, recommender.choices)  # its filters and people
    explore.prepare(name, recommender.catalog)  # what the link asked to explore
    state.sync_link(name)  # a full run; a change's callback keeps it in step from then on
    messages_ui()
    choices = choices_ui(recommender, name)
    view_ui(top, name)
    # The main column comes first: on a phone, where columns stack, the quick-rate set or the
    # recommendations are at the top, searching and one's ratings below, one tap away.
    st.markdown(  # plain: :small[] directives cost a first render 0.15 s, grey links contrast
        "Rate films you know; people of like taste suggest what to watch next. Jump to "
        f"[🔎 Find movies](#{state.SEARCH_ANCHOR}) · [⭐ My ratings](#{state.MINE_ANCHOR})"
    )
    main_column, side = st.columns([7, 4], gap="large")
    with side:  # searching and rating go on while the engine is away
        search_ui(name, recommender, offered)
        my_ratings_ui(name, recommender, offered)
    with main_column:
        main_ui(name, recommender, choices, offered)


@st.fragment(key="main")
def main_ui(name: str, recommender: Recommender, choices: Choices, offered: Sequence[str]) -> None:
    """The main column: the quick-rate set and popular films, the recommendations, or the
    movie night. Fetches its one result, then draws it. A fragment: a rating or a hidden film
    reruns it with *My ratings* (`app.state.rerun_rated_parts`), and so do its own widgets."""
    night = st.session_state.get(state.VIEW) == VIEWS[1]
    film = state.film_open(name)
    shown: Shown | None = None
    group: GroupShown | None = None
    page: FilmShown | None = None
    problem: Exception | None = None
    ratings, hidden = state.ratings(name), state.excluded(name)
    try:  # fetch what the column shows, then draw it
        if film is not None:
            page = fetch_film(recommender, choices, film, ratings, hidden)
        elif night:
            rule = st.session_state.get(state.GROUP_RULE, DEFAULT_RULE)
            group = fetch_group(recommender, choices, state.members(name), ratings, hidden, rule)
        else:
            films, order = state.explore_chosen(name)
            shown = fetch_shown(
                recommender,
                choices,
                ratings,
                hidden,
                state.starters_seen(name),
                state.quick_starting(name),
                films,
                order,
            )
    except (ValueError, StoreUnavailable) as error:
        problem = error
    if isinstance(problem, StoreUnavailable):
        unavailable_ui(problem)
    elif problem is not None:
        st.error(f"Cannot recommend: {md(problem)}")
    elif page is not None:
        film_ui(name, page)
    elif night:
        group_ui(name, recommender, group)
    elif shown is not None:
        recommendations_ui(name, recommender, shown)
    keeper_ui(name, recommender.movie_ids, offered)  # the browser's copy of all of it

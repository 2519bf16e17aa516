"""Explore: the recommendations narrowed to genres, years and how well known a film is, and
ordered by the ranking or by predicted stars (`reco.explore`), in a section drawn when opened
above the cards; in the link (`app.explore_link`)."""

from __future__ import annotations

import streamlit as st

from app import state
from app.explore_link import checked
from reco.catalog import Catalog
from reco.explore import KNOWN, KNOWN_WORDS, ORDER_WORDS, ORDERS, genre_names, year_span

SECTION = "Explore"


def prepare(name: str, catalog: Catalog) -> None:
    """Before anything is drawn: the release's year span (what "any year" is), and what a
    link asked to explore, kept of it what the release has (a widget given a value it does not
    offer would fail)."""
    span = year_span(catalog)
    st.session_state[state.per_release(state.EXPLORE_SPAN, name)] = span
    asked = st.session_state.get(state.EXPLORE_PENDING, {}).pop(name, None)
    if not asked:
        return
    kept, problems = checked(asked, genre_names(catalog), span or (0, 0))
    state.clear_explore(name)
    keys = {
        "genres": state.EXPLORE_GENRES,
        "years": state.EXPLORE_YEARS,
        "known": state.EXPLORE_KNOWN,
        "order": state.EXPLORE_ORDER,
    }
    for field, value in kept.items():
        st.session_state[state.per_release(keys[field], name)] = value
    for problem in problems:
        state.flash(problem)


def explore_ui(name: str, catalog: Catalog) -> None:
    """A button beside the heading that opens the section (drawn when open: four fewer widgets
    in every rerun); its changes rerun the main column (a fragment) with the link in step.
    What is chosen is named in the line above the cards (`app.views.for_me.about_the_list`)."""
    films, order = state.explore_chosen(name)
    section = st.popover(
        SECTION,
        icon=":material/tune:",
        help="Narrow the list to genres, years, well known or lesser known films; order it "
        "by predicted stars",
        key=state.EXPLORE_OPEN,
        on_change="rerun",
    )
    if not section.open:
        return
    span = year_span(catalog)
    sync = {"on_change": state.sync_link, "args": (name,), "persist_state": "page"}
    with section:
        what, when = st.columns(2)  # side by side on a wide screen, stacked on a phone
        what.multiselect(
            "Genres",
            genre_names(catalog),
            key=state.per_release(state.EXPLORE_GENRES, name),
            placeholder="Any genre",
            help="Films of any of these genres",
            **sync,
        )
        if span is not None and span[0] < span[1]:
            when.slider(
                "Years",
                span[0],
                span[1],
                span,
                key=state.per_release(state.EXPLORE_YEARS, name),
                help="Released in these years, both included (a decade: 1990 to 1999)",
                **sync,
            )
        fame, order_in = st.columns([5, 4])  # room for each one's three or two buttons
        fame.segmented_control(
            "How well known",
            KNOWN,
            key=state.per_release(state.EXPLORE_KNOWN, name),
            default=KNOWN[0],
            required=True,
            format_func=lambda known: KNOWN_WORDS[known].capitalize(),
            help="Well known: the most rated films, holding half of all ratings; lesser "
            "known: the rest, films you may not have heard of",
            **sync,
        )
        order_in.segmented_control(
            "Order",
            ORDERS,
            key=state.per_release(state.EXPLORE_ORDER, name),
            default=ORDERS[0],
            required=True,
            format_func=lambda order: ORDER_WORDS[order].capitalize(),
            help="Best match: the films your neighbours back most strongly; predicted stars: "
            "the best of those, by the stars predicted for you",
            **sync,
        )
        if films or order != ORDERS[0]:
            st.button("Show everything", key=state.EXPLORE_CLEAR, on_click=clear, args=(name,))


def clear(name: str) -> None:
    state.clear_explore(name)
    state.sync_link(name)

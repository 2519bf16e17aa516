"""Finding films to rate: a title search with genre and year filters, each result rateable."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from app import state
from app.resources import movie_search
from app.text import link_line, md
from app.views.cards import film_button, star_slider
from app.views.sidebar import filters_on
from reco.datasets import KNOWN_DATASETS
from reco.recommend import Recommender
from reco.search import CLOSE_SPELLING, PARTIAL_MATCH
from reco.words import plural


def search_examples(recommender: Recommender) -> str:
    """Two of the release's most liked titles, as a person would type them (the catalog
    keeps its popular list: nothing to cache here)."""
    catalog = recommender.catalog
    top = catalog.popular().movie_ids[:2].tolist()
    return ", ".join(catalog.movie(m)["title"].lower() for m in top)


def later_releases(name: str, offered: Sequence[str]) -> str:
    """The releases offered that hold films after ``name``'s last year, with their spans
    ("ml-latest-small (to 2018) or ml-32m (to 2023)"); "" when none."""
    last = KNOWN_DATASETS[name].last_year
    later = [
        f"{release} (to {KNOWN_DATASETS[release].last_year})"
        for release in offered
        if KNOWN_DATASETS[release].last_year > last
    ]
    return ", ".join(later[:-1]) + f" or {later[-1]}" if len(later) > 1 else "".join(later)


@st.fragment(key=state.SEARCH_PART)
def search_ui(name: str, recommender: Recommender, offered: Sequence[str]) -> None:
    """Search the catalog and rate what it finds. A fragment: typing a title reruns only the
    search; a rating given here reruns the parts that show ratings
    (`app.state.rerun_rated_parts`)."""
    st.session_state[state.SEARCH_LISTED] = frozenset()
    st.subheader("🔎 Find movies to rate", anchor=state.SEARCH_ANCHOR)
    search = movie_search(name)
    text = st.text_input(
        "Title", key=state.SEARCH, placeholder=f"e.g. {search_examples(recommender)}"
    )
    years = search.movies["year"].dropna()
    low, high = (int(years.min()), int(years.max())) if len(years) else (1900, 2030)
    genres_key, years_key = (
        state.per_release(state.GENRES, name),
        state.per_release(state.YEARS, name),
    )
    genres = st.session_state.get(genres_key, [])
    chosen = tuple(st.session_state.get(years_key, (low, high)))
    filtering = st.expander(
        "Filter by genre and year", key=state.SEARCH_FILTERS_OPEN, on_change="rerun"
    )
    if not filtering.open:  # drawn when opened; the filters stay on while it is closed
        years_on = [f"{chosen[0]}–{chosen[1]}"] if chosen != (low, high) else []
        filters_on(st, ([", ".join(genres)] if genres else []) + years_on)
    else:
        with filtering:
            genres = st.multiselect("Genres", search.genres(), key=genres_key, persist_state="page")
            chosen = st.slider("Years", low, high, (low, high), key=years_key, persist_state="page")
    year_filter = chosen if chosen != (low, high) else None
    if not text.strip() and not genres and year_filter is None:
        st.caption("Type part of a title; case, accents, “The” and small typos do not matter.")
        return
    found = search.search(text, genres=genres, years=year_filter, limit=10)
    close = not found.empty and found["match"].max() >= CLOSE_SPELLING
    if found.empty:
        st.info("No movie matches. Try fewer words or another spelling.")
    if text.strip() and not close:  # perhaps a film after the release's last year
        later = later_releases(name, offered)
        if later:
            st.caption(
                f"Not found closely in {name}, which holds films up to "
                f"{KNOWN_DATASETS[name].last_year}: a later film may be in {later}."
            )
    if found.empty:
        return
    st.session_state[state.SEARCH_LISTED] = frozenset(found["movie_id"].astype(int).tolist())
    results = st.container(key="search-results")
    sections = [
        (CLOSE_SPELLING, "Similar spellings:"),
        (PARTIAL_MATCH, "Matching some of the words:"),
    ]
    for row in found.itertuples(index=False):
        movie_id = int(row.movie_id)
        while sections and row.match < sections[0][0]:  # results come best first
            _, caption = sections.pop(0)
            if not sections or row.match >= sections[0][0]:
                results.caption(caption)
        left, right = results.columns([3, 2], vertical_alignment="center")
        year = f" ({row.year})" if pd.notna(row.year) else ""
        links = link_line(recommender.catalog.links(movie_id))
        left.markdown(
            f"**{md(row.title)}**{md(year)}  \n{md(row.genres.replace('|', ', '))} · "
            f"{plural(int(row.ratings), 'rating')}" + (f" · {links}" if links else "")
        )
        with right:
            star_slider(name, movie_id, "search", f"{row.title}{year}")
            film_button(name, movie_id, "search", label="Its page", elsewhere=True, small=True)

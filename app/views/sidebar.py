"""The sidebar: the release, whose taste (the neighbour filters), how many recommendations,
and the advanced scoring choices. Each section drawn only when opened keeps its values."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from app import state
from app.fetch import Choices
from app.text import md
from reco import filters
from reco.datasets import DEFAULT_DATASET, KNOWN_DATASETS, available_datasets
from reco.filters import UserFilter
from reco.group import GROUP_NEIGHBOURS
from reco.recommend import Recommender
from reco.settings import Settings
from reco.store import has_local_index
from reco.words import plural


def offered_releases(settings: Settings) -> list[str]:
    """The MovieLens releases a person may pick: all known ones (the default first), or only
    those an operator lists in ``RECO_RELEASES`` (in that order)."""
    names = [n for n in settings.releases if n in KNOWN_DATASETS]
    return list(dict.fromkeys(names or [DEFAULT_DATASET, *KNOWN_DATASETS]))


def on_this_machine(name: str) -> bool:
    """Whether a release opens without a download: its files or its index are here."""
    return name in available_datasets() or has_local_index(name)


def release_label(name: str) -> str:
    return f"{name} (films to {KNOWN_DATASETS[name].last_year})"


def release_ui(settings: Settings) -> str:
    """The release, picked in the sidebar with what each offers; in the link as ``dataset``."""
    choices = offered_releases(settings)
    kept = st.session_state.pop(state.NEXT_RELEASE, None)  # the browser kept another release
    if kept in choices:
        st.session_state[state.RELEASE] = kept
    from_link = state.link_release()
    if state.RELEASE not in st.session_state and from_link in choices:
        st.session_state[state.RELEASE] = from_link
    name = st.session_state.get(state.RELEASE, choices[0])
    if name not in choices:  # no longer offered (an operator changed RECO_RELEASES)
        name = st.session_state[state.RELEASE] = choices[0]
    # Chosen in a section drawn when opened: its select box was the only one on a first
    # visit, and loading its script files held up the first render (8% faster without).
    choosing = st.sidebar.expander(
        f"MovieLens release: {release_label(name)}", key=state.RELEASE_OPEN, on_change="rerun"
    )
    if choosing.open:
        with choosing:
            name = st.selectbox(
                "MovieLens release",
                choices,
                key=state.RELEASE,
                format_func=release_label,
                help="Each release is downloaded once when chosen, then opens in seconds.",
                persist_state="page",
            )
    about = KNOWN_DATASETS[name]
    where = ""
    if settings.qdrant_url is None:
        where = (
            " · on this machine"
            if on_this_machine(name)
            else f" · downloads {about.download_mb:,.0f} MB when chosen, then indexes once"
        )
    st.sidebar.caption(md(about.describe()) + md(where))
    return name


def widen_filters(name: str) -> None:
    for field in filters.FILTERS:
        st.session_state[state.filter_key(field, name)] = []
    st.rerun()  # the whole page: the sidebar shows the filters


def filters_on(where: DeltaGenerator, chosen: Sequence[str]) -> None:
    """Under a closed section of filters: the ones on. (Its label stays the same: an expander
    whose label changes is a new one to the browser, and would close as a person chooses.)"""
    if chosen:
        where.caption("Filters on: " + " · ".join(md(values) for values in chosen))


def choices_ui(recommender: Recommender, name: str) -> Choices:
    """Whose taste, how many films, and the advanced choices, as the person set them."""
    sidebar = st.sidebar
    sidebar.header("Whose taste?")
    chosen = neighbour_filters_ui(recommender, name)
    limit = sidebar.slider("Recommendations", 5, 50, 10, 1, key=state.LIMIT)
    # Drawn only when opened (each slider is four texts for the browser to lay out); the
    # values stay while it is closed (``persist_state``).
    advanced = sidebar.expander("Advanced", key=state.ADVANCED_OPEN, on_change="rerun")
    options = recommender.options
    neighbours = st.session_state.get(state.NEIGHBOURS, options.neighbours)
    min_raters = st.session_state.get(state.MIN_RATERS, options.min_raters)
    if advanced.open:
        with advanced:
            neighbours = st.slider(
                "Neighbours",
                5,
                200,
                options.neighbours,
                5,
                key=state.NEIGHBOURS,
                help="How many users of most similar taste to ask for your recommendations "
                f"(Movie night asks {GROUP_NEIGHBOURS} per person).",
                persist_state="page",
            )
            min_raters = st.slider(
                "Minimum raters",
                1,
                10,
                options.min_raters,
                1,
                key=state.MIN_RATERS,
                help="A movie must be rated by at least this many neighbours to be recommended.",
                persist_state="page",
            )
    return Choices(chosen, limit, {"neighbours": neighbours, "min_raters": min_raters})


def neighbour_filters_ui(recommender: Recommender, name: str) -> dict[str, list[str]]:
    """One multiselect per neighbour filter (`reco.filters.FILTERS`), drawn when opened."""
    sidebar = st.sidebar
    if not recommender.catalog.has_demographics:
        kinds = ", ".join(f.title.lower() for f in filters.FILTERS)
        sidebar.info(
            f"{name} has no demographics ({kinds}), so neighbours cannot be filtered by them. "
            "The ml-100k and ml-1m datasets have them."
        )
        return {}
    chosen = {
        f.keyword: st.session_state.get(state.filter_key(f, name), []) for f in filters.FILTERS
    }
    # Drawn when opened, like the search's filters (three select boxes were a twentieth
    # of a first visit's time in the browser); chosen groups stay on while it is closed,
    # and are named under it and in the recommendations' caption.
    groups = sidebar.expander(
        filter_section_label(), key=state.NEIGHBOUR_FILTERS_OPEN, on_change="rerun"
    )
    if not groups.open:
        filters_on(sidebar, UserFilter(**chosen).shown())
        group_size_ui(sidebar, recommender, chosen)
        return chosen
    with groups:
        st.caption("Only take neighbours from these groups (empty: everyone).")
        for field in filters.FILTERS:
            counts = recommender.population(field.name)
            chosen[field.keyword] = st.multiselect(
                field.label,
                recommender.choices(field.name),
                key=state.filter_key(field, name),
                format_func=lambda value, f=field, n=counts: (
                    f"{f.show(value)} · {n.get(value, 0):,}"
                ),
                persist_state="page",
                help="Each group with how many users it holds.",
            )
        group_size_ui(st, recommender, chosen)
    return chosen


def group_size_ui(where: DeltaGenerator, recommender: Recommender, chosen: dict) -> None:
    """How many users the chosen groups hold together (the engine counts them)."""
    where_filter = UserFilter(**chosen)
    if not where_filter:
        return
    users = recommender.store.count(where_filter)
    where.caption(f"{plural(users, 'user')} in these groups together.")


def filter_section_label() -> str:
    """The neighbour filters' section: "Age group, gender, occupation"."""
    first, *rest = (f.title for f in filters.FILTERS)
    return ", ".join([first, *(title.lower() for title in rest)])

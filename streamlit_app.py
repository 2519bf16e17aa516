"""Movie recommender: search, rate with sliders, get recommendations from people of similar taste.

UI only: everything below the page is the `reco` package.
"""

from __future__ import annotations

import itertools
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from urllib.parse import urlencode

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from app_resources import (
    load_recommender,
    movie_search,
    reconnect,
    server_settings,
)
from reco import (
    FILTERS,
    DatasetError,
    FilterField,
    GroupRecommendation,
    IndexUnavailable,
    Neighbour,
    Recommendation,
    Recommendations,
    Recommender,
    StoreUnavailable,
    UserFilter,
)
from reco.charts import (
    Spec,
    arrow_datasets,
    composition_caption,
    composition_chart,
    recommendation_chart,
    similarity_caption,
    similarity_chart,
)
from reco.datasets import (
    DEFAULT_DATASET,
    KNOWN_DATASETS,
    available_datasets,
    plural,
)
from reco.explain import Explanation
from reco.group import DEFAULT_RULE, GROUP_NEIGHBOURS, MAX_MEMBERS, RULE_LABELS, RULES
from reco.page import ME, GroupShown, Member, Settings, Shown
from reco.profile import (
    MAX_LINK_CHARS,
    format_hidden,
    format_profile,
    parse_hidden,
    parse_link,
    parse_profile,
    profile_from_csv,
    profile_to_csv,
)
from reco.scale import verdict
from reco.search import CLOSE_SPELLING, PARTIAL_MATCH
from reco.store import has_local_index

ONBOARDING_MIN = 3  # fewer ratings than this: quick-rate set and popular movies
QUICK_RATE = 8  # films in the quick-rate set
FEW_NEIGHBOURS = 5
MY_RATINGS_SHOWN = 8  # the latest ratings, as sliders under "My ratings"; all in a list below
MY_RATINGS_LISTED = 200  # sliders in that list (drawn when opened); the rest: search, CSV
NOT_RATED = "Not rated"
STAR_STEPS: tuple[object, ...] = (NOT_RATED, *[s / 2 for s in range(1, 11)])

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def md(text: object) -> str:
    """Text from data files or users, escaped so that markdown shows it literally."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


# A widget's label is one line of inline markdown, and its raw text is also the widget's
# accessible name (read out by screen readers): escape only what can format a line there.
_LABEL_SPECIAL = re.compile(r"([\\`*_\[\]~<>$]|:(?=\w))")


def label_md(text: object) -> str:
    """Text from data files shown literally as a widget's label ("Star Trek: First Contact
    (1996)" stays as it is: its accessible name has no stray backslashes)."""
    return _LABEL_SPECIAL.sub(r"\\\1", str(text))


def stars_label(value: object) -> str:
    return value if value == NOT_RATED else f"{value:g} ★"


# --------------------------------------------------------------------------- state


def my_ratings(name: str) -> dict[int, float]:
    """This session's ratings for a dataset (movie ids differ between datasets)."""
    return st.session_state.setdefault("ratings", {}).setdefault(name, {})


RATED_PARTS = ("main", "mine")  # the fragments that show one's ratings and hidden films
SEARCH_LISTED = "search_listed"  # the films the search results show (session state)


def rerun_rated_parts(movie_id: int, shown_by: str = "") -> None:
    """After a callback changed a film's rating or hid it: rerun only the parts of the page
    that show it (every widget redrawn costs the browser time): the main column, *My
    ratings*, and the search results when they list the film (unless its own slider there,
    ``shown_by`` "search", made the change). Not the sidebar, header or the rest."""
    parts = list(RATED_PARTS)
    if movie_id in st.session_state.get(SEARCH_LISTED, ()) and shown_by != "search":
        parts.append("search")
    st.rerun(parts)


def set_rating(name: str, movie_id: int, key: str) -> None:
    """Widget callback: store (or, at "Not rated", remove) the rating a slider now shows."""
    value = st.session_state[key]
    ratings = my_ratings(name)
    if value == NOT_RATED:
        ratings.pop(movie_id, None)
    else:
        ratings[movie_id] = float(value)
    rerun_rated_parts(movie_id, key.split("-")[0])


def my_hidden(name: str) -> set[int]:
    """Films this session marked "not interested" (never recommended again until restored)."""
    return st.session_state.setdefault("hidden", {}).setdefault(name, set())


def hide(name: str, movie_id: int) -> None:
    my_hidden(name).add(movie_id)
    rerun_rated_parts(movie_id)


def unhide(name: str, movie_id: int) -> None:
    my_hidden(name).discard(movie_id)
    rerun_rated_parts(movie_id)


def other_starters(name: str, shown: Sequence[int]) -> None:
    """ "Show me other films": the next quick-rate set leaves out every film shown so far."""
    st.session_state.setdefault("starters_seen", {}).setdefault(name, []).extend(shown)


def starters_seen(name: str) -> list[int]:
    return st.session_state.get("starters_seen", {}).get(name, [])


def star_slider(
    name: str,
    movie_id: int,
    key: str,
    label: str = "Your rating",
    *,
    titled: bool = False,
    width: int | str = "stretch",
) -> None:
    """A 'Not rated', 0.5 … 5 star slider showing, and changing, the session's rating. With
    ``titled`` its label (markdown: escape data with `label_md`) is shown above it: a film's row is
    then this one element, not a text, columns and a slider (each element the browser redraws
    at every rerun costs it time)."""
    st.session_state[key] = my_ratings(name).get(movie_id, NOT_RATED)
    st.select_slider(
        label,
        options=STAR_STEPS,
        key=key,
        format_func=stars_label,
        on_change=set_rating,
        args=(name, movie_id, key),
        label_visibility="visible" if titled else "collapsed",
        width=width,
    )


def restore_from_link(name: str, recommender: Recommender) -> None:
    """Once per session: ratings from the URL (``?r=50:5,172:4.5``); bad parts are reported."""
    if st.session_state.get("restored"):
        return
    st.session_state["restored"] = True
    parsed = parse_profile(st.query_params.get("r"), recommender.movie_ids)
    hidden = parse_hidden(st.query_params.get("h"), recommender.movie_ids)
    if parsed.ratings:
        my_ratings(name).update(parsed.ratings)
        st.toast(f"Restored {plural(len(parsed.ratings), 'rating')} from the link.")
    my_hidden(name).update(hidden.hidden - parsed.ratings.keys())
    st.session_state["link_problems"] = [*parsed.problems, *hidden.problems]


LINK_KEYS = ("r", "h", "dataset")


def link_params(name: str) -> dict[str, str]:
    """The page link's query parameters: the ratings and the hidden films (each left out when
    too long for a link: the page then says to keep them as CSV) and the release when not the
    default."""
    profile = format_profile(my_ratings(name))
    hidden = format_hidden(my_hidden(name))
    values = {
        "r": profile if len(profile) <= MAX_LINK_CHARS else "",
        "h": hidden if len(hidden) <= MAX_LINK_CHARS else "",
        "dataset": name if name != DEFAULT_DATASET else "",
    }
    return {key: value for key, value in values.items() if value}


def sync_link(name: str) -> None:
    """Keep the URL's query parameters equal to the ratings, so a copied link restores them."""
    wanted = link_params(name)
    shown = {key: value for key, value in st.query_params.to_dict().items() if key in LINK_KEYS}
    if shown != wanted:
        st.query_params.clear()
        st.query_params.update(wanted)


def share_ui(name: str) -> None:
    """The page link with the ratings, in a box with a copy button."""
    params = link_params(name)
    if "r" not in params and "h" not in params:
        return
    base = (st.context.url or "").split("?")[0] or "/"
    st.caption("Your link holds your ratings: copy it to keep or share them.")
    st.code(f"{base}?{urlencode(params, safe=':,')}", language=None, wrap_lines=True)


# --------------------------------------------------------------------------- sidebar


def offered_releases() -> list[str]:
    """The MovieLens releases a person may pick: all known ones (the default first), or only
    those an operator lists in ``RECO_RELEASES`` (comma-separated, in that order)."""
    configured = os.environ.get("RECO_RELEASES", "")
    names = [n.strip() for n in configured.split(",") if n.strip() in KNOWN_DATASETS]
    return list(dict.fromkeys(names or [DEFAULT_DATASET, *KNOWN_DATASETS]))


def on_this_machine(name: str) -> bool:
    """Whether a release opens without a download: its files or its index are here."""
    return name in available_datasets() or has_local_index(name)


def release_label(name: str) -> str:
    return f"{name} (films to {KNOWN_DATASETS[name].last_year})"


def dataset_ui(server: bool) -> str:
    """The release, picked in the sidebar with what each offers; in the link as ``dataset``."""
    choices = offered_releases()
    from_link = st.query_params.get("dataset")
    if "dataset" not in st.session_state:
        if from_link in choices:
            st.session_state["dataset"] = from_link
        elif from_link:
            st.session_state["link_dataset_problem"] = True
    name = st.session_state.get("dataset", choices[0])
    if name not in choices:  # no longer offered (an operator changed RECO_RELEASES)
        name = st.session_state["dataset"] = choices[0]
    # Chosen in a section drawn when opened: its select box was the only one on a first
    # visit, and loading its script files held up the first render (8% faster without).
    choosing = st.sidebar.expander(
        f"MovieLens release: {release_label(name)}", key="release-open", on_change="rerun"
    )
    if choosing.open:
        with choosing:
            name = st.selectbox(
                "MovieLens release",
                choices,
                key="dataset",
                format_func=release_label,
                help="Each release is downloaded once when chosen, then opens in seconds.",
                persist_state="page",
            )
    about = KNOWN_DATASETS[name]
    where = ""
    if not server:
        where = (
            " · on this machine"
            if on_this_machine(name)
            else f" · downloads {about.download_mb:,.0f} MB when chosen, then indexes once"
        )
    st.sidebar.caption(md(about.describe()) + md(where))
    return name


def filter_key(field: FilterField, name: str) -> str:
    """The sidebar widget of a filter, per release (their values differ between releases)."""
    return f"{field.keyword}-{name}"


def widen_filters(name: str) -> None:
    for field in FILTERS:
        st.session_state[filter_key(field, name)] = []
    st.rerun()  # the whole page: the sidebar shows the filters


def filters_on(where: DeltaGenerator, chosen: Sequence[str]) -> None:
    """Under a closed section of filters: the ones on. (Its label stays the same: an expander
    whose label changes is a new one to the browser, and would close as a person chooses.)"""
    if chosen:
        where.caption("Filters on: " + " · ".join(md(values) for values in chosen))


def settings_ui(recommender: Recommender, name: str) -> Settings:
    sidebar = st.sidebar
    sidebar.header("Whose taste?")
    filters: dict[str, list[str]] = {}
    if recommender.catalog.has_demographics:
        filters = {f.keyword: st.session_state.get(filter_key(f, name), []) for f in FILTERS}
        # Drawn when opened, like the search's filters (three select boxes were a twentieth
        # of a first visit's time in the browser); chosen groups stay on while it is closed,
        # and are named under it and in the recommendations' caption.
        groups = sidebar.expander(
            "Age group, gender, occupation", key="neighbour-filters-open", on_change="rerun"
        )
        if not groups.open:
            filters_on(sidebar, UserFilter(**filters).shown())
        else:
            with groups:
                st.caption("Only take neighbours from these groups (empty: everyone).")
                for field in FILTERS:
                    filters[field.keyword] = st.multiselect(
                        field.label,
                        recommender.choices(field.name),
                        key=filter_key(field, name),
                        format_func=field.show,
                        persist_state="page",
                    )
    else:
        kinds = ", ".join(f.title.lower() for f in FILTERS)
        sidebar.info(
            f"{name} has no demographics ({kinds}), so neighbours cannot be filtered by them. "
            "The ml-100k and ml-1m datasets have them."
        )
    limit = sidebar.slider("Recommendations", 5, 50, 10, 1, key="limit")
    # Drawn only when opened (each slider is four texts for the browser to lay out); the
    # values stay while it is closed (``persist_state``).
    advanced = sidebar.expander("Advanced", key="advanced-open", on_change="rerun")
    neighbours = st.session_state.get("neighbours", recommender.options.neighbours)
    min_raters = st.session_state.get("min_raters", recommender.options.min_raters)
    if advanced.open:
        with advanced:
            neighbours = st.slider(
                "Neighbours",
                5,
                200,
                recommender.options.neighbours,
                5,
                key="neighbours",
                help="How many users of most similar taste to ask for your recommendations "
                f"(Movie night asks {GROUP_NEIGHBOURS} per person).",
                persist_state="page",
            )
            min_raters = st.slider(
                "Minimum raters",
                1,
                10,
                recommender.options.min_raters,
                1,
                key="min_raters",
                help="A movie must be rated by at least this many neighbours to be recommended.",
                persist_state="page",
            )
    return Settings(filters, neighbours, limit, min_raters)


# --------------------------------------------------------------------------- main column parts


def search_examples(recommender: Recommender) -> str:
    """Two of the release's most liked titles, as a person would type them (the catalog
    keeps its popular list: nothing to cache here)."""
    catalog = recommender.catalog
    top = catalog.popular().movie_ids[:2].tolist()
    return ", ".join(catalog.movie(m)["title"].lower() for m in top)


@st.fragment(key="search")
def search_ui(name: str, recommender: Recommender) -> None:
    """Search the catalog and rate what it finds. A fragment: typing a title reruns only the
    search; a rating given here reruns the parts that show ratings (`rerun_rated_parts`)."""
    st.session_state[SEARCH_LISTED] = frozenset()
    st.subheader("🔎 Find movies to rate")
    search = movie_search(name)
    text = st.text_input("Title", key="search", placeholder=f"e.g. {search_examples(recommender)}")
    years = search.movies["year"].dropna()
    low, high = (int(years.min()), int(years.max())) if len(years) else (1900, 2030)
    genres = st.session_state.get(f"genres-{name}", [])
    chosen = tuple(st.session_state.get(f"years-{name}", (low, high)))
    filtering = st.expander(
        "Filter by genre and year", key="search-filters-open", on_change="rerun"
    )
    if not filtering.open:  # drawn when opened; the filters stay on while it is closed
        years_on = [f"{chosen[0]}–{chosen[1]}"] if chosen != (low, high) else []
        filters_on(st, ([", ".join(genres)] if genres else []) + years_on)
    else:
        with filtering:
            genres = st.multiselect(
                "Genres", search.genres(), key=f"genres-{name}", persist_state="page"
            )
            chosen = st.slider(
                "Years", low, high, (low, high), key=f"years-{name}", persist_state="page"
            )
    year_filter = chosen if chosen != (low, high) else None
    if not text.strip() and not genres and year_filter is None:
        st.caption("Type part of a title; case, accents, “The” and small typos do not matter.")
        return
    found = search.search(text, genres=genres, years=year_filter, limit=10)
    if found.empty:
        st.info("No movie matches. Try fewer words or another spelling.")
        return
    st.session_state[SEARCH_LISTED] = frozenset(found["movie_id"].astype(int).tolist())
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
            star_slider(name, movie_id, f"search-{movie_id}", f"{row.title}{year}")


@st.fragment(key="mine")
def my_ratings_ui(name: str, recommender: Recommender) -> None:
    """The latest ratings as sliders (every slider on the page is redrawn at each rerun, so a
    long profile is not all drawn), all of them by title in a list drawn when opened; the
    hidden films; the link. A fragment rerun with the main column after each change, so it
    also keeps the page address in step (`sync_link`)."""
    ratings = my_ratings(name)
    names = recommender.catalog.titles()
    st.subheader(f"⭐ My ratings ({len(ratings)})")
    if not ratings:
        st.caption("Nothing rated yet.")
    if len(format_profile(ratings)) > MAX_LINK_CHARS:
        st.warning(
            "Too many ratings for the page address: a copied link will not hold them. "
            "Download them as CSV to keep them."
        )
    latest = list(itertools.islice(reversed(ratings), MY_RATINGS_SHOWN))  # newest first
    if len(ratings) > MY_RATINGS_SHOWN:
        st.caption(f"The {MY_RATINGS_SHOWN} you rated last; all {len(ratings):,} below.")
    rating_rows(name, latest, names, "mine")
    if len(ratings) > MY_RATINGS_SHOWN:
        every = st.expander(
            f"All {len(ratings):,} ratings, by title", key="all-ratings-open", on_change="rerun"
        )
        if every.open:  # drawn only when open
            with every:
                ordered = sorted(ratings, key=lambda m: names.get(m, ""))
                if len(ordered) > MY_RATINGS_LISTED:
                    st.caption(
                        f"Showing the first {MY_RATINGS_LISTED} of {len(ordered):,} by title; "
                        "search for any other to change it, or keep them all as CSV below."
                    )
                rating_rows(name, ordered[:MY_RATINGS_LISTED], names, "all")
    hidden_ui(name, names)
    share_ui(name)
    keep_ui(name, recommender, ratings)
    sync_link(name)


def rating_rows(name: str, movie_ids: Sequence[int], names: Mapping[int, str], where: str) -> None:
    """One's ratings: a star slider under each title ("Not rated" removes the rating)."""
    for movie_id in movie_ids:
        title = names.get(movie_id, str(movie_id))
        star_slider(name, movie_id, f"{where}-{movie_id}", label_md(title), titled=True)


def hidden_ui(name: str, names: Mapping[int, str]) -> None:
    """The films marked "not interested", each with a button to bring it back."""
    hidden = my_hidden(name)
    if not hidden:
        return
    with st.expander(f"Not interested ({len(hidden)})"):
        st.caption("Never recommended while hidden; bring one back to see it again.")
        for movie_id in sorted(hidden, key=lambda m: names.get(m, "")):
            st.button(
                f"Restore {label_md(names.get(movie_id, movie_id))}",
                key=f"unhide-{movie_id}",
                icon=":material/undo:",
                on_click=unhide,
                args=(name, movie_id),
            )


def keep_ui(name: str, recommender: Recommender, ratings: Mapping[int, float]) -> None:
    """Download the ratings (and hidden films) as CSV, or restore them from one."""
    keep = st.expander("Save or restore my ratings", key="keep-open", on_change="rerun")
    if not keep.open:  # drawn only when open: no CSV written on every rerun
        return
    with keep:
        st.download_button(
            "Download my ratings (CSV)",
            profile_to_csv(ratings, recommender.catalog.titles(), my_hidden(name)),
            file_name=f"my-ratings-{name}.csv",
            mime="text/csv",
            disabled=not ratings and not my_hidden(name),
            key="download",
        )
        uploaded = st.file_uploader(
            "Restore from a CSV (movie_id, rating)", type=["csv"], key="upload"
        )
        if uploaded is not None and st.session_state.get("uploaded_id") != uploaded.file_id:
            st.session_state["uploaded_id"] = uploaded.file_id
            st.session_state["upload_done"] = 0  # only this file's messages from here on
            parsed = profile_from_csv(uploaded.getvalue(), recommender.movie_ids)
            st.session_state["upload_problems"] = list(parsed.problems)
            if parsed.ratings or parsed.hidden:
                my_ratings(name).clear()
                my_ratings(name).update(parsed.ratings)
                my_hidden(name).clear()
                my_hidden(name).update(parsed.hidden)
                st.session_state["upload_done"] = len(parsed.ratings)
                st.rerun()
            else:
                st.session_state["upload_problems"].append(
                    "No usable rating in the file; your current ratings are kept."
                )
        if st.session_state.get("upload_done"):
            done = st.session_state["upload_done"]
            st.success(f"Restored {plural(done, 'rating')} from the file.")
        for problem in st.session_state.get("upload_problems", []):
            st.warning(problem)


def onboarding_ui(name: str, picks: Sequence[Recommendation]) -> None:
    st.subheader("👋 Quick start")
    st.caption(
        f"Rate at least {ONBOARDING_MIN} movies you know, from “Not rated” to 5 stars; "
        "leave the others."
    )
    columns = st.columns(2)
    for i, item in enumerate(picks):
        with columns[i % 2]:
            star_slider(
                name,
                item.movie_id,
                f"quick-{item.movie_id}",
                label_md(item.display_title),
                titled=True,
            )
    st.button(
        "Show me other films",
        key="other-films",
        icon=":material/refresh:",
        help="A fresh set of popular films to rate",
        on_click=other_starters,
        args=(name, [item.movie_id for item in picks]),
    )


def fetch_shown(name: str, recommender: Recommender, settings: Settings) -> Shown:
    """Ask the engine once for what the main column shows (raises `ValueError` for a bad
    profile or filter, `StoreUnavailable` when the engine is gone)."""
    ratings = my_ratings(name)
    hidden = my_hidden(name)
    personalised = len(ratings) >= ONBOARDING_MIN
    starters: tuple[Recommendation, ...] = ()
    if not personalised:
        seen = starters_seen(name)
        starters = recommender.starter_movies(QUICK_RATE, exclude={*seen, *hidden})
        if not starters:  # every film shown once: start over
            starters = recommender.starter_movies(QUICK_RATE, exclude=hidden)
    result = recommender.recommend_explained(
        ratings if personalised else {},
        settings.limit,
        neighbours=settings.neighbours,
        min_raters=settings.min_raters,
        # unpersonalised, the popular list leaves out what is rated or offered to rate
        hidden=hidden | {s.movie_id for s in starters} | (set() if personalised else set(ratings)),
        **settings.filters,
    )
    items = tuple(i for i in result.items if i.movie_id not in ratings)
    links = links_of(recommender, (*items, *starters))
    explanations = {} if result.popular else result.explain([i.movie_id for i in items], ratings)
    populations: dict[str, dict[str, int]] = {}
    if result.neighbours and recommender.catalog.has_demographics:
        populations = {f.name: recommender.population(f.name) for f in FILTERS}
    shown = Shown(
        result,
        personalised,
        items,
        links,
        explanations,
        populations,
        recommender.catalog.titles(),
        starters,
    )
    filtered = bool(result.where)
    if not personalised:
        return shown
    if result.popular:
        groups = "in the chosen groups " if filtered else ""
        warning = f"Nobody {groups}shares your ratings closely enough yet, so these are "
        return replace(shown, warning=warning + "popular movies instead.", widen=filtered)
    if not result.items:
        warning = (
            f"None of your {plural(len(result.neighbours), 'neighbour')}' other movies is rated "
            f"by {settings.min_raters} or more of them. Lower “Minimum raters” or ask more "
            "neighbours under Advanced in the sidebar"
            + (", or widen the filter." if filtered else ".")
        )
        return replace(shown, warning=warning, widen=filtered, stop=True)
    if len(result.neighbours) < FEW_NEIGHBOURS and filtered:
        warning = (
            f"Only {plural(len(result.neighbours), 'user')} in the chosen groups share your "
            "taste; recommendations from so few people are unreliable."
        )
        return replace(shown, warning=warning, widen=True)
    return shown


def recommendations_ui(name: str, recommender: Recommender, shown: Shown) -> None:
    """Draw what `fetch_shown` fetched: no query from here on."""
    result = shown.result
    if not shown.personalised:
        onboarding_ui(name, shown.starters)
        st.subheader("🍿 Popular movies")
        missing = ONBOARDING_MIN - len(my_ratings(name))
        st.caption(
            f"Not personalised yet: rate {plural(missing, 'more movie')} "
            "for recommendations from people of similar taste."
        )
        # Drawn when opened: the quick-rate set is what a first visit is for, and ten more
        # cards (a slider, a button and a text each) would double what the browser draws first.
        popular = st.expander(
            "The most liked films meanwhile", key="popular-open", on_change="rerun"
        )
        if popular.open:
            with popular:
                film_list(name, shown, "pop")
        return
    st.subheader("🎯 Recommended for you")
    if shown.warning:
        st.warning(shown.warning)
    if shown.widen:
        st.button("Widen the filter to everyone", key="widen", on_click=widen_filters, args=(name,))
    if shown.stop:
        return
    if result.popular:
        film_list(name, shown, "pop")
        return
    chosen = "; ".join(map(md, result.where.shown()))
    st.caption(
        f"From the {len(result.neighbours)} users whose ratings are most like yours"
        + (f" ({chosen})" if chosen else "")
        + ". Rate a film you have seen, or hide one you do not want (restore it under *My "
        "ratings*): the list updates."
    )
    film_list(name, shown, "rec")
    draw_chart(
        st.container(key="recommendation-chart"),
        recommendation_chart(shown.items, shown.explanations),
    )
    st.caption("The chart shows the neighbours' verdicts listed under each film above.")
    why_ui(name, result, shown)
    neighbours_ui(recommender, result, shown.populations)


def draw_chart(where: DeltaGenerator, spec: Spec) -> None:
    """Draw a chart of `reco.charts`: its cached specification, its rows as Arrow bytes, so a
    rerun neither builds an Altair chart nor converts data through pandas (together about a
    fifth of a rerun's CPU on this page before). The same specification each time: the
    browser only swaps the chart's data."""
    where.vega_lite_chart(arrow_datasets(spec), width="stretch")


LINK_SITES = ("IMDb", "TMDB")


def links_of(recommender: Recommender, items: Sequence[Recommendation]) -> dict[int, dict]:
    """Where to read about each film (from the index's catalog)."""
    return {item.movie_id: recommender.catalog.links(item.movie_id) for item in items}


def link_line(links: Mapping[str, str]) -> str:
    """Markdown links to a film's pages (safe http(s) addresses from the catalog)."""
    return " · ".join(f"[{site} ↗]({links[site]})" for site in LINK_SITES if site in links)


CARD_SLIDER_PX = 280  # beside the card's button on a wide screen, above it on a phone
AGREEMENTS_SHOWN = 2  # of your ratings named in a recommendation's "why"


def explanation_lines(explained: Explanation, names: Mapping[int, str]) -> list[str]:
    """A recommendation's "why" in the person's terms: the neighbours' verdicts, then which of
    the person's ratings those who liked it share (markdown, data escaped)."""
    lines = [
        f"{explained.raters} of your {explained.neighbours} neighbours rated it: "
        f"👍 {explained.good} liked · 😐 {explained.neutral} so-so · 👎 {explained.bad} disliked"
    ]
    if explained.agreements:
        first, *more = [
            (a.neighbours, md(names.get(a.movie_id, a.movie_id)), f"{a.your_stars:g}\u00a0★")
            for a in explained.agreements[:AGREEMENTS_SHOWN]
        ]
        lines.append(
            f"Of the {explained.good} who liked it, {first[0]} also gave *{first[1]}* {first[2]} "
            "like you"
            + "".join(f", and {count} *{title}* {stars}" for count, title, stars in more)
            + "."
        )
    return lines


def card_text(item: Recommendation, rank: int, shown: Shown, names: Mapping[int, str]) -> str:
    """A film card's text, one markdown block (one element to send, not four): title, genres
    and links; the predicted stars; why it is here, in small grey type."""
    links = link_line(shown.links.get(item.movie_id, {}))
    lines = [
        f"**{rank}. {md(item.display_title)}**",
        md(item.genres.replace("|", ", ")) + (f" · {links}" if links else ""),
    ]
    if item.predicted is not None:
        lines.append(f"**≈ {item.predicted:.1f}\u00a0★** predicted for you")
    explained = shown.explanations.get(item.movie_id)
    neighbours = len(shown.result.neighbours)
    if explained is not None:
        why = explanation_lines(explained, names)
    elif item.popular:
        why = [
            f"Liked (4 ★ or more) by {item.score:,.0f} of the {item.raters:,} who rated it · "
            f"mean {item.mean_rating:.1f} ★"
        ]
    else:
        why = [f"{item.raters} of your {neighbours} neighbours rated it"] if neighbours else []
    lines.extend(f":small[:gray[{line}]]" for line in why)
    return "  \n".join(lines)


def film_list(name: str, shown: Shown, where: str) -> None:
    """The listed films as cards: what each is, why it is here, and what you can do with it
    (rate it in place, hide it, read about it)."""
    if not shown.items:
        st.info("Nothing to show.")
        return
    names = shown.titles
    for rank, item in enumerate(shown.items, start=1):
        with st.container(border=True, key=f"{where}-card-{item.movie_id}"):
            st.markdown(card_text(item, rank, shown, names))
            with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
                star_slider(
                    name,
                    item.movie_id,
                    f"{where}-{item.movie_id}",
                    item.display_title,
                    width=CARD_SLIDER_PX,
                )
                st.button(
                    "Not interested",
                    key=f"hide-{where}-{item.movie_id}",
                    icon=":material/visibility_off:",
                    on_click=hide,
                    args=(name, item.movie_id),
                )


def neighbour_frame(neighbours: Sequence[Neighbour], extra: dict[str, list]) -> pd.DataFrame:
    """Neighbours as table rows: who, how similar, ``extra`` columns, then demographics."""
    return pd.DataFrame(
        {
            "Neighbour": [n.user_id for n in neighbours],
            "Similarity": [n.similarity for n in neighbours],
            **extra,
            **{
                field.title: [field.show(getattr(n, field.name)) for n in neighbours]
                for field in FILTERS
            },
        }
    )


VERDICT_WORDS = {"good": "liked it", "neutral": "so-so", "bad": "disliked it"}


@st.fragment
def why_ui(name: str, result: Recommendations, shown: Shown) -> None:
    """Every neighbour's rating of a chosen recommendation. A fragment: opening the panel or
    choosing another film redraws only the panel; a rating given here reruns the main column
    it is in (`rerun_rated_parts`)."""
    options = {item.movie_id: item for item in shown.items}
    if not options:
        return
    panel = st.expander(
        "Why these movies? Every neighbour's rating", key="why-open", on_change="rerun"
    )
    if not panel.open:  # computed only when open
        return
    with panel:
        movie_id = st.selectbox(
            "Movie",
            list(options),
            key="why",
            format_func=lambda m: options[m].display_title,
        )
        item = options[movie_id]
        reasons = result.why(movie_id)
        explained = shown.explanations.get(movie_id)
        a, b, c = st.columns(3)
        a.metric("Neighbours who rated it", f"{len(reasons)} of {len(result.neighbours)}")
        b.metric("Their mean rating", f"{item.mean_rating:.1f} ★")
        c.metric("Predicted for you", f"≈ {item.predicted:.1f}\u00a0★" if item.predicted else "–")
        if explained is not None:
            st.caption("  \n".join(explanation_lines(explained, shown.titles)))
        st.markdown("Seen it? Rate it here:")
        star_slider(name, movie_id, f"why-{movie_id}", item.display_title)
        st.container(key="why-panel").dataframe(
            neighbour_frame(
                [r.neighbour for r in reasons],
                {
                    "Their stars": [r.stars for r in reasons],
                    "Verdict": [VERDICT_WORDS[verdict(r.stars)] for r in reasons],
                },
            ),
            hide_index=True,
            column_config={"Similarity": st.column_config.NumberColumn(format="%.3f")},
            key="why-table",
        )
        st.caption(
            "Neighbours who disliked it (below 3 ★) count against it; those who liked it "
            "(4 ★ or more) are the reasons it is here."
        )


@st.fragment
def neighbours_ui(
    recommender: Recommender, result: Recommendations, populations: Mapping[str, Mapping]
) -> None:
    """Who the neighbours are, against everyone: charts (only the shown tab's is drawn) and
    their table. Drawn when opened: redrawing it with every rating cost the browser a sixth
    of the time until the new recommendations showed. A fragment: opening it or changing tab
    redraws only this section."""
    neighbours = result.neighbours
    section = st.expander(  # one label whatever their number: it stays open as it changes
        "👥 Your neighbours: who they are, against everyone",
        key="neighbours-open",
        on_change="rerun",
    )
    if not section.open:
        return
    measure = ("cosine" if recommender.encoding.normalize else "dot product") + (
        ", IDF-weighted" if recommender.encoding.idf else ""
    )
    fields = FILTERS if populations else ()
    charts = section.container(key="neighbour-charts")
    *field_tabs, similarity, table = charts.tabs(
        [*(f.title for f in fields), "Similarity", "Table"],
        key="neighbour-tab",
        on_change="rerun",
    )
    for tab, field in zip(field_tabs, fields, strict=True):
        if tab.open is False:
            continue
        counts = Counter(field.show(getattr(n, field.name)) for n in neighbours)
        everyone = {field.show(k): v for k, v in populations[field.name].items()}
        order = [field.show(v) for v in field.order] or None
        draw_chart(tab, composition_chart(field.title, counts, everyone, order))
        tab.caption(md(composition_caption(counts, everyone, order)))
    if similarity.open is not False:
        draw_chart(similarity, similarity_chart(neighbours, measure))
        similarity.caption(similarity_caption(neighbours))
    if table.open is not False:
        table.dataframe(
            neighbour_frame(
                neighbours,
                {
                    "Movies in common": [n.common for n in neighbours],
                    "Ratings": [n.ratings for n in neighbours],
                },
            ),
            hide_index=True,
            column_config={"Similarity": st.column_config.NumberColumn(format="%.3f")},
            key="neighbours-table",
        )


# --------------------------------------------------------------------------- movie night

VIEWS = ("For me", "Movie night")
MEMBER_NAME_CHARS = 30


def members(name: str) -> list[Member]:
    """The people of this session's movie night (per release: ids differ between them)."""
    return st.session_state.setdefault(f"members-{name}", [])


def member_name(given: str, taken: Sequence[str], position: int) -> str:
    """The typed name, trimmed (a default when empty), made distinct from the others'."""
    text = " ".join(given.split())[:MEMBER_NAME_CHARS] or f"Person {position}"
    unique, count = text, 1
    while unique in taken:
        count += 1
        unique = f"{text} ({count})"
    return unique


def add_me(name: str) -> None:
    group = members(name)
    taken = [m.name for m in group]
    group.append(Member(member_name("Me", taken, len(group) + 1), ME, {}))


def add_member(name: str, known: frozenset[int], release: str) -> None:
    """The add-a-person form's callback: their link (or else their CSV file) read as the app
    reads its own; nobody is added without a usable rating, and the reasons are kept to show."""
    state = st.session_state
    link, upload = state.get("member-link", ""), state.get("member-file")
    if link and link.strip():
        parsed, source = parse_link(link, known, release), "link"
    elif upload is not None:
        parsed, source = profile_from_csv(upload.getvalue(), known), "file"
    else:
        state["member-problems"] = ["Paste their shared link or choose their ratings file."]
        return
    group = members(name)
    person = member_name(state.get("member-name", ""), [m.name for m in group], len(group) + 1)
    if not parsed.ratings:
        state["member-problems"] = [f"{person} was not added: no usable ratings.", *parsed.problems]
        return
    group.append(Member(person, source, parsed.ratings, parsed.hidden, parsed.problems))
    state["member-problems"] = []


def remove_member(name: str, position: int) -> None:
    group = members(name)
    if 0 <= position < len(group):
        del group[position]


def fetch_group(name: str, recommender: Recommender, settings: Settings) -> GroupShown | None:
    """Ask the engine once for the movie night's films (None until two people have ratings);
    raises as `fetch_shown` does."""
    current = [
        replace(m, ratings=dict(my_ratings(name)), hidden=frozenset(my_hidden(name)))
        if m.source == ME
        else m
        for m in members(name)
    ]
    usable = tuple(m for m in current if m.ratings)
    if len(usable) < 2:
        return None
    rule = st.session_state.get("group-rule", DEFAULT_RULE)
    result = recommender.recommend_group(
        [m.ratings for m in usable],
        settings.limit,
        rule=rule if rule in RULES else DEFAULT_RULE,
        hidden=frozenset().union(*(m.hidden for m in usable)),
        **settings.filters,
    )
    return GroupShown(result, usable, links_of(recommender, result.items))


def member_summary(member: Member, name: str) -> str:
    """Who a member is and where their ratings come from (markdown, the name escaped)."""
    if member.source == ME:
        count = len(my_ratings(name))
        where = f"your {plural(count, 'rating')} on this page, as you change them"
    else:
        kind = "shared link" if member.source == "link" else "ratings file"
        where = f"{plural(len(member.ratings), 'rating')} from a {kind}"
        if member.hidden:
            where += f", {plural(len(member.hidden), 'film')} not interested in"
    return f"**{md(member.name)}** · {where}"


def group_card_text(item: GroupRecommendation, rank: int, shown: GroupShown) -> str:
    """A movie night film: what it is, then each person's predicted stars; who would likely
    dislike it is said in words, not only by colour (markdown, names escaped)."""
    links = link_line(shown.links.get(item.movie_id, {}))
    lines = [
        f"**{rank}. {md(item.display_title)}**",
        md(item.genres.replace("|", ", ")) + (f" · {links}" if links else ""),
    ]
    if item.predicted:
        stars = [
            f"{md(member.name)} **≈\u00a0{predicted:.1f}\u00a0★**"
            for member, predicted in zip(shown.members, item.predicted, strict=True)
        ]
        lines.append(" · ".join(stars))
    dislikers = [md(shown.members[i].name) for i in item.disliked_by]
    if dislikers:
        lines.append(f":orange[⚠ {', '.join(dislikers)} would likely dislike it]")
    if item.popular:
        lines.append(":small[:gray[Popular film: nobody's taste found similar users]]")
    return "  \n".join(lines)


def group_ui(name: str, recommender: Recommender, shown: GroupShown | None) -> None:
    """The movie night view: the people, adding one, the rule, then the films for all."""
    st.subheader("🍿 Movie night")
    st.caption(
        f"Choose a film together. Add up to {MAX_MEMBERS} people: yourself, a friend's "
        "shared link (the link under My ratings on their page) or their ratings CSV. Each "
        "person's own neighbours predict their stars; nobody gets a film they rated or hid."
    )
    group = members(name)
    for position, member in enumerate(group):
        with st.container(border=True, key=f"member-{position}"):
            row = st.container(horizontal=True, vertical_alignment="center", wrap=False)
            row.markdown(member_summary(member, name))
            row.button(
                "✕",
                key=f"remove-member-{position}",
                help=f"Remove {member.name} from the group",
                on_click=remove_member,
                args=(name, position),
            )
            for problem in member.problems:
                st.caption(f"⚠ {problem}")
            if member.source == ME and not my_ratings(name):
                st.caption("Rate a few films first (search, or switch to *For me*).")
    for problem in st.session_state.pop("member-problems", []):
        st.warning(problem)
    if len(group) < MAX_MEMBERS:
        add_people_ui(name, recommender, group)
    st.selectbox(
        "How to choose for the group",
        RULES,
        key="group-rule",
        format_func=lambda rule: RULE_LABELS[rule],
        help="Average: the films the group as a whole would like most. Nobody likely to "
        "dislike it: the same, but films someone is predicted to rate under 3 ★ come last. "
        "Least happy member: the films that leave the least pleased person best off.",
    )
    if shown is None:
        st.info("Add at least two people with ratings to see films for the group.")
        return
    result = shown.result
    counts = " · ".join(
        f"{md(m.name)} {n}" for m, n in zip(shown.members, result.neighbours, strict=True)
    )
    st.markdown(f"#### Films for {', '.join(md(m.name) for m in shown.members)}")
    st.caption(f"Neighbours of similar taste found per person: {counts}.")
    if not result.items:
        st.info("Nothing to show: every film these neighbours rated is already seen.")
    for rank, item in enumerate(result.items, start=1):
        with st.container(border=True, key=f"group-card-{item.movie_id}"):
            st.markdown(group_card_text(item, rank, shown))


def add_people_ui(name: str, recommender: Recommender, group: Sequence[Member]) -> None:
    if not any(m.source == ME for m in group):
        st.button(
            "Add me",
            key="add-me",
            icon=":material/person_add:",
            help="Your ratings on this page, kept up to date as you rate",
            on_click=add_me,
            args=(name,),
        )
    # Open until two people are in; then folded, so the films come up the page.
    with (
        st.expander("Add someone", expanded=len(group) < 2, icon=":material/group_add:"),
        st.form("add-member", clear_on_submit=True, border=False),
    ):
        st.text_input("Name", key="member-name", max_chars=MEMBER_NAME_CHARS)
        st.text_input(
            "Their shared link",
            key="member-link",
            placeholder="https://…/?r=50:5,172:4.5",
            help="The page address they copied under My ratings",
        )
        st.file_uploader("…or their ratings CSV", type=["csv"], key="member-file")
        st.form_submit_button(
            "Add to the group",
            on_click=add_member,
            args=(name, recommender.movie_ids, recommender.name),
        )


def messages_ui() -> None:
    """What was dropped from a shared link, said once; never the link's own text."""
    problems = st.session_state.pop("link_problems", [])
    if st.session_state.pop("link_dataset_problem", False):
        problems.append(
            f"The link names a dataset that is not available; showing {DEFAULT_DATASET}."
        )
    for problem in problems:
        st.warning(problem)


def main() -> None:
    st.set_page_config(page_title="Movie recommender", page_icon="🎬", layout="wide")
    st.title("🎬 Movie recommender")
    st.caption(
        "Rate movies you know; the people whose ratings are most like yours suggest what to "
        "watch next. Powered by Qdrant sparse vectors over MovieLens."
    )
    name = dataset_ui(server=server_settings()[0] is not None)
    try:
        recommender = load_recommender(name)
    except DatasetError as error:
        st.error(md(error))
        if name in KNOWN_DATASETS:
            st.info(f"Put {md(name)}.zip into the data folder and reload the page.")
        return
    except StoreUnavailable as error:
        unavailable_ui(error)
        return
    notice = st.container()  # at the top, whatever part of the page got drawn
    try:
        page_ui(name, recommender)
    except StoreUnavailable as error:  # the server stopped answering mid-session
        with notice:
            unavailable_ui(error)
        sync_link(name)  # else kept in step by My ratings (`my_ratings_ui`), maybe not drawn


def unavailable_ui(error: StoreUnavailable) -> None:
    if isinstance(error, IndexUnavailable):  # on a server: its operator rebuilds it
        st.error(md(str(error)[0].upper() + str(error)[1:]))
        st.info("Your ratings are kept. Retry once the index has been rebuilt.")
    else:
        st.error(f"The vector engine is unavailable: {md(error)}")
        st.info("Your ratings are kept. Retry when it is back.")
    st.button("Retry", key="retry", on_click=retry, type="primary")


def retry() -> None:
    """Connect to the engine again and draw the whole page (the ratings stay)."""
    reconnect()
    st.rerun()


def page_ui(name: str, recommender: Recommender) -> None:
    restore_from_link(name, recommender)
    messages_ui()
    for warning in recommender.notes:
        st.sidebar.caption(f"Data note: {md(warning)}")
    settings = settings_ui(recommender, name)
    # The main column comes first: on a phone, where columns stack, the quick-rate set or the
    # recommendations are at the top, searching and one's ratings below.
    main_column, side = st.columns([7, 4], gap="large")
    with side:  # searching and rating go on while the engine is away
        search_ui(name, recommender)
        my_ratings_ui(name, recommender)
    with main_column:
        main_ui(name, recommender, settings)


@st.fragment(key="main")
def main_ui(name: str, recommender: Recommender, settings: Settings) -> None:
    """The main column: the quick-rate set and popular films, the recommendations, or the
    movie night. Fetches its one result, then draws it. A fragment: a rating or a hidden film
    reruns it with *My ratings* (`rerun_rated_parts`), and so do its own widgets."""
    night = st.session_state.get("view") == VIEWS[1]
    shown: Shown | None = None
    group: GroupShown | None = None
    problem: Exception | None = None
    try:  # fetch what the column shows, then draw it
        if night:
            group = fetch_group(name, recommender, settings)
        else:
            shown = fetch_shown(name, recommender, settings)
    except (ValueError, StoreUnavailable) as error:
        problem = error
    st.segmented_control(
        "View",
        VIEWS,
        key="view",
        default=VIEWS[0],
        required=True,
        label_visibility="collapsed",
    )
    if isinstance(problem, StoreUnavailable):
        unavailable_ui(problem)
    elif problem is not None:
        st.error(f"Cannot recommend: {md(problem)}")
    elif night:
        group_ui(name, recommender, group)
    elif shown is not None:
        recommendations_ui(name, recommender, shown)


main()

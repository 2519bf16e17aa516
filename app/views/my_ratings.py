"""*My ratings*: the latest as sliders, all of them in a list drawn when opened, the films not
wanted, the link that holds them all, and a CSV to keep or restore them."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from urllib.parse import urlencode

import streamlit as st

from app import state
from app.text import label_md
from app.views.cards import star_slider, unhide
from app.views.keeper import where_ui
from reco.profile import (
    MAX_LINK_CHARS,
    format_hidden,
    format_profile,
    profile_from_csv,
    profile_to_csv,
)
from reco.recommend import Recommender
from reco.words import plural

MY_RATINGS_SHOWN = 8  # the latest ratings, as sliders under "My ratings"; all in a list below
MY_RATINGS_LISTED = 200  # sliders in that list (drawn when opened); the rest: search, CSV
HIDDEN_SHOWN = 50  # films a page of the "Not interested" list


@st.fragment(key="mine")
def my_ratings_ui(name: str, recommender: Recommender, offered: Sequence[str]) -> None:
    """The latest ratings as sliders (every slider on the page is redrawn at each rerun, so a
    long profile is not all drawn), all of them by title in a list drawn when opened; the
    hidden films; the link. A fragment rerun with the main column after each change."""
    ratings = state.ratings(name)
    names = recommender.catalog.titles()
    st.subheader(f"⭐ My ratings ({len(ratings)})", anchor=state.MINE_ANCHOR)
    if not ratings:
        st.caption("Nothing rated yet.")
    too_long = [
        what
        for what, text in (
            ("ratings", format_profile(ratings)),
            ("hidden films", format_hidden(state.hidden(name))),
        )
        if len(text) > MAX_LINK_CHARS
    ]
    if too_long:
        st.warning(
            f"Too many {' and '.join(too_long)} for the page address: a copied link will not "
            "hold them. Download them as CSV to keep them."
        )
    latest = list(itertools.islice(reversed(ratings), MY_RATINGS_SHOWN))  # newest first
    if len(ratings) > MY_RATINGS_SHOWN:
        st.caption(f"The {MY_RATINGS_SHOWN} you rated last; all {len(ratings):,} below.")
    rating_rows(name, latest, names, "mine")
    if ratings:
        open_page_ui(name, ratings, names)
    if len(ratings) > MY_RATINGS_SHOWN:
        every = st.expander(
            f"All {len(ratings):,} ratings, by title",
            key=state.ALL_RATINGS_OPEN,
            on_change="rerun",
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
    where_ui(name, recommender.movie_ids, offered)
    keep_ui(name, recommender, ratings)


def open_page_ui(name: str, ratings: Mapping[int, float], names: Mapping[int, str]) -> None:
    """One film's page, of any film rated: a choice and a button (not a button per film), in
    a section drawn when opened (this part reruns with every rating)."""
    section = st.expander("A film's page", key=state.OPEN_RATED_OPEN, on_change="rerun")
    if not section.open:
        return
    with section, st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
        chosen = st.selectbox(
            "A film you rated",
            list(reversed(ratings)),
            key=state.OPEN_RATED,
            format_func=lambda m: names.get(m, str(m)),
            label_visibility="collapsed",
            width=240,
        )
        st.button(
            "Its page",
            key=state.OPEN_RATED_PAGE,
            icon=":material/info:",
            help="How people rated it, who liked it, more like this",
            on_click=lambda: state.open_film(name, chosen, elsewhere=True),
        )


def rating_rows(
    name: str, movie_ids: Sequence[int], names: Mapping[int, str], where: state.Where
) -> None:
    """One's ratings: a star slider under each title ("Not rated" removes the rating)."""
    for movie_id in movie_ids:
        title = names.get(movie_id, str(movie_id))
        star_slider(name, movie_id, where, label_md(title), titled=True)


def hidden_ui(name: str, names: Mapping[int, str]) -> None:
    """The films marked "not interested", each with a button to bring it back: drawn when
    opened, `HIDDEN_SHOWN` a page (a long list drawn whole held up every rerun)."""
    hidden = state.hidden(name)
    if not hidden:
        return
    section = st.expander(
        f"Not interested ({len(hidden)})", key=state.HIDDEN_OPEN, on_change="rerun"
    )
    if not section.open:
        return
    with section:
        st.caption("Never recommended while hidden; bring one back to see it again.")
        ordered = sorted(hidden, key=lambda m: names.get(m, ""))
        pages = -(-len(ordered) // HIDDEN_SHOWN)
        page = 1
        if pages > 1:
            st.caption(f"{len(ordered):,} films by title, {HIDDEN_SHOWN} a page.")
            page = st.number_input("Page", 1, pages, 1, key=state.HIDDEN_PAGE)
        start = (min(int(page), pages) - 1) * HIDDEN_SHOWN
        for movie_id in ordered[start : start + HIDDEN_SHOWN]:
            st.button(
                f"Restore {label_md(names.get(movie_id, movie_id))}",
                key=state.unhide_key(movie_id),
                icon=":material/undo:",
                on_click=unhide,
                args=(name, movie_id),
            )


def share_ui(name: str) -> None:
    """The page link with the ratings, in a box with a copy button."""
    params = state.link_params(name)
    if state.RATINGS_PARAM not in params and state.HIDDEN_PARAM not in params:
        return
    base = (st.context.url or "").split("?")[0] or "/"
    st.caption("Your link holds your ratings: copy it to keep or share them.")
    st.code(f"{base}?{urlencode(params, safe=':,')}", language=None, wrap_lines=True)


def keep_ui(name: str, recommender: Recommender, ratings: Mapping[int, float]) -> None:
    """Download the ratings (and hidden films) as CSV, or restore them from one."""
    keep = st.expander("Save or restore my ratings", key=state.KEEP_OPEN, on_change="rerun")
    if not keep.open:  # drawn only when open: no CSV written on every rerun
        return
    hidden = state.hidden(name)
    with keep:
        st.download_button(
            "Download my ratings (CSV)",
            profile_to_csv(ratings, recommender.catalog.titles(), hidden, release=name),
            file_name=f"my-ratings-{name}.csv",
            mime="text/csv",
            disabled=not ratings and not hidden,
            key=state.DOWNLOAD,
        )
        uploaded = st.file_uploader(
            "Restore from a CSV (movie_id, rating)", type=["csv"], key=state.UPLOAD
        )
        if uploaded is not None and st.session_state.get(state.UPLOADED) != uploaded.file_id:
            st.session_state[state.UPLOADED] = uploaded.file_id
            restore(name, uploaded.getvalue(), recommender)
        for kind, text in st.session_state.get(state.UPLOAD_MESSAGES, []):
            (st.success if kind == "success" else st.warning)(text)
        if state.per_release(state.BEFORE_RESTORE, name) in st.session_state:
            st.button(
                "Undo the restore",
                key=state.UNDO_RESTORE,
                icon=":material/undo:",
                help="Your ratings and hidden films as they were before the file",
                on_click=undo_restore,
                args=(name,),
            )


def restore(name: str, data: bytes, recommender: Recommender) -> None:
    """A CSV file's ratings in place of the session's, and its hidden films in place of
    theirs, each only when the file holds some (a file of hidden films alone keeps the
    ratings); what the file replaced can be brought back (*Undo the restore*). What was left
    out is kept to show while the section stays open (only this file's messages)."""
    titles = recommender.catalog.titles()
    parsed = profile_from_csv(data, recommender.movie_ids, release=name, titles=titles)
    messages = [("warning", problem) for problem in parsed.problems]
    if parsed.ratings or parsed.hidden:
        ratings, hidden = state.ratings(name), state.hidden(name)
        st.session_state[state.per_release(state.BEFORE_RESTORE, name)] = (
            dict(ratings),
            set(hidden),
        )
        said = []
        if parsed.ratings:
            said.append(f"{plural(len(parsed.ratings), 'rating')}")
            if ratings:
                said[-1] += f" in place of your {plural(len(ratings), 'earlier one')}"
            ratings.clear()
            ratings.update(parsed.ratings)
        if parsed.hidden:
            said.append(f"{plural(len(parsed.hidden), 'film')} not interested in")
            hidden.clear()
            hidden.update(parsed.hidden)
        messages.insert(0, ("success", f"Restored {' and '.join(said)} from the file."))
        st.session_state[state.UPLOAD_MESSAGES] = messages
        st.rerun()  # the whole page, which also puts the ratings in its address
    messages.append(("warning", "No usable rating in the file; your current ratings are kept."))
    st.session_state[state.UPLOAD_MESSAGES] = messages


def undo_restore(name: str) -> None:
    """Bring back the ratings and hidden films a restore replaced."""
    before = st.session_state.pop(state.per_release(state.BEFORE_RESTORE, name), None)
    if before is None:
        return
    ratings, hidden = state.ratings(name), state.hidden(name)
    ratings.clear()
    ratings.update(before[0])
    hidden.clear()
    hidden.update(before[1])
    st.session_state[state.UPLOAD_MESSAGES] = [
        ("success", "Your ratings and hidden films from before the file are back.")
    ]
    st.rerun()  # the whole page: the recommendations and the address follow the ratings

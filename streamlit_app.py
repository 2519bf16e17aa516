"""Movie recommender: search, rate with sliders, get recommendations from people of similar taste.

The frame of the page: its title, the release, then the views of `app.views`; everything
below the page is the `reco` package.
"""

from __future__ import annotations

import logging

import streamlit as st

from app.resources import load_recommender, settings
from app.text import md
from app.views.page import page_ui, unavailable_ui
from app.views.sidebar import offered_releases, release_ui
from reco.datasets import DatasetError, DatasetUnavailable
from reco.fatal import trace_fatal_signals
from reco.settings import SettingError
from reco.store import StoreUnavailable

log = logging.getLogger("reco.app")
trace_fatal_signals()  # a write to a full disk kills without an exception: the log says so


def release_problem(name: str, error: DatasetError) -> str:
    """Why a release cannot be opened, as a visitor may read it: never a server path or a
    file's contents (the server's log has them)."""
    if isinstance(error, DatasetUnavailable):
        return (
            f"Could not download {name} just now, and its files are not on this server: the "
            f"site's operator can put {name}.zip into its data folder."
        )
    return (
        f"The files of {name} on this server cannot be read: the site's operator can replace them."
    )


def main() -> None:
    st.set_page_config(page_title="Movie recommender", page_icon="🎬", layout="wide")
    st.title("🎬 Movie recommender")
    st.caption(
        "Rate movies you know; the people whose ratings are most like yours suggest what to "
        "watch next. Powered by Qdrant sparse vectors over MovieLens."
    )
    try:
        configured = settings()
    except SettingError as error:  # names the setting, never its value
        st.error(f"The app is misconfigured: {md(error)}")
        return
    name = release_ui(configured)
    try:
        recommender = load_recommender(name)
    except DatasetError as error:  # the details, with the server's paths, go to its log
        log.warning("release %s cannot be opened: %s", name, error)
        st.error(md(release_problem(name, error)))
        st.info("Your ratings are kept. Choose another release in the sidebar meanwhile.")
        return
    except StoreUnavailable as error:
        unavailable_ui(error)
        return
    notice = st.container()  # at the top, whatever part of the page got drawn
    try:
        page_ui(name, recommender, offered_releases(configured))
    except StoreUnavailable as error:  # the server stopped answering mid-session
        with notice:  # the page address already holds the ratings (`page_ui`)
            unavailable_ui(error)


main()

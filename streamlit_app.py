"""Movie recommender: search, rate with sliders, get recommendations from people of similar taste.

The frame of the page: its title, the release, then the views of `app.views`; everything
below the page is the `reco` package.
"""

from __future__ import annotations

import streamlit as st

from app.resources import settings
from app.text import md
from app.views.opening import open_release
from app.views.page import page_ui, unavailable_ui
from app.views.sidebar import offered_releases, release_ui
from reco.fatal import trace_fatal_signals
from reco.settings import SettingError
from reco.store import StoreUnavailable

trace_fatal_signals()  # a write to a full disk kills without an exception: the log says so


def main() -> None:
    st.set_page_config(page_title="Movie recommender", page_icon="🎬", layout="wide")
    top = st.container(horizontal=True, vertical_alignment="center", key="page-top")
    top.title(
        "🎬 Movie recommender",
        width="content",
        help="Powered by Qdrant: each MovieLens user is a sparse vector of their ratings, and "
        "the users whose vectors are nearest yours suggest what to watch next.",
    )
    try:
        configured = settings()
    except SettingError as error:  # names the setting, never its value
        st.error(f"The app is misconfigured: {md(error)}")
        return
    chosen, offered = release_ui(configured), offered_releases(configured)
    try:
        opened = open_release(chosen, offered)  # or the release the person had, meanwhile
    except StoreUnavailable as error:
        unavailable_ui(error)
        return
    if opened is None:
        return
    name, recommender = opened
    notice = st.container()  # at the top, whatever part of the page got drawn
    try:
        page_ui(name, recommender, offered, top)
    except StoreUnavailable as error:  # the server stopped answering mid-session
        with notice:  # the page address already holds the ratings (`page_ui`)
            unavailable_ui(error)


main()

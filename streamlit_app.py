"""Movie recommender: search, rate with sliders, get recommendations from people of similar taste.

The frame of the page: its title, the release, then the views of `app.views`; everything
below the page is the `reco` package.
"""

from __future__ import annotations

import streamlit as st

from app.resources import load_recommender, settings
from app.text import md
from app.views.page import page_ui, unavailable_ui
from app.views.sidebar import offered_releases, release_ui
from reco.datasets import KNOWN_DATASETS, DatasetError
from reco.settings import SettingError
from reco.store import StoreUnavailable


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
        page_ui(name, recommender, offered_releases(configured))
    except StoreUnavailable as error:  # the server stopped answering mid-session
        with notice:  # the page address already holds the ratings (`page_ui`)
            unavailable_ui(error)


main()

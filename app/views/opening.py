"""Opening the release a person chose; when it cannot be opened, the message, and the page
carries on with the release they had, their choice kept in the address for a reload."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import streamlit as st

from app import state
from app.resources import load_recommender, reconnect
from app.text import md
from app.views.sidebar import on_this_machine
from reco.datasets import DatasetError, DatasetUnavailable
from reco.recommend import Recommender
from reco.store import IndexNotBuilt, StoreUnavailable

log = logging.getLogger("reco.app")


def release_problem(name: str, error: DatasetError | IndexNotBuilt) -> str:
    """Why a release cannot be opened, as a visitor may read it: never a server path or a
    file's contents (the server's log has them)."""
    if isinstance(error, IndexNotBuilt):
        return (
            f"The index of {name} cannot be built on this server just now: {error.reason}. "
            "The site's operator can fix that."
        )
    if isinstance(error, DatasetUnavailable):
        return (
            f"Could not download {name} just now, and its files are not on this server: the "
            f"site's operator can put {name}.zip into its data folder."
        )
    return (
        f"The files of {name} on this server cannot be read: the site's operator can replace them."
    )


def open_release(chosen: str, offered: Sequence[str]) -> tuple[str, Recommender] | None:
    """The release to show and its recommender: the chosen one, or, when it cannot be
    opened, the one the page showed before (else the first other offered that is on this
    machine: no download started for it) under the message why; None, after the message,
    when none opens. `StoreUnavailable` (the engine away) passes on: no release would open."""
    try:
        recommender = load_recommender(chosen)
    except (DatasetError, IndexNotBuilt) as error:  # the details go to the server's log
        log.warning("release %s cannot be opened: %s", chosen, error)
        problem = release_problem(chosen, error)
    else:
        state.opened(chosen)
        return chosen, recommender
    st.error(md(problem))
    fallback = state.last_opened(chosen)
    if fallback not in offered:  # a first visit: a release that opens without a download
        fallback = next((r for r in offered if r != chosen and on_this_machine(r)), None)
    if fallback is not None:
        try:
            recommender = load_recommender(fallback)
        except (DatasetError, StoreUnavailable) as error:
            log.warning("release %s cannot be opened either: %s", fallback, error)
        else:
            state.opened(fallback)
            st.info(
                f"Showing {fallback} meanwhile, with your ratings of it. {chosen} stays "
                "chosen and in the page's address: reloading the page tries it again."
            )
            buttons = st.container(horizontal=True, gap="small")
            buttons.button(
                f"Stay on {fallback}",
                key=state.STAY,
                on_click=state.choose_release,
                args=(fallback,),
            )
            buttons.button(f"Try {chosen} again", key=state.RETRY_RELEASE, on_click=reconnect)
            return fallback, recommender
    st.info("Your ratings are kept. Choose another release in the sidebar meanwhile.")
    return None

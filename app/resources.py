"""The page's cached resources: the recommender of each release and what is read from it.

Defined here, in a module Python imports once per process, rather than in the page script,
which Streamlit runs afresh on every interaction: decorating a function with ``st.cache_*``
reads its source to key the cache, and doing that on every rerun cost about 5% of one.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import streamlit as st

from reco import MovieSearch, Recommender, open_recommender
from reco.datasets import DatasetError
from reco.recommend import one_blas_thread
from reco.settings import Settings, read_settings
from reco.store import IndexNotBuilt

log = logging.getLogger("reco.app")
one_blas_thread()  # sessions query side by side: small products, each on one thread


@dataclass
class Slot:
    """Where a release's recommender is kept once opened."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    recommender: Recommender | None = None
    failure: DatasetError | IndexNotBuilt | None = None  # the last failure, and when
    failed_at: float = 0.0


RETRY_FAILED_AFTER = 600.0
"""Seconds a release that could not be opened (a failed download, files that cannot be read,
a build the disk cannot hold) is remembered: the visitors meanwhile get its message at once
instead of each waiting out another attempt (*Retry* clears it)."""


@st.cache_resource(show_spinner=False)
def _slot(name: str) -> Slot:
    """A release's slot, once per process (cleared with Streamlit's caches). The cached
    function draws nothing: Streamlit replays on every later call whatever a cached function
    drew, so a progress bar drawn inside one came back, and went again, on every run."""
    return Slot()


def load_recommender(name: str) -> Recommender:
    """Once per process: load the dataset (downloading it if needed) and open or build its
    index, with a progress bar; later calls return the same recommender and draw nothing."""
    slot = _slot(name)
    with slot.lock:  # another session opening the same release waits for this one
        if slot.recommender is None:
            recent = time.monotonic() - slot.failed_at < RETRY_FAILED_AFTER
            if slot.failure is not None and recent:
                raise slot.failure
            try:
                slot.recommender = _open(name)
            except (DatasetError, IndexNotBuilt) as error:
                slot.failure, slot.failed_at = error, time.monotonic()
                raise
        return slot.recommender


def _open(name: str) -> Recommender:
    bar = st.progress(0.0, text=f"Preparing {name}…")

    def downloading(done: int, total: int | None) -> None:
        text = f"Downloading {name}: {done / 1e6:,.1f} MB"
        bar.progress(min(done / total, 1.0) if total else 0.0, text=text)

    def indexing(done: int, total: int | None) -> None:
        text = f"Indexing {name}: {done:,} of {total:,} users (once; reused next time)"
        bar.progress(min(done / total, 1.0) if total else 0.0, text=text)

    configured = settings()
    try:
        opened = open_recommender(
            name,
            qdrant_url=configured.qdrant_url,
            qdrant_api_key=configured.qdrant_api_key,
            download_progress=downloading,
            build_progress=indexing,
        )
    finally:
        bar.empty()
    for note in opened.notes:  # what the build skipped: for the operator, not the visitors
        log.warning("%s: %s", name, note)
    return opened


def settings() -> Settings:
    """The operator's settings (`reco.settings`), the server's address and key from
    Streamlit's secrets first. The key goes to the client only: never shown, never logged."""
    try:
        secrets = {name: st.secrets.get(name) for name in ("QDRANT_URL", "QDRANT_API_KEY")}
    except FileNotFoundError:  # no secrets.toml at all (Streamlit's error subclasses it)
        secrets = {}
    return read_settings(secrets=secrets)


def reconnect() -> None:
    """Retry: drop the cached engine so the next run connects again (ratings stay)."""
    _slot.clear()


@st.cache_resource(show_spinner=False)
def movie_search(name: str) -> MovieSearch:
    return MovieSearch.of(load_recommender(name).catalog)

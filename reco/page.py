"""What the page shows: the sidebar's settings and the result fetched before anything is drawn.

Plain data (no Streamlit): defined here rather than in the page script, which Streamlit runs
anew on every interaction (re-creating a dataclass costs more than drawing a chart).
"""

from __future__ import annotations

from dataclasses import dataclass

from reco.explain import Explanation
from reco.recommend import Recommendation, Recommendations


@dataclass(frozen=True)
class Settings:
    filters: dict[str, list[str]]  # by the filters' keywords
    neighbours: int
    limit: int
    min_raters: int


@dataclass(frozen=True)
class Shown:
    """Everything the main column shows, fetched before any of it is drawn."""

    result: Recommendations
    personalised: bool
    items: tuple[Recommendation, ...]  # the films listed
    links: dict[int, dict]  # movie id -> where to read about it
    explanations: dict[int, Explanation]  # movie id -> what the neighbours thought
    populations: dict[str, dict[str, int]]  # filter field -> everyone's counts (for charts)
    starters: tuple[Recommendation, ...] = ()  # the quick-rate set (before personalising)
    warning: str | None = None  # what to say first
    widen: bool = False  # offer to widen the filter to everyone
    stop: bool = False  # nothing to show after the warning

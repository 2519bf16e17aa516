"""What the page shows: the sidebar's settings and the result fetched before anything is drawn.

Plain data (no Streamlit): defined here rather than in the page script, which Streamlit runs
anew on every interaction (re-creating a dataclass costs more than drawing a chart).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reco.explain import Explanation
from reco.recommend import GroupRecommendations, Recommendation, Recommendations


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
    titles: Mapping[int, str]  # movie id -> display title, every film (the catalog's)
    starters: tuple[Recommendation, ...] = ()  # the quick-rate set (before personalising)
    warning: str | None = None  # what to say first
    widen: bool = False  # offer to widen the filter to everyone
    stop: bool = False  # nothing to show after the warning


ME = "me"  # a member who is the person using the page: their ratings as they are now


@dataclass(frozen=True)
class Member:
    """One person of a movie night: a name typed by the person, and ratings from a shared
    link, a CSV file or (``source == ME``) the page's own."""

    name: str
    source: str  # ME, "link" or "file"
    ratings: dict[int, float]
    hidden: frozenset[int] = frozenset()
    problems: tuple[str, ...] = ()  # what was left out of the link or file


@dataclass(frozen=True)
class GroupShown:
    """A movie night's films, fetched before any of it is drawn."""

    result: GroupRecommendations
    members: tuple[Member, ...]  # those the films are for, in the order of the predictions
    links: dict[int, dict]  # movie id -> where to read about it

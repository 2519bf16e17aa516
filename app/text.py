"""How the page words things: data shown literally in markdown and in widget labels, stars,
links to a film's pages, and the sentences of a `reco` result's notices."""

from __future__ import annotations

import re
from collections.abc import Mapping

from app.fetch import Notice
from reco.words import plural

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


LINK_SITES = ("IMDb", "TMDB")


def link_line(links: Mapping[str, str]) -> str:
    """Markdown links to a film's pages (safe http(s) addresses from the catalog)."""
    return " · ".join(f"[{site} ↗]({links[site]})" for site in LINK_SITES if site in links)


def notice_text(notice: Notice) -> str:
    """A notice of `app.fetch.fetch_shown` as the page says it."""
    if notice.kind == "popular-instead":
        groups = "in the chosen groups " if notice.filtered else ""
        return (
            f"Nobody {groups}shares your ratings closely enough yet, so these are "
            "popular movies instead."
        )
    if notice.kind == "nothing-popular-enough":
        return (
            "Nobody in the chosen groups shares your ratings closely enough yet, and no film "
            f"is rated by {notice.min_raters} or more of the {plural(notice.users, 'user')} "
            "in them. Widen the filter, or lower “Minimum raters” under Advanced."
        )
    if notice.kind == "nothing-rated-enough":
        return (
            f"None of your {plural(notice.neighbours, 'neighbour')}' other movies is rated "
            f"by {notice.min_raters} or more of them. Lower “Minimum raters” or ask more "
            "neighbours under Advanced in the sidebar"
            + (", or widen the filter." if notice.filtered else ".")
        )
    return (
        f"Only {plural(notice.neighbours, 'user')} in the chosen groups share your "
        "taste; recommendations from so few people are unreliable."
    )

"""Explore in the page link: ``?g=Comedy,Drama&y=1990-1999&k=lesser-known&o=stars`` narrows the
recommendations of the release shown (`reco.explore`).

A link is read in two steps: `parse` takes what has the right shape (before the release is
open), `checked` keeps what the release has (its genres and years, once its catalog is
there); what is left out is said, never the link's own text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reco.explore import KNOWN, ORDERS, FilmFilter, parse_years

GENRES_PARAM, YEARS_PARAM, KNOWN_PARAM, ORDER_PARAM = "g", "y", "k", "o"
EXPLORE_PARAMS = (GENRES_PARAM, YEARS_PARAM, KNOWN_PARAM, ORDER_PARAM)
MAX_GENRES = 30


def params(films: FilmFilter, order: str) -> dict[str, str]:
    """The narrowing and order as link parameters (each left out at its default)."""
    found = {
        GENRES_PARAM: ",".join(films.genres),
        YEARS_PARAM: f"{films.years[0]}-{films.years[1]}" if films.years else "",
        KNOWN_PARAM: films.known if films.known != "any" else "",
        ORDER_PARAM: order if order != ORDERS[0] else "",
    }
    return {key: value for key, value in found.items() if value}


def parse(given: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """What a link asks to explore, as far as its shape goes: ``{"genres": [...], "years":
    (low, high), "known": ..., "order": ...}`` (only what it holds), and what was left out."""
    found: dict[str, Any] = {}
    problems: list[str] = []
    genres = [g.strip() for g in str(given.get(GENRES_PARAM, "")).split(",") if g.strip()]
    if genres:
        found["genres"] = [g[:40] for g in genres[:MAX_GENRES]]
    years = given.get(YEARS_PARAM)
    if years:
        try:
            found["years"] = parse_years(years)
        except ValueError:
            problems.append("The link's years are not a range such as 1990-1999: left out.")
    for key, name, allowed in ((KNOWN_PARAM, "known", KNOWN), (ORDER_PARAM, "order", ORDERS)):
        value = given.get(key)
        if value and value in allowed:
            found[name] = value
        elif value:
            problems.append(f"The link's {name} is not one of {', '.join(allowed)}: left out.")
    return found, problems


def checked(
    found: Mapping[str, Any], genres: Sequence[str], span: tuple[int, int]
) -> tuple[dict[str, Any], list[str]]:
    """Of `parse`'s answer, what the release has: its genres (any case), years clipped to its
    span (left out when none overlaps); and what was left out."""
    kept = {key: value for key, value in found.items() if key in ("known", "order")}
    problems: list[str] = []
    spelt = {genre.casefold(): genre for genre in genres}
    wanted = found.get("genres", [])
    known = list(dict.fromkeys(spelt[g.casefold()] for g in wanted if g.casefold() in spelt))
    if known:
        kept["genres"] = known
    if len(known) < len(wanted):
        missing = len(wanted) - len(known)
        problems.append(
            f"{missing} genre{'s' if missing > 1 else ''} of the link this release does not "
            "have: left out."
        )
    if "years" in found:
        low, high = max(found["years"][0], span[0]), min(found["years"][1], span[1])
        if low <= high:
            kept["years"] = (low, high)
        else:
            problems.append(f"The link's years are outside this release's {span[0]}–{span[1]}.")
    return kept, problems

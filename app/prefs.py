"""What else a person set, kept with their ratings in the browser (`app.views.keeper`): the view,
how many recommendations, the advanced choices, the neighbour filters and movie night's people
of each release, the search.

`collect` reads them from the session as plain JSON values; `checked` keeps of what a browser
sent back only values the page's own widgets could hold (the rest is dropped, never shown);
`apply` puts them in the session before any widget is drawn (Streamlit refuses a widget's
value set after it is drawn), and `restore_pending` a release's filters and people once it
opens (its films and filter values known then).
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping, Sequence
from typing import Any

import streamlit as st

from app import state
from app.fetch import ME, Member
from reco import filters
from reco.group import RULES
from reco.profile import format_hidden, format_profile, parse_hidden, parse_profile

MAX_MEMBERS = 6
MAX_SEARCH_CHARS = 200
Choices = Callable[[str], Sequence[str]]  # a filter field's values in the open release
NUMBERS = {state.LIMIT: (5, 50), state.NEIGHBOURS: (5, 200), state.MIN_RATERS: (1, 10)}


def collect(releases: Sequence[str]) -> dict[str, Any]:
    """The person's choices in this session, as JSON values."""
    session = st.session_state
    kept: dict[str, Any] = {
        key: session[key] for key in (state.VIEW, state.GROUP_RULE, *NUMBERS) if key in session
    }
    if session.get(state.SEARCH):
        kept[state.SEARCH] = session[state.SEARCH]
    chosen = {
        release: {f.keyword: list(session[state.filter_key(f, release)]) for f in filters.FILTERS
                  if session.get(state.filter_key(f, release))}
        for release in releases
    }  # fmt: skip
    people = {
        release: [
            {"name": m.name, "source": m.source, "r": format_profile(m.ratings),
             "h": format_hidden(set(m.hidden))}
            for m in session.get(state.per_release(state.MEMBERS, release), [])
        ]
        for release in releases
    }  # fmt: skip
    others = session.get(state.KEPT_OTHERS, {})  # releases not opened since
    people.update(others.get("members", {}))
    chosen.update(others.get("filters", {}))
    if any(chosen.values()):
        kept["filters"] = {release: fields for release, fields in chosen.items() if fields}
    if any(people.values()):
        kept["members"] = {release: group for release, group in people.items() if group}
    return kept


def checked(given: object, offered: Sequence[str]) -> dict[str, Any]:
    """Of what a browser sent back, what the page's widgets could hold."""
    if not isinstance(given, Mapping):
        return {}
    kept: dict[str, Any] = {}
    if given.get(state.VIEW) in state.VIEWS:
        kept[state.VIEW] = given[state.VIEW]
    if given.get(state.GROUP_RULE) in RULES:
        kept[state.GROUP_RULE] = given[state.GROUP_RULE]
    for key, (low, high) in NUMBERS.items():
        value = given.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
            kept[key] = value
    search = given.get(state.SEARCH)
    if isinstance(search, str) and len(search) <= MAX_SEARCH_CHARS:
        kept[state.SEARCH] = search
    kept["filters"] = {
        release: {
            keyword: [v for v in values if isinstance(v, str)][:50]
            for keyword, values in fields.items()
            if keyword in {f.keyword for f in filters.FILTERS} and isinstance(values, list)
        }
        for release, fields in _per_release(given.get("filters"), offered).items()
        if isinstance(fields, Mapping)
    }
    kept["members"] = {
        release: [m for m in group if _member_shape(m)][:MAX_MEMBERS]
        for release, group in _per_release(given.get("members"), offered).items()
        if isinstance(group, list)
    }
    return kept


def _per_release(value: object, offered: Sequence[str]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k in offered} if isinstance(value, Mapping) else {}


def _member_shape(member: object) -> bool:
    return (
        isinstance(member, Mapping)
        and isinstance(member.get("name"), str)
        and 0 < len(member["name"]) <= 40
        and member.get("source") in (ME, "link", "file")
        and all(isinstance(member.get(kind, ""), str) for kind in ("r", "h"))
    )


def apply(kept: Mapping[str, Any], name: str, known: Container[int], choices: Choices) -> None:
    """Put checked choices into the session (before the widgets are drawn); release
    ``name``'s filters and people now, the other releases' when each opens
    (`restore_pending`)."""
    session = st.session_state
    for key in (state.VIEW, state.GROUP_RULE, state.SEARCH, *NUMBERS):
        if key in kept:
            session[key] = kept[key]
    session[state.KEPT_OTHERS] = {
        kind: {release: value for release, value in kept.get(kind, {}).items()}
        for kind in ("filters", "members")
    }
    restore_pending(name, known, choices)


def restore_pending(name: str, known: Container[int], choices: Choices) -> None:
    """Release ``name``'s kept filters and people, once it opens: filter values it offers
    (a widget given any other would fail), people with a usable rating (the page's own "Me"
    follows the page's ratings); not over what was chosen meanwhile."""
    pending = st.session_state.get(state.KEPT_OTHERS, {})
    fields = pending.get("filters", {}).pop(name, None) or {}
    for field in filters.FILTERS:
        key = state.filter_key(field, name)
        if field.keyword in fields and not st.session_state.get(key):
            allowed = set(choices(field.name))
            st.session_state[key] = [v for v in fields[field.keyword] if v in allowed]
    group = pending.get("members", {}).pop(name, None)
    if group and not state.members(name):
        st.session_state[state.per_release(state.MEMBERS, name)] = [
            member
            for person in group
            if (member := _member(person, known)).source == ME or member.ratings
        ]


def _member(person: Mapping[str, str], known: Container[int]) -> Member:
    parsed = parse_profile(person.get("r", ""), known)
    hidden = parse_hidden(person.get("h", ""), known).hidden
    return Member(person["name"], person["source"], parsed.ratings, frozenset(hidden))

"""A movie night in a link of its own, ``?night=Ann~1:5,71:5|Sam~50:5~174``: each person's
name, ratings and (after a second ``~``) hidden films, so the group can be opened by any of
them, on any device. "Me" goes in as the ratings it has now, under its name.

Read like a person's link: known films only, at most `MAX_MEMBERS` people, names cut to the
form's length and rid of the separators; what was left out is said, never the link's text.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence

from app.fetch import ME, Member
from reco.group import MAX_MEMBERS
from reco.profile import format_hidden, format_profile, parse_hidden, parse_profile

NIGHT_PARAM = "night"
MEMBER_NAME_CHARS = 40
_PEOPLE, _PARTS = "|", "~"


def night_param(group: Sequence[Member], own: Mapping[int, float], own_hidden: set[int]) -> str:
    """The group as the ``night`` parameter's value (the page's own ratings for "Me")."""
    people = []
    for member in group:
        rated, hid = (own, own_hidden) if member.source == ME else (member.ratings, member.hidden)
        name = "".join(c for c in member.name if c not in _PEOPLE + _PARTS)[:MEMBER_NAME_CHARS]
        if rated:
            parts = [name or "Someone", format_profile(rated), format_hidden(set(hid))]
            people.append(_PARTS.join(part for part in parts if part))
    return _PEOPLE.join(people)


def parse_night(text: str, known: Container[int]) -> tuple[list[Member], list[str]]:
    """The people of a ``night`` parameter, and what was left out (worded, without the
    link's own text)."""
    members: list[Member] = []
    problems: list[str] = []
    people = [p for p in text.split(_PEOPLE) if p.strip()]
    if len(people) > MAX_MEMBERS:
        problems.append(
            f"The movie night link holds {len(people)} people; the first {MAX_MEMBERS} are in."
        )
    skipped = 0
    for person in people[:MAX_MEMBERS]:
        name, _, rest = person.partition(_PARTS)
        rated, _, hid = rest.partition(_PARTS)
        name = name.strip()[:MEMBER_NAME_CHARS] or f"Person {len(members) + 1}"
        parsed = parse_profile(rated, known)
        if not parsed.ratings:
            skipped += 1
            continue
        hidden = parse_hidden(hid, known).hidden
        members.append(Member(name, "link", parsed.ratings, frozenset(hidden), parsed.problems))
    if skipped:
        who = "1 person" if skipped == 1 else f"{skipped} people"
        problems.append(f"{who} of the movie night link had no usable rating: left out.")
    return members, problems

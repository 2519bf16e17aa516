"""*Movie night*: the people (yourself, a friend's shared link or ratings file), the rule that
chooses for the group, then the films for everyone with each person's predicted stars."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urlencode

import streamlit as st

from app import state
from app.fetch import ME, GroupShown, Member
from app.group_link import NIGHT_PARAM, night_param
from app.text import link_line, md
from reco.datasets import DEFAULT_DATASET
from reco.group import MAX_MEMBERS, RULE_LABELS, RULES
from reco.profile import parse_link, profile_from_csv
from reco.recommend import GroupRecommendation, Recommender
from reco.scale import DISLIKED_BELOW, stars_text
from reco.words import plural

MEMBER_NAME_CHARS = 30


def member_name(given: str, taken: Sequence[str], position: int) -> str:
    """The typed name, trimmed (a default when empty), made distinct from the others'."""
    text = " ".join(given.split())[:MEMBER_NAME_CHARS] or f"Person {position}"
    unique, count = text, 1
    while unique in taken:
        count += 1
        unique = f"{text} ({count})"
    return unique


def add_me(name: str) -> None:
    group = state.members(name)
    taken = [m.name for m in group]
    group.append(Member(member_name("Me", taken, len(group) + 1), ME, {}))


def add_member(name: str, known: frozenset[int], release: str, titles: Mapping[int, str]) -> None:
    """The add-a-person form's callback: their link (or else their CSV file) read as the app
    reads its own; nobody is added without a usable rating, and the reasons are said."""
    session = st.session_state
    link, upload = session.get(state.MEMBER_LINK, ""), session.get(state.MEMBER_FILE)
    if link and link.strip():
        parsed, source = parse_link(link, known, release), "link"
    elif upload is not None:
        parsed = profile_from_csv(upload.getvalue(), known, release=release, titles=titles)
        source = "file"
    else:
        state.flash("Paste their shared link or choose their ratings file.", place="group")
        return
    group = state.members(name)
    person = member_name(
        session.get(state.MEMBER_NAME, ""), [m.name for m in group], len(group) + 1
    )
    if not parsed.ratings:
        for problem in (f"{person} was not added: no usable ratings.", *parsed.problems):
            state.flash(problem, place="group")
        return
    group.append(Member(person, source, parsed.ratings, parsed.hidden, parsed.problems))


def remove_member(name: str, position: int) -> None:
    group = state.members(name)
    if 0 <= position < len(group):
        del group[position]


def member_summary(member: Member, name: str) -> str:
    """Who a member is and where their ratings come from (markdown, the name escaped)."""
    if member.source == ME:
        count = len(state.ratings(name))
        where = f"your {plural(count, 'rating')} on this page, as you change them"
    else:
        kind = "shared link" if member.source == "link" else "ratings file"
        where = f"{plural(len(member.ratings), 'rating')} from a {kind}"
        if member.hidden:
            where += f", {plural(len(member.hidden), 'film')} not interested in"
    return f"**{md(member.name)}** · {where}"


def group_card_text(item: GroupRecommendation, rank: int, shown: GroupShown) -> str:
    """A movie night film: what it is, then each person's predicted stars; who would likely
    dislike it is said in words, not only by colour (markdown, names escaped)."""
    links = link_line(shown.links.get(item.movie_id, {}))
    lines = [
        f"**{rank}. {md(item.display_title)}**",
        md(item.genres.replace("|", ", ")) + (f" · {links}" if links else ""),
    ]
    if item.predicted:
        stars = [
            f"{md(member.name)} **≈\u00a0{predicted:.1f}\u00a0★**"
            for member, predicted in zip(shown.members, item.predicted, strict=True)
        ]
        lines.append(" · ".join(stars))
    dislikers = [md(shown.members[i].name) for i in item.disliked_by]
    if dislikers:
        lines.append(f":orange[⚠ {', '.join(dislikers)} would likely dislike it]")
    if item.popular:
        lines.append(":small[:gray[Popular film: nobody's taste found similar users]]")
    return "  \n".join(lines)


def group_ui(name: str, recommender: Recommender, shown: GroupShown | None) -> None:
    """The movie night view: the people, adding one, the rule, then the films for all."""
    st.subheader("🍿 Movie night")
    st.caption(
        f"Choose a film together. Add up to {MAX_MEMBERS} people: yourself, a friend's "
        "shared link (the link under My ratings on their page) or their ratings CSV. Each "
        "person's own neighbours predict their stars; nobody gets a film they rated or hid."
    )
    group = state.members(name)
    for position, member in enumerate(group):
        with st.container(border=True, key=f"member-{position}"):
            row = st.container(horizontal=True, vertical_alignment="center", wrap=False)
            row.markdown(member_summary(member, name))
            row.button(
                "✕",
                key=state.remove_member_key(position),
                help=f"Remove {member.name} from the group",
                on_click=remove_member,
                args=(name, position),
            )
            for problem in member.problems:
                st.caption(f"⚠ {problem}")
            if member.source == ME and not state.ratings(name):
                st.caption("Rate a few films first (search, or switch to *For me*).")
    for _, problem in state.take_flashes("group"):
        st.warning(problem)
    if len(group) < MAX_MEMBERS:
        add_people_ui(name, recommender, group)
    share_night_ui(name, group)
    st.selectbox(
        "How to choose for the group",
        RULES,
        key=state.GROUP_RULE,
        format_func=lambda rule: RULE_LABELS[rule],
        help="Average: the films the group as a whole would like most. Nobody likely to "
        f"dislike it: the same, but films someone is predicted to rate under "
        f"{stars_text(DISLIKED_BELOW)} come last. "
        "Least happy member: the films that leave the least pleased person best off.",
    )
    if shown is None:
        st.info("Add at least two people with ratings to see films for the group.")
        return
    result = shown.result
    counts = " · ".join(
        f"{md(m.name)} {n}" for m, n in zip(shown.members, result.neighbours, strict=True)
    )
    st.markdown(f"#### Films for {', '.join(md(m.name) for m in shown.members)}")
    st.caption(
        f"Neighbours of similar taste found per person: {counts}. The order follows the rule "
        "chosen above, on how strongly each person's neighbours back a film (its score over "
        "their best film's), not on the stars shown."
    )
    if not result.items:
        st.info("Nothing to show: every film these neighbours rated is already seen.")
    for rank, item in enumerate(result.items, start=1):
        with st.container(border=True, key=f"group-card-{item.movie_id}"):
            st.markdown(group_card_text(item, rank, shown))


def add_people_ui(name: str, recommender: Recommender, group: Sequence[Member]) -> None:
    if not any(m.source == ME for m in group):
        st.button(
            "Add me",
            key=state.ADD_ME,
            icon=":material/person_add:",
            help="Your ratings on this page, kept up to date as you rate",
            on_click=add_me,
            args=(name,),
        )
    # Open until two people are in; then folded, so the films come up the page.
    with (
        st.expander("Add someone", expanded=len(group) < 2, icon=":material/group_add:"),
        st.form("add-member", clear_on_submit=True, border=False),
    ):
        st.text_input("Name", key=state.MEMBER_NAME, max_chars=MEMBER_NAME_CHARS)
        st.text_input(
            "Their shared link",
            key=state.MEMBER_LINK,
            placeholder="https://…/?r=50:5,172:4.5",
            help="The page address they copied under My ratings",
        )
        st.file_uploader("…or their ratings CSV", type=["csv"], key=state.MEMBER_FILE)
        st.form_submit_button(
            "Add to the group",
            on_click=add_member,
            args=(name, recommender.movie_ids, recommender.name, recommender.catalog.titles()),
        )


def share_night_ui(name: str, group: Sequence[Member]) -> None:
    """The group in a link of its own, for everyone in it (`app.group_link`)."""
    night = night_param(group, state.ratings(name), state.hidden(name))
    if night.count("|") < 1:  # fewer than two people with ratings
        return
    params = {state.RELEASE_PARAM: name} if name != DEFAULT_DATASET else {}
    params[NIGHT_PARAM] = night
    base = (st.context.url or "").split("?")[0] or "/"
    st.caption("This movie night's link: whoever opens it gets the same people.")
    st.code(f"{base}?{urlencode(params, safe=':,|~')}", language=None, wrap_lines=True)

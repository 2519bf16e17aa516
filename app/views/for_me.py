"""*For me*: the quick-rate set and popular films for a newcomer, then the recommendations as
cards, their chart, the *Why* panel and who the neighbours are. Draws what `app.fetch`
fetched: no query from here on."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from app import state
from app.charts import recommendation_chart
from app.fetch import ONBOARDING_MIN, Shown
from app.text import label_md, md, notice_text
from app.views.cards import draw_chart, film_list, star_slider
from app.views.explore import explore_ui
from app.views.neighbours import neighbours_ui, why_ui
from app.views.sidebar import widen_filters
from reco.recommend import Recommendation, Recommendations, Recommender
from reco.words import plural


def other_starters(name: str, shown: Sequence[int]) -> None:
    """ "Show me other films": the next quick-rate set leaves out every film shown so far."""
    state.starters_seen(name).extend(shown)


def onboarding_ui(name: str, picks: Sequence[Recommendation]) -> None:
    st.subheader("👋 Quick start")
    rated = len(state.ratings(name))
    if rated >= ONBOARDING_MIN:  # the set stays in place until the person moves on
        st.button(
            f"Show my recommendations ({plural(rated, 'film')} rated)",
            key=state.SEE_RECOMMENDATIONS,
            type="primary",
            icon=":material/arrow_forward:",
            on_click=state.keep_starting,
            args=(name, False),
        )
    st.caption(
        f"Rate at least {ONBOARDING_MIN} movies you know, from “Not rated” to 5 stars; "
        "leave the others."
    )
    columns = st.columns(2)
    for i, item in enumerate(picks):
        with columns[i % 2]:
            star_slider(name, item.movie_id, "quick", label_md(item.display_title), titled=True)
    st.button(
        "Show me other films",
        key=state.OTHER_FILMS,
        icon=":material/refresh:",
        help="A fresh set of popular films to rate",
        on_click=other_starters,
        args=(name, [item.movie_id for item in picks]),
    )


def narrowing(result: Recommendations) -> str:
    """What explore narrowed the list to (markdown, data escaped; empty: nothing)."""
    return "; ".join(map(md, result.films.shown()))


def about_the_list(result: Recommendations, items: Sequence[Recommendation]) -> tuple[str, str]:
    """Where the films come from and what their order means: a line, and the whole of it for
    its tooltip (markdown, data escaped)."""
    chosen = "; ".join(map(md, result.where.shown()))
    narrowed = narrowing(result)
    line = f"From the {len(result.neighbours)} users most like you" + (
        f" ({chosen})" if chosen else ""
    )
    if narrowed:
        line += f", only films: {narrowed}"
    backing = (
        "the films they back most strongly (how many of them rated it, how alike their taste "
        "is to yours and how much they liked it)"
    )
    if result.order == "stars":
        line += " · by the stars predicted for you"
        detail = f"By the stars predicted for you: the best of {backing}."
    else:
        line += " · most strongly backed first, not highest stars"
        detail = f"First {backing}, so a film can come above one of higher predicted stars."
    filled = sum(item.popular for item in items)
    if filled:
        line += (
            f". Your neighbours rated too few of these: the last {plural(filled, 'film')} "
            "are the most liked of them"
        )
    detail += (
        " Rate a film you have seen, or hide one you do not want (restore it under "
        "*My ratings*): the list updates."
    )
    return line, detail


def recommendations_ui(name: str, recommender: Recommender, shown: Shown) -> None:
    """Draw what `app.fetch.fetch_shown` fetched."""
    result = shown.result
    if not shown.personalised:
        onboarding_ui(name, shown.starters)
        st.subheader("🍿 Popular movies")
        missing = ONBOARDING_MIN - len(state.ratings(name))
        st.caption(
            f"Not personalised yet: rate {plural(missing, 'more movie')} "
            "for recommendations from people of similar taste."
            if missing > 0
            else "Not personalised yet: your recommendations are one click away, above."
        )
        # Drawn when opened: the quick-rate set is what a first visit is for, and ten more
        # cards (a slider, a button and a text each) would double what the browser draws first.
        popular = st.expander(
            "The most liked films meanwhile", key=state.POPULAR_OPEN, on_change="rerun"
        )
        if popular.open:
            with popular:
                film_list(name, shown, "pop")
        return
    with st.container(horizontal=True, vertical_alignment="center", key="for-me-heading"):
        st.subheader("🎯 Recommended for you", width="content")
        explore_ui(name, recommender.catalog)
    notice = shown.notice
    if notice is not None:
        st.warning(notice_text(notice))
        if notice.filtered:
            st.button(
                "Widen the filter to everyone",
                key=state.WIDEN,
                on_click=widen_filters,
                args=(name,),
            )
        if notice.stop:
            return
    if result.popular:
        if result.films:
            st.caption(f"Only films: {narrowing(result)}")
        film_list(name, shown, "pop")
        return
    line, detail = about_the_list(result, shown.items)
    st.caption(line, help=detail)
    film_list(name, shown, "rec")
    draw_chart(
        st.container(key="recommendation-chart"),
        recommendation_chart(shown.items, shown.explanations),
    )
    st.caption("The chart shows the neighbours' verdicts listed under each film above.")
    why_ui(name, result, shown)
    neighbours_ui(recommender, result, shown.populations)
    st.button(
        "Rate more popular films",
        key=state.BACK_TO_QUICK,
        icon=":material/arrow_back:",
        help="The quick-rate set again; your recommendations come back when you move on",
        on_click=state.keep_starting,
        args=(name, True),
    )

"""A film's page, in the main column (``?film=50``): what it is, your rating and predicted
stars, how everyone and your neighbours rated it, who liked it against everyone, and more
like this (from Qdrant's films collection). Draws what `app.fetch.fetch_film` fetched."""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from app import state
from app.charts import EVERYONE, composition_caption, composition_chart, stars_chart
from app.fetch import FilmShown
from app.text import link_line, md
from app.views.cards import CARD_SLIDER_PX, draw_chart, film_button, star_slider
from reco import filters
from reco.scale import LIKED_WORDS
from reco.words import plural

LIKED_IT = "Liked it"
_SCROLL = """
export default function ({ data, parentElement }) {
  if (!data || window.__recoFilmShown === data.opened) return;
  window.__recoFilmShown = data.opened;
  const at = parentElement.host || parentElement;
  at.scrollIntoView({ block: "start" });
  const main = document.querySelector('[data-testid="stMain"]');
  if (main) main.scrollBy(0, -72);  // clear of the page's header
  window.scrollBy(0, -72);
}
"""
_scroll = st.components.v2.component("reco_film_scroll", js=_SCROLL)
"""Brings a film's page into view when it opens (from a card far down the list, or on a
phone below the search): a fixed script, no markup, once per opening."""


def film_ui(name: str, shown: FilmShown) -> None:
    _scroll(data={"opened": state.film_opened()}, key="film-scroll", height=0)
    st.button(
        "Back",
        key=state.CLOSE_FILM,
        icon=":material/arrow_back:",
        on_click=state.open_film,
        args=(name, None),
    )
    st.subheader(f"🎬 {md(shown.title)}")
    links = link_line(shown.links)
    about = [md(shown.genres.replace("|", ", "))]
    if shown.mean_rating is not None:
        about.append(f"{plural(shown.raters, 'rating')}, mean {shown.mean_rating:.1f}\u00a0★")
    st.markdown(" · ".join(about) + (f" · {links}" if links else ""))
    rating, predicted = st.columns([3, 2], vertical_alignment="bottom")
    with rating:
        star_slider(name, shown.movie_id, "film", "Your rating", titled=True)
    if shown.predicted is not None:
        predicted.markdown(f"**≈ {shown.predicted:.1f}\u00a0★** predicted for you")
    elif shown.movie_id not in state.ratings(name):
        predicted.caption("Rate a few films: the stars you would likely give it show here.")
    stars_ui(shown)
    groups_ui(shown)
    like_this_ui(name, shown)


def stars_ui(shown: FilmShown) -> None:
    draw_chart(st.container(key="film-stars"), stars_chart(shown.stars, shown.neighbour_stars))
    rated = sum(shown.neighbour_stars)
    if shown.neighbours:
        st.caption(
            f"{rated} of your {shown.neighbours} neighbours rated it"
            + (
                f", {sum(shown.neighbour_stars[7:])} of them {LIKED_WORDS}."
                if rated
                else "; everyone's ratings alone are charted."
            )
        )
    else:
        st.caption(f"Everyone's {plural(sum(shown.stars), 'rating')}, by half star.")


def groups_ui(shown: FilmShown) -> None:
    """Who liked it, by age group, gender or occupation, against everyone (one shown), in a
    section drawn when opened (a second chart costs the page about a tenth of a second)."""
    if not shown.groups or not any(sum(liked.values()) for liked, _ in shown.groups.values()):
        return
    fields = [f for f in filters.FILTERS if f.name in shown.groups]
    section = st.expander(
        "Who liked it: by " + ", ".join(f.title.lower() for f in fields) + ", against everyone",
        key=state.FILM_GROUPS_OPEN,
        on_change="rerun",
    )
    if not section.open:
        return
    with section:
        group_chart_ui(shown, fields)


def group_chart_ui(shown: FilmShown, fields: list[filters.FilterField]) -> None:
    chosen = st.segmented_control(
        "Who liked it, by",
        [f.title for f in fields],
        key=state.FILM_GROUP,
        default=fields[0].title,
        required=True,
    )
    field = next(f for f in fields if f.title == chosen)
    liked, everyone = shown.groups[field.name]
    shown_liked = _shown(field, liked)
    shown_everyone = _shown(field, everyone)
    order = [field.show(v) for v in field.order] or None
    draw_chart(
        st.container(key="film-groups"),
        composition_chart(field.title, shown_liked, shown_everyone, order, LIKED_IT),
    )
    st.caption(
        md(composition_caption(shown_liked, shown_everyone, order, who=LIKED_IT, rest="charted"))
        + f" ({LIKED_IT.lower()}: {LIKED_WORDS}; {EVERYONE.lower()}: every user of the release)"
    )


def _shown(field: filters.FilterField, counts: Mapping[str, int]) -> dict[str, int]:
    return {field.show(value): count for value, count in counts.items()}


def like_this_ui(name: str, shown: FilmShown) -> None:
    st.subheader("More like this")
    found = shown.like_this
    if not found.items:
        st.info("Nothing yet: nobody rated this film, or you rated every film like it.")
        return
    steered = len(found.positive) - 1 + len(found.negative)
    st.caption(
        "Films whose raters rated them most like this one (Qdrant's recommendation query "
        "over the films"
        + (f", steered by {plural(steered, 'film')} you rated near it" if steered else "")
        + "); the better known first among those as alike. Films you rated or hid are left out."
    )
    cards = st.container(gap="xsmall")
    for rank, item in enumerate(found.items, start=1):
        with cards.container(border=True, key=f"like-card-{item.movie_id}", gap="xsmall"):
            links = link_line(shown.links_of_like.get(item.movie_id, {}))
            facts = [f":gray[{md(item.genres.replace('|', ', '))}]"] + ([links] if links else [])
            facts.append(
                f":gray[similarity {item.similarity:.2f} · {plural(item.raters, 'rating')}]"
            )
            st.markdown(f"**{rank}. {md(item.display_title)}**  \n:small[{' · '.join(facts)}]")
            with st.container(horizontal=True, gap="xsmall"):
                rate_later(name, item.movie_id, item.display_title)
                film_button(name, item.movie_id, "like", label="Its page")


def rate_later(name: str, movie_id: int, title: str) -> None:
    """A film's star slider in a popover drawn when opened: ten sliders drawn with a page
    cost it about a tenth of a second in the browser, and rating a film like this one is
    rarer than opening it (its rating then takes it off the list)."""
    rate = st.popover(
        "Rate it", icon=":material/star:", key=f"rate-like-{movie_id}", on_change="rerun"
    )
    if rate.open:
        with rate:
            star_slider(name, movie_id, "like", title, width=CARD_SLIDER_PX)

"""A film as the page shows it: the star slider that rates it anywhere, and a recommendation's
card (what it is, why it is here, rate it in place, hide it)."""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from app import state
from app.charts import Spec, arrow_datasets
from app.fetch import Shown
from app.text import link_line, md
from reco.explain import Explanation
from reco.recommend import Recommendation
from reco.scale import LIKED_WORDS, STAR_STEPS, stars_text

NOT_RATED = "Not rated"
SLIDER_STEPS: tuple[object, ...] = (NOT_RATED, *STAR_STEPS)
CARD_SLIDER_PX = 280  # beside the card's button on a wide screen, above it on a phone
AGREEMENTS_SHOWN = 2  # of your ratings named in a recommendation's "why"


def stars_label(value: object) -> str:
    return value if value == NOT_RATED else stars_text(value)  # type: ignore[return-value]


def set_rating(name: str, movie_id: int, key: str, where: state.Where) -> None:
    """Widget callback: store (or, at "Not rated", remove) the rating a slider now shows.

    Not when the slider shows what it showed already: the browser goes on sending, for a
    moment, the values of sliders the page no longer draws (a card gone, a slider drawn anew),
    and Streamlit, which has forgotten them, calls their callbacks as if they had changed; an
    old "Not rated" would remove the rating the person just gave elsewhere."""
    value = st.session_state[key]
    shows = state.slider_shows()
    if shows.get(key, value) == value:
        return
    shows[key] = value
    state.keep_starting(name, where == "quick")  # the quick-rate set stays while in use
    ratings = state.ratings(name)
    if value == NOT_RATED:
        ratings.pop(movie_id, None)
    else:
        ratings[movie_id] = float(value)
    state.rerun_rated_parts(name, movie_id, where)


def hide(name: str, movie_id: int) -> None:
    state.hidden(name).add(movie_id)
    state.rerun_rated_parts(name, movie_id)


def unhide(name: str, movie_id: int) -> None:
    state.hidden(name).discard(movie_id)
    state.rerun_rated_parts(name, movie_id)


def star_slider(
    name: str,
    movie_id: int,
    where: state.Where,
    label: str = "Your rating",
    *,
    titled: bool = False,
    width: int | str = "stretch",
) -> None:
    """A 'Not rated', 0.5 … 5 star slider showing, and changing, the session's rating. With
    ``titled`` its label (markdown: escape data with `label_md`) is shown above it: a film's row is
    then this one element, not a text, columns and a slider (each element the browser redraws
    at every rerun costs it time).

    The script never sets a slider's value. When the rating changed elsewhere (another slider
    of the film, a restore, another release) the slider gets a new key and starts at the
    stored rating. A value set by the script reaches the browser a moment later; a change
    the browser sends in that moment (a burst of key presses on another slider of the film)
    carries the slider's old value with it, which Streamlit takes for the person moving it
    back, and that old rating would be saved over the one just given."""
    stored = state.ratings(name).get(movie_id, NOT_RATED)
    key = state.slider_key(where, movie_id)
    if key in st.session_state and st.session_state[key] != stored:
        key = state.renew_slider(where, movie_id)
    state.slider_shows()[key] = stored
    st.select_slider(
        label,
        options=SLIDER_STEPS,
        value=stored,
        key=key,
        format_func=stars_label,
        on_change=set_rating,
        args=(name, movie_id, key, where),
        label_visibility="visible" if titled else "collapsed",
        width=width,
    )


def film_button(
    name: str,
    movie_id: int,
    where: str,
    *,
    label: str = "About it",
    elsewhere: bool = False,
    small: bool = False,
) -> None:
    """A button that opens a film's page (``where``: the place, for a unique key;
    ``elsewhere``: drawn outside the main column's own run, `app.state.open_film`; ``small``:
    a link-like button, under a title)."""
    st.button(
        label,
        key=f"open-{where}-{movie_id}",
        icon=":material/info:",
        help="Its page: how people rated it, who liked it, more like this",
        on_click=state.open_film,
        args=(name, movie_id),
        kwargs={"elsewhere": elsewhere},
        type="tertiary" if small else "secondary",
    )


def draw_chart(where: DeltaGenerator, spec: Spec) -> None:
    """Draw a chart of `app.charts`: its cached specification, its rows as Arrow bytes, so a
    rerun neither builds an Altair chart nor converts data through pandas (together about a
    fifth of a rerun's CPU on this page before). The same specification each time: the
    browser only swaps the chart's data."""
    where.vega_lite_chart(arrow_datasets(spec), width="stretch")


def explanation_lines(explained: Explanation, names: Mapping[int, str]) -> list[str]:
    """A recommendation's "why" in the person's terms: the neighbours' verdicts, then which of
    the person's ratings those who liked it share (markdown, data escaped)."""
    lines = [
        f"{explained.raters} of your {explained.neighbours} neighbours rated it: "
        f"👍 {explained.good} liked · 😐 {explained.neutral} so-so · 👎 {explained.bad} disliked"
    ]
    if explained.agreements:
        first, *more = [
            (a.neighbours, md(names.get(a.movie_id, a.movie_id)), f"{a.your_stars:g}\u00a0★")
            for a in explained.agreements[:AGREEMENTS_SHOWN]
        ]
        lines.append(
            f"Of the {explained.good} who liked it, {first[0]} also gave *{first[1]}* {first[2]} "
            "like you"
            + "".join(f", and {count} *{title}* {stars}" for count, title, stars in more)
            + "."
        )
    return lines


def card_text(item: Recommendation, rank: int, shown: Shown) -> str:
    """A film card's two lines (markdown, data escaped), so that four cards fit a laptop's
    first screen: its rank, title and the stars predicted for you; its genres, links out and
    the neighbours' verdict in a few words (the whole of it: `card_why`)."""
    title = f"**{rank}. {md(item.display_title)}**"
    if item.predicted is not None:
        title += f" · **≈ {item.predicted:.1f}\u00a0★** predicted for you"
    links = link_line(shown.links.get(item.movie_id, {}))
    facts = [f":gray[{md(item.genres.replace('|', ', '))}]"] + ([links] if links else [])
    explained = shown.explanations.get(item.movie_id)
    neighbours = len(shown.result.neighbours)
    if explained is not None:
        facts.append(f":gray[👍 {explained.good} of your {neighbours} neighbours liked it]")
    elif item.popular:
        facts.append(f":gray[liked by {item.score:,.0f} of the {item.raters:,} who rated it]")
    elif neighbours:
        facts.append(f":gray[{item.raters} of your {neighbours} neighbours rated it]")
    return f"{title}  \n:small[{' · '.join(facts)}]"


def card_why(item: Recommendation, shown: Shown, names: Mapping[int, str]) -> str | None:
    """Why a film is on the list, in the person's terms (markdown, data escaped): the card's
    tooltip."""
    explained = shown.explanations.get(item.movie_id)
    if explained is not None:
        return "  \n".join(explanation_lines(explained, names))
    if item.popular:
        return (
            f"Liked ({LIKED_WORDS}) by {item.score:,.0f} of the {item.raters:,} who rated it · "
            f"mean {item.mean_rating:.1f} ★"
        )
    return None


def film_list(name: str, shown: Shown, where: state.Where) -> None:
    """The listed films as cards: what each is, why it is here, and what you can do with it
    (rate it in place, hide it, read about it)."""
    if not shown.items:
        st.info("Nothing to show.")
        return
    names = shown.titles
    cards = st.container(gap="xsmall")  # closer than the page's elements: four on a screen
    for rank, item in enumerate(shown.items, start=1):
        # One wrapping row: the text takes a line of its own, the slider and the buttons the
        # next (a row inside the card would be one more element redrawn with every rating).
        card = cards.container(
            border=True,
            key=f"{where}-card-{item.movie_id}",
            horizontal=True,
            vertical_alignment="bottom",
            gap="xsmall",
        )
        with card:
            st.markdown(
                card_text(item, rank, shown),
                help=card_why(item, shown, names),
                width="stretch",
            )
            star_slider(name, item.movie_id, where, item.display_title, width=CARD_SLIDER_PX)
            st.button(
                "Not interested",
                key=state.hide_key(where, item.movie_id),
                icon=":material/visibility_off:",
                on_click=hide,
                args=(name, item.movie_id),
            )
            film_button(name, item.movie_id, where, small=True)

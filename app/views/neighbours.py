"""Who the neighbours are: their demographics against everyone's, how similar they are, and
every neighbour's rating of a chosen recommendation (the *Why* panel)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import pandas as pd
import streamlit as st

from app import state
from app.charts import (
    composition_caption,
    composition_chart,
    similarity_caption,
    similarity_chart,
)
from app.fetch import Shown
from app.text import md
from app.views.cards import draw_chart, explanation_lines, film_button, star_slider
from reco import filters
from reco.recommend import Neighbour, Recommendations, Recommender
from reco.scale import DISLIKED_BELOW, LIKED_WORDS, stars_text, verdict

VERDICTS_SAID = {"good": "liked it", "neutral": "so-so", "bad": "disliked it"}


def neighbour_frame(neighbours: Sequence[Neighbour], extra: dict[str, list]) -> pd.DataFrame:
    """Neighbours as table rows: who, how similar, ``extra`` columns, then demographics."""
    return pd.DataFrame(
        {
            "Neighbour": [n.user_id for n in neighbours],
            "Similarity": [n.similarity for n in neighbours],
            **extra,
            **{
                field.title: [field.show(n.demographics.get(field.name)) for n in neighbours]
                for field in filters.FILTERS
            },
        }
    )


@st.fragment
def neighbours_ui(
    recommender: Recommender, result: Recommendations, populations: Mapping[str, Mapping]
) -> None:
    """Who the neighbours are, against everyone: charts (only the shown tab's is drawn) and
    their table. Drawn when opened: redrawing it with every rating cost the browser a sixth
    of the time until the new recommendations showed. A fragment: opening it or changing tab
    redraws only this section."""
    neighbours = result.neighbours
    section = st.expander(  # one label whatever their number: it stays open as it changes
        "👥 Your neighbours: who they are, against everyone",
        key=state.NEIGHBOURS_OPEN,
        on_change="rerun",
    )
    if not section.open:
        return
    measure = ("cosine" if recommender.encoding.normalize else "dot product") + (
        ", IDF-weighted" if recommender.encoding.idf else ""
    )
    fields = filters.FILTERS if populations else ()
    charts = section.container(key="neighbour-charts")
    *field_tabs, similarity, table = charts.tabs(
        [*(f.title for f in fields), "Similarity", "Table"],
        key=state.NEIGHBOUR_TAB,
        on_change="rerun",
    )
    for tab, field in zip(field_tabs, fields, strict=True):
        if tab.open is False:
            continue
        counts = Counter(field.show(n.demographics.get(field.name)) for n in neighbours)
        everyone = {field.show(k): v for k, v in populations[field.name].items()}
        order = [field.show(v) for v in field.order] or None
        draw_chart(tab, composition_chart(field.title, counts, everyone, order))
        tab.caption(md(composition_caption(counts, everyone, order)))
    if similarity.open is not False:
        draw_chart(similarity, similarity_chart(neighbours, measure))
        similarity.caption(similarity_caption(neighbours))
    if table.open is not False:
        table.dataframe(
            neighbour_frame(
                neighbours,
                {
                    "Movies in common": [n.common for n in neighbours],
                    "Ratings": [n.ratings for n in neighbours],
                },
            ),
            hide_index=True,
            column_config={"Similarity": st.column_config.NumberColumn(format="%.3f")},
            key="neighbours-table",
        )


@st.fragment
def why_ui(name: str, result: Recommendations, shown: Shown) -> None:
    """Every neighbour's rating of a chosen recommendation. A fragment: opening the panel or
    choosing another film redraws only the panel; a rating given here reruns the main column
    it is in (`app.state.rerun_rated_parts`)."""
    options = {item.movie_id: item for item in shown.items}
    if not options:
        return
    panel = st.expander(
        "Why these movies? Every neighbour's rating", key=state.WHY_OPEN, on_change="rerun"
    )
    if not panel.open:  # computed only when open
        return
    with panel:
        movie_id = st.selectbox(
            "Movie",
            list(options),
            key=state.WHY,
            format_func=lambda m: options[m].display_title,
        )
        item = options[movie_id]
        reasons = result.why(movie_id)
        explained = shown.explanations.get(movie_id)
        a, b, c = st.columns(3)
        a.metric("Neighbours who rated it", f"{len(reasons)} of {len(result.neighbours)}")
        b.metric("Their mean rating", f"{item.mean_rating:.1f} ★")
        c.metric("Predicted for you", f"≈ {item.predicted:.1f}\u00a0★" if item.predicted else "–")
        if explained is not None:
            st.caption("  \n".join(explanation_lines(explained, shown.titles)))
        st.markdown("Seen it? Rate it here:")
        star_slider(name, movie_id, "why", item.display_title)
        film_button(name, movie_id, "why", label="Its page", elsewhere=True)
        st.container(key="why-panel").dataframe(
            neighbour_frame(
                [r.neighbour for r in reasons],
                {
                    "Their stars": [r.stars for r in reasons],
                    "Verdict": [VERDICTS_SAID[verdict(r.stars)] for r in reasons],
                },
            ),
            hide_index=True,
            column_config={"Similarity": st.column_config.NumberColumn(format="%.3f")},
            key="why-table",
        )
        st.caption(
            f"Neighbours who disliked it (below {stars_text(DISLIKED_BELOW)}) count against it; "
            f"those who liked it ({LIKED_WORDS}) are the reasons it is here."
        )

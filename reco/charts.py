"""Altair charts of recommendations and neighbours (no Streamlit here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import pandas as pd

from reco.recommend import Neighbour, Recommendation

NEIGHBOURS, EVERYONE = "Your neighbours", "Everyone"


def recommendation_chart(items: Sequence[Recommendation]) -> alt.Chart:
    """Horizontal bars of the top recommendations' scores in rank order, coloured by the
    raters' mean."""
    frame = pd.DataFrame(
        {
            "rank": range(1, len(items) + 1),
            "movie": [i.display_title for i in items],
            "score": [round(i.score, 3) for i in items],
            "raters": [i.raters for i in items],
            "mean": [i.mean_rating for i in items],
        }
    )
    return (
        alt.Chart(frame, title="Top recommendations")
        .mark_bar()
        .encode(
            x=alt.X("score:Q", title="Score"),
            # Sorted by an explicit rank, not data order: Streamlit updates a shown chart's
            # data in place, and Vega keeps the old order of an unsorted domain.
            y=alt.Y(
                "movie:N",
                sort=alt.EncodingSortField(field="rank", op="min", order="ascending"),
                title=None,
                axis=alt.Axis(labelLimit=260, labelOverlap=False),
            ),
            color=alt.Color(
                "mean:Q",
                title="Mean ★",
                scale=alt.Scale(scheme="goldorange", domain=[1, 5]),
            ),
            tooltip=[
                alt.Tooltip("movie:N", title="Movie"),
                alt.Tooltip("score:Q", title="Score", format=".2f"),
                alt.Tooltip("raters:Q", title="Neighbours who rated it"),
                alt.Tooltip("mean:Q", title="Their mean stars", format=".2f"),
            ],
        )
        .properties(height=max(120, 28 * len(frame)))
    )


def composition_frame(
    neighbours: Mapping[str, int],
    population: Mapping[str, int],
    order: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Shares of each value among the neighbours and in the whole population."""
    values = list(order) if order else sorted(population, key=lambda v: -population[v])
    values += [v for v in neighbours if v not in values]
    total_n = sum(neighbours.values()) or 1
    total_p = sum(population.values()) or 1
    rows = []
    for value in values:
        rows.append(
            (value, NEIGHBOURS, neighbours.get(value, 0), neighbours.get(value, 0) / total_n)
        )
        rows.append((value, EVERYONE, population.get(value, 0), population.get(value, 0) / total_p))
    return pd.DataFrame(rows, columns=["value", "group", "users", "share"])


def composition_chart(
    title: str,
    neighbours: Mapping[str, int],
    population: Mapping[str, int],
    order: Sequence[str] | None = None,
) -> alt.Chart:
    """Grouped bars: the share of each value among your neighbours next to everyone."""
    frame = composition_frame(neighbours, population, order)
    values = list(dict.fromkeys(frame["value"]))
    return (
        alt.Chart(frame, title=title)
        .mark_bar()
        .encode(
            y=alt.Y("value:N", sort=values, title=None, axis=alt.Axis(labelLimit=180)),
            x=alt.X("share:Q", title="Share", axis=alt.Axis(format="%")),
            yOffset=alt.YOffset("group:N", sort=[NEIGHBOURS, EVERYONE]),
            color=alt.Color(
                "group:N",
                title=None,
                sort=[NEIGHBOURS, EVERYONE],
                scale=alt.Scale(range=["#f5c518", "#5b6b7f"]),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("value:N", title=title),
                alt.Tooltip("group:N", title="Who"),
                alt.Tooltip("users:Q", title="Users"),
                alt.Tooltip("share:Q", title="Share", format=".1%"),
            ],
        )
        .properties(height=alt.Step(14))
    )


def similarity_chart(neighbours: Sequence[Neighbour], measure: str = "cosine") -> alt.Chart:
    """Histogram of the neighbours' similarity to you."""
    frame = pd.DataFrame({"similarity": [n.similarity for n in neighbours]})
    return (
        alt.Chart(frame, title="How similar your neighbours are")
        .mark_bar(color="#f5c518")
        .encode(
            x=alt.X("similarity:Q", bin=alt.Bin(maxbins=20), title=f"Similarity ({measure})"),
            y=alt.Y("count():Q", title="Neighbours"),
            tooltip=[alt.Tooltip("count():Q", title="Neighbours")],
        )
        .properties(height=200)
    )

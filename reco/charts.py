"""Altair charts of recommendations and neighbours (no Streamlit here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import pandas as pd

from reco.explain import Explanation
from reco.recommend import Neighbour, Recommendation

NEIGHBOURS, EVERYONE = "Your neighbours", "Everyone"


VERDICTS = (
    ("good", "Liked it (4-5 ★)", "#2e9e5b"),
    ("neutral", "So-so (3-3.5 ★)", "#c9b458"),
    ("bad", "Disliked it (below 3 ★)", "#c0504d"),
)
SHORT_TITLE = 28  # characters of a title on a chart axis (the full title is in the tooltip)


def short(title: str, limit: int = SHORT_TITLE) -> str:
    """A title cut to ``limit`` characters with an ellipsis, for chart axes on a phone."""
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


def recommendation_chart(
    items: Sequence[Recommendation], explanations: Mapping[int, Explanation]
) -> alt.Chart:
    """What the neighbours thought of each recommendation, in rank order: stacked bars of how
    many liked it, found it so-so and disliked it (Herlocker et al.'s best-rated explanation).
    Short titles on the axis, the legend below: readable on a phone."""
    rows = []
    for rank, item in enumerate(items, start=1):
        explained = explanations.get(item.movie_id)
        if explained is None:
            continue
        for kind, label, _ in VERDICTS:
            rows.append(
                {
                    "rank": rank,
                    "label": f"{rank}. {short(item.display_title)}",
                    "movie": item.display_title,
                    "verdict": label,
                    "order": [k for k, _, _ in VERDICTS].index(kind),
                    "neighbours": getattr(explained, kind),
                    "predicted": item.predicted,
                }
            )
    frame = pd.DataFrame(rows)
    labels = [label for _, label, _ in VERDICTS]
    return (
        alt.Chart(frame, title="What your neighbours thought")
        .mark_bar()
        .encode(
            x=alt.X("sum(neighbours):Q", title="Neighbours who rated it", stack="zero"),
            # Sorted by an explicit rank, not data order: Streamlit updates a shown chart's
            # data in place, and Vega keeps the old order of an unsorted domain.
            y=alt.Y(
                "label:N",
                sort=alt.EncodingSortField(field="rank", op="min", order="ascending"),
                title=None,
                axis=alt.Axis(labelLimit=200, labelOverlap=False),
            ),
            color=alt.Color(
                "verdict:N",
                title=None,
                sort=labels,
                scale=alt.Scale(domain=labels, range=[c for _, _, c in VERDICTS]),
                legend=alt.Legend(orient="bottom", direction="vertical"),
            ),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip("movie:N", title="Movie"),
                alt.Tooltip("verdict:N", title="Verdict"),
                alt.Tooltip("neighbours:Q", title="Neighbours"),
                alt.Tooltip("predicted:Q", title="Predicted for you", format=".1f"),
            ],
        )
        .properties(height=alt.Step(24))
    )


def _values(
    neighbours: Mapping[str, int], population: Mapping[str, int], order: Sequence[str] | None
) -> list[str]:
    """A demographic field's values in chart order: ``order``, else most common first."""
    values = list(order) if order else sorted(population, key=lambda v: -population[v])
    return values + [v for v in neighbours if v not in values]


def composition_frame(
    neighbours: Mapping[str, int],
    population: Mapping[str, int],
    order: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Shares of each value among the neighbours and in the whole population."""
    values = _values(neighbours, population, order)
    total_n = sum(neighbours.values()) or 1
    total_p = sum(population.values()) or 1
    rows = []
    for value in values:
        rows.append(
            (value, NEIGHBOURS, neighbours.get(value, 0), neighbours.get(value, 0) / total_n)
        )
        rows.append((value, EVERYONE, population.get(value, 0), population.get(value, 0) / total_p))
    return pd.DataFrame(rows, columns=["value", "group", "users", "share"])


def composition_caption(
    neighbours: Mapping[str, int],
    population: Mapping[str, int],
    order: Sequence[str] | None = None,
    limit: int = 6,
) -> str:
    """The composition chart's figures as text (its text equivalent): each value's share among
    your neighbours and among everyone, the values with most neighbours first."""
    values = _values(neighbours, population, order)
    total_n = sum(neighbours.values()) or 1
    total_p = sum(population.values()) or 1
    ranked = sorted(values, key=lambda v: -neighbours.get(v, 0))  # stable: ties keep order
    parts = [
        f"{v} {neighbours.get(v, 0) / total_n:.0%} vs {population.get(v, 0) / total_p:.0%}"
        for v in ranked[:limit]
    ]
    more = len(values) - len(parts)
    return (
        f"{NEIGHBOURS} vs everyone: "
        + " · ".join(parts)
        + (f" · {more} more in the table below" if more > 0 else "")
    )


def similarity_caption(neighbours: Sequence[Neighbour]) -> str:
    """The similarity histogram's figures as text."""
    values = sorted(n.similarity for n in neighbours)
    if not values:
        return "No neighbours."
    middle = values[len(values) // 2]
    return (
        f"{len(values)} neighbours, similarity from {values[0]:.3f} to {values[-1]:.3f} "
        f"(median {middle:.3f})."
    )


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

"""Charts of recommendations and neighbours as Vega-Lite specifications (no Streamlit here).

Each chart's specification is written with Altair once per kind (validated, then cached); a
chart is that specification with its rows as the named dataset `ROWS`. A page redraws a chart
without Altair's per-run work, and `arrow_datasets` hands the rows over as Arrow bytes, which
Streamlit passes on without converting them again.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import pyarrow as pa

from reco.explain import Explanation
from reco.recommend import Neighbour, Recommendation
from reco.scale import STAR_STEPS, VERDICT_WORDS

NEIGHBOURS, EVERYONE = "Your neighbours", "Everyone"


VERDICTS = (
    ("good", VERDICT_WORDS["good"], "#2e9e5b"),
    ("neutral", VERDICT_WORDS["neutral"], "#c9b458"),
    ("bad", VERDICT_WORDS["bad"], "#c0504d"),
)
SHORT_TITLE = 28  # characters of a title on a chart axis (the full title is in the tooltip)
ROWS = "rows"  # the name of every chart's dataset
Spec = dict[str, Any]  # a Vega-Lite specification


def with_rows(template: Spec, rows: Sequence[Mapping[str, Any]]) -> Spec:
    """A chart: ``template`` (a cached specification, left unchanged) with its rows."""
    return {**template, "datasets": {ROWS: list(rows)}}


def arrow_datasets(spec: Spec) -> Spec:
    """``spec`` with each dataset's rows as Arrow IPC stream bytes (as Streamlit sends data
    to the browser; it passes bytes on as they are)."""
    datasets = {}
    for name, rows in spec.get("datasets", {}).items():
        table = pa.Table.from_pylist(list(rows))
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        datasets[name] = sink.getvalue().to_pybytes()
    return {**spec, "datasets": datasets}


def short(title: str, limit: int = SHORT_TITLE) -> str:
    """A title cut to ``limit`` characters with an ellipsis, for chart axes on a phone."""
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


def recommendation_chart(
    items: Sequence[Recommendation], explanations: Mapping[int, Explanation]
) -> Spec:
    """What the neighbours thought of each recommendation, in rank order: stacked bars of how
    many liked it, found it so-so and disliked it (Herlocker et al.'s best-rated explanation).
    Short titles on the axis, the legend below: readable on a phone."""
    rows = []
    kinds = [kind for kind, _, _ in VERDICTS]
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
                    "order": kinds.index(kind),
                    "neighbours": getattr(explained, kind),
                    "predicted": item.predicted,
                }
            )
    return with_rows(_recommendation_template(), rows)


@functools.cache
def _recommendation_template() -> Spec:
    labels = [label for _, label, _ in VERDICTS]
    chart = (
        alt.Chart(alt.NamedData(ROWS), title="What your neighbours thought")
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
    return chart.to_dict()


def _values(
    neighbours: Mapping[str, int], population: Mapping[str, int], order: Sequence[str] | None
) -> list[str]:
    """A demographic field's values in chart order: ``order``, else most common first."""
    values = list(order) if order else sorted(population, key=lambda v: -population[v])
    return values + [v for v in neighbours if v not in values]


def composition_rows(
    neighbours: Mapping[str, int],
    population: Mapping[str, int],
    order: Sequence[str] | None = None,
    who: str = NEIGHBOURS,
) -> list[dict[str, Any]]:
    """Shares of each value among the neighbours (or ``who`` else is counted first) and in
    the whole population, two rows per value (them, then everyone), values in chart order
    (``position``)."""
    values = _values(neighbours, population, order)
    total_n = sum(neighbours.values()) or 1
    total_p = sum(population.values()) or 1
    rows = []
    for position, value in enumerate(values):
        for group, counts, total in (
            (who, neighbours, total_n),
            (EVERYONE, population, total_p),
        ):
            users = counts.get(value, 0)
            rows.append(
                {
                    "value": value,
                    "group": group,
                    "users": users,
                    "share": users / total,
                    "position": position,
                }
            )
    return rows


def composition_caption(
    neighbours: Mapping[str, int],
    population: Mapping[str, int],
    order: Sequence[str] | None = None,
    limit: int = 6,
    who: str = NEIGHBOURS,
    rest: str = "in the table below",
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
        f"{who} vs everyone: " + " · ".join(parts) + (f" · {more} more {rest}" if more > 0 else "")
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
    who: str = NEIGHBOURS,
) -> Spec:
    """Grouped bars: the share of each value among your neighbours (or ``who``) next to
    everyone."""
    rows = composition_rows(neighbours, population, order, who)
    return with_rows(_composition_template(title, who), rows)


@functools.lru_cache(maxsize=16)
def _composition_template(title: str, who: str = NEIGHBOURS) -> Spec:
    chart = (
        alt.Chart(alt.NamedData(ROWS), title=title)
        .mark_bar()
        .encode(
            y=alt.Y(
                "value:N",
                sort=alt.EncodingSortField(field="position", op="min", order="ascending"),
                title=None,
                axis=alt.Axis(labelLimit=180),
            ),
            x=alt.X("share:Q", title="Share", axis=alt.Axis(format="%")),
            yOffset=alt.YOffset("group:N", sort=[who, EVERYONE]),
            color=alt.Color(
                "group:N",
                title=None,
                sort=[who, EVERYONE],
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
    return chart.to_dict()


def similarity_chart(neighbours: Sequence[Neighbour], measure: str = "cosine") -> Spec:
    """Histogram of the neighbours' similarity to you."""
    rows = [{"similarity": n.similarity} for n in neighbours]
    return with_rows(_similarity_template(measure), rows)


@functools.lru_cache(maxsize=4)
def _similarity_template(measure: str) -> Spec:
    chart = (
        alt.Chart(alt.NamedData(ROWS), title="How similar your neighbours are")
        .mark_bar(color="#f5c518")
        .encode(
            x=alt.X("similarity:Q", bin=alt.Bin(maxbins=20), title=f"Similarity ({measure})"),
            y=alt.Y("count():Q", title="Neighbours"),
            tooltip=[alt.Tooltip("count():Q", title="Neighbours")],
        )
        .properties(height=200)
    )
    return chart.to_dict()


def stars_rows(everyone: Sequence[int], neighbours: Sequence[int]) -> list[dict[str, Any]]:
    """A film's ratings by half star: each step's share among everyone who rated it and among
    your neighbours who did (``neighbours`` empty: everyone's alone)."""
    rows = []
    groups = [(EVERYONE, everyone)] + ([(NEIGHBOURS, neighbours)] if sum(neighbours) else [])
    for group, counts in groups:
        total = sum(counts) or 1
        for step, count in zip(STAR_STEPS, counts, strict=True):
            rows.append(
                {"stars": f"{step:g}", "group": group, "ratings": count, "share": count / total}
            )
    return rows


def stars_chart(everyone: Sequence[int], neighbours: Sequence[int]) -> Spec:
    """How a film was rated: grouped bars per half star, everyone and your neighbours."""
    return with_rows(_stars_template(), stars_rows(everyone, neighbours))


@functools.cache
def _stars_template() -> Spec:
    steps = [f"{step:g}" for step in STAR_STEPS]
    chart = (
        alt.Chart(alt.NamedData(ROWS), title="How people rated it")
        .mark_bar()
        .encode(
            x=alt.X("stars:N", sort=steps, title="Stars", axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("group:N", sort=[EVERYONE, NEIGHBOURS]),
            y=alt.Y("share:Q", title="Share of their ratings", axis=alt.Axis(format="%")),
            color=alt.Color(
                "group:N",
                title=None,
                sort=[EVERYONE, NEIGHBOURS],
                scale=alt.Scale(domain=[EVERYONE, NEIGHBOURS], range=["#5b6b7f", "#f5c518"]),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("group:N", title="Who"),
                alt.Tooltip("stars:N", title="Stars"),
                alt.Tooltip("ratings:Q", title="Ratings"),
                alt.Tooltip("share:Q", title="Share", format=".1%"),
            ],
        )  # no fixed height: Streamlit draws a chart of a set height blank
    )
    return chart.to_dict()

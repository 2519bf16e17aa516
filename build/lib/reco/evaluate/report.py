"""The main evaluation's report: per-fold results, their summary, tables and chart, written to
files by `reco.reports`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from reco.evaluate.metrics import METRIC_LABELS, METRICS
from reco.evaluate.protocol import EvalProtocol
from reco.reports import write_report


@dataclass(frozen=True)
class FoldResult:
    method: str
    fold: int
    users: int
    metrics: dict[str, float]


@dataclass(frozen=True)
class Report:
    """Per-fold results of every method, with the protocol and dataset they came from."""

    dataset: str
    protocol: EvalProtocol
    results: tuple[FoldResult, ...]
    catalogue: int
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """Mean and standard deviation over folds, one row per method, in run order."""
        rows = []
        methods = list(dict.fromkeys(r.method for r in self.results))
        for method in methods:
            folds = [r for r in self.results if r.method == method]
            row: dict[str, Any] = {"method": method, "users": sum(r.users for r in folds)}
            for metric in METRICS:
                values = np.array([r.metrics[metric] for r in folds])
                row[metric] = float(values.mean())
                row[f"{metric}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
            rows.append(row)
        return pd.DataFrame(rows)

    def markdown(self) -> str:
        table = self.ranking_markdown()
        if "prediction" not in self.extra:
            return table
        folds = pd.DataFrame(self.extra["prediction"])
        return (
            f"{table}\n\nPredicted stars against the held-out ratings (all of them, not only "
            f"the liked ones):\n\n{prediction_markdown(folds)}"
        )

    def ranking_markdown(self) -> str:
        summary = self.summary()
        header = ["Method", *[METRIC_LABELS[m] for m in METRICS]]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for row in summary.to_dict("records"):
            cells = [row["method"]]
            for metric in METRICS:
                if metric == "ms_per_query":
                    cells.append(f"{row[metric]:.1f}")
                else:
                    cells.append(f"{row[metric]:.3f} ± {row[metric + '_std']:.3f}")
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "protocol": asdict(self.protocol),
            "catalogue": self.catalogue,
            "seconds": round(self.seconds, 1),
            "summary": self.summary().to_dict("records"),
            "folds": [asdict(r) for r in self.results],
            **self.extra,
        }

    def chart(self) -> alt.Chart:
        """NDCG@10 and HR@10 per method, with the fold spread as error bars."""
        summary = self.summary()
        rows = []
        for row in summary.to_dict("records"):
            for metric in ("ndcg", "hr", "recall"):
                rows.append(
                    {
                        "method": row["method"],
                        "kind": (
                            "This project"
                            if row["method"].startswith("This project")
                            else "Baseline"
                        ),
                        "metric": METRIC_LABELS[metric],
                        "value": row[metric],
                        "low": row[metric] - row[f"{metric}_std"],
                        "high": row[metric] + row[f"{metric}_std"],
                    }
                )
        frame = pd.DataFrame(rows)
        order = list(summary["method"])
        base = alt.Chart(frame).encode(
            y=alt.Y("method:N", sort=order, title=None, axis=alt.Axis(labelLimit=260)),
        )
        bars = base.mark_bar().encode(
            x=alt.X("value:Q", title=None, scale=alt.Scale(domain=[0, 1])),
            color=alt.Color(
                "kind:N",
                title=None,
                scale=alt.Scale(range=["#f5c518", "#8a96a3"]),
                sort=["This project", "Baseline"],
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=["method", "metric", alt.Tooltip("value:Q", format=".3f")],
        )
        errors = base.mark_rule(color="#333").encode(x="low:Q", x2="high:Q")
        return (
            alt.layer(bars, errors, data=frame)
            .properties(width=260, height=alt.Step(22))
            .facet(
                column=alt.Column("metric:N", title=None, sort=["NDCG@10", "HR@10", "Recall@10"])
            )
            .properties(
                title=f"{self.dataset}: {self.protocol.folds} folds over users, "
                f"{self.protocol.query_fraction:.0%} of each profile as the query"
            )
        )

    def save(self, folder: str | Path) -> list[Path]:
        """Write evaluation.md, evaluation.json, evaluation.html and evaluation.png."""
        return write_report(
            folder,
            "evaluation",
            markdown=self.markdown(),
            data=self.to_json(),
            chart=self.chart(),
        )


def prediction_markdown(folds: pd.DataFrame) -> str:
    """Fold means and standard deviations of MAE and RMSE, one row per predictor."""
    lines = ["| Predictor | MAE | RMSE | held-out ratings |", "|---|---|---|---|"]
    for name, group in folds.groupby("method", sort=False):
        mae, rmse = group["mae"], group["rmse"]
        lines.append(
            f"| {name} | {mae.mean():.3f} ± {mae.std(ddof=1) if len(group) > 1 else 0:.3f} "
            f"| {rmse.mean():.3f} ± {rmse.std(ddof=1) if len(group) > 1 else 0:.3f} "
            f"| {int(group['ratings'].sum()):,} |"
        )
    return "\n".join(lines)

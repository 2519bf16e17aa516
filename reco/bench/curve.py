"""``python -m reco bench --release-users 200000,500000,1000000``: the cost curve. For each
size, a synthetic release on disk, then pandas' read of its ratings.csv, the build and a start
to the first recommendation (with `recommend()`'s percentiles), each in a fresh process
(`reco.bench.release.run_phase`): one table and one chart against users."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd

from reco.bench.release import run_phase
from reco.bench.sizes import log_log_panels

COLUMNS = (  # (key, heading): what the table shows of each size, in order
    ("users", "Users"),
    ("ratings", "Ratings"),
    ("pandas_read_s", "pandas read s"),
    ("build_s", "Build s"),
    ("build_rss_mb", "Build peak RSS MB"),
    ("first_recommendation_s", "Start → first recommendation s"),
    ("first_rss_mb", "Start RSS MB"),
    ("recommend_p50_ms", "recommend() p50 ms"),
    ("recommend_p99_ms", "recommend() p99 ms"),
)


def bench_curve(
    sizes: Sequence[int],
    workdir: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """One row per size, smallest first. Each size's release and index are removed before
    the next is written (only one is on disk at a time), unless ``workdir`` keeps them."""
    say = progress or (lambda text: None)
    root = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="reco-curve-"))
    rows = []
    try:
        for users in sorted(set(sizes)):
            release = root / "releases" / f"synthetic-{users}"
            data = root / f"data-{users}"
            shutil.rmtree(data, ignore_errors=True)  # a build, even in a kept --workdir
            say(f"{users:,} users: writing the release, then each phase in a fresh process …")
            row: dict[str, Any] = {"users": users, **run_phase("write", release, root)}
            row.update(run_phase("pandas", release, root))
            row.update(run_phase("build", release, data))
            start = run_phase("start", release, data)
            row.update(
                first_recommendation_s=start["first_recommendation_s"],
                first_rss_mb=start["first_rss_mb"],
                recommend_p50_ms=start["recommend"]["p50"],
                recommend_p99_ms=start["recommend"]["p99"],
            )
            rows.append(row)
            if workdir is None:
                shutil.rmtree(release, ignore_errors=True)
                shutil.rmtree(data, ignore_errors=True)
    finally:
        if workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    return rows


def curve_table(rows: Sequence[dict[str, Any]]) -> str:
    """The curve as a markdown table, a size a row."""
    lines = [
        "| " + " | ".join(heading for _, heading in COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for row in rows:
        cells = [
            f"{row[key]:,}" if isinstance(row[key], int) else str(row[key]) for key, _ in COLUMNS
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def curve_chart(rows: Sequence[dict[str, Any]]) -> alt.FacetChart:
    """Each measure against users, a panel each (time, memory, latency), log-log."""
    panels = {
        "pandas_read_s": "seconds",
        "build_s": "seconds",
        "first_recommendation_s": "seconds",
        "build_rss_mb": "memory, MB",
        "first_rss_mb": "memory, MB",
        "recommend_p50_ms": "recommend(), ms",
        "recommend_p99_ms": "recommend(), ms",
    }
    headings = dict(COLUMNS)
    frame = pd.DataFrame(
        [
            {"users": row["users"], "what": headings[key], "value": row[key], "panel": panel}
            for row in rows
            for key, panel in panels.items()
        ]
    )
    return log_log_panels(frame, width=240, height=200)

"""Every report file a command writes (evaluation, tuning, movie night, bench, release), written
by one function: the same names, encodings and layout everywhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import altair as alt
    import pandas as pd


def write_report(
    folder: str | Path,
    stem: str,
    *,
    markdown: str | None = None,
    data: Any = None,
    table: pd.DataFrame | None = None,
    chart: alt.TopLevelMixin | None = None,
) -> list[Path]:
    """Write ``<stem>.md`` (``markdown``), ``<stem>.json`` (``data``, indented), ``<stem>.csv``
    (``table``) and ``<stem>.html`` and ``<stem>.png`` (``chart``) into ``folder``, each only
    when given; returns the paths written, in that order. A run rewrites its files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    if markdown is not None:
        written.append(folder / f"{stem}.md")
        written[-1].write_text(markdown.rstrip("\n") + "\n")
    if data is not None:
        written.append(folder / f"{stem}.json")
        written[-1].write_text(json.dumps(data, indent=2) + "\n")
    if table is not None:
        written.append(folder / f"{stem}.csv")
        table.to_csv(written[-1], index=False)
    if chart is not None:
        written += [folder / f"{stem}.html", folder / f"{stem}.png"]
        chart.save(str(written[-2]), inline=True)
        chart.save(str(written[-1]), scale_factor=1.5)
    return written

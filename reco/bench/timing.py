"""Timings and memory as the bench measures them: percentiles of repeated calls, peak RSS,
bytes on disk."""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reco import filters
from reco.recommend import Recommender


def machine() -> dict[str, Any]:
    """What a run was measured on, written beside its figures."""
    return {"cpus": os.cpu_count(), "python": sys.version.split()[0], "platform": sys.platform}


def percentiles(seconds: Sequence[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000
    return {f"p{q}": round(float(np.percentile(ms, q)), 3) for q in (50, 95, 99)}


def time_each(
    call: Callable[[dict[int, float]], Any],
    profiles: Sequence[dict[int, float]],
    deadline: float | None = None,
) -> list[float]:
    times = []
    for profile in profiles:
        started = time.perf_counter()
        call(profile)
        times.append(time.perf_counter() - started)
        if deadline is not None and time.perf_counter() > deadline:
            break
    return times


def folder_bytes(path: Path) -> int:
    """Bytes allocated on disk (Edge's memory-mapped files are sparse: sizes overstate)."""
    return sum(f.stat().st_blocks * 512 for f in path.rglob("*") if f.is_file())


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def popular_timings(recommender: Recommender) -> dict[str, float]:
    """The popular fallback under filters, each computed afresh (the cache cleared)."""
    catalog = recommender.catalog
    choices = {f.keyword: catalog.choices(f.name) for f in filters.FILTERS}
    rng = np.random.default_rng(4)
    chosen = []
    for _ in range(50):
        conditions = {
            keyword: list(rng.choice(values, int(rng.integers(1, 3)), replace=False))
            for keyword, values in choices.items()
            if values and rng.random() < 0.6
        }
        chosen.append(conditions)

    def popular(conditions: dict[str, list[str]]) -> Any:
        catalog._popular.clear()
        return recommender.popular(10, recommender.user_filter(**conditions))

    return percentiles(time_each(popular, chosen))  # type: ignore[arg-type]

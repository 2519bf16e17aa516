"""``python -m reco bench --sizes``: for each size, a fresh process generates a population (or
loads a real dataset), builds the embedded index, reopens it and times ``recommend()`` end to
end, beside the seed notebook's engine and the exact numpy reference, in the same run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from reco.bench.reference import PostingLists
from reco.bench.synthetic import sample_profiles, synthetic_movielens
from reco.bench.timing import (
    folder_bytes,
    machine,
    percentiles,
    popular_timings,
    rss_mb,
    time_each,
)
from reco.datasets import AGE_GROUPS, Dataset, load_movielens
from reco.explore import FilmFilter, genre_names
from reco.recommend import Recommender
from reco.reports import write_report
from reco.store import local_store, open_store


@dataclass(frozen=True)
class BenchOptions:
    profiles: int = 300
    seed_cap_seconds: float = 120.0  # give up on the seed engine's build beyond this
    seed_max_users: int = 50_000


def bench_one(source: str | int, options: BenchOptions = BenchOptions()) -> dict[str, Any]:
    """Measure one size (a user count: synthetic) or one dataset (a name or path)."""
    started = time.perf_counter()
    if isinstance(source, int) or str(source).isdigit():
        dataset = synthetic_movielens(int(source))
    else:
        dataset = load_movielens(str(source))
    generate_s = time.perf_counter() - started
    result: dict[str, Any] = {
        "dataset": dataset.name,
        "users": int(dataset.ratings["user_id"].nunique()),
        "movies": int(dataset.ratings["movie_id"].nunique()),
        "ratings": len(dataset.ratings),
        "load_s": round(generate_s, 2),
    }
    profiles = sample_profiles(dataset, options.profiles)
    group = AGE_GROUPS[2] if dataset.has_demographics else None
    root = Path(tempfile.mkdtemp(prefix="reco-bench-"))
    try:
        rss_before = rss_mb()
        started = time.perf_counter()
        recommender = Recommender.build(dataset, local_store("bench", root))
        build_s = time.perf_counter() - started
        result.update(
            build_s=round(build_s, 2),
            ratings_per_s=round(len(dataset.ratings) / build_s),
            rss_mb=round(rss_mb()),
            rss_before_build_mb=round(rss_before),
            disk_mb=round(folder_bytes(root) / 1e6, 1),
        )
        recommender.store.close()
        started = time.perf_counter()
        reopened = Recommender.build(dataset, local_store("bench", root))
        result["reopen_s"] = round(time.perf_counter() - started, 3)
        started = time.perf_counter()  # the first query also loads the ratings table
        reopened.recommend(profiles[0])
        result["first_query_s"] = round(time.perf_counter() - started, 3)
        time_each(reopened.recommend, profiles[:20])  # warm-up
        result["edge"] = percentiles(time_each(reopened.recommend, profiles))
        if group:

            def filtered(profile: dict[int, float]) -> Any:
                return reopened.recommend(profile, age_groups=[group])

            result["edge_filtered"] = percentiles(time_each(filtered, profiles))
        result["group_of_4"] = _group_timings(reopened, profiles)
        result["explore"] = _explore_timings(reopened, profiles)
        result["similar"] = _similar_timings(reopened, profiles)
        reference = PostingLists(dataset, reopened)
        time_each(reference.recommend, profiles[:5])
        result["numpy"] = percentiles(time_each(reference.recommend, profiles))
        agree = [
            reference.recommend(p) == [i.movie_id for i in reopened.recommend(p)]
            for p in profiles[:50]
        ]
        result["same_top10_as_numpy"] = round(float(np.mean(agree)), 3)
        result["popular_filtered"] = popular_timings(reopened)
        result["seed_engine"] = _seed_engine(dataset, profiles, options)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    result["peak_rss_mb"] = round(rss_mb())
    return result


def _group_timings(recommender: Recommender, profiles: Sequence[dict[int, float]]) -> dict:
    """Movie night for groups of 4 of the profiles against the same 4 asked one by one, in
    turn on the same run: the p50 of each and their ratio (target: at most 3x)."""
    groups = [profiles[i : i + 4] for i in range(0, len(profiles) - 3, 4)]
    alone: list[float] = []
    together: list[float] = []
    for group in groups:
        alone.extend(time_each(recommender.recommend, group))
        together.extend(time_each(recommender.recommend_group, [group]))
    one, four = percentiles(alone)["p50"], percentiles(together)["p50"]
    return {"groups": len(groups), "one_p50": one, "p50": four, "ratio": round(four / one, 2)}


def _explore_timings(recommender: Recommender, profiles: Sequence[dict[int, float]]) -> dict:
    """``recommend()`` narrowed to the release's most common genre and decade
    (`reco.explore`) beside the same query unnarrowed, alternated in one run: the p50 of
    each and their ratio (target: at most 1.2x)."""
    catalog = recommender.catalog
    genres = catalog.movies["genres"].astype(str).str.split("|").explode()
    genre = str(genres[genres.isin(genre_names(catalog))].value_counts().index[0])
    decade = int((catalog.movies["year"].dropna() // 10 * 10).value_counts().index[0])
    films = FilmFilter((genre,), (decade, decade + 9))
    plain: list[float] = []
    narrowed: list[float] = []
    for profile in profiles:
        plain.extend(time_each(recommender.recommend, [profile]))
        narrowed.extend(time_each(lambda p: recommender.recommend(p, films=films), [profile]))
    one, explored = percentiles(plain)["p50"], percentiles(narrowed)["p50"]
    return {
        "films": f"{genre}, {decade}s",
        "plain_p50": one,
        "p50": explored,
        "ratio": round(explored / one, 2),
    }


def _similar_timings(recommender: Recommender, profiles: Sequence[dict[int, float]]) -> dict:
    """More like this (`Recommender.similar`) for each profile's best-rated film: alone, and
    steered by the profile (one more query: the films near it)."""
    asked = [{"movie_id": max(p, key=p.__getitem__), "ratings": p} for p in profiles]
    alone = time_each(lambda ask: recommender.similar(ask["movie_id"]), asked)  # type: ignore[arg-type]
    steered = time_each(lambda ask: recommender.similar(**ask), asked)  # type: ignore[arg-type]
    return {"p50": percentiles(alone)["p50"], "p99": percentiles(alone)["p99"],
            "steered_p50": percentiles(steered)["p50"]}  # fmt: skip


def _seed_engine(
    dataset: Dataset, profiles: Sequence[dict[int, float]], options: BenchOptions
) -> dict[str, Any]:
    """The seed notebook's engine: qdrant-client in local mode, same vectors and scoring."""
    users = int(dataset.ratings["user_id"].nunique())
    if users > options.seed_max_users:
        return {"skipped": f"over {options.seed_max_users:,} users"}
    store = open_store("seed", url=":memory:")
    started = time.perf_counter()
    with warnings.catch_warnings():  # local mode ignores payload indexes, and says so
        warnings.simplefilter("ignore", UserWarning)
        recommender = Recommender.build(dataset, store)
    build_s = time.perf_counter() - started
    deadline = time.perf_counter() + options.seed_cap_seconds
    time_each(recommender.recommend, profiles[:3])
    times = time_each(recommender.recommend, profiles, deadline)
    store.close()
    return {"build_s": round(build_s, 2), "queries": len(times), **percentiles(times)}


# --------------------------------------------------------------------------- the run


def run(
    sources: Sequence[str | int],
    options: BenchOptions = BenchOptions(),
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """One fresh process per size, so peak memory and reopen time are each size's own."""
    results = []
    for source in sources:
        if progress is not None:
            progress(f"bench {source} …")
        command = [
            sys.executable,
            "-m",
            "reco",
            "bench",
            "--one",
            str(source),
            "--profiles",
            str(options.profiles),
            "--seed-cap",
            str(options.seed_cap_seconds),
            "--seed-max-users",
            str(options.seed_max_users),
        ]
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        if done.returncode != 0:
            raise RuntimeError(f"bench {source} failed: {done.stderr.strip()[-2000:]}")
        results.append(json.loads(done.stdout))
    return results


def table(results: Sequence[dict[str, Any]]) -> str:
    """Markdown table of a run, with the speed-up over the seed engine and numpy."""
    header = (
        "| Dataset | Users | Ratings | Build s | Ratings/s | Peak RSS MB | Disk MB | Reopen s "
        "| First query s | p50 ms | p95 ms | p99 ms | p50 filtered | numpy p50 | "
        "seed engine p50 | seed / edge | group of 4 p50 ms (× one) | explore p50 ms (× plain) "
        "| more like this p50 / p99 ms (with ratings p50) |"
    )
    lines = [header, "|" + "---|" * 19]
    for r in results:
        seed = r["seed_engine"]
        seed_p50 = seed.get("p50")
        ratio = f"{seed_p50 / r['edge']['p50']:.0f}×" if seed_p50 else seed.get("skipped", "–")
        filtered = r.get("edge_filtered", {}).get("p50")
        lines.append(
            f"| {r['dataset']} | {r['users']:,} | {r['ratings']:,} | {r['build_s']} "
            f"| {r['ratings_per_s']:,} | {r['peak_rss_mb']:,} | {r['disk_mb']} | {r['reopen_s']} "
            f"| {r.get('first_query_s', '–')} "
            f"| {r['edge']['p50']} | {r['edge']['p95']} | {r['edge']['p99']} "
            f"| {filtered if filtered is not None else '–'} | {r['numpy']['p50']} "
            f"| {seed_p50 if seed_p50 is not None else '–'} | {ratio} | {_group_cell(r)} "
            f"| {_explore_cell(r)} | {_similar_cell(r)} |"
        )
    return "\n".join(lines)


def _similar_cell(result: dict[str, Any]) -> str:
    similar = result.get("similar")
    if not similar:
        return "–"
    return f"{similar['p50']} / {similar['p99']} ({similar['steered_p50']})"


def _explore_cell(result: dict[str, Any]) -> str:
    explore = result.get("explore")
    return f"{explore['p50']} ({explore['ratio']}×; {explore['films']})" if explore else "–"


def _group_cell(result: dict[str, Any]) -> str:
    group = result.get("group_of_4")
    return f"{group['p50']} ({group['ratio']}×)" if group else "–"


def chart(results: Sequence[dict[str, Any]]) -> alt.Chart:
    """recommend() p50 latency and index build time against users, log-log (synthetic sizes;
    real datasets are in the table)."""
    latency, build = "recommend() latency, ms", "index build, s"
    rows = []
    for r in results:
        if not r["dataset"].startswith("synthetic-"):
            continue
        seed = r["seed_engine"]
        points = [
            ("Qdrant Edge p50", r["edge"]["p50"], latency),
            ("numpy posting lists p50", r["numpy"]["p50"], latency),
            ("Qdrant Edge build", r["build_s"], build),
        ]
        if seed.get("p50"):
            points += [
                ("seed engine (local mode) p50", seed["p50"], latency),
                ("seed engine build", seed["build_s"], build),
            ]
        rows += [{"users": r["users"], "what": w, "value": v, "panel": p} for w, v, p in points]
    return log_log_panels(pd.DataFrame(rows), width=320, height=240)


def log_log_panels(frame: pd.DataFrame, *, width: int, height: int) -> alt.FacetChart:
    """Rows of ``users``, ``what``, ``value`` and ``panel`` as lines against users, log-log, a
    panel each with its own scale (the bench's chart and the cost curve's)."""
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("users:Q", scale=alt.Scale(type="log"), title="Users"),
            y=alt.Y("value:Q", scale=alt.Scale(type="log"), title=None),
            color=alt.Color("what:N", title=None, legend=alt.Legend(orient="bottom", columns=2)),
            tooltip=["what", "users", alt.Tooltip("value:Q", format=".3f")],
        )
        .properties(width=width, height=height)
        .facet(column=alt.Column("panel:N", title=None))
        .resolve_scale(y="independent")
    )


def save(results: Sequence[dict[str, Any]], folder: str | Path) -> list[Path]:
    """Write bench.md, bench.json (with the machine), bench.html and bench.png."""
    return write_report(
        folder,
        "bench",
        markdown=table(results),
        data={"machine": machine(), "results": list(results)},
        chart=chart(results),
    )

"""Speed and scale: ``python -m reco bench``.

For each size, a fresh process generates a MovieLens-like population (or loads a real dataset),
builds the embedded Qdrant Edge index, reopens it, and times ``recommend()`` end to end
(encode, query with vectors, aggregate) over a few hundred profiles of 5-50 ratings, with and
without an age-group filter. In the same run it times the seed notebook's engine
(qdrant-client local mode, ``:memory:``) while it stays under a time cap, and an exact numpy
posting-list product (the same similarities computed without an engine) as the physical
reference.
"""

from __future__ import annotations

import json
import math
import os
import resource
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

from reco.catalog import display_title
from reco.datasets import AGE_GROUPS, Dataset, load_movielens
from reco.encode import rows_from_ratings
from reco.recommend import Recommender, score_candidates
from reco.search import MovieSearch
from reco.store import EdgeStore, QdrantServerStore

OCCUPATIONS = ("student", "engineer", "writer", "educator", "artist", "retired", "other")
GENRES = ("Action", "Comedy", "Drama", "Romance", "Sci-Fi", "Thriller", "Horror", "Animation")


# --------------------------------------------------------------------------- synthetic data


def synthetic_movielens(
    users: int, *, seed: int = 0, mean_ratings: float = 175.0, movies: int | None = None
) -> Dataset:
    """A seeded MovieLens-like population.

    Movie popularity follows a power law (Zipf, exponent 1), profile sizes a lognormal with
    mean ``mean_ratings`` (at least 5), stars come from user bias + movie quality + a shared
    taste cluster, in half stars from 0.5 to 5; demographics are drawn like ml-100k's.
    200,000 users give about 25 million ratings, like ML-25M (162,541 users, 25.0 million).
    """
    rng = np.random.default_rng(seed)
    n_movies = movies or int(min(60_000, max(500, users // 3)))
    weights = 1.0 / np.arange(1, n_movies + 1)
    cdf = np.cumsum(weights / weights.sum())
    sigma = 1.0
    sizes = rng.lognormal(math.log(mean_ratings) - sigma**2 / 2, sigma, users)
    sizes = np.clip(sizes, 5, n_movies // 2).astype(np.int64)
    keys = np.repeat(np.arange(users, dtype=np.int64) * n_movies, sizes)
    keys += np.minimum(np.searchsorted(cdf, rng.random(len(keys), dtype=np.float32)), n_movies - 1)
    keys = np.unique(keys)  # a user rates a movie once
    owner = (keys // n_movies).astype(np.int32)
    movie = (keys % n_movies).astype(np.int32)
    del keys
    cluster_user = rng.integers(0, 8, users)
    cluster_movie = rng.integers(0, 8, n_movies)
    raw = rng.normal(3.2, 0.8, len(owner)).astype(np.float32)
    raw += rng.normal(0, 0.4, users).astype(np.float32)[owner]
    raw += rng.normal(0, 0.5, n_movies).astype(np.float32)[movie]
    raw += np.float32(0.9) * (cluster_user[owner] == cluster_movie[movie])
    stars = np.clip(np.round(raw * 2) / 2, 0.5, 5.0).astype(np.float32)
    del raw
    ratings = pd.DataFrame({"user_id": owner + 1, "movie_id": movie + 1, "rating": stars})
    del owner, movie, stars
    genre_index = rng.integers(0, len(GENRES), n_movies)
    movies_frame = pd.DataFrame(
        {
            "movie_id": np.arange(1, n_movies + 1, dtype=np.int32),
            "title": synthetic_titles(n_movies, seed=seed),
            "genres": np.array(GENRES)[genre_index],
            "year": rng.integers(1950, 2024, n_movies),
        }
    )
    users_frame = pd.DataFrame(
        {
            "user_id": np.arange(1, users + 1, dtype=np.int32),
            "age": np.clip(rng.normal(33, 12, users), 7, 80).astype(int),
            "gender": rng.choice(["M", "F"], users, p=[0.7, 0.3]),
            "occupation": rng.choice(OCCUPATIONS, users),
        }
    )
    return Dataset(ratings, movies_frame, users_frame, name=f"synthetic-{users}")


_SYLLABLES = (
    "ka", "ra", "mo", "ne", "li", "sto", "ver", "dan", "lo", "mi", "tor", "es", "al", "ban",
    "cre", "di", "for", "gan", "hel", "in", "jo", "kel", "mar", "nor", "or", "pel", "qui",
    "ros", "sal", "tun", "ur", "vin", "wes", "xan", "yor", "zel", "an", "be", "ce", "do",
)  # fmt: skip


def synthetic_titles(count: int, *, seed: int = 0) -> list[str]:
    """Seeded made-up titles of 1-4 words from a vocabulary of a few thousand, so that title
    search meets realistic word sharing, prefixes and near-misses at any catalog size."""
    rng = np.random.default_rng(seed + 10_000)
    syllables = np.array(_SYLLABLES)
    vocabulary = sorted(
        {"".join(rng.choice(syllables, int(rng.integers(2, 4)))).capitalize() for _ in range(6000)}
    )
    words = np.array(vocabulary)
    lengths = rng.integers(1, 5, count)
    picks = rng.integers(0, len(words), int(lengths.sum()))
    ends = np.cumsum(lengths)
    return [" ".join(words[picks[end - n : end]]) for end, n in zip(ends, lengths, strict=True)]


def write_csv_release(dataset: Dataset, folder: str | Path) -> Path:
    """Write ``dataset`` as a release in the ml-25m CSV layout (``ratings.csv``,
    ``movies.csv``, ``links.csv``; titles with their year, as GroupLens writes them)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ratings = dataset.ratings
    table = pa.table(
        {
            "userId": ratings["user_id"].to_numpy(),
            "movieId": ratings["movie_id"].to_numpy(),
            "rating": ratings["rating"].to_numpy(np.float64),
            "timestamp": ratings["timestamp"].to_numpy(),
        }
    )
    options = pacsv.WriteOptions(quoting_style="none")
    pacsv.write_csv(table, folder / "ratings.csv", options)
    movies = dataset.movies
    titles = [  # as GroupLens writes them: "Title (Year)"
        display_title(title, year)
        for title, year in zip(movies["title"], movies["year"], strict=True)
    ]
    pd.DataFrame(
        {"movieId": movies["movie_id"], "title": titles, "genres": movies["genres"]}
    ).to_csv(folder / "movies.csv", index=False)
    ids = movies["movie_id"].to_numpy()
    pd.DataFrame(
        {"movieId": ids, "imdbId": [f"{100_000 + i:07d}" for i in ids], "tmdbId": ids + 10_000}
    ).to_csv(folder / "links.csv", index=False)
    return folder


def sample_profiles(
    dataset: Dataset, count: int, *, seed: int = 1, sizes: tuple[int, int] = (5, 50)
) -> list[dict[int, float]]:
    """Profiles of 5-50 ratings taken from random users' own ratings (realistic co-ratings)."""
    rng = np.random.default_rng(seed)
    ratings = dataset.ratings
    user_ids, rows = rows_from_ratings(
        ratings["user_id"].to_numpy(), ratings["movie_id"].to_numpy(), ratings["rating"].to_numpy()
    )
    profiles = []
    for index in rng.integers(0, len(user_ids), count):
        row = rows.row(int(index))
        size = min(len(row), int(rng.integers(sizes[0], sizes[1] + 1)))
        chosen = rng.choice(len(row), size, replace=False)
        profiles.append(
            dict(zip(row.indices[chosen].tolist(), row.values[chosen].tolist(), strict=True))
        )
    return profiles


# --------------------------------------------------------------------------- exact reference


class PostingLists:
    """Exact similarities without an engine: per-movie posting lists of the taste vectors,
    with the same IDF weighting as Qdrant's modifier, and the users' raw stars."""

    def __init__(self, dataset: Dataset, recommender: Recommender):
        encoding = recommender.encoding
        ratings = dataset.ratings
        self.user_ids, stars = rows_from_ratings(
            ratings["user_id"].to_numpy(),
            ratings["movie_id"].to_numpy(),
            ratings["rating"].to_numpy(),
        )
        self.stars = stars
        taste = encoding.encode_rows(stars)
        owner = np.repeat(np.arange(len(self.user_ids)), np.diff(taste.indptr))
        order = np.argsort(taste.indices, kind="stable")
        self.movie_sorted = taste.indices[order]
        self.owner_sorted = owner[order]
        self.value_sorted = taste.values[order].astype(np.float64)
        self.encoding = encoding
        self.options = recommender.options
        self.counts = recommender.rating_counts
        if encoding.idf:
            n = len(self.user_ids)
            movies, df = np.unique(taste.indices, return_counts=True)
            self.idf = np.zeros(int(self.counts.shape[0]))
            self.idf[movies] = np.log((n - df + 0.5) / (df + 0.5) + 1)
        else:
            self.idf = None

    def recommend(self, profile: dict[int, float], limit: int = 10) -> list[int]:
        query = self.encoding.encode_query(profile)
        owners, weights = [], []
        for movie, value in zip(query.indices.tolist(), query.values.tolist(), strict=True):
            lo = np.searchsorted(self.movie_sorted, movie, "left")
            hi = np.searchsorted(self.movie_sorted, movie, "right")
            weight = value * (self.idf[movie] if self.idf is not None else 1.0)
            owners.append(self.owner_sorted[lo:hi])
            weights.append(weight * self.value_sorted[lo:hi])
        sims = np.bincount(
            np.concatenate(owners) if owners else np.empty(0, np.int64),
            weights=np.concatenate(weights) if weights else None,
            minlength=len(self.user_ids),
        ).astype(np.float64)
        k = min(self.options.neighbours, len(sims))
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.argsort(-sims[top], kind="stable")]
        top = top[sims[top] > 0]
        if len(top) == 0:
            return []
        rated = np.fromiter(profile, dtype=np.int64)
        candidates = score_candidates(
            self.stars.take(top),
            sims[top],
            rated,
            self.encoding,
            self.options.for_profile(len(profile)),
            self.counts,
            limit=limit,
            rated=rated,
        )
        return candidates.movie_ids.tolist()


# --------------------------------------------------------------------------- measuring


def _percentiles(seconds: Sequence[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000
    return {f"p{q}": round(float(np.percentile(ms, q)), 3) for q in (50, 95, 99)}


def _time_each(
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


def _folder_bytes(path: Path) -> int:
    """Bytes allocated on disk (Edge's memory-mapped files are sparse: sizes overstate)."""
    return sum(f.stat().st_blocks * 512 for f in path.rglob("*") if f.is_file())


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


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
        rss_before = _rss_mb()
        started = time.perf_counter()
        recommender = Recommender.build(dataset, EdgeStore(root, "bench"))
        build_s = time.perf_counter() - started
        result.update(
            build_s=round(build_s, 2),
            ratings_per_s=round(len(dataset.ratings) / build_s),
            rss_mb=round(_rss_mb()),
            rss_before_build_mb=round(rss_before),
            disk_mb=round(_folder_bytes(root) / 1e6, 1),
        )
        recommender.store.close()
        started = time.perf_counter()
        reopened = Recommender.build(dataset, EdgeStore(root, "bench"))
        result["reopen_s"] = round(time.perf_counter() - started, 3)
        started = time.perf_counter()  # the first query also loads the ratings table
        reopened.recommend(profiles[0])
        result["first_query_s"] = round(time.perf_counter() - started, 3)
        _time_each(reopened.recommend, profiles[:20])  # warm-up
        result["edge"] = _percentiles(_time_each(reopened.recommend, profiles))
        if group:

            def filtered(profile: dict[int, float]) -> Any:
                return reopened.recommend(profile, age_groups=[group])

            result["edge_filtered"] = _percentiles(_time_each(filtered, profiles))
        result["group_of_4"] = _group_timings(reopened, profiles)
        reference = PostingLists(dataset, reopened)
        _time_each(reference.recommend, profiles[:5])
        result["numpy"] = _percentiles(_time_each(reference.recommend, profiles))
        agree = [
            reference.recommend(p) == [i.movie_id for i in reopened.recommend(p)]
            for p in profiles[:50]
        ]
        result["same_top10_as_numpy"] = round(float(np.mean(agree)), 3)
        result["popular_filtered"] = _popular_timings(reopened)
        result["seed_engine"] = _seed_engine(dataset, profiles, options)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    result["peak_rss_mb"] = round(_rss_mb())
    return result


def _group_timings(recommender: Recommender, profiles: Sequence[dict[int, float]]) -> dict:
    """Movie night for groups of 4 of the profiles against the same 4 asked one by one, in
    turn on the same run: the p50 of each and their ratio (target: at most 3x)."""
    groups = [profiles[i : i + 4] for i in range(0, len(profiles) - 3, 4)]
    alone: list[float] = []
    together: list[float] = []
    for group in groups:
        alone.extend(_time_each(recommender.recommend, group))
        together.extend(_time_each(recommender.recommend_group, [group]))
    one, four = _percentiles(alone)["p50"], _percentiles(together)["p50"]
    return {"groups": len(groups), "one_p50": one, "p50": four, "ratio": round(four / one, 2)}


def _seed_engine(
    dataset: Dataset, profiles: Sequence[dict[int, float]], options: BenchOptions
) -> dict[str, Any]:
    """The seed notebook's engine: qdrant-client in local mode, same vectors and scoring."""
    users = int(dataset.ratings["user_id"].nunique())
    if users > options.seed_max_users:
        return {"skipped": f"over {options.seed_max_users:,} users"}
    from qdrant_client import QdrantClient

    store = QdrantServerStore(QdrantClient(":memory:"), "seed")
    started = time.perf_counter()
    with warnings.catch_warnings():  # local mode ignores payload indexes, and says so
        warnings.simplefilter("ignore", UserWarning)
        recommender = Recommender.build(dataset, store)
    build_s = time.perf_counter() - started
    deadline = time.perf_counter() + options.seed_cap_seconds
    _time_each(recommender.recommend, profiles[:3])
    times = _time_each(recommender.recommend, profiles, deadline)
    store.close()
    return {"build_s": round(build_s, 2), "queries": len(times), **_percentiles(times)}


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
        "seed engine p50 | seed / edge | group of 4 p50 ms (× one) |"
    )
    lines = [header, "|" + "---|" * 17]
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
            f"| {seed_p50 if seed_p50 is not None else '–'} | {ratio} | {_group_cell(r)} |"
        )
    return "\n".join(lines)


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
    frame = pd.DataFrame(rows)
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("users:Q", scale=alt.Scale(type="log"), title="Users"),
            y=alt.Y("value:Q", scale=alt.Scale(type="log"), title=None),
            color=alt.Color("what:N", title=None, legend=alt.Legend(orient="bottom", columns=2)),
            tooltip=["what", "users", alt.Tooltip("value:Q", format=".3f")],
        )
        .properties(width=320, height=240)
        .facet(column=alt.Column("panel:N", title=None))
        .resolve_scale(y="independent")
    )


def save(results: Sequence[dict[str, Any]], folder: str | Path) -> list[Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    machine = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "platform": sys.platform}
    (folder / "bench.md").write_text(table(results) + "\n")
    (folder / "bench.json").write_text(
        json.dumps({"machine": machine, "results": list(results)}, indent=2) + "\n"
    )
    figure = chart(results)
    figure.save(str(folder / "bench.png"), scale_factor=1.5)
    figure.save(str(folder / "bench.html"), inline=True)
    return [folder / n for n in ("bench.md", "bench.json", "bench.png", "bench.html")]


# --------------------------------------------------------------------------- a release on disk
#
# The targets of an app that opens any release: each phase in a fresh process, on a synthetic
# release written in the ml-25m CSV layout (no demographics), so that start-up and memory are
# what a person starting the app or the CLI gets.

PROFILES_FILE = "profiles.json"
SERVER_USERS = 5_000


@dataclass(frozen=True)
class ReleaseOptions:
    users: int = 200_000
    profiles: int = 300
    server_users: int = SERVER_USERS


def release_phase(phase: str, release: Path, data_dir: Path, started: float = 0.0) -> dict:
    """One measured phase, run in its own process by `bench_release` (``--phase``)."""
    if phase == "write":
        return _write_phase(release)
    if phase == "pandas":
        began = time.perf_counter()
        frame = pd.read_csv(release / "ratings.csv")
        return {"pandas_read_s": round(time.perf_counter() - began, 2), "rows": len(frame)}
    from reco.recommend import open_recommender

    if phase == "build":
        began = time.perf_counter()
        recommender = open_recommender(release, data_dir=data_dir)
        return {
            "build_s": round(time.perf_counter() - began, 2),
            "build_rss_mb": round(_rss_mb()),
            "users": int(recommender.manifest["users"]),
            "ratings": int(recommender.manifest["ratings"]),
            "movies": len(recommender.catalog),
        }
    profiles = [
        {int(m): s for m, s in p.items()}
        for p in json.loads((release.parent / PROFILES_FILE).read_text())
    ]
    if phase == "answers":  # the server code path: what this process recommends
        recommender = open_recommender(release, data_dir=data_dir)
        return {
            "answers": [[i.movie_id for i in recommender.recommend(p)] for p in profiles],
            "store": recommender.store.description,
        }
    if phase != "start":
        raise ValueError(f"unknown phase {phase!r}")
    recommender = open_recommender(release, data_dir=data_dir)
    opened = time.time()
    recommender.recommend(profiles[0])
    first = time.time()
    result: dict[str, Any] = {
        "open_s": round(opened - started, 3),
        "first_recommendation_s": round(first - started, 3),
        "first_rss_mb": round(_rss_mb()),
    }
    result["recommend"] = _percentiles(_time_each(recommender.recommend, profiles))
    search = _timed_build(lambda: MovieSearch.of(recommender.catalog), result, "search_build_s")
    queries = _search_queries(recommender.catalog.movies["title"].tolist(), len(profiles))
    result["search"] = _percentiles(
        _time_each(lambda q: search.search(q, limit=10), queries)  # type: ignore[arg-type]
    )
    result["popular"] = _popular_timings(recommender)
    result["peak_rss_mb"] = round(_rss_mb())
    return result


def _timed_build(make: Callable[[], Any], into: dict[str, Any], key: str) -> Any:
    began = time.perf_counter()
    made = make()
    into[key] = round(time.perf_counter() - began, 3)
    return made


def _write_phase(release: Path) -> dict:
    users = int(release.name.rsplit("-", 1)[1])
    began = time.perf_counter()
    dataset = synthetic_movielens(users)
    dataset.ratings["timestamp"] = 1_000_000_000 + np.arange(len(dataset.ratings)) % 10**8
    write_csv_release(dataset, release)
    profiles = sample_profiles(dataset, 300)
    (release.parent / PROFILES_FILE).write_text(json.dumps(profiles))
    return {"write_s": round(time.perf_counter() - began, 1), "ratings": len(dataset.ratings)}


def _search_queries(titles: Sequence[str], count: int, seed: int = 3) -> list[str]:
    """What people type: one or two words of a title, lower case, a letter dropped from half
    of the longer words (a typo)."""
    rng = np.random.default_rng(seed)
    queries = []
    for index in rng.integers(0, len(titles), count):
        words = str(titles[index]).split() or ["x"]
        word = list(words[int(rng.integers(0, len(words)))].lower())
        if len(word) > 4 and rng.random() < 0.5:
            del word[int(rng.integers(0, len(word)))]
        extra = f" {words[0].lower()}" if len(words) > 1 and rng.random() < 0.5 else ""
        queries.append("".join(word) + extra)
    return queries


def _popular_timings(recommender: Recommender) -> dict[str, float]:
    """The popular fallback under filters, each computed afresh (the cache cleared)."""
    catalog = recommender.catalog
    choices = {name: catalog.choices(name) for name in ("age_group", "gender", "occupation")}
    rng = np.random.default_rng(4)
    filters = []
    for _ in range(50):
        conditions = [
            (name, list(rng.choice(values, int(rng.integers(1, 3)), replace=False)))
            for name, values in choices.items()
            if values and rng.random() < 0.6
        ]
        filters.append(conditions)

    def popular(conditions: list) -> Any:
        catalog._popular.clear()
        return recommender.popular(10, recommender.user_filter(**_filter_arguments(conditions)))

    return _percentiles(_time_each(popular, filters))  # type: ignore[arg-type]


def _filter_arguments(conditions: list) -> dict[str, list[str]]:
    names = {"age_group": "age_groups", "gender": "genders", "occupation": "occupations"}
    return {names[name]: values for name, values in conditions}


def _phase(phase: str, release: Path, data_dir: Path, env: dict[str, str] | None = None) -> dict:
    command = [
        sys.executable,
        "-m",
        "reco",
        "bench",
        "--phase",
        phase,
        "--release-path",
        str(release),
        "--data-dir",
        str(data_dir),
        "--started",
        repr(time.time()),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, env={**os.environ, **(env or {})}
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench phase {phase} failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout)


def bench_release(
    options: ReleaseOptions = ReleaseOptions(),
    workdir: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Write a synthetic release, then in fresh processes: pandas reading its ratings.csv,
    the build, and a start to the first recommendation (then recommend, search and popular
    timings). Then the server code path: qdrant-client's on-disk local mode standing in for a
    server, built by one process, opened by another after the release is removed."""
    say = progress or (lambda text: None)
    root = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="reco-release-"))
    try:
        release = root / "releases" / f"synthetic-{options.users}"
        say(f"writing a synthetic release of {options.users:,} users …")
        result: dict[str, Any] = {"release": release.name, **_phase("write", release, root)}
        say("pandas reading ratings.csv …")
        result.update(_phase("pandas", release, root))
        say("building the index (fresh process) …")
        shutil.rmtree(root / "data", ignore_errors=True)  # a build, even in a kept --workdir
        result.update(_phase("build", release, root / "data"))
        say("start to first recommendation (fresh process) …")
        result.update(_phase("start", release, root / "data"))
        result["server"] = _server_path(root, options.server_users, say)
    finally:
        if workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    return result


def _server_path(root: Path, users: int, say: Callable[[str], None]) -> dict[str, Any]:
    release = root / "server-releases" / f"synthetic-{users}"
    for earlier in ("qdrant-local", "server-data", "server-edge"):  # measure builds, not reuse
        shutil.rmtree(root / earlier, ignore_errors=True)
    _phase("write", release, root)
    url = {"QDRANT_URL": f"file://{root / 'qdrant-local'}"}
    say(f"server code path: building {users:,} users into qdrant-client's local mode …")
    began = time.perf_counter()
    built = _phase("answers", release, root / "server-data", url)
    build_s = time.perf_counter() - began
    embedded = _phase("answers", release, root / "server-edge")
    shutil.rmtree(release)  # the second process has no data files at all
    shutil.rmtree(root / "server-data", ignore_errors=True)
    say("server code path: opening with no data files (fresh process) …")
    began = time.perf_counter()
    opened = _phase("answers", release, root / "server-data", url)
    return {
        "users": users,
        "build_and_answer_s": round(build_s, 1),
        "open_and_answer_s": round(time.perf_counter() - began, 1),
        "same_answers": opened["answers"] == built["answers"],
        "same_as_embedded": float(
            np.mean([a == b for a, b in zip(opened["answers"], embedded["answers"], strict=True)])
        ),
        "store": opened["store"],
    }


def release_table(result: dict[str, Any]) -> str:
    """The targets and what this run measured, as a markdown table."""
    server = result["server"]
    ratio = result["pandas_read_s"] / result["first_recommendation_s"]
    rows = [
        ("release", f"{result['release']}: {result['users']:,} users, {result['ratings']:,} "
         f"ratings, {result['movies']:,} movies (ml-25m CSV layout)"),
        ("process start → first recommendation (≤ 3 s)",
         f"{result['first_recommendation_s']} s (index open at {result['open_s']} s); "
         f"pandas alone takes {result['pandas_read_s']} s just to read ratings.csv "
         f"({ratio:.1f}× the whole start)"),
        ("peak RSS at the first recommendation (≤ 600 MB)",
         f"{result['first_rss_mb']} MB ({result['peak_rss_mb']} MB after the timings below)"),
        ("build (≤ 60 s, ≤ 4 GB)",
         f"{result['build_s']} s, peak RSS {result['build_rss_mb']:,} MB"),
        ("recommend() p50 (≤ 5 ms), neighbours' stars from the engine",
         f"{result['recommend']['p50']} ms (p95 {result['recommend']['p95']}, "
         f"p99 {result['recommend']['p99']})"),
        ("title search p50 (≤ 20 ms), typos included",
         f"{result['search']['p50']} ms (p95 {result['search']['p95']}) over "
         f"{result['movies']:,} films; index built in {result['search_build_s']} s"),
        ("popular fallback p50 (≤ 20 ms), computed afresh",
         f"{result['popular']['p50']} ms (this release has no demographics to filter by; "
         "filtered: the sizes table)"),
        ("server code path (qdrant-client on-disk local mode)",
         f"{server['users']:,} users: built by one process, release removed, a second "
         f"process opened it and gave the same answers: {server['same_answers']} "
         f"(top 10 equal to the embedded engine's for {server['same_as_embedded']:.0%})"),
    ]  # fmt: skip
    lines = ["| Target | Measured |", "|---|---|"]
    lines += [f"| {what} | {measured} |" for what, measured in rows]
    return "\n".join(lines)

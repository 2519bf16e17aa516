"""The benchmark harness on small sizes: correctness of what it measures, not timings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from reco.bench import (
    BenchOptions,
    PostingLists,
    bench_one,
    chart,
    run,
    sample_profiles,
    save,
    synthetic_movielens,
    table,
)
from reco.recommend import Recommender


def test_synthetic_population_looks_like_movielens() -> None:
    dataset = synthetic_movielens(2_000, seed=3)
    ratings = dataset.ratings
    assert dataset.users is not None and len(dataset.users) == 2_000
    stars = ratings["rating"].to_numpy()
    assert stars.min() >= 0.5 and stars.max() <= 5.0
    assert np.all(stars * 2 == np.round(stars * 2))  # half stars
    assert 3.0 < stars.mean() < 4.0
    per_movie = ratings.groupby("movie_id").size().sort_values(ascending=False).to_numpy()
    assert per_movie[0] > 10 * np.median(per_movie)  # power law (ml-100k: 583 vs 27)
    per_user = ratings.groupby("user_id").size().to_numpy()
    assert np.median(per_user) < per_user.mean()  # lognormal: long right tail
    assert not ratings.duplicated(["user_id", "movie_id"]).any()
    assert set(dataset.users["age_group"].astype(str)) >= {"18-24", "25-34", "35-44"}


def test_synthetic_population_is_seeded() -> None:
    a, b = synthetic_movielens(300, seed=5), synthetic_movielens(300, seed=5)
    assert a.fingerprint == b.fingerprint
    assert synthetic_movielens(300, seed=6).fingerprint != a.fingerprint


def test_profiles_are_5_to_50_of_a_users_own_ratings() -> None:
    dataset = synthetic_movielens(500)
    rated = set(zip(dataset.ratings["movie_id"], dataset.ratings["rating"], strict=True))
    profiles = sample_profiles(dataset, 40)
    assert len(profiles) == 40
    for profile in profiles:
        assert 5 <= len(profile) <= 50
        assert all((m, s) in rated for m, s in profile.items())


@pytest.mark.parametrize("idf", [False, True])
def test_numpy_posting_lists_give_the_engines_answers(idf: bool) -> None:
    dataset = synthetic_movielens(400, seed=2)
    recommender = Recommender.build(dataset, idf=idf)
    reference = PostingLists(dataset, recommender)
    for profile in sample_profiles(dataset, 25):
        expected = [item.movie_id for item in recommender.recommend(profile)]
        assert reference.recommend(profile) == expected


def test_bench_one_measures_every_figure() -> None:
    result = bench_one(300, BenchOptions(profiles=20, seed_cap_seconds=5))
    assert result["users"] == 300 and result["ratings"] > 300 * 5
    assert result["build_s"] > 0 and result["ratings_per_s"] > 0
    assert result["peak_rss_mb"] >= result["rss_mb"] > 0
    assert result["disk_mb"] > 0 and result["reopen_s"] > 0
    for key in ("edge", "edge_filtered", "numpy", "popular_filtered"):
        p = result[key]
        assert 0 < p["p50"] <= p["p95"] <= p["p99"]
    assert result["same_top10_as_numpy"] == 1.0
    assert result["seed_engine"]["queries"] >= 1 and result["seed_engine"]["p50"] > 0
    group = result["group_of_4"]
    assert group["groups"] == 5 and group["p50"] > 0 and group["one_p50"] > 0
    assert group["ratio"] == round(group["p50"] / group["one_p50"], 2)


def test_seed_engine_is_skipped_above_its_size_limit() -> None:
    result = bench_one(200, BenchOptions(profiles=5, seed_max_users=100))
    assert result["seed_engine"] == {"skipped": "over 100 users"}


def test_run_in_subprocesses_then_table_chart_and_files(tmp_path: Path) -> None:
    results = run([150], BenchOptions(profiles=10, seed_cap_seconds=2))
    assert [r["users"] for r in results] == [150]
    markdown = table(results)
    assert markdown.splitlines()[0].startswith("| Dataset | Users | Ratings | Build s")
    assert "| synthetic-150 | 150 |" in markdown and "×" in markdown.splitlines()[2]
    assert chart(results).to_dict()["facet"]["column"]["field"] == "panel"
    written = save(results, tmp_path)
    assert [p.name for p in written] == ["bench.md", "bench.json", "bench.html", "bench.png"]
    assert all(p.stat().st_size > 0 for p in written)


def test_a_release_bench_measures_every_phase_in_fresh_processes(tmp_path: Path) -> None:
    from reco.bench import ReleaseOptions, bench_release, release_table

    result = bench_release(ReleaseOptions(users=300, server_users=60), tmp_path)
    release = tmp_path / "releases" / "synthetic-300"
    assert sorted(p.name for p in release.iterdir()) == ["links.csv", "movies.csv", "ratings.csv"]
    assert result["users"] == 300 and result["rows"] == result["ratings"] > 300 * 5
    assert 0 < result["open_s"] <= result["first_recommendation_s"] < 60
    assert 0 < result["first_rss_mb"] <= result["peak_rss_mb"]
    for key in ("recommend", "search", "popular"):
        assert 0 < result[key]["p50"] <= result[key]["p95"]
    server = result["server"]
    assert server["same_answers"] is True and server["same_as_embedded"] == 1.0
    assert "Qdrant server" in server["store"]
    assert not (tmp_path / "server-releases" / "synthetic-60").exists()  # opened without it
    markdown = release_table(result)
    assert markdown.count("\n") == 9 and "| build (≤ 60 s, ≤ 4 GB) |" in markdown


def test_the_cost_curve_measures_each_size_in_fresh_processes(tmp_path: Path) -> None:
    from reco.cli import main

    out = tmp_path / "out"
    assert main(["bench", "--release-users", "240,120", "--out", str(out)]) == 0
    written = sorted(p.name for p in out.iterdir())
    assert written == ["curve.html", "curve.json", "curve.md", "curve.png"]
    rows = json.loads((out / "curve.json").read_text())["results"]
    assert [row["users"] for row in rows] == [120, 240]  # smallest first
    for row in rows:
        assert row["rows"] == row["ratings"] > row["users"] * 5  # pandas read every rating
        assert 0 < row["first_rss_mb"] and 0 < row["build_rss_mb"]
        assert 0 < row["recommend_p50_ms"] <= row["recommend_p99_ms"]
    assert rows[1]["ratings"] > rows[0]["ratings"]
    lines = (out / "curve.md").read_text().splitlines()
    assert lines[0].startswith("| Users | Ratings | pandas read s | Build s")
    assert lines[2].startswith("| 120 |") and lines[3].startswith("| 240 |")


def test_release_users_must_be_user_counts(capsys: pytest.CaptureFixture[str]) -> None:
    from reco.cli import main

    for given, said in (
        ("12,abc", "user counts, comma-separated"),
        ("5", "each user count is from 10"),
        (",", "each user count is from 10"),
    ):
        with pytest.raises(SystemExit):
            main(["bench", "--release-users", given])
        assert said in capsys.readouterr().err

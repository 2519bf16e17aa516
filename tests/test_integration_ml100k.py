"""The real ml-100k from ../shared/datasets (skipped with a reason when it is absent)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from reco.datasets import load_movielens
from reco.recommend import Recommender, open_recommender
from reco.store import QdrantServerStore

pytestmark = pytest.mark.integration

STAR_WARS = {50: 5.0, 172: 5.0, 181: 5.0}  # Star Wars, The Empire Strikes Back, Return of the Jedi
ADVENTURE = {174, 210, 222, 258, 257, 96, 195, 82, 56, 121, 117, 228, 229, 230, 271, 1}


def test_star_wars_fans_get_star_wars_like_movies(ml100k_dir: Path) -> None:
    built: list[int] = []
    recommender = open_recommender(
        "ml-100k", data_dir=ml100k_dir, build_progress=lambda d, t: built.append(d)
    )
    assert built[-1] == 943
    assert recommender.store.count() == 943
    items = recommender.recommend(STAR_WARS, limit=10)
    ids = [item.movie_id for item in items]
    assert not set(ids) & set(STAR_WARS)
    assert 174 in ids[:3]  # Raiders of the Lost Ark
    assert len(set(ids) & ADVENTURE) >= 5, [item.title for item in items]
    assert all(item.raters >= 2 and not item.popular for item in items)


def test_restart_reuses_the_persisted_index(ml100k_dir: Path) -> None:
    open_recommender("ml-100k", data_dir=ml100k_dir)
    rebuilt: list[int] = []
    again = open_recommender(
        "ml-100k", data_dir=ml100k_dir, build_progress=lambda d, t: rebuilt.append(d)
    )
    assert rebuilt == []
    assert len(list((ml100k_dir / "index").glob("[!.]*"))) == 1
    assert again.recommend(STAR_WARS)[0].movie_id == 174


def test_age_group_filter_on_real_demographics(ml100k_dir: Path) -> None:
    recommender = open_recommender("ml-100k", data_dir=ml100k_dir)
    result = recommender.recommend_explained(STAR_WARS, age_groups=["50-55", "56+"])
    assert result.neighbours and all(n.age_group in ("50-55", "56+") for n in result.neighbours)
    assert recommender.population("age_group")["25-34"] == 310
    population = recommender.population("gender", result.where)
    assert sum(population.values()) == 73 + 52


def test_server_store_gives_the_same_answers_as_edge(ml100k_dir: Path) -> None:
    from qdrant_client import QdrantClient

    edge = open_recommender("ml-100k", data_dir=ml100k_dir)
    dataset = load_movielens(ml100k_dir / "ml-100k.zip")
    server = Recommender.build(dataset, QdrantServerStore(QdrantClient(":memory:"), "ml"))
    for profile in (STAR_WARS, {1: 5.0, 95: 4.0, 71: 5.0}, {127: 5.0, 100: 4.5, 56: 1.0}):
        # The same similarities for the top 50 (which of several equally similar users is
        # 50th may differ between engines) ...
        a = edge.recommend_explained(profile)
        b = server.recommend_explained(profile)
        assert [n.similarity for n in a.neighbours] == pytest.approx(
            [n.similarity for n in b.neighbours], rel=1e-5
        )
        # ... and identical answers when every positively similar user is a neighbour.
        a_all, b_all = (
            edge.recommend(profile, neighbours=943),
            server.recommend(profile, neighbours=943),
        )
        assert [i.movie_id for i in a_all] == [i.movie_id for i in b_all]
        assert [i.score for i in a_all] == pytest.approx([i.score for i in b_all], rel=1e-4)


def test_cli_recommend_on_ml100k(ml100k_dir: Path) -> None:
    args = [
        sys.executable,
        "-m",
        "reco",
        "recommend",
        "--data-dir",
        str(ml100k_dir),
        "--rate",
        "50=5",
        "--rate",
        "172=5",
        "--rate",
        "181=5",
    ]
    first = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "Indexing ml-100k" in first.stderr
    second = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0 and "Indexing" not in second.stderr
    assert "1. Raiders of the Lost Ark (1981)  [id 174]" in second.stdout

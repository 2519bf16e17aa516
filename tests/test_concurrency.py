"""Many sessions at once: 20 threads share one recommender, as Streamlit sessions share the
cached one, and must get exactly the single-threaded answers."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from qdrant_client import QdrantClient

from reco.bench import sample_profiles, synthetic_movielens
from reco.filters import AGE_GROUPS
from reco.recommend import Recommender
from reco.store import EdgeStore, QdrantServerStore

THREADS = 20
SECONDS = 3.0


@pytest.fixture(scope="module")
def dataset():
    return synthetic_movielens(1500, seed=3)


@pytest.fixture(params=["edge", "server"])
def recommender(request: pytest.FixtureRequest, dataset, tmp_path: Path) -> Recommender:
    if request.param == "edge":
        store = EdgeStore(tmp_path / "index", "synthetic")
    else:
        store = QdrantServerStore(QdrantClient(":memory:"), "synthetic")
    return Recommender.build(dataset, store)


def test_twenty_threads_get_the_single_threaded_answers(recommender: Recommender, dataset) -> None:
    profiles = sample_profiles(dataset, 40, seed=11)
    groups = list(AGE_GROUPS)
    asks = [
        (profile, {"age_groups": [groups[i % len(groups)]]} if i % 3 == 0 else {})
        for i, profile in enumerate(profiles)
    ]
    expected = [recommender.recommend_explained(p, 10, **f) for p, f in asks]
    assert sum(bool(e.items) for e in expected) > 30  # answers worth comparing

    calls = [0] * THREADS
    problems: list[str] = []
    start = threading.Barrier(THREADS)
    deadline = time.monotonic() + SECONDS

    def session(number: int) -> None:
        start.wait()
        index = number
        while time.monotonic() < deadline:
            profile, filters = asks[index % len(asks)]
            try:
                got = recommender.recommend_explained(profile, 10, **filters)
            except Exception as error:  # recorded, the assertion below reports it
                problems.append(f"thread {number}: {type(error).__name__}: {error}")
                return
            want = expected[index % len(asks)]
            if got.items != want.items or got.neighbours != want.neighbours:
                problems.append(f"thread {number}: a different answer for ask {index % len(asks)}")
            calls[number] += 1
            index += 7

    threads = [threading.Thread(target=session, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 60)
    assert not any(t.is_alive() for t in threads), "a session hung"
    assert problems == []
    assert all(c > 0 for c in calls), calls  # every thread really ran
    assert sum(calls) >= 2 * THREADS
    print(f"{sum(calls)} concurrent calls, {len(problems)} problems")

"""How Qdrant Edge hands back the neighbours' packed stars, timed on ml-100k's index.

Two ways over the same 300 profiles (``reco bench``'s sample: 5-50 ratings of real users),
interleaved in one process so that this machine's drift hits both alike:

- ``with the query``: the similarity search returns each hit's payload (the layout before);
- ``by id``: the search returns ids and scores, one ``retrieve`` reads the payloads (now).

Prints the median of each round and whether both give the same recommendations. Needs the
ml-100k index (``python -m reco build``). Run: ``python scripts/payload_read.py``.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import qdrant_edge as qe

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reco.bench import sample_profiles  # noqa: E402
from reco.datasets import default_data_dir, load_movielens  # noqa: E402
from reco.recommend import open_recommender  # noqa: E402
from reco.store import edge as stores  # noqa: E402
from reco.store.hits import neighbours_from_hits  # noqa: E402

ROUNDS = 6


def main() -> None:
    recommender = open_recommender("ml-100k")
    store = recommender.store
    if not isinstance(store, stores.EdgeStore):
        raise SystemExit("this compares Qdrant Edge's two reads: unset QDRANT_URL")
    profiles = sample_profiles(load_movielens(str(default_data_dir() / "ml-100k.zip")), 300)
    by_id = store.similar_users

    def with_the_query(query, limit, where=None, *, with_payload=False):
        request = qe.QueryRequest(
            limit=limit,
            query=qe.Query.Nearest(stores._edge_vector(query), using=stores.TASTE),
            filter=stores._edge_filter(where),
            with_vector=False,
            with_payload=True if with_payload else qe.PayloadSelector.Include([stores.STARS]),
        )
        hits = store._require().query(request)
        return neighbours_from_hits(hits, [hit.payload for hit in hits], with_payload)

    ways = {"with the query": with_the_query, "by id": by_id}
    medians: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(ROUNDS):
        for name, way in ways.items():
            store.similar_users = way
            seconds = []
            for profile in profiles:
                started = time.perf_counter()
                recommender.recommend(profile)
                seconds.append(time.perf_counter() - started)
            medians[name].append(statistics.median(seconds) * 1000)
    answers = {}
    for name, way in ways.items():
        store.similar_users = way
        answers[name] = [recommender.recommend(profile) for profile in profiles]
    store.similar_users = by_id
    for name, values in medians.items():
        rounds = " ".join(f"{value:.3f}" for value in values)
        middle = statistics.median(values)
        print(f"recommend() p50, stars read {name}: {rounds} ms (median {middle:.3f})")
    print("same recommendations:", answers["with the query"] == answers["by id"])


if __name__ == "__main__":
    main()

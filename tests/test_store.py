"""The store contract, run against Qdrant Edge and qdrant-client alike."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from reco.encode import SparseVector
from reco.store import EdgeStore, QdrantServerStore, UserFilter, UserPoint, UserStore


def vec(values: dict[int, float]) -> SparseVector:
    keys = sorted(values)
    return SparseVector(
        np.array(keys, dtype=np.int32), np.array([values[k] for k in keys], dtype=np.float32)
    )


def user(user_id: int, taste: dict[int, float], age_group: str, gender: str = "F") -> UserPoint:
    stars = {movie: 4.0 + user_id / 10 for movie in taste}
    return UserPoint(
        user_id,
        vec(taste),
        vec(stars),
        {"age_group": age_group, "gender": gender, "occupation": "writer", "n_ratings": len(taste)},
    )


USERS = [
    user(1, {1: 1.0}, "18-24"),
    user(2, {1: 0.5, 2: 1.0}, "25-34", "M"),
    user(3, {2: 1.0}, "18-24"),
    user(4, {1: -1.0, 3: 2.0}, "25-34"),
]


def build(store: UserStore, fingerprint: str = "fp1", users: Sequence[UserPoint] = USERS) -> None:
    store.rebuild(fingerprint, [list(users[:2]), list(users[2:])], total=len(users))


def test_rebuild_makes_the_fingerprint_ready(store: UserStore) -> None:
    assert not store.ready("fp1")
    calls: list[tuple[int, int | None]] = []
    store.rebuild(
        "fp1", [USERS[:2], USERS[2:]], total=4, progress=lambda d, t: calls.append((d, t))
    )
    assert store.ready("fp1")
    assert not store.ready("fp2")
    assert calls == [(2, 4), (4, 4)]
    assert store.count() == 4


def test_similar_users_are_ranked_by_dot_product_with_their_stars(store: UserStore) -> None:
    build(store)
    found = store.similar_users(vec({1: 1.0, 3: 0.25}), limit=10)
    assert [(u.user_id, round(u.similarity, 4)) for u in found] == [(1, 1.0), (2, 0.5), (4, -0.5)]
    assert found[0].stars.as_dict() == pytest.approx({1: 4.1})
    assert found[1].payload["gender"] == "M"
    assert store.similar_users(vec({1: 1.0}), limit=1)[0].user_id == 1


def test_similar_ids_are_the_similar_users_without_their_data(store: UserStore) -> None:
    build(store)
    query = vec({1: 1.0, 3: 0.25})
    ids, similarities = store.similar_ids(query, limit=10)
    assert ids.dtype == np.int64 and similarities.dtype == np.float64
    assert ids.tolist() == [1, 2, 4]
    assert similarities.round(4).tolist() == [1.0, 0.5, -0.5]
    ids, _ = store.similar_ids(query, limit=10, where=UserFilter(age_groups=("25-34",)))
    assert ids.tolist() == [2, 4]
    assert [len(a) for a in store.similar_ids(vec({}), limit=10)] == [0, 0]


def test_filter_keeps_only_matching_users(store: UserStore) -> None:
    build(store)
    found = store.similar_users(vec({1: 1.0, 2: 1.0}), 10, UserFilter(age_groups=("18-24",)))
    assert {u.user_id for u in found} == {1, 3}
    assert all(u.payload["age_group"] == "18-24" for u in found)
    both = UserFilter(age_groups=("18-24", "25-34"), genders=("M",))
    assert [u.user_id for u in store.similar_users(vec({1: 1.0}), 10, both)] == [2]


def test_empty_query_finds_nobody(store: UserStore) -> None:
    build(store)
    assert store.similar_users(vec({}), 10) == []


def test_count_and_facet_under_a_filter(store: UserStore) -> None:
    build(store)
    assert store.count() == 4
    assert store.count(UserFilter(genders=("M",))) == 1
    assert store.facet("age_group") == {"18-24": 2, "25-34": 2}
    assert store.facet("gender", UserFilter(age_groups=("25-34",))) == {"M": 1, "F": 1}


def test_upsert_adds_and_replaces_users(store: UserStore) -> None:
    build(store)
    store.upsert([user(5, {9: 1.0}, "56+"), user(1, {9: 2.0}, "56+")])
    assert store.count() == 5
    assert [u.user_id for u in store.similar_users(vec({9: 1.0}), 10)] == [1, 5]
    assert store.facet("age_group") == {"56+": 2, "25-34": 2, "18-24": 1}


def test_rebuild_with_a_new_fingerprint_replaces_the_index(store: UserStore) -> None:
    build(store, "fp1")
    build(store, "fp2", USERS[:1])
    assert store.ready("fp2")
    assert store.count() == 1
    assert not store.ready("fp1")


# --------------------------------------------------------------------------- Edge on disk


def index_folders(root: Path) -> list[str]:
    """What is under an index root, but for the build locks (empty files kept on purpose)."""
    return sorted(p.name for p in root.iterdir() if not p.name.startswith(".lock-"))


def test_edge_index_persists_and_reopens_without_rebuilding(tmp_path: Path) -> None:
    first = EdgeStore(tmp_path, "ml")
    build(first)
    first.close()
    reopened = EdgeStore(tmp_path, "ml")
    assert reopened.ready("fp1")
    assert reopened.count() == 4
    assert [u.user_id for u in reopened.similar_users(vec({2: 1.0}), 2)] == [3, 2]
    manifest = json.loads((tmp_path / "ml-fp1" / "manifest.json").read_text())
    assert manifest["users"] == 4 and manifest["fingerprint"] == "fp1"


def test_edge_rebuild_removes_the_old_index_folder(tmp_path: Path) -> None:
    store = EdgeStore(tmp_path, "ml")
    build(store, "fp1")
    build(store, "fp2")
    assert index_folders(tmp_path) == ["ml-fp2"]


def test_failed_build_leaves_the_previous_index_usable(tmp_path: Path) -> None:
    store = EdgeStore(tmp_path, "ml")
    build(store, "good")

    def batches() -> Iterator[list[UserPoint]]:
        yield USERS[:2]
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        store.rebuild("next", batches(), total=4)
    assert index_folders(tmp_path) == ["ml-good"]
    assert store.count() == 4
    assert EdgeStore(tmp_path, "ml").ready("good")
    assert not EdgeStore(tmp_path, "ml").ready("next")


def test_damaged_index_is_not_ready_and_is_rebuilt(tmp_path: Path) -> None:
    store = EdgeStore(tmp_path, "ml")
    build(store)
    store.close()
    shard = tmp_path / "ml-fp1" / "shard"
    for path in sorted(shard.rglob("*"), reverse=True):
        if path.is_file():
            path.write_bytes(b"garbage")
    fresh = EdgeStore(tmp_path, "ml")
    assert not fresh.ready("fp1")
    build(fresh)
    assert fresh.ready("fp1") and fresh.count() == 4


def test_temporary_store_cleans_up_on_close() -> None:
    store = EdgeStore.temporary("tmp")
    build(store)
    root = store.root
    assert root.exists()
    store.close()
    assert not root.exists()


def test_idf_weighs_rare_movies_more(store: UserStore) -> None:
    users = [
        user(1, {1: 1.0, 2: 1.0}, "18-24"),
        user(2, {1: 1.0}, "18-24"),
        user(3, {1: 1.0, 3: 1.0}, "18-24"),
    ]
    store.rebuild("idf", [users], total=3, idf=True)
    found = store.similar_users(vec({1: 1.0, 2: 1.0}), 3)
    # movie 1 is in every vector (idf ~0.13), movie 2 in one (idf ~0.98): user 1 leads clearly
    assert found[0].user_id == 1 and found[0].similarity == pytest.approx(1.1144, abs=1e-3)
    assert [round(u.similarity, 4) for u in found[1:]] == [0.1335, 0.1335]


@pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")
def test_unreachable_server_is_a_clear_error_not_a_hang() -> None:
    import socket
    import time

    from reco.store import StoreUnavailable, open_store

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.perf_counter()
    with pytest.raises(
        StoreUnavailable, match=f"cannot reach the Qdrant server at http://127.0.0.1:{port}"
    ) as error:
        open_store("ml", url=f"http://127.0.0.1:{port}", api_key="secret-key")
    assert time.perf_counter() - started < 15
    assert "secret-key" not in str(error.value)


def test_server_store_takes_sharding_and_replication() -> None:
    from qdrant_client import QdrantClient

    store = QdrantServerStore(QdrantClient(":memory:"), "ml", shard_number=2, replication_factor=2)
    build(store)
    assert store.ready("fp1") and store.count() == 4


def test_rebuild_never_removes_another_datasets_index(tmp_path: Path) -> None:
    small = EdgeStore(tmp_path, "ml-latest-small")
    build(small, "aaa")
    small.close()
    latest = EdgeStore(tmp_path, "ml-latest")
    build(latest, "bbb")
    build(latest, "ccc")  # removes ml-latest-bbb, must keep ml-latest-small-aaa
    assert index_folders(tmp_path) == ["ml-latest-ccc", "ml-latest-small-aaa"]
    assert EdgeStore(tmp_path, "ml-latest-small").ready("aaa")


def test_server_rebuild_never_drops_another_datasets_collection() -> None:
    from qdrant_client import QdrantClient

    client = QdrantClient(":memory:")
    build(QdrantServerStore(client, "ml-latest-small"), "aaa")
    latest = QdrantServerStore(client, "ml-latest")
    build(latest, "bbb")
    build(latest, "ccc")
    names = sorted(c.name for c in client.get_collections().collections)
    assert names == ["ml-latest-ccc", "ml-latest-small-aaa"]


def test_is_index_name() -> None:
    from reco.store import is_index_name

    assert is_index_name("ml-100k", "ml-100k-616420dbc232")
    assert not is_index_name("ml-latest", "ml-latest-small-616420dbc232")
    assert not is_index_name("ml", "ml-")
    assert not is_index_name("ml", "other-abc")

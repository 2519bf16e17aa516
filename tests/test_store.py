"""The store contract, run against Qdrant Edge and qdrant-client alike."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reco.catalog import Catalog
from reco.encode import SparseVector
from reco.filters import UserFilter
from reco.store import (
    INDEX_VERSION,
    EdgeStore,
    IndexDamaged,
    Manifest,
    QdrantServerStore,
    StoreUnavailable,
    UserPoint,
    UserStore,
)


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


CATALOG = Catalog(
    "t",
    pd.DataFrame(
        {
            "movie_id": [1, 2, 3, 9],
            "title": ["One", "Two", "Three", "Nine"],
            "year": [1999, None, 2001, 1950],
            "genres": ["Drama", "Comedy", "Drama|Comedy", ""],
            "imdb_id": [114709, None, 113228, 1],
            "raters": [3, 2, 1, 1],
            "liked": [3, 1, 0, 1],
            "mean_rating": [4.5, 3.5, 2.0, 5.0],
        }
    ),
)


def build(
    store: UserStore,
    fingerprint: str = "fp1",
    users: Sequence[UserPoint] = USERS,
    catalog: Catalog = CATALOG,
) -> None:
    store.rebuild(
        fingerprint,
        [list(users[:2]), list(users[2:])],
        total=len(users),
        catalog=catalog,
        manifest=Manifest(dataset="t", encoding={"name": "binary"}),
    )


def test_rebuild_makes_the_fingerprint_ready(store: UserStore) -> None:
    assert store.ready("fp1") is None and store.open_current() is None
    calls: list[tuple[int, int | None]] = []
    opened = store.rebuild(
        "fp1",
        [USERS[:2], USERS[2:]],
        total=4,
        catalog=CATALOG,
        manifest=Manifest(dataset="t"),
        progress=lambda d, t: calls.append((d, t)),
    )
    assert store.ready("fp1") is not None
    assert store.ready("fp2") is None
    assert calls == [(2, 4), (4, 4)]
    assert store.count() == 4
    manifest = opened.manifest
    assert manifest.fingerprint == "fp1" and manifest.version == INDEX_VERSION
    assert (manifest.users, manifest.movies, manifest.dataset) == (4, 4, "t")


def test_the_catalog_comes_back_whole_from_the_store(store: UserStore) -> None:
    build(store)
    catalog = store.open_current().catalog
    pd.testing.assert_frame_equal(catalog.movies, CATALOG.movies)
    assert catalog.display_title(1) == "One (1999)" and catalog.display_title(2) == "Two"
    assert catalog.links(1) == {"IMDb": "https://www.imdb.com/title/tt0114709/"}
    assert catalog.popular().movie_ids.tolist() == [1, 9, 2, 3]


def test_similar_users_come_with_their_stars_ranked_by_dot_product(store: UserStore) -> None:
    build(store)
    found = store.similar_users(vec({1: 1.0, 3: 0.25}), limit=10)
    assert found.user_ids.dtype == np.int64 and found.similarities.dtype == np.float64
    assert found.user_ids.tolist() == [1, 2, 4]
    assert found.similarities.round(4).tolist() == [1.0, 0.5, -0.5]
    assert found.stars.row(0).as_dict() == pytest.approx({1: 4.1})
    assert found.stars.row(2).as_dict() == pytest.approx({1: 4.4, 3: 4.4})
    assert found.payloads == ()  # payloads only when asked for
    with_payload = store.similar_users(vec({1: 1.0, 3: 0.25}), limit=10, with_payload=True)
    assert with_payload.payloads[1]["gender"] == "M"
    assert with_payload.payloads[2]["n_ratings"] == 2
    assert "stars" not in with_payload.payloads[0]  # the packed stars stay inside the store
    assert store.similar_users(vec({1: 1.0}), limit=1).user_ids.tolist() == [1]


def test_neighbours_take_keeps_rows_and_payloads_together(store: UserStore) -> None:
    build(store)
    found = store.similar_users(vec({1: 1.0, 3: 0.25}), limit=10, with_payload=True)
    kept = found.take(found.similarities > 0)
    assert kept.user_ids.tolist() == [1, 2]
    assert [p["gender"] for p in kept.payloads] == ["F", "M"]
    assert kept.stars.row(1).as_dict() == pytest.approx({1: 4.2, 2: 4.2})


def test_filter_keeps_only_matching_users(store: UserStore) -> None:
    build(store)
    where = UserFilter(age_groups=("18-24",))
    found = store.similar_users(vec({1: 1.0, 2: 1.0}), 10, where, with_payload=True)
    assert set(found.user_ids.tolist()) == {1, 3}
    assert all(p["age_group"] == "18-24" for p in found.payloads)
    both = UserFilter(age_groups=("18-24", "25-34"), genders=("M",))
    assert store.similar_users(vec({1: 1.0}), 10, both).user_ids.tolist() == [2]
    ids = store.similar_users(vec({1: 1.0, 3: 0.25}), 10, UserFilter(age_groups=("25-34",)))
    assert ids.user_ids.tolist() == [2, 4]


def test_a_batch_answers_each_query_as_one_query_would(store: UserStore) -> None:
    build(store)
    queries = [vec({1: 1.0, 3: 0.25}), vec({}), vec({2: 1.0}), vec({1: 1.0})]
    where = UserFilter(age_groups=("18-24", "25-34"))
    answers = store.similar_users_batch(queries, 3, where)
    assert len(answers) == 4
    assert len(answers[1]) == 0  # an empty query: nobody, and the others still answered
    for query, answer in zip(queries, answers, strict=True):
        alone = store.similar_users(query, 3, where)
        assert answer.user_ids.tolist() == alone.user_ids.tolist()
        assert answer.similarities.tolist() == pytest.approx(alone.similarities.tolist())
        assert answer.stars.values.tolist() == pytest.approx(alone.stars.values.tolist())
    assert answers[0].user_ids.tolist() == [1, 2, 4]
    assert answers[2].user_ids.tolist() == [3, 2]
    only = store.similar_users_batch([vec({1: 1.0})], 10, UserFilter(genders=("M",)))
    assert only[0].user_ids.tolist() == [2]
    assert store.similar_users_batch([], 10) == []


def test_empty_query_finds_nobody(store: UserStore) -> None:
    build(store)
    found = store.similar_users(vec({}), 10)
    assert len(found) == 0 and len(found.stars) == 0


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
    assert store.similar_users(vec({9: 1.0}), 10).user_ids.tolist() == [1, 5]
    assert store.facet("age_group") == {"56+": 2, "25-34": 2, "18-24": 1}


def test_rebuild_with_a_new_fingerprint_replaces_the_index(store: UserStore) -> None:
    build(store, "fp1")
    build(store, "fp2", USERS[:1])
    assert store.ready("fp2") is not None
    assert store.count() == 1
    assert store.ready("fp1") is None
    assert store.open_current().manifest.fingerprint == "fp2"


# --------------------------------------------------------------------------- Edge on disk


def index_folders(root: Path) -> list[str]:
    """What is under an index root, but for the build locks (empty files kept on purpose)."""
    return sorted(p.name for p in root.iterdir() if not p.name.startswith(".lock-"))


def test_edge_index_persists_and_reopens_without_rebuilding(tmp_path: Path) -> None:
    first = EdgeStore(tmp_path, "ml")
    build(first)
    first.close()
    reopened = EdgeStore(tmp_path, "ml")
    assert reopened.open_current().manifest.fingerprint == "fp1"
    assert reopened.count() == 4
    assert reopened.similar_users(vec({2: 1.0}), 2).user_ids.tolist() == [3, 2]
    manifest = json.loads((tmp_path / "ml-fp1" / "manifest.json").read_text())
    assert manifest["users"] == 4 and manifest["fingerprint"] == "fp1"
    assert sorted(p.name for p in (tmp_path / "ml-fp1").iterdir()) == [
        "catalog",
        "films",
        "manifest.json",
        "shard",
    ]


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
        store.rebuild("next", batches(), total=4, catalog=CATALOG, manifest=Manifest())
    assert index_folders(tmp_path) == ["ml-good"]
    assert store.count() == 4
    assert EdgeStore(tmp_path, "ml").ready("good") is not None
    assert EdgeStore(tmp_path, "ml").ready("next") is None


def test_damaged_index_is_not_ready_and_is_rebuilt(tmp_path: Path) -> None:
    store = EdgeStore(tmp_path, "ml")
    build(store)
    store.close()
    shard = tmp_path / "ml-fp1" / "shard"
    for path in sorted(shard.rglob("*"), reverse=True):
        if path.is_file():
            path.write_bytes(b"garbage")
    fresh = EdgeStore(tmp_path, "ml")
    assert fresh.ready("fp1") is None
    with pytest.raises(IndexDamaged, match="the index ml-fp1 is damaged: .* built as"):
        fresh.open_current()
    build(fresh)
    assert fresh.ready("fp1") is not None and fresh.count() == 4


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
    store.rebuild("idf", [users], total=3, catalog=CATALOG, manifest=Manifest(), idf=True)
    found = store.similar_users(vec({1: 1.0, 2: 1.0}), 3)
    # movie 1 is in every vector (idf ~0.13), movie 2 in one (idf ~0.98): user 1 leads clearly
    assert found.user_ids[0] == 1 and found.similarities[0] == pytest.approx(1.1144, abs=1e-3)
    assert found.similarities[1:].round(4).tolist() == [0.1335, 0.1335]


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
    assert store.ready("fp1") is not None and store.count() == 4


def test_rebuild_never_removes_another_datasets_index(tmp_path: Path) -> None:
    small = EdgeStore(tmp_path, "ml-latest-small")
    build(small, "aaa")
    small.close()
    latest = EdgeStore(tmp_path, "ml-latest")
    build(latest, "bbb")
    build(latest, "ccc")  # removes ml-latest-bbb, must keep ml-latest-small-aaa
    assert index_folders(tmp_path) == ["ml-latest-ccc", "ml-latest-small-aaa"]
    assert EdgeStore(tmp_path, "ml-latest-small").ready("aaa") is not None


def test_server_rebuild_never_drops_another_datasets_collection() -> None:
    from qdrant_client import QdrantClient

    client = QdrantClient(":memory:")
    build(QdrantServerStore(client, "ml-latest-small"), "aaa")
    latest = QdrantServerStore(client, "ml-latest")
    build(latest, "bbb")
    build(latest, "ccc")
    names = sorted(c.name for c in client.get_collections().collections)
    assert names == [
        "ml-latest-ccc",
        "ml-latest-ccc-movies",
        "ml-latest-small-aaa",
        "ml-latest-small-aaa-movies",
    ]


def test_is_index_name() -> None:
    from reco.store import is_index_name

    assert is_index_name("ml-100k", "ml-100k-616420dbc232")
    assert not is_index_name("ml-latest", "ml-latest-small-616420dbc232")
    assert not is_index_name("ml", "ml-")
    assert not is_index_name("ml", "other-abc")


# --------------------------------------------------------------------------- damaged indexes


def test_an_edge_index_without_its_catalog_or_with_a_damaged_one_is_reported(
    tmp_path: Path,
) -> None:
    build(EdgeStore(tmp_path, "ml"))
    catalog = tmp_path / "ml-fp1" / "catalog"
    (catalog / "movies.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(IndexDamaged, match="catalog/movies.parquet is 15 bytes, built as"):
        EdgeStore(tmp_path, "ml").open_current()
    (catalog / "movies.parquet").unlink()
    with pytest.raises(IndexDamaged, match=r"of its files are missing \(catalog/movies"):
        EdgeStore(tmp_path, "ml").open_current()
    shutil.rmtree(catalog)
    with pytest.raises(IndexDamaged, match="of its files are missing"):
        EdgeStore(tmp_path, "ml").open_current()
    assert EdgeStore(tmp_path, "ml").ready("fp1") is None  # so a build replaces it


def test_an_edge_index_of_an_older_layout_is_reported(tmp_path: Path) -> None:
    build(EdgeStore(tmp_path, "ml"))
    path = tmp_path / "ml-fp1" / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["version"]
    path.write_text(json.dumps(manifest))
    with pytest.raises(IndexDamaged, match="older version of this program"):
        EdgeStore(tmp_path, "ml").open_current()


def test_a_server_index_without_its_catalog_is_reported() -> None:
    from qdrant_client import QdrantClient

    client = QdrantClient(":memory:")
    build(QdrantServerStore(client, "ml"))
    client.delete_collection("ml-fp1-movies")
    with pytest.raises(IndexDamaged, match="has no catalog of films"):
        QdrantServerStore(client, "ml").open_current()
    assert QdrantServerStore(client, "ml").ready("fp1") is None


def test_a_server_catalog_missing_films_or_damaged_is_reported() -> None:
    from qdrant_client import QdrantClient, models

    client = QdrantClient(":memory:")
    build(QdrantServerStore(client, "ml"))
    client.delete("ml-fp1-movies", points_selector=models.PointIdsList(points=[9]))
    with pytest.raises(IndexDamaged, match="does not hold every film"):
        QdrantServerStore(client, "ml").open_current()
    client.upsert(
        "ml-fp1-movies", points=[models.PointStruct(id=9, vector={}, payload={"title": 3})]
    )
    with pytest.raises(IndexDamaged, match="catalog"):
        QdrantServerStore(client, "ml").open_current()


def test_update_manifest_is_kept_by_both_stores(store: UserStore) -> None:
    build(store)
    store.update_manifest({"release": {"size": 7}})
    assert store.open_current().manifest.release == {"size": 7}
    assert store.open_current().manifest.fingerprint == "fp1"


def test_a_user_with_damaged_stars_makes_a_clear_error_naming_the_rebuild() -> None:
    from qdrant_client import QdrantClient

    client = QdrantClient(":memory:")
    build(QdrantServerStore(client, "ml"))
    store = QdrantServerStore(client, "ml")
    store.open_current()
    client.set_payload("ml-fp1", payload={"stars": "QUJD"}, points=[1])
    with pytest.raises(StoreUnavailable, match="python -m reco build"):
        store.similar_users(vec({1: 1.0, 2: 1.0, 3: 1.0}), 10)


def test_a_server_repair_builds_beside_the_index_in_use_and_switches_when_complete() -> None:
    from qdrant_client import QdrantClient

    client = QdrantClient(":memory:")
    store = QdrantServerStore(client, "ml")
    build(store)
    other = QdrantServerStore(client, "ml")  # another app server using the index meanwhile
    assert other.open_current() is not None
    answers: list[list[int]] = []

    def querying(done: int, total: int | None) -> None:  # halfway through the repair
        answers.append(other.similar_users(vec({2: 1.0}), 2).user_ids.tolist())

    store.rebuild(
        "fp1",
        [USERS[:2], USERS[2:]],
        total=len(USERS),
        catalog=CATALOG,
        manifest=Manifest(dataset="t", encoding={"name": "binary"}),
        progress=querying,
    )
    assert answers == [[3, 2], [3, 2]]  # the index in use answered all along
    names = [c.name for c in client.get_collections().collections]
    assert len([n for n in names if not n.endswith("-movies")]) == 1  # the old one dropped
    assert store.open_current().manifest.fingerprint == "fp1"
    assert store.similar_users(vec({2: 1.0}), 2).user_ids.tolist() == [3, 2]

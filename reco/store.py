"""Where user vectors live: one small interface, Qdrant Edge (embedded) and qdrant-client (server).

Each user is one point: id = user id, a sparse ``taste`` vector (the encoded ratings, searched
by dot product), a sparse ``stars`` vector (the raw ratings: `similar_users` returns them with
each neighbour; the recommender, holding every user's ratings in memory, asks `similar_ids`
for ids and similarities only) and the demographics as payload. An index is identified by a
fingerprint of the data and the encoding; `UserStore.ready` says whether the store holds it,
`UserStore.rebuild` builds it aside and switches to it only when complete.
"""

from __future__ import annotations

import fcntl
import functools
import itertools
import json
import os
import shutil
import tempfile
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import qdrant_edge as qe

from reco.datasets import Progress, default_data_dir
from reco.encode import SparseVector

if TYPE_CHECKING:
    from qdrant_client import QdrantClient

TASTE, STARS = "taste", "stars"
FILTER_FIELDS: tuple[str, ...] = ("age_group", "gender", "occupation")
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class UserFilter:
    """Payload filter: a user matches when each non-empty field holds one of its values."""

    age_groups: tuple[str, ...] = ()
    genders: tuple[str, ...] = ()
    occupations: tuple[str, ...] = ()

    def conditions(self) -> list[tuple[str, list[str]]]:
        pairs = zip(FILTER_FIELDS, (self.age_groups, self.genders, self.occupations), strict=True)
        return [(name, list(values)) for name, values in pairs if values]

    def __bool__(self) -> bool:
        return bool(self.conditions())


@dataclass(frozen=True)
class UserPoint:
    """One user to store."""

    user_id: int
    taste: SparseVector
    stars: SparseVector
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class SimilarUser:
    """A stored user found for a query, with the raw star ratings used for aggregation."""

    user_id: int
    similarity: float
    payload: Mapping[str, Any]
    stars: SparseVector


class UserStore(Protocol):
    """The few operations the recommender needs from a vector engine."""

    description: str

    def ready(self, fingerprint: str) -> bool:
        """Whether the store holds a complete index with this fingerprint (and opens it)."""
        ...

    def rebuild(
        self,
        fingerprint: str,
        batches: Iterable[Sequence[UserPoint]],
        *,
        total: int,
        progress: Progress | None = None,
        idf: bool = False,
    ) -> None:
        """Build the index aside from ``batches`` and switch to it once complete (a store
        may instead open the same fingerprint when another process has just built it).
        Raises `StoreUnavailable` when the engine cannot be reached.

        With ``idf``, the engine weighs each movie in the similarity by its inverse document
        frequency: agreeing on a rarely rated movie counts more than on a popular one.
        """
        ...

    def upsert(self, users: Sequence[UserPoint]) -> None: ...

    def similar_users(
        self, query: SparseVector, limit: int, where: UserFilter | None = None
    ) -> list[SimilarUser]:
        """The ``limit`` users with the highest dot product with ``query``, best first."""
        ...

    def similar_ids(
        self, query: SparseVector, limit: int, where: UserFilter | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Like `similar_users`, ids and similarities only (int64, float64): all that
        scoring needs when the caller holds the users' ratings itself."""
        ...

    def count(self, where: UserFilter | None = None) -> int: ...

    def facet(self, field: str, where: UserFilter | None = None) -> dict[str, int]:
        """How many users hold each value of a payload field (under a filter)."""
        ...

    def close(self) -> None: ...


def is_index_name(name: str, candidate: str) -> bool:
    """Whether ``candidate`` is ``<name>-<fingerprint>``: fingerprints never hold a dash, so
    the indexes of ``ml-latest`` are never mistaken for those of ``ml-latest-small``."""
    prefix = f"{name}-"
    return (
        candidate.startswith(prefix)
        and "-" not in candidate[len(prefix) :]
        and (len(candidate) > len(prefix))
    )


class StoreUnavailable(RuntimeError):
    """The vector engine cannot be reached or opened."""


# --------------------------------------------------------------------------- Qdrant Edge


def _edge_vector(vector: SparseVector) -> qe.SparseVector:
    return qe.SparseVector(vector.indices.tolist(), vector.values.tolist())


def _from_engine(vector: Any) -> SparseVector:
    return SparseVector(
        np.asarray(vector.indices, dtype=np.int32), np.asarray(vector.values, dtype=np.float32)
    )


# Hits of either engine (Qdrant Edge's and qdrant-client's points alike) carry id, score,
# payload and the requested vectors under the same names.


def _similar_users(hits: Sequence[Any]) -> list[SimilarUser]:
    return [
        SimilarUser(
            int(hit.id), float(hit.score), hit.payload or {}, _from_engine(hit.vector[STARS])
        )
        for hit in hits
    ]


def _id_arrays(hits: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    ids = np.fromiter((hit.id for hit in hits), dtype=np.int64, count=len(hits))
    scores = np.fromiter((hit.score for hit in hits), dtype=np.float64, count=len(hits))
    return ids, scores


def _edge_filter(where: UserFilter | None) -> qe.Filter | None:
    if not where:
        return None
    return qe.Filter(
        must=[
            qe.FieldCondition(key=key, match=qe.MatchAny(values))
            for key, values in where.conditions()
        ]
    )


class EdgeStore:
    """Qdrant Edge shards persisted under ``root/<name>-<fingerprint>/``.

    Building writes into a hidden temporary folder beside it and renames it into place when
    complete, so a crash never leaves a half-built index under the final name. Builds of one
    name hold a file lock, so processes starting at once build once: the others wait and open
    the finished index. Older indexes of the same name, and folders of killed builds, are
    removed by the next build.
    """

    def __init__(self, root: str | Path, name: str):
        self.root = Path(root)
        self.name = name
        self._shard: qe.EdgeShard | None = None
        self._path: Path | None = None
        self._cleanup: weakref.finalize | None = None

    @classmethod
    def temporary(cls, name: str = "reco") -> EdgeStore:
        """A store in a fresh temporary folder, removed when the store is closed or collected."""
        root = tempfile.mkdtemp(prefix="reco-edge-")
        store = cls(root, name)
        store._cleanup = weakref.finalize(store, shutil.rmtree, root, True)
        return store

    @property
    def description(self) -> str:
        where = self._path if self._path is not None else self.root
        return f"Qdrant Edge (embedded) at {where}"

    def index_path(self, fingerprint: str) -> Path:
        return self.root / f"{self.name}-{fingerprint}"

    def ready(self, fingerprint: str) -> bool:
        path = self.index_path(fingerprint)
        if self._shard is not None and self._path == path:
            return True
        if not (path / MANIFEST).is_file():
            return False
        try:
            manifest = json.loads((path / MANIFEST).read_text())
            if manifest.get("fingerprint") != fingerprint:
                return False
            shard = qe.EdgeShard.load(str(path / "shard"))
        except Exception:  # whatever the engine or the manifest says: a damaged index, rebuild
            return False
        try:  # files can be missing without the engine noticing: count what the build wrote
            complete = shard.count(qe.CountRequest(exact=True)) == manifest.get("users")
        except Exception:
            complete = False
        if not complete:
            shard.close()
            return False
        self._switch(shard, path)
        return True

    def rebuild(
        self,
        fingerprint: str,
        batches: Iterable[Sequence[UserPoint]],
        *,
        total: int,
        progress: Progress | None = None,
        idf: bool = False,
    ) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with self._build_lock():
            if self.ready(fingerprint):  # another process built it while this one waited
                return
            self._remove_orphans()
            self._build(fingerprint, batches, total=total, progress=progress, idf=idf)

    @contextmanager
    def _build_lock(self) -> Iterator[None]:
        """One build of this name at a time across processes (released if the holder dies)."""
        with open(self.root / f".lock-{self.name}", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _remove_orphans(self) -> None:
        """Folders left by a build that was killed (only called holding the build lock)."""
        for path in self.root.glob(f".building-{self.name}-*"):
            if is_index_name(self.name, path.name.removeprefix(".building-").rsplit("-", 1)[0]):
                shutil.rmtree(path, ignore_errors=True)

    def _build(
        self,
        fingerprint: str,
        batches: Iterable[Sequence[UserPoint]],
        *,
        total: int,
        progress: Progress | None,
        idf: bool,
    ) -> None:
        final = self.index_path(fingerprint)
        building = self.root / f".building-{self.name}-{fingerprint}-{uuid.uuid4().hex[:8]}"
        started = time.perf_counter()
        try:
            shard = qe.EdgeShard.create(str(building / "shard"), _edge_config(idf))
            for field in FILTER_FIELDS:
                shard.update(
                    qe.UpdateOperation.create_field_index(field, qe.PayloadSchemaType.Keyword)
                )
            done = 0
            for batch in batches:
                _edge_upsert(shard, batch)
                done += len(batch)
                if progress is not None:
                    progress(done, total)
            shard.optimize()
            shard.flush()
            shard.close()
            manifest = {
                "fingerprint": fingerprint,
                "name": self.name,
                "users": done,
                "build_seconds": round(time.perf_counter() - started, 3),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
            (building / MANIFEST).write_text(json.dumps(manifest, indent=2))
            self.close_shard()
            if final.exists():  # a damaged index under the final name: move it out of the way
                final.rename(self.root / f".stale-{final.name}-{uuid.uuid4().hex[:8]}")
            building.rename(final)
        finally:
            shutil.rmtree(building, ignore_errors=True)
        self._remove_stale(keep=final)
        self._switch(qe.EdgeShard.load(str(final / "shard")), final)

    def upsert(self, users: Sequence[UserPoint]) -> None:
        shard = self._require()
        _edge_upsert(shard, users)
        shard.flush()

    def similar_users(
        self, query: SparseVector, limit: int, where: UserFilter | None = None
    ) -> list[SimilarUser]:
        return _similar_users(self._query(query, limit, where, with_data=True))

    def similar_ids(
        self, query: SparseVector, limit: int, where: UserFilter | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        return _id_arrays(self._query(query, limit, where, with_data=False))

    def _query(
        self, query: SparseVector, limit: int, where: UserFilter | None, *, with_data: bool
    ) -> list[Any]:
        """The engine's hits, with each user's stars and payload when ``with_data``."""
        if len(query) == 0 or limit <= 0:
            return []
        request = qe.QueryRequest(
            limit=limit,
            query=qe.Query.Nearest(_edge_vector(query), using=TASTE),
            filter=_edge_filter(where),
            with_vector=[STARS] if with_data else False,
            with_payload=with_data,
        )
        return self._require().query(request)

    def count(self, where: UserFilter | None = None) -> int:
        return self._require().count(qe.CountRequest(exact=True, filter=_edge_filter(where)))

    def facet(self, field: str, where: UserFilter | None = None) -> dict[str, int]:
        request = qe.FacetRequest(key=field, limit=10_000, exact=True, filter=_edge_filter(where))
        return {str(hit.value): int(hit.count) for hit in self._require().facet(request)}

    def close_shard(self) -> None:
        if self._shard is not None:
            self._shard.close()
            self._shard, self._path = None, None

    def close(self) -> None:
        self.close_shard()
        if self._cleanup is not None:
            self._cleanup()

    def _require(self) -> qe.EdgeShard:
        if self._shard is None:
            raise StoreUnavailable(f"no index is open in {self.root}; build one first")
        return self._shard

    def _switch(self, shard: qe.EdgeShard, path: Path) -> None:
        self.close_shard()
        self._shard, self._path = shard, path

    def _remove_stale(self, keep: Path) -> None:
        for path in self.root.iterdir():
            moved_aside = path.name.startswith(".stale-") and is_index_name(
                self.name, path.name.removeprefix(".stale-").rsplit("-", 1)[0]
            )
            older = path.is_dir() and is_index_name(self.name, path.name)
            if (moved_aside or older) and path != keep:
                shutil.rmtree(path, ignore_errors=True)


def _edge_config(idf: bool = False) -> qe.EdgeConfig:
    # No write-ahead log: an index is written once, flushed and renamed into place, and
    # without the WAL's lock several processes (the app, the CLI) can open it at once.
    taste = qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf if idf else None)
    return qe.EdgeConfig(
        sparse_vectors={TASTE: taste, STARS: qe.EdgeSparseVectorParams()},
        wal_enabled=False,
    )


def _edge_upsert(shard: qe.EdgeShard, users: Sequence[UserPoint]) -> None:
    if not users:
        return
    points = [
        qe.Point(
            user.user_id,
            {TASTE: _edge_vector(user.taste), STARS: _edge_vector(user.stars)},
            dict(user.payload),
        )
        for user in users
    ]
    shard.update(qe.UpdateOperation.upsert_points(points))


# --------------------------------------------------------------------------- qdrant-client


def safe_url(url: str) -> str:
    """``url`` without user name, password or query (what may be shown and logged)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _is_auth_error(error: Exception) -> bool:
    return getattr(error, "status_code", None) in (401, 403)


def _describe(error: Exception) -> str:
    """What went wrong, in a few words, without request details (never the API key)."""
    status = getattr(error, "status_code", None)
    if status in (401, 403):
        return f"HTTP {status}: the API key was refused"
    if status is not None:
        return f"HTTP {status} {getattr(error, 'reason_phrase', '')}".strip()
    source = getattr(error, "source", None) or error.__cause__ or error
    text = str(source).splitlines()[0] if str(source) else ""
    kind = type(source).__name__
    if "timed out" in text.lower() or "timeout" in kind.lower():
        return "timed out"
    return f"{kind}: {text}"[:200] if text else kind


_UNAVAILABLE = frozenset({401, 403, 429, 500, 502, 503, 504})  # HTTP statuses of an outage


def _answering(method: Callable[..., Any]) -> Callable[..., Any]:
    """A server that stops answering mid-session is a `StoreUnavailable`, not a traceback."""

    @functools.wraps(method)
    def call(self: QdrantServerStore, *args: Any, **kwargs: Any) -> Any:
        import httpx
        from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

        try:
            return method(self, *args, **kwargs)
        except (
            ResponseHandlingException,
            UnexpectedResponse,
            httpx.TransportError,
            OSError,
        ) as error:
            if isinstance(error, UnexpectedResponse) and error.status_code not in _UNAVAILABLE:
                raise  # a request the server refused on its merits: a bug, not an outage
            raise StoreUnavailable(f"{self.where} stopped answering ({_describe(error)})") from None

    return call


class QdrantServerStore:
    """A Qdrant server or cluster through qdrant-client (``QdrantClient(":memory:")`` in tests).

    The index is the collection ``<name>-<fingerprint>``; the alias ``<name>`` points at the
    complete one, switched atomically after a build.
    """

    def __init__(
        self,
        client: QdrantClient,
        name: str,
        *,
        shard_number: int | None = None,
        replication_factor: int | None = None,
        where: str = "the Qdrant server",
    ):
        self.client = client
        self.name = name
        self.shard_number = shard_number
        self.replication_factor = replication_factor
        self.where = where

    @classmethod
    def from_url(
        cls,
        url: str,
        name: str,
        *,
        api_key: str | None = None,
        timeout: float = 10,
        **options: Any,
    ) -> QdrantServerStore:
        """Connect and check that the server answers, retrying refused connections until
        ``timeout`` seconds have passed; a server that does not answer fails after ``timeout``.
        ``:memory:`` is qdrant-client's in-process engine (the server code path, no server)."""
        from qdrant_client import QdrantClient

        if url == ":memory:":
            return cls(QdrantClient(":memory:"), name, where="in-memory qdrant-client", **options)
        shown = safe_url(url)
        # Our own reachability check below gives the clear error; skip the client's version probe.
        client = QdrantClient(
            url=url, api_key=api_key, timeout=max(1, round(timeout)), check_compatibility=False
        )
        deadline = time.monotonic() + timeout
        for attempt in itertools.count(1):
            try:
                client.get_collections()
                break
            except Exception as error:  # refused, timed out, bad key, not a Qdrant server, ...
                if _is_auth_error(error) or time.monotonic() + 0.5 * attempt > deadline:
                    client.close()
                    raise StoreUnavailable(
                        f"cannot reach the Qdrant server at {shown} "
                        f"({_describe(error)}; {attempt} attempt(s))"
                    ) from None
                time.sleep(0.5 * attempt)
        return cls(client, name, where=f"the Qdrant server at {shown}", **options)

    @property
    def description(self) -> str:
        return f"Qdrant server collection alias {self.name!r}"

    def collection(self, fingerprint: str) -> str:
        return f"{self.name}-{fingerprint}"

    @_answering
    def ready(self, fingerprint: str) -> bool:
        target = self.collection(fingerprint)
        aliases = self.client.get_aliases().aliases
        return any(a.alias_name == self.name and a.collection_name == target for a in aliases)

    @_answering
    def rebuild(
        self,
        fingerprint: str,
        batches: Iterable[Sequence[UserPoint]],
        *,
        total: int,
        progress: Progress | None = None,
        idf: bool = False,
    ) -> None:
        from qdrant_client import models

        target = self.collection(fingerprint)
        if self.client.collection_exists(target):
            self.client.delete_collection(target)
        self.client.create_collection(
            target,
            vectors_config={},
            sparse_vectors_config={
                TASTE: models.SparseVectorParams(modifier=models.Modifier.IDF if idf else None),
                STARS: models.SparseVectorParams(),
            },
            shard_number=self.shard_number,
            replication_factor=self.replication_factor,
        )
        for field in FILTER_FIELDS:
            self.client.create_payload_index(target, field, models.PayloadSchemaType.KEYWORD)
        done = 0
        for batch in batches:
            self._upsert(target, batch)
            done += len(batch)
            if progress is not None:
                progress(done, total)
        operations: list[Any] = []
        if any(a.alias_name == self.name for a in self.client.get_aliases().aliases):
            operations.append(
                models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=self.name))
            )
        operations.append(
            models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name=target, alias_name=self.name)
            )
        )
        self.client.update_collection_aliases(change_aliases_operations=operations)
        for collection in self.client.get_collections().collections:
            if is_index_name(self.name, collection.name) and collection.name != target:
                self.client.delete_collection(collection.name)

    @_answering
    def upsert(self, users: Sequence[UserPoint]) -> None:
        self._upsert(self.name, users)

    @_answering
    def similar_users(
        self, query: SparseVector, limit: int, where: UserFilter | None = None
    ) -> list[SimilarUser]:
        return _similar_users(self._query(query, limit, where, with_data=True))

    @_answering
    def similar_ids(
        self, query: SparseVector, limit: int, where: UserFilter | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        return _id_arrays(self._query(query, limit, where, with_data=False))

    def _query(
        self, query: SparseVector, limit: int, where: UserFilter | None, *, with_data: bool
    ) -> list[Any]:
        """The server's points, with each user's stars and payload when ``with_data``."""
        from qdrant_client import models

        if len(query) == 0 or limit <= 0:
            return []
        response = self.client.query_points(
            self.name,
            query=models.SparseVector(indices=query.indices.tolist(), values=query.values.tolist()),
            using=TASTE,
            limit=limit,
            query_filter=self._filter(where),
            with_payload=with_data,
            with_vectors=[STARS] if with_data else False,
        )
        return response.points

    @_answering
    def count(self, where: UserFilter | None = None) -> int:
        return self.client.count(self.name, count_filter=self._filter(where), exact=True).count

    @_answering
    def facet(self, field: str, where: UserFilter | None = None) -> dict[str, int]:
        response = self.client.facet(
            self.name, field, facet_filter=self._filter(where), limit=10_000, exact=True
        )
        return {str(hit.value): int(hit.count) for hit in response.hits}

    def close(self) -> None:
        self.client.close()

    def _upsert(self, collection: str, users: Sequence[UserPoint]) -> None:
        from qdrant_client import models

        if not users:
            return
        points = [
            models.PointStruct(
                id=user.user_id,
                vector={
                    TASTE: models.SparseVector(
                        indices=user.taste.indices.tolist(), values=user.taste.values.tolist()
                    ),
                    STARS: models.SparseVector(
                        indices=user.stars.indices.tolist(), values=user.stars.values.tolist()
                    ),
                },
                payload=dict(user.payload),
            )
            for user in users
        ]
        self.client.upsert(collection, points=points, wait=True)

    @staticmethod
    def _filter(where: UserFilter | None) -> Any:
        from qdrant_client import models

        if not where:
            return None
        return models.Filter(
            must=[
                models.FieldCondition(key=key, match=models.MatchAny(any=values))
                for key, values in where.conditions()
            ]
        )


# --------------------------------------------------------------------------- choosing


def open_store(
    name: str,
    *,
    data_dir: str | Path | None = None,
    url: str | None = None,
    api_key: str | None = None,
    shard_number: int | None = None,
    replication_factor: int | None = None,
    timeout: float | None = None,
) -> UserStore:
    """The store for a dataset: a Qdrant server when ``url`` or ``$QDRANT_URL`` is set,
    otherwise Qdrant Edge under ``<data_dir>/index/``.

    On a cluster, ``shard_number`` and ``replication_factor`` apply when the collection is
    built (the server's defaults otherwise). ``timeout`` (default ``$QDRANT_TIMEOUT`` or 10)
    bounds each request and the wait for a server that refuses connections."""
    url = url or os.environ.get("QDRANT_URL") or None
    if url:
        key = api_key or os.environ.get("QDRANT_API_KEY") or None
        if timeout is None:
            try:
                timeout = float(os.environ.get("QDRANT_TIMEOUT") or 10)
            except ValueError:
                raise StoreUnavailable("QDRANT_TIMEOUT must be a number of seconds") from None
        if not 0 < timeout < 3600:
            raise StoreUnavailable("the Qdrant timeout must be between 0 and 3600 seconds")
        return QdrantServerStore.from_url(
            url,
            name,
            api_key=key,
            timeout=timeout,
            shard_number=shard_number,
            replication_factor=replication_factor,
        )
    folder = Path(data_dir) if data_dir is not None else default_data_dir()
    return EdgeStore(folder / "index", name)

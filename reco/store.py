"""Where the index lives: one small interface, Qdrant Edge (embedded) and qdrant-client (server).

An index is the single source of truth after a build. It holds:

- one point per user: id = user id, a sparse ``taste`` vector (the encoded ratings, searched by
  dot product) and as payload the demographics and ``stars``, the raw ratings packed into one
  string (`reco.packed`), returned with each neighbour by `UserStore.similar_users`;
- the *catalog* of films and their figures (`reco.catalog.Catalog`): Parquet files beside the
  Edge shard, or a ``<collection>-movies`` collection on a server;
- a *manifest*: the index layout version, the fingerprint of data and encoding, the encoding's
  parameters, what the release file looked like (for staleness checks without reading it),
  counts and data notes. ``manifest.json`` beside the Edge shard; the users collection's
  metadata on a server.

`UserStore.open_current` opens the complete index of a name whatever its fingerprint (or says
why it cannot be used); `UserStore.rebuild` builds aside and switches only when complete.
"""

from __future__ import annotations

import fcntl
import functools
import itertools
import json
import os
import shutil
import tempfile
import threading
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

from reco.catalog import Catalog, CatalogError
from reco.datasets import Progress, default_data_dir
from reco.encode import SparseRows, SparseVector
from reco.filters import FILTER_FIELDS, UserFilter
from reco.packed import pack_many, unpack_stars

if TYPE_CHECKING:
    from qdrant_client import QdrantClient

TASTE, STARS = "taste", "stars"
MANIFEST = "manifest.json"
CATALOG = "catalog"  # the catalog's folder in an Edge index
INDEX_VERSION = 4
"""Layout of an index: 4 = users with stars packed in 16-bit words (`reco.packed`) + catalog +
manifest (3 packed them in 32-bit words, 2 kept them in a second sparse vector, 1 had no
catalog)."""


@dataclass(frozen=True)
class UserPoint:
    """One user to store."""

    user_id: int
    taste: SparseVector
    stars: SparseVector
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class Neighbours:
    """Users found for a query, most similar first: row ``i`` of ``stars`` holds the raw
    ratings of ``user_ids[i]``; ``payloads`` (demographics, ``n_ratings``) when asked for."""

    user_ids: np.ndarray
    similarities: np.ndarray
    stars: SparseRows
    payloads: tuple[Mapping[str, Any], ...] = ()

    def __len__(self) -> int:
        return len(self.user_ids)

    def take(self, keep: np.ndarray) -> Neighbours:
        """The neighbours at positions (or where the mask is true) ``keep``, in order."""
        positions = np.arange(len(self))[keep]
        payloads = tuple(self.payloads[i] for i in positions) if self.payloads else ()
        return Neighbours(
            self.user_ids[positions],
            self.similarities[positions],
            self.stars.take(positions),
            payloads,
        )

    @classmethod
    def empty(cls) -> Neighbours:
        return cls(
            np.empty(0, np.int64),
            np.empty(0, np.float64),
            SparseRows(np.zeros(1, np.int64), np.empty(0, np.int32), np.empty(0, np.float32)),
        )


@dataclass(frozen=True)
class OpenIndex:
    """A complete index a store has opened: its manifest and its catalog."""

    manifest: Mapping[str, Any]
    catalog: Catalog


class IndexDamaged(RuntimeError):
    """An index exists under the name but cannot be used (the message says why)."""


class UserStore(Protocol):
    """The few operations the recommender needs from a vector engine."""

    description: str
    server: bool  # a shared Qdrant server: an app never rebuilds its index on its own

    def open_current(self) -> OpenIndex | None:
        """Open the complete index of this name, whatever its fingerprint; None when there is
        none. Raises `IndexDamaged` when one exists but cannot be used (older layout version,
        missing or damaged catalog, users missing), `StoreUnavailable` when the engine
        cannot be reached."""
        ...

    def ready(self, fingerprint: str) -> OpenIndex | None:
        """The open index when the store holds a complete, usable one with this fingerprint."""
        ...

    def rebuild(
        self,
        fingerprint: str,
        batches: Iterable[Sequence[UserPoint]],
        *,
        total: int,
        catalog: Catalog,
        manifest: Mapping[str, Any],
        progress: Progress | None = None,
        idf: bool = False,
    ) -> OpenIndex:
        """Build the index aside from ``batches`` (users), ``catalog`` and ``manifest`` and
        switch to it once complete (a store may instead open the same fingerprint when
        another process has just built it). Raises `StoreUnavailable` when the engine cannot
        be reached.

        With ``idf``, the engine weighs each movie in the similarity by its inverse document
        frequency: agreeing on a rarely rated movie counts more than on a popular one.
        """
        ...

    def update_manifest(self, changes: Mapping[str, Any]) -> OpenIndex:
        """Merge ``changes`` into the open index's manifest (e.g. a re-stamped release)."""
        ...

    def upsert(self, users: Sequence[UserPoint]) -> None: ...

    def similar_users(
        self,
        query: SparseVector,
        limit: int,
        where: UserFilter | None = None,
        *,
        with_payload: bool = False,
    ) -> Neighbours:
        """The ``limit`` users with the highest dot product with ``query``, best first, with
        their stored star ratings (and payloads when ``with_payload``)."""
        ...

    def similar_users_batch(
        self, queries: Sequence[SparseVector], limit: int, where: UserFilter | None = None
    ) -> list[Neighbours]:
        """`similar_users` for several queries sent to the engine as one batch, answers in
        the same order (an empty query: no neighbours)."""
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


# Hits of either engine (Qdrant Edge's and qdrant-client's points alike) carry id and score
# under the same names; their payloads come with them (qdrant-client) or are read by id
# (`_edge_payloads`).


def _neighbours(
    hits: Sequence[Any], found: Sequence[Mapping[str, Any] | None], with_payload: bool
) -> Neighbours:
    """The engine's hits as arrays, their packed stars (in ``found``, the hits' payloads, in
    the same order) unpacked into one CSR matrix."""
    if not hits:
        return Neighbours.empty()
    count = len(hits)
    ids = np.fromiter((hit.id for hit in hits), dtype=np.int64, count=count)
    scores = np.fromiter((hit.score for hit in hits), dtype=np.float64, count=count)
    payloads = [payload or {} for payload in found]
    try:
        stars = unpack_stars([payload[STARS] for payload in payloads])
    except (KeyError, ValueError) as error:
        raise StoreUnavailable(
            f"the index's users lack readable stars ({error}); rebuild it with "
            "`python -m reco build`"
        ) from None
    if not with_payload:
        return Neighbours(ids, scores, stars)
    shown = tuple({k: v for k, v in payload.items() if k != STARS} for payload in payloads)
    return Neighbours(ids, scores, stars, shown)


def _edge_payloads(
    shard: qe.EdgeShard, hits: Sequence[Any], everything: bool = False
) -> list[dict[str, Any] | None]:
    """The hits' payloads, in order (the packed stars; ``everything``: the demographics too).
    Qdrant Edge reads payloads faster by id than with a search's hits (100 neighbours' stars
    on ml-100k: search then read 0.51-0.55 ms, a search returning them 0.71-0.80 ms;
    `scripts/payload_read.py` times both), so the search returns ids and scores and one
    `retrieve` reads the payloads. A user missing from that read has no stars, which
    `_neighbours` reports as a damaged index."""
    if not hits:
        return []
    selector = True if everything else qe.PayloadSelector.Include([STARS])
    records = shard.retrieve(list(dict.fromkeys(hit.id for hit in hits)), selector, False)
    payloads = {record.id: record.payload for record in records}
    return [payloads.get(hit.id) for hit in hits]


def _payloads(points: Sequence[Any]) -> list[dict[str, Any] | None]:
    """The payloads qdrant-client's points came with."""
    return [point.payload for point in points]


def _neighbours_each(
    answers: Sequence[Sequence[Any]], found: Sequence[Mapping[str, Any] | None]
) -> list[Neighbours]:
    """Several queries' hits (a batch's answers) as `Neighbours` each, their stars (in
    ``found``, the payloads of all the hits in order) unpacked in one pass."""
    together = _neighbours([hit for hits in answers for hit in hits], found, False)
    bounds = np.cumsum([0, *(len(hits) for hits in answers)]).tolist()
    return [
        Neighbours(
            together.user_ids[start:stop],
            together.similarities[start:stop],
            together.stars.slice(start, stop),
        )
        if stop > start
        else Neighbours.empty()
        for start, stop in itertools.pairwise(bounds)
    ]


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
    """Qdrant Edge shards persisted under ``root/<name>-<fingerprint>/`` (``shard/``,
    ``catalog/``, ``manifest.json``).

    Building writes into a hidden temporary folder beside it and renames it into place when
    complete, so a crash never leaves a half-built index under the final name. Builds of one
    name hold a file lock, so processes starting at once build once: the others wait and open
    the finished index. Older indexes of the same name, and folders of killed builds, are
    removed by the next build.
    """

    server = False

    def __init__(self, root: str | Path, name: str):
        self.root = Path(root)
        self.name = name
        self._shard: qe.EdgeShard | None = None
        self._path: Path | None = None
        self._open: OpenIndex | None = None
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

    def open_current(self) -> OpenIndex | None:
        if self._open is not None:
            return self._open
        found = self._index_folders()
        if not found:
            return None
        newest = max(found, key=lambda p: p.stat().st_mtime_ns)
        return self._load(newest)

    def has_index(self) -> bool:
        """Whether an index of this name is on disk (without opening or checking it)."""
        return any((path / MANIFEST).is_file() for path in self._index_folders())

    def _index_folders(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return [p for p in self.root.iterdir() if p.is_dir() and is_index_name(self.name, p.name)]

    def ready(self, fingerprint: str) -> OpenIndex | None:
        path = self.index_path(fingerprint)
        if self._open is not None and self._path == path:
            return self._open
        if not path.is_dir():
            return None
        try:
            return self._load(path)
        except IndexDamaged:
            return None

    def _load(self, path: Path) -> OpenIndex:
        """Open the index in ``path`` after checking it whole; `IndexDamaged` says why not."""
        try:
            manifest = json.loads((path / MANIFEST).read_text())
            if not isinstance(manifest, dict):
                raise ValueError("not an object")
        except FileNotFoundError:
            raise IndexDamaged(f"the index {path.name} has no manifest") from None
        except (OSError, ValueError) as error:
            raise IndexDamaged(f"the manifest of {path.name} is damaged ({error})") from None
        if manifest.get("version") != INDEX_VERSION:
            raise IndexDamaged(
                f"the index {path.name} was built by an older version of this program "
                f"(layout {manifest.get('version', 1)}, now {INDEX_VERSION})"
            )
        if not (path / CATALOG).is_dir():
            raise IndexDamaged(f"the index {path.name} has no catalog of films")
        try:
            catalog = Catalog.load(path / CATALOG, self.name)
        except CatalogError as error:
            raise IndexDamaged(str(error)) from None
        if len(catalog) != manifest.get("movies"):
            raise IndexDamaged(f"the catalog of {path.name} does not hold every film")
        try:
            shard = qe.EdgeShard.load(str(path / "shard"))
        except Exception as error:  # whatever the engine says: a damaged index
            raise IndexDamaged(f"the engine cannot open {path.name} ({error})"[:300]) from None
        try:  # files can be missing without the engine noticing: count what the build wrote
            complete = shard.count(qe.CountRequest(exact=True)) == manifest.get("users")
        except Exception:
            complete = False
        if not complete:
            shard.close()
            raise IndexDamaged(f"the index {path.name} is missing users")
        opened = OpenIndex(manifest, catalog)
        self._switch(shard, path, opened)
        _prefetch(path / "shard")
        return opened

    def rebuild(
        self,
        fingerprint: str,
        batches: Iterable[Sequence[UserPoint]],
        *,
        total: int,
        catalog: Catalog,
        manifest: Mapping[str, Any],
        progress: Progress | None = None,
        idf: bool = False,
    ) -> OpenIndex:
        self.root.mkdir(parents=True, exist_ok=True)
        with self._build_lock():
            opened = self.ready(fingerprint)
            if opened is not None:  # another process built it while this one waited
                return opened
            self._remove_orphans()
            return self._build(
                fingerprint,
                batches,
                total=total,
                catalog=catalog,
                manifest=manifest,
                progress=progress,
                idf=idf,
            )

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
        catalog: Catalog,
        manifest: Mapping[str, Any],
        progress: Progress | None,
        idf: bool,
    ) -> OpenIndex:
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
            catalog.save(building / CATALOG)
            written = _manifest(manifest, fingerprint, self.name, done, len(catalog), started)
            (building / MANIFEST).write_text(json.dumps(written, indent=2))
            self.close_shard()
            if final.exists():  # a damaged index under the final name: move it out of the way
                final.rename(self.root / f".stale-{final.name}-{uuid.uuid4().hex[:8]}")
            building.rename(final)
        finally:
            shutil.rmtree(building, ignore_errors=True)
        self._remove_stale(keep=final)
        return self._load(final)

    def update_manifest(self, changes: Mapping[str, Any]) -> OpenIndex:
        if self._open is None or self._path is None:
            raise StoreUnavailable(f"no index is open in {self.root}; build one first")
        manifest = {**self._open.manifest, **changes}
        staged = self._path / f".{MANIFEST}.{uuid.uuid4().hex[:8]}"
        staged.write_text(json.dumps(manifest, indent=2))
        staged.replace(self._path / MANIFEST)  # atomic: readers see the old or the new one
        self._open = OpenIndex(manifest, self._open.catalog)
        return self._open

    def upsert(self, users: Sequence[UserPoint]) -> None:
        shard = self._require()
        _edge_upsert(shard, users)
        shard.flush()

    def similar_users(
        self,
        query: SparseVector,
        limit: int,
        where: UserFilter | None = None,
        *,
        with_payload: bool = False,
    ) -> Neighbours:
        if len(query) == 0 or limit <= 0:
            return Neighbours.empty()
        shard = self._require()
        hits = shard.query(self._request(query, limit, where))
        return _neighbours(hits, _edge_payloads(shard, hits, with_payload), with_payload)

    def similar_users_batch(
        self, queries: Sequence[SparseVector], limit: int, where: UserFilter | None = None
    ) -> list[Neighbours]:
        asked = [i for i, query in enumerate(queries) if len(query) and limit > 0]
        answers = [Neighbours.empty() for _ in queries]
        if asked:
            batch = qe.QueryBatchRequest(
                queries=[self._request(queries[i], limit, where) for i in asked]
            )
            shard = self._require()
            answered = shard.query_batch(batch)
            stars = _edge_payloads(shard, [hit for hits in answered for hit in hits])
            found = _neighbours_each(answered, stars)
            for i, neighbours in zip(asked, found, strict=True):
                answers[i] = neighbours
        return answers

    @staticmethod
    def _request(query: SparseVector, limit: int, where: UserFilter | None) -> qe.QueryRequest:
        return qe.QueryRequest(
            limit=limit,
            query=qe.Query.Nearest(_edge_vector(query), using=TASTE),
            filter=_edge_filter(where),
            with_vector=False,
            with_payload=False,  # read by `_edge_payloads`
        )

    def count(self, where: UserFilter | None = None) -> int:
        return self._require().count(qe.CountRequest(exact=True, filter=_edge_filter(where)))

    def facet(self, field: str, where: UserFilter | None = None) -> dict[str, int]:
        request = qe.FacetRequest(key=field, limit=10_000, exact=True, filter=_edge_filter(where))
        return {str(hit.value): int(hit.count) for hit in self._require().facet(request)}

    def close_shard(self) -> None:
        if self._shard is not None:
            self._shard.close()
        self._shard, self._path, self._open = None, None, None

    def close(self) -> None:
        self.close_shard()
        if self._cleanup is not None:
            self._cleanup()

    def _require(self) -> qe.EdgeShard:
        if self._shard is None:
            raise StoreUnavailable(f"no index is open in {self.root}; build one first")
        return self._shard

    def _switch(self, shard: qe.EdgeShard, path: Path, opened: OpenIndex) -> None:
        self.close_shard()
        self._shard, self._path, self._open = shard, path, opened

    def _remove_stale(self, keep: Path) -> None:
        for path in self.root.iterdir():
            moved_aside = path.name.startswith(".stale-") and is_index_name(
                self.name, path.name.removeprefix(".stale-").rsplit("-", 1)[0]
            )
            older = path.is_dir() and is_index_name(self.name, path.name)
            if (moved_aside or older) and path != keep:
                shutil.rmtree(path, ignore_errors=True)


def _prefetch(shard: Path) -> None:
    """Read the stored payload (the packed stars) into the page cache on a background thread
    (Qdrant's "cached" tier promises this, but here the kernel ignores the hint): the first
    queries of a fresh process then find the neighbours' stars in memory instead of reading
    them from disk a page at a time (6-8 ms a query at 200,000 users, 3 ms once cached). Costs
    no process memory: the data is read in 1 MiB chunks into one buffer."""

    def read_all() -> None:
        buffer = bytearray(1 << 20)
        try:
            for file in sorted(shard.glob("segments/*/payload_storage/**/*")):
                if file.is_file():
                    with open(file, "rb", buffering=0) as handle:
                        while handle.readinto(buffer):
                            pass
        except OSError:  # the index removed meanwhile (a rebuild, a temporary store): done
            return

    threading.Thread(target=read_all, name="reco-prefetch", daemon=True).start()


def _manifest(
    given: Mapping[str, Any], fingerprint: str, name: str, users: int, movies: int, started: float
) -> dict[str, Any]:
    """The manifest a store writes: what the builder gave, and what the store knows."""
    return {
        **given,
        "version": INDEX_VERSION,
        "fingerprint": fingerprint,
        "name": name,
        "users": users,
        "movies": movies,
        "build_seconds": round(time.perf_counter() - started, 3),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _edge_config(idf: bool = False) -> qe.EdgeConfig:
    # No write-ahead log: an index is written once, flushed and renamed into place, and
    # without the WAL's lock several processes (the app, the CLI) can open it at once.
    # The payload (the packed stars above all) is only read back with each neighbour, never
    # searched (the demographics have their own payload index): it stays on disk ("cold"),
    # which keeps it out of every app process's memory.
    taste = qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf if idf else None)
    return qe.EdgeConfig(
        sparse_vectors={TASTE: taste}, payload_memory=qe.Memory.Cold, wal_enabled=False
    )


def _edge_upsert(shard: qe.EdgeShard, users: Sequence[UserPoint]) -> None:
    if not users:
        return
    packed = pack_many([user.stars for user in users])
    points = [
        qe.Point(user.user_id, {TASTE: _edge_vector(user.taste)}, {**user.payload, STARS: stars})
        for user, stars in zip(users, packed, strict=True)
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
    """A Qdrant server or cluster through qdrant-client (``QdrantClient(":memory:")`` or
    ``QdrantClient(path=...)`` in tests).

    The index is the collection ``<name>-<fingerprint>`` (users; the manifest in its metadata)
    with its catalog in ``<name>-<fingerprint>-movies``; the alias ``<name>`` points at the
    complete one, switched atomically after a build.
    """

    server = True

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
        self._open: OpenIndex | None = None

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
        if url.startswith("file:"):  # qdrant-client's local mode on disk: one process at a time
            path = urlsplit(url).path
            try:
                client = QdrantClient(path=path)
            except (RuntimeError, OSError) as error:  # held by another process, unreadable
                raise StoreUnavailable(
                    f"cannot open local Qdrant data at {path} ({error})"
                ) from None
            return cls(client, name, where=f"local Qdrant data at {path}", **options)
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

    @staticmethod
    def catalog_collection(collection: str) -> str:
        return f"{collection}-movies"

    @_answering
    def open_current(self) -> OpenIndex | None:
        if self._open is not None:
            return self._open
        aliases = self.client.get_aliases().aliases
        target = next((a.collection_name for a in aliases if a.alias_name == self.name), None)
        if target is None:
            return None
        return self._load(target)

    @_answering
    def ready(self, fingerprint: str) -> OpenIndex | None:
        target = self.collection(fingerprint)
        if self._open is not None and self._open.manifest.get("fingerprint") == fingerprint:
            return self._open
        aliases = self.client.get_aliases().aliases
        if not any(a.alias_name == self.name and a.collection_name == target for a in aliases):
            return None
        try:
            return self._load(target)
        except IndexDamaged:
            return None

    def _load(self, target: str) -> OpenIndex:
        manifest = dict(self.client.get_collection(target).config.metadata or {})
        if manifest.get("version") != INDEX_VERSION:
            raise IndexDamaged(
                f"the collection {target} was built by an older version of this program "
                f"(layout {manifest.get('version', 1)}, now {INDEX_VERSION})"
            )
        movies = self.catalog_collection(target)
        if not self.client.collection_exists(movies):
            raise IndexDamaged(f"the collection {target} has no catalog of films ({movies})")
        if self.client.count(movies, exact=True).count != manifest.get("movies"):
            raise IndexDamaged(f"the catalog {movies} does not hold every film")
        if self.client.count(target, exact=True).count != manifest.get("users"):
            raise IndexDamaged(f"the collection {target} is missing users")
        records: list[Mapping[str, Any]] = []
        offset = None
        while True:
            points, offset = self.client.scroll(
                movies, limit=2_000, offset=offset, with_payload=True, with_vectors=False
            )
            records.extend(point.payload or {} for point in points)
            if offset is None:
                break
        try:
            catalog = Catalog.from_records(self.name, records, manifest.get("cells") or [])
        except CatalogError as error:
            raise IndexDamaged(str(error)) from None
        self._open = OpenIndex(manifest, catalog)
        return self._open

    @_answering
    def rebuild(
        self,
        fingerprint: str,
        batches: Iterable[Sequence[UserPoint]],
        *,
        total: int,
        catalog: Catalog,
        manifest: Mapping[str, Any],
        progress: Progress | None = None,
        idf: bool = False,
    ) -> OpenIndex:
        from qdrant_client import models

        started = time.perf_counter()
        target = self.collection(fingerprint)
        movies = self.catalog_collection(target)
        for collection in (target, movies):
            if self.client.collection_exists(collection):
                self.client.delete_collection(collection)
        self.client.create_collection(
            movies,
            vectors_config={},
            shard_number=self.shard_number,
            replication_factor=self.replication_factor,
        )
        batch: list[Any] = []
        for record in catalog.records():
            batch.append(models.PointStruct(id=record["movie_id"], vector={}, payload=record))
            if len(batch) == 1_000:
                self.client.upsert(movies, points=batch, wait=True)
                batch = []
        if batch:
            self.client.upsert(movies, points=batch, wait=True)
        self.client.create_collection(
            target,
            vectors_config={},
            sparse_vectors_config={
                TASTE: models.SparseVectorParams(modifier=models.Modifier.IDF if idf else None),
            },
            shard_number=self.shard_number,
            replication_factor=self.replication_factor,
        )
        for field in FILTER_FIELDS:
            self.client.create_payload_index(target, field, models.PayloadSchemaType.KEYWORD)
        done = 0
        for users in batches:
            self._upsert(target, users)
            done += len(users)
            if progress is not None:
                progress(done, total)
        written = _manifest(manifest, fingerprint, self.name, done, len(catalog), started)
        written["cells"] = catalog.cell_records()
        self.client.update_collection(target, metadata=written)
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
        self._open = None
        for collection in self.client.get_collections().collections:
            if is_index_name(self.name, collection.name) and collection.name != target:
                self.client.delete_collection(collection.name)
                if self.client.collection_exists(self.catalog_collection(collection.name)):
                    self.client.delete_collection(self.catalog_collection(collection.name))
        return self._load(target)

    @_answering
    def update_manifest(self, changes: Mapping[str, Any]) -> OpenIndex:
        if self._open is None:
            raise StoreUnavailable(f"no index is open on {self.where}; build one first")
        target = self.collection(str(self._open.manifest["fingerprint"]))
        manifest = {**self._open.manifest, **changes}
        self.client.update_collection(target, metadata=dict(changes))
        self._open = OpenIndex(manifest, self._open.catalog)
        return self._open

    @_answering
    def upsert(self, users: Sequence[UserPoint]) -> None:
        self._upsert(self.name, users)

    @_answering
    def similar_users(
        self,
        query: SparseVector,
        limit: int,
        where: UserFilter | None = None,
        *,
        with_payload: bool = False,
    ) -> Neighbours:
        from qdrant_client import models

        if len(query) == 0 or limit <= 0:
            return Neighbours.empty()
        response = self.client.query_points(
            self.name,
            query=models.SparseVector(indices=query.indices.tolist(), values=query.values.tolist()),
            using=TASTE,
            limit=limit,
            query_filter=self._filter(where),
            with_payload=True if with_payload else [STARS],
            with_vectors=False,
        )
        return _neighbours(response.points, _payloads(response.points), with_payload)

    @_answering
    def similar_users_batch(
        self, queries: Sequence[SparseVector], limit: int, where: UserFilter | None = None
    ) -> list[Neighbours]:
        from qdrant_client import models

        asked = [i for i, query in enumerate(queries) if len(query) and limit > 0]
        answers = [Neighbours.empty() for _ in queries]
        if not asked:
            return answers
        requests = [
            models.QueryRequest(
                query=models.SparseVector(
                    indices=queries[i].indices.tolist(), values=queries[i].values.tolist()
                ),
                using=TASTE,
                limit=limit,
                filter=self._filter(where),
                with_payload=[STARS],
                with_vector=False,
            )
            for i in asked
        ]
        responses = self.client.query_batch_points(self.name, requests=requests)
        found = _neighbours_each(
            [response.points for response in responses],
            [payload for response in responses for payload in _payloads(response.points)],
        )
        for i, neighbours in zip(asked, found, strict=True):
            answers[i] = neighbours
        return answers

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
        packed = pack_many([user.stars for user in users])
        points = [
            models.PointStruct(
                id=user.user_id,
                vector={
                    TASTE: models.SparseVector(
                        indices=user.taste.indices.tolist(), values=user.taste.values.tolist()
                    ),
                },
                payload={**user.payload, STARS: stars},
            )
            for user, stars in zip(users, packed, strict=True)
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

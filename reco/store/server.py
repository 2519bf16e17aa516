"""A Qdrant server or cluster through qdrant-client: an index is a users collection (its manifest
in the collection's metadata) and a movies collection, behind an alias switched when complete."""

from __future__ import annotations

import functools
import itertools
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from reco.catalog import Catalog, CatalogError
from reco.datasets import Progress
from reco.encode import SparseVector
from reco.filters import UserFilter, field_names
from reco.packed import pack_many
from reco.store.base import (
    RATERS,
    STARS,
    TASTE,
    FilmPoint,
    IndexDamaged,
    Manifest,
    Neighbours,
    OpenIndex,
    SimilarFilm,
    StoreUnavailable,
    UserPoint,
    examples,
    is_index_name,
    read_manifest,
)
from reco.store.hits import neighbours_each, neighbours_from_hits

if TYPE_CHECKING:
    from qdrant_client import QdrantClient


def _payloads(points: Sequence[Any]) -> list[dict[str, Any] | None]:
    """The payloads qdrant-client's points came with."""
    return [point.payload for point in points]


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
        self._films: str | None = None  # the open index's movies collection

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
        target = self._alias_target()
        if target is None:
            return None
        return self._load(target)

    def _alias_target(self) -> str | None:
        """The collection the alias points at (the index in use), if any."""
        aliases = self.client.get_aliases().aliases
        return next((a.collection_name for a in aliases if a.alias_name == self.name), None)

    @_answering
    def ready(self, fingerprint: str) -> OpenIndex | None:
        if self._open is not None and self._open.manifest.fingerprint == fingerprint:
            return self._open
        target = self._alias_target()
        if target is None:
            return None
        try:
            opened = self._load(target)
        except IndexDamaged:
            return None
        return opened if opened.manifest.fingerprint == fingerprint else None

    def _load(self, target: str) -> OpenIndex:
        metadata = dict(self.client.get_collection(target).config.metadata or {})
        manifest = read_manifest(metadata, f"the collection {target}")
        movies = self.catalog_collection(target)
        if not self.client.collection_exists(movies):
            raise IndexDamaged(f"the collection {target} has no catalog of films ({movies})")
        if self.client.count(movies, exact=True).count != manifest.movies:
            raise IndexDamaged(f"the catalog {movies} does not hold every film")
        if self.client.count(target, exact=True).count != manifest.users:
            raise IndexDamaged(f"the collection {target} is missing users")
        records: list[Mapping[str, Any]] = []
        offset = None
        while True:
            points, offset = self.client.scroll(
                movies, limit=2_000, offset=offset, with_payload=True, with_vectors=False
            )
            records.extend(  # a film's stars are read when its page opens (`film_stars`)
                {k: v for k, v in (point.payload or {}).items() if k != STARS} for point in points
            )
            if offset is None:
                break
        try:
            catalog = Catalog.from_records(self.name, records, manifest.cells)
        except CatalogError as error:
            raise IndexDamaged(str(error)) from None
        self._open = OpenIndex(manifest, catalog)
        self._films = movies
        return self._open

    @_answering
    def rebuild(
        self,
        fingerprint: str,
        batches: Iterable[Sequence[UserPoint]],
        *,
        total: int,
        catalog: Catalog,
        manifest: Manifest,
        progress: Progress | None = None,
        idf: bool = False,
        force: bool = False,
        films: Iterable[Sequence[FilmPoint]] = (),
    ) -> OpenIndex:
        from qdrant_client import models

        started = time.perf_counter()
        rated = {film.movie_id: film for batch in films for film in batch}
        target = self.collection(fingerprint)
        if self.client.collection_exists(target):  # in use, maybe: build beside it
            target = f"{target}r{uuid.uuid4().hex[:8]}"  # no dash: still this name's index
        movies = self.catalog_collection(target)
        modifier = models.Modifier.IDF if idf else None
        self.client.create_collection(
            movies,
            vectors_config={},
            sparse_vectors_config={RATERS: models.SparseVectorParams(modifier=modifier)},
            shard_number=self.shard_number,
            replication_factor=self.replication_factor,
        )
        batch: list[Any] = []
        for record in catalog.records():
            film = rated.get(record["movie_id"])
            vector: dict[str, Any] = {}
            if film is not None:  # a film with raters: "more like this" finds it
                vector[RATERS] = models.SparseVector(
                    indices=film.raters.indices.tolist(), values=film.raters.values.tolist()
                )
                record = {**record, STARS: list(film.stars)}
            batch.append(models.PointStruct(id=record["movie_id"], vector=vector, payload=record))
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
        for field in field_names():
            self.client.create_payload_index(target, field, models.PayloadSchemaType.KEYWORD)
        done = 0
        for users in batches:
            self._upsert(target, users)
            done += len(users)
            if progress is not None:
                progress(done, total)
        written = manifest.completed(
            fingerprint=fingerprint,
            name=self.name,
            users=done,
            movies=len(catalog),
            started=started,
            cells=catalog.cell_records(),
        )
        self.client.update_collection(target, metadata=written.to_json())
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
        target = self._alias_target() or self.collection(self._open.manifest.fingerprint)
        manifest = self._open.manifest.changed(changes)
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
        return neighbours_from_hits(response.points, _payloads(response.points), with_payload)

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
        found = neighbours_each(
            [response.points for response in responses],
            [payload for response in responses for payload in _payloads(response.points)],
        )
        for i, neighbours in zip(asked, found, strict=True):
            answers[i] = neighbours
        return answers

    @_answering
    def similar_films(
        self,
        positive: Sequence[int],
        negative: Sequence[int] = (),
        limit: int = 10,
        exclude: Collection[int] = (),
    ) -> list[SimilarFilm]:
        from qdrant_client import models

        if not positive or limit <= 0:
            return []
        films = self._films_collection()
        points = self.client.retrieve(
            films, [int(m) for m in (*positive, *negative)], with_vectors=[RATERS]
        )
        cut = examples(
            {
                p.id: p.vector[RATERS]
                for p in points
                if isinstance(p.vector, dict) and RATERS in p.vector
            },
            positive,
            negative,
        )
        liked, disliked = (
            [models.SparseVector(indices=i.tolist(), values=v.tolist()) for i, v in vectors]
            for vectors in cut
        )
        if not liked:
            return []
        skipped = sorted({int(m) for m in (*exclude, *positive, *negative)})
        response = self.client.query_points(
            films,
            query=models.RecommendQuery(
                recommend=models.RecommendInput(
                    positive=liked,
                    negative=disliked or None,
                    strategy=models.RecommendStrategy.AVERAGE_VECTOR,
                )
            ),
            using=RATERS,
            limit=limit,
            query_filter=models.Filter(must_not=[models.HasIdCondition(has_id=skipped)]),
            with_payload=False,
            with_vectors=False,
        )
        return [SimilarFilm(int(hit.id), float(hit.score)) for hit in response.points]

    @_answering
    def film_stars(self, movie_ids: Sequence[int]) -> dict[int, tuple[int, ...]]:
        points = self.client.retrieve(
            self._films_collection(), [int(m) for m in movie_ids], with_payload=[STARS]
        )
        return {
            int(p.id): tuple(int(c) for c in p.payload[STARS])
            for p in points
            if p.payload and STARS in p.payload
        }

    def _films_collection(self) -> str:
        if self._films is None:
            raise StoreUnavailable(f"no index is open on {self.where}; build one first")
        return self._films

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

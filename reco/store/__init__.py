"""Where the index lives: one small interface (`UserStore`), two engines, one choice point.

- `reco.store.base`: the interface, the types both engines share and the typed `Manifest`;
- `reco.store.edge`: Qdrant Edge, embedded, an index folder on disk;
- `reco.store.server`: a Qdrant server or cluster through qdrant-client.

Nothing outside this package names an engine: `open_store` picks one, `temporary_store` gives
the throw-away store of tests and evaluation, `has_local_index` says whether a release's index
is on this machine.
"""

from __future__ import annotations

from pathlib import Path

from reco.settings import SettingError, check_key, check_timeout, check_url, read_settings
from reco.store.base import (
    INDEX_VERSION,
    FilmPoint,
    IndexDamaged,
    IndexFromNewerVersion,
    IndexNotBuilt,
    Manifest,
    Neighbours,
    OpenIndex,
    SimilarFilm,
    StoreUnavailable,
    UserPoint,
    UserStore,
    is_index_name,
)
from reco.store.edge import EdgeStore
from reco.store.server import QdrantServerStore, safe_url

__all__ = [
    "INDEX_VERSION",
    "EdgeStore",
    "FilmPoint",
    "IndexDamaged",
    "IndexFromNewerVersion",
    "IndexNotBuilt",
    "Manifest",
    "Neighbours",
    "OpenIndex",
    "SimilarFilm",
    "QdrantServerStore",
    "StoreUnavailable",
    "UserPoint",
    "UserStore",
    "has_local_index",
    "is_index_name",
    "local_store",
    "open_store",
    "safe_url",
    "temporary_store",
]


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
    try:
        settings = read_settings()
        url = check_url(url) or settings.qdrant_url
        key = check_key(api_key) or settings.qdrant_api_key
        timeout = settings.qdrant_timeout if timeout is None else check_timeout(timeout)
    except SettingError as error:
        raise StoreUnavailable(str(error)) from None
    if url:
        return QdrantServerStore.from_url(
            url,
            name,
            api_key=key,
            timeout=timeout,
            shard_number=shard_number,
            replication_factor=replication_factor,
        )
    folder = Path(data_dir) if data_dir is not None else settings.data_dir
    return EdgeStore(folder / "index", name)


def temporary_store(name: str = "reco") -> UserStore:
    """An embedded store in a fresh temporary folder, removed when it is closed or collected:
    the store of tests and of the evaluation's throw-away indexes."""
    return EdgeStore.temporary(name)


def has_local_index(name: str, data_dir: str | Path | None = None) -> bool:
    """Whether an embedded index of release ``name`` is on this machine (without opening it)."""
    folder = Path(data_dir) if data_dir is not None else read_settings().data_dir
    return EdgeStore(folder / "index", name).has_index()


def local_store(name: str, root: str | Path) -> UserStore:
    """The embedded store of release ``name`` in the folder ``root`` (the bench's own index
    folders; `open_store` is the app's and the command line's choice)."""
    return EdgeStore(root, name)

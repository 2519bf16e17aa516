"""Opening a release: the index if it is current, else the release read and the index built
(`reco.index.plan_index` decides which)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reco.datasets import Progress, find_release, load_movielens
from reco.encode import Encoding, EncodingName
from reco.index import (
    IndexPlan,
    after_reading,
    build_index,
    encoding_of,
    fit_encoding,
    index_fingerprint,
    plan_index,
    release_signature,
)
from reco.recommend.options import (
    DEFAULT_ENCODING,
    DEFAULT_IDF,
    DEFAULT_NORMALIZE,
    ScoringOptions,
)
from reco.recommend.recommender import IndexUnavailable, Recommender
from reco.store import IndexDamaged, IndexNotBuilt, open_store


def open_recommender(
    source: str | Path = "ml-100k",
    *,
    data_dir: str | Path | None = None,
    qdrant_url: str | None = None,
    qdrant_api_key: str | None = None,
    shard_number: int | None = None,
    replication_factor: int | None = None,
    download_progress: Progress | None = None,
    build_progress: Progress | None = None,
    encoding: EncodingName | None = None,
    normalize: bool = DEFAULT_NORMALIZE,
    idf: bool = DEFAULT_IDF,
    repair: bool = False,
    force: bool = False,
    **options: Any,
) -> Recommender:
    """Open the index of a release, building it only when needed; never parses the ratings
    when the index is current.

    The store is Qdrant Edge under ``<data_dir>/index/`` unless ``qdrant_url`` or
    ``$QDRANT_URL`` names a Qdrant server (``shard_number`` and ``replication_factor`` then
    shape the collection). The release (a name or a path) is read only to build: when there
    is no index yet, when the release file differs from the one the index was built from
    (size, modification time, hash of its ends), when the index is of an older layout or
    damaged, or when ``encoding`` (None: whatever the index has, the default for a new one)
    differs. An index stays usable when the release's files have been moved away.

    On a server, an index that exists is never rebuilt unless ``repair`` is set (as
    ``python -m reco build`` does): a damaged one raises `IndexUnavailable` naming that
    command, and the release files are not looked at. ``force`` reads the release and builds
    the index anew whatever its state. ``options`` are `ScoringOptions` fields.
    """
    name, path = find_release(source, data_dir=data_dir)
    store = open_store(
        name,
        data_dir=data_dir,
        url=qdrant_url,
        api_key=qdrant_api_key,
        shard_number=shard_number,
        replication_factor=replication_factor,
    )
    wanted = Encoding(encoding or DEFAULT_ENCODING, normalize=normalize, idf=idf)
    scoring = ScoringOptions(**options)
    try:
        current, problem = store.open_current(), None
    except IndexDamaged as error:
        current, problem = None, str(error)
    manifest = current.manifest if current is not None else None
    looks_at_files = path is not None and (repair or not store.server)
    signature = release_signature(path) if looks_at_files else None
    plan = plan_index(
        manifest,
        problem,
        server=store.server,
        repair=repair,
        wanted=wanted if encoding is not None else None,
        signature=signature,
    )
    if force:
        plan = IndexPlan("read")
    if plan.action == "open":
        assert current is not None
        return Recommender(store, current, scoring)
    if plan.action == "refuse":
        raise IndexUnavailable(
            f"the index of {name} on the Qdrant server cannot be used: {plan.reason}. "
            f"Rebuild it with: python -m reco build --dataset {name} (with QDRANT_URL set "
            "to that server)"
        )
    dataset = load_movielens(path or source, data_dir=data_dir, progress=download_progress)
    if path is None:  # downloaded just now
        _, path = find_release(source, data_dir=data_dir)
    signature = release_signature(path) if path is not None else None
    base = encoding_of(manifest) if manifest is not None and encoding is None else wanted
    fitted = fit_encoding(dataset, base.name, normalize=base.normalize, idf=base.idf)
    if not force and after_reading(manifest, index_fingerprint(dataset, fitted)) == "restamp":
        # the same data in a file of another date: note the file, keep the index
        try:
            current = store.update_manifest({"release": signature})
        except IndexNotBuilt:  # a folder it cannot write: the index holds the same data
            assert current is not None
        return Recommender(store, current, scoring)
    index = build_index(
        dataset, store, fitted, release=signature, progress=build_progress, force=force
    )
    return Recommender(store, index, scoring)

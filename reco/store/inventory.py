"""What an embedded index folder holds, recorded in its manifest when the build is complete and
checked each time it opens, so damage is found before it answers a query.

Every file's size is recorded, and the catalog's files (small; every film's figures come from
them) are checksummed whole. The engine's own files are checked by size and by the engine's
own counts (`engine_counts`): Qdrant Edge rewrites some of them in place each time it opens a
shard (the same bytes, a new modification time), so a checksum of them would be the engine's
to keep, and reading a large shard whole would slow every opening.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CHECKSUMMED = ("catalog/",)  # files checksummed whole (the rest by size)
_CHUNK = 1 << 20


def inventory(folder: Path, skip: str) -> dict[str, list[Any]]:
    """Relative path -> ``[size]`` (``[size, checksum]`` for the catalog's files) for every
    file under ``folder`` but ``skip`` (the manifest) and hidden files (a manifest being
    replaced)."""
    files: dict[str, list[Any]] = {}
    for file in sorted(folder.rglob("*")):
        relative = file.relative_to(folder).as_posix()
        if relative == skip or file.name.startswith(".") or not file.is_file():
            continue
        size = file.stat().st_size
        files[relative] = [size, _checksum(file)] if relative.startswith(CHECKSUMMED) else [size]
    return files


def _checksum(file: Path) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with file.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def inventory_problem(folder: Path, recorded: Mapping[str, Any], skip: str) -> str | None:
    """What differs between ``folder`` and the inventory its build recorded (None: nothing):
    a file missing, of another size, or a catalog file whose bytes changed. Files the engine
    added since are not judged."""
    found = inventory(folder, skip)
    missing = sorted(recorded.keys() - found.keys())
    if missing:
        return f"{len(missing)} of its files are missing ({missing[0]}, …)"
    for relative, entry in recorded.items():
        if not isinstance(entry, list | tuple) or not entry:
            return "the record of its files is damaged"
        if found[relative][0] != entry[0]:
            return f"{relative} is {found[relative][0]:,} bytes, built as {entry[0]:,}"
        if len(entry) > 1 and found[relative][1:] != list(entry[1:]):
            return f"{relative} has changed since it was built"
    return None


def engine_counts(info: Any) -> dict[str, int]:
    """What the engine counts in a shard (`qdrant_edge.ShardInfo`): points, indexed vectors,
    and the points of each payload index."""
    counts = {"points": int(info.points_count), "vectors": int(info.indexed_vectors_count)}
    for field, index in sorted(info.payload_schema.items()):
        counts[f"indexed {field}"] = int(index.points)
    return counts

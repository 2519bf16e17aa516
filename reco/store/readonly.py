"""Serving an embedded index from a folder this process cannot write (a read-only mount, an
image's layer, another user's files).

Qdrant Edge opens a shard's vector and payload storage for writing, and rewrites a few small
files in place, even to only read it: from a read-only folder it cannot open at all. The shard
is then copied into a fresh temporary folder, holes and all (its storage files are sparse: on
ml-100k 92 MB long but 1.7 MB on disk), opened there, and the copy removed when it closes.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path

_CHUNK = 1 << 20
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)
_READ_ONLY_WORDS = ("Read-only file system", "Permission denied", "Operation not permitted")


def cannot_write(error: BaseException) -> bool:
    """Whether an error says a folder or file may not be written (the engine's errors are
    plain text naming the system's error)."""
    if getattr(error, "errno", None) in _READ_ONLY:
        return True
    return any(words in str(error) for words in _READ_ONLY_WORDS)


def writable_copy(folder: Path, name: str) -> Path:
    """A copy of ``folder`` in a new temporary folder (the caller removes it); returns the
    copy's path."""
    target = Path(tempfile.mkdtemp(prefix=f"reco-{name}-")) / folder.name
    try:
        for source in sorted(folder.rglob("*")):
            copied = target / source.relative_to(folder)
            if source.is_dir():
                copied.mkdir(parents=True, exist_ok=True)
            else:
                copied.parent.mkdir(parents=True, exist_ok=True)
                sparse_copy(source, copied)
    except BaseException:
        shutil.rmtree(target.parent, ignore_errors=True)
        raise
    return target


def sparse_copy(source: Path, target: Path) -> None:
    """Copy a file's data regions only, leaving its holes as holes."""
    size = source.stat().st_size
    with open(source, "rb") as reading, open(target, "wb") as writing:
        offset = 0
        while offset < size:
            try:
                start = os.lseek(reading.fileno(), offset, os.SEEK_DATA)
            except OSError as error:  # ENXIO: no data after offset
                if error.errno == errno.ENXIO:
                    break
                raise
            end = os.lseek(reading.fileno(), start, os.SEEK_HOLE)
            reading.seek(start)
            writing.seek(start)
            left = end - start
            while left > 0:
                chunk = reading.read(min(_CHUNK, left))
                if not chunk:
                    break
                writing.write(chunk)
                left -= len(chunk)
            offset = end
        writing.truncate(size)

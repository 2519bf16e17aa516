"""Index faults: a build killed midway, two processes starting at once, a corrupted index.

Real processes (`python -m reco build`), real signals and the real file lock.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, write_release

from reco.bench import synthetic_movielens
from reco.recommend import open_recommender

NAME = "synthetic"


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A MovieLens-like release big enough that indexing it takes a moment (~0.5M ratings)."""
    folder = tmp_path_factory.mktemp("release") / NAME
    return write_release(folder, "ml-100k", synthetic_movielens(3000, seed=7))


def build_command(release: Path, data: Path, *more: str) -> list[str]:
    return [
        sys.executable, "-m", "reco", "build", "--dataset", str(release), "--data-dir", str(data),
        *more,
    ]  # fmt: skip


def build(release: Path, data: Path, *more: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        build_command(release, data, *more), cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done


def start_build(release: Path, data: Path) -> subprocess.Popen:
    return subprocess.Popen(
        build_command(release, data),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def index_folders(data: Path) -> list[str]:
    return sorted(p.name for p in (data / "index").iterdir() if not p.name.startswith(".lock-"))


def same_answer(got: list, expected: list) -> bool:
    """Same movies, order and raters; scores equal up to float32 summation order."""
    return [(r.movie_id, r.raters) for r in got] == [(r.movie_id, r.raters) for r in expected] and [
        r.score for r in got
    ] == pytest.approx([r.score for r in expected], rel=1e-6)


def wait_for(condition, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("timed out")
        time.sleep(0.01)


def kill_while_building(release: Path, data: Path) -> None:
    """Start a build and SIGKILL it once it is writing the index (no cleanup code can run)."""
    build = start_build(release, data)
    index = data / "index"

    def writing() -> bool:
        if build.poll() is not None:
            pytest.fail(f"the build ended before it could be killed: {build.communicate()}")
        return (
            any(p.name.startswith(".building-") for p in index.glob(".*"))
            if index.exists()
            else False
        )

    wait_for(writing)
    time.sleep(0.2)
    build.send_signal(signal.SIGKILL)
    build.wait()
    assert build.returncode == -signal.SIGKILL


def test_build_killed_midway_leaves_no_index_and_the_next_start_builds_cleanly(
    release: Path, tmp_path: Path
) -> None:
    kill_while_building(release, tmp_path)
    assert index_folders(tmp_path)[0].startswith(".building-")  # what the kill left behind
    assert not [n for n in index_folders(tmp_path) if n.startswith(NAME)]

    built: list[int] = []
    recommender = open_recommender(
        release, data_dir=tmp_path, build_progress=lambda done, total: built.append(done)
    )
    assert built and built[-1] == 3000
    assert index_folders(tmp_path) == [
        f"{NAME}-{recommender.manifest.fingerprint}"
    ]  # orphan removed
    assert recommender.store.count() == 3000
    assert recommender.recommend({1: 5.0, 2: 4.0, 3: 5.0})


def test_build_killed_midway_keeps_the_previous_index(release: Path, tmp_path: Path) -> None:
    first = open_recommender(release, data_dir=tmp_path)
    answer = first.recommend({1: 5.0, 2: 4.0, 3: 5.0})
    first.store.close()
    ratings = release / "u.data"
    original = ratings.read_bytes()
    try:
        ratings.write_bytes(original + b"1\t5\t3\t0\n")  # new data: a new fingerprint to build
        kill_while_building(release, tmp_path)
    finally:
        ratings.write_bytes(original)
    rebuilt: list[int] = []
    again = open_recommender(
        release, data_dir=tmp_path, build_progress=lambda done, total: rebuilt.append(done)
    )
    assert rebuilt == []  # the previous index was still there, complete, and reused
    assert same_answer(again.recommend({1: 5.0, 2: 4.0, 3: 5.0}), answer)


def test_two_processes_starting_at_once_build_once(release: Path, tmp_path: Path) -> None:
    """Both wait on the build lock (held here), then one builds and the other opens its index."""
    index = tmp_path / "index"
    index.mkdir()
    with open(index / f".lock-{NAME}", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        builds = [start_build(release, tmp_path), start_build(release, tmp_path)]
        time.sleep(3.0)  # long enough to load the data and reach the lock
        assert [b.poll() for b in builds] == [None, None]  # both waiting, neither building
        assert index_folders(tmp_path) == []
        fcntl.flock(lock, fcntl.LOCK_UN)
    outputs = [b.communicate(timeout=120) for b in builds]
    assert [b.returncode for b in builds] == [0, 0], outputs
    said = sorted(out.splitlines()[0].split(" ")[0] for out, _ in outputs)
    assert said == ["Index", "Indexed"], outputs  # "Index already up to date" / "Indexed"
    assert len(index_folders(tmp_path)) == 1
    assert open_recommender(release, data_dir=tmp_path).store.count() == 3000


def test_lock_is_released_when_its_holder_is_killed(release: Path, tmp_path: Path) -> None:
    kill_while_building(release, tmp_path)
    with open(tmp_path / "index" / f".lock-{NAME}", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if still held


def damage_index(folder: Path, damage: str) -> None:
    """Damage an index folder as a disk, a person or a tool might."""
    files = sorted(p for p in (folder / "shard").rglob("*") if p.is_file())
    segment = next((folder / "shard" / "segments").iterdir())
    if damage == "truncate":
        for path in files:
            path.write_bytes(path.read_bytes()[: os.path.getsize(path) // 2])
    elif damage == "delete-segments":
        for path in files:
            if "segments" in path.parts:
                path.unlink()
    elif damage == "manifest":
        (folder / "manifest.json").write_text("{not json")
    elif damage == "garbage":
        for path in files:
            path.write_bytes(b"\x00garbage" * 10)
    elif damage == "vectors-deleted":
        shutil.rmtree(segment / "vector_storage-taste")
    elif damage == "payload-deleted":
        shutil.rmtree(segment / "payload_storage")
    elif damage == "payload-page-truncated":
        page = segment / "payload_storage" / "page_0.dat"
        page.write_bytes(page.read_bytes()[:4096])
    elif damage == "catalog-byte-flipped":
        movies = folder / "catalog" / "movies.parquet"
        data = bytearray(movies.read_bytes())
        data[len(data) // 2] ^= 0x01
        movies.write_bytes(bytes(data))
    elif damage == "cells-deleted":
        (folder / "catalog" / "cells.parquet").unlink()
    else:
        raise ValueError(damage)


DAMAGES = [
    "truncate",
    "delete-segments",
    "manifest",
    "garbage",
    "vectors-deleted",
    "payload-deleted",
    "payload-page-truncated",
    "catalog-byte-flipped",
    "cells-deleted",
]


@pytest.mark.parametrize("damage", DAMAGES)
def test_corrupted_index_is_detected_and_rebuilt(
    release: Path, tmp_path: Path, damage: str
) -> None:
    first = open_recommender(release, data_dir=tmp_path)
    answer = first.recommend({1: 5.0, 2: 4.0, 3: 5.0})
    folder = first.store.index_path(first.manifest.fingerprint)
    first.store.close()
    damage_index(folder, damage)
    rebuilt: list[int] = []
    again = open_recommender(
        release, data_dir=tmp_path, build_progress=lambda done, total: rebuilt.append(done)
    )
    assert rebuilt and rebuilt[-1] == 3000
    assert again.store.count() == 3000
    assert same_answer(again.recommend({1: 5.0, 2: 4.0, 3: 5.0}), answer)


@pytest.mark.parametrize("damage", ["vectors-deleted", "payload-deleted", "catalog-byte-flipped"])
def test_build_repairs_a_damaged_index_and_force_rebuilds_a_sound_one(
    release: Path, tmp_path: Path, damage: str
) -> None:
    """`build` finds the damage a plain open would serve (no longer "already up to date"), and
    `build --force` builds anew even when nothing is wrong."""
    build(release, tmp_path)
    (folder,) = [tmp_path / "index" / name for name in index_folders(tmp_path)]
    damage_index(folder, damage)
    assert build(release, tmp_path).stdout.startswith("Indexed ")
    assert build(release, tmp_path).stdout.startswith("Index already up to date")
    assert build(release, tmp_path, "--force").stdout.startswith("Indexed ")
    assert index_folders(tmp_path) == [folder.name]

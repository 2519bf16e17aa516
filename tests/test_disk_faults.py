"""The disk under the index: too small for a build, full while an index is in use, read-only.

Real mounts: a small tmpfs for a disk that fills, a read-only bind mount for a folder that
cannot be written (as root, file modes do not stop a write; a read-only mount does). Skipped,
with the reason, where this process may not mount.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from conftest import ROOT, page_test, two_taste_dataset, write_release

from reco.recommend import open_recommender

LIKES = {1: 5.0, 2: 4.5}  # the science-fiction group's films of the two-taste release


def _mount(*arguments: str) -> None:
    done = subprocess.run(["mount", *arguments], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount here ({done.stderr.strip() or done.returncode})")


@pytest.fixture
def mounts() -> Iterator[list[Path]]:
    """Mount points to unmount once the test is over, last first."""
    mounted: list[Path] = []
    yield mounted
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def small_disk(point: Path, megabytes: int, mounts: list[Path]) -> Path:
    point.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(point))
    mounts.append(point)
    return point


def read_only_view(folder: Path, point: Path, mounts: list[Path]) -> Path:
    point.mkdir(parents=True, exist_ok=True)
    _mount("--bind", str(folder), str(point))
    mounts.append(point)
    _mount("-o", "remount,ro,bind", str(point))
    return point


def reco(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "reco", *arguments], cwd=ROOT, capture_output=True, text=True
    )


def leftovers(data: Path) -> list[str]:
    index = data / "index"
    return sorted(p.name for p in index.iterdir() if p.name.startswith((".building", ".stale")))


def test_a_build_the_disk_cannot_hold_is_refused_before_it_starts(
    tmp_path: Path, mounts: list[Path]
) -> None:
    """16 MB free for a build that needs about 34 MB: a message naming both figures, exit 2,
    nothing left on the disk (the engine, writing through memory maps, would have killed the
    process with SIGBUS)."""
    data = small_disk(tmp_path / "disk", 16, mounts)
    release = write_release(data / "two-taste", "ml-100k", two_taste_dataset())
    done = reco("build", "--dataset", str(release), "--data-dir", str(data))
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "needs about 34 MB free" in done.stderr and "MB are free" in done.stderr
    assert "Traceback" not in done.stderr
    assert leftovers(data) == [] and not any((data / "index").glob("two-taste-*"))


def test_a_full_disk_keeps_the_index_in_use(tmp_path: Path, mounts: list[Path]) -> None:
    """A rebuild refused for space leaves the index it would have replaced, still answering."""
    data = small_disk(tmp_path / "disk", 48, mounts)
    release = write_release(data / "two-taste", "ml-100k", two_taste_dataset())
    assert reco("build", "--dataset", str(release), "--data-dir", str(data)).returncode == 0
    answer = [r.movie_id for r in open_recommender(release, data_dir=data).recommend(LIKES)]
    filler = data / "filler"
    with filler.open("wb") as handle:  # fill the disk but for a few megabytes
        free = subprocess.run(["df", "--output=avail", "-B1", str(data)], capture_output=True)
        handle.truncate(0)
        handle.write(b"\0" * (int(free.stdout.split()[-1]) - (8 << 20)))
    done = reco("build", "--dataset", str(release), "--data-dir", str(data), "--force")
    assert done.returncode == 2 and "needs about" in done.stderr, done.stderr
    assert leftovers(data) == []
    again = open_recommender(release, data_dir=data)
    assert [r.movie_id for r in again.recommend(LIKES)] == answer
    again.store.close()


def test_a_read_only_data_folder_serves_its_index(tmp_path: Path, mounts: list[Path]) -> None:
    """The engine cannot open a shard it may not write: it is served from a temporary copy,
    removed on close; `build` says it is current, `build --force` says the folder is
    read-only, in one line."""
    folder = tmp_path / "data"
    release = write_release(folder / "two-taste", "ml-100k", two_taste_dataset())
    writable = open_recommender(release, data_dir=folder)
    answer = writable.recommend(LIKES)
    writable.store.close()
    view = read_only_view(folder, tmp_path / "view", mounts)
    seen = view / "two-taste"
    served = open_recommender(seen, data_dir=view)
    assert [(r.movie_id, r.raters) for r in served.recommend(LIKES)] == [
        (r.movie_id, r.raters) for r in answer
    ]
    copy = served.store._copy
    assert copy is not None and copy.alive
    served.store.close()
    assert not copy.alive
    current = reco("build", "--dataset", str(seen), "--data-dir", str(view))
    assert current.returncode == 0 and current.stdout.startswith("Index already up to date")
    forced = reco("build", "--dataset", str(seen), "--data-dir", str(view), "--force")
    assert forced.returncode == 2 and "Read-only file system" in forced.stderr, forced.stderr
    assert "Traceback" not in forced.stderr


def test_the_page_serves_from_a_read_only_data_folder(
    tmp_path: Path, mounts: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = ROOT.parent / "shared" / "datasets" / "ml-100k.zip"
    if not shared.exists():
        pytest.skip("needs ml-100k.zip in ../shared/datasets")
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "ml-100k.zip").write_bytes(shared.read_bytes())
    open_recommender("ml-100k", data_dir=folder).store.close()
    view = read_only_view(folder, tmp_path / "view", mounts)
    monkeypatch.setenv("RECO_DATA_DIR", str(view))
    st.cache_resource.clear()
    try:
        app = page_test()
        app.query_params["r"] = "50:5,172:5,181:4.5"
        app.run()
        assert not app.exception and not app.error, [e.value for e in app.error]
        assert any("Recommended for you" in s.value for s in app.subheader)
    finally:
        st.cache_resource.clear()


def test_the_page_says_when_the_disk_cannot_hold_the_index(
    tmp_path: Path, mounts: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The visitor reads why, without the server's folder; the operator's log has it."""
    shared = ROOT.parent / "shared" / "datasets" / "ml-100k.zip"
    if not shared.exists():
        pytest.skip("needs ml-100k.zip in ../shared/datasets")
    data = small_disk(tmp_path / "disk", 16, mounts)
    (data / "ml-100k.zip").write_bytes(shared.read_bytes())
    monkeypatch.setenv("RECO_DATA_DIR", str(data))
    st.cache_resource.clear()
    try:
        app = page_test()
        app.run()
        shown = " ".join(e.value for e in app.error)
        assert "cannot be built on this server just now" in shown, shown
        assert "too little free space" in shown and str(data) not in shown, shown
        assert not app.exception
        assert leftovers(data) == []
    finally:
        st.cache_resource.clear()

"""Opening an index: never parsing the ratings when it is current, rebuilding only when the
release changed or the index is older or damaged, and the server code path without data files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, SCIFI, two_taste_dataset, write_release

import reco.recommend
from reco import IndexUnavailable
from reco.bench import synthetic_movielens
from reco.datasets import Dataset
from reco.recommend import Recommender, open_recommender
from reco.store import IndexFromNewerVersion

FAN = {1: 5.0, 2: 5.0, 3: 4.5}


@pytest.fixture
def release(tmp_path: Path) -> Path:
    return write_release(tmp_path / "releases" / "two", "csv", two_taste_dataset())


def no_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on, reading a release fails the test."""

    def refuse(*args: object, **kwargs: object) -> Dataset:
        raise AssertionError("the release was read")

    monkeypatch.setattr(reco.recommend.opening, "load_movielens", refuse)


def open_counting(release: Path, data: Path, **options: object) -> tuple[Recommender, list[int]]:
    built: list[int] = []
    recommender = open_recommender(
        release, data_dir=data, build_progress=lambda done, total: built.append(done), **options
    )
    return recommender, built


def test_a_current_index_opens_without_reading_the_ratings(
    release: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, built = open_counting(release, tmp_path)
    assert built == [20]
    answer = first.recommend(FAN)
    first.store.close()
    no_reading(monkeypatch)
    again, built = open_counting(release, tmp_path)
    assert built == []
    assert again.recommend(FAN) == answer
    assert again.summary() == "two: 181 ratings, 20 users, 10 movies (no demographics)"
    assert again.catalog.display_title(4) == "Solaris (1972)"


def test_the_index_opens_when_the_release_has_been_moved_away(
    release: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _ = open_counting(release, tmp_path)
    answer = first.recommend(FAN)
    first.store.close()
    shutil.rmtree(release)
    no_reading(monkeypatch)
    again, built = open_counting(release, tmp_path)
    assert built == [] and again.recommend(FAN) == answer


def test_a_named_release_removed_from_the_data_folder_is_not_downloaded_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    write_release(data / "ml-100k", "ml-100k", two_taste_dataset())
    answer = open_recommender("ml-100k", data_dir=data).recommend(FAN)
    shutil.rmtree(data / "ml-100k")

    def no_download(*args: object, **kwargs: object) -> Path:
        raise AssertionError("downloaded")

    monkeypatch.setattr("reco.datasets.releases.download_dataset", no_download)
    assert open_recommender("ml-100k", data_dir=data).recommend(FAN) == answer


def test_a_touched_release_is_read_once_but_not_rebuilt(
    release: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _ = open_counting(release, tmp_path)
    stamp = first.manifest.release
    first.store.close()
    later = stamp["mtime_ns"] + 5_000_000_000
    os.utime(release / "ratings.csv", ns=(later, later))
    again, built = open_counting(release, tmp_path)
    assert built == []  # same content: the index is kept, its manifest notes the new date
    assert again.manifest.release["mtime_ns"] == later
    assert again.manifest.fingerprint == first.manifest.fingerprint
    again.store.close()
    no_reading(monkeypatch)
    third, built = open_counting(release, tmp_path)
    assert built == [] and third.recommend(FAN)[0].movie_id == 4


def test_a_release_replaced_by_another_is_rebuilt(release: Path, tmp_path: Path) -> None:
    first, _ = open_counting(release, tmp_path)
    assert first.recommend(FAN)[0].movie_id == 4
    first.store.close()
    shutil.rmtree(release)
    write_release(release, "csv", synthetic_movielens(40, seed=3, movies=60))
    again, built = open_counting(release, tmp_path)
    assert built and built[-1] == 40
    assert len(again.catalog) == 60
    assert again.manifest.fingerprint != first.manifest.fingerprint
    assert sorted(p.name for p in (tmp_path / "index").iterdir() if p.is_dir()) == [
        f"two-{again.manifest.fingerprint}"
    ]


@pytest.mark.parametrize("damage", ["no catalog", "damaged catalog", "older version"])
def test_an_older_or_damaged_index_is_rebuilt(release: Path, tmp_path: Path, damage: str) -> None:
    first, _ = open_counting(release, tmp_path)
    answer = first.recommend(FAN)
    folder = first.store.index_path(first.manifest.fingerprint)
    first.store.close()
    if damage == "no catalog":
        shutil.rmtree(folder / "catalog")
    elif damage == "damaged catalog":
        path = folder / "catalog" / "movies.parquet"
        path.write_bytes(path.read_bytes()[:100])
    else:
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest["version"] = 1
        (folder / "manifest.json").write_text(json.dumps(manifest))
    again, built = open_counting(release, tmp_path)
    assert built == [20]
    assert again.recommend(FAN) == answer
    assert len(again.catalog) == 10


@pytest.mark.parametrize("repair", [False, True], ids=["open", "build"])
def test_an_index_of_a_newer_layout_is_refused_not_rebuilt_over(
    release: Path, tmp_path: Path, repair: bool
) -> None:
    first, _ = open_counting(release, tmp_path)
    folder = first.store.index_path(first.manifest.fingerprint)
    first.store.close()
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["version"] = 99
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexFromNewerVersion, match="newer version of this program"):
        open_recommender(release, data_dir=tmp_path, repair=repair)
    assert json.loads((folder / "manifest.json").read_text())["version"] == 99  # untouched


@pytest.mark.parametrize("shape", ["huge", "deep", "no encoding", "wrong shape"])
def test_a_manifest_too_large_too_deep_or_of_the_wrong_shape_means_a_rebuild(
    release: Path, tmp_path: Path, shape: str
) -> None:
    first, _ = open_counting(release, tmp_path)
    answer = first.recommend(FAN)
    folder = first.store.index_path(first.manifest.fingerprint)
    first.store.close()
    manifest = json.loads((folder / "manifest.json").read_text())
    if shape == "huge":
        text = json.dumps({**manifest, "padding": "x" * (2 << 20)})
    elif shape == "deep":
        text = "[" * 100_000 + "]" * 100_000
    elif shape == "no encoding":
        text = json.dumps({k: v for k, v in manifest.items() if k != "encoding"})
    else:
        text = json.dumps({**manifest, "encoding": [1, 2], "release": "x"})
    (folder / "manifest.json").write_text(text)
    again, built = open_counting(release, tmp_path)
    assert built == [20] and again.recommend(FAN) == answer


def test_another_encoding_asked_for_is_another_index(release: Path, tmp_path: Path) -> None:
    open_recommender(release, data_dir=tmp_path).store.close()
    zscore, built = open_counting(release, tmp_path, encoding="zscore", normalize=False)
    assert built == [20] and zscore.encoding.name == "zscore"
    zscore.store.close()
    kept, built = open_counting(release, tmp_path)  # no encoding asked: the index's own
    assert built == [] and kept.encoding.name == "zscore"


# --------------------------------------------------------------------------- server code path


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "reco", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


def test_a_second_process_opens_the_server_index_with_no_data_files(
    release: Path, tmp_path: Path
) -> None:
    """One process builds into qdrant-client's on-disk local mode (a server's stand-in); the
    release and the data folder are removed; another process recommends the same."""
    server = {"QDRANT_URL": f"file://{tmp_path / 'qdrant'}"}
    data = tmp_path / "data"
    rate = ["--rate", "1=5", "--rate", "2=5", "--rate", "3=4.5", "--json"]
    built = cli("build", "--dataset", str(release), "--data-dir", str(data), env=server)
    assert built.returncode == 0, built.stderr
    first = cli("recommend", "--dataset", str(release), "--data-dir", str(data), *rate, env=server)
    assert first.returncode == 0, first.stderr
    shutil.rmtree(release)
    shutil.rmtree(data, ignore_errors=True)
    second = cli("recommend", "--dataset", "two", *rate, env=server)
    assert second.returncode == 0, second.stderr
    answers = [json.loads(run.stdout)["recommendations"] for run in (first, second)]
    assert answers[0] == answers[1]
    assert answers[1][0]["movie_id"] == 4 and answers[1][0]["title"] == "Solaris"
    assert not data.exists()  # nothing was downloaded or written for it


def test_a_damaged_server_index_names_the_command_and_the_build_repairs_it(
    release: Path, tmp_path: Path
) -> None:
    from qdrant_client import QdrantClient

    url = f"file://{tmp_path / 'qdrant'}"
    first = open_recommender(release, data_dir=tmp_path, qdrant_url=url)
    answer = first.recommend(FAN)
    target = f"two-{first.manifest.fingerprint}"
    first.store.close()
    client = QdrantClient(path=str(tmp_path / "qdrant"))
    client.delete_collection(f"{target}-movies")
    client.close()
    with pytest.raises(IndexUnavailable, match=r"no catalog.*python -m reco build --dataset two"):
        open_recommender(release, data_dir=tmp_path, qdrant_url=url)
    said = cli("recommend", "--dataset", "two", "--rate", "1=5", env={"QDRANT_URL": url})
    assert said.returncode == 2 and "Traceback" not in said.stderr
    assert "python -m reco build --dataset two" in said.stderr
    repaired, built = open_counting(release, tmp_path, qdrant_url=url, repair=True)
    assert built == [20] and repaired.recommend(FAN) == answer


def test_a_server_index_is_used_as_it_is_whatever_the_local_files(
    release: Path, tmp_path: Path
) -> None:
    url = f"file://{tmp_path / 'qdrant'}"
    first = open_recommender(release, data_dir=tmp_path, qdrant_url=url)
    first.store.close()
    ratings = pd.read_csv(release / "ratings.csv")
    ratings.iloc[:-1].to_csv(release / "ratings.csv", index=False)  # another release here
    again, built = open_counting(release, tmp_path, qdrant_url=url)
    assert built == []  # an app server never rebuilds a shared index on its own
    assert again.manifest.fingerprint == first.manifest.fingerprint
    again.store.close()
    rebuilt, built = open_counting(release, tmp_path, qdrant_url=url, repair=True)
    assert built == [20] and rebuilt.manifest.ratings == 180


def test_an_empty_server_gets_its_index_built_from_the_release(
    release: Path, tmp_path: Path
) -> None:
    recommender, built = open_counting(release, tmp_path, qdrant_url=":memory:")
    assert built == [20]
    assert recommender.recommend(FAN)[0].movie_id in SCIFI

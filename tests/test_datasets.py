"""Loaders for the three MovieLens layouts, titles, age groups, downloads."""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import shared_zip, two_taste_dataset, write_release, zip_folder

from reco.datasets import (
    AGE_GROUPS,
    Dataset,
    DatasetError,
    DatasetUnavailable,
    RemoteDataset,
    age_group,
    available_datasets,
    download_dataset,
    load_movielens,
    split_title,
)

FORMATS = ["ml-100k", "ml-1m", "csv"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("packed", ["zip", "folder"])
def test_loads_every_layout_from_zip_and_folder(tmp_path: Path, fmt: str, packed: str) -> None:
    original = two_taste_dataset()
    folder = write_release(tmp_path / f"ml-{fmt}", fmt, original)
    source = zip_folder(folder, tmp_path / "release.zip") if packed == "zip" else folder

    dataset = load_movielens(source)

    assert list(dataset.ratings.columns) == ["user_id", "movie_id", "rating", "timestamp"]
    assert dataset.ratings.dtypes.to_dict() == {
        "user_id": np.int32,
        "movie_id": np.int32,
        "rating": np.float32,
        "timestamp": np.int64,
    }
    assert len(dataset.ratings) == len(original.ratings)
    merged = dataset.ratings.merge(original.ratings, on=["user_id", "movie_id"])
    assert (merged["rating_x"] == merged["rating_y"]).all()
    movies = dataset.movies.set_index("movie_id")
    assert movies.loc[2, "title"] == "The Matrix"
    assert movies.loc[2, "year"] == 1999
    assert movies.loc[5, "title"] == "Amélie"  # accents survive latin-1 and UTF-8
    assert "Sci-Fi" in movies.loc[1, "genres"].split("|")
    if fmt == "csv":
        assert dataset.users is None and not dataset.has_demographics
    else:
        users = dataset.users.set_index("user_id")
        assert users.loc[1, "age_group"] == "18-24"
        assert users.loc[11, "age_group"] == "35-44"
        assert set(users["gender"]) == {"F", "M"}
        expected = {"ml-100k": "student", "ml-1m": "college/grad student"}[fmt]
        assert users.loc[1, "occupation"] == expected


def test_same_data_in_any_layout_has_the_same_fingerprint(tmp_path: Path) -> None:
    original = two_taste_dataset()
    a = load_movielens(write_release(tmp_path / "a", "ml-100k", original))
    b = load_movielens(write_release(tmp_path / "b", "ml-100k", original))
    c = load_movielens(write_release(tmp_path / "c", "csv", original))
    assert a.fingerprint == b.fingerprint
    assert a.fingerprint != c.fingerprint  # c has no demographics


@pytest.mark.parametrize(
    ("raw", "title", "year"),
    [
        ("Matrix, The (1999)", "The Matrix", 1999),
        ("Toy Story (1995)", "Toy Story", 1995),
        ("Avventura, L' (1960)", "L'Avventura", 1960),
        (
            "City of Lost Children, The (Cité des enfants perdus, La) (1995)",
            "The City of Lost Children (Cité des enfants perdus, La)",
            1995,
        ),
        ("Babylon 5 (1994-1998)", "Babylon 5", 1994),
        ("unknown", "unknown", None),
        ("  Kolya (1996) ", "Kolya", 1996),
        ("Good, the Bad and the Ugly, The (1966)", "The Good, the Bad and the Ugly", 1966),
    ],
)
def test_split_title(raw: str, title: str, year: int | None) -> None:
    assert split_title(raw) == (title, year)


@pytest.mark.parametrize(
    ("age", "group"),
    [
        (1, "Under 18"),
        (17, "Under 18"),
        (18, "18-24"),
        (24, "18-24"),
        (25, "25-34"),
        (35, "35-44"),
        (44, "35-44"),
        (45, "45-49"),
        (50, "50-55"),
        (55, "50-55"),
        (56, "56+"),
        (73, "56+"),
    ],
)
def test_age_groups_bucket_exact_ages_like_ml1m_codes(age: int, group: str) -> None:
    assert age_group(age) == group
    assert group in AGE_GROUPS


def test_dataset_from_frames_coerces_dtypes_and_fills_defaults() -> None:
    dataset = Dataset(
        ratings=pd.DataFrame({"user_id": [1, 2], "movie_id": [10, 10], "rating": [4, 2.5]}),
        movies=pd.DataFrame({"movie_id": [10], "title": ["Heat"]}),
        users=pd.DataFrame(
            {
                "user_id": [1, 2],
                "age": [30, 60],
                "gender": ["F", "M"],
                "occupation": ["writer", "retired"],
            }
        ),
    )
    assert dataset.ratings["rating"].dtype == np.float32
    assert (dataset.ratings["timestamp"] == 0).all()
    assert dataset.movies.loc[0, "genres"] == ""
    assert list(dataset.users["age_group"]) == ["25-34", "56+"]


@pytest.mark.parametrize(
    ("ratings", "message"),
    [
        ({"user_id": [1], "movie_id": [10], "rating": [6.0]}, "outside 0.5-5"),
        ({"user_id": [1], "movie_id": [99], "rating": [4.0]}, "movie_id 99 is not in movies"),
        ({"user_id": [1, 1], "movie_id": [10, 10], "rating": [4.0, 3.0]}, "more than once"),
        ({"user_id": [1.5], "movie_id": [10], "rating": [4.0]}, "not a whole number"),
        ({"user": [1], "movie_id": [10], "rating": [4.0]}, "lacks column(s): user_id"),
    ],
)
def test_dataset_from_frames_rejects_bad_data(ratings: dict, message: str) -> None:
    with pytest.raises(DatasetError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Dataset(
            ratings=pd.DataFrame(ratings),
            movies=pd.DataFrame({"movie_id": [10], "title": ["Heat"]}),
        )


def test_loader_skips_bad_rows_with_a_warning_naming_file_and_line(tmp_path: Path) -> None:
    folder = write_release(tmp_path / "ml-small", "csv", two_taste_dataset())
    with (folder / "ratings.csv").open("a") as ratings:
        ratings.write("3,999,5.0,0\n")  # unknown movie: line 183 (header + 181 rows + 1)
        ratings.write("4,9,7.0,0\n")  # out of range
    dataset = load_movielens(folder)
    assert len(dataset.ratings) == len(two_taste_dataset().ratings)
    assert any("movie not in the movies file (line 183)" in w for w in dataset.warnings)
    assert any("outside 0.5-5.0" in w and "line 184" in w for w in dataset.warnings)
    assert all("ratings.csv" in w for w in dataset.warnings)


def test_real_ml_latest_small_loads_and_reports_its_bad_row() -> None:
    dataset = load_movielens(shared_zip("ml-latest-small"))
    assert dataset.users is None
    assert dataset.ratings["user_id"].nunique() == 610
    assert 999999 not in set(dataset.ratings["movie_id"])
    assert dataset.warnings == (
        "ml-latest-small.zip:ml-latest-small/ratings.csv: skipped 1 rating, movie not in the "
        "movies file (line 100838)",
    )  # where in the release, never the folders above it (an app shows these notes)


def test_non_numeric_value_names_file_line_and_column(tmp_path: Path) -> None:
    folder = write_release(tmp_path / "ml-100k", "ml-100k", two_taste_dataset())
    data = (folder / "u.data").read_text().splitlines()
    fields = data[4].split("\t")
    data[4] = "\t".join([*fields[:2], "five", *fields[3:]])
    (folder / "u.data").write_text("\n".join(data) + "\n")
    with pytest.raises(DatasetError, match=r"u\.data: line 5: column rating is not a number"):
        load_movielens(folder)


def test_folder_without_movielens_files_says_what_it_expected(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DatasetError, match="expected u.data"):
        load_movielens(tmp_path)


def test_corrupt_zip_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "ml-100k.zip"
    broken.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(DatasetError, match="not a readable zip"):
        load_movielens(broken)


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        load_movielens(tmp_path / "nope.zip")


# --------------------------------------------------------------------------- downloads


@pytest.fixture
def http_folder(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local HTTP server over a folder (no internet involved)."""
    served = tmp_path / "served"
    served.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(served), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", served
    server.shutdown()
    server.server_close()


def test_download_checks_md5_reports_progress_and_loads(
    tmp_path: Path, http_folder: tuple[str, Path]
) -> None:
    base, served = http_folder
    release = zip_folder(
        write_release(tmp_path / "ml-100k", "ml-100k", two_taste_dataset()), served / "ml-100k.zip"
    )
    md5 = hashlib.md5(release.read_bytes()).hexdigest()
    calls: list[tuple[int, int | None]] = []
    data = tmp_path / "data"

    path = download_dataset(
        "ml-100k",
        data,
        progress=lambda d, t: calls.append((d, t)),
        remote=RemoteDataset(f"{base}/ml-100k.zip", md5),
    )

    assert path == data / "ml-100k.zip"
    assert calls and calls[-1] == (release.stat().st_size, release.stat().st_size)
    assert available_datasets(data) == ["ml-100k"]
    assert len(load_movielens("ml-100k", data_dir=data).ratings) == 181


def test_download_reads_the_published_md5_when_none_is_pinned(
    tmp_path: Path, http_folder: tuple[str, Path]
) -> None:
    base, served = http_folder
    release = zip_folder(
        write_release(tmp_path / "ml-small", "csv", two_taste_dataset()),
        served / "ml-latest-small.zip",
    )
    md5 = hashlib.md5(release.read_bytes()).hexdigest()
    (served / "ml-latest-small.zip.md5").write_text(f"{md5}  ml-latest-small.zip\n")
    path = download_dataset(
        "ml-latest-small",
        tmp_path / "data",
        remote=RemoteDataset(f"{base}/ml-latest-small.zip", None),
    )
    assert path.exists()


def test_download_with_wrong_checksum_leaves_nothing(
    tmp_path: Path, http_folder: tuple[str, Path]
) -> None:
    base, served = http_folder
    (served / "ml-100k.zip").write_bytes(b"tampered")
    data = tmp_path / "data"
    with pytest.raises(DatasetUnavailable, match="checksum mismatch"):
        download_dataset("ml-100k", data, remote=RemoteDataset(f"{base}/ml-100k.zip", "0" * 32))
    assert list(data.iterdir()) == []


def test_offline_error_says_which_file_to_put_where(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data = tmp_path / "data"
    remote = RemoteDataset(f"http://127.0.0.1:{port}/ml-100k.zip", "0" * 32)
    with pytest.raises(DatasetUnavailable) as error:
        download_dataset("ml-100k", data, remote=remote, timeout=2)
    message = str(error.value)
    assert f"put it at {(data / 'ml-100k.zip').resolve()}" in message
    assert "RECO_DATA_DIR" in message
    assert not (data / "ml-100k.zip").exists()


def test_unknown_dataset_name_lists_known_ones(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="ml-100k"):
        load_movielens("ml-7b", data_dir=tmp_path)


def test_a_release_folder_is_read_two_levels_deep_and_never_walked_further(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reco.datasets import readers

    (tmp_path / "inner" / "deeper").mkdir(parents=True)
    for name in ("ratings.csv", "notes.txt"):
        (tmp_path / "inner" / name).write_text("x")
    (tmp_path / "inner" / "deeper" / "movies.csv").write_text("x")
    (tmp_path / "links.csv").write_text("x")
    found = readers.release_files(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["links.csv", "inner/ratings.csv"]
    monkeypatch.setattr(readers, "MAX_FOLDER_ENTRIES", 3)
    with pytest.raises(DatasetError, match="not a release folder"):
        readers.release_files(tmp_path)

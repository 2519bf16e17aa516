"""Bad data files: each gives a clear message naming the file (and the line or column), a
usable row-level problem is skipped with a warning, and the previous good index survives."""

from __future__ import annotations

import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import two_taste_dataset, write_release, zip_folder

from reco.datasets import DatasetError, load_movielens
from reco.recommend import open_recommender


def edit(path: Path, change: Callable[[str], str], encoding: str = "latin-1") -> None:
    path.write_text(change(path.read_text(encoding=encoding)), encoding=encoding)


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="latin-1") as handle:
        handle.write(text)


ROWS = len(two_taste_dataset().ratings)  # 181 ratings: u.data lines 1-181, ratings.csv 2-182

# (release layout, damage, the error expected; None: loads with the warning below instead)
FAILING: dict[str, tuple[str, Callable[[Path], None], str]] = {
    "missing movies file": (
        "ml-100k",
        lambda f: (f / "u.item").unlink(),
        r"has u\.data but no u\.item: a release needs both",
    ),
    "tab file with commas": (
        "ml-100k",
        lambda f: edit(f / "u.data", lambda t: t.replace("\t", ",")),
        r"u\.data: line 1 is not separated by a tab \(it seems to use a comma\)",
    ),
    "csv with semicolons": (
        "csv",
        lambda f: edit(f / "ratings.csv", lambda t: t.replace(",", ";")),
        r"ratings\.csv: line 1 is not separated by a comma \(it seems to use a semicolon\)",
    ),
    "non-numeric rating": (
        "ml-100k",
        lambda f: append(f / "u.data", "1\t9\tfive\t0\n"),
        rf"u\.data: line {ROWS + 1}: column rating is not a number \('five'\)",
    ),
    "short row": (
        "ml-100k",
        lambda f: append(f / "u.data", "1\t9\n"),
        rf"u\.data: line {ROWS + 1}: column rating is not a number",
    ),
    "non-numeric movie id in ml-1m": (
        "ml-1m",
        lambda f: append(f / "ratings.dat", "1::x9::4::0\n"),
        rf"ratings\.dat: line {ROWS + 1}: column movie_id is not a number \('x9'\)",
    ),
    "no ratings at all": (
        "csv",
        lambda f: (f / "ratings.csv").write_text("userId,movieId,rating,timestamp\n"),
        r"ratings\.csv holds no usable ratings",
    ),
    "binary garbage for the titles": (
        "ml-100k",
        lambda f: (f / "u.item").write_bytes(b"\x00\xff\xfe\x89PNG garbage\n"),
        r"u\.item: line 1 is not separated by '\|'",
    ),
    "duplicate movie in the movies file": (
        "csv",
        lambda f: append(f / "movies.csv", '1,"Alien again (1986)",Sci-Fi\n'),
        r"movies: movie_id 1 appears more than once",
    ),
}

SKIPPED: dict[str, tuple[str, Callable[[Path], None], str]] = {
    "rating over 5": (
        "csv",
        lambda f: append(f / "ratings.csv", "3,9,7.5,0\n"),
        rf"ratings\.csv: skipped 1 rating, rating outside 0\.5-5\.0 \(line {ROWS + 2}\)",
    ),
    "negative rating": (
        "ml-100k",
        lambda f: append(f / "u.data", "3\t9\t-2\t0\n"),
        rf"u\.data: skipped 1 rating, rating outside 0\.5-5\.0 \(line {ROWS + 1}\)",
    ),
    "unknown movie id": (
        "ml-1m",
        lambda f: append(f / "ratings.dat", "3::777::4::0\n"),
        rf"ratings\.dat: skipped 1 rating, movie not in the movies file \(line {ROWS + 1}\)",
    ),
    "duplicate (user, movie) rows": (
        "csv",
        lambda f: append(f / "ratings.csv", "1,1,2.0,0\n"),
        r"ratings\.csv: skipped 1 rating, repeated \(user, movie\) pair; the latest",
    ),
}


@pytest.mark.parametrize("case", list(FAILING))
@pytest.mark.parametrize("packed", ["folder", "zip"])
def test_bad_file_is_a_message_naming_file_and_line(tmp_path: Path, case: str, packed: str) -> None:
    layout, damage, message = FAILING[case]
    folder = write_release(tmp_path / "ml-100k", layout, two_taste_dataset())
    damage(folder)
    source = zip_folder(folder, tmp_path / "release.zip") if packed == "zip" else folder
    with pytest.raises(DatasetError, match=message) as error:
        load_movielens(source)
    assert str(source) in str(error.value)  # which release, then which file in it


@pytest.mark.parametrize("case", list(SKIPPED))
def test_unusable_rows_are_skipped_with_a_warning_naming_the_line(
    tmp_path: Path, case: str
) -> None:
    layout, damage, warning = SKIPPED[case]
    folder = write_release(tmp_path / "ml-100k", layout, two_taste_dataset())
    damage(folder)
    dataset = load_movielens(folder)
    assert len(dataset.ratings) == ROWS
    assert len(dataset.warnings) == 1 and re.search(warning, dataset.warnings[0])


def test_duplicate_rating_keeps_the_latest(tmp_path: Path) -> None:
    folder = write_release(tmp_path / "ml-small", "csv", two_taste_dataset())
    append(folder / "ratings.csv", "1,1,2.0,0\n")  # user 1 first gave Alien 5 stars
    ratings = load_movielens(folder).ratings
    assert ratings.loc[(ratings.user_id == 1) & (ratings.movie_id == 1), "rating"].tolist() == [2]


@pytest.mark.parametrize(("layout", "encoding"), [("ml-100k", "utf-8"), ("csv", "latin-1")])
def test_titles_in_either_encoding_read_the_same(
    tmp_path: Path, layout: str, encoding: str
) -> None:
    """ml-100k ships latin-1 titles, the CSV releases UTF-8: either file may come in the other."""
    folder = write_release(tmp_path / "ml", layout, two_taste_dataset())
    movies = folder / ("u.item" if layout == "ml-100k" else "movies.csv")
    usual = "latin-1" if layout == "ml-100k" else "utf-8"
    movies.write_bytes(movies.read_bytes().decode(usual).encode(encoding))
    titles = load_movielens(folder).movies["title"].tolist()
    assert "Amélie" in titles and "The Notebook" in titles


def test_truncated_and_damaged_zips(tmp_path: Path) -> None:
    folder = write_release(tmp_path / "ml-100k", "ml-100k", two_taste_dataset())
    whole = zip_folder(folder, tmp_path / "whole.zip").read_bytes()
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DatasetError, match=r"truncated\.zip is not a readable zip archive"):
        load_movielens(truncated)
    # intact directory, a damaged member: found when the member is read
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(damaged, "w", zipfile.ZIP_STORED) as archive:
        for file in sorted(folder.iterdir()):
            archive.write(file, f"ml-100k/{file.name}")
    data = bytearray(damaged.read_bytes())
    with zipfile.ZipFile(damaged) as archive:
        info = archive.getinfo("ml-100k/u.data")
    start = info.header_offset + 30 + len(info.filename) + 10
    data[start : start + 20] = b"X" * 20
    damaged.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match=r"damaged\.zip:ml-100k/u\.data cannot be read"):
        load_movielens(damaged)


def test_bad_files_leave_the_previous_index_in_place_and_usable(tmp_path: Path) -> None:
    """A good release is indexed; each bad version fails before touching the index; the good
    release, put back, opens the same index without rebuilding it."""
    data = tmp_path / "data"
    folder = write_release(data / "ml-100k", "ml-100k", two_taste_dataset())
    good = open_recommender(folder, data_dir=data)
    answer = good.recommend({1: 5.0, 2: 5.0, 3: 5.0})
    good.store.close()
    index_before = sorted(p.name for p in (data / "index").iterdir())
    backup = tmp_path / "backup"
    shutil.copytree(folder, backup)
    for layout, damage, _ in FAILING.values():
        if layout != "ml-100k":
            continue
        damage(folder)
        with pytest.raises(DatasetError):
            open_recommender(folder, data_dir=data)
        assert sorted(p.name for p in (data / "index").iterdir()) == index_before
        shutil.rmtree(folder)
        shutil.copytree(backup, folder)
    rebuilt: list[int] = []
    again = open_recommender(folder, data_dir=data, build_progress=lambda d, t: rebuilt.append(d))
    assert rebuilt == []
    assert again.recommend({1: 5.0, 2: 5.0, 3: 5.0}) == answer


def test_a_zip_member_that_would_expand_like_a_bomb_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reco.datasets import readers

    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("ratings.csv", "userId,movieId,rating,timestamp\n" + "0" * 2_000_000)
        out.writestr("movies.csv", "movieId,title,genres\n1,A (2000),Drama\n")
    monkeypatch.setattr(readers, "CHECKED_FROM", 1_000_000)  # a small bomb stands for a big one
    with pytest.raises(DatasetError, match="would expand to .* not read"):
        load_movielens(archive)

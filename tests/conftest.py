"""Shared fixtures: a tiny two-taste population, fixture archives, stores of both kinds."""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from qdrant_client import QdrantClient

from app.state import LAZY_SECTIONS, slider_place  # drawn when opened
from reco.datasets import Dataset
from reco.store import EdgeStore, QdrantServerStore, UserStore

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "datasets"


def page_test(timeout: float = 120):
    """The page under AppTest with its lazily drawn sections open, as a person who opened
    them (AppTest cannot click an expander; their state is in the session)."""
    from streamlit.testing.v1 import AppTest

    page = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=timeout)
    for section in LAZY_SECTIONS:
        page.session_state[section] = True
    return page


SCIFI = (1, 2, 3, 4)
ROMANCE = (5, 6, 7, 8)
NEUTRAL = 9


def rating_slider(app, where: str, movie_id: int):
    """A film's star slider at a place in an AppTest, whatever its key now (a slider drawn
    anew gets ``--<n>`` after its place: `app.state.slider_key`)."""
    place = slider_place(where, movie_id)
    found = [s for s in app.select_slider if s.key.split("--")[0] == place]
    assert len(found) == 1, (place, [s.key for s in found])
    return found[0]


def two_taste_dataset() -> Dataset:
    """20 users in two taste groups with a known answer.

    Users 1-10 (age 20, "18-24") give science fiction (movies 1-4) 5 stars and romance
    (5-8) 1 star; users 11-20 (age 40, "35-44") the opposite. Everyone gives movie 9 three
    stars; movie 10 is rated by user 1 alone. A sci-fi fan who rated 1, 2 and 3 must get 4 first.
    """
    rows = []
    for user in range(1, 21):
        scifi_fan = user <= 10
        for movie in SCIFI:
            rows.append((user, movie, 5.0 if scifi_fan else 1.0))
        for movie in ROMANCE:
            rows.append((user, movie, 1.0 if scifi_fan else 5.0))
        rows.append((user, NEUTRAL, 3.0))
    rows.append((1, 10, 4.0))
    ratings = pd.DataFrame(rows, columns=["user_id", "movie_id", "rating"])
    titles = [
        "Alien (1979)",
        "Matrix, The (1999)",
        "Dune (2021)",
        "Solaris (1972)",
        "Amélie (2001)",
        "Notebook, The (2004)",
        "Titanic (1997)",
        "Casablanca (1942)",
        "Average Film (2000)",
        "Obscure Film (1990)",
    ]
    genres = ["Sci-Fi"] * 4 + ["Romance"] * 4 + ["Drama", "Drama"]
    movies = pd.DataFrame({"movie_id": range(1, 11), "title": titles, "genres": genres})
    users = pd.DataFrame(
        {
            "user_id": range(1, 21),
            "age": [20] * 10 + [40] * 10,
            "gender": ["F", "M"] * 10,
            "occupation": ["student"] * 10 + ["engineer"] * 10,
        }
    )
    return Dataset(ratings=ratings, movies=movies, users=users, name="two-taste")


@pytest.fixture
def two_taste() -> Dataset:
    return two_taste_dataset()


@pytest.fixture
def two_taste_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """The page (AppTest, lazy sections open) over the two-taste release in the ml-100k layout,
    in a data folder of its own (Streamlit's caches cleared before and after)."""
    import streamlit as st

    write_release(tmp_path / "data" / "ml-100k", "ml-100k", two_taste_dataset())
    monkeypatch.setenv("RECO_DATA_DIR", str(tmp_path / "data"))
    st.cache_resource.clear()
    st.cache_data.clear()
    yield page_test()
    st.cache_resource.clear()
    st.cache_data.clear()


def write_release(folder: Path, fmt: str, dataset: Dataset) -> Path:
    """Write ``dataset`` in a MovieLens release layout (``ml-100k``, ``ml-1m`` or ``csv``)."""
    folder.mkdir(parents=True, exist_ok=True)
    ratings, users = dataset.ratings, dataset.users
    titles = [
        f"{title} ({year})" if pd.notna(year) else title
        for title, year in zip(dataset.movies["title"], dataset.movies["year"], strict=True)
    ]
    if fmt == "ml-100k":
        ratings.to_csv(
            folder / "u.data",
            sep="\t",
            header=False,
            index=False,
            columns=["user_id", "movie_id", "rating", "timestamp"],
            float_format="%.0f",
        )
        genre_names = [
            "unknown",
            "Action",
            "Adventure",
            "Animation",
            "Children's",
            "Comedy",
            "Crime",
            "Documentary",
            "Drama",
            "Fantasy",
            "Film-Noir",
            "Horror",
            "Musical",
            "Mystery",
            "Romance",
            "Sci-Fi",
            "Thriller",
            "War",
            "Western",
        ]
        lines = []
        for movie_id, title, genres in zip(
            dataset.movies["movie_id"], titles, dataset.movies["genres"], strict=True
        ):
            flags = ["1" if g in genres.split("|") else "0" for g in genre_names]
            lines.append("|".join([str(movie_id), title, "01-Jan-1995", "", "http://x", *flags]))
        (folder / "u.item").write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
        if users is not None:
            (folder / "u.user").write_text(
                "".join(
                    f"{u}|{a}|{g}|{o}|00000\n"
                    for u, a, g, o in users[["user_id", "age", "gender", "occupation"]].itertuples(
                        index=False
                    )
                )
            )
    elif fmt == "ml-1m":
        (folder / "ratings.dat").write_text(
            "".join(f"{u}::{m}::{r:.0f}::{t}\n" for u, m, r, t in ratings.itertuples(index=False))
        )
        (folder / "movies.dat").write_bytes(
            "".join(
                f"{m}::{title}::{g}\n"
                for m, title, g in zip(
                    dataset.movies["movie_id"], titles, dataset.movies["genres"], strict=True
                )
            ).encode("latin-1")
        )
        if users is not None:
            codes = {20: 18, 40: 35}
            (folder / "users.dat").write_text(
                "".join(
                    f"{u}::{g}::{codes[int(a)]}::{4 if o == 'student' else 17}::00000\n"
                    for u, a, g, o in users[["user_id", "age", "gender", "occupation"]].itertuples(
                        index=False
                    )
                )
            )
    else:
        ratings.rename(columns={"user_id": "userId", "movie_id": "movieId"}).to_csv(
            folder / "ratings.csv", index=False
        )
        pd.DataFrame(
            {
                "movieId": dataset.movies["movie_id"],
                "title": titles,
                "genres": dataset.movies["genres"],
            }
        ).to_csv(folder / "movies.csv", index=False)
    return folder


def zip_folder(folder: Path, target: Path) -> Path:
    """Zip ``folder`` with its files under ``<folder name>/`` as GroupLens does."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.iterdir()):
            archive.write(file, f"{folder.name}/{file.name}")
    return target


def shared_zip(name: str) -> Path:
    path = SHARED / f"{name}.zip"
    if not path.exists():
        pytest.skip(f"{path} is not present (the real MovieLens zips live in ../shared/datasets)")
    return path


@pytest.fixture
def ml100k_dir(tmp_path: Path) -> Path:
    """A data folder holding a copy of the real ml-100k.zip."""
    source = shared_zip("ml-100k")
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(source, data / "ml-100k.zip")
    return data


@pytest.fixture(params=["edge", "server"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[UserStore]:
    """An empty store of each kind: Qdrant Edge on disk, qdrant-client in memory."""
    if request.param == "edge":
        made: UserStore = EdgeStore(tmp_path / "index", "test")
    else:
        made = QdrantServerStore(QdrantClient(":memory:"), "test")
    yield made
    made.close()


E2E_TIMINGS = pytest.StashKey[dict[str, list[float]]]()  # what the browser tests measured
FAILED = pytest.StashKey[bool]()  # set on a test item whose call failed


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    report = yield
    if report.when == "call" and report.failed:
        item.stash[FAILED] = True
    return report


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    """Print what the browser tests measured (seconds; printed, never asserted)."""
    measured = config.stash.get(E2E_TIMINGS, {})
    if measured:
        terminalreporter.section("browser timings (headless Chromium, seconds)")
        for what, seconds in measured.items():
            values = ", ".join(f"{s:.2f}" for s in seconds)
            terminalreporter.write_line(f"{what}: {values}")

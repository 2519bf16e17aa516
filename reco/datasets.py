"""MovieLens loading: ratings, movies and users as frames with standard columns.

`load_movielens(source)` reads ml-100k, the `::`-separated releases (ml-1m, ml-10m) and the CSV
releases (ml-latest-small, ml-25m, ml-32m, ...) from a zip or an extracted folder, and downloads a
named release into the data folder when it is missing.
"""

from __future__ import annotations

import hashlib
import io
import re
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import IO, Literal

import numpy as np
import pandas as pd

from reco.settings import read_settings

Progress = Callable[[int, int | None], None]
"""Progress callback: ``progress(done, total)``; ``total`` is None when unknown."""

AGE_GROUPS: tuple[str, ...] = ("Under 18", "18-24", "25-34", "35-44", "45-49", "50-55", "56+")
"""Age-group labels shared by every dataset (ml-1m's buckets; exact ages are bucketed alike)."""

_AGE_BOUNDS = (18, 25, 35, 45, 50, 56)  # lower bounds of the groups after "Under 18"

ML1M_OCCUPATIONS: tuple[str, ...] = (
    "other or not specified",
    "academic/educator",
    "artist",
    "clerical/admin",
    "college/grad student",
    "customer service",
    "doctor/health care",
    "executive/managerial",
    "farmer",
    "homemaker",
    "K-12 student",
    "lawyer",
    "programmer",
    "retired",
    "sales/marketing",
    "scientist",
    "self-employed",
    "technician/engineer",
    "tradesman/craftsman",
    "unemployed",
    "writer",
)

ML100K_GENRES: tuple[str, ...] = (
    "(no genres listed)",
    "Action",
    "Adventure",
    "Animation",
    "Children",
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
)

MIN_STARS, MAX_STARS = 0.5, 5.0

_GROUPLENS = "https://files.grouplens.org/datasets/movielens/"


@dataclass(frozen=True)
class RemoteDataset:
    """Where a named release is published, the MD5 GroupLens gives for its zip, and what the
    release offers (GroupLens's own figures, shown before anything is downloaded)."""

    url: str
    md5: str | None  # None: read the checksum GroupLens publishes beside the zip
    users: int = 0
    ratings: int = 0
    movies: int = 0
    last_year: int = 0  # ratings and films up to this year
    demographics: bool = False
    download_mb: float = 0.0

    def describe(self) -> str:
        """``943 users, 100,000 ratings of 1,682 films up to 1998, with demographics``."""
        about = "with age, gender and occupation" if self.demographics else "no demographics"
        return (
            f"{self.users:,} users, {self.ratings:,} ratings of {self.movies:,} films up to "
            f"{self.last_year}, {about}"
        )


KNOWN_DATASETS: dict[str, RemoteDataset] = {
    "ml-100k": RemoteDataset(
        _GROUPLENS + "ml-100k.zip",
        "0e33842e24a9c977be4e0107933c0723",
        943,
        100_000,
        1_682,
        1998,
        True,
        4.9,
    ),
    "ml-1m": RemoteDataset(
        _GROUPLENS + "ml-1m.zip",
        "c4d9eecfca2ab87c1945afe126590906",
        6_040,
        1_000_209,
        3_706,
        2000,
        True,
        5.9,
    ),
    "ml-latest-small": RemoteDataset(
        _GROUPLENS + "ml-latest-small.zip", None, 610, 100_836, 9_742, 2018, False, 1.0
    ),
    "ml-25m": RemoteDataset(
        _GROUPLENS + "ml-25m.zip",
        "6b51fb2759a8657d3bfcbfc42b592ada",
        162_541,
        25_000_095,
        62_423,
        2019,
        False,
        250.0,
    ),
    "ml-32m": RemoteDataset(
        _GROUPLENS + "ml-32m.zip",
        "d472be332d4daa821edc399621853b57",
        200_948,
        32_000_204,
        87_585,
        2023,
        False,
        239.0,
    ),
}

Format = Literal["ml-100k", "dat", "csv"]


class DatasetError(ValueError):
    """A dataset that cannot be read: missing, malformed or inconsistent files."""


class DatasetUnavailable(DatasetError):
    """A named dataset that is neither on disk nor downloadable right now."""


RATING_COLUMNS = ("user_id", "movie_id", "rating", "timestamp")
MOVIE_COLUMNS = ("movie_id", "title", "genres", "year")
USER_COLUMNS = ("user_id", "age", "age_group", "gender", "occupation")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Ratings, movies and (optionally) user demographics as frames with standard columns.

    - ``ratings``: user_id int32, movie_id int32, rating float32 (0.5-5), timestamp int64
    - ``movies``: movie_id int32, title str (display title), genres str (``|``-joined),
      year Int16 (nullable); extra columns (e.g. ``original_title``) are kept
    - ``users``: user_id int32, age Int16, age_group (categorical, ``AGE_GROUPS``), gender str,
      occupation str; None when the dataset has no demographics

    Frames built by hand are accepted: columns are coerced to these dtypes, ``timestamp``,
    ``genres``, ``year`` and ``age_group`` are filled in when missing.
    """

    ratings: pd.DataFrame
    movies: pd.DataFrame
    users: pd.DataFrame | None = None
    name: str = "custom"
    source: str | None = field(default=None, compare=False)
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ratings", _standard_ratings(self.ratings))
        object.__setattr__(self, "movies", _standard_movies(self.movies))
        if self.users is not None:
            object.__setattr__(self, "users", _standard_users(self.users))
        _check_consistent(self)

    @property
    def has_demographics(self) -> bool:
        return self.users is not None

    @cached_property
    def fingerprint(self) -> str:
        """A short content hash of ratings and demographics (what the index depends on)."""
        digest = hashlib.blake2b(digest_size=8)
        for column in ("user_id", "movie_id", "rating"):
            digest.update(memoryview(np.ascontiguousarray(self.ratings[column].to_numpy())))
        if self.users is not None:
            frame = self.users[["user_id", "age", "age_group", "gender", "occupation"]]
            digest.update(frame.to_csv(index=False).encode())
        return digest.hexdigest()

    def summary(self) -> str:
        users = self.ratings["user_id"].nunique()
        extra = "with demographics" if self.has_demographics else "no demographics"
        return (
            f"{self.name}: {len(self.ratings):,} ratings, {users:,} users, "
            f"{len(self.movies):,} movies ({extra})"
        )


# --------------------------------------------------------------------------- public loading


def default_data_dir() -> Path:
    """The folder holding datasets and indexes: ``$RECO_DATA_DIR`` or ``data/`` in the repo."""
    return read_settings().data_dir


def load_movielens(
    source: str | Path = "ml-100k",
    *,
    data_dir: str | Path | None = None,
    progress: Progress | None = None,
) -> Dataset:
    """Load a MovieLens release by name, from a zip, or from an extracted folder.

    A name (``ml-100k``, ``ml-1m``, ``ml-latest-small``, ``ml-25m``, ``ml-32m``) is looked up in
    ``data_dir`` (default `default_data_dir()`) as ``<name>.zip`` or ``<name>/`` and downloaded
    there, with ``progress(bytes_done, bytes_total)``, when missing.
    """
    text = str(source)
    if text in KNOWN_DATASETS:
        path = locate_dataset(text, data_dir=data_dir, progress=progress)
        name = text
    else:
        path = Path(source).expanduser()
        if not path.exists():
            known = ", ".join(KNOWN_DATASETS)
            raise DatasetError(f"{path} does not exist (and is not a known dataset: {known})")
        name = path.name.removesuffix(".zip")
    with _open_files(path) as files:
        return _read(files, name=name, source=str(path))


def find_release(
    source: str | Path, *, data_dir: str | Path | None = None
) -> tuple[str, Path | None]:
    """The name of a release (a known name, or a zip's or folder's name) and where its files
    are, or None when they are not on disk (never downloads)."""
    text = str(source)
    if text in KNOWN_DATASETS:
        folder = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
        for candidate in (folder / f"{text}.zip", folder / text):
            if candidate.exists():
                return text, candidate
        return text, None
    path = Path(source).expanduser()
    return path.name.removesuffix(".zip"), path if path.exists() else None


def locate_dataset(
    name: str, *, data_dir: str | Path | None = None, progress: Progress | None = None
) -> Path:
    """Path of a named release in the data folder, downloading the zip if it is not there."""
    if name not in KNOWN_DATASETS:
        raise DatasetError(f"unknown dataset {name!r}; known: {', '.join(KNOWN_DATASETS)}")
    _, found = find_release(name, data_dir=data_dir)
    if found is not None:
        return found
    folder = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    return download_dataset(name, folder, progress=progress)


def available_datasets(data_dir: str | Path | None = None) -> list[str]:
    """Names of the known releases already present in the data folder."""
    folder = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    return [
        name
        for name in KNOWN_DATASETS
        if (folder / f"{name}.zip").exists() or (folder / name).is_dir()
    ]


def download_dataset(
    name: str,
    data_dir: str | Path,
    *,
    progress: Progress | None = None,
    remote: RemoteDataset | None = None,
    timeout: float = 30.0,
) -> Path:
    """Download ``<name>.zip`` into ``data_dir``, check its MD5, and return its path.

    The file appears under its final name only once complete and verified; a failed download
    leaves nothing behind and raises `DatasetUnavailable` saying where to put the zip by hand.
    """
    remote = remote or KNOWN_DATASETS[name]
    folder = Path(data_dir)
    target = folder / f"{name}.zip"
    partial = folder / f".{name}.zip.part"

    def unavailable(reason: str) -> DatasetUnavailable:
        return DatasetUnavailable(
            f"Could not download {name} from {remote.url} ({reason}). "
            f"If this machine is offline, download {remote.url} elsewhere and put it at "
            f"{target.resolve()} (or set RECO_DATA_DIR to the folder that holds {name}.zip)."
        )

    try:
        folder.mkdir(parents=True, exist_ok=True)
        expected = remote.md5 or _published_md5(remote.url, timeout)
        digest = hashlib.md5()
        with urllib.request.urlopen(remote.url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            done = 0
            with partial.open("wb") as out:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
    except (urllib.error.URLError, OSError, ValueError) as error:
        partial.unlink(missing_ok=True)
        reason = getattr(error, "reason", None) or error
        raise unavailable(str(reason)) from error
    if digest.hexdigest() != expected:
        partial.unlink(missing_ok=True)
        raise unavailable(f"checksum mismatch: got MD5 {digest.hexdigest()}, expected {expected}")
    partial.replace(target)
    return target


def _published_md5(url: str, timeout: float) -> str:
    with urllib.request.urlopen(url + ".md5", timeout=timeout) as response:
        text = response.read(4096).decode("ascii", "replace")
    match = re.search(r"\b[0-9a-fA-F]{32}\b", text)
    if match is None:
        raise ValueError(f"no MD5 in {url}.md5")
    return match.group(0).lower()


# --------------------------------------------------------------------------- files


class _Files:
    """The data files of a release, by base name, in a zip or a folder."""

    def __init__(self, label: str, members: dict[str, str], opener: Callable[[str], IO[bytes]]):
        self.label = label
        self._members = members
        self._opener = opener

    def __contains__(self, name: str) -> bool:
        return name in self._members

    def read_bytes(self, name: str) -> bytes:
        try:
            with self._opener(self._members[name]) as handle:
                return handle.read()
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
            raise DatasetError(f"{self.where(name)} cannot be read: {error}") from error

    def where(self, name: str) -> str:
        return f"{self.label}:{self._members[name]}"

    def within(self, name: str) -> str:
        """Where a file is inside the release, without the folders above it: what data notes
        show (an app must not show its server's paths)."""
        return f"{Path(self.label).name}:{self._members[name]}"


@contextmanager
def _open_files(path: Path) -> Iterator[_Files]:
    if path.is_dir():
        members: dict[str, str] = {}
        for file in sorted(path.rglob("*"), key=lambda p: len(p.parts)):
            if file.is_file() and len(file.relative_to(path).parts) <= 2:
                members.setdefault(file.name, str(file.relative_to(path)))
        yield _Files(str(path), members, lambda member: (path / member).open("rb"))
        return
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise DatasetError(f"{path} is not a readable zip archive: {error}") from error
    with archive:
        members = {}
        for info in archive.infolist():
            if info.is_dir() or "__MACOSX" in info.filename:
                continue
            members.setdefault(Path(info.filename).name, info.filename)
        yield _Files(str(path), members, archive.open)


_PAIRS: dict[Format, tuple[str, str]] = {
    "ml-100k": ("u.data", "u.item"),
    "dat": ("ratings.dat", "movies.dat"),
    "csv": ("ratings.csv", "movies.csv"),
}


def _detect_format(files: _Files) -> Format:
    for fmt, (ratings, movies) in _PAIRS.items():
        if ratings in files and movies in files:
            return fmt
    for ratings, movies in _PAIRS.values():
        if (ratings in files) != (movies in files):
            found, missing = (ratings, movies) if ratings in files else (movies, ratings)
            raise DatasetError(f"{files.label} has {found} but no {missing}: a release needs both")
    raise DatasetError(
        f"no MovieLens files in {files.label}: expected u.data + u.item (ml-100k), "
        "ratings.dat + movies.dat (ml-1m) or ratings.csv + movies.csv (CSV releases)"
    )


def _read(files: _Files, *, name: str, source: str) -> Dataset:
    fmt = _detect_format(files)
    if fmt == "ml-100k":
        ratings = _read_table(files, "u.data", "\t", ["user_id", "movie_id", "rating", "timestamp"])
        movies = _read_ml100k_items(files)
        users = _read_ml100k_users(files) if "u.user" in files else None
    elif fmt == "dat":
        ratings = _read_table(
            files, "ratings.dat", "::", ["user_id", "movie_id", "rating", "timestamp"]
        )
        movies = _read_table(files, "movies.dat", "::", ["movie_id", "raw_title", "genres"])
        movies = _with_titles(movies)
        users = _read_ml1m_users(files) if "users.dat" in files else None
    else:
        ratings = _read_csv(
            files,
            "ratings.csv",
            {
                "userId": "user_id",
                "movieId": "movie_id",
                "rating": "rating",
                "timestamp": "timestamp",
            },
        )
        movies = _read_csv(
            files,
            "movies.csv",
            {
                "movieId": "movie_id",
                "title": "raw_title",
                "genres": "genres",
            },
        )
        movies = _with_titles(movies)
        if "links.csv" in files:
            movies = _with_links(files, movies)
        users = None
    ratings_file = _PAIRS[fmt][0]
    ratings, warnings = _skip_bad_rows(ratings, movies, users, files.within(ratings_file))
    if ratings.empty:
        raise DatasetError(f"{files.where(ratings_file)} holds no usable ratings")
    movies = movies.drop(columns="line")
    users = users.drop(columns="line") if users is not None else None
    ratings = ratings.drop(columns="line", errors="ignore")
    try:
        return Dataset(
            ratings=ratings,
            movies=movies,
            users=users,
            name=name,
            source=source,
            warnings=tuple(warnings),
        )
    except DatasetError as error:
        raise DatasetError(f"{files.label}: {error}") from error


def _encoding_of(raw: bytes) -> str:
    if raw.isascii():  # every numeric file, most title files: no need to decode it all
        return "utf-8"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return "latin-1"  # ml-100k and ml-1m titles are latin-1
    return "utf-8"


def _decode(files: _Files, name: str) -> str:
    raw = files.read_bytes(name)
    return raw.decode(_encoding_of(raw))


def _parse(raw: bytes, where: str, first_line: int, numeric: list[str], **options) -> pd.DataFrame:
    """Parse with numeric columns as numbers; on failure, re-read as text to name the line."""
    encoding = _encoding_of(raw)
    try:
        frame = pd.read_csv(
            io.BytesIO(raw),
            encoding=encoding,
            dtype={c: np.float64 for c in numeric},
            keep_default_na=False,
            on_bad_lines="error",
            **options,
        )
    except ValueError:  # a value that is not a number: find it and say where
        try:
            frame = pd.read_csv(
                io.BytesIO(raw),
                encoding=encoding,
                dtype=str,
                keep_default_na=False,
                on_bad_lines="error",
                **options,
            )
        except (pd.errors.ParserError, ValueError) as error:
            raise DatasetError(f"{where} is malformed: {error}") from error
        frame["line"] = np.arange(first_line, len(frame) + first_line)
        return _numeric_columns(frame, where, numeric)
    frame["line"] = np.arange(first_line, len(frame) + first_line)
    return frame


def _read_table(files: _Files, name: str, sep: str, columns: list[str]) -> pd.DataFrame:
    raw = files.read_bytes(name)
    _check_separator(raw[: raw.find(b"\n")] if b"\n" in raw else raw, sep, files.where(name))
    if sep == "::":
        raw = raw.replace(b"::", b"\x1f")  # the C parser takes one-character separators only
        sep = "\x1f"
    numeric = [column for column in columns if column in _NUMERIC]
    return _parse(
        raw,
        files.where(name),
        1,
        numeric,
        sep=sep,
        header=None,
        names=columns,
        quoting=3,
    )


def _read_csv(files: _Files, name: str, renames: dict[str, str]) -> pd.DataFrame:
    raw = files.read_bytes(name)
    first = raw[: raw.find(b"\n")] if b"\n" in raw else raw
    _check_separator(first, ",", files.where(name))
    header = first.decode("utf-8", "replace").strip().replace('"', "").split(",")
    missing = [column for column in renames if column not in header]
    if missing:
        raise DatasetError(
            f"{files.where(name)} lacks column(s) {', '.join(missing)}; found {', '.join(header)}"
        )
    numeric = [column for column in renames if renames[column] in _NUMERIC]
    frame = _parse_numbers_fast(raw, list(renames)) if len(numeric) == len(renames) else None
    if frame is None:
        frame = _parse(raw, files.where(name), 2, numeric, usecols=list(renames))
    return frame.rename(columns=renames)  # line 1 is the header


def _parse_numbers_fast(raw: bytes, columns: list[str]) -> pd.DataFrame | None:
    """A well-formed all-numeric CSV (ratings.csv) through pyarrow's multi-threaded reader,
    ids as integers; None for anything else, which the careful parser then reads and reports
    line by line."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    types = {"userId": pa.int32(), "movieId": pa.int32(), "rating": pa.float32()}
    try:
        table = pacsv.read_csv(
            pa.py_buffer(raw),
            convert_options=pacsv.ConvertOptions(
                include_columns=columns,
                column_types={c: types.get(c, pa.int64()) for c in columns},
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, KeyError):
        return None
    if any(table.column(c).null_count for c in columns):
        return None
    del raw  # the caller's copy goes once this returns
    # Converted column by column, each Arrow buffer freed once copied: the file, the table and
    # the frame are never all in memory at once. Rows are lines 2, 3, ... (no "line" column).
    frame = table.to_pandas(split_blocks=True, self_destruct=True)
    del table
    pa.default_memory_pool().release_unused()  # give the parser's buffers back to the system
    return frame


_NUMERIC = {"user_id", "movie_id", "rating", "timestamp", "age"}
_SEPARATORS = {"\t": "a tab", ",": "a comma", ";": "a semicolon", "|": "'|'", "::": "'::'"}


def _check_separator(first_line: bytes, sep: str, where: str) -> None:
    """A first line without the release's separator: say which one the file seems to use."""
    line = first_line.decode("latin-1").strip()
    if not line or sep in line:
        return
    seen = next((s for s in _SEPARATORS if s != sep and s in line), None)
    found = f"it seems to use {_SEPARATORS[seen]}" if seen else "no separator found"
    raise DatasetError(
        f"{where}: line 1 is not separated by {_SEPARATORS.get(sep, repr(sep))} ({found}); "
        "is this file from the release?"
    )


def _numeric_columns(frame: pd.DataFrame, where: str, numeric: list[str]) -> pd.DataFrame:
    for column in numeric:
        values = pd.to_numeric(frame[column].str.strip(), errors="coerce")
        bad = values.isna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DatasetError(
                f"{where}: line {int(frame['line'].iloc[row])}: column {column} is not a number "
                f"({frame[column].iloc[row]!r})"
            )
        frame[column] = values
    return frame


def _read_ml100k_items(files: _Files) -> pd.DataFrame:
    genres = ML100K_GENRES
    if "u.genre" in files:
        names = [line.split("|")[0] for line in _decode(files, "u.genre").splitlines() if line]
        if len(names) == len(ML100K_GENRES):
            genres = tuple(_GENRE_ALIASES.get(genre, genre) for genre in names)
    columns = ["movie_id", "raw_title", "release_date", "video_date", "imdb_url", *genres]
    items = _read_table(files, "u.item", "|", columns)
    flags = items[list(genres)].astype(str).to_numpy() == "1"
    items["genres"] = [
        "|".join(g for g, on in zip(genres, row, strict=True) if on) for row in flags
    ]
    release_year = pd.to_numeric(items["release_date"].str[-4:], errors="coerce")
    movies = _with_titles(items[["movie_id", "raw_title", "genres", "imdb_url", "line"]].copy())
    movies["year"] = movies["year"].fillna(release_year)
    movies["imdb_url"] = movies["imdb_url"].astype(str).str.strip()
    return movies


def _with_links(files: _Files, movies: pd.DataFrame) -> pd.DataFrame:
    """IMDb and TMDB ids from ``links.csv``, where readable (links are optional: a damaged
    file leaves the films without them)."""
    try:
        links = pd.read_csv(
            io.BytesIO(files.read_bytes("links.csv")),
            usecols=["movieId", "imdbId", "tmdbId"],
            dtype=str,
            keep_default_na=False,
        )
    except (DatasetError, ValueError, pd.errors.ParserError):
        return movies
    ids = pd.to_numeric(links["movieId"], errors="coerce")
    frame = pd.DataFrame(
        {
            "movie_id": ids,
            "imdb_id": pd.to_numeric(links["imdbId"], errors="coerce"),
            "tmdb_id": pd.to_numeric(links["tmdbId"], errors="coerce"),
        }
    ).dropna(subset=["movie_id"])
    frame = frame.drop_duplicates("movie_id", keep="first")
    frame["movie_id"] = frame["movie_id"].astype(movies["movie_id"].dtype)
    merged = movies.merge(frame, on="movie_id", how="left")
    for column in ("imdb_id", "tmdb_id"):
        merged[column] = pd.array(merged[column], dtype="Int64")
    return merged


_GENRE_ALIASES = {"unknown": "(no genres listed)", "Children's": "Children"}


def _read_ml100k_users(files: _Files) -> pd.DataFrame:
    users = _read_table(files, "u.user", "|", ["user_id", "age", "gender", "occupation", "zip"])
    return users.drop(columns="zip")


def _read_ml1m_users(files: _Files) -> pd.DataFrame:
    users = _read_table(files, "users.dat", "::", ["user_id", "gender", "age", "occupation", "zip"])
    codes = pd.to_numeric(users["occupation"], errors="coerce")
    if codes.isna().any() or not codes.between(0, len(ML1M_OCCUPATIONS) - 1).all():
        raise DatasetError(f"{files.where('users.dat')}: occupation codes must be 0-20")
    users["occupation"] = [ML1M_OCCUPATIONS[int(code)] for code in codes]
    return users.drop(columns="zip")


DEFAULT_DATASET = "ml-100k"
"""The release the app and the command line open unless told otherwise."""


def plural(count: int, noun: str) -> str:
    """``plural(1, "rating")`` -> ``"1 rating"``, ``plural(2, "rating")`` -> ``"2 ratings"``."""
    return f"{count:,} {noun if count == 1 else noun + 's'}"


def _lines(frame: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """File line numbers of rows: the "line" column of the careful parser, else row + 2 (a
    CSV file read by the fast parser: line 1 is the header)."""
    if "line" in frame.columns:
        return frame["line"].to_numpy()[rows]
    return rows + 2


def _skip_bad_rows(
    ratings: pd.DataFrame, movies: pd.DataFrame, users: pd.DataFrame | None, where: str
) -> tuple[pd.DataFrame, list[str]]:
    """Drop rating rows that cannot be used, with one warning per kind naming the lines."""
    checks: list[tuple[str, np.ndarray]] = [
        (
            f"rating outside {MIN_STARS}-{MAX_STARS}",
            ~ratings["rating"].between(MIN_STARS, MAX_STARS).to_numpy(),
        ),
        ("movie not in the movies file", ~ratings["movie_id"].isin(movies["movie_id"]).to_numpy()),
    ]
    if users is not None:
        checks.append(
            ("user not in the users file", ~ratings["user_id"].isin(users["user_id"]).to_numpy())
        )
    warnings: list[str] = []
    keep = np.ones(len(ratings), dtype=bool)

    def skip(bad: np.ndarray, reason: str) -> None:
        bad = bad & keep
        if bad.any():
            lines = _lines(ratings, np.flatnonzero(bad))
            shown = ", ".join(str(line) for line in lines[:5])
            more = f" and {len(lines) - 5} more" if len(lines) > 5 else ""
            warnings.append(
                f"{where}: skipped {plural(len(lines), 'rating')}, {reason} "
                f"(line{'s' if len(lines) > 1 else ''} {shown}{more})"
            )
            keep[bad] = False

    for reason, bad in checks:
        skip(bad, reason)
    if pairs_ascending(ratings["user_id"].to_numpy(), ratings["movie_id"].to_numpy()):
        # Sorted by user then movie, as GroupLens writes them: no pair twice.
        return (ratings if keep.all() else ratings[keep]), warnings
    # A repeated (user, movie) pair keeps its latest rating.
    kept = ratings[keep].sort_values("timestamp", kind="stable")
    repeated = kept.index[kept.duplicated(["user_id", "movie_id"], keep="last").to_numpy()]
    skip(ratings.index.isin(repeated), "repeated (user, movie) pair; the latest rating is kept")
    return ratings[keep], warnings


# --------------------------------------------------------------------------- titles

_YEAR = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})(?:\s*[-–]\s*\d{0,4})?\)\s*$")
_ARTICLE = re.compile(
    r"^(?P<body>.+?), (?P<article>The|A|An|L'|La|Le|Les|Il|Lo|Gli|I|Das|Der|Die|El|Los|Las|"
    r"Un|Une|Una|Det|Den|De|Het|En|Ett|O|Os|As)$"
)


def split_title(raw: str) -> tuple[str, int | None]:
    """Split ``"Matrix, The (1999)"`` into the display title ``"The Matrix"`` and ``1999``.

    A trailing alternative title in parentheses is kept after the main one:
    ``"City of Lost Children, The (Cité des enfants perdus, La) (1995)"`` becomes
    ``"The City of Lost Children (Cité des enfants perdus, La)"``.
    """
    text = " ".join(str(raw).split())
    year: int | None = None
    match = _YEAR.match(text)
    if match:
        text, year = match.group("title"), int(match.group("year"))
    main, paren, rest = text.partition(" (")
    article = _ARTICLE.match(main)
    if article:
        sep = "" if article.group("article").endswith("'") else " "
        main = f"{article.group('article')}{sep}{article.group('body')}"
    return (main + paren + rest if paren else main), year


def _with_titles(movies: pd.DataFrame) -> pd.DataFrame:
    split = [split_title(raw) for raw in movies["raw_title"]]
    movies = movies.rename(columns={"raw_title": "original_title"})
    movies["title"] = [title for title, _ in split]
    movies["year"] = pd.array([year for _, year in split], dtype="Int16")
    return movies


# --------------------------------------------------------------------------- standard frames


def age_group(age: float) -> str:
    """The shared age-group label of an exact age (ml-1m codes map to their own group)."""
    index = int(np.searchsorted(_AGE_BOUNDS, age, side="right"))
    return AGE_GROUPS[index]


def _require(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise DatasetError(f"{what} frame lacks column(s): {', '.join(missing)}")


def _standard_ratings(ratings: pd.DataFrame) -> pd.DataFrame:
    _require(ratings, ("user_id", "movie_id", "rating"), "ratings")
    frame = pd.DataFrame(
        {
            "user_id": _as_int(ratings["user_id"], np.int32, "ratings.user_id"),
            "movie_id": _as_int(ratings["movie_id"], np.int32, "ratings.movie_id"),
            "rating": ratings["rating"].to_numpy(dtype=np.float32),
            "timestamp": (
                _as_int(ratings["timestamp"], np.int64, "ratings.timestamp")
                if "timestamp" in ratings.columns
                else np.zeros(len(ratings), dtype=np.int64)
            ),
        }
    )
    stars = frame["rating"].to_numpy()
    bad = ~((stars >= MIN_STARS) & (stars <= MAX_STARS))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DatasetError(
            f"ratings row {row + 1}: rating {stars[row]} is outside {MIN_STARS}-{MAX_STARS} "
            f"({int(bad.sum())} such rows)"
        )
    return frame


def _standard_movies(movies: pd.DataFrame) -> pd.DataFrame:
    _require(movies, ("movie_id", "title"), "movies")
    frame = movies.copy()
    frame["movie_id"] = _as_int(frame["movie_id"], np.int32, "movies.movie_id")
    frame["title"] = frame["title"].astype(str)
    frame["genres"] = frame["genres"].astype(str) if "genres" in frame.columns else ""
    year = frame["year"] if "year" in frame.columns else pd.Series(pd.NA, index=frame.index)
    frame["year"] = pd.array(pd.to_numeric(year, errors="coerce"), dtype="Int16")
    if frame["movie_id"].duplicated().any():
        duplicate = int(frame.loc[frame["movie_id"].duplicated(), "movie_id"].iloc[0])
        raise DatasetError(f"movies: movie_id {duplicate} appears more than once")
    rest = [column for column in frame.columns if column not in MOVIE_COLUMNS]
    return frame[[*MOVIE_COLUMNS, *rest]].reset_index(drop=True)


def _standard_users(users: pd.DataFrame) -> pd.DataFrame:
    _require(users, ("user_id", "gender", "occupation"), "users")
    if "age" not in users.columns and "age_group" not in users.columns:
        raise DatasetError("users frame needs an age or an age_group column")
    frame = pd.DataFrame({"user_id": _as_int(users["user_id"], np.int32, "users.user_id")})
    if "age" in users.columns:
        frame["age"] = pd.array(pd.to_numeric(users["age"], errors="coerce"), dtype="Int16")
    else:
        frame["age"] = pd.array([pd.NA] * len(users), dtype="Int16")
    if "age_group" in users.columns:
        groups = users["age_group"].astype(str).to_numpy()
    else:
        groups = [age_group(age) if pd.notna(age) else None for age in frame["age"]]
    frame["age_group"] = pd.Categorical(groups, categories=AGE_GROUPS, ordered=True)
    unknown = frame["age_group"].isna()
    if unknown.any():
        row = int(np.flatnonzero(unknown.to_numpy())[0])
        raise DatasetError(f"users row {row + 1}: no age group; labels are {', '.join(AGE_GROUPS)}")
    frame["gender"] = users["gender"].astype(str).str.strip().to_numpy()
    frame["occupation"] = users["occupation"].astype(str).str.strip().to_numpy()
    if frame["user_id"].duplicated().any():
        duplicate = int(frame.loc[frame["user_id"].duplicated(), "user_id"].iloc[0])
        raise DatasetError(f"users: user_id {duplicate} appears more than once")
    return frame


def _as_int(values: pd.Series, dtype: type[np.integer], what: str) -> np.ndarray:
    if pd.api.types.is_integer_dtype(values.dtype) and not values.hasnans:  # parsed as integers
        info = np.iinfo(dtype)
        ints = values.to_numpy()
        if len(ints) and (ints.min() < info.min or ints.max() > info.max):
            raise DatasetError(f"{what}: values must fit in {np.dtype(dtype).name}")
        return ints.astype(dtype, copy=False)
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(numbers) | (numbers != np.round(numbers))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DatasetError(f"{what} row {row + 1}: {values.iloc[row]!r} is not a whole number")
    info = np.iinfo(dtype)
    if len(numbers) and (numbers.min() < info.min or numbers.max() > info.max):
        raise DatasetError(f"{what}: values must fit in {np.dtype(dtype).name}")
    return numbers.astype(dtype)


def pairs_ascending(users: np.ndarray, movies: np.ndarray) -> bool:
    """Whether (user, movie) pairs are strictly ascending: sorted, hence no pair twice."""
    if len(users) < 2:
        return True
    users, movies = users.astype(np.int64, copy=False), movies.astype(np.int64, copy=False)
    step = np.diff(users)
    return bool(((step > 0) | ((step == 0) & (np.diff(movies) > 0))).all())


def _check_consistent(dataset: Dataset) -> None:
    ratings = dataset.ratings
    unknown = ~np.isin(ratings["movie_id"].to_numpy(), dataset.movies["movie_id"].to_numpy())
    if unknown.any():
        row = int(np.flatnonzero(unknown)[0])
        raise DatasetError(
            f"ratings row {row + 1}: movie_id {int(ratings['movie_id'].iloc[row])} is not in "
            f"movies ({int(unknown.sum())} ratings of unknown movies)"
        )
    users, movies = ratings["user_id"].to_numpy(), ratings["movie_id"].to_numpy()
    if pairs_ascending(users, movies):
        duplicated = np.zeros(len(users), dtype=bool)  # strictly ascending pairs are unique
    else:
        keys = users.astype(np.int64) << 32 | movies.astype(np.int64)
        duplicated = pd.Series(keys).duplicated().to_numpy()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated)[0])
        raise DatasetError(
            f"ratings row {row + 1}: user {int(ratings['user_id'].iloc[row])} rated movie "
            f"{int(ratings['movie_id'].iloc[row])} more than once"
        )
    if dataset.users is not None:
        known = dataset.users["user_id"].to_numpy()
        missing = ~np.isin(ratings["user_id"].to_numpy(), known)
        if missing.any():
            row = int(np.flatnonzero(missing)[0])
            raise DatasetError(
                f"ratings row {row + 1}: user_id {int(ratings['user_id'].iloc[row])} "
                "has no demographics in users"
            )

"""Reading a release's files, from a zip or a folder: ml-100k, the ``::``-separated releases
(ml-1m, ml-10m) and the CSV releases (ml-latest-small, ml-25m, ml-32m, ...); bad rows are
skipped with a note naming their lines."""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Literal

import numpy as np
import pandas as pd

from reco.datasets.frames import NO_GENRE, Dataset, DatasetError, pairs_ascending
from reco.datasets.titles import with_titles
from reco.scale import MAX_STARS, MIN_STARS
from reco.words import plural

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
    NO_GENRE,
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


Format = Literal["ml-100k", "dat", "csv"]


class _Files:
    """The data files of a release, by base name, in a zip or a folder."""

    def __init__(
        self,
        label: str,
        members: dict[str, str],
        opener: Callable[[str], IO[bytes]],
        sizes: dict[str, tuple[int, int]] | None = None,
    ):
        self.label = label
        self._members = members
        self._opener = opener
        self._sizes = sizes or {}  # zip members: (size, compressed size) by base name

    def __contains__(self, name: str) -> bool:
        return name in self._members

    def read_bytes(self, name: str) -> bytes:
        self._check_size(name)
        try:
            with self._opener(self._members[name]) as handle:
                return handle.read()
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
            raise DatasetError(f"{self.where(name)} cannot be read: {error}") from error

    def _check_size(self, name: str) -> None:
        """A zip member that would expand far beyond what text compresses to is refused before
        a byte of it is read (its size is the most the reader reads)."""
        info = self._sizes.get(name)
        if info is None:
            return
        size, packed = info
        expands = size > CHECKED_FROM and size > MAX_EXPANSION * max(packed, 1)
        if size > MAX_MEMBER_BYTES or expands:
            raise DatasetError(
                f"{self.where(name)} would expand to {size / 1e9:,.1f} GB from "
                f"{packed / 1e6:,.1f} MB: not a release's file (a zip bomb?); not read"
            )

    def where(self, name: str) -> str:
        return f"{self.label}:{self._members[name]}"

    def within(self, name: str) -> str:
        """Where a file is inside the release, without the folders above it: what data notes
        show (an app must not show its server's paths)."""
        return f"{Path(self.label).name}:{self._members[name]}"


MAX_MEMBER_BYTES = 16 << 30  # 16 GiB: ML-32M's ratings.csv is 0.9 GB
MAX_EXPANSION = 100  # text compresses 4-6x; a member expanding 100x more is no release's file
CHECKED_FROM = 64 << 20  # members smaller than this are read whatever they expand to
MAX_FOLDER_ENTRIES = 10_000  # a release folder holds a handful of files, maybe one folder down
RELEASE_FILES = frozenset(
    {"u.data", "u.item", "u.user", "u.genre", "ratings.dat", "movies.dat", "users.dat"}
    | {"ratings.csv", "movies.csv", "links.csv"}
)
"""The files a release is read from (any other file beside them is never opened)."""


def release_files(folder: Path) -> list[Path]:
    """The release files (`RELEASE_FILES`) of a folder: those in it, then those one folder
    down (as a zip extracts), each level by name; never further down, and `DatasetError` for
    a folder of more than `MAX_FOLDER_ENTRIES` entries (``/`` is not a release to walk)."""
    seen = 0

    def entries(where: Path) -> list[Path]:
        nonlocal seen
        try:
            found = sorted(where.iterdir())
        except OSError:
            return []
        seen += len(found)
        if seen > MAX_FOLDER_ENTRIES:
            raise DatasetError(
                f"{folder} holds more than {MAX_FOLDER_ENTRIES:,} files: it is not a release "
                "folder (one holds a few files, such as ratings.csv and movies.csv)"
            )
        return found

    def kind(path: Path) -> str:
        try:
            return "link" if path.is_symlink() else "dir" if path.is_dir() else "file"
        except OSError:  # unreadable: not a release's
            return "other"

    top = entries(folder)
    inner = [p for d in top if kind(d) == "dir" for p in entries(d)]
    return [p for p in (*top, *inner) if p.name in RELEASE_FILES and kind(p) == "file"]


@contextmanager
def _open_files(path: Path) -> Iterator[_Files]:
    if path.is_dir():
        members: dict[str, str] = {}
        for file in release_files(path):
            members.setdefault(file.name, str(file.relative_to(path)))
        yield _Files(str(path), members, lambda member: (path / member).open("rb"))
        return
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise DatasetError(f"{path} is not a readable zip archive: {error}") from error
    with archive:
        members = {}
        sizes: dict[str, tuple[int, int]] = {}
        for info in archive.infolist():
            if info.is_dir() or "__MACOSX" in info.filename:
                continue
            name = Path(info.filename).name
            if name not in members:
                members[name] = info.filename
                sizes[name] = (info.file_size, info.compress_size)
        yield _Files(str(path), members, archive.open, sizes)


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
        movies = with_titles(movies)
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
        movies = with_titles(movies)
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
    movies = with_titles(items[["movie_id", "raw_title", "genres", "imdb_url", "line"]].copy())
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


_GENRE_ALIASES = {"unknown": NO_GENRE, "Children's": "Children"}


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


def read_release(path: Path, name: str) -> Dataset:
    """The release in ``path`` (a zip or an extracted folder), named ``name``."""
    with _open_files(path) as files:
        return _read(files, name=name, source=str(path))

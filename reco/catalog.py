"""The catalog: every film of a release with its links and the figures the app shows or ranks by.

Built once from the ratings, stored beside the users' vectors (Parquet files in an embedded
index, a movies collection on a Qdrant server) and read back when the index is opened, so that
opening never parses the ratings.

- ``movies`` (one row per film, by ``movie_id``): ``title`` (display title), ``year``,
  ``genres`` (``|``-joined), the links the release has (``imdb_id``, ``tmdb_id`` from
  ``links.csv``; ``imdb_url`` from ml-100k), ``raters``, ``liked`` (ratings of 4+ stars) and
  ``mean_rating``.
- Where the release has demographics, the same figures per demographic *cell* (age group x
  gender x occupation), so that the popular films under any combination of filters are a sum
  of cells.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import quote, unquote_plus, urlsplit

import numpy as np
import pandas as pd

from reco.datasets import Dataset
from reco.filters import by_name, field_names
from reco.scale import LIKED_AT

LINK_COLUMNS: tuple[str, ...] = ("imdb_id", "tmdb_id", "imdb_url")
FIGURE_COLUMNS: tuple[str, ...] = ("raters", "liked", "mean_rating")
_MOVIE_COLUMNS = ("movie_id", "title", "year", "genres", "original_title", *LINK_COLUMNS)
_FILES = ("movies.parquet", "cells.parquet", "cell_figures.parquet")


def display_title(title: str, year: object) -> str:
    """How a film is named everywhere: ``"Title (Year)"``, or the title alone without a year."""
    if year is None or (isinstance(year, float) and math.isnan(year)) or year is pd.NA:
        return str(title)
    return f"{title} ({int(year)})"


def imdb_link(url: str) -> str:
    """An IMDb address from a release, made safe to put in a markdown link or a table cell.
    ml-100k's 1998 addresses (``http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)``,
    ``http://us.imdb.com/Title?L%E9on+(1994)``) become today's IMDb search for that title,
    which finds the film."""
    parts = urlsplit(url)
    if parts.hostname and parts.hostname.endswith("imdb.com"):
        if parts.path.startswith("/M/title-exact") or parts.path == "/Title":
            asked = parts.query or parts.path.removeprefix("/M/title-exact").strip("/")
            title = " ".join(_unquote_old(asked).split())
            return f"https://www.imdb.com/find/?q={quote(title, safe='')}"
    return quote(url, safe=":/?&=%#+,;@~._-")


def _unquote_old(text: str) -> str:
    """Percent-decoding of a 1998 address: ``+`` is a space, and bytes are UTF-8 where they
    decode as such, else Latin-1 (``L%E9on`` is Léon)."""
    try:
        return unquote_plus(text, errors="strict")
    except UnicodeDecodeError:
        return unquote_plus(text, encoding="latin-1")


class CatalogError(ValueError):
    """A catalog that cannot be read: missing or damaged files or records."""


@dataclass(frozen=True)
class Popular:
    """Films ranked by liked count (then mean stars, then id), with their figures."""

    movie_ids: np.ndarray
    liked: np.ndarray
    raters: np.ndarray
    mean_rating: np.ndarray

    def __len__(self) -> int:
        return len(self.movie_ids)

    def only(self, allowed: np.ndarray) -> Popular:
        """The films ``allowed`` (booleans by movie id) holds, in the same order."""
        keep = allowed[self.movie_ids]
        return Popular(
            self.movie_ids[keep], self.liked[keep], self.raters[keep], self.mean_rating[keep]
        )


@dataclass(frozen=True)
class CellFigures:
    """Per (cell, movie) figures, sorted by cell then movie: rows of cell ``c`` are
    ``start[c]:start[c + 1]``."""

    start: np.ndarray
    movie_id: np.ndarray
    raters: np.ndarray
    liked: np.ndarray
    star_sum: np.ndarray

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, cells: int) -> CellFigures:
        frame = frame.sort_values(["cell", "movie_id"], kind="stable")
        cell = frame["cell"].to_numpy(np.int64)
        if len(cell) and (cell.min() < 0 or cell.max() >= cells):
            raise CatalogError("the catalog's cell figures name cells it does not define")
        start = np.searchsorted(cell, np.arange(cells + 1)).astype(np.int64)
        return cls(
            start,
            frame["movie_id"].to_numpy(np.int32),
            frame["raters"].to_numpy(np.int32),
            frame["liked"].to_numpy(np.int32),
            frame["star_sum"].to_numpy(np.float64),
        )

    def cell_of(self, rows: np.ndarray) -> np.ndarray:
        """The cell each of ``rows`` belongs to."""
        return np.searchsorted(self.start, rows, side="right") - 1

    def frame(self) -> pd.DataFrame:
        cell = np.repeat(np.arange(len(self.start) - 1), np.diff(self.start))
        return pd.DataFrame(
            {
                "cell": cell.astype(np.int32),
                "movie_id": self.movie_id,
                "raters": self.raters,
                "liked": self.liked,
                "star_sum": self.star_sum,
            }
        )


@dataclass(frozen=True, eq=False)
class Catalog:
    """Films and their figures; ``cells`` (``age_group``, ``gender``, ``occupation``,
    ``users``) and ``cell_figures`` only where the release has demographics."""

    name: str
    movies: pd.DataFrame
    cells: pd.DataFrame | None = None
    cell_figures: CellFigures | None = None
    rating_counts: np.ndarray = field(init=False, repr=False)
    """Raters of each film, indexed by movie id (0 for ids without a film)."""
    movie_ids: frozenset[int] = field(init=False, repr=False)
    """Every film's id (a profile may rate only these)."""
    _row: dict[int, int] = field(init=False, repr=False)
    _columns: dict[str, list[Any]] = field(init=False, repr=False)  # plain values, by row
    _choices: dict[str, list[str]] = field(init=False, repr=False)
    _cell_totals: tuple[np.ndarray, ...] = field(init=False, repr=False)  # every cell, summed
    _popular: dict[tuple[tuple[str, tuple[str, ...]], ...], Popular] = field(
        init=False, repr=False, default_factory=dict
    )
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)
    _titles: Mapping[int, str] | None = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        movies = _standard_movies(self.movies)
        object.__setattr__(self, "movies", movies)
        ids = movies["movie_id"].to_numpy(np.int64)
        object.__setattr__(self, "_row", {int(m): i for i, m in enumerate(ids)})
        object.__setattr__(self, "movie_ids", frozenset(self._row))
        object.__setattr__(
            self, "_columns", {c: [_plain(v) for v in movies[c]] for c in movies.columns}
        )
        size = int(ids.max()) + 1 if len(ids) else 1
        counts = np.zeros(size, dtype=np.float64)
        counts[ids] = movies["raters"].to_numpy(np.float64)
        object.__setattr__(self, "rating_counts", counts)
        choices: dict[str, list[str]] = {}
        if self.cells is not None:
            missing = [c for c in field_names() if c not in self.cells.columns]
            if missing:
                raise CatalogError(f"the catalog's cells lack {', '.join(missing)}")
            for (
                name
            ) in field_names():  # a filter's fixed values (age groups) whether present or not
                present = sorted(set(self.cells[name].astype(str)))
                choices[name] = list(by_name(name).order) or present
        object.__setattr__(self, "_choices", choices)
        if (self.cells is None) != (self.cell_figures is None):
            raise CatalogError("a catalog has both cells and their figures, or neither")
        totals: tuple[np.ndarray, ...] = ()
        if self.cell_figures is not None:
            figures = self.cell_figures
            if not np.isin(figures.movie_id, ids).all():
                raise CatalogError("the catalog's cell figures name films it does not hold")
            every = figures.movie_id.astype(np.int64)
            totals = tuple(
                np.bincount(every, column, minlength=size)
                for column in (figures.raters, figures.liked, figures.star_sum)
            )
        object.__setattr__(self, "_cell_totals", totals)

    # ------------------------------------------------------------------ building

    @classmethod
    def from_dataset(cls, dataset: Dataset) -> Catalog:
        """Every film of ``dataset`` with its figures (and, with demographics, per cell)."""
        ratings = dataset.ratings
        movie_ids = ratings["movie_id"].to_numpy(np.int64)
        stars = ratings["rating"].to_numpy(np.float64)
        liked = stars >= LIKED_AT
        movies = dataset.movies
        size = int(max(movies["movie_id"].max(), movie_ids.max(initial=0))) + 1
        raters = np.bincount(movie_ids, minlength=size)
        liked_count = np.bincount(movie_ids, weights=liked, minlength=size)
        star_sum = np.bincount(movie_ids, weights=stars, minlength=size)
        ids = movies["movie_id"].to_numpy(np.int64)
        frame = movies[[c for c in _MOVIE_COLUMNS if c in movies.columns]].copy()
        frame["raters"] = raters[ids].astype(np.int32)
        frame["liked"] = liked_count[ids].astype(np.int32)
        with np.errstate(invalid="ignore", divide="ignore"):
            frame["mean_rating"] = np.where(raters[ids] > 0, star_sum[ids] / raters[ids], np.nan)
        if dataset.users is None:
            return cls(dataset.name, frame)
        users = dataset.users
        keys = users[list(field_names())].astype(str)
        cell_of_user, cells = _cells(keys)
        user_ids = users["user_id"].to_numpy(np.int64)
        lookup = np.full(int(user_ids.max()) + 1, -1, dtype=np.int64)
        lookup[user_ids] = cell_of_user
        cell = lookup[ratings["user_id"].to_numpy(np.int64)]
        key = cell * size + movie_ids
        unique, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        figures = pd.DataFrame(
            {
                "cell": (unique // size).astype(np.int32),
                "movie_id": (unique % size).astype(np.int32),
                "raters": counts.astype(np.int32),
                "liked": np.bincount(inverse, weights=liked, minlength=len(unique)).astype(
                    np.int32
                ),
                "star_sum": np.bincount(inverse, weights=stars, minlength=len(unique)),
            }
        )
        cells["users"] = np.bincount(cell_of_user, minlength=len(cells)).astype(np.int64)
        return cls(dataset.name, frame, cells, CellFigures.from_frame(figures, len(cells)))

    # ------------------------------------------------------------------ storing

    def save(self, folder: str | Path) -> None:
        """Write the catalog as Parquet files into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.movies.to_parquet(folder / _FILES[0], index=False)
        if self.cells is not None and self.cell_figures is not None:
            self.cells.to_parquet(folder / _FILES[1], index=False)
            self.cell_figures.frame().to_parquet(folder / _FILES[2], index=False)

    @classmethod
    def load(cls, folder: str | Path, name: str) -> Catalog:
        """Read a catalog written by `save`; `CatalogError` when it is missing or damaged."""
        folder = Path(folder)
        try:
            movies = _read_parquet(folder / _FILES[0])
            if (folder / _FILES[1]).exists():
                cells = _read_parquet(folder / _FILES[1])
                figures = CellFigures.from_frame(_read_parquet(folder / _FILES[2]), len(cells))
                return cls(name, movies, cells, figures)
            return cls(name, movies)
        except CatalogError:
            raise
        except Exception as error:  # pyarrow's errors for a missing, truncated or garbled file
            raise CatalogError(f"the catalog in {folder.name} cannot be read: {error}") from None

    def records(self) -> Iterable[dict[str, Any]]:
        """One JSON-ready record per film (for a movies collection on a Qdrant server), with
        its per-cell figures as parallel lists."""
        per_movie: dict[int, list[Any]] = {}
        if self.cell_figures is not None:
            frame = self.cell_figures.frame().sort_values(["movie_id", "cell"], kind="stable")
            for movie_id, group in frame.groupby("movie_id", sort=False):
                per_movie[int(movie_id)] = [
                    group[column].tolist() for column in ("cell", "raters", "liked", "star_sum")
                ]
        columns = [c for c in self.movies.columns]
        for values in self.movies.itertuples(index=False):
            record = {column: _plain(value) for column, value in zip(columns, values, strict=True)}
            cells = per_movie.get(record["movie_id"])
            if cells is not None:
                names = ("cells", "cell_raters", "cell_liked", "cell_stars")
                record.update(zip(names, cells, strict=True))
            yield record

    def cell_records(self) -> list[dict[str, Any]]:
        """The cells' definitions (kept with the index's manifest on a server)."""
        if self.cells is None:
            return []
        return [
            {key: _plain(value) for key, value in row.items()}
            for row in self.cells.to_dict("records")
        ]

    @classmethod
    def from_records(
        cls, name: str, records: Sequence[Mapping[str, Any]], cells: Sequence[Mapping[str, Any]]
    ) -> Catalog:
        """The inverse of `records` and `cell_records`."""
        try:
            rows = [{k: v for k, v in r.items() if not k.startswith("cell")} for r in records]
            movies = pd.DataFrame(rows)
            if not cells:
                return cls(name, movies)
            parts = [
                (r["movie_id"], r["cells"], r["cell_raters"], r["cell_liked"], r["cell_stars"])
                for r in records
                if r.get("cells")
            ]
            lengths = [len(p[1]) for p in parts]
            figures = pd.DataFrame(
                {
                    "movie_id": np.repeat([p[0] for p in parts], lengths),
                    "cell": np.concatenate([p[1] for p in parts] or [[]]),
                    "raters": np.concatenate([p[2] for p in parts] or [[]]),
                    "liked": np.concatenate([p[3] for p in parts] or [[]]),
                    "star_sum": np.concatenate([p[4] for p in parts] or [[]]),
                }
            )
            frame = pd.DataFrame(list(cells))
            return cls(name, movies, frame, CellFigures.from_frame(figures, len(frame)))
        except CatalogError:
            raise
        except (KeyError, TypeError, ValueError) as error:
            raise CatalogError(f"the catalog records are damaged: {error!r}"[:300]) from None

    # ------------------------------------------------------------------ reading

    @property
    def has_demographics(self) -> bool:
        return self.cells is not None

    def __contains__(self, movie_id: object) -> bool:
        return movie_id in self._row

    def __len__(self) -> int:
        return len(self.movies)

    def movie(self, movie_id: int) -> dict[str, Any]:
        """One film's row as plain values, missing ones None (``KeyError`` for an unknown id)."""
        row = self._row[int(movie_id)]
        return {column: values[row] for column, values in self._columns.items()}

    def heading(self, movie_id: int) -> tuple[str, int | None, str]:
        """A film's title, year and genres, what every list of films shows (``KeyError`` for
        an unknown id): `movie` without the rest of the row."""
        row = self._row[int(movie_id)]
        columns = self._columns
        return columns["title"][row], columns["year"][row], columns["genres"][row]

    def display_title(self, movie_id: int) -> str:
        row = self.movie(movie_id)
        return display_title(row["title"], row["year"])

    def titles(self) -> Mapping[int, str]:
        """Movie id -> display title, for every film (worked out once; read-only)."""
        titles = self._titles
        if titles is None:
            rows = self.movies[["movie_id", "title", "year"]].itertuples(index=False)
            titles = MappingProxyType({int(m): display_title(t, y) for m, t, y in rows})
            object.__setattr__(self, "_titles", titles)
        return titles

    def links(self, movie_id: int) -> dict[str, str]:
        """Where to read about a film: ``{"IMDb": url, "TMDB": url}`` as the release has them."""
        row = self.movie(movie_id)
        found: dict[str, str] = {}
        imdb, tmdb, url = (row.get(c) for c in LINK_COLUMNS)
        if imdb is not None:
            found["IMDb"] = f"https://www.imdb.com/title/tt{int(imdb):07d}/"
        elif isinstance(url, str) and url.startswith(("http://", "https://")):
            found["IMDb"] = imdb_link(url)
        if tmdb is not None:
            found["TMDB"] = f"https://www.themoviedb.org/movie/{int(tmdb)}"
        return found

    def choices(self, field_name: str) -> list[str]:
        """The values a demographic field takes among the users (empty without demographics)."""
        return list(self._choices.get(field_name, ()))

    def popular(self, conditions: Sequence[tuple[str, Sequence[str]]] = ()) -> Popular:
        """Films by liked count among the users matching ``conditions`` (field, values): all
        users when empty. Sums of the matching cells; cached per filter."""
        key = tuple((name, tuple(values)) for name, values in conditions if values)
        with self._lock:
            cached = self._popular.get(key)
        if cached is not None:
            return cached
        if not key or self.cells is None or self.cell_figures is None:
            ids = self.movies["movie_id"].to_numpy(np.int64)
            liked = self.movies["liked"].to_numpy(np.int64)
            raters = self.movies["raters"].to_numpy(np.int64)
            mean = self.movies["mean_rating"].to_numpy(np.float64)
        else:
            ids, liked, raters, mean = self._cell_sums(key)
        rated = raters > 0
        ids, liked, raters, mean = ids[rated], liked[rated], raters[rated], mean[rated]
        order = np.lexsort((ids, -mean, -liked))
        ranked = Popular(ids[order], liked[order], raters[order], mean[order])
        with self._lock:
            if len(self._popular) >= 64:
                self._popular.clear()
            self._popular[key] = ranked
        return ranked

    def film_groups(self, movie_id: int, field_name: str) -> dict[str, tuple[int, int]]:
        """Of one film's raters, per value of a demographic field: how many rated it and how
        many liked it (empty without demographics; ``KeyError`` for an unknown film)."""
        self._row[int(movie_id)]  # an unknown film raises
        if self.cells is None or self.cell_figures is None:
            return {}
        figures = self.cell_figures
        rows = np.flatnonzero(figures.movie_id == int(movie_id))
        values = self.cells[field_name].astype(str).to_numpy()[figures.cell_of(rows)]
        found: dict[str, tuple[int, int]] = {}
        for value, raters, liked in zip(
            values.tolist(),
            figures.raters[rows].tolist(),
            figures.liked[rows].tolist(),
            strict=True,
        ):
            before = found.get(value, (0, 0))
            found[value] = (before[0] + int(raters), before[1] + int(liked))
        return found

    def _cell_sums(
        self, key: tuple[tuple[str, tuple[str, ...]], ...]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per-film sums over the cells matching ``key``. A filter matching most cells sums
        the others and subtracts them from the totals: half the work at most (exact, for
        sums of half stars are exact in floating point)."""
        assert self.cells is not None and self.cell_figures is not None
        mask = np.ones(len(self.cells), dtype=bool)
        for name, values in key:
            mask &= self.cells[name].astype(str).isin(values).to_numpy()
        figures = self.cell_figures
        size = len(self.rating_counts)
        cells = np.flatnonzero(~mask if mask.mean() > 0.5 else mask)
        starts, ends = figures.start[cells], figures.start[cells + 1]
        lengths = ends - starts
        take = np.arange(lengths.sum()) + np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
        movie = figures.movie_id[take].astype(np.int64)
        columns = (figures.raters, figures.liked, figures.star_sum)
        raters, liked, sums = (np.bincount(movie, c[take], minlength=size) for c in columns)
        if mask.mean() > 0.5:
            raters, liked, sums = (
                total - part
                for total, part in zip(self._cell_totals, (raters, liked, sums), strict=True)
            )
        ids = np.flatnonzero(raters > 0)
        counts = raters[ids]
        return ids, liked[ids].astype(np.int64), counts.astype(np.int64), sums[ids] / counts


def _read_parquet(path: Path) -> pd.DataFrame:
    # One thread: the files are small, and pyarrow's thread pool would stay in memory.
    return pd.read_parquet(path, use_threads=False)


def _cells(keys: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Each user's cell number and the cells (one row per combination present)."""
    codes, uniques = pd.MultiIndex.from_frame(keys).factorize()
    cells = uniques.to_frame(index=False)
    cells.columns = list(field_names())
    return codes.astype(np.int64), cells


def _standard_movies(movies: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("movie_id", "title", *FIGURE_COLUMNS) if c not in movies.columns]
    if missing:
        raise CatalogError(f"the catalog lacks column(s): {', '.join(missing)}")
    frame = movies.copy()
    frame["movie_id"] = pd.to_numeric(frame["movie_id"]).astype(np.int32)
    frame["title"] = frame["title"].astype(str)
    frame["genres"] = frame["genres"].fillna("").astype(str) if "genres" in frame else ""
    year = frame["year"] if "year" in frame else pd.Series(pd.NA, index=frame.index)
    frame["year"] = pd.array(pd.to_numeric(year, errors="coerce"), dtype="Int16")
    for column in ("imdb_id", "tmdb_id"):
        if column in frame:
            frame[column] = pd.array(pd.to_numeric(frame[column], errors="coerce"), dtype="Int64")
    frame["raters"] = frame["raters"].astype(np.int32)
    frame["liked"] = frame["liked"].astype(np.int32)
    frame["mean_rating"] = pd.to_numeric(frame["mean_rating"]).astype(np.float64)
    if frame["movie_id"].duplicated().any():
        raise CatalogError("the catalog holds a film twice")
    return frame.sort_values("movie_id", kind="stable").reset_index(drop=True)


def _plain(value: Any) -> Any:
    """A JSON-ready value: numpy scalars as Python numbers, missing values as None."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value

"""Explore: one's recommendations narrowed to films of some genres, some years and how well
known they are, and the order they come in. Defined once: the library (`Recommender.recommend`'s
``films`` and ``order``), the CLI's options and the page's widgets and link read it.

The narrowing is over the catalog's films (a mask by movie id, worked out once per catalog and
filter); the recommender scores its neighbours' films as always and keeps those the mask
holds, asking more neighbours when too few are left (`reco.recommend.recommender`).
"""

from __future__ import annotations

import functools
import re
import threading
import weakref
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from reco.catalog import Catalog
from reco.datasets import NO_GENRE

Known = Literal["any", "well-known", "lesser-known"]
KNOWN: tuple[Known, ...] = ("any", "well-known", "lesser-known")
KNOWN_WORDS = {"any": "any", "well-known": "well known", "lesser-known": "lesser known"}
WELL_KNOWN_SHARE = 0.5
"""A film is well known when it is among the most rated films that together hold this share
of all the release's ratings (about the top 12% of ml-100k's films); the others are lesser
known. Scale-free: it reads the same on a release of any size."""

Order = Literal["rank", "stars"]
ORDERS: tuple[Order, ...] = ("rank", "stars")
ORDER_WORDS = {"rank": "best match", "stars": "predicted stars"}
STARS_POOL = 50
"""Ordered by predicted stars: the best ``max(STARS_POOL, 5 * limit)`` of the ranking,
reordered (over every candidate, films two neighbours loved would crowd out the rest)."""

_YEARS = re.compile(r"^\s*(\d{4})\s*(?:(s)|[-–]\s*(\d{4}))?\s*$")


@dataclass(frozen=True)
class FilmFilter:
    """Films of any of ``genres`` (empty: every genre), released within ``years`` (both ends
    included; None: any year) and as well known as ``known`` says."""

    genres: tuple[str, ...] = ()
    years: tuple[int, int] | None = None
    known: Known = "any"

    def __post_init__(self) -> None:
        object.__setattr__(self, "genres", tuple(dict.fromkeys(self.genres)))
        if self.known not in KNOWN:
            raise ValueError(f"known must be one of {', '.join(KNOWN)}; got {self.known!r}")
        if self.years is not None:
            low, high = (int(y) for y in self.years)
            if low > high:
                raise ValueError(f"years run from the earlier to the later: {low}-{high}")
            object.__setattr__(self, "years", (low, high))

    def __bool__(self) -> bool:
        return bool(self.genres) or self.years is not None or self.known != "any"

    def shown(self) -> list[str]:
        """The narrowing as a person reads it: ``["Comedy or Drama", "1990–1999", "well
        known"]``."""
        parts = []
        if self.genres:
            parts.append(" or ".join(self.genres))
        if self.years is not None:
            parts.append(years_text(self.years))
        if self.known != "any":
            parts.append(KNOWN_WORDS[self.known])
        return parts

    def mask(self, catalog: Catalog) -> np.ndarray:
        """Which films it holds, as booleans by movie id (`Catalog.rating_counts`' shape)."""
        return _Masks.of(catalog).mask(self)


def years_text(years: tuple[int, int]) -> str:
    low, high = years
    if low == high:
        return str(low)
    if low % 10 == 0 and high == low + 9:
        return f"the {low}s"
    return f"{low}–{high}"


def parse_years(text: str) -> tuple[int, int]:
    """``"1990-1999"``, ``"1990s"`` or ``"1995"`` as a (first, last) year range, else
    `ValueError` with a sentence to show."""
    found = _YEARS.match(str(text))
    if not found:
        raise ValueError(f"years look like 1990-1999, 1990s or 1995; got {str(text)[:20]!r}")
    low = int(found.group(1))
    if found.group(2):
        if low % 10:
            raise ValueError(f"a decade starts at a year ending in 0; got {low}s")
        return low, low + 9
    high = int(found.group(3) or low)
    if high < low:
        raise ValueError(f"years run from the earlier to the later: {low}-{high}")
    return low, high


def genre_names(catalog: Catalog) -> list[str]:
    """The genres a release's films have, sorted."""
    return sorted(_Masks.of(catalog).genres)


def year_span(catalog: Catalog) -> tuple[int, int] | None:
    """The first and last year of a release's films (None when none has a year)."""
    return _Masks.of(catalog).span


def check_films(catalog: Catalog, films: FilmFilter | None) -> FilmFilter:
    """A `FilmFilter` of genres the release has, spelt as it spells them (case does not
    matter), else `ValueError` naming them."""
    films = films or FilmFilter()
    if not isinstance(films, FilmFilter):
        raise ValueError("films must be a FilmFilter")
    spelt = {genre.casefold(): genre for genre in _Masks.of(catalog).genres}
    unknown = [g for g in films.genres if str(g).casefold() not in spelt]
    if unknown:
        names = ", ".join(sorted(spelt.values()))
        raise ValueError(f"{catalog.name} has no genre {unknown[0]!r}; genres: {names}")
    genres = tuple(spelt[str(g).casefold()] for g in films.genres)
    return films if genres == films.genres else replace(films, genres=genres)


def check_order(order: str) -> Order:
    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}; got {order!r}")
    return order  # type: ignore[return-value]


class _Masks:
    """A catalog's films by genre, year and fame, and the masks of the filters asked for
    (the last 64), worked out once per catalog."""

    _of: weakref.WeakKeyDictionary[Catalog, _Masks] = weakref.WeakKeyDictionary()
    _lock = threading.Lock()

    @classmethod
    def of(cls, catalog: Catalog) -> _Masks:
        with cls._lock:
            found = cls._of.get(catalog)
            if found is None:
                found = cls._of[catalog] = cls(catalog)
            return found

    def __init__(self, catalog: Catalog):
        movies = self._movies = catalog.movies  # not the catalog: the key of `_of`
        size = len(catalog.rating_counts)
        ids = movies["movie_id"].to_numpy(np.int64)
        self._year = np.full(size, -1, dtype=np.int64)
        years = movies["year"].to_numpy(dtype=np.float64, na_value=np.nan)
        dated = ~np.isnan(years)
        self._year[ids[dated]] = years[dated].astype(np.int64)
        self.span = (int(years[dated].min()), int(years[dated].max())) if dated.any() else None
        self._film = np.zeros(size, dtype=bool)
        self._film[ids] = True
        counts = catalog.rating_counts
        order = np.argsort(-counts, kind="stable")
        held = np.cumsum(counts[order])
        well = order[: int(np.searchsorted(held, WELL_KNOWN_SHARE * held[-1])) + 1]
        self._well = np.zeros(size, dtype=bool)
        self._well[well[counts[well] > 0]] = True
        self._masks: dict[FilmFilter, np.ndarray] = {}

    @functools.cached_property
    def _genre(self) -> dict[str, np.ndarray]:
        """Each genre's films, worked out when a genre is first asked for (splitting every
        film's genres is most of the work here; the year span is wanted on every page)."""
        size = len(self._film)
        ids = self._movies["movie_id"].to_numpy(np.int64)
        by_genre: dict[str, list[int]] = {}
        for movie_id, names in zip(ids.tolist(), self._movies["genres"].astype(str), strict=True):
            for genre in names.split("|"):
                if genre and genre != NO_GENRE:
                    by_genre.setdefault(genre, []).append(movie_id)
        masks = {}
        for genre, members in by_genre.items():
            mask = np.zeros(size, dtype=bool)
            mask[members] = True
            masks[genre] = mask
        return masks

    @property
    def genres(self) -> frozenset[str]:
        return frozenset(self._genre)

    def mask(self, films: FilmFilter) -> np.ndarray:
        with self._lock:
            found = self._masks.get(films)
        if found is not None:
            return found
        mask = self._film.copy()
        if films.genres:
            mask &= np.logical_or.reduce([self._genre[g] for g in films.genres])
        if films.years is not None:
            low, high = films.years
            mask &= (self._year >= low) & (self._year <= high)
        if films.known == "well-known":
            mask &= self._well
        elif films.known == "lesser-known":
            mask &= ~self._well
        mask.flags.writeable = False
        with self._lock:
            if len(self._masks) >= 64:
                self._masks.clear()
            self._masks[films] = mask
        return mask

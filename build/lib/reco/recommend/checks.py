"""What a query may hold, checked against a release's catalog: its ratings, the films it hides
and the neighbour groups it asks for. Each raises `ValueError` with a sentence to show."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np

from reco import filters
from reco.catalog import Catalog
from reco.encode import check_stars
from reco.filters import UserFilter


def check_profile(catalog: Catalog, ratings: Mapping[int, float]) -> dict[int, float]:
    """Validate a profile: known movie ids and 0.5-5 stars, else `ValueError`."""
    if not isinstance(ratings, Mapping):
        raise ValueError("ratings must be a mapping {movie_id: stars}")
    profile: dict[int, float] = {}
    for movie_id, stars in ratings.items():
        try:
            key = int(movie_id)
            value = float(stars)
        except (TypeError, ValueError, OverflowError) as error:  # inf is an OverflowError
            raise ValueError(f"bad rating {movie_id!r}: {stars!r}") from error
        if key != movie_id and str(key) != str(movie_id).strip():
            raise ValueError(f"movie id {movie_id!r} is not a whole number")
        profile[key] = value
    _known(catalog, profile)
    check_stars(np.array(list(profile.values()), dtype=np.float64))
    return profile


def check_movies(catalog: Catalog, movie_ids: Collection[int]) -> frozenset[int]:
    """Validate a collection of movie ids (films hidden by the person), else `ValueError`."""
    try:
        found = frozenset(int(m) for m in movie_ids)
    except (TypeError, ValueError, OverflowError) as error:
        raise ValueError(f"movie ids must be whole numbers: {error}") from None
    _known(catalog, found)
    return found


def _known(catalog: Catalog, movie_ids: Collection[int]) -> None:
    unknown = sorted(m for m in movie_ids if m not in catalog.movie_ids)
    if unknown:
        shown = ", ".join(map(str, unknown[:5])) + (" ..." if len(unknown) > 5 else "")
        raise ValueError(f"unknown movie id(s) in {catalog.name}: {shown}")


def check_filter(catalog: Catalog, **chosen: Sequence[str] | str | None) -> UserFilter:
    """A validated `UserFilter` from the filters' keywords; unknown values raise
    `ValueError`."""
    by_keyword = {f.keyword: f for f in filters.FILTERS}
    wanted_by: dict[str, tuple[str, ...]] = {}
    for keyword, given in chosen.items():
        field = by_keyword.get(keyword)
        if field is None:
            raise ValueError(f"unknown filter {keyword!r}; filters: {', '.join(by_keyword)}")
        if isinstance(given, str):
            given = [given]
        wanted = tuple(dict.fromkeys(str(v) for v in (given or ())))
        if wanted and not catalog.has_demographics:
            raise ValueError(f"{catalog.name} has no demographics to filter by {field.name}")
        known = catalog.choices(field.name)
        unknown = [v for v in wanted if v not in known]
        if unknown:
            raise ValueError(f"unknown {field.name} {unknown[0]!r}; choose from {', '.join(known)}")
        wanted_by[keyword] = wanted
    return UserFilter(**wanted_by)


def check_limit(limit: object, name: str = "limit") -> int:
    """A list length from 1 to 1000, else `ValueError`."""
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1_000:
        raise ValueError(f"{name} must be a whole number from 1 to 1000")
    return limit

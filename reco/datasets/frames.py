"""A release as frames with standard columns and dtypes (`Dataset`), however it was read."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from reco import filters
from reco.filters import AGE_GROUPS, age_group
from reco.scale import MAX_STARS, MIN_STARS

Progress = Callable[[int, int | None], None]
"""Progress callback: ``progress(done, total)``; ``total`` is None when unknown."""


class DatasetError(ValueError):
    """A dataset that cannot be read: missing, malformed or inconsistent files."""


class DatasetUnavailable(DatasetError):
    """A named dataset that is neither on disk nor downloadable right now."""


RATING_COLUMNS = ("user_id", "movie_id", "rating", "timestamp")
MOVIE_COLUMNS = ("movie_id", "title", "genres", "year")
NO_GENRE = "(no genres listed)"  # a film's genres when it has none ("|"-joined otherwise)


def user_columns() -> tuple[str, ...]:
    """A users frame's columns: the id, the exact age, then one per neighbour filter
    (`reco.filters.FILTERS`: age group, gender, occupation)."""
    return ("user_id", "age", *(f.name for f in filters.FILTERS))


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
            frame = self.users[list(user_columns())]
            digest.update(frame.to_csv(index=False).encode())
        return digest.hexdigest()

    def summary(self) -> str:
        users = self.ratings["user_id"].nunique()
        extra = "with demographics" if self.has_demographics else "no demographics"
        return (
            f"{self.name}: {len(self.ratings):,} ratings, {users:,} users, "
            f"{len(self.movies):,} movies ({extra})"
        )


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
    plain = [f.name for f in filters.FILTERS if f.name != "age_group"]  # as given, trimmed
    _require(users, ("user_id", *plain), "users")
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
    for name in plain:
        frame[name] = users[name].astype(str).str.strip().to_numpy()
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

"""Seeded MovieLens-like data at any size, and releases of it on disk in the ml-25m CSV layout."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from reco.catalog import display_title
from reco.datasets import Dataset
from reco.encode import rows_from_ratings

OCCUPATIONS = ("student", "engineer", "writer", "educator", "artist", "retired", "other")
GENRES = ("Action", "Comedy", "Drama", "Romance", "Sci-Fi", "Thriller", "Horror", "Animation")


def synthetic_movielens(
    users: int, *, seed: int = 0, mean_ratings: float = 175.0, movies: int | None = None
) -> Dataset:
    """A seeded MovieLens-like population.

    Movie popularity follows a power law (Zipf, exponent 1), profile sizes a lognormal with
    mean ``mean_ratings`` (at least 5), stars come from user bias + movie quality + a shared
    taste cluster, in half stars from 0.5 to 5; demographics are drawn like ml-100k's.
    200,000 users give about 25 million ratings, like ML-25M (162,541 users, 25.0 million).
    """
    rng = np.random.default_rng(seed)
    n_movies = movies or int(min(60_000, max(500, users // 3)))
    weights = 1.0 / np.arange(1, n_movies + 1)
    cdf = np.cumsum(weights / weights.sum())
    sigma = 1.0
    sizes = rng.lognormal(math.log(mean_ratings) - sigma**2 / 2, sigma, users)
    sizes = np.clip(sizes, 5, n_movies // 2).astype(np.int64)
    keys = np.repeat(np.arange(users, dtype=np.int64) * n_movies, sizes)
    keys += np.minimum(np.searchsorted(cdf, rng.random(len(keys), dtype=np.float32)), n_movies - 1)
    keys = np.unique(keys)  # a user rates a movie once
    owner = (keys // n_movies).astype(np.int32)
    movie = (keys % n_movies).astype(np.int32)
    del keys
    cluster_user = rng.integers(0, 8, users)
    cluster_movie = rng.integers(0, 8, n_movies)
    raw = rng.normal(3.2, 0.8, len(owner)).astype(np.float32)
    raw += rng.normal(0, 0.4, users).astype(np.float32)[owner]
    raw += rng.normal(0, 0.5, n_movies).astype(np.float32)[movie]
    raw += np.float32(0.9) * (cluster_user[owner] == cluster_movie[movie])
    stars = np.clip(np.round(raw * 2) / 2, 0.5, 5.0).astype(np.float32)
    del raw
    ratings = pd.DataFrame({"user_id": owner + 1, "movie_id": movie + 1, "rating": stars})
    del owner, movie, stars
    genre_index = rng.integers(0, len(GENRES), n_movies)
    movies_frame = pd.DataFrame(
        {
            "movie_id": np.arange(1, n_movies + 1, dtype=np.int32),
            "title": synthetic_titles(n_movies, seed=seed),
            "genres": np.array(GENRES)[genre_index],
            "year": rng.integers(1950, 2024, n_movies),
        }
    )
    users_frame = pd.DataFrame(
        {
            "user_id": np.arange(1, users + 1, dtype=np.int32),
            "age": np.clip(rng.normal(33, 12, users), 7, 80).astype(int),
            "gender": rng.choice(["M", "F"], users, p=[0.7, 0.3]),
            "occupation": rng.choice(OCCUPATIONS, users),
        }
    )
    return Dataset(ratings, movies_frame, users_frame, name=f"synthetic-{users}")


_SYLLABLES = (
    "ka", "ra", "mo", "ne", "li", "sto", "ver", "dan", "lo", "mi", "tor", "es", "al", "ban",
    "cre", "di", "for", "gan", "hel", "in", "jo", "kel", "mar", "nor", "or", "pel", "qui",
    "ros", "sal", "tun", "ur", "vin", "wes", "xan", "yor", "zel", "an", "be", "ce", "do",
)  # fmt: skip


def synthetic_titles(count: int, *, seed: int = 0) -> list[str]:
    """Seeded made-up titles of 1-4 words from a vocabulary of a few thousand, so that title
    search meets realistic word sharing, prefixes and near-misses at any catalog size."""
    rng = np.random.default_rng(seed + 10_000)
    syllables = np.array(_SYLLABLES)
    vocabulary = sorted(
        {"".join(rng.choice(syllables, int(rng.integers(2, 4)))).capitalize() for _ in range(6000)}
    )
    words = np.array(vocabulary)
    lengths = rng.integers(1, 5, count)
    picks = rng.integers(0, len(words), int(lengths.sum()))
    ends = np.cumsum(lengths)
    return [" ".join(words[picks[end - n : end]]) for end, n in zip(ends, lengths, strict=True)]


def write_csv_release(dataset: Dataset, folder: str | Path) -> Path:
    """Write ``dataset`` as a release in the ml-25m CSV layout (``ratings.csv``,
    ``movies.csv``, ``links.csv``; titles with their year, as GroupLens writes them)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ratings = dataset.ratings
    table = pa.table(
        {
            "userId": ratings["user_id"].to_numpy(),
            "movieId": ratings["movie_id"].to_numpy(),
            "rating": ratings["rating"].to_numpy(np.float64),
            "timestamp": ratings["timestamp"].to_numpy(),
        }
    )
    options = pacsv.WriteOptions(quoting_style="none")
    pacsv.write_csv(table, folder / "ratings.csv", options)
    movies = dataset.movies
    titles = [  # as GroupLens writes them: "Title (Year)"
        display_title(title, year)
        for title, year in zip(movies["title"], movies["year"], strict=True)
    ]
    pd.DataFrame(
        {"movieId": movies["movie_id"], "title": titles, "genres": movies["genres"]}
    ).to_csv(folder / "movies.csv", index=False)
    ids = movies["movie_id"].to_numpy()
    pd.DataFrame(
        {"movieId": ids, "imdbId": [f"{100_000 + i:07d}" for i in ids], "tmdbId": ids + 10_000}
    ).to_csv(folder / "links.csv", index=False)
    return folder


def sample_profiles(
    dataset: Dataset, count: int, *, seed: int = 1, sizes: tuple[int, int] = (5, 50)
) -> list[dict[int, float]]:
    """Profiles of 5-50 ratings taken from random users' own ratings (realistic co-ratings)."""
    rng = np.random.default_rng(seed)
    ratings = dataset.ratings
    user_ids, rows = rows_from_ratings(
        ratings["user_id"].to_numpy(), ratings["movie_id"].to_numpy(), ratings["rating"].to_numpy()
    )
    profiles = []
    for index in rng.integers(0, len(user_ids), count):
        row = rows.row(int(index))
        size = min(len(row), int(rng.integers(sizes[0], sizes[1] + 1)))
        chosen = rng.choice(len(row), size, replace=False)
        profiles.append(
            dict(zip(row.indices[chosen].tolist(), row.values[chosen].tolist(), strict=True))
        )
    return profiles

"""More like this: films whose raters rated them alike, from the index's films (a second Qdrant
collection, `reco.store.base.FilmPoint`), asked with Qdrant's recommendation query.

The film is the positive example; for a person with ratings, so are up to `MORE_POSITIVES` of
the films they liked among the `NEAR` films nearest to it, and the films they disliked among
those are the negative examples (their taste steers the answer, the film leads it). Films the
person rated or hid are never offered. The engine's best `POOL` are then ordered by
``similarity * raters ** POPULARITY``: among films as alike, the better known first (chosen on
the tuning split, `python -m reco evaluate --similar`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np

from reco.catalog import Catalog, display_title
from reco.recommend.checks import check_limit, check_movies, check_profile
from reco.scale import CLEARLY_DISLIKED_AT, LIKED_AT
from reco.store import UserStore

NEAR = 50
MORE_POSITIVES = 2
MORE_NEGATIVES = 2
POOL = 50  # or five times the list, whichever is more
POPULARITY = 0.5


@dataclass(frozen=True)
class LikeThis:
    """A film found like another, with how alike the engine found it."""

    movie_id: int
    title: str
    year: int | None
    genres: str
    similarity: float
    raters: int
    mean_rating: float | None

    @property
    def display_title(self) -> str:
        return display_title(self.title, self.year)


@dataclass(frozen=True)
class MoreLikeThis:
    """The films like ``movie_id``, best first, and the examples the query was given."""

    movie_id: int
    items: tuple[LikeThis, ...]
    positive: tuple[int, ...]
    negative: tuple[int, ...]


def more_like_this(
    store: UserStore,
    catalog: Catalog,
    movie_id: int,
    limit: int = 10,
    ratings: Mapping[int, float] | None = None,
    hidden: Collection[int] = (),
    popularity: float = POPULARITY,
) -> MoreLikeThis:
    """Films like ``movie_id`` for a person of ``ratings`` (None: for anyone), never one they
    rated or hid. Raises `ValueError` for an unknown film, bad ratings or limit."""
    (film,) = check_movies(catalog, [movie_id])
    profile = check_profile(catalog, ratings or {})
    skipped = check_movies(catalog, hidden)
    check_limit(limit)
    counts = catalog.rating_counts
    if counts[film] == 0:  # no one rated it: nothing is like it
        return MoreLikeThis(film, (), (film,), ())
    positive, negative = [film], []
    if profile:
        near = [hit.movie_id for hit in store.similar_films([film], limit=NEAR)]
        positive += [m for m in near if profile.get(m, 0) >= LIKED_AT][:MORE_POSITIVES]
        negative += [m for m in near if profile.get(m, 5) <= CLEARLY_DISLIKED_AT][:MORE_NEGATIVES]
    exclude = {*profile, *skipped, film}
    found = store.similar_films(positive, negative, max(POOL, 5 * limit), exclude)
    ids = np.array([hit.movie_id for hit in found], dtype=np.int64)
    similarity = np.array([hit.similarity for hit in found])
    score = similarity * np.maximum(counts[ids], 1) ** popularity if len(ids) else similarity
    order = np.lexsort((ids, -score))[:limit]
    items = []
    for at in order.tolist():
        movie = catalog.movie(int(ids[at]))
        mean = movie.get("mean_rating")
        items.append(
            LikeThis(
                int(ids[at]),
                movie["title"],
                movie["year"],
                movie["genres"],
                round(float(similarity[at]), 4),
                int(movie["raters"]),
                None if mean is None else round(float(mean), 3),
            )
        )
    return MoreLikeThis(film, tuple(items), tuple(positive), tuple(negative))

"""Films that need no neighbours: the most liked (under the chosen groups) and a newcomer's
quick-rate set, from the catalog's figures alone."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from reco.catalog import Catalog, Popular
from reco.datasets import NO_GENRE
from reco.recommend.results import Recommendation, item


def popular_items(
    catalog: Catalog,
    ranked: Popular,
    limit: int,
    exclude: Collection[int] = (),
    min_raters: int = 1,
) -> list[Recommendation]:
    """The first ``limit`` films of ``ranked`` rated by ``min_raters`` or more that
    ``exclude`` does not hold, flagged ``popular``: their score is how many liked them."""
    items = []
    enough = np.flatnonzero(ranked.raters >= min_raters)
    for position in enough[: limit + len(exclude)].tolist():
        movie_id = int(ranked.movie_ids[position])
        if movie_id in exclude:
            continue
        items.append(
            item(
                catalog,
                movie_id,
                float(ranked.liked[position]),
                int(ranked.raters[position]),
                float(ranked.mean_rating[position]),
                popular=True,
            )
        )
        if len(items) == limit:
            break
    return items


def starter_movies(
    catalog: Catalog, limit: int = 12, pool: int = 200, exclude: Collection[int] = ()
) -> tuple[Recommendation, ...]:
    """Popular movies of varied genres, for a newcomer to rate first; never one of
    ``exclude`` (those shown before, for a fresh set).

    Walks the most liked movies in order and takes one when it brings a genre not yet
    covered, then fills up with the next most liked.
    """
    candidates = popular_items(catalog, catalog.popular(), pool, frozenset(exclude))
    covered: set[str] = set()
    chosen: list[Recommendation] = []
    for candidate in candidates:
        genres = set(candidate.genres.split("|")) - {"", NO_GENRE}
        if genres - covered:
            chosen.append(candidate)
            covered |= genres
        if len(chosen) == limit:
            break
    for candidate in candidates:
        if len(chosen) >= limit:
            break
        if candidate not in chosen:
            chosen.append(candidate)
    return tuple(chosen)

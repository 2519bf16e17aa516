"""The engines' hits as `Neighbours`: what both stores do with what a search returns.

Hits of either engine (Qdrant Edge's and qdrant-client's points alike) carry id and score under
the same names; their payloads come with them (qdrant-client) or are read by id (Qdrant Edge).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from reco.packed import unpack_stars
from reco.store.base import STARS, Neighbours, StoreUnavailable


def neighbours_from_hits(
    hits: Sequence[Any], found: Sequence[Mapping[str, Any] | None], with_payload: bool
) -> Neighbours:
    """The engine's hits as arrays, their packed stars (in ``found``, the hits' payloads, in
    the same order) unpacked into one CSR matrix."""
    if not hits:
        return Neighbours.empty()
    count = len(hits)
    ids = np.fromiter((hit.id for hit in hits), dtype=np.int64, count=count)
    scores = np.fromiter((hit.score for hit in hits), dtype=np.float64, count=count)
    payloads = [payload or {} for payload in found]
    try:
        stars = unpack_stars([payload[STARS] for payload in payloads])
    except (KeyError, ValueError) as error:
        raise StoreUnavailable(
            f"the index's users lack readable stars ({error}); rebuild it with "
            "`python -m reco build`"
        ) from None
    if not with_payload:
        return Neighbours(ids, scores, stars)
    shown = tuple({k: v for k, v in payload.items() if k != STARS} for payload in payloads)
    return Neighbours(ids, scores, stars, shown)


def neighbours_each(
    answers: Sequence[Sequence[Any]], found: Sequence[Mapping[str, Any] | None]
) -> list[Neighbours]:
    """Several queries' hits (a batch's answers) as `Neighbours` each, their stars (in
    ``found``, the payloads of all the hits in order) unpacked in one pass."""
    together = neighbours_from_hits([hit for hits in answers for hit in hits], found, False)
    bounds = np.cumsum([0, *(len(hits) for hits in answers)]).tolist()
    return [
        Neighbours(
            together.user_ids[start:stop],
            together.similarities[start:stop],
            together.stars.slice(start, stop),
        )
        if stop > start
        else Neighbours.empty()
        for start, stop in itertools.pairwise(bounds)
    ]

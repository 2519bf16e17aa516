"""The films of an embedded index: a second Qdrant Edge shard (``films/`` beside ``shard/``),
one point per rated film with its raters as a sparse vector and its stars' histogram as
payload (`reco.store.base.FilmPoint`), and Qdrant's recommendation query over it.

Qdrant Edge's recommendation queries score by the best or the summed similarity to each
example; a Qdrant server's default, the average-vector strategy, is a nearest query on
``2 * mean(positives) - mean(negatives)``, which the inverted index answers directly. So the
examples' vectors are read from the shard (each cut to its strongest raters,
`reco.store.base.strongest`) and combined here (`average_vector`); a server is given the same
cut vectors as its recommendation query's examples, so both engines answer alike.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

import numpy as np
import qdrant_edge as qe

from reco.store.base import RATERS, STARS, FilmPoint, SimilarFilm, examples


def films_config(idf: bool) -> qe.EdgeConfig:
    raters = qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf if idf else None)
    return qe.EdgeConfig(
        sparse_vectors={RATERS: raters}, payload_memory=qe.Memory.Cold, wal_enabled=False
    )


def write_films(path: Path, films: Iterable[Sequence[FilmPoint]], idf: bool) -> int:
    """Create the films shard at ``path`` from batches of films; returns how many."""
    shard = qe.EdgeShard.create(str(path), films_config(idf))
    done = 0
    try:
        for batch in films:
            points = [
                qe.Point(
                    film.movie_id,
                    {
                        RATERS: qe.SparseVector(
                            film.raters.indices.tolist(), film.raters.values.tolist()
                        )
                    },
                    {STARS: list(film.stars)},
                )
                for film in batch
            ]
            if points:
                shard.update(qe.UpdateOperation.upsert_points(points))
            done += len(points)
        shard.optimize()
        shard.flush()
    finally:
        shard.close()
    return done


def average_vector(
    positives: Sequence[tuple[np.ndarray, np.ndarray]],
    negatives: Sequence[tuple[np.ndarray, np.ndarray]],
) -> qe.SparseVector:
    """Qdrant's average-vector strategy: ``2 * mean(positives) - mean(negatives)``, or the
    positives' mean alone, over (indices, values) pairs added dimension by dimension."""
    parts = [(vector, 1.0 / len(positives)) for vector in positives]
    if negatives:
        parts = [(vector, 2.0 * weight) for vector, weight in parts]
        parts += [(vector, -1.0 / len(negatives)) for vector in negatives]
    indices = np.concatenate([dims for (dims, _), _ in parts])
    values = np.concatenate([values * weight for (_, values), weight in parts])
    dims, at = np.unique(indices, return_inverse=True)
    summed = np.bincount(at, weights=values, minlength=len(dims))
    keep = summed != 0
    return qe.SparseVector(dims[keep].tolist(), summed[keep].tolist())


class EdgeFilms:
    """An open films shard."""

    def __init__(self, shard: qe.EdgeShard):
        self.shard = shard

    def count(self) -> int:
        return int(self.shard.info().points_count)

    def similar(
        self,
        positive: Sequence[int],
        negative: Sequence[int],
        limit: int,
        exclude: Collection[int],
    ) -> list[SimilarFilm]:
        records = self.shard.retrieve(
            [*positive, *negative], with_payload=False, with_vector=[RATERS]
        )
        liked, disliked = examples(
            {r.id: r.vector[RATERS] for r in records if r.vector and RATERS in r.vector},
            positive,
            negative,
        )
        if not liked or limit <= 0:
            return []
        skipped = {int(m) for m in (*positive, *negative, *exclude)}
        hits = self.shard.query(
            qe.QueryRequest(
                limit=limit,
                query=qe.Query.Nearest(average_vector(liked, disliked), using=RATERS),
                filter=qe.Filter(must_not=[qe.HasIdCondition(skipped)]),
                with_vector=False,
                with_payload=False,
            )
        )
        return [SimilarFilm(int(hit.id), float(hit.score)) for hit in hits]

    def stars(self, movie_ids: Sequence[int]) -> dict[int, tuple[int, ...]]:
        records = self.shard.retrieve(
            [int(m) for m in movie_ids], with_payload=[STARS], with_vector=False
        )
        return {int(r.id): tuple(int(c) for c in (r.payload or {}).get(STARS, ())) for r in records}

    def close(self) -> None:
        self.shard.close()

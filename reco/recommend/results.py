"""What a query returns: recommended films, the neighbours behind them and, for a movie night,
each member's predicted stars."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from reco import filters
from reco.catalog import Catalog, display_title
from reco.encode import SparseRows
from reco.explain import Explanation, explain_all
from reco.explore import FilmFilter, Order
from reco.filters import UserFilter
from reco.group import GroupRule, disliked_by
from reco.store import Neighbours


@dataclass(frozen=True)
class Recommendation:
    """A recommended movie, with what the neighbours thought of it."""

    movie_id: int
    title: str
    year: int | None
    genres: str
    score: float
    raters: int
    mean_rating: float
    popular: bool = False  # True: a popularity fallback, not personalised
    predicted: float | None = None
    """The stars the person would likely give it (`reco.explain.predict_stars`); None for
    popular films."""

    @property
    def display_title(self) -> str:
        return display_title(self.title, self.year)


@dataclass(frozen=True)
class Neighbour:
    """A user of similar taste used for the recommendations."""

    user_id: int
    similarity: float
    ratings: int
    common: int
    age: int | None = None
    demographics: Mapping[str, str | None] = field(default_factory=dict)
    """The neighbour's value of each filter field (`reco.filters.FILTERS`), by its name; also
    read as an attribute: ``neighbour.age_group``."""

    def __getattr__(self, name: str) -> str | None:
        if name in filters.field_names():
            return self.demographics.get(name)
        raise AttributeError(name)

    def as_json(self) -> dict[str, object]:
        """The neighbour as one flat record (its demographics beside its figures)."""
        return {
            "user_id": self.user_id,
            "similarity": self.similarity,
            "ratings": self.ratings,
            "common": self.common,
            "age": self.age,
            **dict(self.demographics),
        }


@dataclass(frozen=True)
class NeighbourRating:
    """One neighbour's rating of one recommended movie (the "why" of a recommendation)."""

    neighbour: Neighbour
    stars: float


@dataclass(frozen=True)
class Recommendations:
    """Recommendations with the neighbours behind them."""

    items: tuple[Recommendation, ...]
    neighbours: tuple[Neighbour, ...]
    popular: bool
    where: UserFilter
    _stars: SparseRows | None = field(default=None, repr=False)  # row i: neighbours[i]
    films: FilmFilter = field(default_factory=FilmFilter)  # the narrowing asked for
    order: Order = "rank"  # what the items' order is (`reco.explore.ORDERS`)

    def explain(
        self, movie_ids: Sequence[int], profile: Mapping[int, float]
    ) -> dict[int, Explanation]:
        """For each of ``movie_ids``, the neighbours' verdicts and which of ``profile``'s
        ratings those who liked it agree with (`reco.explain.explain_all`); empty without
        neighbours."""
        if self._stars is None:
            return {}
        return explain_all(self._stars, movie_ids, profile)

    def why(self, movie_id: int) -> list[NeighbourRating]:
        """The neighbours who rated ``movie_id`` and their stars, most similar first."""
        if self._stars is None:
            return []
        rows = self._stars
        positions = np.flatnonzero(rows.indices == movie_id)
        owners = np.searchsorted(rows.indptr, positions, side="right") - 1
        return [
            NeighbourRating(self.neighbours[owner], float(rows.values[position]))
            for owner, position in zip(owners.tolist(), positions.tolist(), strict=True)
        ]


@dataclass(frozen=True)
class FilmVerdict:
    """How a person's neighbours rated one film, and what the person would likely give it."""

    neighbours: int  # how many neighbours were asked (and count)
    stars: tuple[float, ...]  # the stars of those who rated it
    predicted: float


@dataclass(frozen=True)
class GroupRecommendation:
    """A film for a group, with each member's predicted stars (in the members' order)."""

    movie_id: int
    title: str
    year: int | None
    genres: str
    score: float  # what the group rule ranks by (`reco.group.group_order`)
    predicted: tuple[float, ...]
    popular: bool = False  # True: a popularity fallback, not personalised

    @property
    def display_title(self) -> str:
        return display_title(self.title, self.year)

    @property
    def disliked_by(self) -> tuple[int, ...]:
        """The members (positions) predicted to dislike it (`reco.group.DISLIKED_BELOW`)."""
        return disliked_by(np.array(self.predicted))


@dataclass(frozen=True)
class GroupRecommendations:
    """Films for a group, and how many neighbours each member's taste found."""

    items: tuple[GroupRecommendation, ...]
    rule: GroupRule
    neighbours: tuple[int, ...]  # per member
    popular: bool
    where: UserFilter


def neighbour_list(found: Neighbours, exclude: np.ndarray) -> tuple[Neighbour, ...]:
    """The neighbours as `Neighbour` records: demographics from their payloads, how many
    movies they rated and how many of them the profile (``exclude``) rated too."""
    rows = found.stars
    counts = np.diff(rows.indptr)
    owner = np.repeat(np.arange(len(found)), counts)
    common = np.bincount(owner, weights=np.isin(rows.indices, exclude), minlength=len(found))
    payloads = found.payloads or tuple({} for _ in range(len(found)))
    return tuple(
        Neighbour(
            user_id=user,
            similarity=similarity,
            ratings=rated,
            common=shared,
            age=about.get("age"),
            demographics={name: about.get(name) for name in filters.field_names()},
        )
        for user, similarity, rated, shared, about in zip(
            found.user_ids.tolist(),
            found.similarities.tolist(),
            counts.tolist(),
            common.astype(int).tolist(),
            payloads,
            strict=True,
        )
    )


def item(
    catalog: Catalog,
    movie_id: int,
    score: float,
    raters: int,
    mean: float,
    popular: bool = False,
    predicted: float | None = None,
) -> Recommendation:
    """A `Recommendation` of a film of ``catalog`` with its figures."""
    title, year, genres = catalog.heading(movie_id)
    return Recommendation(
        movie_id=movie_id,
        title=title,
        year=year,
        genres=genres,
        score=score,
        raters=raters,
        mean_rating=round(mean, 3),
        popular=popular,
        predicted=None if predicted is None else round(predicted, 2),
    )


def group_item(
    catalog: Catalog, movie_id: int, score: float, predicted: np.ndarray
) -> GroupRecommendation:
    """A `GroupRecommendation` of a film of ``catalog``, each member's predicted stars."""
    title, year, genres = catalog.heading(movie_id)
    return GroupRecommendation(
        movie_id,
        title,
        year,
        genres,
        round(score, 4),
        tuple(round(float(p), 2) for p in predicted),
    )

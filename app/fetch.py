"""What a view shows, fetched before anything is drawn: plain data and pure functions over the
recommender and what the person did (no Streamlit), so a view only draws, and this can be
tested without the page. Warnings are values (`Notice`); the views word them."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from reco import filters
from reco.explain import Explanation
from reco.explore import FilmFilter, Order
from reco.group import DEFAULT_RULE, RULES
from reco.recommend import (
    GroupRecommendations,
    MoreLikeThis,
    Recommendation,
    Recommendations,
    Recommender,
)
from reco.scale import STAR_STEPS

ONBOARDING_MIN = 3  # fewer ratings than this: quick-rate set and popular movies
QUICK_RATE = 8  # films in the quick-rate set
FEW_NEIGHBOURS = 5  # fewer neighbours than this in the chosen groups: say it is unreliable


@dataclass(frozen=True)
class Choices:
    """What the person chose in the sidebar for their queries."""

    filters: dict[str, list[str]]  # by the filters' keywords
    limit: int
    scoring: dict[str, Any] = field(default_factory=dict)
    """Overrides of the scoring options for one's own list (`ScoringOptions` fields, such as
    ``neighbours`` and ``min_raters``); a movie night keeps its own neighbour count."""


NoticeKind = Literal[
    "popular-instead", "nothing-popular-enough", "nothing-rated-enough", "few-neighbours"
]


@dataclass(frozen=True)
class Notice:
    """What to tell the person before the films: nobody shares their taste (popular films
    instead), no film rated by ``min_raters`` of their neighbours, or few neighbours in the
    chosen groups; ``filtered``: groups are chosen (so widening them may help); ``users``:
    how many the chosen groups hold, when popular films among them are too few."""

    kind: NoticeKind
    neighbours: int
    min_raters: int
    filtered: bool
    users: int = 0

    @property
    def stop(self) -> bool:
        """Nothing to show after it."""
        return self.kind in ("nothing-rated-enough", "nothing-popular-enough")


@dataclass(frozen=True)
class Shown:
    """Everything the main column shows, fetched before any of it is drawn."""

    result: Recommendations
    personalised: bool
    items: tuple[Recommendation, ...]  # the films listed
    links: dict[int, dict]  # movie id -> where to read about it
    explanations: dict[int, Explanation]  # movie id -> what the neighbours thought
    populations: dict[str, dict[str, int]]  # filter field -> everyone's counts (for charts)
    titles: Mapping[int, str]  # movie id -> display title, every film (the catalog's)
    starters: tuple[Recommendation, ...] = ()  # the quick-rate set (before personalising)
    notice: Notice | None = None  # what to say first


ME = "me"  # a member who is the person using the page: their ratings as they are now


@dataclass(frozen=True)
class Member:
    """One person of a movie night: a name typed by the person, and ratings from a shared
    link, a CSV file or (``source == ME``) the page's own."""

    name: str
    source: str  # ME, "link" or "file"
    ratings: dict[int, float]
    hidden: frozenset[int] = frozenset()
    problems: tuple[str, ...] = ()  # what was left out of the link or file


@dataclass(frozen=True)
class GroupShown:
    """A movie night's films, fetched before any of it is drawn."""

    result: GroupRecommendations
    members: tuple[Member, ...]  # those the films are for, in the order of the predictions
    links: dict[int, dict]  # movie id -> where to read about it


def links_of(recommender: Recommender, items: Sequence[Recommendation]) -> dict[int, dict]:
    """Where to read about each film (from the index's catalog)."""
    return {item.movie_id: recommender.catalog.links(item.movie_id) for item in items}


def fetch_shown(
    recommender: Recommender,
    choices: Choices,
    ratings: Mapping[int, float],
    hidden: Collection[int],
    starters_seen: Collection[int] = (),
    starting: bool = False,
    films: FilmFilter | None = None,
    order: Order = "rank",
) -> Shown:
    """Ask the engine once for what the main column shows (raises `ValueError` for a bad
    profile or filter, `reco.store.StoreUnavailable` when the engine is gone); ``starting``:
    the person is rating the quick-rate set, which stays until they move on; ``films`` and
    ``order``: what the person explores (`reco.explore`), once their list is personalised."""
    hidden = set(hidden)
    personalised = len(ratings) >= ONBOARDING_MIN and not starting
    starters: tuple[Recommendation, ...] = ()
    if not personalised:
        starters = recommender.starter_movies(QUICK_RATE, exclude={*starters_seen, *hidden})
        if not starters:  # every film shown once: start over
            starters = recommender.starter_movies(QUICK_RATE, exclude=hidden)
    result = recommender.recommend_explained(
        ratings if personalised else {},
        choices.limit,
        scoring=choices.scoring,
        # unpersonalised, the popular list leaves out what is rated or offered to rate
        hidden=hidden | {s.movie_id for s in starters} | (set() if personalised else set(ratings)),
        films=films if personalised else None,
        order=order if personalised else "rank",
        **choices.filters,
    )
    items = tuple(i for i in result.items if i.movie_id not in ratings)
    links = links_of(recommender, (*items, *starters))
    explanations = {} if result.popular else result.explain([i.movie_id for i in items], ratings)
    populations: dict[str, dict[str, int]] = {}
    if result.neighbours and recommender.catalog.has_demographics:
        populations = {f.name: recommender.population(f.name) for f in filters.FILTERS}
    shown = Shown(
        result,
        personalised,
        items,
        links,
        explanations,
        populations,
        recommender.catalog.titles(),
        starters,
    )
    if not personalised:
        return shown
    found, filtered = len(result.neighbours), bool(result.where)
    kind: NoticeKind | None = None
    users = 0
    if result.popular and not result.items and filtered:
        kind, users = "nothing-popular-enough", recommender.store.count(result.where)
    elif result.popular:
        kind = "popular-instead"
    elif not result.items:
        kind = "nothing-rated-enough"
    elif found < FEW_NEIGHBOURS and filtered:
        kind = "few-neighbours"
    if kind is None:
        return shown
    min_raters = recommender.options.override(choices.scoring).min_raters
    return replace(shown, notice=Notice(kind, found, min_raters, filtered, users))


@dataclass(frozen=True)
class FilmShown:
    """A film's page, fetched before any of it is drawn."""

    movie_id: int
    title: str  # display title
    genres: str
    links: dict[str, str]
    raters: int
    mean_rating: float | None
    stars: tuple[int, ...]  # everyone's ratings of it by half star (from the engine)
    neighbour_stars: tuple[int, ...]  # your neighbours' ratings of it by half star
    neighbours: int  # how many neighbours were asked (0: no ratings yet)
    predicted: float | None  # the stars you would likely give it (None: rated, or no ratings)
    groups: dict[str, tuple[dict[str, int], dict[str, int]]]
    """Per filter field: the raters who liked it by value, and everyone by value."""
    like_this: MoreLikeThis
    links_of_like: dict[int, dict]


def fetch_film(
    recommender: Recommender,
    choices: Choices,
    movie_id: int,
    ratings: Mapping[int, float],
    hidden: Collection[int],
) -> FilmShown:
    """Ask the engine for what a film's page shows: its ratings' histogram, the person's
    neighbours' ratings of it and their predicted stars (when they have ratings), who liked
    it, and more like this. Raises `ValueError` for an unknown film."""
    catalog = recommender.catalog
    movie = catalog.movie(movie_id) if movie_id in catalog else None
    if movie is None:
        raise ValueError(f"{recommender.name} has no film {movie_id}")
    neighbour_stars = [0] * len(STAR_STEPS)
    asked, predicted = 0, None
    if ratings:  # one query: the neighbours' ratings of it and the stars predicted
        verdict = recommender.film_verdict(
            ratings, movie_id, scoring=choices.scoring, **choices.filters
        )
        asked = verdict.neighbours
        for stars in verdict.stars:
            neighbour_stars[STAR_STEPS.index(stars)] += 1
        if movie_id not in ratings:
            predicted = verdict.predicted
    groups = {}
    if catalog.has_demographics:
        for field in filters.FILTERS:
            liked = {
                v: counts[1] for v, counts in catalog.film_groups(movie_id, field.name).items()
            }
            groups[field.name] = (liked, recommender.population(field.name))
    like_this = recommender.similar(movie_id, 10, ratings=ratings, hidden=hidden)
    mean = movie.get("mean_rating")
    return FilmShown(
        movie_id,
        catalog.display_title(movie_id),
        movie["genres"],
        catalog.links(movie_id),
        int(movie["raters"]),
        None if mean is None or mean != mean else float(mean),
        recommender.stars_given(movie_id),
        tuple(neighbour_stars),
        asked,
        predicted,
        groups,
        like_this,
        {item.movie_id: catalog.links(item.movie_id) for item in like_this.items},
    )


def fetch_group(
    recommender: Recommender,
    choices: Choices,
    members: Sequence[Member],
    ratings: Mapping[int, float],
    hidden: Collection[int],
    rule: str = DEFAULT_RULE,
) -> GroupShown | None:
    """Ask the engine once for the movie night's films (None until two people have
    ratings); ``ratings`` and ``hidden`` are the person's own, for the member who is them.
    Raises as `fetch_shown` does."""
    current = [
        replace(m, ratings=dict(ratings), hidden=frozenset(hidden)) if m.source == ME else m
        for m in members
    ]
    usable = tuple(m for m in current if m.ratings)
    if len(usable) < 2:
        return None
    result = recommender.recommend_group(
        [m.ratings for m in usable],
        choices.limit,
        rule=rule if rule in RULES else DEFAULT_RULE,
        hidden=frozenset().union(*(m.hidden for m in usable)),
        **choices.filters,
    )
    return GroupShown(result, usable, links_of(recommender, result.items))

"""The `Recommender`: a release's index opened on a store, and every query a person can ask.

Every entry point (`Recommender.recommend`, `recommend_explained`, `predict`,
`recommend_group`) checks its query, asks the engine for neighbours (`ask`) and ranks through
the one neighbours -> rank path (`Recommender.rank`), which the evaluation, the tuning and the
bench call too. A query's scoring overrides go through `ScoringOptions.override`.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from reco.catalog import Catalog
from reco.datasets import Dataset, Progress
from reco.encode import Encoding, EncodingName, SparseRows
from reco.explain import person_mean, predict_stars, predict_stars_each
from reco.explore import STARS_POOL, FilmFilter, Order, check_films, check_order
from reco.filters import UserFilter
from reco.group import (
    DEFAULT_RULE,
    GROUP_NEIGHBOURS,
    MAX_MEMBERS,
    GroupRule,
    check_rule,
    rank_group,
    relevance,
)
from reco.index import build_index, encoding_of, fit_encoding
from reco.recommend.checks import check_filter, check_limit, check_movies, check_profile
from reco.recommend.options import (
    DEFAULT_ENCODING,
    DEFAULT_IDF,
    DEFAULT_NORMALIZE,
    ScoringOptions,
)
from reco.recommend.popular import popular_items, starter_movies
from reco.recommend.results import (
    FilmVerdict,
    GroupRecommendation,
    GroupRecommendations,
    Recommendation,
    Recommendations,
    group_item,
    item,
    neighbour_list,
)
from reco.recommend.scoring import Candidates, counted, score_candidates
from reco.recommend.similar import MoreLikeThis, more_like_this
from reco.scale import STAR_STEPS
from reco.store import Neighbours, OpenIndex, StoreUnavailable, UserStore, temporary_store


def one_blas_thread() -> None:
    """Run this process's BLAS (numpy's matrix products) on one thread from now on.

    For a process where queries run side by side (the app's sessions): `neighbour_fit`'s
    products are small (100 x 100), and with the cores busy OpenBLAS's own threads made them
    6-20 times slower (a 100 x 1,200 Gram 2.2 ms against 0.36 ms, its solve 2.1 against
    0.09 ms). Alone on an idle machine two threads are faster (`recommend()` p50 0.27 ms less
    on ml-100k), so a library user keeps numpy's default unless they call this. Limiting
    around each query instead cost 0.19 ms a query (the pool's threads stop and restart)."""
    threadpool_limits(limits=1, user_api="blas")


WIDER_BY = 5
MAX_NEIGHBOURS = 1_000
"""A narrowed query (`reco.explore`) whose neighbours rated too few of the films it allows
asks more of them once (`widening`: up to ``WIDER_BY`` times as many, at most
``MAX_NEIGHBOURS``)."""


def widening(found: int, wanted: int) -> int:
    """How many times the neighbours a narrowed query asks again when its usual neighbours
    backed ``found`` of the ``wanted`` films: about as many times more as lacked, with a
    margin, at least twice, at most ``WIDER_BY``. (At 100,000 synthetic users, Sci-Fi of the
    2010s, 1.2% of the ratings: 500 neighbours cost 7 times 100, while twice as many left
    0.06 of ten films to fill from the most liked.)"""
    return int(min(WIDER_BY, max(2, math.ceil(1.25 * wanted / max(found, 1)))))


class IndexUnavailable(StoreUnavailable):
    """An index on a Qdrant server that this process must not rebuild on its own (damaged,
    older, or built from other data): the message names the command that rebuilds it."""


class Recommender:
    """Recommendations for a profile ``{movie_id: stars}`` from similar users in a store.

    Opened on an index (`OpenIndex`: manifest and catalog); everything it knows about films
    comes from the catalog, everything about users from the engine. Safe to share between
    threads (Streamlit sessions): queries only read.
    """

    def __init__(self, store: UserStore, index: OpenIndex, options: ScoringOptions | None = None):
        self.store = store
        self.manifest = index.manifest
        self.catalog: Catalog = index.catalog
        self.encoding: Encoding = encoding_of(index.manifest)
        self.options = options or ScoringOptions()
        self.movie_ids: frozenset[int] = self.catalog.movie_ids
        """Every movie id of the release (a profile may only rate these)."""
        self.rating_counts = self.catalog.rating_counts
        self._everyone: dict[str, dict[str, int]] = {}  # facet counts over all users

    @property
    def name(self) -> str:
        return self.manifest.dataset or self.catalog.name

    @property
    def notes(self) -> tuple[str, ...]:
        """What the build skipped in the release (bad rows), as warnings to show."""
        return self.manifest.warnings

    def summary(self) -> str:
        extra = "with demographics" if self.catalog.has_demographics else "no demographics"
        return (
            f"{self.name}: {self.manifest.ratings:,} ratings, "
            f"{self.manifest.users:,} users, {len(self.catalog):,} movies ({extra})"
        )

    @classmethod
    def build(
        cls,
        dataset: Dataset,
        store: UserStore | None = None,
        *,
        encoding: EncodingName | Encoding = DEFAULT_ENCODING,
        normalize: bool = DEFAULT_NORMALIZE,
        idf: bool = DEFAULT_IDF,
        progress: Progress | None = None,
        batch_size: int = 1_000,
        release: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> Recommender:
        """A recommender over ``dataset``, indexing it into ``store`` unless already there.

        ``store=None`` indexes into a temporary embedded store (`reco.store.temporary_store`,
        for tests and evaluation). ``options`` are `ScoringOptions` fields.
        ``progress(users_done, total)`` is called while indexing.
        """
        if not isinstance(encoding, Encoding):
            encoding = fit_encoding(dataset, encoding, normalize=normalize, idf=idf)
        store = store if store is not None else temporary_store(dataset.name)
        index = build_index(
            dataset, store, encoding, release=release, progress=progress, batch_size=batch_size
        )
        return cls(store, index, ScoringOptions(**options))

    # ------------------------------------------------------------------ queries

    def recommend(
        self,
        ratings: Mapping[int, float],
        limit: int = 10,
        *,
        neighbours: int | None = None,
        min_raters: int | None = None,
        hidden: Collection[int] = (),
        scoring: Mapping[str, Any] | None = None,
        films: FilmFilter | None = None,
        order: Order = "rank",
        **filters: Sequence[str] | None,
    ) -> list[Recommendation]:
        """The best ``limit`` movies for a profile, best first; never a rated movie, nor one
        of ``hidden`` (films the person is not interested in).

        ``neighbours``, ``min_raters`` and ``scoring`` (any other `ScoringOptions` field)
        override this recommender's options for this query. ``filters``: neighbours only from
        users holding one of the values of each filter of `reco.filters.FILTERS` given by its
        keyword (``age_groups=["25-34"]``, ``genders``, ``occupations``). ``films``
        (`reco.explore.FilmFilter`): only films of those genres, years and fame, from more
        neighbours when the usual ones rated too few of them, then the most liked of them
        (flagged ``popular``); ``order`` "stars": the best of the ranking by predicted stars.
        Raises `ValueError` for unknown movie ids, ratings outside 0.5-5, unknown options,
        filter values or genres. An empty profile gets popular movies, flagged
        ``popular=True``.
        """
        overrides = {"neighbours": neighbours, "min_raters": min_raters, **(scoring or {})}
        result = self._answer(
            ratings, limit, overrides, hidden, filters, films, order, explain=False
        )
        return list(result.items)

    def recommend_explained(
        self,
        ratings: Mapping[int, float],
        limit: int = 10,
        *,
        neighbours: int | None = None,
        min_raters: int | None = None,
        hidden: Collection[int] = (),
        scoring: Mapping[str, Any] | None = None,
        films: FilmFilter | None = None,
        order: Order = "rank",
        **filters: Sequence[str] | None,
    ) -> Recommendations:
        """Like `recommend`, with the neighbours used and each item's "why"."""
        overrides = {"neighbours": neighbours, "min_raters": min_raters, **(scoring or {})}
        return self._answer(ratings, limit, overrides, hidden, filters, films, order, explain=True)

    def _answer(
        self,
        ratings: Mapping[int, float],
        limit: int,
        overrides: Mapping[str, Any],
        hidden: Collection[int],
        filters: Mapping[str, Sequence[str] | None],
        films: FilmFilter | None = None,
        order: Order = "rank",
        *,
        explain: bool,
    ) -> Recommendations:
        profile = check_profile(self.catalog, ratings)
        skipped = check_movies(self.catalog, hidden)
        check_limit(limit)
        options = self.options.override(overrides)
        where = check_filter(self.catalog, **filters)
        narrow = check_films(self.catalog, films) if films else FilmFilter()
        allowed = narrow.mask(self.catalog) if narrow else None
        by_stars = check_order(order) == "stars"
        if not profile:
            fallback = self.popular(limit, where, skipped, options.min_raters, allowed)
            return Recommendations(fallback, (), True, where, films=narrow)
        pool = max(STARS_POOL, 5 * limit) if by_stars else limit
        asked = self.ask(profile, options, where, with_payload=explain)
        exclude = np.fromiter(profile.keys() | skipped, dtype=np.int64)
        found, candidates = self.rank(asked, profile, exclude, options, pool, allowed)
        found_films = len(candidates.movie_ids)
        few = allowed is not None and found_films < pool
        wider = min(options.neighbours * widening(found_films, pool), MAX_NEIGHBOURS)
        if few and len(asked) >= options.neighbours and wider > options.neighbours:
            options = options.override({"neighbours": wider})  # more people, more films
            asked = self.ask(profile, options, where, with_payload=explain)
            found, candidates = self.rank(asked, profile, exclude, options, pool, allowed)
        if not len(found):
            unwanted = skipped | profile.keys()
            fallback = self.popular(limit, where, unwanted, options.min_raters, allowed)
            return Recommendations(fallback, (), True, where, films=narrow)
        predicted = candidates.predicted(self._own_mean(profile))
        ranked = np.arange(len(predicted))
        if by_stars:  # the best of the ranking, by the stars shown (ties: the ranking)
            ranked = np.lexsort((ranked, -np.round(predicted, 2)))
        ranked = ranked[:limit]
        items = tuple(
            item(self.catalog, int(m), float(s), int(r), float(mean), predicted=float(p))
            for m, s, r, mean, p in zip(
                candidates.movie_ids[ranked],
                candidates.scores[ranked],
                candidates.raters[ranked],
                candidates.mean_stars[ranked],
                predicted[ranked],
                strict=True,
            )
        )
        if allowed is not None and len(items) < limit:  # the most liked of the rest
            unwanted = skipped | profile.keys() | {i.movie_id for i in items}
            more = self.popular(limit - len(items), where, unwanted, options.min_raters, allowed)
            items += more
        if not explain:  # recommend(): the items are all it returns
            return Recommendations(items, (), False, where, films=narrow, order=order)
        neighbours = neighbour_list(found, exclude)
        return Recommendations(items, neighbours, False, where, found.stars, narrow, order)

    def predict(
        self,
        ratings: Mapping[int, float],
        movie_ids: Sequence[int],
        *,
        neighbours: int | None = None,
        scoring: Mapping[str, Any] | None = None,
        **filters: Sequence[str] | None,
    ) -> np.ndarray:
        """The stars the person of ``ratings`` would likely give each of ``movie_ids``
        (`reco.explain.predict_stars` over the same neighbours `recommend` asks); their mean
        rating for films none of the neighbours rated. Raises `ValueError` as `recommend`."""
        profile = check_profile(self.catalog, ratings)
        check_movies(self.catalog, movie_ids)
        wanted = np.array([int(m) for m in movie_ids], dtype=np.int64)
        found = self._counted(profile, neighbours, scoring, filters)
        return predict_stars(found.stars, found.similarities, wanted, self._own_mean(profile))

    def film_verdict(
        self,
        ratings: Mapping[int, float],
        movie_id: int,
        *,
        neighbours: int | None = None,
        scoring: Mapping[str, Any] | None = None,
        **filters: Sequence[str] | None,
    ) -> FilmVerdict:
        """How the person's neighbours (those `predict` asks, in one query) rated one film,
        and the stars the person would likely give it. Raises `ValueError` as `predict`."""
        profile = check_profile(self.catalog, ratings)
        (film,) = check_movies(self.catalog, [movie_id])
        found = self._counted(profile, neighbours, scoring, filters)
        stars = found.stars.values[found.stars.indices == film].astype(np.float64)
        wanted = np.array([film], dtype=np.int64)
        mean = self._own_mean(profile)
        predicted = float(predict_stars(found.stars, found.similarities, wanted, mean)[0])
        return FilmVerdict(len(found), tuple(stars.tolist()), predicted)

    def _counted(
        self,
        profile: Mapping[int, float],
        neighbours: int | None,
        scoring: Mapping[str, Any] | None,
        filters: Mapping[str, Sequence[str] | None],
    ) -> Neighbours:
        """The neighbours whose ratings count for a checked profile (`predict`'s)."""
        if not profile:
            raise ValueError("a prediction needs at least one rating")
        options = self.options.override({"neighbours": neighbours, **(scoring or {})})
        where = check_filter(self.catalog, **filters)
        return counted(self.ask(profile, options, where), options)

    def recommend_group(
        self,
        profiles: Sequence[Mapping[int, float]],
        limit: int = 10,
        *,
        rule: GroupRule | str = DEFAULT_RULE,
        hidden: Collection[int] = (),
        neighbours: int | None = None,
        min_raters: int | None = None,
        scoring: Mapping[str, Any] | None = None,
        pool: int = 100,
        **filters: Sequence[str] | None,
    ) -> GroupRecommendations:
        """The best ``limit`` films for a group (movie night), never one a member rated nor
        one of ``hidden``, with each member's predicted stars.

        Each member's neighbours (``neighbours``, default `reco.group.GROUP_NEIGHBOURS`) come
        from one similarity query, all sent as one batch; each member's best ``pool`` films
        form the candidates, ranked by ``rule`` (`reco.group`). ``filters`` apply to every
        member's neighbours, as in `recommend`. Raises `ValueError` for no members or more
        than `reco.group.MAX_MEMBERS`, a member without ratings, and what `recommend` refuses.
        """
        rule = check_rule(rule)
        if not 1 <= len(profiles) <= MAX_MEMBERS:
            raise ValueError(f"a group has 1 to {MAX_MEMBERS} members; got {len(profiles)}")
        checked = [check_profile(self.catalog, ratings) for ratings in profiles]
        for position, profile in enumerate(checked, 1):
            if not profile:
                raise ValueError(f"member {position} has no ratings")
        skipped = check_movies(self.catalog, hidden)
        check_limit(limit)
        if not isinstance(pool, int) or pool < limit:
            raise ValueError("pool must be a whole number at least as large as limit")
        options = self.options.override(
            {
                "neighbours": GROUP_NEIGHBOURS if neighbours is None else neighbours,
                "min_raters": min_raters,
                **(scoring or {}),
            }
        )
        where = check_filter(self.catalog, **filters)
        queries = self.encoding.encode_queries(checked)
        answers = self.store.similar_users_batch(queries, options.neighbours, where)
        seen = skipped.union(*(profile.keys() for profile in checked))
        exclude = np.fromiter(seen, dtype=np.int64, count=len(seen))
        ranked = [
            self.rank(answer, profile, exclude, options)
            for answer, profile in zip(answers, checked, strict=True)
        ]
        found = [f for f, _ in ranked]
        candidates = [c for _, c in ranked]
        films = np.unique(np.concatenate([c.movie_ids[:pool] for c in candidates]))
        counts = tuple(len(f) for f in found)
        if not len(films):
            items = tuple(
                GroupRecommendation(
                    i.movie_id, i.title, i.year, i.genres, i.score, (), popular=True
                )
                for i in self.popular(limit, where, seen)
            )
            return GroupRecommendations(items, rule, counts, True, where)

        rows = SparseRows.stack([f.stars for f in found])  # every member's neighbours
        weights = np.concatenate([f.similarities for f in found])
        members = np.repeat(np.arange(len(found)), [len(f) for f in found])
        means = np.array([self._own_mean(profile) for profile in checked])

        def predict(positions: np.ndarray) -> np.ndarray:
            return predict_stars_each(rows, weights, members, films[positions], means)

        relevances = np.array([relevance(c.movie_ids, c.scores, films) for c in candidates])
        top, scores, predicted = rank_group(films, relevances, rule, limit, predict)
        items = tuple(
            group_item(self.catalog, int(films[at]), float(score), predicted[:, column])
            for column, (at, score) in enumerate(zip(top.tolist(), scores.tolist(), strict=True))
        )
        return GroupRecommendations(items, rule, counts, False, where)

    def similar(
        self,
        movie_id: int,
        limit: int = 10,
        *,
        ratings: Mapping[int, float] | None = None,
        hidden: Collection[int] = (),
    ) -> MoreLikeThis:
        """More like this: the films whose raters rated them most like ``movie_id``, from the
        index's films collection with Qdrant's recommendation query, steered by the person's
        ``ratings`` when given; never a film they rated or hid (`reco.recommend.similar`)."""
        return more_like_this(self.store, self.catalog, movie_id, limit, ratings, hidden)

    def stars_given(self, movie_id: int) -> tuple[int, ...]:
        """How many gave the film each half star, 0.5 to 5 (all zero: nobody rated it), from
        the engine. Raises `ValueError` for an unknown film."""
        (film,) = check_movies(self.catalog, [movie_id])
        return self.store.film_stars([film]).get(film, (0,) * len(STAR_STEPS))

    # ------------------------------------------------------------------ the one path

    def ask(
        self,
        profile: Mapping[int, float],
        options: ScoringOptions,
        where: UserFilter | None = None,
        *,
        with_payload: bool = False,
    ) -> Neighbours:
        """The engine's ``options.neighbours`` users most similar to a (checked, non-empty)
        profile, with their stars (and payloads: their demographics)."""
        query = self.encoding.encode_query(profile)
        return self.store.similar_users(query, options.neighbours, where, with_payload=with_payload)

    def rank(
        self,
        found: Neighbours,
        profile: Collection[int],
        exclude: np.ndarray,
        options: ScoringOptions,
        limit: int | None = None,
        allowed: np.ndarray | None = None,
    ) -> tuple[Neighbours, Candidates]:
        """The one neighbours -> rank path: ``options`` as they apply to a profile of that
        many films (`ScoringOptions.for_profile`), the first ``options.neighbours`` of
        ``found`` (the engine may have been asked for more), those whose ratings count
        (`counting`), and the films ``exclude`` does not hold, scored best first (only the
        best ``limit`` when given; only films ``allowed`` holds, when given). Returns the
        neighbours that counted and the candidates."""
        applied = options.for_profile(len(profile))
        if len(found) > applied.neighbours:
            found = found.take(np.arange(applied.neighbours))
        found = counted(found, applied)
        rated = np.fromiter(profile, dtype=np.int64, count=len(profile))
        candidates = score_candidates(
            found.stars,
            found.similarities,
            exclude,
            self.encoding,
            applied,
            self.rating_counts,
            limit=limit,
            rated=rated,
            allowed=allowed,
        )
        return found, candidates

    def _own_mean(self, profile: Mapping[int, float]) -> float:
        """The person's mean stars, where predictions start (`reco.explain.person_mean`)."""
        return person_mean(profile.values(), self.encoding.global_mean)

    # ------------------------------------------------------------------ without neighbours

    def popular(
        self,
        limit: int = 10,
        where: UserFilter | None = None,
        exclude: Collection[int] = (),
        min_raters: int = 1,
        allowed: np.ndarray | None = None,
    ) -> tuple[Recommendation, ...]:
        """Most liked movies (count of 4+ star ratings) among the users matching ``where``,
        rated by at least ``min_raters`` of them (and held by ``allowed``, a
        `reco.explore.FilmFilter.mask`): sums of the catalog's demographic cells, never the
        ratings."""
        ranked = self.catalog.popular((where or UserFilter()).conditions())
        if allowed is not None:
            ranked = ranked.only(allowed)
        return tuple(popular_items(self.catalog, ranked, limit, exclude, min_raters))

    def starter_movies(
        self, limit: int = 12, pool: int = 200, exclude: Collection[int] = ()
    ) -> tuple[Recommendation, ...]:
        """Popular films of varied genres for a newcomer (`reco.recommend.popular`)."""
        return starter_movies(self.catalog, limit, pool, exclude)

    def population(self, field: str, where: UserFilter | None = None) -> dict[str, int]:
        """How many indexed users hold each value of a demographic field (facet counts);
        everyone's are asked once (an index's users do not change once built)."""
        if where:
            return self.store.facet(field, where)
        counts = self._everyone.get(field)
        if counts is None:
            counts = self._everyone[field] = self.store.facet(field)
        return dict(counts)

    # ------------------------------------------------------------------ checks

    def check_profile(self, ratings: Mapping[int, float]) -> dict[int, float]:
        """Validate a profile: known movie ids and 0.5-5 stars, else `ValueError`."""
        return check_profile(self.catalog, ratings)

    def check_movies(self, movie_ids: Collection[int]) -> frozenset[int]:
        """Validate films hidden by the person, else `ValueError`."""
        return check_movies(self.catalog, movie_ids)

    def user_filter(self, **filters: Sequence[str] | str | None) -> UserFilter:
        """A validated `UserFilter` from the filters' keywords, else `ValueError`."""
        return check_filter(self.catalog, **filters)

    def choices(self, field: str) -> list[str]:
        """The values a demographic field can take (empty without demographics)."""
        return self.catalog.choices(field)

"""Properties that hold for any input hypothesis can think of: encoding and scoring."""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pytest
from conftest import two_taste_dataset
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reco.encode import ENCODINGS, Encoding, SparseRows, rows_from_ratings
from reco.filters import AGE_GROUPS
from reco.profile import format_profile, parse_profile, profile_from_csv, profile_to_csv
from reco.recommend import Recommender, ScoringOptions, score_candidates
from reco.scale import MAX_STARS, MIN_STARS
from reco.store import EdgeStore

HALF_STARS = st.sampled_from([s / 2 for s in range(1, 11)])
ANY_STARS = st.floats(min_value=MIN_STARS, max_value=MAX_STARS, allow_nan=False)
MOVIE_IDS = st.integers(min_value=1, max_value=200_000)
PROFILES = st.dictionaries(MOVIE_IDS, ANY_STARS, max_size=60)
ENCODING = st.builds(
    Encoding,
    name=st.sampled_from(ENCODINGS),
    normalize=st.booleans(),
    shrinkage=st.floats(0, 50),
    global_mean=st.floats(1, 4.5),
    global_std=st.floats(0.1, 2),
    offset=st.floats(-3, 3),
)
EXAMPLES = settings(max_examples=150, deadline=None)
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")  # no 0/0 or overflow anywhere


# --------------------------------------------------------------------------- encoding


@EXAMPLES
@given(encoding=ENCODING, profile=PROFILES)
def test_query_vectors_are_sorted_unique_nonzero_and_finite(
    encoding: Encoding, profile: dict[int, float]
) -> None:
    vector = encoding.encode_query(profile)
    indices, values = vector.indices.tolist(), vector.values.tolist()
    assert indices == sorted(set(indices))  # sorted, unique
    assert set(indices) <= set(profile)
    assert all(v != 0 and math.isfinite(v) for v in values)
    if encoding.normalize and values:
        assert math.isclose(math.fsum(v * v for v in values), 1.0, rel_tol=1e-4)
    if encoding.name == "binary":
        assert indices == sorted(profile)  # every rated movie is a dimension


@EXAMPLES
@given(
    encoding=ENCODING,
    ratings=st.lists(st.tuples(st.integers(1, 30), st.integers(1, 50), HALF_STARS), max_size=200),
)
def test_a_user_encoded_in_the_index_equals_the_same_profile_as_a_query(
    encoding: Encoding, ratings: list[tuple[int, int, float]]
) -> None:
    """Round trip: the index encodes a user's row exactly as a query encodes the profile."""
    unique = {(u, m): s for u, m, s in ratings}  # one rating per user and movie
    users = np.array([u for u, _ in unique], dtype=np.int64)
    movies = np.array([m for _, m in unique], dtype=np.int64)
    stars = np.array(list(unique.values()), dtype=np.float64)
    user_ids, rows = rows_from_ratings(users, movies, stars)
    encoded = encoding.encode_rows(rows)
    for i, user in enumerate(user_ids.tolist()):
        profile = {m: s for (u, m), s in unique.items() if u == user}
        query = encoding.encode_query(profile)
        row = encoded.row(i)
        assert row.indices.tolist() == query.indices.tolist()
        np.testing.assert_allclose(row.values, query.values, rtol=1e-6)


@EXAMPLES
@given(
    stars=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True).filter(
            lambda s: not (MIN_STARS <= s <= MAX_STARS)
        ),
        st.just(float("nan")),
    ),
    profile=PROFILES,
)
def test_bad_stars_are_refused_wherever_they_are(stars: float, profile: dict[int, float]) -> None:
    with pytest.raises(ValueError, match="ratings must be from"):
        Encoding().encode_query({**profile, 0: stars})


@EXAMPLES
@given(profile=st.dictionaries(MOVIE_IDS, HALF_STARS, max_size=300))
def test_link_and_csv_round_trip(profile: dict[int, float]) -> None:
    known = set(profile)
    assert parse_profile(format_profile(profile), known).ratings == profile
    titles = {m: f'Movie, "{m}" <b>' for m in profile}
    assert profile_from_csv(profile_to_csv(profile, titles), known).ratings == profile


@EXAMPLES
@given(text=st.text(max_size=3000))
def test_any_link_text_parses_to_valid_ratings_and_never_echoes(text: str) -> None:
    known = set(range(1, 2000))
    parsed = parse_profile(text, known)
    assert set(parsed.ratings) <= known
    assert all(MIN_STARS <= s <= MAX_STARS and s * 2 == int(s * 2) for s in parsed.ratings.values())
    for problem in parsed.problems:
        assert len(text) < 8 or text.strip() not in problem


# --------------------------------------------------------------------------- scoring


@st.composite
def neighbourhoods(draw: st.DrawFn) -> tuple[SparseRows, np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(0, 25))
    rows = [draw(st.dictionaries(st.integers(1, 40), HALF_STARS, max_size=20)) for _ in range(n)]
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64)
    indices = np.array([m for r in rows for m in sorted(r)], dtype=np.int32)
    values = np.array([r[m] for r in rows for m in sorted(r)], dtype=np.float32)
    similarities = np.array(draw(st.lists(st.floats(-1, 1), min_size=n, max_size=n)))
    exclude = np.array(draw(st.lists(st.integers(1, 40), max_size=10)), dtype=np.int64)
    popularity = np.array(draw(st.lists(st.integers(0, 500), min_size=41, max_size=41)))
    return SparseRows(indptr, indices, values), similarities, exclude, popularity


@EXAMPLES
@given(
    case=neighbourhoods(),
    encoding=ENCODING,
    options=st.builds(
        ScoringOptions,
        min_raters=st.integers(1, 4),
        similarity_exponent=st.floats(0, 4),
        offset=st.floats(-2, 3),
        liked_only=st.booleans(),
        popularity_penalty=st.floats(0, 1),
        regression_weight=st.sampled_from([0.0, 1.0, 3.0]),
        regression_ridge=st.floats(0.01, 10),
    ),
)
def test_candidates_are_sorted_unrated_and_rated_by_enough_neighbours(
    case, encoding: Encoding, options: ScoringOptions
) -> None:
    rows, similarities, exclude, popularity = case
    found = score_candidates(
        rows, similarities, exclude, encoding, options, popularity, rated=exclude
    )
    movies, scores = found.movie_ids.tolist(), found.scores.tolist()
    assert len(set(movies)) == len(movies)
    assert not set(movies) & set(exclude.tolist())
    assert all(math.isfinite(s) for s in scores)
    assert all(
        (a > b) or (a == b and m < n)
        for a, b, m, n in zip(scores, scores[1:], movies, movies[1:], strict=False)
    )  # best first, ties by movie id
    assert all(r >= options.min_raters for r in found.raters.tolist())
    assert all(MIN_STARS <= s <= MAX_STARS for s in found.mean_stars.tolist())


@cache
def shared_recommender() -> Recommender:
    return Recommender.build(two_taste_dataset(), EdgeStore.temporary("properties"))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    profile=st.dictionaries(st.integers(1, 10), HALF_STARS, max_size=10),
    groups=st.lists(st.sampled_from(list(AGE_GROUPS)), max_size=3, unique=True),
    genders=st.lists(st.sampled_from(["F", "M"]), max_size=2, unique=True),
    limit=st.integers(1, 20),
    neighbours=st.integers(1, 30),
    min_raters=st.integers(1, 5),
)
def test_recommendations_respect_ratings_filters_and_limits(
    profile, groups, genders, limit, neighbours, min_raters
) -> None:
    recommender = shared_recommender()
    result = recommender.recommend_explained(
        profile,
        limit,
        age_groups=groups,
        genders=genders,
        neighbours=neighbours,
        min_raters=min_raters,
    )
    ids = [item.movie_id for item in result.items]
    assert len(ids) <= limit and len(set(ids)) == len(ids)
    if not result.popular:
        assert not set(ids) & set(profile)
        scores = [item.score for item in result.items]
        assert scores == sorted(scores, reverse=True)
        assert all(item.raters >= min_raters for item in result.items)
    assert len(result.neighbours) <= neighbours
    for neighbour in result.neighbours:
        assert not groups or neighbour.age_group in groups
        assert not genders or neighbour.gender in genders

"""Encodings: known values, dropped zeros, the query encoded like the index."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reco.encode import Encoding, SparseRows, row_sums, rows_from_ratings


def _rows(*profiles: dict[int, float]) -> SparseRows:
    users = np.concatenate([[u] * len(p) for u, p in enumerate(profiles)])
    movies = np.concatenate([list(p) for p in profiles])
    stars = np.concatenate([list(p.values()) for p in profiles])
    _, rows = rows_from_ratings(users, movies, stars)
    return rows


def test_rows_from_ratings_groups_by_user_and_sorts_movies() -> None:
    users, rows = rows_from_ratings(
        np.array([7, 3, 7, 3]), np.array([20, 5, 10, 1]), np.array([1.0, 2.0, 3.0, 4.0])
    )
    assert users.tolist() == [3, 7]
    assert rows.row(0).as_dict() == {1: 4.0, 5: 2.0}
    assert rows.row(1).as_dict() == {10: 3.0, 20: 1.0}


def test_zscore_is_the_seed_global_standardisation() -> None:
    encoding = Encoding("zscore", global_mean=3.0, global_std=2.0)
    encoded = encoding.encode_rows(_rows({1: 5.0, 2: 3.0, 3: 1.0}))
    assert encoded.row(0).as_dict() == {1: 1.0, 3: -1.0}  # 3.0 is the mean: dropped


def test_fit_learns_global_mean_and_std() -> None:
    encoding = Encoding.fit(np.array([1.0, 3.0, 5.0, 3.0]), "zscore")
    assert encoding.global_mean == pytest.approx(3.0)
    assert encoding.global_std == pytest.approx(math.sqrt(2.0))


def test_centered_subtracts_the_shrunk_user_mean() -> None:
    # mean of (5, 3) = 4, shrunk by 2 pseudo-ratings of 3.0 -> (8 + 6) / 4 = 3.5
    encoding = Encoding("centered", shrinkage=2.0, global_mean=3.0)
    assert encoding.encode_rows(_rows({1: 5.0, 2: 3.0})).row(0).as_dict() == {1: 1.5, 2: -0.5}


def test_centered_without_shrinkage_keeps_a_five_star_profile_empty() -> None:
    plain = Encoding("centered", shrinkage=0.0)
    assert len(plain.encode_query({1: 5.0, 2: 5.0})) == 0
    shrunk = Encoding("centered", shrinkage=5.0, global_mean=3.5)
    assert all(v > 0 for v in shrunk.encode_query({1: 5.0, 2: 5.0}).values)


def test_liked_is_plus_one_minus_one_and_drops_the_middle() -> None:
    encoded = Encoding("liked").encode_query({1: 5.0, 2: 4.0, 3: 3.0, 4: 2.5, 5: 2.0, 6: 0.5})
    assert encoded.as_dict() == {1: 1.0, 2: 1.0, 5: -1.0, 6: -1.0}


def test_binary_and_centered_offset() -> None:
    assert Encoding("binary").encode_query({1: 5.0, 2: 0.5}).as_dict() == {1: 1.0, 2: 1.0}
    encoding = Encoding("centered_offset", shrinkage=0.0, offset=1.0)
    # mean 3: 5 -> 2 + 1, 3 -> 0 + 1, 1 -> -2 + 1
    assert encoding.encode_query({1: 5.0, 2: 3.0, 3: 1.0}).as_dict() == {1: 3.0, 2: 1.0, 3: -1.0}


def test_normalize_gives_unit_length_rows() -> None:
    encoding = Encoding("liked", normalize=True)
    encoded = encoding.encode_rows(_rows({1: 5.0, 2: 5.0, 3: 1.0, 4: 4.0}, {7: 5.0}))
    assert np.linalg.norm(encoded.row(0).values) == pytest.approx(1.0)
    assert encoded.row(0).values.tolist() == pytest.approx([0.5, 0.5, -0.5, 0.5])
    assert encoded.row(1).as_dict() == {7: 1.0}


def test_query_is_encoded_exactly_like_an_indexed_user() -> None:
    profile = {50: 5.0, 172: 4.5, 181: 2.0, 1: 3.5}
    for name in ("zscore", "centered", "liked", "binary", "centered_offset"):
        encoding = Encoding(name, normalize=True, global_mean=3.4, global_std=1.1)
        as_user = encoding.encode_rows(_rows(profile)).row(0)
        as_query = encoding.encode_query(profile)
        assert as_query.indices.tolist() == as_user.indices.tolist() == sorted(as_query.indices)
        assert as_query.values.tolist() == pytest.approx(as_user.values.tolist())
        assert as_query.values.dtype == np.float32 and as_query.indices.dtype == np.int32
        assert 0 not in as_query.values


@pytest.mark.parametrize("stars", [0.0, 5.5, -1.0, float("nan"), float("inf")])
def test_query_rejects_stars_outside_half_to_five(stars: float) -> None:
    with pytest.raises(ValueError, match="0.5 to 5.0 stars"):
        Encoding().encode_query({1: stars})


def test_unknown_encoding_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown encoding 'cosine'"):
        Encoding("cosine")  # type: ignore[arg-type]


def test_key_changes_with_every_setting() -> None:
    keys = {
        Encoding("liked").key,
        Encoding("zscore").key,
        Encoding("liked", normalize=True).key,
        Encoding("centered", shrinkage=1.0).key,
        Encoding("centered", global_mean=3.0).key,
    }
    assert len(keys) == 5


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_user_without_ratings_and_no_shrinkage_has_the_global_mean() -> None:
    """Found by the property tests: 0 ratings / 0 shrinkage was a 0/0 (NaN and a warning)."""
    encoding = Encoding("centered", shrinkage=0.0, global_mean=3.2)
    means = encoding.user_means(np.array([4.0, 2.0]), np.array([0, 0, 2]))
    assert means.tolist() == [3.2, 3.0]


def test_row_sums_handle_empty_rows_anywhere() -> None:
    values = np.array([1.0, 2.0, 3.0, 4.0, 5.0], dtype=np.float32)
    indptr = np.array([0, 0, 3, 3, 5, 5])  # empty first, middle and last rows
    assert row_sums(values, indptr).tolist() == [0.0, 6.0, 0.0, 9.0, 0.0]
    assert row_sums(np.empty(0), np.array([0, 0])).tolist() == [0.0]
    assert row_sums(values, np.array([0])).tolist() == []


def test_encoding_several_queries_at_once_encodes_each_as_alone() -> None:
    encoding = Encoding("centered_offset", normalize=True, global_mean=3.4)
    profiles = [{9: 4.0, 2: 1.5, 5: 5.0}, {}, {7: 3.0}, {1: 2.0, 3: 4.5}]
    together = encoding.encode_queries(profiles)
    assert len(together) == 4 and len(together[1]) == 0
    for profile, vector in zip(profiles, together, strict=True):
        alone = encoding.encode_query(profile)
        assert vector.indices.tolist() == alone.indices.tolist() == sorted(profile)
        assert vector.values.tolist() == pytest.approx(alone.values.tolist())
    with pytest.raises(ValueError, match="ratings must be from"):
        encoding.encode_queries([{1: 4.0}, {2: 7.0}])

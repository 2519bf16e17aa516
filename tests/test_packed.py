"""Users' ratings packed into one payload string and unpacked for many users at once."""

from __future__ import annotations

import numpy as np
import pytest

from reco.encode import SparseVector
from reco.packed import pack_many, pack_stars, unpack_stars


def vec(values: dict[int, float]) -> SparseVector:
    keys = sorted(values)
    return SparseVector(
        np.array(keys, dtype=np.int64), np.array([values[k] for k in keys], dtype=np.float32)
    )


def words(text: str) -> list[int]:
    return np.frombuffer(bytes.fromhex(text), dtype="<u2").tolist()


def test_half_stars_take_one_16_bit_word_each_four_hex_digits() -> None:
    packed = pack_stars(vec({1: 0.5, 7: 5.0, 4102: 3.0}))
    # steps from the previous id: 1, 6, 4095 (the largest one word holds)
    assert words(packed) == [1 << 4 | 1, 6 << 4 | 10, 4095 << 4 | 6]
    assert packed == "1100 6a00 f6ff".replace(" ", "")
    assert pack_stars(vec({})) == ""


def test_far_apart_ids_are_bridged_by_jump_words() -> None:
    far = vec({5: 4.0, 5 + 4096: 3.5, 290_000: 1.0, (1 << 31) - 1: 2.0})
    packed = pack_stars(far)
    assert 0 in [w & 15 for w in words(packed)]  # jumps carry no stars
    rows = unpack_stars([packed])
    assert rows.indices.tolist() == [5, 4101, 290_000, (1 << 31) - 1]
    assert rows.values.tolist() == [4.0, 3.5, 1.0, 2.0]


def test_rows_round_trip_together_whatever_their_kind() -> None:
    half = vec({1: 0.5, 7: 5.0, 268_435_455: 3.5})
    odd = vec({2: 3.7, 9: 4.0})  # not half stars: stored as float32
    beyond = vec({4: 7.5})  # beyond 5 stars: float32 too
    empty = vec({})
    rows = unpack_stars([pack_stars(v) for v in (half, empty, odd, beyond, half)])
    assert rows.indptr.tolist() == [0, 3, 3, 5, 6, 9]
    assert rows.indices.tolist() == [1, 7, 268_435_455, 2, 9, 4, 1, 7, 268_435_455]
    assert rows.values.tolist() == pytest.approx([0.5, 5.0, 3.5, 3.7, 4.0, 7.5, 0.5, 5.0, 3.5])
    only_half = unpack_stars([pack_stars(half), pack_stars(empty), pack_stars(vec({2: 1.0}))])
    assert only_half.indptr.tolist() == [0, 3, 3, 4]  # each row restarts its running id
    assert only_half.indices.tolist() == [1, 7, 268_435_455, 2]
    assert len(unpack_stars([])) == 0


def test_unsorted_input_is_packed_in_id_order_and_duplicates_are_refused() -> None:
    shuffled = SparseVector(np.array([9, 2, 5]), np.array([1.0, 2.0, 3.0]))
    rows = unpack_stars([pack_stars(shuffled)])
    assert rows.indices.tolist() == [2, 5, 9]
    assert rows.values.tolist() == [2.0, 3.0, 1.0]
    with pytest.raises(ValueError, match="once"):
        pack_stars(SparseVector(np.array([2, 2]), np.array([1.0, 2.0])))
    with pytest.raises(ValueError, match="2\\^31"):
        pack_stars(SparseVector(np.array([-1]), np.array([1.0])))


def test_a_random_neighbourhood_round_trips() -> None:
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(50):
        ids = np.unique(rng.integers(1, 300_000, rng.integers(0, 80)))
        stars = rng.integers(1, 11, len(ids)) / 2
        rows.append(vec(dict(zip(ids.tolist(), stars.tolist(), strict=True))))
    unpacked = unpack_stars([pack_stars(row) for row in rows])
    for i, row in enumerate(rows):
        assert unpacked.row(i).indices.tolist() == row.indices.tolist()
        assert unpacked.row(i).values.tolist() == row.values.tolist()


@pytest.mark.parametrize(
    "damaged",
    [
        "not hex!",  # not hex
        "110",  # not whole words
        "  1100  ",  # whitespace, which hex decoding would skip
        "11000b00",  # a rating word of 11 half stars
        "ffff02000000",  # a float row announcing two ratings it does not hold
        "ffff0000000000",  # a float row with more than it announces
    ],
)
def test_damaged_packed_stars_are_refused(damaged: str) -> None:
    with pytest.raises(ValueError, match="damaged"):
        unpack_stars([damaged])


def test_many_users_pack_at_once_exactly_as_one_at_a_time() -> None:
    rng = np.random.default_rng(3)
    users = [vec({}), vec({5: 2.5}), vec({2: 3.7, 9: 4.0})]  # empty, one, float stars
    for _ in range(40):  # ids up to 300,000: far-apart ids need jump words, some need several
        ids = np.unique(rng.integers(0, 300_000, rng.integers(1, 60)))
        users.append(
            vec(dict(zip(ids.tolist(), (rng.integers(1, 11, len(ids)) / 2).tolist(), strict=True)))
        )
    users.append(vec({(1 << 31) - 1: 5.0, 0: 0.5}))  # extreme ids: 0, then 129 jump words
    users.append(SparseVector(np.array([9, 2]), np.array([1.0, 2.0])))  # unsorted: sorted
    assert pack_many(users) == [pack_stars(user) for user in users]
    assert pack_many([]) == []
    with pytest.raises(ValueError, match="once"):
        pack_many([vec({1: 1.0}), SparseVector(np.array([3, 3]), np.array([1.0, 2.0]))])

"""A user's raw ratings packed into one short payload string, and back for many users at once.

The engine hands the string back with each neighbour; how long it is costs every query twice
(the engine reads and copies it, then it is decoded here), so the layout is compact:

- MovieLens's half stars: one little-endian 16-bit word per rating, ``step << 4 | half
  stars`` (half stars 1-10), where ``step`` (0-4095) is the movie id's distance from the
  previous movie id of the row (from 0 for the first). A larger distance is bridged first by
  *jump* words, ``high << 4`` (half stars 0), each adding ``high << 12``; ids ascend.
- other stars (not half stars, or beyond 5): the word `_FLOAT_ROW`, the count as two words,
  the movie ids as 32-bit words, then the stars as float32.

The words are written in hex, four characters per rating: a neighbourhood's strings joined
are the hex of its rows one after the other, decoded in one call (several times faster than
base64, which would be a third shorter) and unpacked in a few vectorised passes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reco.encode import SparseRows, SparseVector

_FLOAT_ROW = 0xFFFF  # first word of a float row (half stars 15: never a rating word)
_STEP_BITS = 12
_STEP_LIMIT = 1 << _STEP_BITS
_MOST_HALVES = 10  # 5 stars
_FLOAT_HEAD = 3  # words before a float row's ids: the marker and the count
_ID_LIMIT = 1 << 31  # movie ids are 32-bit signed integers everywhere else


def pack_stars(stars: SparseVector) -> str:
    """One user's ratings as a payload string (see the module's layout); ids in any order.
    Raises `ValueError` for ids outside 0 to 2^31 - 1 or a movie rated twice."""
    ids = np.asarray(stars.indices, dtype=np.int64)
    values = np.asarray(stars.values, dtype=np.float64)
    if len(ids) and ((ids < 0) | (ids >= _ID_LIMIT)).any():
        raise ValueError("movie ids must be from 0 to 2^31 - 1")
    order = np.argsort(ids, kind="stable")
    ids, values = ids[order], values[order]
    if len(ids) > 1 and (np.diff(ids) == 0).any():
        raise ValueError("a user rates each movie once")
    halves = values * 2
    if np.array_equal(halves, np.round(halves)) and ((halves >= 1) & (halves <= 10)).all():
        words, _ = _half_star_words(np.diff(ids, prepend=0), halves.astype(np.int64))
    else:
        count = len(ids)
        head = np.array([_FLOAT_ROW, count & 0xFFFF, count >> 16], dtype="<u2")
        body = np.concatenate([ids.astype("<u4"), values.astype("<f4").view("<u4")])
        words = np.concatenate([head, body.view("<u2")])
    return words.astype("<u2").tobytes().hex()


def pack_many(stars: Sequence[SparseVector]) -> list[str]:
    """`pack_stars` of each user, the usual rows (half stars, ascending ids) in one
    vectorised pass: what the build calls for a batch of users."""
    lengths = np.fromiter((len(s.indices) for s in stars), dtype=np.int64, count=len(stars))
    indptr = np.zeros(len(stars) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    if not len(stars) or not indptr[-1]:
        return [pack_stars(s) for s in stars]
    ids = np.concatenate([np.asarray(s.indices, dtype=np.int64) for s in stars])
    halves = np.concatenate([np.asarray(s.values, dtype=np.float64) for s in stars]) * 2
    owner = np.repeat(np.arange(len(stars)), lengths)
    firsts = indptr[:-1][lengths > 0]
    steps = np.diff(ids, prepend=0)
    steps[firsts] = ids[firsts]  # each row's first id counts from 0
    later = np.ones(len(ids), dtype=bool)
    later[firsts] = False
    unusual = ~((halves == np.round(halves)) & (halves >= 1) & (halves <= 10))
    unusual |= (ids < 0) | (ids >= _ID_LIMIT) | (later & (steps <= 0))
    slow = np.zeros(len(stars), dtype=bool)  # rows for `pack_stars` one at a time
    slow[owner[unusual]] = True
    usual = ~slow[owner]
    words, sizes = _half_star_words(steps[usual], halves[usual].astype(np.int64))
    row_words = np.bincount(owner[usual], weights=sizes, minlength=len(stars)).astype(np.int64)
    bounds = np.zeros(len(stars) + 1, dtype=np.int64)
    np.cumsum(row_words * 4, out=bounds[1:])
    text = words.astype("<u2").tobytes().hex()
    cuts = bounds.tolist()
    packed = [text[cuts[i] : cuts[i + 1]] for i in range(len(stars))]
    for row in np.flatnonzero(slow).tolist():
        packed[row] = pack_stars(stars[row])
    return packed


def _half_star_words(steps: np.ndarray, halves: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The words of ratings given as steps from the previous id and half stars, jump words
    before the far ones; and how many words each rating took (1 + its jumps)."""
    high = steps >> _STEP_BITS
    jumps = -(-high // (_STEP_LIMIT - 1))  # jump words before each rating: ceil(high / 4095)
    sizes = 1 + jumps
    ends = np.cumsum(sizes)
    words = np.zeros(int(ends[-1]) if len(ends) else 0, dtype=np.int64)
    at = ends - 1  # each rating's own word comes after its jumps
    words[at] = (steps & (_STEP_LIMIT - 1)) << 4 | halves
    if jumps.any():
        before = np.repeat(np.arange(len(steps)), jumps)  # the rating each jump word precedes
        runs = jumps[before]
        nth = np.arange(len(before)) - np.repeat(np.cumsum(jumps) - jumps, jumps)
        full = _STEP_LIMIT - 1
        value = np.where(nth < runs - 1, full, high[before] - full * (runs - 1))
        words[at[before] - runs + nth] = value << 4
    return words.astype("<u2"), sizes


def unpack_stars(packed: Sequence[str]) -> SparseRows:
    """Rows packed by `pack_stars`, as one CSR matrix. Raises `ValueError` for damaged rows."""
    if not packed:
        return SparseRows(np.zeros(1, np.int64), np.empty(0, np.int32), np.empty(0, np.float32))
    try:
        sizes = np.fromiter(map(len, packed), dtype=np.int64, count=len(packed))
        body = bytes.fromhex("".join(packed))
    except (ValueError, TypeError) as error:
        raise ValueError(f"stored stars are damaged: {error}") from None
    if (sizes % 4).any() or len(body) * 2 != int(sizes.sum()):  # fromhex skips whitespace
        raise ValueError("stored stars are damaged: not whole 16-bit words")
    words = np.frombuffer(body, dtype="<u2")
    bounds = np.zeros(len(packed) + 1, dtype=np.int64)
    np.cumsum(sizes // 4, out=bounds[1:])
    starts = bounds[:-1][sizes > 0]
    if (words[starts] == _FLOAT_ROW).any():  # rare: rows of other stars, one at a time
        return _unpack_each(words, bounds)
    return _unpack_half_stars(words, bounds)


def _unpack_half_stars(words: np.ndarray, bounds: np.ndarray) -> SparseRows:
    """Rows of half-star words, vectorised: one running sum of the steps, restarted per row."""
    halves = words & 15
    rating = halves != 0
    steps = np.right_shift(words, 4, dtype=np.int64)
    if np.count_nonzero(words) != np.count_nonzero(rating):  # jump words (far-apart ids)
        steps[~rating] <<= _STEP_BITS
    filled = bounds[1:] > bounds[:-1]
    starts = bounds[:-1][filled]
    counts = np.zeros(len(bounds) - 1, dtype=np.int64)
    if len(starts):
        last_ids = np.add.reduceat(steps, starts)
        steps[starts[1:]] -= last_ids[:-1]  # the running sum restarts from 0 at each row
        counts[filled] = np.add.reduceat(rating, starts, dtype=np.int64)
    ids = np.cumsum(steps)[rating]
    if len(ids) and (halves.max() > _MOST_HALVES or ids.max() >= _ID_LIMIT):
        raise ValueError("stored stars are damaged: a rating beyond 5 stars or id range")
    indptr = np.zeros(len(bounds), dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    stars = halves[rating].astype(np.float32) * np.float32(0.5)
    return SparseRows(indptr, ids.astype(np.int32), stars)


def _unpack_each(words: np.ndarray, bounds: np.ndarray) -> SparseRows:
    pairs = zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)
    return SparseRows.stack([_unpack_row(words[start:end]) for start, end in pairs])


def _unpack_row(words: np.ndarray) -> SparseRows:
    if not len(words) or words[0] != _FLOAT_ROW:
        return _unpack_half_stars(words, np.array([0, len(words)], dtype=np.int64))
    if len(words) < _FLOAT_HEAD:
        raise ValueError("stored stars are damaged: a float row without its count")
    count = int(words[1]) | int(words[2]) << 16
    body = words[_FLOAT_HEAD:]
    if len(body) != 4 * count:
        raise ValueError("stored stars are damaged: a float row of the wrong length")
    ids = body[: 2 * count].copy().view("<u4").astype(np.int64)
    if (ids >= _ID_LIMIT).any():
        raise ValueError("stored stars are damaged: an id out of range")
    values = body[2 * count : 4 * count].copy().view("<f4")
    return SparseRows(
        np.array([0, count], dtype=np.int64), ids.astype(np.int32), values.astype(np.float32)
    )

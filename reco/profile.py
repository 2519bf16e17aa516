"""A person's ratings ``{movie_id: stars}`` to and from a URL parameter and a CSV file.

Parsing never raises on bad input: it keeps the valid ratings and describes what it dropped
in `Parsed.problems` (plain sentences with numbers only, safe to show as they are).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Container, Mapping
from dataclasses import dataclass, field

import pandas as pd

from reco.datasets import MAX_STARS, MIN_STARS, plural

MAX_LINK_CHARS = 40_000
MAX_FILE_BYTES = 2_000_000
MAX_RATINGS = 5_000

_ITEM = re.compile(r"^\s*(\d{1,9})\s*[:=]\s*([0-9]+(?:\.[0-9]+)?)\s*$")
_ID_COLUMNS = ("movie_id", "movieid", "movie", "id")
_STAR_COLUMNS = ("rating", "stars", "my_rating")


@dataclass(frozen=True)
class Parsed:
    """Valid ratings found, and sentences about what was left out."""

    ratings: dict[int, float] = field(default_factory=dict)
    problems: tuple[str, ...] = ()


def snap(stars: float) -> float:
    """Round to the nearest half star, as the sliders show them."""
    return min(MAX_STARS, max(MIN_STARS, round(stars * 2) / 2))


def format_profile(ratings: Mapping[int, float]) -> str:
    """``{172: 4.5, 50: 5}`` -> ``"50:5,172:4.5"`` (sorted by movie id)."""
    return ",".join(f"{movie}:{ratings[movie]:g}" for movie in sorted(ratings))


def parse_profile(text: str | None, known: Container[int]) -> Parsed:
    """Parse ``"50:5,172:4.5"``: unknown movies, bad pairs and bad stars are left out."""
    if not text:
        return Parsed()
    if len(text) > MAX_LINK_CHARS:
        return Parsed(problems=("The ratings in the link are too long to read; none were used.",))
    pairs: list[tuple[int, float]] = []
    malformed = 0
    for item in text.split(","):
        if not item.strip():
            continue
        match = _ITEM.match(item)
        if match is None:
            malformed += 1
            continue
        pairs.append((int(match.group(1)), float(match.group(2))))
    parsed = _collect(pairs, known, "in the link")
    if malformed:
        what = (
            "is not a movie:stars pair and was"
            if malformed == 1
            else ("are not movie:stars pairs and were")
        )
        sentence = f"{plural(malformed, 'part')} of the link {what} ignored."
        return Parsed(parsed.ratings, (sentence, *parsed.problems))
    return parsed


def profile_to_csv(ratings: Mapping[int, float], titles: Mapping[int, str]) -> bytes:
    """CSV with columns movie_id, title, rating (UTF-8)."""
    frame = pd.DataFrame(
        {
            "movie_id": sorted(ratings),
            "title": [titles.get(m, "") for m in sorted(ratings)],
            "rating": [ratings[m] for m in sorted(ratings)],
        }
    )
    return frame.to_csv(index=False).encode("utf-8")


def profile_from_csv(data: bytes, known: Container[int]) -> Parsed:
    """Read ratings from a CSV with a movie id column and a rating column (``title`` optional)."""
    if len(data) > MAX_FILE_BYTES:
        return Parsed(problems=(f"The file is over {MAX_FILE_BYTES // 1_000_000} MB; not read.",))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError):
        return Parsed(problems=("The file is not a readable CSV table.",))
    columns = {str(c).strip().lower(): c for c in frame.columns}
    id_column = next((columns[c] for c in _ID_COLUMNS if c in columns), None)
    star_column = next((columns[c] for c in _STAR_COLUMNS if c in columns), None)
    if id_column is None or star_column is None:
        return Parsed(problems=("The file needs a movie_id column and a rating column.",))
    pairs: list[tuple[int, float]] = []
    malformed = 0
    for movie, stars in zip(frame[id_column], frame[star_column], strict=True):
        try:
            movie_id, value = int(str(movie).strip()), float(str(stars).strip())
        except ValueError:
            malformed += 1
            continue
        pairs.append((movie_id, value))
    parsed = _collect(pairs, known, "in the file")
    if malformed:
        sentence = (
            f"{plural(malformed, 'row')} of the file "
            f"{'has' if malformed == 1 else 'have'} no whole movie id or numeric rating."
        )
        return Parsed(parsed.ratings, (sentence, *parsed.problems))
    return parsed


def _collect(pairs: list[tuple[int, float]], known: Container[int], where: str) -> Parsed:
    ratings: dict[int, float] = {}
    unknown: list[int] = []
    out_of_range = 0
    for movie_id, stars in pairs:
        if movie_id not in known:
            unknown.append(movie_id)
        elif not (math.isfinite(stars) and MIN_STARS <= stars <= MAX_STARS):
            out_of_range += 1
        else:
            ratings[movie_id] = snap(stars)
    problems = []
    if unknown:
        shown = ", ".join(str(m) for m in unknown[:5]) + (" …" if len(unknown) > 5 else "")
        were = "was" if len(unknown) == 1 else "were"
        problems.append(
            f"{plural(len(unknown), 'unknown movie id')} {where} {were} ignored ({shown})."
        )
    if out_of_range:
        problems.append(
            f"{plural(out_of_range, 'rating')} {where} outside {MIN_STARS:g}–{MAX_STARS:g} stars "
            f"{'was' if out_of_range == 1 else 'were'} ignored."
        )
    if len(ratings) > MAX_RATINGS:
        problems.append(f"Only the first {MAX_RATINGS} ratings {where} were kept.")
        ratings = dict(list(ratings.items())[:MAX_RATINGS])
    return Parsed(ratings, tuple(problems))

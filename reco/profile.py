"""A person's ratings ``{movie_id: stars}``, and the films they hid ("not interested"), to and
from URL parameters and a CSV file.

Parsing never raises on bad input: it keeps the valid ratings and describes what it dropped
in `Parsed.problems` (plain sentences with numbers only, safe to show as they are).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Collection, Container, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import pandas as pd

from reco.datasets import DEFAULT_DATASET, release_named
from reco.scale import MAX_STARS, MIN_STARS, snap
from reco.search import fold
from reco.words import plural

MAX_LINK_CHARS = 40_000
MAX_FILE_BYTES = 2_000_000
MAX_RATINGS = 5_000

_ITEM = re.compile(r"^\s*(\d{1,9})\s*[:=]\s*([0-9]+(?:\.[0-9]+)?)\s*$")
_ID_COLUMNS = ("movie_id", "movieid", "movie", "id")
_STAR_COLUMNS = ("rating", "stars", "my_rating")
_HIDDEN_COLUMN = "hidden"
_RELEASE_COLUMN = "release"
_YES = frozenset({"yes", "y", "true", "1", "x"})


@dataclass(frozen=True)
class Parsed:
    """Valid ratings found, and sentences about what was left out."""

    ratings: dict[int, float] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    hidden: frozenset[int] = frozenset()  # films marked "not interested"


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


def format_hidden(hidden: Collection[int]) -> str:
    """``{50, 7}`` -> ``"7,50"``."""
    return ",".join(str(m) for m in sorted(hidden))


def parse_hidden(text: str | None, known: Container[int]) -> Parsed:
    """Parse the hidden films of a link (``"7,50"``): unknown and malformed ids are left out."""
    if not text:
        return Parsed()
    if len(text) > MAX_LINK_CHARS:
        return Parsed(problems=("The hidden films in the link are too many to read.",))
    items = [item.strip() for item in text.split(",") if item.strip()]
    usable = [item.isdigit() and len(item) <= 9 and int(item) in known for item in items]
    kept = list(dict.fromkeys(int(item) for item, ok in zip(items, usable, strict=True) if ok))
    problems = []
    ignored = usable.count(False)
    if ignored:
        had = (
            "is not a known movie id and was"
            if ignored == 1
            else "are not known movie ids and were"
        )
        problems.append(f"{plural(ignored, 'hidden film')} in the link {had} ignored.")
    if len(kept) > MAX_RATINGS:  # capped like ratings
        problems.append(f"Only the first {MAX_RATINGS:,} hidden films in the link were kept.")
        kept = kept[:MAX_RATINGS]
    return Parsed(hidden=frozenset(kept), problems=tuple(problems))


def parse_link(text: str | None, known: Container[int], release: str) -> Parsed:
    """Another person's ratings from their shared link, pasted whole (``https://…/?r=50:5&
    h=7``), as its query (``r=50:5``) or as the ratings alone (``50:5,172:4.5``). A link of
    another release than ``release`` gives no ratings (its movie ids mean other films)."""
    text = (text or "").strip()
    if not text:
        return Parsed(problems=("The link is empty.",))
    if len(text) > MAX_LINK_CHARS:
        return Parsed(problems=("The link is too long to read; none of it was used.",))
    if "=" not in text and "?" not in text:  # the ratings alone
        return parse_profile(text, known)
    query = urlsplit(text).query if "?" in text else text
    params = parse_qs(query, keep_blank_values=True)
    linked = params.get("dataset", [DEFAULT_DATASET])[-1]
    if linked != release:
        named = release_named(linked)
        return Parsed(
            problems=(f"The link holds ratings of {named}, not {release}; none were used.",)
        )
    if "r" not in params and "h" not in params:
        return Parsed(problems=("The link holds no ratings (no r=… part).",))
    ratings = parse_profile(params.get("r", [""])[-1], known)
    hidden = parse_hidden(params.get("h", [""])[-1], known)
    return Parsed(
        ratings.ratings,
        (*ratings.problems, *hidden.problems),
        frozenset(hidden.hidden - ratings.ratings.keys()),
    )


def profile_to_csv(
    ratings: Mapping[int, float],
    titles: Mapping[int, str],
    hidden: Collection[int] = (),
    release: str | None = None,
) -> bytes:
    """CSV with columns movie_id, title, rating (UTF-8), one row per rating, titles made
    safe for a spreadsheet (`spreadsheet_safe`); with hidden films also a ``hidden`` column and
    one row per hidden film (no rating, ``hidden`` = yes)."""
    hidden = sorted(set(hidden) - set(ratings))
    frame = pd.DataFrame(
        {
            "movie_id": [*sorted(ratings), *hidden],
            "title": [spreadsheet_safe(titles.get(m, "")) for m in [*sorted(ratings), *hidden]],
            "rating": [f"{ratings[m]:g}" for m in sorted(ratings)] + [""] * len(hidden),
            _HIDDEN_COLUMN: [""] * len(ratings) + ["yes"] * len(hidden),
        }
    )
    if not hidden:
        frame = frame.drop(columns=_HIDDEN_COLUMN)
    if release is not None:  # a restore elsewhere can tell the release its ids belong to
        frame[_RELEASE_COLUMN] = release
    return frame.to_csv(index=False).encode("utf-8")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (OWASP's rule for CSV
    injection): one starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets
    a leading ``'``; line breaks become spaces (a carriage return would end the row)."""
    safe = f"'{text}" if text.startswith(_FORMULA_START) else text
    return safe.replace("\r", " ").replace("\n", " ")


def profile_from_csv(
    data: bytes,
    known: Container[int],
    release: str | None = None,
    titles: Mapping[int, str] | None = None,
) -> Parsed:
    """Read ratings from a CSV with a movie id column and a rating column (``title``,
    ``hidden`` and ``release`` optional). A file of another ``release`` (its ``release``
    column), or whose titles mostly differ from this release's ``titles`` for the same ids,
    gives nothing: its movie ids mean other films (titles are compared loosely, as a person
    may have typed them: `_same_film`)."""
    if len(data) > MAX_FILE_BYTES:
        return Parsed(problems=(f"The file is over {MAX_FILE_BYTES // 1_000_000} MB; not read.",))
    text = _decoded(data)
    first = text.split("\n", 1)[0]
    separator = max((",", ";", "\t"), key=first.count)  # what a spreadsheet saved it with
    try:
        frame = pd.read_csv(io.StringIO(text), sep=separator, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError):
        return Parsed(problems=("The file is not a readable CSV table.",))
    columns = {str(c).strip().lower(): c for c in frame.columns}
    id_column = next((columns[c] for c in _ID_COLUMNS if c in columns), None)
    star_column = next((columns[c] for c in _STAR_COLUMNS if c in columns), None)
    if id_column is None or star_column is None:
        return Parsed(problems=("The file needs a movie_id column and a rating column.",))
    other = _other_release(frame, columns, id_column, release, titles)
    if other:
        return Parsed(problems=(other,))
    pairs: list[tuple[int, float]] = []
    hidden: set[int] = set()
    malformed = 0
    flags = frame[columns[_HIDDEN_COLUMN]] if _HIDDEN_COLUMN in columns else [""] * len(frame)
    for movie, stars, flag in zip(frame[id_column], frame[star_column], flags, strict=True):
        if str(flag).strip().lower() in _YES:
            if str(movie).strip().isdigit():
                hidden.add(int(str(movie).strip()))
            else:
                malformed += 1
            continue
        try:
            movie_id, value = int(str(movie).strip()), float(str(stars).strip())
        except ValueError:
            malformed += 1
            continue
        pairs.append((movie_id, value))
    parsed = _collect(pairs, known, "in the file")
    problems = list(parsed.problems)
    kept = frozenset(m for m in hidden if m in known and m not in parsed.ratings)
    unknown = len([m for m in hidden if m not in known])
    if unknown:
        had = "had an unknown movie id and was" if unknown == 1 else "had unknown ids and were"
        problems.append(f"{plural(unknown, 'hidden film')} in the file {had} ignored.")
    if malformed:
        sentence = (
            f"{plural(malformed, 'row')} of the file "
            f"{'has' if malformed == 1 else 'have'} no whole movie id or numeric rating."
        )
        problems.insert(0, sentence)
    return Parsed(parsed.ratings, tuple(problems), kept)


def _decoded(data: bytes) -> str:
    """A file's text: UTF-16 when it starts with its byte-order mark (as some spreadsheets
    save), else UTF-8 (with or without one), else Latin-1."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _other_release(
    frame: pd.DataFrame,
    columns: Mapping[str, str],
    id_column: str,
    release: str | None,
    titles: Mapping[int, str] | None,
) -> str:
    """Why a file's ratings belong to another release than ``release`` ("" when they may
    not): its ``release`` column names another, or most of its titles are other films'."""
    if release is None:
        return ""
    if _RELEASE_COLUMN in columns:
        named = {str(v).strip() for v in frame[columns[_RELEASE_COLUMN]]} - {""}
        if named and named != {release}:
            other = next(iter(named)) if len(named) == 1 else ""
            shown = release_named(other)
            return f"The file holds ratings of {shown}, not {release}; none were used."
    if titles is None or "title" not in columns:
        return ""
    compared = differ = 0
    for movie, title in zip(frame[id_column], frame[columns["title"]], strict=True):
        text, movie_text = str(title).strip(), str(movie).strip()
        if not text or not movie_text.isdigit() or int(movie_text) not in titles:
            continue
        compared += 1
        differ += not _same_film(text, titles[int(movie_text)])
    if compared and differ * 2 > compared:
        return (
            f"The file's titles are not {release}'s films for the same ids ({differ} of "
            f"{compared} differ): it is from another release; none were used."
        )
    return ""


def _same_film(given: str, title: str) -> bool:
    """Whether a title a file gives (the app's, or one a person typed: "Silence", "pulp
    fiction") names the film ``title``: one folded title holds the other."""
    mine, theirs = fold(given), fold(title)
    return bool(mine) and (mine in theirs or theirs in mine)


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

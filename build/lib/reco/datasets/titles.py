"""Display titles from MovieLens's: ``"Matrix, The (1999)"`` is "The Matrix" of 1999."""

from __future__ import annotations

import re

import pandas as pd

_YEAR = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})(?:\s*[-–]\s*\d{0,4})?\)\s*$")
_ARTICLE = re.compile(
    r"^(?P<body>.+?), (?P<article>The|A|An|L'|La|Le|Les|Il|Lo|Gli|I|Das|Der|Die|El|Los|Las|"
    r"Un|Une|Una|Det|Den|De|Het|En|Ett|O|Os|As)$"
)


def split_title(raw: str) -> tuple[str, int | None]:
    """Split ``"Matrix, The (1999)"`` into the display title ``"The Matrix"`` and ``1999``.

    A trailing alternative title in parentheses is kept after the main one:
    ``"City of Lost Children, The (Cité des enfants perdus, La) (1995)"`` becomes
    ``"The City of Lost Children (Cité des enfants perdus, La)"``.
    """
    text = " ".join(str(raw).split())
    year: int | None = None
    match = _YEAR.match(text)
    if match:
        text, year = match.group("title"), int(match.group("year"))
    main, paren, rest = text.partition(" (")
    article = _ARTICLE.match(main)
    if article:
        sep = "" if article.group("article").endswith("'") else " "
        main = f"{article.group('article')}{sep}{article.group('body')}"
    return (main + paren + rest if paren else main), year


def with_titles(movies: pd.DataFrame) -> pd.DataFrame:
    split = [split_title(raw) for raw in movies["raw_title"]]
    movies = movies.rename(columns={"raw_title": "original_title"})
    movies["title"] = [title for title, _ in split]
    movies["year"] = pd.array([year for _, year in split], dtype="Int16")
    return movies

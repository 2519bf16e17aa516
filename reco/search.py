"""Finding movies by title: tolerant of case, accents, a leading article and small typos."""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from reco.catalog import Catalog
from reco.datasets import NO_GENRE

_ARTICLES = frozenset({"the", "a", "an", "l", "la", "le", "les", "il", "el", "der", "die", "das"})
_NON_WORD = re.compile(r"[^0-9a-z]+")
PARTIAL_MATCH = 0.5  # a title matching some query words scores below this, full matches above
CLOSE_SPELLING = 0.85  # every word matched, but some only by a similar spelling: below this


def fold(text: str) -> str:
    """Lower case, accents removed, punctuation turned into single spaces."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    ascii_text = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", ascii_text.lower()).strip()


def _words(text: str) -> list[str]:
    return [w for w in fold(text).split() if w not in _ARTICLES] or fold(text).split()


class MovieSearch:
    """A title index over a movies frame (``movie_id``, ``title``, optional
    ``original_title``, ``genres``, ``year``) with a popularity for ranking ties.

    Built once per catalog; a search touches only the words close to the query's (exact, by
    prefix through a sorted vocabulary, and within a small edit distance through rapidfuzz)
    and their posting lists, so it stays fast at tens of thousands of films.
    """

    def __init__(self, movies: pd.DataFrame, popularity: pd.Series | None = None):
        self.movies = movies.reset_index(drop=True)
        titles = self.movies["title"].astype(str)
        if "original_title" in self.movies.columns:
            titles = titles + " " + self.movies["original_title"].astype(str)
        self._folded = [fold(title) for title in self.movies["title"].astype(str)]
        # All titles without spaces in one string: "starwars" for "Star Wars" by str.find.
        squashed = [title.replace(" ", "") for title in self._folded]
        self._squashed = "\n".join(squashed)
        self._starts = np.cumsum([0] + [len(t) + 1 for t in squashed[:-1]])
        postings: dict[str, list[int]] = defaultdict(list)
        for row, text in enumerate(titles):
            for word in dict.fromkeys(fold(text).split()):
                postings[word].append(row)
        self._postings = {word: np.array(rows) for word, rows in postings.items()}
        self._vocabulary = sorted(self._postings)
        counts = (
            popularity.reindex(self.movies["movie_id"]).fillna(0).to_numpy()
            if popularity is not None
            else np.zeros(len(self.movies))
        )
        self._popularity = counts.astype(np.float64)
        genres = self.movies.get("genres", pd.Series("", index=self.movies.index)).astype(str)
        genre_rows: dict[str, list[int]] = defaultdict(list)
        for row, names in enumerate(genres.str.split("|")):
            for genre in names:
                genre_rows[genre].append(row)
        self._genre_rows = {genre: np.array(rows) for genre, rows in genre_rows.items()}
        year = self.movies["year"] if "year" in self.movies.columns else pd.Series(dtype=float)
        self._year = pd.to_numeric(year, errors="coerce").astype("Float64").fillna(-1).to_numpy()

    @classmethod
    def of(cls, catalog: Catalog) -> MovieSearch:
        """A search over a catalog's films, ties ranked by how many people rated them."""
        return cls(catalog.movies, catalog.movies.set_index("movie_id")["raters"])

    def genres(self) -> list[str]:
        return sorted(g for g in self._genre_rows if g and g != NO_GENRE)

    def search(
        self,
        text: str = "",
        *,
        genres: Sequence[str] = (),
        years: tuple[int, int] | None = None,
        limit: int = 20,
    ) -> pd.DataFrame:
        """Matching movies, best first, with a ``match`` score in 0-1.

        A query word matches a title word exactly, as a prefix, or within a small edit
        distance. Titles matching every word come first (a query that is a substring of the
        folded title highest), then titles matching only some of the words, scored below 0.5.
        Without text, the filtered movies come by popularity.
        """
        match = np.ones(len(self.movies))
        words = _words(text)[:12]
        if words:
            match = np.zeros(len(self.movies))
            word_scores = [self._row_scores(word) for word in words]
            every_word = set.intersection(*(set(scores) for scores in word_scores))
            for row in every_word:
                match[row] = sum(scores[row] for scores in word_scores) / len(word_scores)
            phrase = fold(text)
            for row in every_word:
                if phrase and phrase in self._folded[row]:
                    match[row] = 1.0 + (0.1 if self._folded[row].startswith(phrase) else 0.0)
            squashed = phrase.replace(" ", "")
            if len(squashed) >= 4:  # "starwars" for "Star Wars"
                rows = self._squashed_rows(squashed)
                match[rows] = np.maximum(match[rows], 0.95)
            if match.max() > 0:  # keep the close matches only
                match[match < 0.6 * match.max()] = 0
            # Below them, titles matching some of the words ("star wars": the Star Trek films).
            for row in set().union(*word_scores) - every_word:
                if match[row] == 0:
                    share = sum(scores.get(row, 0.0) for scores in word_scores) / len(words)
                    match[row] = PARTIAL_MATCH * share
        keep = match > 0
        if genres:
            wanted = np.zeros(len(self.movies), dtype=bool)
            for genre in genres:
                wanted[self._genre_rows.get(genre, np.zeros(0, dtype=np.int64))] = True
            keep &= wanted
        if years is not None:
            keep &= (self._year >= years[0]) & (self._year <= years[1])
        rows = np.flatnonzero(keep)
        order = np.lexsort((rows, -self._popularity[rows], -np.round(match[rows], 3)))
        chosen = rows[order][:limit]
        found = self.movies.iloc[chosen].copy()
        found["match"] = np.minimum(match[chosen], 1.0)
        found["ratings"] = self._popularity[chosen].astype(np.int64)
        return found.reset_index(drop=True)

    def _squashed_rows(self, squashed: str) -> np.ndarray:
        """Rows whose title, spaces removed, contains ``squashed``."""
        found, at = [], self._squashed.find(squashed)
        while at != -1:
            found.append(at)
            at = self._squashed.find(squashed, at + 1)
        return np.unique(np.searchsorted(self._starts, found, side="right") - 1)

    def _row_scores(self, word: str) -> dict[int, float]:
        """Row -> how closely its title matches ``word`` (best title word)."""
        scores: dict[int, float] = {}
        for title_word, closeness in self._similar_words(word):
            for row in self._postings[title_word].tolist():
                if closeness > scores.get(row, 0.0):
                    scores[row] = closeness
        return scores

    def _similar_words(self, word: str) -> list[tuple[str, float]]:
        found: dict[str, float] = {}
        if word in self._postings:
            found[word] = 1.0
        if len(word) >= 2:  # title words starting with it, from the sorted vocabulary
            at = bisect.bisect_left(self._vocabulary, word)
            while at < len(self._vocabulary) and self._vocabulary[at].startswith(word):
                found.setdefault(self._vocabulary[at], 0.9)
                at += 1
        if len(word) >= 4:
            for title_word, ratio, _ in process.extract(
                word, self._vocabulary, scorer=fuzz.ratio, limit=8, score_cutoff=72
            ):
                found.setdefault(title_word, 0.8 * ratio / 100)
        return list(found.items())

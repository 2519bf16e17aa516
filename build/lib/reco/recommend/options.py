"""How neighbours' ratings become scores: the options, the seed notebook's, and the encoding an
index is built with by default."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from reco.encode import EncodingName

# Chosen by `python -m reco evaluate --tune` on ml-100k (docs/evaluation.md).
DEFAULT_ENCODING: EncodingName = "centered_offset"
DEFAULT_NORMALIZE = True  # unit-length vectors: dot product = cosine similarity
DEFAULT_IDF = True  # Qdrant's IDF modifier: agreeing on a rare movie counts more


@dataclass(frozen=True)
class ScoringOptions:
    """How neighbours' ratings become scores."""

    neighbours: int = 100
    min_raters: int = 2
    similarity_exponent: float = 3.0
    offset: float = 2.0
    liked_only: bool = False  # only neighbours' ratings of 4+ stars contribute
    popularity_penalty: float = 0.15  # divide scores by (ratings of the movie) ** this
    full_exponent_at: int = 20
    """Profiles of at least this many ratings weigh neighbours by ``similarity **
    similarity_exponent``; a shorter profile's exponent is one less each time its length
    halves, down to 1 (`exponent_for`): a handful of ratings makes similarities coarse, and
    neighbours are better weighed more evenly. 0: the same exponent at every length."""
    regression_weight: float = 1.0
    """How much the neighbours' regression fit counts beside their votes (`neighbour_fit`):
    each signal is scaled to a largest magnitude of 1, then ``votes + weight * fit``. 0: the
    votes alone."""
    regression_from: int = 21
    """Profiles of at least this many ratings blend in the regression fit; shorter ones rank
    by the votes alone (with a few ratings the fit chases them and ranks worse)."""
    regression_ridge: float = 1.0
    """The fit's ridge penalty, in units of the neighbours' mean squared row length."""

    def __post_init__(self) -> None:
        if not 1 <= self.neighbours <= 10_000:
            raise ValueError("neighbours must be from 1 to 10000")
        if self.min_raters < 1:
            raise ValueError("min_raters must be at least 1")
        if not (math.isfinite(self.similarity_exponent) and self.similarity_exponent >= 0):
            raise ValueError("similarity_exponent must be a finite number >= 0")
        if not math.isfinite(self.offset):
            raise ValueError("offset must be finite")
        if not (math.isfinite(self.popularity_penalty) and self.popularity_penalty >= 0):
            raise ValueError("popularity_penalty must be a finite number >= 0")
        if self.full_exponent_at < 0:
            raise ValueError("full_exponent_at must be 0 (off) or a number of ratings")
        if not (math.isfinite(self.regression_weight) and self.regression_weight >= 0):
            raise ValueError("regression_weight must be a finite number >= 0")
        if self.regression_from < 1:
            raise ValueError("regression_from must be a number of ratings, at least 1")
        if not (math.isfinite(self.regression_ridge) and self.regression_ridge > 0):
            raise ValueError("regression_ridge must be a finite number > 0")

    def exponent_for(self, ratings: int) -> float:
        """The similarity exponent for a profile of ``ratings`` ratings: ``similarity_exponent
        - log2(full_exponent_at / ratings)`` below ``full_exponent_at``, at least 1 (or the
        exponent itself when it is below 1). With the defaults: 1 at 5 ratings, 2 at 10, 3
        from 20 on."""
        top = self.similarity_exponent
        if not self.full_exponent_at or ratings >= self.full_exponent_at or top <= 1:
            return top
        return max(1.0, top - math.log2(self.full_exponent_at / max(ratings, 1)))

    def for_profile(self, ratings: int) -> ScoringOptions:
        """These options as they apply to a profile of ``ratings`` ratings: its similarity
        exponent (`exponent_for`), and no regression fit below ``regression_from``."""
        changes: dict[str, float] = {}
        exponent = self.exponent_for(ratings)
        if exponent != self.similarity_exponent:
            changes.update(similarity_exponent=exponent, full_exponent_at=0)
        if self.regression_weight and ratings < self.regression_from:
            changes.update(regression_weight=0.0)
        return replace(self, **changes) if changes else self

    def override(self, changes: Mapping[str, Any]) -> ScoringOptions:
        """These options with a query's overrides (a value of None: as they are); an unknown
        option raises `ValueError` naming the options."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(
                f"unknown scoring option {unknown[0]!r}; options: {', '.join(sorted(known))}"
            )
        given = {name: value for name, value in changes.items() if value is not None}
        return replace(self, **given) if given else self


SEED_OPTIONS = ScoringOptions(
    neighbours=20,
    min_raters=1,
    similarity_exponent=0.0,
    offset=0.0,
    liked_only=False,
    popularity_penalty=0.0,
    full_exponent_at=0,
    regression_weight=0.0,
)
"""The seed notebook's aggregation: unweighted sum of the top 20 neighbours' values."""

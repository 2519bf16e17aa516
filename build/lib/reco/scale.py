"""The rating scale, defined once: the stars a person can give and what they mean.

MovieLens rates in half stars from 0.5 to 5. A rating of `LIKED_AT` or more is *liked* (what
the catalog counts, the evaluation's targets, the explanations' good verdicts), one from
`SO_SO_FROM` below that is *so-so*, anything below `SO_SO_FROM` is *disliked* (the
explanations' bad verdicts, a movie night member predicted to dislike a film). The ``liked``
encoding keeps only the clear cases: liked, or `CLEARLY_DISLIKED_AT` and below.
"""

from __future__ import annotations

from typing import Literal

MIN_STARS, MAX_STARS = 0.5, 5.0
STAR_STEP = 0.5
STAR_STEPS: tuple[float, ...] = tuple(
    MIN_STARS + STAR_STEP * i for i in range(int((MAX_STARS - MIN_STARS) / STAR_STEP) + 1)
)
"""Every rating a person can give: 0.5, 1, ... 5."""

LIKED_AT = 4.0
SO_SO_FROM = 3.0
DISLIKED_BELOW = SO_SO_FROM
CLEARLY_DISLIKED_AT = 2.0

Verdict = Literal["good", "neutral", "bad"]


def verdict(stars: float) -> Verdict:
    """good (liked), neutral (so-so) or bad (disliked)."""
    if stars >= LIKED_AT:
        return "good"
    return "neutral" if stars >= SO_SO_FROM else "bad"


def stars_text(stars: float) -> str:
    """``4.0`` -> ``"4 ★"``."""
    return f"{stars:g} ★"


LIKED_WORDS = f"{stars_text(LIKED_AT)} or more"  # "4 ★ or more"
VERDICT_WORDS: dict[Verdict, str] = {
    "good": f"Liked it ({LIKED_AT:g}-{MAX_STARS:g} ★)",
    "neutral": f"So-so ({SO_SO_FROM:g}-{LIKED_AT - STAR_STEP:g} ★)",
    "bad": f"Disliked it (below {stars_text(DISLIKED_BELOW)})",
}
"""How each verdict reads on a chart or in a table: "Liked it (4-5 ★)" …"""


def snap(stars: float) -> float:
    """Round to the nearest step of the scale, within it (as the sliders show ratings)."""
    return min(MAX_STARS, max(MIN_STARS, round(stars / STAR_STEP) * STAR_STEP))

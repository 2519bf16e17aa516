"""``python -m reco recommend``: films for your ratings, with the neighbours behind them."""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict
from typing import TextIO

from reco.cli.common import (
    add_explore,
    add_filters,
    add_profile,
    chosen_films,
    chosen_filters,
    open_from,
    profile_of,
    show,
    whole,
)
from reco.recommend import (
    Recommendations,
    Recommender,
)


def add(
    commands: argparse._SubParsersAction,
    common: argparse.ArgumentParser,
    engine: argparse.ArgumentParser,
) -> None:
    """This command's parser and its options."""
    recommend = commands.add_parser(
        "recommend", parents=[engine], help="recommend movies for your ratings"
    )
    add_profile(
        recommend,
        "a rating from 0.5 to 5, e.g. --rate 50=5 (repeatable)",
        "a film you are not interested in: never recommended (repeatable)",
    )
    add_filters(recommend, "neighbours")
    add_explore(recommend)
    recommend.add_argument("--limit", type=whole(1, 1_000), default=10)
    recommend.add_argument("--neighbours", type=whole(1, 10_000), default=None)
    recommend.add_argument("--min-raters", type=whole(1, 10_000), default=None)
    recommend.add_argument("--json", action="store_true", help="machine-readable output")
    recommend.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO) -> None:
    profile = profile_of(args)
    recommender, _, _ = open_from(args)
    started = time.perf_counter()
    result = recommender.recommend_explained(
        profile,
        args.limit,
        neighbours=args.neighbours,
        min_raters=args.min_raters,
        hidden=args.hide,
        films=chosen_films(args),
        order=args.order,
        **chosen_filters(args),
    )
    seconds = time.perf_counter() - started
    if args.json:
        show(_as_json(recommender, profile, result, seconds), out)
        return
    catalog = recommender.catalog
    if profile:
        rated = ", ".join(f"{catalog.display_title(m)} ({s:g}*)" for m, s in profile.items())
        print(f"Your ratings: {rated}", file=out)
    if result.where:
        print(
            "Neighbours limited to: "
            + "; ".join(
                f"{name} in {', '.join(values)}" for name, values in result.where.conditions()
            ),
            file=out,
        )
    if result.films:
        print(f"Only films: {'; '.join(result.films.shown())}", file=out)
    if result.popular:
        print(
            "Popular movies (not personalised: "
            + ("no ratings given)" if not profile else "no similar users found)"),
            file=out,
        )
    else:
        print(
            f"Recommended from {len(result.neighbours)} similar users ({seconds * 1000:.0f} ms):",
            file=out,
        )
    if not result.items:
        print("  nothing to recommend: widen the filters or lower --min-raters", file=out)
    for rank, item in enumerate(result.items, 1):
        predicted = "" if item.predicted is None else f"~{item.predicted:.1f}* for you, "
        print(
            f"{rank:3}. {item.display_title}  [id {item.movie_id}]  {predicted}"
            f"score {item.score:.2f}, {item.raters} raters, mean {item.mean_rating:.1f}*",
            file=out,
        )


def _as_json(
    recommender: Recommender, profile: dict[int, float], result: Recommendations, seconds: float
) -> dict[str, object]:
    return {
        "dataset": recommender.name,
        "ratings": {str(m): s for m, s in profile.items()},
        "filter": dict(result.where.conditions()),
        "films": {
            "genres": list(result.films.genres),
            "years": list(result.films.years) if result.films.years else None,
            "known": result.films.known,
        },
        "popular": result.popular,
        "seconds": round(seconds, 4),
        "recommendations": [asdict(item) for item in result.items],
        "neighbours": [n.as_json() for n in result.neighbours],
    }

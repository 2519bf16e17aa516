"""``python -m reco similar``: more like this, the films whose raters rated them alike."""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict
from typing import TextIO

from reco.cli.common import add_profile, open_from, profile_of, show, whole


def add(
    commands: argparse._SubParsersAction,
    common: argparse.ArgumentParser,
    engine: argparse.ArgumentParser,
) -> None:
    """This command's parser and its options."""
    similar = commands.add_parser(
        "similar", parents=[engine], help="films like a film (more like this)"
    )
    similar.add_argument("movie_id", type=int, help="the film, by id (see `search`)")
    add_profile(
        similar,
        "your rating (repeatable): your liked and disliked films near it steer the list",
        "a film never shown (repeatable)",
    )
    similar.add_argument("--limit", type=whole(1, 1_000), default=10)
    similar.add_argument("--json", action="store_true", help="machine-readable output")
    similar.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO) -> None:
    profile = profile_of(args)
    recommender, _, _ = open_from(args)
    started = time.perf_counter()
    found = recommender.similar(args.movie_id, args.limit, ratings=profile, hidden=args.hide)
    seconds = time.perf_counter() - started
    catalog = recommender.catalog
    if args.json:
        show(
            {
                "dataset": recommender.name,
                "movie_id": found.movie_id,
                "title": catalog.display_title(found.movie_id),
                "positive": list(found.positive),
                "negative": list(found.negative),
                "seconds": round(seconds, 4),
                "similar": [asdict(item) for item in found.items],
            },
            out,
        )
        return
    print(f"More like {catalog.display_title(found.movie_id)} ({seconds * 1000:.0f} ms):", file=out)
    steered = [catalog.display_title(m) for m in found.positive[1:]]
    avoided = [catalog.display_title(m) for m in found.negative]
    if steered or avoided:
        print(
            "  steered by your ratings: "
            + "; ".join(
                part
                for part in (
                    "like " + ", ".join(steered) if steered else "",
                    "unlike " + ", ".join(avoided) if avoided else "",
                )
                if part
            ),
            file=out,
        )
    if not found.items:
        print("  nothing: nobody rated this film, or you rated every film like it", file=out)
    for rank, item in enumerate(found.items, 1):
        print(
            f"{rank:3}. {item.display_title}  [id {item.movie_id}]  similarity "
            f"{item.similarity:.3f}, {item.raters} raters",
            file=out,
        )

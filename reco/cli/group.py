"""``python -m reco group``: movie night, films for a group of people."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import TextIO

from reco.cli.common import (
    add_filters,
    chosen_filters,
    open_from,
    show,
    whole,
)
from reco.group import DEFAULT_RULE, GROUP_NEIGHBOURS, MAX_MEMBERS, RULES
from reco.profile import Parsed, parse_link, profile_from_csv
from reco.recommend import Recommender


def add(
    commands: argparse._SubParsersAction,
    common: argparse.ArgumentParser,
    engine: argparse.ArgumentParser,
) -> None:
    """This command's parser and its options."""
    group = commands.add_parser(
        "group", parents=[engine], help="movie night: films for a group of people"
    )
    group.add_argument(
        "--member",
        action="append",
        default=[],
        metavar="RATINGS",
        help="one member (2 to 6 of them; repeatable): their ratings as MOVIE:STARS,... "
        "(like the app link's r= part), their shared app link, or a ratings CSV file",
    )
    group.add_argument("--rule", choices=RULES, default=DEFAULT_RULE)
    add_filters(group, "every member's neighbours")
    group.add_argument("--limit", type=whole(1, 1_000), default=10)
    group.add_argument(
        "--neighbours",
        type=whole(1, 10_000),
        default=None,
        help=f"per member (default {GROUP_NEIGHBOURS})",
    )
    group.add_argument("--json", action="store_true", help="machine-readable output")
    group.set_defaults(run=run)


def read_member(text: str, recommender: Recommender) -> Parsed:
    """A ``--member`` value: a CSV file when one is at that path, else ratings or a link."""
    path = Path(text)
    if text.lower().endswith(".csv") or path.is_file():
        try:
            data = path.read_bytes()
        except OSError as error:
            return Parsed(problems=(f"Cannot read {text}: {error.strerror or error}.",))
        titles = recommender.catalog.titles()
        return profile_from_csv(data, recommender.movie_ids, recommender.name, titles)
    return parse_link(text, recommender.movie_ids, recommender.name)


def run(args: argparse.Namespace, out: TextIO) -> None:
    if not 2 <= len(args.member) <= MAX_MEMBERS:
        raise ValueError(f"give 2 to {MAX_MEMBERS} --member values; got {len(args.member)}")
    recommender, _, _ = open_from(args)
    members = [read_member(text, recommender) for text in args.member]
    for position, member in enumerate(members, 1):
        for problem in member.problems:
            print(f"warning: member {position}: {problem}", file=sys.stderr)
    kept = [m for m in members if m.ratings]
    if not kept:
        raise ValueError("no member has usable ratings")
    if len(kept) < 2:
        raise ValueError("movie night needs 2 members with usable ratings; only 1 has")
    for position, member in enumerate(members, 1):
        if not member.ratings:
            print(f"warning: member {position} has no usable ratings; left out", file=sys.stderr)
    started = time.perf_counter()
    result = recommender.recommend_group(
        [m.ratings for m in kept],
        args.limit,
        rule=args.rule,
        hidden=frozenset().union(*(m.hidden for m in kept)),
        neighbours=args.neighbours,
        **chosen_filters(args),
    )
    seconds = time.perf_counter() - started
    positions = [i for i, m in enumerate(members, 1) if m.ratings]
    if args.json:
        answer = {
            "dataset": recommender.name,
            "rule": result.rule,
            "filter": dict(result.where.conditions()),
            "popular": result.popular,
            "seconds": round(seconds, 4),
            "members": [
                {
                    "member": position,
                    "given": text,
                    "ratings": len(member.ratings),
                    "hidden": len(member.hidden),
                    "problems": list(member.problems),
                    "neighbours": result.neighbours[positions.index(position)]
                    if member.ratings
                    else 0,
                }
                for position, (text, member) in enumerate(zip(args.member, members, strict=True), 1)
            ],
            "recommendations": [
                {
                    **asdict(item),
                    "predicted": dict(zip(positions, item.predicted, strict=True)),
                    "disliked_by": [positions[i] for i in item.disliked_by],
                }
                for item in result.items
            ],
        }
        show(answer, out)
        return
    found = " + ".join(str(n) for n in result.neighbours)
    print(
        f"Movie night for {len(kept)} members (rule {result.rule}), "
        f"from {found} similar users ({seconds * 1000:.0f} ms):",
        file=out,
    )
    if result.popular:
        print("  popular films (no member's taste found similar users)", file=out)
    for rank, item in enumerate(result.items, 1):
        stars = ", ".join(f"member {positions[i]} ~{p:.1f}*" for i, p in enumerate(item.predicted))
        warning = "".join(
            f"  ! member {positions[i]} would likely dislike it" for i in item.disliked_by
        )
        print(f"{rank:3}. {item.display_title}  [id {item.movie_id}]  {stars}{warning}", file=out)

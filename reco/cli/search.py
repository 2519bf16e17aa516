"""``python -m reco search``: movie ids by title."""

from __future__ import annotations

import argparse
from typing import TextIO

from reco.catalog import display_title
from reco.cli.common import (
    open_from,
    show,
    whole,
)
from reco.search import MovieSearch


def add(
    commands: argparse._SubParsersAction,
    common: argparse.ArgumentParser,
    engine: argparse.ArgumentParser,
) -> None:
    """This command's parser and its options."""
    search = commands.add_parser("search", parents=[engine], help="find movie ids by title")
    search.add_argument("text", nargs="+")
    search.add_argument("--limit", type=whole(1, 1_000), default=10)
    search.add_argument("--json", action="store_true")
    search.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO) -> None:
    recommender, _, _ = open_from(args)
    found = MovieSearch.of(recommender.catalog).search(" ".join(args.text), limit=args.limit)
    if args.json:
        rows = found[["movie_id", "title", "year", "genres", "ratings"]].astype(object)
        show(rows.where(rows.notna(), None).to_dict("records"), out)
        return
    if found.empty:
        print("no movie matches", file=out)
    for row in found.itertuples(index=False):
        title = display_title(row.title, row.year)
        print(f"{row.movie_id:>7}  {title}  {row.genres}  ({row.ratings} ratings)", file=out)

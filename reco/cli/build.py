"""``python -m reco build``: index a release (once; reused later), or repair its index."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from reco.cli.common import open_from, whole


def add(
    commands: argparse._SubParsersAction,
    common: argparse.ArgumentParser,
    engine: argparse.ArgumentParser,
) -> None:
    """This command's parser and its options."""
    build = commands.add_parser(
        "build", parents=[engine], help="index a dataset (once; reused later)"
    )
    build.add_argument(
        "--shards",
        type=whole(1, 1_000),
        default=None,
        help="with --qdrant-url: shards of the collection (cluster)",
    )
    build.add_argument(
        "--replicas",
        type=whole(1, 100),
        default=None,
        help="with --qdrant-url: replication factor of the collection (cluster)",
    )
    build.add_argument(
        "--force",
        action="store_true",
        help="build the index anew even when it is current and sound",
    )
    build.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO) -> None:
    recommender, seconds, built = open_from(args, repair=True, force=args.force)
    for warning in recommender.notes:
        print(f"warning: {warning}", file=sys.stderr)
    action = "Indexed" if built else "Index already up to date:"
    print(f"{action} {recommender.summary()}", file=out)
    print(
        f"  store: {recommender.store.description} ({recommender.store.count():,} users)", file=out
    )
    print(f"  {seconds:.2f} s", file=out)

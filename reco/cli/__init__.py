"""Command line: ``python -m reco build | recommend | similar | group | search | evaluate |
bench``.

Each command is a module of this package with its options next to its handler: ``add``
declares its parser, ``run`` does the work.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from reco.cli import bench, build, evaluate, group, recommend, search, similar
from reco.cli.common import TextProgress, common_options, engine_options, parse_rating
from reco.datasets import DatasetError
from reco.fatal import trace_fatal_signals
from reco.store import StoreUnavailable

COMMANDS = (build, recommend, similar, group, evaluate, bench, search)

__all__ = ["TextProgress", "main", "parse_rating"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m reco",
        description="Movie recommendations from users of similar taste (MovieLens on Qdrant).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    common = common_options()
    engine = engine_options(common)
    for command in COMMANDS:
        command.add(commands, common, engine)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out if out is not None else sys.stdout
    trace_fatal_signals()
    args = _parser().parse_args(argv)
    try:
        args.run(args, out)
    except (ValueError, DatasetError, StoreUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a folder or file that cannot be read or written
        where = f" ({error.filename})" if error.filename else ""
        print(f"error: {error.strerror or error}{where}", file=sys.stderr)
        return 2
    return 0


def run() -> None:
    """The ``reco`` command an installed package puts on the PATH."""
    sys.exit(main())

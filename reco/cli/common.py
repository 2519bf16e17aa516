"""What the commands share: a text progress bar, the options of every command that opens a
release, the neighbour filters as options, and opening a release as the options say."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import numpy as np

from reco import filters
from reco.datasets import DEFAULT_DATASET, KNOWN_DATASETS
from reco.encode import ENCODINGS, check_stars
from reco.explore import KNOWN, ORDERS, FilmFilter, parse_years
from reco.recommend import (
    DEFAULT_ENCODING,
    DEFAULT_IDF,
    DEFAULT_NORMALIZE,
    Recommender,
    open_recommender,
)

Parser = argparse.ArgumentParser
Commands = argparse._SubParsersAction  # what `ArgumentParser.add_subparsers` returns


class TextProgress:
    """A one-line progress bar on a text stream, redrawn at most ten times a second."""

    def __init__(
        self, label: str, unit: str = "", scale: float = 1.0, stream: TextIO | None = None
    ):
        self.label, self.unit, self.scale = label, unit, scale
        self.stream = stream if stream is not None else sys.stderr
        self.shown = False
        self._last = 0.0

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        finished = total is not None and done >= total
        if not finished and now - self._last < 0.1:
            return
        self._last = now
        amount = f"{done / self.scale:,.0f}" + (f"/{total / self.scale:,.0f}" if total else "")
        if total:
            filled = int(30 * min(done / total, 1.0))
            bar = f"[{'#' * filled}{'.' * (30 - filled)}] {100 * done / total:5.1f}% "
        else:
            bar = ""
        self.stream.write(f"\r{self.label} {bar}{amount} {self.unit}")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


def common_options() -> argparse.ArgumentParser:
    """The options of every command that reads a release: which one, and where."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--dataset",
        default=DEFAULT_DATASET,
        help=f"a name ({', '.join(KNOWN_DATASETS)}), a zip or a folder",
    )
    common.add_argument(
        "--data-dir", type=folder, help="datasets and indexes (default: $RECO_DATA_DIR or data/)"
    )
    return common


def engine_options(common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of every command that opens an index: the engine and the encoding."""
    engine = argparse.ArgumentParser(add_help=False, parents=[common])
    engine.add_argument(
        "--qdrant-url",
        default=None,
        help="a Qdrant server instead of the embedded engine ($QDRANT_URL)",
    )
    engine.add_argument(
        "--qdrant-api-key", default=None, help="API key for --qdrant-url (default: $QDRANT_API_KEY)"
    )
    engine.add_argument(
        "--encoding",
        choices=ENCODINGS,
        default=None,
        help="how ratings become vector values (default: the index's own; a new index: "
        f"{DEFAULT_ENCODING})",
    )
    engine.add_argument(
        "--similarity", choices=("cosine", "dot"), default="cosine" if DEFAULT_NORMALIZE else "dot"
    )
    engine.add_argument(
        "--idf",
        action=argparse.BooleanOptionalAction,
        default=DEFAULT_IDF,
        help="weigh rarely rated movies more in the similarity (Qdrant's IDF modifier)",
    )
    return engine


def whole(low: int, high: int) -> Callable[[str], int]:
    """An option's type: a whole number from ``low`` to ``high``, else a usage error."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be a whole number from {low} to {high:,}")
        return value

    return parse


def seconds(text: str) -> float:
    """An option's type: a positive number of seconds, else a usage error."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 86_400:
        raise argparse.ArgumentTypeError("must be a number of seconds, above 0")
    return value


def folder(text: str) -> Path:
    """An option's type: a folder, or a path where one can be made; never a file."""
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is not a folder")
    return path


def add_filters(parser: argparse.ArgumentParser, whose: str) -> None:
    """One repeatable option per neighbour filter of `reco.filters.FILTERS`."""
    for field in filters.FILTERS:
        parser.add_argument(
            field.option,
            action="append",
            default=[],
            dest=field.keyword,
            metavar=field.name.upper(),
            help=f"{whose} only of this {field.title.lower()} (repeatable)",
        )


def chosen_filters(args: argparse.Namespace) -> dict[str, list[str]]:
    """The neighbour filters given on the command line, by their keywords."""
    return {field.keyword: getattr(args, field.keyword) for field in filters.FILTERS}


def add_explore(parser: argparse.ArgumentParser) -> None:
    """The explore options (`reco.explore`): genres, years, how well known, the order."""
    parser.add_argument(
        "--genre",
        action="append",
        default=[],
        dest="genres",
        help="only films of this genre (repeatable: any of them)",
    )
    parser.add_argument(
        "--years", type=years, default=None, help="only films of these years: 1990-1999, 1990s"
    )
    parser.add_argument(
        "--known",
        choices=KNOWN,
        default="any",
        help="only well-known films (the most rated, holding half of all ratings) or the rest",
    )
    parser.add_argument(
        "--order",
        choices=ORDERS,
        default="rank",
        help="rank: the ranking; stars: its best films by predicted stars",
    )


def years(text: str) -> tuple[int, int]:
    try:
        return parse_years(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def chosen_films(args: argparse.Namespace) -> FilmFilter:
    """The explore options given on the command line."""
    return FilmFilter(tuple(args.genres), args.years, args.known)


def add_profile(parser: argparse.ArgumentParser, rate_help: str, hide_help: str) -> None:
    """A person's ratings and hidden films: ``--rate MOVIE_ID=STARS`` and ``--hide MOVIE_ID``,
    each repeatable (`profile_of` reads them)."""
    parser.add_argument(
        "--rate", action="append", default=[], metavar="MOVIE_ID=STARS", help=rate_help
    )
    parser.add_argument(
        "--hide", action="append", default=[], type=int, metavar="MOVIE_ID", help=hide_help
    )


def profile_of(args: argparse.Namespace) -> dict[int, float]:
    """The ratings given with ``--rate``."""
    return dict(parse_rating(text) for text in args.rate)


def parse_rating(text: str) -> tuple[int, float]:
    """``"50=4.5"`` -> ``(50, 4.5)``; `ValueError` with a readable message otherwise."""
    movie, sep, stars = text.partition("=")
    try:
        if not sep:
            raise ValueError
        movie_id, value = int(movie.strip()), float(stars.strip())
    except ValueError:
        raise ValueError(f"--rate takes MOVIE_ID=STARS, e.g. 50=4.5; got {text!r}") from None
    check_stars(np.array([value]))
    return movie_id, value


def open_from(
    args: argparse.Namespace, *, repair: bool = False, force: bool = False
) -> tuple[Recommender, float, bool]:
    download = TextProgress(f"Downloading {args.dataset}", "MB", 1e6)
    build = TextProgress(f"Indexing {args.dataset}", "users")
    started = time.perf_counter()
    try:
        recommender = open_recommender(
            args.dataset,
            data_dir=args.data_dir,
            qdrant_url=args.qdrant_url,
            qdrant_api_key=args.qdrant_api_key,
            encoding=args.encoding,
            normalize=args.similarity == "cosine",
            idf=args.idf,
            shard_number=getattr(args, "shards", None),
            replication_factor=getattr(args, "replicas", None),
            download_progress=download,
            build_progress=build,
            repair=repair,
            force=force,
        )
    finally:
        download.close()
        build.close()
    return recommender, time.perf_counter() - started, build.shown


def show(payload: object, out: TextIO) -> None:
    """``payload`` as indented JSON on ``out`` (every command's ``--json``)."""
    json.dump(payload, out, indent=2)
    out.write("\n")

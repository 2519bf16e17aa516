"""Command line: ``python -m reco build | recommend | group | search | evaluate | bench``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import numpy as np

from reco.catalog import display_title
from reco.datasets import (
    DEFAULT_DATASET,
    KNOWN_DATASETS,
    Dataset,
    DatasetError,
    load_movielens,
)
from reco.encode import ENCODINGS, check_stars
from reco.filters import FILTERS
from reco.group import DEFAULT_RULE, GROUP_NEIGHBOURS, MAX_MEMBERS, RULES
from reco.profile import Parsed, parse_link, profile_from_csv
from reco.recommend import (
    DEFAULT_ENCODING,
    DEFAULT_IDF,
    DEFAULT_NORMALIZE,
    Recommendations,
    Recommender,
    open_recommender,
)
from reco.search import MovieSearch
from reco.store import StoreUnavailable

if TYPE_CHECKING:
    from reco.evaluate import EvalProtocol


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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m reco",
        description="Movie recommendations from users of similar taste (MovieLens on Qdrant).",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--dataset",
        default=DEFAULT_DATASET,
        help=f"a name ({', '.join(KNOWN_DATASETS)}), a zip or a folder",
    )
    common.add_argument(
        "--data-dir", help="datasets and indexes (default: $RECO_DATA_DIR or data/)"
    )

    engine = argparse.ArgumentParser(add_help=False, parents=[common])
    engine.add_argument(
        "--qdrant-url",
        default=os.environ.get("QDRANT_URL"),
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

    build = commands.add_parser(
        "build", parents=[engine], help="index a dataset (once; reused later)"
    )
    build.add_argument(
        "--shards",
        type=int,
        default=None,
        help="with --qdrant-url: shards of the collection (cluster)",
    )
    build.add_argument(
        "--replicas",
        type=int,
        default=None,
        help="with --qdrant-url: replication factor of the collection (cluster)",
    )

    recommend = commands.add_parser(
        "recommend", parents=[engine], help="recommend movies for your ratings"
    )
    recommend.add_argument(
        "--rate",
        action="append",
        default=[],
        metavar="MOVIE_ID=STARS",
        help="a rating from 0.5 to 5, e.g. --rate 50=5 (repeatable)",
    )
    _add_filters(recommend, "neighbours")
    recommend.add_argument(
        "--hide",
        action="append",
        default=[],
        type=int,
        metavar="MOVIE_ID",
        help="a film you are not interested in: never recommended (repeatable)",
    )
    recommend.add_argument("--limit", type=int, default=10)
    recommend.add_argument("--neighbours", type=int, default=None)
    recommend.add_argument("--min-raters", type=int, default=None)
    recommend.add_argument("--json", action="store_true", help="machine-readable output")

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
    _add_filters(group, "every member's neighbours")
    group.add_argument("--limit", type=int, default=10)
    group.add_argument(
        "--neighbours", type=int, default=None, help=f"per member (default {GROUP_NEIGHBOURS})"
    )
    group.add_argument("--json", action="store_true", help="machine-readable output")

    evaluate = commands.add_parser(
        "evaluate", parents=[common], help="measure recommendation quality against baselines"
    )
    evaluate.add_argument("--folds", type=int, default=5, help="folds over users (default 5)")
    evaluate.add_argument(
        "--query-fraction",
        type=float,
        default=0.5,
        help="share of a held-out user's ratings given as the query",
    )
    evaluate.add_argument(
        "--max-users",
        type=int,
        default=None,
        help="at most this many held-out users per fold (large datasets)",
    )
    evaluate.add_argument(
        "--seed",
        type=int,
        default=None,
        help="split seed (default 1 for the evaluation, 0 for --tune: the reported figures "
        "come from another split than the one the defaults were tuned on)",
    )
    evaluate.add_argument(
        "--out",
        default="docs/evaluation",
        help="folder for evaluation.md/.json/.html/.png (default docs/evaluation)",
    )
    evaluate.add_argument(
        "--tune",
        action="store_true",
        help="explore encodings and scoring options instead; writes tuning.csv",
    )
    evaluate.add_argument(
        "--profile-sizes",
        nargs="?",
        const="default",
        default=None,
        metavar="SIZES",
        help="instead: NDCG@10, Recall@10, HR@10 of every method at several query sizes, "
        "comma-separated counts or shares (default: 5, 10 and 20 ratings, 50%% and 80%% of "
        "each held-out profile); writes profile_sizes.md/json",
    )
    evaluate.add_argument(
        "--tune-by-size",
        action="store_true",
        help="instead: the default with each fixed similarity exponent, then each weight and "
        "ridge of the regression fit, at each query size (split seed 0); writes "
        "tuning_by_size.md/csv",
    )
    evaluate.add_argument(
        "--groups",
        action="store_true",
        help="instead: movie night, synthetic groups of 2-4 held-out users; writes groups.md",
    )
    evaluate.add_argument("--json", action="store_true")

    bench = commands.add_parser("bench", help="speed and scale against the seed's engine")
    bench.add_argument(
        "--sizes",
        default="1000,10000,100000",
        help="synthetic user counts, comma-separated (default 1000,10000,100000)",
    )
    bench.add_argument(
        "--dataset",
        action="append",
        default=[],
        help="also bench a real dataset by name or path (repeatable)",
    )
    bench.add_argument(
        "--profiles", type=int, default=300, help="profiles of 5-50 ratings timed per size"
    )
    bench.add_argument(
        "--seed-cap",
        type=float,
        default=120.0,
        help="seconds of queries at most for the seed engine per size",
    )
    bench.add_argument(
        "--seed-max-users",
        type=int,
        default=50_000,
        help="largest size at which the seed engine is built",
    )
    bench.add_argument("--out", default="docs/bench", help="folder for bench.md/.json/.png/.html")
    bench.add_argument(
        "--release-users",
        type=int,
        default=None,
        help="instead: write a synthetic release of this many users in the ml-25m CSV layout "
        "and measure build, start-up, memory, search and the server code path (fresh processes)",
    )
    bench.add_argument(
        "--workdir", default=None, help="with --release-users: keep the release and indexes here"
    )
    bench.add_argument("--one", help=argparse.SUPPRESS)  # one size, in this process (internal)
    bench.add_argument("--phase", help=argparse.SUPPRESS)  # one release phase (internal)
    bench.add_argument("--release-path", help=argparse.SUPPRESS)
    bench.add_argument("--data-dir", help=argparse.SUPPRESS)
    bench.add_argument("--started", type=float, default=0.0, help=argparse.SUPPRESS)
    bench.add_argument("--json", action="store_true")

    search = commands.add_parser("search", parents=[engine], help="find movie ids by title")
    search.add_argument("text", nargs="+")
    search.add_argument("--limit", type=int, default=10)
    search.add_argument("--json", action="store_true")
    return parser


def _add_filters(parser: argparse.ArgumentParser, whose: str) -> None:
    """One repeatable option per neighbour filter of `reco.filters.FILTERS`."""
    for field in FILTERS:
        parser.add_argument(
            field.option,
            action="append",
            default=[],
            dest=field.keyword,
            metavar=field.name.upper(),
            help=f"{whose} only of this {field.title.lower()} (repeatable)",
        )


def _filters(args: argparse.Namespace) -> dict[str, list[str]]:
    """The neighbour filters given on the command line, by their keywords."""
    return {field.keyword: getattr(args, field.keyword) for field in FILTERS}


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


def _open(args: argparse.Namespace, *, repair: bool = False) -> tuple[Recommender, float, bool]:
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
        )
    finally:
        download.close()
        build.close()
    return recommender, time.perf_counter() - started, build.shown


def _build(args: argparse.Namespace, out: TextIO) -> None:
    recommender, seconds, built = _open(args, repair=True)
    for warning in recommender.notes:
        print(f"warning: {warning}", file=sys.stderr)
    action = "Indexed" if built else "Index already up to date:"
    print(f"{action} {recommender.summary()}", file=out)
    print(
        f"  store: {recommender.store.description} ({recommender.store.count():,} users)", file=out
    )
    print(f"  {seconds:.2f} s", file=out)


def _recommend(args: argparse.Namespace, out: TextIO) -> None:
    profile = dict(parse_rating(text) for text in args.rate)
    recommender, _, _ = _open(args)
    started = time.perf_counter()
    result = recommender.recommend_explained(
        profile,
        args.limit,
        neighbours=args.neighbours,
        min_raters=args.min_raters,
        hidden=args.hide,
        **_filters(args),
    )
    seconds = time.perf_counter() - started
    if args.json:
        json.dump(_as_json(recommender, profile, result, seconds), out, indent=2)
        out.write("\n")
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


def read_member(text: str, recommender: Recommender) -> Parsed:
    """A ``--member`` value: a CSV file when one is at that path, else ratings or a link."""
    path = Path(text)
    if text.lower().endswith(".csv") or path.is_file():
        try:
            data = path.read_bytes()
        except OSError as error:
            return Parsed(problems=(f"Cannot read {text}: {error.strerror or error}.",))
        return profile_from_csv(data, recommender.movie_ids)
    return parse_link(text, recommender.movie_ids, recommender.name)


def _group(args: argparse.Namespace, out: TextIO) -> None:
    if not 2 <= len(args.member) <= MAX_MEMBERS:
        raise ValueError(f"give 2 to {MAX_MEMBERS} --member values; got {len(args.member)}")
    recommender, _, _ = _open(args)
    members = [read_member(text, recommender) for text in args.member]
    for position, member in enumerate(members, 1):
        for problem in member.problems:
            print(f"warning: member {position}: {problem}", file=sys.stderr)
    kept = [m for m in members if m.ratings]
    if not kept:
        raise ValueError("no member has usable ratings")
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
        **_filters(args),
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
        json.dump(answer, out, indent=2)
        out.write("\n")
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


def _as_json(
    recommender: Recommender, profile: dict[int, float], result: Recommendations, seconds: float
) -> dict[str, object]:
    return {
        "dataset": recommender.name,
        "ratings": {str(m): s for m, s in profile.items()},
        "filter": dict(result.where.conditions()),
        "popular": result.popular,
        "seconds": round(seconds, 4),
        "recommendations": [asdict(item) for item in result.items],
        "neighbours": [asdict(n) for n in result.neighbours],
    }


def _search(args: argparse.Namespace, out: TextIO) -> None:
    recommender, _, _ = _open(args)
    found = MovieSearch.of(recommender.catalog).search(" ".join(args.text), limit=args.limit)
    if args.json:
        rows = found[["movie_id", "title", "year", "genres", "ratings"]].astype(object)
        json.dump(rows.where(rows.notna(), None).to_dict("records"), out, indent=2)
        out.write("\n")
        return
    if found.empty:
        print("no movie matches", file=out)
    for row in found.itertuples(index=False):
        title = display_title(row.title, row.year)
        print(f"{row.movie_id:>7}  {title}  {row.genres}  ({row.ratings} ratings)", file=out)


def _evaluate(args: argparse.Namespace, out: TextIO) -> None:
    from reco.evaluate import EvalProtocol, evaluate, tune_staged

    dataset = load_movielens(args.dataset, data_dir=args.data_dir)
    tuning = args.tune or args.tune_by_size
    seed = args.seed if args.seed is not None else (0 if tuning else 1)
    protocol = EvalProtocol(
        folds=args.folds,
        query_fraction=args.query_fraction,
        seed=seed,
        max_users_per_fold=args.max_users,
    )
    if args.groups:
        _evaluate_groups(dataset, protocol, Path(args.out), args.json, out)
        return
    if args.profile_sizes:
        _evaluate_sizes(dataset, protocol, args.profile_sizes, Path(args.out), args.json, out)
        return
    if args.tune_by_size:
        _tune_by_size(dataset, protocol, Path(args.out), args.json, out)
        return
    progress = TextProgress(f"Evaluating on {dataset.name}", "runs")
    try:
        if args.tune:
            table = tune_staged(dataset, protocol, progress)
        else:
            report = evaluate(dataset, protocol=protocol, progress=progress, predictions=True)
    finally:
        progress.close()
    folder = Path(args.out)
    if args.tune:
        folder.mkdir(parents=True, exist_ok=True)
        table.to_csv(folder / "tuning.csv", index=False)
        columns = ["setting", "ndcg", "hr"]
        if args.json:
            json.dump(table[columns].head(20).to_dict("records"), out, indent=2)
            out.write("\n")
        else:
            print(table[columns].head(20).to_string(index=False), file=out)
            print(f"all {len(table)} settings: {folder / 'tuning.csv'}", file=out)
        return
    written = report.save(folder)
    if args.json:
        json.dump(report.to_json(), out, indent=2)
        out.write("\n")
        return
    print(
        f"{dataset.summary()}; {args.folds} folds over users (split seed {seed}), "
        f"{args.query_fraction:.0%} of each held-out profile as the query, "
        f"hidden 4+ star movies as targets; {report.seconds:.0f} s",
        file=out,
    )
    print(report.markdown(), file=out)
    print("written: " + ", ".join(str(p) for p in written), file=out)


def _evaluate_sizes(
    dataset: Dataset,
    protocol: EvalProtocol,
    sizes: str,
    folder: Path,
    as_json: bool,
    out: TextIO,
) -> None:
    from reco.evaluate import (
        PROFILE_SIZES,
        evaluate_profile_sizes,
        profile_size_markdown,
        size_label,
        tuning_markdown,
    )

    chosen = (
        list(PROFILE_SIZES)
        if sizes == "default"
        else [size.strip() for size in sizes.split(",") if size.strip()]
    )
    progress = TextProgress(f"Profile sizes on {dataset.name}", "folds")
    started = time.perf_counter()
    try:
        folds = evaluate_profile_sizes(dataset, sizes=chosen, protocol=protocol, progress=progress)
    finally:
        progress.close()
    about = (
        f"{dataset.summary()}; {protocol.folds} folds over users (split seed {protocol.seed}); "
        f"queries of {', '.join(size_label(size) for size in chosen)} of each held-out user "
        "(users with too few ratings for a size skipped alike for every method), their "
        f"hidden 4+ star films as targets; fold means; "
        f"{time.perf_counter() - started:.0f} s"
    )
    table = "\n\n".join(
        part
        for part in (
            *(profile_size_markdown(folds, metric=metric) for metric in ("ndcg", "recall", "hr")),
            tuning_markdown(folds),
        )
        if part
    )
    records = folds.astype(object).where(folds.notna(), None).to_dict("records")
    _report(folder, "profile_sizes", about, table, records, as_json, out)


def _report(
    folder: Path,
    stem: str,
    about: str,
    table: str,
    records: list[dict[str, object]],
    as_json: bool,
    out: TextIO,
) -> None:
    """An evaluation's report: ``<stem>.md`` (about and table) and ``<stem>.json`` (about and
    every fold's record) in ``folder``, then shown (`_show`)."""
    folder.mkdir(parents=True, exist_ok=True)
    payload = {"about": about, "folds": records}
    (folder / f"{stem}.md").write_text(f"{about}\n\n{table}\n")
    (folder / f"{stem}.json").write_text(json.dumps(payload, indent=2))
    _show(about, table, payload, [folder / f"{stem}.md", folder / f"{stem}.json"], as_json, out)


def _show(
    about: str, table: str, payload: object, written: list[Path], as_json: bool, out: TextIO
) -> None:
    """Print ``payload`` as JSON, or ``about``, ``table`` and the files ``written``."""
    if as_json:
        json.dump(payload, out, indent=2)
        out.write("\n")
        return
    print(about, file=out)
    print(table, file=out)
    print(f"written: {', '.join(str(path) for path in written)}", file=out)


def _tune_by_size(
    dataset: Dataset, protocol: EvalProtocol, folder: Path, as_json: bool, out: TextIO
) -> None:
    import pandas as pd

    from reco.evaluate import by_size_markdown, exponent_settings, regression_settings, tune_by_size

    grids = {
        "exponent": ("exponent, popularity penalty", exponent_settings()),
        "regression": ("regression weight, ridge", regression_settings()),
    }
    progress = TextProgress(f"Scoring by profile size on {dataset.name}", "sizes")
    tables = []
    try:
        for grid_name, (_, settings) in grids.items():
            progress.label = f"{grid_name.capitalize()} by profile size on {dataset.name}"
            table = tune_by_size(dataset, settings, protocol=protocol, progress=progress)
            tables.append(table.assign(grid=grid_name))
    finally:
        progress.close()
    about = (
        f"{dataset.summary()}; {protocol.folds} folds over users (split seed {protocol.seed}); "
        "the default encoding, 100 neighbours; first each fixed similarity exponent and "
        "popularity penalty on the neighbours' votes alone, then the regression fit's weight "
        "and ridge beside the default's votes at every profile length; NDCG@10, fold means, "
        "best per size in bold"
    )
    folder.mkdir(parents=True, exist_ok=True)
    text = "\n\n".join(
        by_size_markdown(table, heading)
        for table, (heading, _) in zip(tables, grids.values(), strict=True)
    )
    table = pd.concat(tables, ignore_index=True)
    written = [folder / "tuning_by_size.md", folder / "tuning_by_size.csv"]
    written[0].write_text(f"{about}\n\n{text}\n")
    table.to_csv(written[1], index=False)
    _show(about, text, table.to_dict("records"), written, as_json, out)


def _evaluate_groups(
    dataset: Dataset, protocol: EvalProtocol, folder: Path, as_json: bool, out: TextIO
) -> None:
    from reco.evaluate import evaluate_groups, group_markdown

    progress = TextProgress(f"Movie night on {dataset.name}", "folds")
    started = time.perf_counter()
    try:
        folds = evaluate_groups(dataset, protocol, progress)
    finally:
        progress.close()
    seconds = time.perf_counter() - started
    table = group_markdown(folds)
    about = (
        f"{dataset.summary()}; {protocol.folds} folds over users (split seed {protocol.seed}), "
        f"groups of 2, 3 and 4 held-out users of a fold, {protocol.query_fraction:.0%} of "
        f"each member's ratings as their query, their hidden 4+ star films as targets; "
        f"{seconds:.0f} s"
    )
    _report(folder, "groups", about, table, folds.to_dict("records"), as_json, out)


def _bench(args: argparse.Namespace, out: TextIO) -> None:
    from reco.bench import (
        BenchOptions,
        ReleaseOptions,
        bench_one,
        bench_release,
        release_phase,
        release_table,
        run,
        save,
        table,
    )

    if args.phase:
        phase = release_phase(
            args.phase, Path(args.release_path), Path(args.data_dir), args.started
        )
        json.dump(phase, out)
        out.write("\n")
        return
    if args.release_users:
        result = bench_release(
            ReleaseOptions(users=args.release_users, profiles=args.profiles),
            args.workdir,
            progress=lambda text: print(text, file=sys.stderr, flush=True),
        )
        folder = Path(args.out)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "release.json").write_text(json.dumps(result, indent=2) + "\n")
        (folder / "release.md").write_text(release_table(result) + "\n")
        if args.json:
            json.dump(result, out, indent=2)
            out.write("\n")
        else:
            print(release_table(result), file=out)
        return

    options = BenchOptions(
        profiles=args.profiles, seed_cap_seconds=args.seed_cap, seed_max_users=args.seed_max_users
    )
    if args.one:
        json.dump(bench_one(args.one, options), out)
        out.write("\n")
        return
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    if any(size < 10 for size in sizes):
        raise ValueError("--sizes are user counts of at least 10")
    results = run(
        [*sizes, *args.dataset],
        options,
        progress=lambda text: print(text, file=sys.stderr, flush=True),
    )
    written = save(results, args.out)
    if args.json:
        json.dump(results, out, indent=2)
        out.write("\n")
        return
    print(table(results), file=out)
    print("written: " + ", ".join(str(p) for p in written), file=out)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out if out is not None else sys.stdout
    args = _parser().parse_args(argv)
    if getattr(args, "qdrant_api_key", None) is None and hasattr(args, "qdrant_api_key"):
        args.qdrant_api_key = os.environ.get("QDRANT_API_KEY")
    handlers = {
        "build": _build,
        "recommend": _recommend,
        "group": _group,
        "search": _search,
        "evaluate": _evaluate,
        "bench": _bench,
    }
    try:
        handlers[args.command](args, out)
    except (ValueError, DatasetError, StoreUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0

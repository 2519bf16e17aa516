"""``python -m reco evaluate``: recommendation quality against baselines, by profile size, for
movie night, or the tuning behind the defaults; each writes its report into ``--out``."""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from reco.cli.common import (
    TextProgress,
    folder,
    show,
    whole,
)
from reco.datasets import Dataset, load_movielens
from reco.reports import write_report
from reco.scale import LIKED_AT

if TYPE_CHECKING:
    from reco.evaluate import EvalProtocol


def add(
    commands: argparse._SubParsersAction,
    common: argparse.ArgumentParser,
    engine: argparse.ArgumentParser,
) -> None:
    """This command's parser and its options."""
    evaluate = commands.add_parser(
        "evaluate", parents=[common], help="measure recommendation quality against baselines"
    )
    evaluate.add_argument(
        "--folds", type=whole(2, 100), default=5, help="folds over users (default 5)"
    )
    evaluate.add_argument(
        "--query-fraction",
        type=float,
        default=0.5,
        help="share of a held-out user's ratings given as the query",
    )
    evaluate.add_argument(
        "--max-users",
        type=whole(1, 100_000_000),
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
        type=folder,
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
    evaluate.add_argument(
        "--similar",
        action="store_true",
        help="instead: more like this against item-kNN and the most liked, on the test split "
        "and the tuning split; writes similar.md",
    )
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO) -> None:
    from reco.evaluate import TUNING_SEED, EvalProtocol, evaluate, tune_staged

    dataset = load_movielens(args.dataset, data_dir=args.data_dir)
    protocol = EvalProtocol(
        folds=args.folds, query_fraction=args.query_fraction, max_users_per_fold=args.max_users
    )  # the test split, unless tuning or told otherwise
    if args.seed is not None or args.tune or args.tune_by_size:
        protocol = replace(protocol, seed=TUNING_SEED if args.seed is None else args.seed)
    if args.similar:
        _evaluate_similar(dataset, protocol, args.seed, Path(args.out), args.json, out)
        return
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
        write_report(folder, "tuning", table=table)
        columns = ["setting", "ndcg", "hr"]
        if args.json:
            show(table[columns].head(20).to_dict("records"), out)
        else:
            print(table[columns].head(20).to_string(index=False), file=out)
            print(f"all {len(table)} settings: {folder / 'tuning.csv'}", file=out)
        return
    written = report.save(folder)
    if args.json:
        show(report.to_json(), out)
        return
    print(
        f"{dataset.summary()}; {args.folds} folds over users (split seed {protocol.seed}), "
        f"{args.query_fraction:.0%} of each held-out profile as the query, "
        f"hidden {LIKED_AT:g}+ star movies as targets; {report.seconds:.0f} s",
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
        f"hidden {LIKED_AT:g}+ star films as targets; fold means; "
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
    payload = {"about": about, "folds": records}
    written = write_report(folder, stem, markdown=f"{about}\n\n{table}", data=payload)
    _show(about, table, payload, written, as_json, out)


def _show(
    about: str, table: str, payload: object, written: list[Path], as_json: bool, out: TextIO
) -> None:
    """Print ``payload`` as JSON, or ``about``, ``table`` and the files ``written``."""
    if as_json:
        show(payload, out)
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
    text = "\n\n".join(
        by_size_markdown(table, heading)
        for table, (heading, _) in zip(tables, grids.values(), strict=True)
    )
    table = pd.concat(tables, ignore_index=True)
    written = write_report(folder, "tuning_by_size", markdown=f"{about}\n\n{text}", table=table)
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
        f"each member's ratings as their query, their hidden {LIKED_AT:g}+ star films as "
        "targets; "
        f"{seconds:.0f} s"
    )
    _report(folder, "groups", about, table, folds.to_dict("records"), as_json, out)


def _evaluate_similar(
    dataset: Dataset,
    protocol: EvalProtocol,
    seed: int | None,
    folder: Path,
    as_json: bool,
    out: TextIO,
) -> None:
    """More like this on the tuning split (where its popularity weight was chosen) and on
    the test split (what is reported), one table each."""
    import pandas as pd

    from reco.evaluate import TUNING_SEED, evaluate_similar, similar_markdown

    seeds = [seed] if seed is not None else [TUNING_SEED, protocol.seed]
    progress = TextProgress(f"More like this on {dataset.name}", "folds")
    started = time.perf_counter()
    tables, parts = [], []
    try:
        for split in seeds:
            folds = evaluate_similar(dataset, replace(protocol, seed=split), progress)
            tables.append(folds.assign(seed=split))
            role = "tuning split" if split == TUNING_SEED else "test split"
            parts.append(f"Split seed {split} ({role}):\n\n{similar_markdown(folds)}")
    finally:
        progress.close()
    about = (
        f"{dataset.summary()}; {protocol.folds} folds over users, "
        f"{protocol.query_fraction:.0%} of each held-out profile as the query; one film the "
        f"user liked ({LIKED_AT:g}+ stars) in the query asks for ten like it, the targets are "
        "the films they liked among their hidden ratings; the index is built on the other "
        f"users; fold means with 95% intervals; {time.perf_counter() - started:.0f} s"
    )
    table = "\n\n".join(parts)
    records = pd.concat(tables, ignore_index=True).to_dict("records")
    _report(folder, "similar", about, table, records, as_json, out)

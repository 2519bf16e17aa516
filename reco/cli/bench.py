"""``python -m reco bench``: speed and scale against the seed's engine, or a release on disk."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from reco.cli.common import folder, seconds, show, whole
from reco.reports import write_report


def user_counts(text: str) -> list[int]:
    """``--release-users``: one user count or several, comma-separated, each at least 10."""
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"user counts, comma-separated; got {text!r}") from None
    if not counts or any(not 10 <= count <= 100_000_000 for count in counts):
        raise argparse.ArgumentTypeError("each user count is from 10 to 100,000,000")
    return counts


def add(
    commands: argparse._SubParsersAction,
    common: argparse.ArgumentParser,
    engine: argparse.ArgumentParser,
) -> None:
    """This command's parser and its options."""
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
        "--profiles",
        type=whole(1, 100_000),
        default=300,
        help="profiles of 5-50 ratings timed per size",
    )
    bench.add_argument(
        "--seed-cap",
        type=seconds,
        default=120.0,
        help="seconds of queries at most for the seed engine per size",
    )
    bench.add_argument(
        "--seed-max-users",
        type=whole(0, 100_000_000),
        default=50_000,
        help="largest size at which the seed engine is built",
    )
    bench.add_argument(
        "--out", type=folder, default="docs/bench", help="folder for bench.md/.json/.png/.html"
    )
    bench.add_argument(
        "--release-users",
        type=user_counts,
        default=None,
        help="instead: write a synthetic release of this many users in the ml-25m CSV layout "
        "and measure build, start-up, memory, search and the server code path (fresh "
        "processes); several, comma-separated: the cost curve (curve.md, curve.png)",
    )
    bench.add_argument(
        "--workdir", default=None, help="with --release-users: keep the release and indexes here"
    )
    bench.add_argument("--one", help=argparse.SUPPRESS)  # one size, in this process (internal)
    bench.add_argument("--phase", help=argparse.SUPPRESS)  # one release phase (internal)
    bench.add_argument("--release-path", help=argparse.SUPPRESS)
    bench.add_argument("--data-dir", type=folder, help=argparse.SUPPRESS)
    bench.add_argument("--started", type=float, default=0.0, help=argparse.SUPPRESS)
    bench.add_argument("--json", action="store_true")
    bench.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO) -> None:
    from reco.bench import (
        BenchOptions,
        ReleaseOptions,
        bench_curve,
        bench_one,
        bench_release,
        curve_chart,
        curve_table,
        machine,
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
    if args.release_users and len(args.release_users) > 1:
        rows = bench_curve(
            args.release_users,
            args.workdir,
            progress=lambda text: print(text, file=sys.stderr, flush=True),
        )
        write_report(
            args.out,
            "curve",
            markdown=curve_table(rows),
            data={"machine": machine(), "results": rows},
            chart=curve_chart(rows),
        )
        if args.json:
            show(rows, out)
        else:
            print(curve_table(rows), file=out)
        return
    if args.release_users:
        result = bench_release(
            ReleaseOptions(users=args.release_users[0], profiles=args.profiles),
            args.workdir,
            progress=lambda text: print(text, file=sys.stderr, flush=True),
        )
        write_report(args.out, "release", markdown=release_table(result), data=result)
        if args.json:
            show(result, out)
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
        show(results, out)
        return
    print(table(results), file=out)
    print("written: " + ", ".join(str(p) for p in written), file=out)

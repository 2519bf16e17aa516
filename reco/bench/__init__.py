"""Speed and scale: ``python -m reco bench``.

- `synthetic`: seeded MovieLens-like populations and releases on disk;
- `reference`: the exact numpy posting-list reference;
- `sizes`: one fresh process per size, the engine beside the seed's and the reference;
- `release`: a release on disk, each phase (build, start, server path) in a fresh process;
- `curve`: several such releases, one table and chart of what grows with the users;
- `timing`: percentiles, memory, disk.
"""

from reco.bench.curve import bench_curve, curve_chart, curve_table
from reco.bench.reference import PostingLists
from reco.bench.release import ReleaseOptions, bench_release, release_phase, release_table
from reco.bench.sizes import BenchOptions, bench_one, chart, run, save, table
from reco.bench.synthetic import (
    sample_profiles,
    synthetic_movielens,
    synthetic_titles,
    write_csv_release,
)
from reco.bench.timing import machine

__all__ = [
    "BenchOptions",
    "PostingLists",
    "ReleaseOptions",
    "bench_curve",
    "bench_one",
    "bench_release",
    "chart",
    "curve_chart",
    "curve_table",
    "machine",
    "release_phase",
    "release_table",
    "run",
    "sample_profiles",
    "save",
    "synthetic_movielens",
    "synthetic_titles",
    "table",
    "write_csv_release",
]

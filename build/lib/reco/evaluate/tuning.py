"""Exploring encodings and scoring options on the tuning split (`TUNING_SEED`): every setting
ranks through the recommender's own neighbours -> rank path (`score_found`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd

from reco.datasets import Dataset, Progress
from reco.encode import EncodingName
from reco.evaluate.baselines import Popular
from reco.evaluate.methods import score_found
from reco.evaluate.metrics import hit_rate, ndcg_at
from reco.evaluate.protocol import (
    PROFILE_SIZES,
    TUNING_SEED,
    EvalProtocol,
    make_folds,
    size_label,
    size_protocol,
)
from reco.recommend import (
    DEFAULT_ENCODING,
    DEFAULT_IDF,
    DEFAULT_NORMALIZE,
    SEED_OPTIONS,
    Recommender,
    ScoringOptions,
)
from reco.store import temporary_store


@dataclass(frozen=True)
class Setting:
    """One point of the tuning grid."""

    encoding: EncodingName
    normalize: bool
    idf: bool
    options: ScoringOptions

    @property
    def label(self) -> str:
        o = self.options
        return (
            f"{self.encoding}{'+cos' if self.normalize else '+dot'}{'+idf' if self.idf else ''} "
            f"k={o.neighbours} "
            f"a={o.similarity_exponent:g} off={o.offset:g}"
            + (" liked" if o.liked_only else "")
            + (f" pop={o.popularity_penalty:g}" if o.popularity_penalty else "")
        )


def tune(
    dataset: Dataset,
    encodings: Sequence[tuple[EncodingName, bool, bool]],
    options: Sequence[ScoringOptions],
    protocol: EvalProtocol | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """NDCG@10 and HR@10 of every (encoding, scoring options) pair, best first.

    One index per encoding and fold; each case's neighbours are asked of the Qdrant store
    once (as many as the largest neighbour count) and every scoring option reuses them.
    """
    protocol = protocol or EvalProtocol(seed=TUNING_SEED)
    folds = make_folds(dataset, protocol)
    most = max(o.neighbours for o in options)
    scores: dict[Setting, list[tuple[float, float]]] = {}
    total, done = len(folds) * len(encodings), 0
    for fold in folds:
        popular = Popular(fold.train)
        for name, normalize, idf in encodings:
            recommender = Recommender.build(
                fold.train,
                temporary_store("tune"),
                encoding=name,
                normalize=normalize,
                idf=idf,
            )
            widest = replace(recommender.options, neighbours=most)
            for case in fold.cases:
                found = recommender.ask(case.query, widest)
                for option in options:
                    ranked = score_found(recommender, found, case.query, option, protocol.k)
                    ranked = popular.pad(ranked, case, protocol.k)
                    result = (
                        ndcg_at(ranked, case.relevant, protocol.k),
                        hit_rate(ranked, case.relevant, protocol.k),
                    )
                    setting = Setting(name, normalize, idf, option)
                    scores.setdefault(setting, []).append(result)
            recommender.store.close()
            done += 1
            if progress is not None:
                progress(done, total)
    rows = [
        {
            "setting": setting.label,
            "ndcg": float(np.mean([s[0] for s in values])),
            "hr": float(np.mean([s[1] for s in values])),
            "encoding": setting.encoding,
            "normalize": setting.normalize,
            "idf": setting.idf,
            **asdict(setting.options),
        }
        for setting, values in scores.items()
    ]
    return pd.DataFrame(rows).sort_values("ndcg", ascending=False).reset_index(drop=True)


def grid(
    neighbours: Sequence[int] = (50, 100, 200),
    exponents: Sequence[float] = (1.0, 2.0, 3.0),
    offsets: Sequence[float] = (0.5, 1.0, 2.0),
    liked_only: Sequence[bool] = (False, True),
    penalties: Sequence[float] = (0.0, 0.15, 0.3),
) -> list[ScoringOptions]:
    """Every combination of the scoring options to explore, on the neighbours' votes alone
    (the fit has its own exploration: `regression_settings`)."""
    return [
        ScoringOptions(
            neighbours=k,
            similarity_exponent=a,
            offset=o,
            liked_only=liked,
            popularity_penalty=p,
            regression_weight=0.0,
        )
        for k in neighbours
        for a in exponents
        for o in offsets
        for liked in liked_only
        for p in penalties
    ]


def tune_staged(
    dataset: Dataset,
    protocol: EvalProtocol | None = None,
    progress: Progress | None = None,
    finalists: int = 3,
) -> pd.DataFrame:
    """Two stages: every encoding setting with a few scoring options, then the full scoring
    grid on the ``finalists`` best encodings. Rows of both stages, best first."""
    probes = [
        ScoringOptions(regression_weight=0.0),
        ScoringOptions(
            neighbours=50,
            similarity_exponent=2.0,
            offset=1.0,
            popularity_penalty=0.0,
            regression_weight=0.0,
        ),
        SEED_OPTIONS,
    ]
    first = tune(dataset, ENCODING_GRID, probes, protocol, progress)
    best = first.groupby(["encoding", "normalize", "idf"], sort=False)["ndcg"].max()
    chosen = [key for key in best.sort_values(ascending=False).index[:finalists]]
    second = tune(dataset, chosen, grid(), protocol, progress)
    table = pd.concat([first.assign(stage=1), second.assign(stage=2)], ignore_index=True)
    table = table.drop_duplicates("setting")  # a probe may recur in the grid: keep stage 1's
    return table.sort_values("ndcg", ascending=False, kind="stable").reset_index(drop=True)


def exponent_settings(
    exponents: Sequence[float] = (1.0, 1.5, 2.0, 3.0), penalties: Sequence[float] = (0.15, 0.3)
) -> list[tuple[str, ScoringOptions]]:
    """Each fixed similarity exponent and popularity penalty, on the votes alone (the
    exploration behind `ScoringOptions.full_exponent_at`), labelled ``"exponent, penalty"``."""
    return [
        (
            f"{a:g}, {p:g}",
            ScoringOptions(
                similarity_exponent=a, popularity_penalty=p, full_exponent_at=0, regression_weight=0
            ),
        )
        for a in exponents
        for p in penalties
    ]


def regression_settings(
    weights: Sequence[float] = (0.0, 0.5, 1.0, 1.5), ridges: Sequence[float] = (0.5, 1.0, 2.0)
) -> list[tuple[str, ScoringOptions]]:
    """The regression fit's weight and ridge with the default's other settings, the fit at
    every profile length (the exploration behind ``regression_*``), labelled ``"weight,
    ridge"`` (weight 0, the votes alone, once)."""
    points = [(w, r) for w in weights for r in ((ridges[0],) if w == 0 else ridges)]
    return [
        (
            "0 (votes alone)" if w == 0 else f"{w:g}, {r:g}",
            ScoringOptions(regression_weight=w, regression_ridge=r, regression_from=1),
        )
        for w, r in points
    ]


def tune_by_size(
    dataset: Dataset,
    settings: Sequence[tuple[str, ScoringOptions]],
    sizes: Sequence[str] = PROFILE_SIZES,
    protocol: EvalProtocol | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """NDCG@10 and HR@10 of the default encoding with each of the named ``settings`` at each
    query size: one row per size and setting (``setting``: its name, ``order``: its place in
    ``settings``), best first within a size. The tuning split (`TUNING_SEED`) unless
    ``protocol`` says otherwise."""
    base = protocol or EvalProtocol(seed=TUNING_SEED)
    names = {options: name for name, options in settings}
    order = {name: at for at, (name, _) in enumerate(settings)}
    fields = list(ScoringOptions.__dataclass_fields__)
    default = (DEFAULT_ENCODING, DEFAULT_NORMALIZE, DEFAULT_IDF)
    tables = []
    for done, size in enumerate(sizes, 1):
        table = tune(dataset, [default], list(names), size_protocol(size, base))
        chosen = [
            names[ScoringOptions(**{f: row[f] for f in fields})] for _, row in table.iterrows()
        ]
        tables.append(table.assign(size=size, setting=chosen, order=[order[c] for c in chosen]))
        if progress is not None:
            progress(done, len(sizes))
    return pd.concat(tables, ignore_index=True)[["size", "setting", "order", "ndcg", "hr"]]


def by_size_markdown(table: pd.DataFrame, heading: str) -> str:
    """NDCG@10 per setting (rows, in the order they were given; ``heading`` names them) and
    query size (columns), the best per size in bold."""
    sizes = list(dict.fromkeys(table["size"]))
    settings = table.sort_values("order", kind="stable")["setting"].drop_duplicates()
    pivot = table.pivot_table(index="setting", columns="size", values="ndcg")
    lines = [
        f"| {heading} | " + " | ".join(size_label(s) for s in sizes) + " |",
        "|---|" + "---|" * len(sizes),
    ]
    best = {size: pivot[size].max() for size in sizes}
    for setting in settings:
        row = pivot.loc[setting]
        cells = [
            f"**{row[size]:.3f}**" if row[size] == best[size] else f"{row[size]:.3f}"
            for size in sizes
        ]
        lines.append(f"| {setting} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


ENCODING_GRID: tuple[tuple[EncodingName, bool, bool], ...] = tuple(
    (name, normalize, idf)
    for name in ("zscore", "centered", "centered_offset", "liked", "binary")
    for normalize in (False, True)
    for idf in (False, True)
)
"""(encoding, unit length, IDF) settings explored by `tune`."""

"""Check the evaluation's metric code against LensKit's on the same rankings.

The default and EASE (λ = 300) rank the held-out users of ml-100k (5 folds, split seed 1, half
of each profile as the query); every list is scored by `reco.evaluate`'s NDCG@10, Recall@10 and
HR@10 and by LensKit's `NDCG`, `Recall` and `Hit`, both with LensKit's defaults and with the
settings that match this project's definitions. Writes docs/evaluation/lenskit_check.md.

LensKit needs PyTorch, so it is not among the project's requirements; run this in a virtual
environment that has both (on this machine: `pip install torch==2.13.0 lenskit`):

    python scripts/lenskit_metrics.py [--dataset ml-100k] [--out docs/evaluation]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lenskit.data import ItemList  # noqa: E402
from lenskit.metrics import NDCG, Hit, Recall  # noqa: E402
from lenskit.metrics.ranking import LogRankWeight  # noqa: E402

from reco.datasets import load_movielens  # noqa: E402
from reco.evaluate import (  # noqa: E402
    EvalProtocol,
    hit_rate,
    make_folds,
    ndcg_at,
    project_method,
    recall_at,
)
from reco.evaluate.baselines import EASE  # noqa: E402

K = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--out", default="docs/evaluation")
    args = parser.parse_args()
    dataset = load_movielens(args.dataset)
    protocol = EvalProtocol(seed=1)
    lenskit = {
        "NDCG@10, LensKit default (discount log2 max(rank, 2))": NDCG(n=K),
        "NDCG@10, LensKit with LogRankWeight(offset=1) (discount log2(rank + 1))": NDCG(
            n=K, weight=LogRankWeight(offset=1)
        ),
        "Recall@10, LensKit default (hits / min(10, relevant))": Recall(n=K),
        "Recall, LensKit on the top 10 without n (hits / relevant)": Recall(),
        "HR@10, LensKit Hit(n=10)": Hit(n=K),
    }
    ours = {
        "NDCG@10, LensKit default (discount log2 max(rank, 2))": ndcg_at,
        "NDCG@10, LensKit with LogRankWeight(offset=1) (discount log2(rank + 1))": ndcg_at,
        "Recall@10, LensKit default (hits / min(10, relevant))": recall_at,
        "Recall, LensKit on the top 10 without n (hits / relevant)": recall_at,
        "HR@10, LensKit Hit(n=10)": hit_rate,
    }
    differences: dict[str, list[float]] = {name: [] for name in lenskit}
    values: dict[str, list[tuple[float, float]]] = {name: [] for name in lenskit}
    lists = 0
    for fold in make_folds(dataset, protocol):
        rankers = [project_method().fit(fold.train), EASE(fold.train)]
        for ranker in rankers:
            for case in fold.cases:
                ranked = ranker.rank(case, K)
                recs = ItemList(item_ids=np.array(ranked, dtype=np.int64), ordered=True)
                test = ItemList(item_ids=np.array(sorted(case.relevant), dtype=np.int64))
                for name, metric in lenskit.items():
                    theirs = float(metric.measure_list(recs, test))
                    mine = ours[name](ranked, set(case.relevant), K)
                    differences[name].append(abs(theirs - mine))
                    values[name].append((mine, theirs))
                lists += 1
    lines = [
        f"{dataset.summary()}; the default and EASE (λ = 300) rank each held-out user's "
        f"films (5 folds, split seed 1, half of each profile as the query): {lists:,} lists "
        "scored by this project's metric code and by LensKit's.",
        "",
        "| LensKit metric | this project's mean | LensKit's mean | largest difference, one list |",
        "|---|---|---|---|",
    ]
    for name in lenskit:
        mine, theirs = np.array(values[name]).mean(axis=0)
        lines.append(f"| {name} | {mine:.4f} | {theirs:.4f} | {max(differences[name]):.2e} |")
    text = "\n".join(lines) + "\n"
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lenskit_check.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()

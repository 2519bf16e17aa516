"""Offline evaluation that matches how the app is used.

Users are split into folds. For each fold the index is built on the other users; each held-out
user gives part of their ratings as the query (as a person does in the app), and the movies
they rated 4 stars or more among the rest are what a good top 10 should contain. Every method
ranks all movies the query has not rated, on the same split, in the same run.

- `protocol`: folds and queries; `metrics`: what a ranking scores;
- `baselines`: the methods the default is compared with; `methods`: every method as run;
- `run` and `report`: the main table and the predicted stars; `sizes`: by profile size, the
  baselines tuned on validation users; `groups`: movie night; `tuning`: the exploration
  behind the defaults, on the tuning split (`TUNING_SEED`).

The default split (`EvalProtocol().seed`) is the test split, never the tuning one.
"""

from reco.evaluate.baselines import TUNED_BASELINES, Baseline, Ranker
from reco.evaluate.groups import evaluate_groups, group_markdown, make_groups
from reco.evaluate.methods import (
    BASELINES,
    SEED_METHOD,
    Method,
    default_methods,
    project_method,
    score_found,
    tuned_project,
)
from reco.evaluate.metrics import (
    coverage,
    hit_rate,
    mean_interval,
    ndcg_at,
    precision_at,
    recall_at,
)
from reco.evaluate.protocol import (
    PROFILE_SIZES,
    TUNING_SEED,
    Case,
    EvalProtocol,
    Fold,
    make_folds,
    size_label,
    size_protocol,
    validation_split,
)
from reco.evaluate.report import Report, prediction_markdown
from reco.evaluate.run import evaluate, evaluate_predictions
from reco.evaluate.similar import evaluate_similar, similar_markdown
from reco.evaluate.sizes import evaluate_profile_sizes, profile_size_markdown, tuning_markdown
from reco.evaluate.tuning import (
    ENCODING_GRID,
    by_size_markdown,
    exponent_settings,
    grid,
    regression_settings,
    tune,
    tune_by_size,
    tune_staged,
)

__all__ = [
    "BASELINES",
    "ENCODING_GRID",
    "PROFILE_SIZES",
    "SEED_METHOD",
    "TUNED_BASELINES",
    "TUNING_SEED",
    "Baseline",
    "Case",
    "EvalProtocol",
    "Fold",
    "Method",
    "Ranker",
    "Report",
    "by_size_markdown",
    "coverage",
    "default_methods",
    "evaluate",
    "evaluate_groups",
    "evaluate_similar",
    "evaluate_predictions",
    "evaluate_profile_sizes",
    "exponent_settings",
    "grid",
    "group_markdown",
    "hit_rate",
    "make_folds",
    "make_groups",
    "similar_markdown",
    "mean_interval",
    "ndcg_at",
    "precision_at",
    "prediction_markdown",
    "profile_size_markdown",
    "project_method",
    "recall_at",
    "regression_settings",
    "score_found",
    "size_label",
    "size_protocol",
    "tune",
    "tune_by_size",
    "tune_staged",
    "tuned_project",
    "tuning_markdown",
    "validation_split",
]

"""User-based collaborative filtering on a vector store.

- `reco.recommend.options`: how neighbours' ratings become scores (`ScoringOptions`);
- `reco.recommend.scoring`: the votes and the neighbours' fit over the candidates;
- `reco.recommend.results`: what a query returns;
- `reco.recommend.checks`, `reco.recommend.popular`: a query's checks, films without neighbours;
- `reco.recommend.similar`: more like this, from the index's films;
- `reco.recommend.recommender`: the `Recommender` and its one neighbours -> rank path;
- `reco.recommend.opening`: `open_recommender`, a release's index opened or built.
"""

from reco.recommend.opening import open_recommender
from reco.recommend.options import (
    DEFAULT_ENCODING,
    DEFAULT_IDF,
    DEFAULT_NORMALIZE,
    SEED_OPTIONS,
    ScoringOptions,
)
from reco.recommend.recommender import IndexUnavailable, Recommender, one_blas_thread
from reco.recommend.results import (
    GroupRecommendation,
    GroupRecommendations,
    Neighbour,
    NeighbourRating,
    Recommendation,
    Recommendations,
)
from reco.recommend.scoring import Candidates, counting, neighbour_fit, score_candidates
from reco.recommend.similar import LikeThis, MoreLikeThis

__all__ = [
    "DEFAULT_ENCODING",
    "DEFAULT_IDF",
    "DEFAULT_NORMALIZE",
    "SEED_OPTIONS",
    "Candidates",
    "GroupRecommendation",
    "GroupRecommendations",
    "IndexUnavailable",
    "LikeThis",
    "MoreLikeThis",
    "Neighbour",
    "NeighbourRating",
    "Recommendation",
    "Recommendations",
    "Recommender",
    "ScoringOptions",
    "counting",
    "neighbour_fit",
    "one_blas_thread",
    "open_recommender",
    "score_candidates",
]

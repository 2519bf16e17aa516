"""Movie recommendations by user-based collaborative filtering on Qdrant sparse vectors.

data (`datasets`) -> encode (`encode`) -> store (`store`) -> recommend (`recommend`) ->
evaluate (`evaluate`); the command line in `cli`, speed and scale in `bench`.
"""

from reco.catalog import Catalog, CatalogError, display_title
from reco.datasets import AGE_GROUPS, Dataset, DatasetError, DatasetUnavailable, load_movielens
from reco.encode import Encoding, SparseVector
from reco.explore import FilmFilter
from reco.filters import FILTERS, FilterField, UserFilter
from reco.recommend import (
    GroupRecommendation,
    GroupRecommendations,
    IndexUnavailable,
    Neighbour,
    NeighbourRating,
    Recommendation,
    Recommendations,
    Recommender,
    ScoringOptions,
    open_recommender,
)
from reco.search import MovieSearch
from reco.store import IndexDamaged, StoreUnavailable, open_store

__all__ = [
    "AGE_GROUPS",
    "Catalog",
    "CatalogError",
    "Dataset",
    "DatasetError",
    "DatasetUnavailable",
    "FILTERS",
    "FilmFilter",
    "FilterField",
    "GroupRecommendation",
    "GroupRecommendations",
    "IndexDamaged",
    "IndexUnavailable",
    "Encoding",
    "MovieSearch",
    "Neighbour",
    "NeighbourRating",
    "Recommendation",
    "Recommendations",
    "Recommender",
    "ScoringOptions",
    "SparseVector",
    "StoreUnavailable",
    "UserFilter",
    "display_title",
    "load_movielens",
    "open_recommender",
    "open_store",
]

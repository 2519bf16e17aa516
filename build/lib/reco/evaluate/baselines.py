"""The methods the default is compared with, and the grids they are tuned over.

Each baseline is fitted on training users' ratings (a `Dataset`) and ranks every movie a query
has not rated, like the project's recommender. They read ratings as interactions (rated or
not), as is usual for top-N recommendation:

- `Popular`: most rated first;
- `ItemKNN`: cosine between movies' rater sets, each movie's ``neighbours`` most similar kept;
- `UserKNN`: cosine between users' rated sets (in memory, no engine), the ``neighbours`` most
  similar users' movies summed by similarity;
- `EASE` (Steck, WWW 2019): a closed-form item-item model with L2 weight ``regularisation``;
- `RP3beta` (Paudel et al., ACM TIIS 2016): three-step random walks user-item-user-item,
  transition probabilities raised to ``alpha``, divided by popularity to the power ``beta``;
- `IALS`: implicit alternating least squares (Hu, Koren and Volinsky, ICDM 2008) as the
  `implicit` package implements it, a query folded in by one least-squares step.

`TUNED_BASELINES` pairs each with the grid a reviewer would search; `reco.evaluate.sizes` chooses a
point per fold (and per profile size) on validation users carved from the training users.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from reco.datasets import Dataset
from reco.evaluate.protocol import Case


class Ranker(Protocol):
    def rank(self, case: Case, k: int) -> list[int]: ...


class Popular:
    """Most rated movies first."""

    def __init__(self, train: Dataset):
        counts = train.ratings.groupby("movie_id").size()
        self.order = counts.sort_values(ascending=False, kind="stable").index.to_numpy()

    def rank(self, case: Case, k: int) -> list[int]:
        return top_unrated(self.order, case.query, k)

    def pad(self, ranked: list[int], case: Case, k: int) -> list[int]:
        """Fill a short list with the most popular unrated movies (a full ranking)."""
        if len(ranked) >= k:
            return ranked[:k]
        taken = set(ranked)
        extra = top_unrated(self.order, {**case.query, **dict.fromkeys(taken)}, k - len(ranked))
        return ranked + extra


def top_unrated(order: np.ndarray, rated: Mapping[int, Any], k: int) -> list[int]:
    """The first ``k`` movies of ``order`` not in ``rated``."""
    result = []
    for movie in order.tolist():
        if movie not in rated:
            result.append(movie)
            if len(result) == k:
                break
    return result


class Interactions:
    """Train ratings as a dense binary user x movie matrix (movies in ascending id order).
    The item models score a query by summing its movies' rows (or columns) of their
    item-item matrix: the product with the binary query vector, without its zeros."""

    def __init__(self, train: Dataset):
        ratings = train.ratings
        self.movies = np.sort(ratings["movie_id"].unique())
        self.column = {int(m): i for i, m in enumerate(self.movies.tolist())}
        users, rows = np.unique(ratings["user_id"].to_numpy(), return_inverse=True)
        cols = np.searchsorted(self.movies, ratings["movie_id"].to_numpy())
        # float32: the item models' products and inverses take half the time of float64's
        # (ml-latest-small's 9,742 movies), with error far below the scores' differences
        self.matrix = np.zeros((len(users), len(self.movies)), dtype=np.float32)
        self.matrix[rows, cols] = 1.0

    def query_vector(self, case: Case) -> np.ndarray:
        vector = np.zeros(len(self.movies), dtype=self.matrix.dtype)
        vector[self.query_columns(case)] = 1.0
        return vector

    def query_columns(self, case: Case) -> np.ndarray:
        """The query's movies known to the training data, as column positions."""
        columns = [self.column.get(movie) for movie in case.query]
        return np.array([c for c in columns if c is not None], dtype=np.int64)

    def top(self, scores: np.ndarray, case: Case, k: int) -> list[int]:
        """The ``k`` best-scored movies the query has not rated (ties by movie id)."""
        scores = np.array(scores, dtype=np.float64)
        scores[self.query_columns(case)] = -np.inf
        best = np.argsort(-scores, kind="stable")[:k]
        return [int(m) for m in self.movies[best]]


def _keep_most_similar(similarity: np.ndarray, neighbours: int) -> np.ndarray:
    """Zero all but each column's ``neighbours`` largest entries (in place; returned)."""
    if neighbours < similarity.shape[0]:
        cut = np.partition(similarity, -neighbours, axis=0)[-neighbours]
        similarity[similarity < cut[np.newaxis, :]] = 0.0
    return similarity


class ItemKNN(Interactions):
    """Item-based kNN: cosine between movies' rater sets, summed over the query's movies."""

    def __init__(self, train: Dataset, neighbours: int = 100):
        super().__init__(train)
        norms = np.linalg.norm(self.matrix, axis=0)
        normalised = self.matrix / np.where(norms > 0, norms, 1.0)
        similarity = normalised.T @ normalised
        np.fill_diagonal(similarity, 0.0)
        self.similarity = _keep_most_similar(similarity, neighbours)

    def rank(self, case: Case, k: int) -> list[int]:
        scores = self.similarity[:, self.query_columns(case)].sum(axis=1)
        return self.top(scores, case, k)


class UserKNN(Interactions):
    """User-based kNN in memory: cosine between rated sets, the ``neighbours`` most similar
    users' movies summed by similarity (the textbook method, without the engine)."""

    def __init__(self, train: Dataset, neighbours: int = 50):
        super().__init__(train)
        norms = np.linalg.norm(self.matrix, axis=1)
        self.normalised = self.matrix / np.where(norms > 0, norms, 1.0)[:, np.newaxis]
        self.neighbours = neighbours

    def rank(self, case: Case, k: int) -> list[int]:
        query = self.query_vector(case)
        norm = np.linalg.norm(query)
        similarity = self.normalised @ (query / norm if norm > 0 else query)
        count = min(self.neighbours, len(similarity))
        nearest = np.argpartition(-similarity, count - 1)[:count]
        return self.top(similarity[nearest] @ self.matrix[nearest], case, k)


class EASE(Interactions):
    """EASE (Steck 2019): B = I - P / diag(P), P = (X'X + λI)^-1, diag(B) = 0."""

    def __init__(self, train: Dataset, regularisation: float = 300.0):
        super().__init__(train)
        gram = self.matrix.T @ self.matrix
        gram[np.diag_indices_from(gram)] += regularisation
        inverse = _spd_inverse(gram)
        self.weights = -inverse / np.diag(inverse)
        np.fill_diagonal(self.weights, 0.0)

    def rank(self, case: Case, k: int) -> list[int]:
        return self.top(self.weights[self.query_columns(case)].sum(axis=0), case, k)


def _spd_inverse(matrix: np.ndarray) -> np.ndarray:
    """The inverse of a symmetric positive definite matrix: by its Cholesky factor (LAPACK
    potrf/potri, a third of a general inverse's time) when SciPy is there."""
    try:
        from scipy.linalg import lapack
    except ImportError:  # pragma: no cover - SciPy comes with the dev requirements
        return np.linalg.inv(matrix)
    potrf, potri = lapack.get_lapack_funcs(("potrf", "potri"), (matrix,))
    factor, failed = potrf(matrix, lower=False)
    if failed:
        return np.linalg.inv(matrix)
    upper, failed = potri(factor, lower=False)
    if failed:
        return np.linalg.inv(matrix)
    return np.triu(upper) + np.triu(upper, 1).T


class RP3beta(Interactions):
    """RP3beta (Paudel et al. 2016): W[i, j] = sum_u P(u | i)^alpha P(j | u)^alpha /
    popularity(j)^beta, each movie's ``neighbours`` largest kept; score = query @ W."""

    def __init__(
        self, train: Dataset, alpha: float = 1.0, beta: float = 0.5, neighbours: int = 100
    ):
        super().__init__(train)
        by_user = self.matrix.sum(axis=1, keepdims=True)
        by_movie = self.matrix.sum(axis=0, keepdims=True)
        user_to_movie = (self.matrix / np.maximum(by_user, 1.0)) ** alpha  # P(j | u)
        movie_to_user = (self.matrix / np.maximum(by_movie, 1.0)) ** alpha  # P(u | i), as u x i
        walks = movie_to_user.T @ user_to_movie
        walks /= np.maximum(by_movie, 1.0) ** beta
        np.fill_diagonal(walks, 0.0)
        self.weights = _keep_most_similar(walks.T, neighbours).T  # per row i: its best j

    def rank(self, case: Case, k: int) -> list[int]:
        return self.top(self.weights[self.query_columns(case)].sum(axis=0), case, k)


class IALS(Interactions):
    """Implicit ALS from the `implicit` package (confidence ``1 + alpha`` on rated movies);
    a query's factors are recomputed from its movies (`recalculate_user`), as for a new user."""

    def __init__(
        self,
        train: Dataset,
        factors: int = 64,
        regularisation: float = 0.1,
        alpha: float = 10.0,
        iterations: int = 15,
        seed: int = 0,
    ):
        super().__init__(train)
        try:
            from implicit.cpu.als import AlternatingLeastSquares
            from scipy.sparse import csr_matrix
            from threadpoolctl import threadpool_limits
        except ImportError as error:  # pragma: no cover - the dev requirements hold both
            raise ImportError(
                "the iALS baseline needs the `implicit` package: "
                "pip install -r requirements-dev.txt"
            ) from error
        self._csr = csr_matrix
        with threadpool_limits(1, "blas"):  # implicit's own threads; BLAS threads slow it
            self.model = AlternatingLeastSquares(
                factors=factors,
                regularization=regularisation,
                alpha=alpha,
                iterations=iterations,
                random_state=seed,
                num_threads=1,
            )
            self.model.fit(csr_matrix(self.matrix), show_progress=False)

    def rank(self, case: Case, k: int) -> list[int]:
        columns = self.query_columns(case)
        if not len(columns):
            return []
        row = self._csr(
            (np.ones(len(columns), dtype=np.float32), (np.zeros(len(columns)), columns)),
            shape=(1, len(self.movies)),
        )
        found, _ = self.model.recommend(0, row, N=k, recalculate_user=True)
        return [int(m) for m in self.movies[np.asarray(found, dtype=np.int64)]]


@dataclass(frozen=True)
class Baseline:
    """A baseline and the grid of its parameters to choose from on validation users."""

    name: str
    fit: Callable[..., Ranker]
    """``fit(train, **point)`` for a point of ``grid``."""
    grid: tuple[Mapping[str, Any], ...]

    def label(self, point: Mapping[str, Any]) -> str:
        return ", ".join(f"{key}={value:g}" for key, value in point.items())


def _points(**axes: Sequence[Any]) -> tuple[dict[str, Any], ...]:
    """Every combination of the axes' values, as parameter mappings."""
    points: list[dict[str, Any]] = [{}]
    for key, values in axes.items():
        points = [{**point, key: value} for point in points for value in values]
    return tuple(points)


TUNED_BASELINES = (
    Baseline("Item-kNN", ItemKNN, _points(neighbours=(20, 50, 100, 200, 400, 800, 1600))),
    Baseline("User-kNN (in memory)", UserKNN, _points(neighbours=(10, 20, 50, 100, 200, 400))),
    Baseline(
        "EASE",
        EASE,
        _points(regularisation=(50, 100, 200, 400, 800, 1600, 3200, 6400, 12800)),
    ),
    Baseline("RP3beta", RP3beta, _points(alpha=(0.4, 0.6, 0.8, 1.0), beta=(0.0, 0.2, 0.4, 0.6))),
    Baseline(
        "iALS (implicit)",
        IALS,
        _points(factors=(16, 32, 64, 128), regularisation=(0.1, 1.0, 10.0), alpha=(1.0, 2.0, 10.0)),
    ),
)
"""The tuned baselines, each with its grid (`Popular` has nothing to tune)."""

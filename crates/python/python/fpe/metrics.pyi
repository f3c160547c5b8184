"""Type stubs of ``fpe.metrics``. Weights are ``[h, d]``: rows are neurons, columns inputs."""

from typing import List, Optional, Sequence, TypedDict

import numpy as np
import numpy.typing as npt

class Capacity(TypedDict):
    per_input: np.ndarray  # float32 [d], in [0, 1]
    mean: float
    mean_literals: Optional[float]  # over the clause literals, with clauses
    sum: float

class Cosine(TypedDict):
    mean_abs: float
    mean_signed: float
    mean_abs_cross_parent: float
    mean_abs_siblings: float
    pairs: int
    cross_parent_pairs: int
    zero_rows: int

class Collisions(TypedDict):
    clauses: int
    pairs: int
    parents: int
    colliding_pairs: int
    collision_rate: float
    collision_rate_per_parent: float
    covered_clauses: int
    coverage: float
    coverage_per_parent: float

class CollisionTheory(TypedDict):
    alpha: int
    inputs: int
    collision_balanced: float
    collision_independent: float
    coverage_balanced: float
    coverage_independent: float

class Polysemanticity(TypedDict):
    tau: float
    mean_clauses_per_responsive: float
    responsive_neurons: int
    clauses_per_neuron: List[int]
    exclusive_samples: List[int]
    skipped_clauses: int

class Report(TypedDict):
    neurons: int
    inputs: int
    alpha: int
    capacity: Capacity
    cosine: Cosine
    collisions: Optional[Collisions]  # with clauses
    collision_theory: Optional[CollisionTheory]  # with clauses
    polysemanticity: Optional[Polysemanticity]  # with activations and satisfied
    dimension: Optional[float]  # participation-ratio dimension, with activations

def report(
    weights: npt.ArrayLike,
    clauses: Optional[Sequence[Sequence[int]]] = None,
    alpha: Optional[int] = None,
    *,
    activations: Optional[npt.ArrayLike] = None,
    satisfied: Optional[npt.ArrayLike] = None,
    tau: float = 0.5,
) -> Report:
    """Every metric of one weight matrix ``[h, d]``; ``activations`` ``[N, h]``,
    ``satisfied`` bool ``[N, m]``. Raises ValueError for bad shapes, NaN/Inf, alpha not
    dividing h, tau outside (0, 1], empty clauses or indices >= d."""

def feature_capacity(weights: npt.ArrayLike) -> np.ndarray:
    """Capacity of every input: float32 ``[d]``."""

def cosine_matrix(weights: npt.ArrayLike) -> np.ndarray:
    """Cosine similarity of the rows: float32 ``[h, h]``."""

def participation_ratio(activations: npt.ArrayLike) -> float:
    """PR dimension of activations ``[N, h]`` (0 when their covariance is zero)."""

def collision_prob_independent(alpha: int, k: int) -> float:
    """``alpha ** -(2k - 1)``: two k-literal clauses in one child, independent assignment."""

def collision_prob_balanced(inputs: int, alpha: int, k: int) -> float:
    """The same under a balanced partition of ``inputs`` inputs."""

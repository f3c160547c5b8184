"""Polysemanticity and interference metrics (the Rust crate ``fpe-metrics``, SPEC §7).

Weights are ``[h, d]``: rows are neurons, columns are inputs (``nn.Linear.weight`` of the first
layer, already masked). After an expansion by ``alpha``, neuron ``i`` is child ``i % alpha`` of
parent ``i // alpha``.

- :func:`report`: every metric at once, as a dict (capacity, cosine, collisions with their
  closed forms, activation polysemanticity, participation-ratio dimension).
- :func:`feature_capacity`, :func:`cosine_matrix`, :func:`participation_ratio`,
  :func:`collision_prob_independent`, :func:`collision_prob_balanced`: single metrics.
"""

from ._fpe import (
    collision_prob_balanced,
    collision_prob_independent,
    cosine_matrix,
    feature_capacity,
    participation_ratio,
    report,
)

__all__ = [
    "collision_prob_balanced",
    "collision_prob_independent",
    "cosine_matrix",
    "feature_capacity",
    "participation_ratio",
    "report",
]

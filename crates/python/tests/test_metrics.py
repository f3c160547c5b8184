"""fpe.metrics against hand-computed values and independent numpy formulas."""

from __future__ import annotations

import numpy as np
import pytest

import fpe

# Two parents of alpha = 2 children over 4 inputs; siblings read disjoint inputs.
W = np.array(
    [[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0], [1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0]],
    dtype=np.float32,
)
CLAUSES = [[0, 1], [2, 3]]


def test_report_of_the_crate_example():
    r = fpe.metrics.report(W, CLAUSES, 2)
    assert (r["neurons"], r["inputs"], r["alpha"]) == (4, 4, 2)
    assert r["cosine"]["mean_abs_siblings"] == 0.0
    assert r["collisions"]["coverage"] == 1.0
    assert r["collision_theory"]["collision_independent"] == 0.125
    assert r["polysemanticity"] is None and r["dimension"] is None
    assert fpe.metrics.collision_prob_independent(2, 2) == 0.125
    assert set(r) == {"neurons", "inputs", "alpha", "capacity", "cosine", "collisions",
                      "collision_theory", "polysemanticity", "dimension"}


def test_capacity_matches_its_definition():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((7, 5)).astype(np.float32)
    w[:, 3] = 0  # a zero column has capacity 0
    g = w.astype(np.float64).T @ w.astype(np.float64)  # [d, d]
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.nan_to_num(np.diag(g) ** 2 / (g ** 2).sum(axis=1))
    r = fpe.metrics.report(w, [[0, 1], [2, 4]])
    cap = r["capacity"]["per_input"]
    assert cap.dtype == np.float32 and cap.shape == (5,)
    np.testing.assert_allclose(cap, expected, rtol=1e-6, atol=1e-7)
    assert cap[3] == 0.0
    assert r["capacity"]["mean"] == pytest.approx(float(cap.astype(np.float64).mean()), rel=1e-12)
    assert r["capacity"]["mean_literals"] == pytest.approx(float(cap[[0, 1, 2, 4]].mean()), rel=1e-6)
    assert np.array_equal(fpe.metrics.feature_capacity(w), cap)


def test_cosine_matches_numpy():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((6, 9)).astype(np.float32)
    unit = w / np.linalg.norm(w, axis=1, keepdims=True)
    cos = unit @ unit.T
    np.testing.assert_allclose(fpe.metrics.cosine_matrix(w), cos, atol=1e-6)
    r = fpe.metrics.report(w, alpha=2)["cosine"]
    off = ~np.eye(6, dtype=bool)
    assert r["pairs"] == 15
    assert r["mean_abs"] == pytest.approx(np.abs(cos[off]).mean(), rel=1e-5)
    assert r["mean_signed"] == pytest.approx(cos[off].mean(), abs=1e-6)
    siblings = [abs(cos[i, i + 1]) for i in range(0, 6, 2)]
    assert r["mean_abs_siblings"] == pytest.approx(np.mean(siblings), rel=1e-5)


def test_activation_metrics():
    rng = np.random.default_rng(2)
    acts = np.maximum(rng.standard_normal((200, 4)), 0).astype(np.float32)
    sat = rng.random((200, 2)) < 0.3
    r = fpe.metrics.report(W, CLAUSES, 2, activations=acts, satisfied=sat, tau=0.5)
    p = r["polysemanticity"]
    assert p["tau"] == 0.5 and len(p["clauses_per_neuron"]) == 4
    # PR dimension = (sum of covariance eigenvalues)^2 / sum of their squares.
    ev = np.linalg.eigvalsh(np.cov(acts.astype(np.float64), rowvar=False))
    assert r["dimension"] == pytest.approx(ev.sum() ** 2 / (ev ** 2).sum(), rel=1e-6)
    assert fpe.metrics.participation_ratio(acts) == r["dimension"]
    assert fpe.metrics.participation_ratio(np.ones((5, 3))) == 0.0  # zero covariance


def test_closed_forms():
    assert fpe.metrics.collision_prob_independent(3, 1) == pytest.approx(1 / 3)
    # Balanced partition of 4 inputs into 2 children of 2: both literals of a pair of 1-literal
    # clauses land together with probability (2/4)·(1/3)·2 = 1/3.
    assert fpe.metrics.collision_prob_balanced(4, 2, 1) == pytest.approx(1 / 3)


def test_report_accepts_expand_output():
    data = fpe.datasets.boolean(clauses=4, literals=2, seed=0, n_vars=16, train_size=64,
                                test_size=64)
    rng = np.random.default_rng(3)
    ws = [rng.standard_normal((4, 16)).astype(np.float32), rng.standard_normal((1, 4)).astype(np.float32)]
    bs = [np.zeros(4, np.float32), np.zeros(1, np.float32)]
    w, _, _, _ = fpe.expand(ws, bs, alpha=2, strategy="clause", clauses=data["clauses"], seed=0,
                            prune="out_only")
    r = fpe.metrics.report(w[0], data["clauses"], 2)
    # The clause split keeps each clause's literals inside one child: every clause is covered.
    assert r["collisions"]["coverage"] == 1.0
    assert r["cosine"]["mean_abs_siblings"] == 0.0  # siblings share no input

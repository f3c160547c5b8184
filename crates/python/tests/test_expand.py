"""fpe.expand on numpy arrays: shapes, the non-zero budget, the partition of each parent's inputs,
every option, determinism and accepted input forms."""

from __future__ import annotations

import numpy as np
import pytest

import fpe
from helpers import random_mlp, same_bits

STRATEGIES = ["random", "clause", "clause_by_weight", "feature", "contiguous", "nm", "overlap"]
CLAUSES = [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]


def nnz(masks):
    return int(sum(m.sum() for m in masks))


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("alpha", [2, 4])
def test_every_strategy_keeps_the_budget(small_mlp, strategy, alpha):
    ws, bs, ms = small_mlp  # 24 -> 6 -> 5 -> 2, dense
    w, b, m, report = fpe.expand(ws, bs, alpha=alpha, strategy=strategy, clauses=CLAUSES, seed=3)
    assert [x.shape for x in w] == [(6 * alpha, 24), (5, 6 * alpha), (2, 5)]
    assert [x.shape for x in b] == [(6 * alpha,), (5,), (2,)]
    assert [x.dtype for x in w] == [np.float32] * 3 and [x.dtype for x in m] == [bool] * 3
    budget = nnz(ms)
    assert report["budget"] == budget == report["nnz_after"] == nnz(m)
    assert report["nnz_unpruned"] == budget + (alpha - 1) * ms[1].sum()
    assert sum(report["pruned_per_layer"]) == report["nnz_unpruned"] - budget
    assert report["widths_before"] == [24, 6, 5, 2]
    assert report["widths_after"] == [24, 6 * alpha, 5, 2]
    assert report["strategy"] == strategy and report["alpha"] == alpha
    # Inactive weights are exactly zero.
    for x, mask in zip(w, m):
        assert not x[~mask].any()
    # Children of one parent read disjoint inputs (all strategies but the overlap control).
    if strategy != "overlap":
        for i in range(6):
            kids = m[0][i * alpha:(i + 1) * alpha]
            assert (kids.sum(axis=0) <= 1).all()


def test_out_only_partitions_each_parent_exactly(small_mlp):
    ws, bs, _ = small_mlp
    alpha = 3
    w, b, m, report = fpe.expand(ws, bs, alpha=alpha, prune="out_only", seed=1)
    assert report["pruned_per_layer"][0] == 0
    # Nothing pruned from the incoming layer: the children's rows add up to the parent's row.
    for i in range(6):
        assert same_bits(w[0][i * alpha:(i + 1) * alpha].sum(axis=0), ws[0][i])
    # Biases copied; outgoing columns copied (where not pruned).
    assert same_bits(b[0], np.repeat(bs[0], alpha))
    keep = m[1]
    assert same_bits(w[1][keep], np.repeat(ws[1], alpha, axis=1)[keep])


def test_bias_split_and_outgoing_scale(small_mlp):
    ws, bs, _ = small_mlp
    w, b, _, report = fpe.expand(ws, bs, alpha=2, bias="split", outgoing="scale", prune="out_only")
    assert np.array_equal(b[0], np.repeat(bs[0], 2) * np.float32(0.5))
    nz = w[1] != 0
    assert np.array_equal(w[1][nz], (np.repeat(ws[1], 2, axis=1) * np.float32(0.5))[nz])
    assert report["config"]["bias"] == "split" and report["config"]["outgoing"] == "scale"


def test_masks_are_respected():
    ws, bs, ms = random_mlp([20, 4, 1], seed=4, density=0.5)
    noisy = [w + np.float32(5) * ~m for w, m in zip(ws, ms)]  # junk outside the masks
    w, b, m, report = fpe.expand(noisy, bs, ms, alpha=2, seed=0)
    assert report["budget"] == nnz(ms)
    for i in range(4):
        kids = m[0][2 * i:2 * i + 2]
        assert not (kids & ~ms[0][i]).any()  # children only read the parent's active inputs
    w_clean, _, m_clean, _ = fpe.expand(ws, bs, ms, alpha=2, seed=0)
    assert all(same_bits(x, y) for x, y in zip(w, w_clean))
    # 0/1 masks and None (dense) entries are accepted.
    w01, _, _, _ = fpe.expand(ws, bs, [ms[0].astype(np.int64), None], alpha=2, seed=0)
    dense1 = fpe.expand(ws, bs, [ms[0], np.ones_like(ms[1])], alpha=2, seed=0)[0]
    assert all(same_bits(x, y) for x, y in zip(w01, dense1))


def test_seed_determinism(small_mlp):
    ws, bs, _ = small_mlp
    a = fpe.expand(ws, bs, alpha=2, seed=5)
    b = fpe.expand(ws, bs, alpha=2, seed=5)
    c = fpe.expand(ws, bs, alpha=2, seed=6)
    assert all(same_bits(x, y) for x, y in zip(a[2], b[2]))
    assert not all(same_bits(x, y) for x, y in zip(a[2], c[2]))


def test_all_hidden_layers(small_mlp):
    ws, bs, _ = small_mlp
    w, _, m, report = fpe.expand(ws, bs, alpha=2, layers="all", seed=2)
    assert report["widths_after"] == [24, 12, 10, 2]
    assert report["config"]["layers"] == [0, 1]
    assert nnz(m) == nnz([np.ones(x.shape, bool) for x in ws])
    only_second = fpe.expand(ws, bs, alpha=2, layers=[1], seed=2)[3]
    assert only_second["widths_after"] == [24, 6, 10, 2]


def test_input_forms(small_mlp):
    ws, bs, _ = small_mlp
    ref = fpe.expand(ws, bs, alpha=2, seed=1)
    as64 = fpe.expand([w.astype(np.float64) for w in ws], [x.astype(np.float64) for x in bs],
                      alpha=2, seed=1)
    as_lists = fpe.expand([w.tolist() for w in ws], [x.tolist() for x in bs], alpha=2, seed=1)
    non_contig = fpe.expand([np.asfortranarray(w) for w in ws], tuple(bs), alpha=2, seed=1)
    for other in (as64, as_lists, non_contig):
        assert all(same_bits(x, y) for x, y in zip(ref[0], other[0]))
        assert all(same_bits(x, y) for x, y in zip(ref[2], other[2]))


def test_nm_children_are_n_of_m(small_mlp):
    ws, bs, _ = small_mlp
    w, _, m, _ = fpe.expand(ws, bs, alpha=2, strategy="nm", nm_m=4, prune="out_only", seed=0)
    # Each child keeps 2 of every 4 consecutive inputs (2:4), its sibling the other 2.
    blocks = m[0].reshape(12, 6, 4).sum(axis=2)
    assert (blocks == 2).all()


def test_feature_groups_are_shared_by_parents(small_mlp):
    ws, bs, _ = small_mlp
    _, _, m, _ = fpe.expand(ws, bs, alpha=2, strategy="feature", prune="out_only", seed=0)
    child0 = m[0][0::2]
    assert (child0 == child0[0]).all()  # group g -> child g for every parent


def test_clause_strategy_keeps_clauses_together(small_mlp):
    ws, bs, _ = small_mlp
    _, _, m, _ = fpe.expand(ws, bs, alpha=2, strategy="clause", clauses=CLAUSES,
                            prune="out_only", seed=4)
    for row in m[0]:
        for clause in CLAUSES:
            assert row[clause].all() or not row[clause].any()


def test_help_shows_shapes_and_options():
    doc = fpe.expand.__doc__
    for word in ("[out_l, in_l]", "strategy", "clause_by_weight", "prune", "out_only", "seed",
                 "ValueError"):
        assert word in doc
    assert "alpha" in fpe.expand.__text_signature__

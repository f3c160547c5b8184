"""fpe.torch.expand_: in-place expansion of an nn.Sequential MLP whose pruned weights stay zero.

Skipped (and reported as skipped) without PyTorch; scripts/test.sh sets FPE_REQUIRE_TORCH=1, which
turns a missing torch into a failure.
"""

from __future__ import annotations

import numpy as np
import pytest

import fpe
from helpers import require_torch, same_bits

torch = require_torch()
nn = torch.nn


def mlp(d=16, h=4, c=1, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, c))


def test_expand_replaces_the_linear_layers():
    model = mlp()
    ws, bs, ms = fpe.torch.arrays(model)
    report = fpe.torch.expand_(model, alpha=2, strategy="random", seed=3)
    assert isinstance(model[0], nn.Linear) and isinstance(model[1], nn.ReLU)
    assert (model[0].in_features, model[0].out_features) == (16, 8)
    assert (model[2].in_features, model[2].out_features) == (8, 1)
    assert report["widths_after"] == [16, 8, 1] and report["nnz_after"] == report["budget"] == 68
    # The new weights are exactly fpe.expand's on the same arrays and seed.
    w, b, m, _ = fpe.expand(ws, bs, ms, alpha=2, strategy="random", seed=3)
    tw, tb, tm = fpe.torch.arrays(model)
    assert all(same_bits(x, y) for x, y in zip(tw, w))
    assert all(same_bits(x, y) for x, y in zip(tb, b))
    assert all(np.array_equal(x, y) for x, y in zip(tm, m))
    # Sparse layers carry a prune mask; the forward pass works.
    assert hasattr(model[0], "weight_mask") and hasattr(model[0], "weight_orig")
    assert model(torch.zeros(5, 16)).shape == (5, 1)


def test_masked_weights_stay_zero_through_100_adam_steps():
    data = fpe.datasets.boolean(clauses=4, literals=3, seed=0, n_vars=16, train_size=256,
                                test_size=64)
    x = torch.from_numpy(data["x_train"])
    y = torch.from_numpy(data["y_train"])
    model = mlp(h=6)
    fpe.torch.expand_(model, alpha=2, strategy="clause", clauses=data["clauses"], seed=1)
    masks = [model[i].weight_mask.clone() for i in (0, 2)]
    before = [model[i].weight.detach().clone() for i in (0, 2)]
    assert all((mk == 0).any() for mk in masks)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    for step in range(100):
        idx = torch.randint(0, 256, (64,), generator=torch.Generator().manual_seed(step))
        opt.zero_grad()
        loss_fn(model(x[idx]), y[idx]).backward()
        opt.step()
    for i, mk, w0 in zip((0, 2), masks, before):
        w = model[i].weight.detach()
        assert (w[mk == 0] == 0).all(), f"layer {i}: a pruned weight moved"
        assert not torch.equal(w[mk == 1], w0[mk == 1]), f"layer {i}: did not train"
    ws, _, ms = fpe.torch.arrays(model)
    assert int(sum(m.sum() for m in ms)) == 16 * 6 + 6  # the budget, unchanged


def test_deeper_model_all_layers_and_dtype():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(12, 5), nn.Tanh(), nn.Linear(5, 4), nn.ReLU(),
                          nn.Linear(4, 3)).double()
    report = fpe.torch.expand_(model, alpha=2, layers="all", strategy="feature", seed=0)
    assert report["widths_after"] == [12, 10, 8, 3]
    assert [model[i].weight.dtype for i in (0, 2, 4)] == [torch.float64] * 3
    assert model(torch.zeros(2, 12, dtype=torch.float64)).shape == (2, 3)
    # A second expansion starts from the registered masks and keeps the budget.
    again = fpe.torch.expand_(model, alpha=2, seed=1)
    assert again["budget"] == report["budget"] == again["nnz_after"]
    assert model[0].out_features == 20


def test_bias_free_layers_and_bad_models():
    model = nn.Sequential(nn.Linear(8, 3, bias=False), nn.ReLU(), nn.Linear(3, 2, bias=False))
    fpe.torch.expand_(model, alpha=2)
    assert model[0].bias is None and model[2].bias is None and model[0].out_features == 6
    with pytest.raises(TypeError, match="nn.Sequential"):
        fpe.torch.expand_(nn.Linear(4, 2), alpha=2)
    with pytest.raises(ValueError, match="BatchNorm1d"):
        fpe.torch.expand_(nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 1)),
                          alpha=2)
    with pytest.raises(ValueError, match="fan-in"):
        fpe.torch.expand_(mlp(d=3), alpha=4)

"""fpe.save_checkpoint / fpe.load_checkpoint round trips (the Rust-written checkpoint is compared
in test_cross_language.py, the checkpoints of fpe.run in test_run.py)."""

from __future__ import annotations

import numpy as np

import fpe
from helpers import random_mlp, same_bits


def test_round_trip(tmp_path):
    ws, bs, ms = random_mlp([12, 5, 3], seed=2, density=0.6)
    path = tmp_path / "model.ckpt"
    fpe.save_checkpoint(path, ws, bs, ms, meta={"arm": "mine", "note": "from python"}, epoch=3,
                        step=42)
    ck = fpe.load_checkpoint(str(path))
    for key, arrays in (("weights", ws), ("biases", bs), ("masks", ms)):
        assert all(same_bits(a, b) for a, b in zip(ck[key], arrays)), key
    assert ck["widths"] == [12, 5, 3] and ck["nnz"] == int(sum(m.sum() for m in ms))
    assert (ck["epoch"], ck["step"]) == (3, 42)
    assert ck["meta"] == {"arm": "mine", "note": "from python"}
    assert ck["optimizer"] is None and ck["rng"] is None


def test_expanded_model_round_trip(tmp_path, small_mlp):
    w, b, m, report = fpe.expand(*small_mlp, alpha=2, seed=0)
    fpe.save_checkpoint(tmp_path / "x.ckpt", w, b, m)
    ck = fpe.load_checkpoint(tmp_path / "x.ckpt")
    assert ck["widths"] == report["widths_after"] and ck["nnz"] == report["nnz_after"]
    # Inactive weights are exactly zero after the load, as the format guarantees.
    assert all(not x[~mask].any() for x, mask in zip(ck["weights"], ck["masks"]))
    assert np.array_equal(ck["masks"][0], m[0])

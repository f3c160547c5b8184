"""Same numbers in both languages: the Python API against the Rust crates called directly.

The Rust side is the reference binary (``crates/python/reference``, no Python and no binding
code in it): it reads the inputs this file writes, calls ``fpe::expand``,
``MetricReport::compute``, ``BooleanCodeConfig::generate`` or writes a checkpoint, and hands
back .npz arrays and JSON. Arrays must agree bit for bit, report values exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import fpe
from helpers import load_mlp, random_mlp, same_bits, save_mlp

STRATEGIES = ["random", "clause", "clause_by_weight", "feature", "contiguous", "nm", "overlap"]
CLAUSES = [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11], [12, 13, 14], [15, 16, 17]]


def rust_expand(reference, tmp: Path, ws, bs, ms, config: dict, seed: int, clauses):
    save_mlp(tmp / "in.npz", ws, bs, ms)
    (tmp / "spec.json").write_text(json.dumps({"config": config, "seed": seed, "clauses": clauses}))
    report = reference("expand", tmp / "spec.json", tmp / "in.npz", tmp / "out.npz")
    return load_mlp(tmp / "out.npz"), report


def assert_same_model(py, rust):
    for name, a_list, b_list in zip(("weights", "biases", "masks"), py, rust):
        assert len(a_list) == len(b_list)
        for l, (a, b) in enumerate(zip(a_list, b_list)):
            assert same_bits(a, b), f"{name}[{l}] differs between Python and Rust"


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("seed", [0, 7])
def test_expand_matches_rust(reference, tmp_path, strategy, seed):
    # 24 -> 6 -> 5 -> 2 with sparse masks, non-default options; both hidden layers expanded
    # (clause strategies read input-level clauses, so they split the first one only).
    ws, bs, ms = random_mlp([24, 6, 5, 2], seed=seed + 100, density=0.8)
    layers = [0] if strategy.startswith("clause") else [0, 1]
    opts = dict(alpha=2, strategy=strategy, layers=layers, prune="global", bias="split",
                outgoing="scale", nm_m=4, feature_iters=7)
    w, b, m, report = fpe.expand(ws, bs, ms, clauses=CLAUSES, seed=seed, **opts)
    config = {k: v for k, v in opts.items()}
    rust, rust_report = rust_expand(reference, tmp_path, ws, bs, ms, config, seed, CLAUSES)
    assert_same_model((w, b, m), rust)
    for key, value in rust_report.items():
        assert report[key] == value, key
    assert report["config"]["strategy"] == strategy


@pytest.mark.parametrize("prune", ["global", "out_only"])
@pytest.mark.parametrize("alpha", [2, 3, 4])
def test_expand_defaults_match_rust(reference, tmp_path, prune, alpha):
    ws, bs, _ = random_mlp([16, 5, 3], seed=alpha)
    w, b, m, report = fpe.expand(ws, bs, alpha=alpha, prune=prune, seed=11)
    ones = [np.ones(x.shape, bool) for x in ws]
    rust, rust_report = rust_expand(
        reference, tmp_path, ws, bs, ones, {"alpha": alpha, "prune": prune}, 11, None
    )
    assert_same_model((w, b, m), rust)
    assert {k: report[k] for k in rust_report} == rust_report
    # The Rust side really did something: wider, same budget.
    assert rust_report["widths_after"] == [16, 5 * alpha, 3]
    assert rust_report["nnz_after"] == rust_report["budget"] == 16 * 5 + 5 * 3


def test_metrics_report_matches_rust(reference, tmp_path):
    data = fpe.datasets.boolean(clauses=4, literals=3, seed=2, n_vars=32, train_size=256,
                                test_size=128)
    ws, bs, _ = random_mlp([32, 6, 1], seed=3)
    w, b, m, _ = fpe.expand(ws, bs, alpha=2, strategy="clause", clauses=data["clauses"], seed=1)
    x = data["x_test"]
    acts = np.maximum(x @ w[0].T + b[0], 0).astype(np.float32)
    sat = data["satisfied_test"]
    report = fpe.metrics.report(w[0], data["clauses"], 2, activations=acts, satisfied=sat,
                                tau=0.4)
    np.savez(tmp_path / "in.npz", weights=w[0], activations=acts, satisfied=sat)
    (tmp_path / "spec.json").write_text(
        json.dumps({"clauses": data["clauses"], "alpha": 2, "tau": 0.4})
    )
    rust = reference("metrics", tmp_path / "spec.json", tmp_path / "in.npz")
    per_input = np.array(rust["capacity"].pop("per_input"), dtype=np.float64).astype(np.float32)
    assert same_bits(report["capacity"]["per_input"], per_input)
    report["capacity"].pop("per_input")
    assert report == rust  # every other field, floats compared exactly
    assert rust["polysemanticity"] is not None and rust["dimension"] is not None


def test_metrics_weights_only_match_rust(reference, tmp_path):
    ws, _, _ = random_mlp([10, 12, 1], seed=5)
    report = fpe.metrics.report(ws[0], alpha=3)
    np.savez(tmp_path / "in.npz", weights=ws[0])
    (tmp_path / "spec.json").write_text(json.dumps({"clauses": None, "alpha": 3, "tau": 0.5}))
    rust = reference("metrics", tmp_path / "spec.json", tmp_path / "in.npz")
    rust["capacity"]["per_input"] = np.array(rust["capacity"]["per_input"]).astype(np.float32)
    assert same_bits(report["capacity"].pop("per_input"), rust["capacity"].pop("per_input"))
    assert report == rust


@pytest.mark.parametrize("encoding,output", [("raw", "or"), ("literal", "per_clause")])
def test_boolean_task_matches_rust(reference, tmp_path, encoding, output):
    cfg = dict(n_vars=20, clauses=5, literals=3, train_size=300, test_size=100,
               encoding=encoding, sampling="uniform" if encoding == "raw" else "balanced",
               output=output)
    data = fpe.datasets.boolean(seed=9, **{k: v for k, v in cfg.items()})
    (tmp_path / "spec.json").write_text(json.dumps({"config": cfg, "seed": 9}))
    rust = reference("boolean", tmp_path / "spec.json", tmp_path / "out.npz")
    assert data["clauses"] == rust["clauses"]
    assert data["formula"] == rust["formula"]
    with np.load(tmp_path / "out.npz") as z:
        for key in ("x_train", "y_train", "x_test", "y_test"):
            assert same_bits(data[key], z[key]), key


def test_checkpoint_and_carry_match_rust(reference, tmp_path):
    facts = reference("checkpoint", tmp_path / "ref.ckpt", tmp_path / "ref.npz")
    ck = fpe.load_checkpoint(tmp_path / "ref.ckpt")
    assert_same_model((ck["weights"], ck["biases"], ck["masks"]), load_mlp(tmp_path / "ref.npz"))
    assert (ck["epoch"], ck["step"]) == (facts["epoch"], facts["step"])
    assert ck["meta"] == {"arm": "reference", "seed": "7"}
    opt = ck["optimizer"]
    assert opt["config"]["kind"] == "adam" and opt["step"] == facts["step"] > 0
    with np.load(tmp_path / "ref.npz") as z:
        for l in range(3):
            for s in range(2):
                assert same_bits(opt["weight_slots"][l][s], z[f"opt_w_{l}_{s}"])
                assert same_bits(opt["bias_slots"][l][s], z[f"opt_b_{l}_{s}"])
    # The same carry expansion from Python: model and Adam moments split alike.
    w, b, m, report = fpe.expand(ck["weights"], ck["biases"], ck["masks"], alpha=2,
                                 layers=[0, 1], seed=5, optimizer_state="carry", optimizer=opt)
    assert_same_model((w, b, m), load_mlp(tmp_path / "ref.carry.npz"))
    assert {k: report[k] for k in facts["report"]} == facts["report"]
    carried = report["optimizer"]
    assert carried["step"] == facts["state_step"]
    with np.load(tmp_path / "ref.carry.npz") as z:
        for l in range(3):
            for s in range(2):
                assert same_bits(carried["weight_slots"][l][s], z[f"opt_w_{l}_{s}"])
                assert same_bits(carried["bias_slots"][l][s], z[f"opt_b_{l}_{s}"])

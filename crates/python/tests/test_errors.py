"""Bad input raises an ordinary Python exception carrying the Rust message; nothing panics.

PyO3 turns a Rust panic into ``pyo3_runtime.PanicException``, which derives from
``BaseException``: ``pytest.raises(Exception)``-style checks below would not catch it, so each
test also proves that no panic crossed the boundary.
"""

from __future__ import annotations

import numpy as np
import pytest

import fpe

W0 = np.ones((4, 6), np.float32)
W1 = np.ones((1, 4), np.float32)
B0 = np.zeros(4, np.float32)
B1 = np.zeros(1, np.float32)


def expand(ws=None, bs=None, ms=None, **kw):
    kw.setdefault("alpha", 2)
    return fpe.expand(ws or [W0, W1], bs or [B0, B1], ms, **kw)


@pytest.mark.parametrize(
    "call,exc,words",
    [
        (lambda: expand([W0, np.ones((1, 5), np.float32)]), ValueError, ["weights[1]", "(1, 4)"]),
        (lambda: expand(bs=[np.zeros(3, np.float32), B1]), ValueError, ["biases[0]", "(4,)"]),
        (lambda: expand([np.ones(6, np.float32), W1]), ValueError, ["weights[0]", "2-D"]),
        (lambda: expand([np.ones((4, 6, 1), np.float32), W1]), ValueError, ["2-D"]),
        (lambda: expand([W0]), ValueError, ["at least 2 layers"]),
        (lambda: expand(bs=[B0]), ValueError, ["biases has 1"]),
        (lambda: fpe.expand(W0, [B0, B1], alpha=2), TypeError, ["one array per layer"]),
        (lambda: expand(ms=[np.ones((4, 5), bool), None]), ValueError, ["masks[0]", "(4, 5)"]),
        (lambda: expand(ms=[np.full((4, 6), 0.5), None]), ValueError, ["masks[0]", "0/1"]),
        (lambda: expand(ms=[None]), ValueError, ["masks has 1"]),
        (lambda: expand([W0 * np.nan, W1]), ValueError, ["weights[0][0, 0] = nan", "not finite"]),
        (lambda: expand(bs=[B0, np.array([np.inf], np.float32)]), ValueError, ["biases[1][0] = inf"]),
        (lambda: expand([np.full((4, 6), 1e39), W1]), ValueError, ["not finite"]),  # f32 overflow
        (lambda: expand([np.array([["a"] * 6] * 4), W1]), ValueError, ["weights[0]"]),
        (lambda: expand(alpha=7), ValueError, ["fan-in 6", "alpha = 7"]),
        (lambda: expand(alpha=1), ValueError, ["alpha", "at least 2"]),
        (lambda: expand(alpha=-2), ValueError, ["alpha = -2"]),
        (lambda: expand(alpha="2"), TypeError, ["alpha"]),
        (lambda: expand(strategy="best"), ValueError, ["strategy", "clause_by_weight"]),
        (lambda: expand(prune="most"), ValueError, ["prune", "out_only"]),
        (lambda: expand(bias="zero"), ValueError, ["bias", "split"]),
        (lambda: expand(outgoing="x"), ValueError, ["outgoing"]),
        (lambda: expand(optimizer_state="keep"), ValueError, ["optimizer_state", "carry"]),
        (lambda: expand(optimizer_state="carry"), ValueError, ["carry", "optimiser"]),
        (lambda: expand(optimizer={"config": {"kind": "adam"}, "step": 0, "weight_slots": [],
                                   "bias_slots": []}), ValueError, ["optimizer_state", "reset"]),
        (lambda: expand(optimizer_state="carry", optimizer={"config": {"kind": "adam"}, "step": 1,
                                                            "weight_slots": [], "bias_slots": []}),
         ValueError, []),
        (lambda: expand(optimizer_state="carry", optimizer={"config": {"kind": "rmsprop"}, "step": 1,
                                                            "weight_slots": [], "bias_slots": []}),
         ValueError, ["rmsprop"]),
        (lambda: expand(optimizer_state="carry", optimizer=[1]), TypeError, ["optimizer"]),
        (lambda: expand(strategy="clause"), ValueError, ["clause"]),
        (lambda: expand(strategy="clause", clauses=[[0, 9]]), ValueError, ["input 9", "6 inputs"]),
        (lambda: expand(strategy="clause", clauses=[[0, -1]]), ValueError, ["clauses[0][1] = -1"]),
        (lambda: expand(strategy="clause", clauses="abc"), TypeError, ["clauses"]),
        (lambda: expand(strategy="nm", nm_m=3), ValueError, ["nm_m", "multiple of alpha"]),
        (lambda: expand(layers=[1]), ValueError, ["output layer"]),
        (lambda: expand(layers="some"), ValueError, ["layers", "all"]),
        (lambda: expand(seed=-1), ValueError, ["seed = -1"]),
        (lambda: expand(feature_iters=0), ValueError, ["feature_iters"]),
    ],
)
@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_expand_errors(call, exc, words):
    try:
        call()
    except BaseException as e:  # noqa: BLE001 - a PanicException must fail the test, not escape
        assert type(e) is exc or isinstance(e, exc), f"{type(e).__name__}: {e}"
        for w in words:
            assert w in str(e), f"{w!r} not in {e}"
    else:
        pytest.fail("no exception")


@pytest.mark.parametrize(
    "call,exc,words",
    [
        (lambda: fpe.metrics.report(np.ones((6, 4)), alpha=4), ValueError, ["6 neurons", "alpha = 4"]),
        (lambda: fpe.metrics.report(np.ones((6, 4)), alpha=0), ValueError, ["alpha"]),
        (lambda: fpe.metrics.report(np.ones((6, 4)), [[0, 4]]), ValueError, ["clause 0", "index 4"]),
        (lambda: fpe.metrics.report(np.ones((6, 4)), [[]]), ValueError, ["clause 0 has no literals"]),
        (lambda: fpe.metrics.report(np.ones((6, 4)), tau=0.0), ValueError, ["tau"]),
        (lambda: fpe.metrics.report(np.full((6, 4), np.nan)), ValueError, ["not finite"]),
        (lambda: fpe.metrics.report(np.ones(4)), ValueError, ["2-D"]),
        (lambda: fpe.metrics.report(np.ones((6, 4)), activations=np.ones((3, 5))), ValueError,
         ["activations"]),
        (lambda: fpe.metrics.report(np.ones((6, 4)), [[0]], satisfied=np.ones((3, 1), bool)),
         ValueError, ["satisfied", "activations"]),
        (lambda: fpe.metrics.collision_prob_balanced(3, 2, 2), ValueError, []),
        (lambda: fpe.datasets.boolean(clauses=30, literals=3), ValueError, ["n_vars", "90"]),
        (lambda: fpe.datasets.boolean(train_size=0), ValueError, ["train_size"]),
        (lambda: fpe.datasets.boolean(seed=-3), ValueError, ["seed = -3"]),
        (lambda: fpe.datasets.boolean(train_size=10**13), ValueError, ["GiB", "available"]),
        (lambda: fpe.datasets.boolean(encoding="onehot"), ValueError, ["encoding", "literal"]),
        (lambda: fpe.datasets.load_h5("/nonexistent/x.h5"), FileNotFoundError, ["/nonexistent/x.h5"]),
        (lambda: fpe.datasets.load_h5(__file__), OSError, ["HDF5"]),
        (lambda: fpe.load_checkpoint("/nonexistent/m.ckpt"), FileNotFoundError, ["/nonexistent/m.ckpt"]),
        (lambda: fpe.load_checkpoint(__file__), ValueError, ["not an fpe checkpoint"]),
        (lambda: fpe.run("name = 'x'\nseeds = [0]\n[task]\nkind = 'boolean'\nbogus = 1\n"),
         ValueError, ["bogus"]),
        (lambda: fpe.run("this is = not toml ["), ValueError, ["TOML"]),
        (lambda: fpe.run("/nonexistent/config.toml"), FileNotFoundError, ["/nonexistent/config.toml"]),
        (lambda: fpe.run({"name": "x", "seeds": [0], "task": {"kind": "boolean", "clauses": 0}}),
         ValueError, ["clauses"]),
        (lambda: fpe.run(42), TypeError, ["config"]),
    ],
)
def test_other_errors(call, exc, words):
    test_expand_errors(call, exc, words)


def test_truncated_and_corrupt_checkpoints(tmp_path, small_mlp):
    path = tmp_path / "m.ckpt"
    fpe.save_checkpoint(path, *small_mlp)
    data = path.read_bytes()
    (tmp_path / "short.ckpt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated"):
        fpe.load_checkpoint(tmp_path / "short.ckpt")
    flipped = bytearray(data)
    flipped[-5] ^= 0xFF
    (tmp_path / "bad.ckpt").write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match="checksum"):
        fpe.load_checkpoint(tmp_path / "bad.ckpt")
    with pytest.raises(IsADirectoryError):
        fpe.load_checkpoint(tmp_path)

"""fpe.datasets: Boolean DNF tasks (checked against their own formula) and the HDF5 loader on
the embedding file shipped in data/."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import fpe

DATA = Path(__file__).resolve().parents[3] / "data" / "fashion_mnist_effnetlite0_pca256_f16.h5"


def test_boolean_task_is_its_formula():
    d = fpe.datasets.boolean(clauses=5, literals=3, seed=4, n_vars=32, train_size=500, test_size=300)
    assert d["x_train"].shape == (500, 32) and d["x_train"].dtype == np.float32
    assert d["y_train"].shape == (500, 1) and d["y_test"].shape == (300, 1)
    assert set(np.unique(d["x_train"])) <= {0.0, 1.0}
    assert len(d["clauses"]) == 5 and all(len(c) == 3 for c in d["clauses"])
    flat = [i for c in d["clauses"] for i in c]
    assert len(set(flat)) == 15  # read-once: no variable in two clauses
    for split in ("train", "test"):
        x, y, sat = d[f"x_{split}"], d[f"y_{split}"], d[f"satisfied_{split}"]
        # Recompute which clauses hold from the literals (raw encoding: sign -1 = negated).
        mine = np.stack(
            [np.all([(x[:, lit["input"]] == 1) == (lit["sign"] == 1) for lit in c["literals"]], axis=0)
             for c in d["literals"]],
            axis=1,
        )
        assert np.array_equal(mine, sat)
        assert np.array_equal(sat.any(axis=1), y[:, 0] == 1)  # label = OR of the clauses
    assert d["y_train"].mean() == 0.5  # balanced sampling: exactly half positives
    assert d["n_outputs"] == 1 and d["d_in"] == 32 and d["encoding"] == "raw"
    assert d["formula"].count("∨") == 4


def test_boolean_options_and_seeds():
    a = fpe.datasets.boolean(clauses=3, literals=2, seed=1, n_vars=10, train_size=64, test_size=32,
                             encoding="literal", output="per_clause")
    assert a["x_train"].shape == (64, 20)
    assert np.array_equal(a["x_train"][:, 10:], 1 - a["x_train"][:, :10])  # [x, 1 - x]
    assert np.array_equal(a["y_train"], a["satisfied_train"].astype(np.float32))
    assert all(i >= 0 and i < 20 for c in a["clauses"] for i in c)
    b = fpe.datasets.boolean(clauses=3, literals=2, seed=1, n_vars=10, train_size=64, test_size=32,
                             encoding="literal", output="per_clause")
    c = fpe.datasets.boolean(clauses=3, literals=2, seed=2, n_vars=10, train_size=64, test_size=32,
                             encoding="literal", output="per_clause")
    assert np.array_equal(a["x_train"], b["x_train"]) and a["clauses"] == b["clauses"]
    assert not np.array_equal(a["x_train"], c["x_train"])
    u = fpe.datasets.boolean(clauses=2, literals=1, seed=0, n_vars=8, train_size=2000, test_size=8,
                             sampling="uniform")
    assert 0.6 < u["y_train"].mean() < 0.9  # P(x_a or x_b) = 3/4 under uniform bits


@pytest.mark.skipif(not DATA.is_file(), reason=f"{DATA} is not in this checkout")
def test_load_h5_options():
    full = fpe.datasets.load_h5(DATA, max_train=300, max_test=200)
    assert full["x_train"].shape == (300, 256) and full["x_train"].dtype == np.float32
    assert full["y_train"].dtype == np.int64 and full["n_outputs"] == 10
    assert full["class_names"][0] == "T-shirt/top" and full["clauses"] is None
    sub = fpe.datasets.load_h5(DATA, classes=[3, "Trouser"], max_train=300, max_test=200)
    assert set(np.unique(sub["y_train"])) <= {0, 1} and sub["n_outputs"] == 2
    assert sub["class_names"] == ["Dress", "Trouser"]
    # Class subset first, then the row cap: 300 rows, all of classes 3 and 1, relabelled.
    assert sub["x_train"].shape[0] == 300 and set(np.unique(sub["y_train"])) == {0, 1}
    first = full["x_train"][full["y_train"] == 3][0]
    assert np.array_equal(sub["x_train"][sub["y_train"] == 0][0], first)
    unit = fpe.datasets.load_h5(DATA, max_train=300, max_test=200, l2_normalize=True)
    np.testing.assert_allclose(np.linalg.norm(unit["x_train"], axis=1), 1.0, rtol=1e-5)
    std = fpe.datasets.load_h5(DATA, max_train=300, max_test=200, standardize=True)
    np.testing.assert_allclose(std["x_train"].mean(axis=0), 0.0, atol=1e-4)
    with pytest.raises(ValueError, match="train/nope"):
        fpe.datasets.load_h5(DATA, train_x="train/nope")
    with pytest.raises(ValueError, match="Sweater"):
        fpe.datasets.load_h5(DATA, classes=["Sweater"])

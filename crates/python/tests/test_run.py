"""fpe.run on a tiny Boolean config: rows, config forms, output directory and checkpoints."""

from __future__ import annotations

import sys
import types

import pytest

import fpe

TINY = """
name = "tiny"
seeds = [0]
arms = ["dense", "random", "clause"]

[task]
kind = "boolean"
n_vars = 16
clauses = 3
literals = 2
train_size = 256
test_size = 128

[model]
hidden = [4]

[train]
warmup_epochs = 4
after_epochs = 4
batch_size = 64

[expansion]
alpha = 2
"""

TINY_DICT = {
    "name": "tiny",
    "seeds": [0],
    "arms": ["dense", "random", "clause"],
    "task": {"kind": "boolean", "n_vars": 16, "clauses": 3, "literals": 2, "train_size": 256,
             "test_size": 128},
    "model": {"hidden": [4]},
    "train": {"warmup_epochs": 4, "after_epochs": 4, "batch_size": 64},
    "expansion": {"alpha": 2},
}


def records(result):
    """The rows as a list of dicts, whether fpe.run returned a DataFrame or a list."""
    return result.to_dict("records") if hasattr(result, "to_dict") else result


def without_time(rows):
    return [{k: v for k, v in r.items() if k != "wall_seconds"} for r in rows]


def test_run_tiny_config(tmp_path):
    rows = records(fpe.run(TINY, out=tmp_path, checkpoints=True))
    assert [r["arm"] for r in rows] == ["dense", "random", "clause"]
    assert all(r["status"] == "ok" and r["seed"] == 0 and r["experiment"] == "tiny" for r in rows)
    dense, random, clause = rows
    assert dense["widths"] == "16-4-1" and random["widths"] == "16-8-1"
    assert random["nnz"] == clause["nnz"] == dense["nnz"] == 16 * 4 + 4
    assert random["alpha"] == 2 and dense["alpha"] == 1
    assert all(0.0 <= r["test_accuracy"] <= 1.0 for r in rows)
    assert clause["collision_rate"] is not None and clause["capacity_mean"] is not None
    assert (tmp_path / "tiny" / "results.csv").is_file()
    ckpts = sorted((tmp_path / "tiny" / "checkpoints").glob("*.ckpt"))
    assert len(ckpts) == 3
    ck = fpe.load_checkpoint(next(p for p in ckpts if p.name.endswith("_random.ckpt")))
    assert ck["widths"] == [16, 8, 1] and ck["nnz"] == random["nnz"]
    assert ck["meta"].get("arm") == "random"


def test_config_forms_give_the_same_rows(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    from_text = without_time(records(fpe.run(TINY)))
    from_dict = without_time(records(fpe.run(TINY_DICT)))
    from_path = without_time(records(fpe.run(path)))
    from_str_path = without_time(records(fpe.run(str(path))))
    assert from_text == from_dict == from_path == from_str_path


def test_overrides_and_quick():
    cfg = TINY + '\n[quick]\n"train.after_epochs" = 1\n'
    rows = records(fpe.run(cfg, quick=True, overrides={"seeds": [1, 2], "arms": ["dense"]}))
    assert [(r["seed"], r["arm"]) for r in rows] == [(1, "dense"), (2, "dense")]
    assert all(r["after_epochs"] == 1 for r in rows)


def test_grid_runs_every_setting():
    cfg = TINY + '\n[grid]\n"model.hidden" = [[2], [4]]\n'
    rows = records(fpe.run(cfg, overrides={"arms": ["dense", "random"]}))
    assert sorted(r["widths"] for r in rows) == ["16-2-1", "16-4-1", "16-4-1", "16-8-1"]
    assert {r["setting"] for r in rows} == {"model.hidden=[2]", "model.hidden=[4]"}


def test_dataframe_when_pandas_is_present(monkeypatch):
    fake = types.ModuleType("pandas")
    fake.DataFrame = lambda rows: ("DataFrame", rows)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pandas", fake)
    kind, rows = fpe.run(TINY, overrides={"arms": ["dense"]})
    assert kind == "DataFrame" and rows[0]["arm"] == "dense"


def test_failed_arm_is_a_row_not_an_exception():
    # alpha larger than the fan-in of every neuron: the expanded arms fail, dense runs.
    rows = records(fpe.run(TINY, overrides={"expansion.alpha": 32, "arms": ["dense", "random"]}))
    assert rows[0]["status"] == "ok"
    assert rows[1]["status"] == "failed" and "fan-in" in rows[1]["error"]


@pytest.mark.parametrize("bad", ["", "name = 1"])
def test_bad_configs_raise_value_error(bad):
    with pytest.raises(ValueError):
        fpe.run(bad)

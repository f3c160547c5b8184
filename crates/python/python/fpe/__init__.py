"""Fixed Parameter Expansion from Python.

"Expand Neurons, Not Parameters" (arXiv:2510.04500): train a narrow MLP, split every hidden
neuron into ``alpha`` children whose incoming weights partition the parent's, copy the outgoing
weights, prune back to the original number of non-zero weights, keep the masks fixed, train on.

This package is the Rust workspace's numpy-level API (the crates ``fpe``, ``fpe-metrics``,
``fpe-datasets``, ``fpe-model``, ``fpe-experiments``). Arrays use PyTorch's ``nn.Linear``
layout: weight ``[out, in]``, bias ``[out]``, mask ``[out, in]``. For the same inputs and seed
every function returns exactly what the Rust crates return.

- :func:`expand`: expand an MLP given as arrays (every strategy and option of the ``fpe`` crate).
- :mod:`fpe.metrics`: ``report(W, clauses, alpha)`` (capacity, cosine, collisions,
  polysemanticity, PR dimension) and single metrics.
- :mod:`fpe.datasets`: ``boolean(...)`` DNF tasks, ``load_h5(path, ...)`` embedding files.
- :func:`load_checkpoint`, :func:`save_checkpoint`: fpe checkpoint files.
- :func:`run`: run an experiment config (TOML string, path or dict), get its result rows.
- :mod:`fpe.torch` (only with PyTorch installed): ``expand_(model, alpha=..., strategy=...)``
  expands an ``nn.Sequential`` MLP in place and keeps pruned weights at zero while training.

Errors raise ``ValueError`` (bad shapes, NaN/Inf, bad options or configs),
``FileNotFoundError`` / ``OSError`` (files), or ``RuntimeError``, with the Rust message.
"""

from __future__ import annotations

import importlib
import os
from typing import Any, Dict, List, Mapping, Optional, Union

from . import datasets, metrics
from ._fpe import __version__, expand, load_checkpoint, save_checkpoint
from ._fpe import run as _run_rows

__all__ = [
    "__version__",
    "datasets",
    "expand",
    "load_checkpoint",
    "metrics",
    "run",
    "save_checkpoint",
]


def run(
    config: Union[str, "os.PathLike[str]", Mapping[str, Any]],
    *,
    out: Union[str, "os.PathLike[str]", None] = None,
    quick: bool = False,
    checkpoints: bool = False,
    overrides: Optional[Mapping[str, Any]] = None,
) -> Any:
    """Runs an experiment and returns its result rows.

    ``config`` is a TOML string, the path of a TOML file (relative data paths resolve against
    its directory), or a dict of the same structure (see ``data/experiments/*.toml`` and the
    README's "Configs"). A ``[grid]`` runs every setting. ``out`` is the results directory
    (``out/NAME/results.csv``, unit files, checkpoints with ``checkpoints=True``); without it
    the run uses a temporary directory, removed afterwards. ``quick`` applies the config's
    ``[quick]`` table; ``overrides`` maps dotted paths to values, as the ``fpe`` command line
    does (``{"train.warmup_epochs": 5, "seeds": [0, 1]}``).

    Returns one row per (setting, seed, arm): a ``pandas.DataFrame`` when pandas is installed,
    else a list of dicts, with the columns of ``results.csv`` (experiment, setting, seed, arm,
    status, test_accuracy, nnz, widths, capacity_mean, cosine_abs, ..., wall_seconds). A run
    that diverged or failed is a row with ``status`` ``"diverged"`` / ``"failed"`` and its
    ``error``; a config error raises ``ValueError``, a missing file ``FileNotFoundError``.
    """
    rows: List[Dict[str, Any]] = _run_rows(
        config, out=out, quick=quick, checkpoints=checkpoints, overrides=overrides
    )
    try:
        import pandas
    except ImportError:
        return rows
    return pandas.DataFrame(rows)


def __getattr__(name: str) -> Any:
    # `fpe.torch` is imported on first use only, so `import fpe` never needs PyTorch.
    if name == "torch":
        return importlib.import_module(".torch", __name__)
    raise AttributeError(f"module 'fpe' has no attribute {name!r}")

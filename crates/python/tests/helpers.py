"""Helpers shared by the test files: model arrays to and from .npz, bit-exact comparison, a
random MLP, and ``require_torch()``: imports torch, or skips the test saying why; with
``FPE_REQUIRE_TORCH=1`` (set by scripts/test.sh in CI) a missing torch fails the test instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np
import pytest


def save_mlp(path: Path, weights: List[np.ndarray], biases: List[np.ndarray],
             masks: List[np.ndarray]) -> None:
    arrays: Dict[str, np.ndarray] = {}
    for l, (w, b, m) in enumerate(zip(weights, biases, masks)):
        arrays[f"weight_{l}"] = np.ascontiguousarray(w, dtype=np.float32)
        arrays[f"bias_{l}"] = np.ascontiguousarray(b, dtype=np.float32)
        arrays[f"mask_{l}"] = np.ascontiguousarray(m, dtype=bool)
    np.savez(path, **arrays)


def load_mlp(path: Path) -> Tuple[List[np.ndarray], List[np.ndarray], List[np.ndarray]]:
    with np.load(path) as z:
        n = len([k for k in z.files if k.startswith("weight_")])
        return ([z[f"weight_{l}"] for l in range(n)], [z[f"bias_{l}"] for l in range(n)],
                [z[f"mask_{l}"] for l in range(n)])


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal dtype, shape and bytes (so 0.0 vs -0.0 and NaN payloads count as different)."""
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def random_mlp(widths: List[int], seed: int, density: float = 1.0):
    rng = np.random.default_rng(seed)
    ws, bs, ms = [], [], []
    for d_in, d_out in zip(widths[:-1], widths[1:]):
        w = rng.uniform(-1, 1, (d_out, d_in)).astype(np.float32) / np.float32(np.sqrt(d_in))
        m = rng.random((d_out, d_in)) < density if density < 1.0 else np.ones((d_out, d_in), bool)
        ws.append(np.where(m, w, np.float32(0)).astype(np.float32))
        bs.append(rng.uniform(-0.1, 0.1, d_out).astype(np.float32))
        ms.append(m)
    return ws, bs, ms


def require_torch() -> Any:
    if os.environ.get("FPE_REQUIRE_TORCH") == "1":
        import torch  # noqa: F401  (FPE_REQUIRE_TORCH=1: a missing torch is a failure)

        return torch
    return pytest.importorskip(
        "torch", reason="PyTorch is not installed (FPE_REQUIRE_TORCH=1 makes this a failure)"
    )

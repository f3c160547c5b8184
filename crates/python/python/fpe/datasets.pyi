"""Type stubs of ``fpe.datasets``."""

import os
from typing import Any, Dict, List, Literal, Optional, Sequence, TypedDict, Union

import numpy as np

class Task(TypedDict):
    x_train: np.ndarray  # float32 [N, d]
    y_train: np.ndarray  # float32 [N, C] bits, or int64 [N] class ids (embedding files)
    x_test: np.ndarray
    y_test: np.ndarray
    satisfied_train: np.ndarray  # bool [N, m], Boolean tasks only
    satisfied_test: np.ndarray
    clauses: Optional[List[List[int]]]  # input columns of each clause's literals
    # Per clause: {"literals": [{"var", "negated", "input", "sign"}, ...]}.
    literals: Optional[List[Dict[str, Any]]]
    formula: Optional[str]
    encoding: Optional[Literal["raw", "literal"]]
    d_in: int
    n_outputs: int
    class_names: List[str]
    name: str
    provenance: Dict[str, str]

def boolean(
    clauses: int = 8,
    literals: int = 3,
    seed: int = 0,
    *,
    n_vars: int = 64,
    train_size: int = 4096,
    test_size: int = 4096,
    encoding: Literal["raw", "literal"] = "raw",
    sampling: Literal["balanced", "uniform"] = "balanced",
    output: Literal["or", "per_clause"] = "or",
) -> Task:
    """A Boolean-code (DNF) task from one seed, as ``fpe run`` generates it."""

def load_h5(
    path: Union[str, "os.PathLike[str]"],
    *,
    train_x: str = "train/x",
    train_y: str = "train/y",
    test_x: str = "test/x",
    test_y: str = "test/y",
    l2_normalize: bool = False,
    standardize: bool = False,
    classes: Optional[Sequence[Union[int, str]]] = None,
    max_train: Optional[int] = None,
    max_test: Optional[int] = None,
) -> Task:
    """An HDF5 embedding dataset with the Rust loader's options (satisfied_* only with clauses)."""

"""Type stubs of the ``fpe`` package (the compiled functions are described here; ``fpe.torch`` is
annotated in its source). Arrays: weight ``[out, in]``, bias ``[out]``, mask ``[out, in]``."""

import os
from typing import Any, Dict, List, Literal, Mapping, Optional, Sequence, Tuple, TypedDict, Union

import numpy as np
import numpy.typing as npt

from . import datasets as datasets
from . import metrics as metrics

__version__: str

ArrayLike = npt.ArrayLike
PathLike = Union[str, "os.PathLike[str]"]
Strategy = Literal[
    "random", "clause", "clause_by_weight", "feature", "contiguous", "nm", "overlap"
]

class ExpansionConfig(TypedDict):
    alpha: int
    layers: List[int]
    strategy: Strategy
    nm_m: int
    feature_iters: int
    bias: Literal["copy", "split"]
    outgoing: Literal["copy", "scale"]
    prune: Literal["global", "out_only"]
    optimizer_state: Literal["reset", "carry"]

class OptimizerState(TypedDict):
    """Adam (``weight_slots[l] = [m, v]``) or SGD (``[velocity]``) state per layer."""

    config: Dict[str, Any]  # {"kind": "adam", "lr": ..., "beta1": ..., ...} or {"kind": "sgd", ...}
    step: int
    weight_slots: List[List[np.ndarray]]  # [layer][slot]: float32 [out, in]
    bias_slots: List[List[np.ndarray]]  # [layer][slot]: float32 [out]

class ExpansionReport(TypedDict):
    alpha: int
    strategy: Strategy
    widths_before: List[int]  # [d_in, h_1, ..., C]
    widths_after: List[int]
    budget: int  # non-zero weights before (biases excluded)
    nnz_unpruned: int
    pruned_per_layer: List[int]
    nnz_after: int  # == budget
    config: ExpansionConfig
    seed: int
    optimizer: Optional[OptimizerState]  # the carried state with optimizer_state="carry"

def expand(
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    masks: Optional[Sequence[Optional[ArrayLike]]] = None,
    *,
    alpha: int,
    strategy: Strategy = "random",
    clauses: Optional[Sequence[Sequence[int]]] = None,
    seed: int = 0,
    prune: Literal["global", "out_only"] = "global",
    layers: Union[None, Literal["all"], Sequence[int]] = None,
    bias: Literal["copy", "split"] = "copy",
    outgoing: Literal["copy", "scale"] = "copy",
    nm_m: int = 4,
    feature_iters: int = 25,
    optimizer_state: Literal["reset", "carry"] = "reset",
    optimizer: Optional[OptimizerState] = None,
) -> Tuple[List[np.ndarray], List[np.ndarray], List[np.ndarray], ExpansionReport]:
    """Expands hidden layers at the same number of non-zero weights (SPEC §5).

    weights[l] ``[out_l, in_l]``, biases[l] ``[out_l]``, masks[l] ``[out_l, in_l]`` (bool or
    0/1, or None = dense). Returns the expanded ``(weights, biases, masks, report)``: float32,
    float32 and bool arrays; an expanded layer has ``alpha`` times the rows (child ``j`` of
    parent ``i`` is row ``i * alpha + j``). Raises ValueError for bad shapes, NaN/Inf, unknown
    options, alpha < 2 or larger than a neuron's fan-in.
    """

class Checkpoint(TypedDict):
    weights: List[np.ndarray]  # float32 [out, in] per layer
    biases: List[np.ndarray]  # float32 [out]
    masks: List[np.ndarray]  # bool [out, in]
    widths: List[int]
    nnz: int
    epoch: int
    step: int
    meta: Dict[str, str]
    optimizer: Optional[OptimizerState]
    rng: Optional[bytes]

def load_checkpoint(path: PathLike) -> Checkpoint:
    """Reads an fpe checkpoint. FileNotFoundError if missing, ValueError if not a valid one."""

def save_checkpoint(
    path: PathLike,
    weights: Sequence[ArrayLike],
    biases: Sequence[ArrayLike],
    masks: Optional[Sequence[Optional[ArrayLike]]] = None,
    *,
    meta: Optional[Mapping[str, str]] = None,
    epoch: int = 0,
    step: int = 0,
) -> None:
    """Writes a model as an fpe checkpoint (readable by ``fpe inspect`` and ``load_checkpoint``)."""

def run(
    config: Union[str, "os.PathLike[str]", Mapping[str, Any]],
    *,
    out: Optional[PathLike] = None,
    quick: bool = False,
    checkpoints: bool = False,
    overrides: Optional[Mapping[str, Any]] = None,
) -> Any:
    """Runs an experiment config (TOML string, path or dict); returns one row per (setting,
    seed, arm): a pandas DataFrame when pandas is installed, else a list of dicts."""

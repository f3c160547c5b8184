"""PyTorch helper: Fixed Parameter Expansion of an ``nn.Sequential`` MLP, in place.

``expand_(model, alpha=2, strategy="clause", clauses=...)`` replaces the hidden ``nn.Linear``
layers of ``model`` (an ``nn.Sequential`` of ``nn.Linear`` and parameter-free activations such
as ``nn.ReLU``) by the expanded ones, computed by :func:`fpe.expand` with the same options, and
registers every sparse layer's mask with ``torch.nn.utils.prune.custom_from_mask``: the layer's
``weight`` becomes ``weight_orig * weight_mask``, so pruned weights stay exactly zero during
further training with any optimiser. Create the optimiser after ``expand_``: the layers, and so
the parameters, are new.

Only importable when PyTorch is installed (``import fpe`` does not import it).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

try:
    import torch
    from torch import nn
    from torch.nn.utils import prune
except ImportError as e:  # pragma: no cover - exercised only without torch
    raise ImportError(
        "fpe.torch needs PyTorch: `pip install torch` (or Debian's `apt install python3-torch`)"
    ) from e

from . import _fpe

__all__ = ["arrays", "expand_", "linear_layers"]


def linear_layers(model: nn.Module) -> List[Tuple[int, nn.Linear]]:
    """The ``(index, layer)`` of every ``nn.Linear`` of an ``nn.Sequential`` MLP, in order.

    Raises TypeError for a model that is not an ``nn.Sequential``, ValueError for a child with
    parameters that is not an ``nn.Linear`` (a normalisation layer would need expanding too) or
    for fewer than two linear layers.
    """
    if not isinstance(model, nn.Sequential):
        raise TypeError(
            "expected an nn.Sequential of nn.Linear and activation layers, "
            f"got {type(model).__name__}"
        )
    out: List[Tuple[int, nn.Linear]] = []
    for i, m in enumerate(model):
        if isinstance(m, nn.Linear):
            out.append((i, m))
        elif any(True for _ in m.parameters()):
            raise ValueError(
                f"model[{i}] ({type(m).__name__}) has parameters but is not an nn.Linear: "
                "fpe.torch expands MLPs of nn.Linear layers and parameter-free activations"
            )
    if len(out) < 2:
        raise ValueError(
            f"the model has {len(out)} nn.Linear layer(s); expansion needs a hidden layer (>= 2)"
        )
    return out


def _weight(m: nn.Linear) -> torch.Tensor:
    # With a registered mask, `weight` is only refreshed by a forward pass: recompute it.
    if hasattr(m, "weight_orig") and hasattr(m, "weight_mask"):
        return m.weight_orig.detach() * m.weight_mask
    return m.weight.detach()


def arrays(
    model: nn.Module,
) -> Tuple[List[np.ndarray], List[np.ndarray], List[np.ndarray]]:
    """``(weights, biases, masks)`` of the MLP's linear layers as float32 / bool numpy arrays
    (``[out, in]``, ``[out]``, ``[out, in]``), the inputs :func:`fpe.expand`,
    :func:`fpe.metrics.report` and :func:`fpe.save_checkpoint` take. A layer without a bias
    gives zeros; one without a registered mask an all-True mask.
    """
    ws, bs, ms = [], [], []
    for _, m in linear_layers(model):
        w = _weight(m).to("cpu", torch.float32)
        ws.append(w.numpy().copy())
        if m.bias is None:
            bs.append(np.zeros(m.out_features, dtype=np.float32))
        else:
            bs.append(m.bias.detach().to("cpu", torch.float32).numpy().copy())
        if hasattr(m, "weight_mask"):
            ms.append(m.weight_mask.detach().to("cpu").numpy() != 0)
        else:
            ms.append(np.ones(tuple(w.shape), dtype=bool))
    return ws, bs, ms


def expand_(
    model: nn.Sequential,
    *,
    alpha: int,
    strategy: str = "random",
    clauses: Optional[Sequence[Sequence[int]]] = None,
    seed: int = 0,
    layers: Union[None, str, Sequence[int]] = None,
    **options: Any,
) -> Dict[str, Any]:
    """Expands the hidden ``nn.Linear`` layers of ``model`` in place and returns the report.

    ``model``: an ``nn.Sequential`` MLP (``Linear, ReLU, Linear, ...``); layers already pruned
    with ``torch.nn.utils.prune`` keep their masks. ``alpha``, ``strategy``, ``clauses``,
    ``seed``, ``layers`` (hidden-layer indices counted over the linear layers: ``None`` = the
    first, ``"all"``) and ``**options`` (``prune``, ``bias``, ``outgoing``, ``nm_m``,
    ``feature_iters``) are those of :func:`fpe.expand`, which computes the new weights: the
    same inputs and seed give the same arrays.

    Each expanded hidden layer ``l`` becomes an ``nn.Linear`` with ``alpha`` times the outputs
    (child ``j`` of neuron ``i`` is output ``i * alpha + j``), the next one takes ``alpha`` times
    the inputs; both keep the device, dtype, ``requires_grad`` and whether they have a bias.
    Every linear layer whose mask is not all ones gets it registered with
    ``prune.custom_from_mask``, so those weights stay zero through training (the forward pass
    uses ``weight_orig * weight_mask``; their gradient is zero). Create the optimiser after
    this call. Returns the report dict of :func:`fpe.expand` (``widths_before``,
    ``widths_after``, ``budget``, ``nnz_after``, ...).
    """
    lin = linear_layers(model)
    weights, biases, masks = arrays(model)
    if options.get("optimizer_state", "reset") != "reset" or options.get("optimizer") is not None:
        raise ValueError(
            "fpe.torch.expand_ does not carry optimiser state: create a new optimiser after it"
        )
    new_w, new_b, new_m, report = _fpe.expand(
        weights,
        biases,
        masks,
        alpha=alpha,
        strategy=strategy,
        clauses=clauses,
        seed=seed,
        layers=layers,
        **options,
    )
    # Expanding hidden layer l rewrites linear layers l (rows) and l + 1 (columns); only those.
    touched = {k for l in report["config"]["layers"] for k in (l, l + 1)}
    for k, ((idx, old), w, b, m) in enumerate(zip(lin, new_w, new_b, new_m)):
        if k not in touched:
            continue
        ref = old.weight_orig if hasattr(old, "weight_orig") else old.weight
        new = nn.Linear(
            w.shape[1], w.shape[0], bias=old.bias is not None, device=ref.device, dtype=ref.dtype
        )
        with torch.no_grad():
            new.weight.copy_(torch.from_numpy(w))
            if new.bias is not None:
                new.bias.copy_(torch.from_numpy(b))
        new.weight.requires_grad_(ref.requires_grad)
        if new.bias is not None and old.bias is not None:
            new.bias.requires_grad_(old.bias.requires_grad)
        new.train(old.training)
        if not m.all():
            prune.custom_from_mask(new, "weight", torch.from_numpy(m).to(ref.device, ref.dtype))
        model[idx] = new
    return report

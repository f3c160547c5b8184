#!/usr/bin/env python3
"""The E1 training workload as a plain PyTorch loop: µs per model-step, to compare with fpe.

E1 ("Expand Neurons, Not Parameters"): 4,096 samples with 64 binary inputs and one binary target;
an MLP 64 → h → 1 with ReLU, float32; Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8, no weight decay);
batch 256, a fresh shuffle every epoch (16 optimiser steps), mean BCE-with-logits. Three arms:

    dense    h = 8,  dense layer 0 (512 weights) + 8 → 1
    random   h = 16 (α = 2), layer 0 a fixed 0/1 mask with 512 of 1,024 weights active: neurons
             2p and 2p+1 split the 64 inputs of parent p, 32 each; layer 1 dense 16 → 1
    clause   the same shape as random (another 32/32 split per parent). In the paper the split
             follows the task's clauses; the cost of a step depends only on the shape.

The loop is what a typical user writes: no DataLoader, index a shuffled permutation,
`zero_grad(); loss.backward(); step()`, and the mask applied in forward as
`F.linear(x, w * mask, b)` (so masked weights get zero gradients and Adam never moves them).

A "model-step" is one optimiser step of one model: forward + backward + Adam on 256 samples.
µs per model-step = wall time of the training loop / optimiser steps. Each arm is trained
`--repeats` times from scratch (same seed); the best and the median repeat are reported.
The data are seeded random 0/1 values: the work per step does not depend on them.

Usage:
    /usr/bin/python3 torch_e1.py [--epochs 60] [--threads 1] [--repeats 3] [--json]
    taskset -c 1 /usr/bin/python3 torch_e1.py --json      # pinned to one core

Exits 0 with `{"skipped": true, "reason": ...}` (with --json) when torch is not importable.
"""

import argparse
import json
import statistics
import sys
import time

N_SAMPLES, N_INPUTS, BATCH = 4096, 64, 256
STEPS_PER_EPOCH = N_SAMPLES // BATCH
LR, BETAS, EPS = 1e-3, (0.9, 0.999), 1e-8
ARMS = (("dense", 8), ("random", 16), ("clause", 16))


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=60, help="epochs per repeat and arm")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    ap.add_argument("--repeats", type=int, default=3, help="repeats per arm (best and median)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    return ap.parse_args()


def skip(args, reason):
    sys.stderr.write(f"torch_e1.py: skipped, torch is not importable ({reason})\n")
    if args.json:
        print(json.dumps({"skipped": True, "reason": reason}))
    sys.exit(0)


def main():
    args = parse_args()
    try:
        import torch
        import torch.nn.functional as F
    except Exception as e:  # ImportError, or a broken install (missing shared libraries)
        skip(args, f"{type(e).__name__}: {e}")

    class MaskedMLP(torch.nn.Module):
        """64 → h → 1 with ReLU; layer 0 optionally multiplied by a fixed 0/1 mask."""

        def __init__(self, hidden, mask=None):
            super().__init__()
            self.fc0 = torch.nn.Linear(N_INPUTS, hidden)
            self.fc1 = torch.nn.Linear(hidden, 1)
            self.mask = mask
            if mask is not None:
                with torch.no_grad():
                    self.fc0.weight.mul_(mask)

        def forward(self, x):
            if self.mask is None:
                h = self.fc0(x)
            else:
                h = F.linear(x, self.fc0.weight * self.mask, self.fc0.bias)
            return self.fc1(torch.relu(h))

    def fpe_mask(hidden, gen):
        """Neurons 2p, 2p+1 take disjoint random halves (32 + 32) of the inputs of parent p."""
        mask = torch.zeros(hidden, N_INPUTS)
        for parent in range(hidden // 2):
            perm = torch.randperm(N_INPUTS, generator=gen)
            mask[2 * parent, perm[: N_INPUTS // 2]] = 1.0
            mask[2 * parent + 1, perm[N_INPUTS // 2:]] = 1.0
        return mask

    def train(arm, hidden, x, y, epochs, seed):
        """Train one model from scratch; returns (seconds of the loop, steps, final loss)."""
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed + 1)
        mask = None if arm == "dense" else fpe_mask(hidden, gen)
        model = MaskedMLP(hidden, mask)
        opt = torch.optim.Adam(model.parameters(), lr=LR, betas=BETAS, eps=EPS, weight_decay=0)
        steps = 0
        start = time.perf_counter()
        for _ in range(epochs):
            perm = torch.randperm(N_SAMPLES, generator=gen)
            for s in range(STEPS_PER_EPOCH):
                idx = perm[s * BATCH:(s + 1) * BATCH]
                xb, yb = x[idx], y[idx]
                opt.zero_grad()
                loss = F.binary_cross_entropy_with_logits(model(xb), yb)
                loss.backward()
                opt.step()
                steps += 1
        seconds = time.perf_counter() - start
        with torch.no_grad():
            final = F.binary_cross_entropy_with_logits(model(x), y).item()
        active = int(mask.sum().item()) if mask is not None else hidden * N_INPUTS
        return seconds, steps, final, active

    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)
    x = (torch.rand(N_SAMPLES, N_INPUTS, generator=gen) < 0.5).float()
    y = (torch.rand(N_SAMPLES, 1, generator=gen) < 0.5).float()

    for arm, hidden in ARMS:  # warm-up: allocator, autograd and Adam code paths
        train(arm, hidden, x, y, 2, args.seed)
    rows = []
    for arm, hidden in ARMS:
        runs = [train(arm, hidden, x, y, args.epochs, args.seed) for _ in range(args.repeats)]
        steps, active = runs[0][1], runs[0][3]
        times = [r[0] for r in runs]
        rows.append({
            "arm": arm, "hidden": hidden, "layer0_active_weights": active,
            "epochs": args.epochs, "steps": steps,
            "us_per_step_best": 1e6 * min(times) / steps,
            "us_per_step_median": 1e6 * statistics.median(times) / steps,
            "seconds": times, "final_train_loss": runs[0][2],
        })
    total_steps = sum(r["steps"] for r in rows)
    out = {
        "tool": "torch_e1", "torch": torch.__version__, "threads": torch.get_num_threads(),
        "python": sys.version.split()[0], "batch": BATCH, "steps_per_epoch": STEPS_PER_EPOCH,
        "repeats": args.repeats, "arms": rows,
        "overall": {
            "steps": total_steps,
            "us_per_step_best": 1e6 * sum(min(r["seconds"]) for r in rows) / total_steps,
            "us_per_step_median":
                sum(r["us_per_step_median"] * r["steps"] for r in rows) / total_steps,
        },
    }
    if args.json:
        print(json.dumps(out))
        return
    print(f"torch {out['torch']}, {out['threads']} thread(s), {args.epochs} epochs × "
          f"{STEPS_PER_EPOCH} steps, best/median of {args.repeats}")
    for r in rows + [dict(out["overall"], arm="overall", hidden="-", layer0_active_weights="-")]:
        print(f"{r['arm']:8} h {r['hidden']:>2}  layer-0 weights {r['layer0_active_weights']:>4}  "
              f"{r['us_per_step_best']:8.1f} µs/model-step best  "
              f"{r['us_per_step_median']:8.1f} median")


if __name__ == "__main__":
    main()

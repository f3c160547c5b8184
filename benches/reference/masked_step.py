#!/usr/bin/env python3
"""The training step of `fpe bench`, written as a numpy user would: masked dense matrices.

One step = forward, backward and a mask-aware Adam update (lr 1e-3, betas 0.9/0.999, eps 1e-8)
at batch 256, float32 throughout: z = x Wᵀ + b per layer with ReLU between layers; softmax
cross-entropy (embedding configs) or multi-label BCE-with-logits (Boolean configs); gradients
multiplied by the masks, weights re-masked after the update. Expanded (FPE) layers are plain
wider masked matrices, so their cost grows with width, as in any masked PyTorch/numpy code.

Throughput is measured like `fpe bench`: every configuration gets `--rounds` interleaved rounds
of `--seconds / --rounds` seconds, and the best round counts (robust to other load).

Usage:
    python3 masked_step.py [--seconds 1.0] [--rounds 5] [--json] [--only NAME,...]
    python3 masked_step.py --configs '[{"name": ..., "widths": [...], "alpha": 4, "classes": true}]'

BLAS threads follow OPENBLAS_NUM_THREADS / OMP_NUM_THREADS (set them before starting).
"""

import argparse
import json
import sys
import time

try:
    import numpy as np
except ImportError:  # pragma: no cover - reported to the caller
    sys.stderr.write("masked_step.py needs numpy: pip install numpy\n")
    sys.exit(3)

BATCH = 256
LR, B1, B2, EPS = 1e-3, 0.9, 0.999, 1e-8

# The same list as fpe_model::step_cases().
DEFAULT_CONFIGS = (
    [{"name": "boolean_64_256_16" + ("" if a == 1 else f"_a{a}"), "widths": [64, 256, 16],
      "alpha": a, "classes": False} for a in (1, 2, 4, 8, 16)]
    + [{"name": "embed_256_32_10" + ("" if a == 1 else f"_a{a}"), "widths": [256, 32, 10],
        "alpha": a, "classes": True} for a in (1, 4)]
    + [{"name": "embed5_256_16x4_10", "widths": [256, 16, 16, 16, 16, 10], "alpha": 1,
        "classes": True}]
)


def build(cfg, rng):
    """Weights, biases and masks: dense, or FPE-shaped as fpe_model::expanded_like."""
    widths, alpha = list(cfg["widths"]), cfg["alpha"]
    if alpha > 1:
        d, h, c = widths
        widths = [d, h * alpha, c]
    layers = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        w = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32)
        b = rng.uniform(-bound, bound, fan_out).astype(np.float32)
        layers.append([w, b, np.ones((fan_out, fan_in), dtype=np.float32)])
    if alpha > 1:
        d, h, c = cfg["widths"]
        m0 = np.zeros((h * alpha, d), dtype=np.float32)
        for parent in range(h):
            perm = rng.permutation(d)
            m0[parent * alpha + np.arange(d) % alpha, perm] = 1.0
        m1 = np.zeros((c, h * alpha), dtype=np.float32)
        for o in range(c):
            m1[o, np.arange(h) * alpha + rng.integers(0, alpha, h)] = 1.0
        layers[0][2], layers[1][2] = m0, m1
    for layer in layers:
        layer[0] *= layer[2]
    return layers


class Step:
    """Buffers and Adam state for one configuration."""

    def __init__(self, cfg, rng):
        self.cfg = cfg
        self.layers = build(cfg, rng)
        self.m = [[np.zeros_like(w), np.zeros_like(b)] for w, b, _ in self.layers]
        self.v = [[np.zeros_like(w), np.zeros_like(b)] for w, b, _ in self.layers]
        self.t = 0
        d, c = cfg["widths"][0], cfg["widths"][-1]
        if cfg["classes"]:
            self.x = rng.uniform(-1, 1, (BATCH, d)).astype(np.float32)
            self.y = rng.integers(0, c, BATCH)
        else:
            self.x = (rng.random((BATCH, d)) < 0.5).astype(np.float32)
            self.y = (rng.random((BATCH, c)) < 0.5).astype(np.float32)

    def __call__(self):
        acts = [self.x]
        for i, (w, b, _) in enumerate(self.layers):
            z = acts[-1] @ w.T + b
            if i + 1 < len(self.layers):
                np.maximum(z, 0.0, out=z)
            acts.append(z)
        z = acts[-1]
        if self.cfg["classes"]:
            z = z - z.max(axis=1, keepdims=True)
            e = np.exp(z)
            p = e / e.sum(axis=1, keepdims=True)
            loss = float(np.mean(np.log(e.sum(axis=1)) - z[np.arange(BATCH), self.y]))
            delta = p
            delta[np.arange(BATCH), self.y] -= 1.0
            delta /= BATCH
        else:
            loss = float(np.mean(np.maximum(z, 0) - z * self.y + np.log1p(np.exp(-np.abs(z)))))
            delta = (1.0 / (1.0 + np.exp(-z)) - self.y) / z.size
        self.t += 1
        bc1, bc2 = 1.0 - B1 ** self.t, 1.0 - B2 ** self.t
        for i in reversed(range(len(self.layers))):
            w, b, mask = self.layers[i]
            gw = (delta.T @ acts[i]) * mask
            gb = delta.sum(axis=0)
            if i > 0:
                delta = (delta @ w) * (acts[i] > 0)
            for p_, g, m, v in ((w, gw, *self._slots(i, 0)), (b, gb, *self._slots(i, 1))):
                m *= B1
                m += (1 - B1) * g
                v *= B2
                v += (1 - B2) * g * g
                p_ -= LR * (m / bc1) / (np.sqrt(v / bc2) + EPS)
            w *= mask
        return loss

    def _slots(self, i, j):
        return self.m[i][j], self.v[i][j]


def measure(steps, seconds, rounds):
    best = {name: 0.0 for name in steps}
    total = {name: [0, 0.0] for name in steps}
    for step in steps.values():
        for _ in range(3):
            step()
    for _ in range(rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            n = 0
            while True:
                step()
                n += 1
                elapsed = time.perf_counter() - start
                if elapsed >= seconds / rounds:
                    break
            best[name] = max(best[name], n * BATCH / elapsed)
            total[name][0] += n
            total[name][1] += elapsed
    return best, total


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=1.0, help="measurement time per config")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (best counts)")
    ap.add_argument("--json", action="store_true", help="print a JSON list")
    ap.add_argument("--only", default="", help="comma-separated config names")
    ap.add_argument("--configs", default="", help="JSON list of configs (default: built-in)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    configs = json.loads(a.configs) if a.configs else DEFAULT_CONFIGS
    if a.only:
        keep = set(a.only.split(","))
        configs = [c for c in configs if c["name"] in keep]
    rng = np.random.default_rng(a.seed)
    steps = {c["name"]: Step(c, rng) for c in configs}
    best, total = measure(steps, a.seconds, max(1, a.rounds))
    rows = [{"config": c["name"], "alpha": c["alpha"], "samples_per_sec": best[c["name"]],
             "steps": total[c["name"]][0], "seconds": total[c["name"]][1]} for c in configs]
    if a.json:
        print(json.dumps(rows))
    else:
        for r in rows:
            print(f"{r['config']:24} alpha {r['alpha']:2}  {r['samples_per_sec']:12.0f} samples/s")


if __name__ == "__main__":
    main()

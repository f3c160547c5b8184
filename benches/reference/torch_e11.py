#!/usr/bin/env python3
"""The E11 training workload as a plain PyTorch loop: µs per model-step, to compare with fpe.

E11 (issue #29): raw Fashion-MNIST, the first 2,048 training images (pixels / 255, 1×28×28),
float32; a CNN with a trainable backbone and an MLP head,

    conv3×3(1→16, pad 1) ReLU maxpool2 → conv3×3(16→C, pad 1) ReLU maxpool2 → flatten (C·7·7)
    → linear(C·49→256) ReLU → linear(256→h) ReLU → linear(h→10),

mean softmax cross-entropy, Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8, no weight decay), batch
256, a fresh shuffle every epoch (8 optimiser steps). Three arms, the shapes `fpe bench
--workload e11` trains after its split (α = 2):

    dense           C = 32, h = 8, no masks
    random          C = 32, h = 16 (head expansion): linear(256→16) has a fixed 0/1 mask with
                    2,048 of 4,096 weights active, neurons 2p and 2p+1 splitting the 256 inputs
                    of parent p (128 each); linear(16→10) dense
    channel_random  C = 64, h = 8 (channel expansion of the second convolution): each output
                    channel keeps 72 of its 16·9 = 144 kernel entries (channels 2p and 2p+1 split
                    parent p's 144 positions); linear(3,136→256) keeps half of its weights (for
                    every row and spatial position, one of the two children's columns)

The loop is what a typical user writes: no DataLoader, index a shuffled permutation,
`zero_grad(); loss.backward(); step()`, and masks applied in forward as `F.linear(x, w * mask, b)`
and `F.conv2d(x, w * mask, b, padding=1)` (masked weights get zero gradients, Adam never moves
them). Dense layers are the usual `nn.Conv2d` / `nn.Linear`.

A "model-step" is one optimiser step of one model: forward + backward + Adam on 256 samples.
µs per model-step = wall time of the training loop / optimiser steps (data loading, model
construction and the evaluation are outside the clock). After training, each model is evaluated
(loss and accuracy on the 2,048 training and the first 1,024 test images, in batches of 256) on
its own clock, `eval_ms`: `fpe bench` counts that inside its time. Each arm is trained `--repeats` times
from scratch (same seed); the best and the median repeat are reported. `overall` weights the
arms by their steps; `e11_unit_mix` weights them as one `fpe bench` unit does (a dense warm-up
as long as each arm's training, then dense, random and channel_random: 2:1:1), and
`us_per_step_best_with_eval` adds the unit's 3 evaluations spread over its 64 steps, the figure
closest to `fpe bench`'s `population` row.

Debian's python3-torch (BLAS_INFO=generic) runs nn.Linear and matmul through whatever
libblas.so.3 the system provides; with only the reference BLAS installed (`scripts/setup.sh`
installs no other) those are ~30× slower than with OpenBLAS and dominate the step, while the
convolutions use oneDNN either way. The output names the BLAS library loaded (`blas`); see
README.md for running against OpenBLAS without installing it system-wide.

Usage:
    /usr/bin/python3 torch_e11.py [--epochs 4] [--threads 1] [--repeats 3] [--json]
    taskset -c 1 /usr/bin/python3 torch_e11.py --json      # pinned to one core

Exits 0 with `{"skipped": true, "reason": ...}` (with --json) when torch is not importable; exits
1 when the Fashion-MNIST files are missing (Debian: `apt install dataset-fashion-mnist`).
"""

import argparse
import gzip
import json
import os
import statistics
import sys
import time

N_TRAIN, N_TEST, BATCH = 2048, 1024, 256
STEPS_PER_EPOCH = N_TRAIN // BATCH
LR, BETAS, EPS = 1e-3, (0.9, 0.999), 1e-8
FEATURES, CLASSES = 256, 10
# arm, second conv's channels, head hidden width
ARMS = (("dense", 32, 8), ("random", 32, 16), ("channel_random", 64, 8))
DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"
FPE_EPOCHS = 2  # epochs of the warm-up and of each arm in `fpe bench --workload e11`


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=4, help="epochs per repeat and arm")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    ap.add_argument("--repeats", type=int, default=3, help="repeats per arm (best and median)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-dir", default=DEFAULT_DATA,
                    help="directory of train-images-idx3-ubyte(.gz) and train-labels-idx1-ubyte(.gz)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    return ap.parse_args()


def skip(args, reason):
    sys.stderr.write(f"torch_e11.py: skipped, torch is not importable ({reason})\n")
    if args.json:
        print(json.dumps({"skipped": True, "reason": reason}))
    sys.exit(0)


def blas_library():
    """The BLAS shared library this process loaded (Linux), e.g. Debian's reference libblas."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.rsplit("/", 1)[-1]}
    except OSError:
        return "unknown"
    return ", ".join(sorted(libs)) or "none found"


def read_idx(np, data_dir, name, magic, n):
    """The first `n` items of IDX file `name` (gzipped or plain), checked against `magic`."""
    path = os.path.join(data_dir, name)
    opener = gzip.open if os.path.exists(path + ".gz") else open
    path = path + ".gz" if opener is gzip.open else path
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        sys.exit(f"torch_e11.py: cannot read {path}: {e} (Debian: apt install "
                 "dataset-fashion-mnist, or --data-dir)")
    got = int.from_bytes(raw[0:4], "big")
    if got != magic:
        sys.exit(f"torch_e11.py: {path}: magic {got:#x}, expected {magic:#x}")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    if dims[0] < n:
        sys.exit(f"torch_e11.py: {path} holds {dims[0]} items, {n} needed")
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    size = int(np.prod(dims[1:], dtype=np.int64)) if ndim > 1 else 1
    return body[: n * size].reshape([n] + dims[1:])


def main():
    args = parse_args()
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))  # before torch loads its BLAS
    try:
        import numpy as np
        import torch
        import torch.nn.functional as F
    except Exception as e:  # ImportError, or a broken install (missing shared libraries)
        skip(args, f"{type(e).__name__}: {e}")

    class E11Net(torch.nn.Module):
        """The E11 CNN; `conv2_mask` / `lin_mask` / `fc1_mask` are fixed 0/1 masks or None."""

        def __init__(self, conv2_ch, hidden, conv2_mask=None, lin_mask=None, fc1_mask=None):
            super().__init__()
            self.conv1 = torch.nn.Conv2d(1, 16, 3, padding=1)
            self.conv2 = torch.nn.Conv2d(16, conv2_ch, 3, padding=1)
            self.lin = torch.nn.Linear(conv2_ch * 7 * 7, FEATURES)
            self.fc1 = torch.nn.Linear(FEATURES, hidden)
            self.fc2 = torch.nn.Linear(hidden, CLASSES)
            self.conv2_mask, self.lin_mask, self.fc1_mask = conv2_mask, lin_mask, fc1_mask
            with torch.no_grad():  # inactive weights start at 0, as in fpe
                for layer, mask in ((self.conv2, conv2_mask), (self.lin, lin_mask),
                                    (self.fc1, fc1_mask)):
                    if mask is not None:
                        layer.weight.mul_(mask)

        def forward(self, x):
            h = F.max_pool2d(torch.relu(self.conv1(x)), 2)
            if self.conv2_mask is None:
                h = self.conv2(h)
            else:
                h = F.conv2d(h, self.conv2.weight * self.conv2_mask, self.conv2.bias, padding=1)
            h = torch.flatten(F.max_pool2d(torch.relu(h), 2), 1)
            if self.lin_mask is None:
                h = self.lin(h)
            else:
                h = F.linear(h, self.lin.weight * self.lin_mask, self.lin.bias)
            h = torch.relu(h)
            if self.fc1_mask is None:
                h = self.fc1(h)
            else:
                h = F.linear(h, self.fc1.weight * self.fc1_mask, self.fc1.bias)
            return self.fc2(torch.relu(h))

    def split_mask(children, positions, gen):
        """[children, positions]: rows 2p and 2p+1 take disjoint random halves of `positions`."""
        mask = torch.zeros(children, positions)
        for parent in range(children // 2):
            perm = torch.randperm(positions, generator=gen)
            mask[2 * parent, perm[: positions // 2]] = 1.0
            mask[2 * parent + 1, perm[positions // 2:]] = 1.0
        return mask

    def make_model(arm, conv2_ch, hidden, gen):
        if arm == "dense":
            return E11Net(conv2_ch, hidden)
        if arm == "random":
            return E11Net(conv2_ch, hidden, fc1_mask=split_mask(hidden, FEATURES, gen))
        # channel_random: 32 parents → 64 children over the 16·3·3 kernel positions; the linear
        # stage's columns of children 2p and 2p+1 (49 positions each) split per row and position.
        conv2_mask = split_mask(conv2_ch, 16 * 9, gen).reshape(conv2_ch, 16, 3, 3)
        keep = (torch.rand(FEATURES, conv2_ch // 2, 1, 49, generator=gen) < 0.5).float()
        lin_mask = torch.cat([keep, 1.0 - keep], dim=2).reshape(FEATURES, conv2_ch * 49)
        return E11Net(conv2_ch, hidden, conv2_mask=conv2_mask, lin_mask=lin_mask)

    def evaluate(model, x, y):
        """Mean loss and accuracy in batches of 256, as fpe evaluates a trained arm."""
        loss, correct = 0.0, 0
        with torch.no_grad():
            for s in range(0, x.shape[0], BATCH):
                logits = model(x[s:s + BATCH])
                loss += F.cross_entropy(logits, y[s:s + BATCH], reduction="sum").item()
                correct += int((logits.argmax(1) == y[s:s + BATCH]).sum())
        return loss / x.shape[0], correct / x.shape[0]

    def train(arm, conv2_ch, hidden, data, epochs, seed):
        """Train one model from scratch; returns (seconds of the loop, steps, train loss,
        active weights, seconds of evaluating on the training and test images, test accuracy)."""
        x, y, x_test, y_test = data
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed + 1)
        model = make_model(arm, conv2_ch, hidden, gen)
        opt = torch.optim.Adam(model.parameters(), lr=LR, betas=BETAS, eps=EPS, weight_decay=0)
        steps = 0
        start = time.perf_counter()
        for _ in range(epochs):
            perm = torch.randperm(N_TRAIN, generator=gen)
            for s in range(STEPS_PER_EPOCH):
                idx = perm[s * BATCH:(s + 1) * BATCH]
                xb, yb = x[idx], y[idx]
                opt.zero_grad()
                loss = F.cross_entropy(model(xb), yb)
                loss.backward()
                opt.step()
                steps += 1
        seconds = time.perf_counter() - start
        start = time.perf_counter()
        final, _ = evaluate(model, x, y)
        _, test_acc = evaluate(model, x_test, y_test)
        eval_seconds = time.perf_counter() - start
        active = 0
        for name, p in model.named_parameters():
            mask = getattr(model, name.split(".")[0] + "_mask", None)
            active += int(mask.sum().item()) if name.endswith("weight") and mask is not None \
                else p.numel()
        return seconds, steps, final, active, eval_seconds, test_acc

    torch.set_num_threads(args.threads)
    blas = blas_library()
    images = read_idx(np, args.data_dir, "train-images-idx3-ubyte", 0x803, N_TRAIN)
    labels = read_idx(np, args.data_dir, "train-labels-idx1-ubyte", 0x801, N_TRAIN)
    x = torch.from_numpy(images.astype(np.float32) / 255.0).reshape(N_TRAIN, 1, 28, 28)
    y = torch.from_numpy(labels.astype(np.int64))
    images = read_idx(np, args.data_dir, "t10k-images-idx3-ubyte", 0x803, N_TEST)
    labels = read_idx(np, args.data_dir, "t10k-labels-idx1-ubyte", 0x801, N_TEST)
    x_test = torch.from_numpy(images.astype(np.float32) / 255.0).reshape(N_TEST, 1, 28, 28)
    data = (x, y, x_test, torch.from_numpy(labels.astype(np.int64)))

    for arm, ch, hidden in ARMS:  # warm-up: allocator, oneDNN primitives, autograd and Adam
        train(arm, ch, hidden, data, 1, args.seed)
    rows = []
    for arm, ch, hidden in ARMS:
        runs = [train(arm, ch, hidden, data, args.epochs, args.seed) for _ in range(args.repeats)]
        steps, active = runs[0][1], runs[0][3]
        times = [r[0] for r in runs]
        rows.append({
            "arm": arm, "conv2_channels": ch, "hidden": hidden, "active_weights": active,
            "epochs": args.epochs, "steps": steps,
            "us_per_step_best": 1e6 * min(times) / steps,
            "us_per_step_median": 1e6 * statistics.median(times) / steps,
            "seconds": times, "final_train_loss": runs[0][2], "test_accuracy": runs[0][5],
            "eval_ms_best": 1e3 * min(r[4] for r in runs),
        })
    total_steps = sum(r["steps"] for r in rows)
    by_arm = {r["arm"]: r for r in rows}

    def mix(key):  # one fpe unit: dense warm-up, then dense, random, channel_random
        return (2 * by_arm["dense"][key] + by_arm["random"][key]
                + by_arm["channel_random"][key]) / 4

    # One fpe unit trains 4 × FPE_EPOCHS epochs (warm-up + 3 arms) and evaluates the 3 arms.
    unit_steps = 4 * FPE_EPOCHS * STEPS_PER_EPOCH
    unit_eval_us = 1e3 * sum(r["eval_ms_best"] for r in rows) / unit_steps

    out = {
        "tool": "torch_e11", "torch": torch.__version__, "threads": torch.get_num_threads(),
        "python": sys.version.split()[0], "blas": blas, "batch": BATCH, "n_train": N_TRAIN,
        "steps_per_epoch": STEPS_PER_EPOCH, "repeats": args.repeats, "arms": rows,
        "overall": {
            "steps": total_steps,
            "us_per_step_best": 1e6 * sum(min(r["seconds"]) for r in rows) / total_steps,
            "us_per_step_median":
                sum(r["us_per_step_median"] * r["steps"] for r in rows) / total_steps,
        },
        "e11_unit_mix": {
            "us_per_step_best": mix("us_per_step_best"),
            "us_per_step_median": mix("us_per_step_median"),
            "us_per_step_best_with_eval": mix("us_per_step_best") + unit_eval_us,
        },
    }
    if args.json:
        print(json.dumps(out))
        return
    print(f"torch {out['torch']}, {out['threads']} thread(s), {args.epochs} epochs × "
          f"{STEPS_PER_EPOCH} steps of {BATCH}, best/median of {args.repeats}; BLAS {blas}")
    for r in rows:
        print(f"{r['arm']:15} conv2 {r['conv2_channels']:>2} ch  h {r['hidden']:>2}  "
              f"weights {r['active_weights']:>7}  {r['us_per_step_best']:10.1f} µs/model-step "
              f"best  {r['us_per_step_median']:10.1f} median  loss {r['final_train_loss']:.3f}  "
              f"eval {r['eval_ms_best']:.0f} ms (test acc {r['test_accuracy']:.3f})")
    for name in ("overall", "e11_unit_mix"):
        o = out[name]
        print(f"{name:15} {'':35}{o['us_per_step_best']:10.1f} µs/model-step best  "
              f"{o['us_per_step_median']:10.1f} median")
    print(f"{'':15} {'':35}{out['e11_unit_mix']['us_per_step_best_with_eval']:10.1f} µs/model-step "
          f"best, with one fpe unit's evaluations (3 × ({N_TRAIN} + {N_TEST}) images per "
          f"{unit_steps} steps)")


if __name__ == "__main__":
    main()

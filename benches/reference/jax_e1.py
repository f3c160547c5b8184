#!/usr/bin/env python3
"""The E1 training workload in JAX: a jitted `lax.scan` per epoch, one model and 30 vmapped.

E1 ("Expand Neurons, Not Parameters"), as in torch_e1.py: 4,096 samples with 64 binary inputs and
one binary target; MLP 64 → h → 1 with ReLU, float32; Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8,
written by hand so only jax is needed); batch 256, a fresh shuffle every epoch (16 steps), mean
BCE-with-logits. The masked layer 0 is `x @ (w * mask).T + b`, so masked weights get zero gradient
and Adam never moves them (the dense arm has no mask). Arms: dense (h = 8), random and clause
(h = 16, α = 2: neurons 2p and 2p+1 split the 64 inputs of parent p, 32 each; clause has the
same shape, another split).

Two measurements, each after a warm-up compile (`jit(...).lower(...).compile()`, timed and
reported separately, never counted in the step times):

  single      one model per arm; one call of the compiled epoch = 16 steps in a `lax.scan`.
  population  30 models (10 seeds × 3 arms) trained together: `jax.vmap` over models inside the
              jitted scan, each model with its own mask, initialisation and shuffle. All 30 have
              the h = 16 masked shape: a vmap needs one shape, and a 16-wide model whose mask
              keeps 8 neurons is not the h = 8 dense model, so the 10 "dense" members are timed
              as h = 16 masked models (an upper bound for a true dense population).

µs per model-step = wall / (models × steps); best and median of `--repeats` runs of `--epochs`.
The data are seeded random 0/1 values: the work per step does not depend on them. Data, masks
and initial weights are made with numpy (each eager jax op would cost an XLA compile).

Shuffle: `--shuffle host` (default) draws each epoch's permutation with numpy, as torch's
randperm and fpe do (a cheap Fisher-Yates), and passes it to the jitted epoch; `--shuffle device`
calls `jax.random.permutation` inside the jitted epoch, which on XLA CPU is a sort and costs
~1.2 ms per epoch of 4,096 (about 75 µs per step, several times the step itself). Every row
reports the shuffle's own cost per epoch, timed separately.

Threads: with `--threads 1` (the default) the script sets, before importing jax,
    XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
(appended to any XLA_FLAGS already set); other values leave XLA's thread pool at its default.
Pinning the process (`taskset -c 1`) is the sure way to get one core.

Usage:
    python3 jax_e1.py [--epochs 300] [--pop-epochs 30] [--threads 1] [--repeats 3] [--json]
    taskset -c 1 python3 jax_e1.py --json

Exits 0 with `{"skipped": true, "reason": ...}` (with --json) when jax is not importable.
"""

import argparse
import json
import os
import statistics
import sys
import time

N_SAMPLES, N_INPUTS, BATCH, HIDDEN = 4096, 64, 256, 16
STEPS = N_SAMPLES // BATCH
LR, B1, B2, EPS = 1e-3, 0.9, 0.999, 1e-8
ARMS = (("dense", 8), ("random", 16), ("clause", 16))
SINGLE_THREAD_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=300, help="epochs per run, single models")
    ap.add_argument("--pop-epochs", type=int, default=30, help="epochs per run, population")
    ap.add_argument("--seeds", type=int, default=10, help="population seeds per arm")
    ap.add_argument("--threads", type=int, default=1, help="1: single-threaded XLA flags")
    ap.add_argument("--repeats", type=int, default=3, help="runs per measurement")
    ap.add_argument("--shuffle", choices=("host", "device"), default="host",
                    help="host: numpy permutation per epoch; device: jax.random.permutation "
                         "inside the jitted epoch")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    return ap.parse_args()


def main():
    args = parse_args()
    if args.threads == 1:
        flags = os.environ.get("XLA_FLAGS", "") + " " + SINGLE_THREAD_FLAGS
        os.environ["XLA_FLAGS"] = flags.strip()
    device_shuffle = args.shuffle == "device"
    try:
        import jax
        import jax.numpy as jnp
        import numpy as np
        from jax import lax
    except Exception as e:  # ImportError, or a broken jaxlib
        reason = f"{type(e).__name__}: {e}"
        sys.stderr.write(f"jax_e1.py: skipped, jax is not importable ({reason})\n")
        if args.json:
            print(json.dumps({"skipped": True, "reason": reason}))
        return

    rng = np.random.default_rng(args.seed)

    def fpe_mask():
        """Neurons 2p, 2p+1 take disjoint random halves (32 + 32) of the inputs of parent p."""
        mask = np.zeros((HIDDEN, N_INPUTS), np.float32)
        for parent in range(HIDDEN // 2):
            perm = rng.permutation(N_INPUTS)
            mask[2 * parent, perm[: N_INPUTS // 2]] = 1.0
            mask[2 * parent + 1, perm[N_INPUTS // 2:]] = 1.0
        return mask

    def init(hidden, mask):
        """torch.nn.Linear's default init (U(±1/√fan_in)); Adam state zero; layer 0 masked."""
        u = lambda shape, fan_in: rng.uniform(-1, 1, shape).astype(np.float32) / np.sqrt(fan_in)
        p = {"w0": u((hidden, N_INPUTS), N_INPUTS), "b0": u((hidden,), N_INPUTS),
             "w1": u((1, hidden), hidden), "b1": u((1,), hidden)}
        if mask is not None:
            p["w0"] *= mask
        zeros = {k: np.zeros_like(v) for k, v in p.items()}
        return p, (zeros, zeros, np.zeros((), np.int32))

    def loss_fn(p, mask, x, y):
        w0 = p["w0"] if mask is None else p["w0"] * mask
        h = jax.nn.relu(x @ w0.T + p["b0"])
        z = h @ p["w1"].T + p["b1"]
        return jnp.mean(jnp.maximum(z, 0) - z * y + jnp.log1p(jnp.exp(-jnp.abs(z))))

    def adam_step(carry, batch, mask):
        p, (m, v, t) = carry
        loss, g = jax.value_and_grad(loss_fn)(p, mask, *batch)
        t = t + 1
        m = jax.tree_util.tree_map(lambda m_, g_: B1 * m_ + (1 - B1) * g_, m, g)
        v = jax.tree_util.tree_map(lambda v_, g_: B2 * v_ + (1 - B2) * g_ * g_, v, g)
        bc1, bc2 = 1 - B1 ** t.astype(jnp.float32), 1 - B2 ** t.astype(jnp.float32)
        p = jax.tree_util.tree_map(
            lambda p_, m_, v_: p_ - LR * (m_ / bc1) / (jnp.sqrt(v_ / bc2) + EPS), p, m, v)
        return (p, (m, v, t)), loss

    def epoch(params, state, mask, order, x, y):
        """One epoch: a fresh shuffle, then 16 Adam steps in one lax.scan. Returns mean loss.
        `order` is a PRNG key (--shuffle device) or the permutation itself (--shuffle host).
        The scan runs over index batches and gathers each batch in the step: gathering the
        whole shuffled epoch first (`x[perm]`) was 1.3x slower for one model and 3x slower
        vmapped over 30 models (XLA CPU, jax 0.10)."""
        perm = jax.random.permutation(order, N_SAMPLES) if device_shuffle else order
        (params, state), losses = lax.scan(
            lambda c, i: adam_step(c, (x[i], y[i]), mask), (params, state),
            perm.reshape(STEPS, BATCH))
        return params, state, losses.mean()

    def orders(models, epochs):
        """Per-epoch shuffle inputs: raw PRNG keys made up front (device; one split, then plain
        numpy rows), or a permutation per model drawn by numpy in the timed loop (host)."""
        shape = (models,) if models > 1 else ()
        if device_shuffle:
            keys = np.asarray(jax.random.split(jax.random.PRNGKey(int(rng.integers(2**31))),
                                               (1 + epochs) * models)).reshape(-1, *shape, 2)
            return keys[0], lambda e: keys[e + 1]
        base = np.broadcast_to(np.arange(N_SAMPLES, dtype=np.int32), shape + (N_SAMPLES,))
        draw = lambda: rng.permuted(base, axis=-1)
        return draw(), lambda e: draw()

    def measure(name, fn, params, state, mask, models, epochs, **extra):
        """Compile (timed), warm up, run `epochs` epochs `--repeats` times from the same start;
        then time the shuffle alone (the jitted permutation, or the numpy draws) per epoch."""
        first, order = orders(models, epochs)
        jax.clear_caches()  # else the clause arm reuses the random arm's executable
        start = time.perf_counter()
        compiled = jax.jit(fn).lower(params, state, mask, first, x, y).compile()
        compile_s = time.perf_counter() - start
        jax.block_until_ready(compiled(params, state, mask, first, x, y))  # warm-up
        times = []
        for _ in range(args.repeats):
            p, s = params, state
            start = time.perf_counter()
            for e in range(epochs):
                p, s, loss = compiled(p, s, mask, order(e), x, y)
            jax.block_until_ready((p, s, loss))
            times.append(time.perf_counter() - start)
        perm = lambda k: jax.random.permutation(k, N_SAMPLES)
        shuffle = jax.jit(jax.vmap(perm) if models > 1 else perm) if device_shuffle else None
        jax.block_until_ready(shuffle(first) if shuffle else first)
        start = time.perf_counter()
        for e in range(epochs):
            r = shuffle(order(e)) if shuffle else order(e)
        jax.block_until_ready(r)
        shuffle_s = (time.perf_counter() - start) / epochs
        steps = models * epochs * STEPS
        rows.append(dict(
            name=name, models=models, epochs=epochs, model_steps=steps, compile_s=compile_s,
            seconds=times, last_epoch_loss=float(jnp.mean(loss)),
            us_per_model_step_best=1e6 * min(times) / steps,
            us_per_model_step_median=1e6 * statistics.median(times) / steps,
            shuffle_us_per_epoch=1e6 * shuffle_s,
            shuffle_share_of_best=shuffle_s * epochs / min(times), **extra))

    x = (rng.random((N_SAMPLES, N_INPUTS)) < 0.5).astype(np.float32)
    y = (rng.random((N_SAMPLES, 1)) < 0.5).astype(np.float32)
    x, y = jax.device_put(x), jax.device_put(y)
    rows = []

    # (a) one model per arm.
    for arm, hidden in ARMS:
        mask = None if arm == "dense" else fpe_mask()
        params, state = init(hidden, mask)
        measure(f"single/{arm}", epoch, params, state, mask, 1, args.epochs, arm=arm,
                hidden=hidden, layer0_active_weights=int(hidden * N_INPUTS if mask is None
                                                         else mask.sum()))

    # (b) population: seeds × arms, all of the h = 16 masked shape, per-model masks.
    n = args.seeds * len(ARMS)
    masks = np.stack([fpe_mask() for _ in range(n)])
    inits = [init(HIDDEN, m) for m in masks]
    params, state = jax.tree_util.tree_map(lambda *a: np.stack(a), *inits)
    measure(f"population/{n}", jax.vmap(epoch, in_axes=(0, 0, 0, 0, None, None)), params, state,
            masks, n, args.pop_epochs, arms=[a for a, _ in ARMS], seeds_per_arm=args.seeds,
            hidden=HIDDEN,
            note=f"{n} models = {args.seeds} seeds x {len(ARMS)} arms, all of the h = 16 masked "
                 "shape with per-model masks and shuffles (the dense members are timed as h = 16 "
                 "masked models, not as h = 8 dense)")

    import jaxlib
    out = {"tool": "jax_e1", "jax": jax.__version__, "jaxlib": getattr(jaxlib, "__version__", None),
           "backend": jax.default_backend(), "shuffle": args.shuffle,
           "threads": args.threads if args.threads == 1 else "xla default",
           "xla_flags": os.environ.get("XLA_FLAGS", ""), "batch": BATCH, "steps_per_epoch": STEPS,
           "repeats": args.repeats, "rows": rows}
    if args.json:
        print(json.dumps(out))
        return
    print(f"jax {out['jax']} ({out['backend']}), threads {out['threads']}, shuffle {args.shuffle}"
          f", XLA_FLAGS={out['xla_flags']!r}, best/median of {args.repeats}")
    for r in rows:
        print(f"{r['name']:14} {r['models']:2} model(s) × {r['epochs']:4} epochs "
              f"{r['us_per_model_step_best']:7.2f} µs/model-step best "
              f"{r['us_per_model_step_median']:7.2f} median  compile {r['compile_s']:.2f} s  "
              f"shuffle {r['shuffle_us_per_epoch']:6.0f} µs/epoch "
              f"({r['shuffle_share_of_best']:.0%})")
    print("population: " + rows[-1]["note"])


if __name__ == "__main__":
    main()

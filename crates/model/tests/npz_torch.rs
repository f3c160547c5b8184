//! `.npz` export of a network with a convolutional backbone, loaded into the equivalent
//! `torch.nn.Sequential` (issue #29): PyTorch's logits match `Mlp::forward` and its predictions
//! are the same classes.
//!
//! The Python side rebuilds the network from the file alone: it parses `backbone_stages`
//! (`nn.Conv2d(padding=p)`, `nn.ReLU`, `nn.MaxPool2d(2)`, `nn.Flatten`, `nn.Linear`), then the
//! head's `nn.Linear` layers with ReLU between them, and loads every tensor with
//! `torch.from_numpy`. It also runs two deliberately wrong readings of the same file (each
//! convolution kernel transposed or mirrored in its spatial axes; the first linear layer after
//! `flatten` reading the map as `[H, W, C]` instead of `[C, H, W]`), and the test asserts that
//! those do *not* match, so it would notice a kernel or flatten order that PyTorch reads
//! differently.
//!
//! Needs Debian's `/usr/bin/python3` with torch and numpy (`scripts/setup.sh` installs
//! `python3-torch`; `FPE_TORCH_PYTHON` names another interpreter). When either is missing the
//! tests fail, unless `FPE_SKIP_TORCH=1` asks to skip them, which they then say.

mod common;

use std::process::Command;

use common::*;
use fpe_model::{BackboneConfig, Mlp, MlpConfig, Stage};
use ndarray::{Array1, Array2};
use rand::Rng;

/// Relative tolerance on logits: `|rust − torch| ≤ TOL · (1 + |torch|)`.
const TOL: f64 = 1e-4;

/// Factor on every initial weight (see [`network`]).
const GAIN: f32 = 4.0;

fn python() -> String {
    std::env::var("FPE_TORCH_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".to_owned())
}

/// Whether the test may run; panics when torch is missing unless `FPE_SKIP_TORCH=1`.
fn torch_available(test: &str) -> bool {
    let ok = Command::new(python())
        .args(["-c", "import numpy, torch"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        return true;
    }
    if std::env::var("FPE_SKIP_TORCH").is_ok_and(|v| v == "1") {
        eprintln!("FPE_SKIP_TORCH=1: {test} skipped");
        return false;
    }
    panic!(
        "{} with torch and numpy not found: run scripts/setup.sh (apt install python3-torch \
         python3-numpy), name another interpreter in FPE_TORCH_PYTHON, or set FPE_SKIP_TORCH=1 \
         to skip this test",
        python()
    );
}

const SCRIPT: &str = r#"
import sys
import numpy as np
import torch
from torch import nn

torch.set_num_threads(1)
d = sys.argv[1]
z = np.load(d + "/model.npz")
x = np.load(d + "/x.npy")
stages = bytes(z["backbone_stages"]).decode("utf-8").splitlines()
c, h, w = (int(v) for v in z["backbone_input"])
assert z["backbone_input"].dtype == np.uint64
n_head = len([k for k in z.files if k.startswith("weight_")])
n_bb = len([k for k in z.files if k.startswith("backbone_weight_")])
expected = [f"{p}_{l}" for p in ("weight", "bias", "mask") for l in range(n_head)]
expected += [f"backbone_{p}_{j}" for p in ("weight", "bias", "mask") for j in range(n_bb)]
expected += ["backbone_stages", "backbone_input"]
assert sorted(z.files) == sorted(expected), z.files
x = torch.from_numpy(x).reshape(x.shape[0], c, h, w)


def tensors(prefix, j, shape):
    wt, b, m = z[f"{prefix}weight_{j}"], z[f"{prefix}bias_{j}"], z[f"{prefix}mask_{j}"]
    assert wt.dtype == np.float32 and b.dtype == np.float32 and m.dtype == np.uint8
    assert wt.shape == shape and m.shape == shape and b.shape == (shape[0],), (prefix, j, shape)
    assert np.all(wt[m == 0] == 0), f"{prefix}weight_{j}: non-zero at masked positions"
    assert np.any(m == 0) or prefix == "", "the tests give every backbone layer a sparse mask"
    return wt, b


def load(module, wt, b):
    module.weight = nn.Parameter(torch.from_numpy(np.ascontiguousarray(wt)))
    module.bias = nn.Parameter(torch.from_numpy(b))
    return module


def build(mutant=None):
    """The network as nn.Sequential; `mutant` reads the file wrongly on purpose."""
    mods, j, ch, flat_shape, after_flatten = [], 0, c, None, False
    for s in stages:
        words = s.split()
        if words[0] == "conv":
            out = int(words[1])
            kh, kw = (int(v) for v in words[2].split("x"))
            assert len(words) == 5 and words[3] == "pad", s
            pad = int(words[4])
            wt, b = tensors("backbone_", j, (out, ch, kh, kw))
            if mutant == "kernel":
                wt = wt.transpose(0, 1, 3, 2) if kh == kw else wt[:, :, :, ::-1]
            mods.append(load(nn.Conv2d(ch, out, (kh, kw), padding=pad), wt, b))
            ch, j = out, j + 1
        elif s == "relu":
            mods.append(nn.ReLU())
        elif s == "maxpool2":
            mods.append(nn.MaxPool2d(2))
        elif s == "flatten":
            with torch.no_grad():
                flat_shape = tuple(nn.Sequential(*mods)(x[:1]).shape[1:])
            mods.append(nn.Flatten())
            after_flatten = True
        elif words[0] == "linear":
            out = int(words[1])
            d_in = int(np.prod(flat_shape))
            wt, b = tensors("backbone_", j, (out, z[f"backbone_weight_{j}"].shape[1]))
            if mutant == "flatten" and after_flatten:
                wt = wt.reshape(out, *flat_shape).transpose(0, 2, 3, 1).reshape(out, d_in)
            after_flatten = False
            mods.append(load(nn.Linear(wt.shape[1], out), wt, b))
            j += 1
        else:
            raise ValueError(f"unknown stage {s!r}")
    assert j == n_bb, (j, n_bb)
    for l in range(n_head):
        shape = z[f"weight_{l}"].shape
        wt, b = tensors("", l, shape)
        if mutant == "flatten" and after_flatten:
            wt = wt.reshape(shape[0], *flat_shape).transpose(0, 2, 3, 1).reshape(shape)
        after_flatten = False
        mods.append(load(nn.Linear(shape[1], shape[0]), wt, b))
        if l < n_head - 1:
            mods.append(nn.ReLU())
    return nn.Sequential(*mods)


with torch.no_grad():
    logits = build()(x)
    np.save(d + "/logits.npy", logits.numpy())
    np.save(d + "/pred.npy", logits.argmax(dim=1).numpy().astype(np.int64))
    for mutant in ("kernel", "flatten"):
        np.save(d + f"/mutant_{mutant}.npy", build(mutant)(x).numpy())
print(build())
"#;

fn stages(text: &[&str]) -> Vec<Stage> {
    text.iter().map(|s| s.parse().unwrap()).collect()
}

/// A network with `cfg`'s backbone, every backbone layer given a random mask of density
/// `density` (each row keeps one weight at least), and a head `features → hidden → classes`.
fn network(cfg: &BackboneConfig, hidden: &[usize], classes: usize, density: f64, seed: u64) -> Mlp {
    let mut r = rng(seed);
    let mut bb = cfg.init(&mut r).unwrap();
    for l in 0..bb.layers().len() {
        let (o, i) = bb.layers()[l].weight().dim();
        let keep: Vec<usize> = (0..o).map(|_| r.random_range(0..i)).collect();
        let mask = Array2::from_shape_fn((o, i), |(row, col)| {
            col == keep[row] || r.random_bool(density)
        });
        bb.layer_mut(l).set_mask(mask).unwrap();
    }
    let mut mlp = MlpConfig {
        d_in: bb.out_len(),
        hidden: hidden.to_vec(),
        d_out: classes,
    }
    .init(&mut r)
    .unwrap()
    .with_backbone(bb)
    .unwrap();
    // Weights larger than at initialisation, as after training: the logits then depend on the
    // input more than on the biases, and the samples are predicted as different classes.
    let bb = mlp.backbone_mut().unwrap();
    for l in 0..bb.layers().len() {
        let w = bb.layers()[l].weight().mapv(|v| GAIN * v);
        bb.layer_mut(l).set_weight(w).unwrap();
    }
    for l in 0..mlp.depth() {
        let w = mlp.layers()[l].weight().mapv(|v| GAIN * v);
        mlp.layer_mut(l).set_weight(w).unwrap();
    }
    mlp
}

fn argmax(row: ndarray::ArrayView1<'_, f32>) -> i64 {
    let mut best = 0;
    for (j, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = j;
        }
    }
    best as i64
}

/// `n` images `[C, H, W]` flattened in rows: per channel a random 4×4 grid of levels in
/// [0, 1) blown up to the image (low frequencies survive pooling, so the samples get different
/// features and classes; pixel noise alone averages out in an untrained network), plus noise.
fn images(input: [usize; 3], n: usize, seed: u64) -> Array2<f32> {
    let [c, h, w] = input;
    let mut r = rng(seed);
    let mut x = Array2::zeros((n, c * h * w));
    for mut row in x.rows_mut() {
        let grid: Vec<f32> = (0..c * 16).map(|_| r.random_range(0.0..1.0)).collect();
        for ch in 0..c {
            for i in 0..h {
                for j in 0..w {
                    let level = grid[ch * 16 + (4 * i / h) * 4 + 4 * j / w];
                    row[(ch * h + i) * w + j] = level + r.random_range(-0.2..0.2);
                }
            }
        }
    }
    x
}

/// Exports `mlp`, runs the torch script on `n` random images and compares.
fn check_against_torch(mlp: &Mlp, n: usize, seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let x = images(mlp.backbone().unwrap().config().input, n, seed);
    let logits = mlp.forward(x.view());
    fpe_model::export_npz(mlp, d.join("model.npz")).unwrap();
    ndarray_npy::write_npy(d.join("x.npy"), &x).unwrap();
    std::fs::write(d.join("check.py"), SCRIPT).unwrap();
    let out = Command::new(python())
        .arg(d.join("check.py"))
        .arg(d)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "torch script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |name: &str| -> Array2<f32> { ndarray_npy::read_npy(d.join(name)).unwrap() };
    let torch = read("logits.npy");
    let pred: Array1<i64> = ndarray_npy::read_npy(d.join("pred.npy")).unwrap();
    assert_eq!(torch.dim(), logits.dim());
    let scale = |b: f32| TOL * (1.0 + f64::from(b).abs());
    for ((i, j), &a) in logits.indexed_iter() {
        let b = torch[[i, j]];
        assert!(
            (f64::from(a) - f64::from(b)).abs() <= scale(b),
            "sample {i} logit {j}: rust {a} vs torch {b}\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let ours: Vec<i64> = logits.rows().into_iter().map(argmax).collect();
    assert_eq!(ours, pred.to_vec(), "predicted classes differ");
    let classes: std::collections::BTreeSet<i64> = ours.iter().copied().collect();
    assert!(
        classes.len() > 2,
        "the samples predict only {classes:?}: too weak a check"
    );
    // The wrong readings must be told apart by the same tolerance, by a wide margin.
    for mutant in ["kernel", "flatten"] {
        let m = read(&format!("mutant_{mutant}.npy"));
        let worst = logits
            .iter()
            .zip(&m)
            .map(|(&a, &b)| (f64::from(a) - f64::from(b)).abs() / scale(b))
            .fold(0.0, f64::max);
        assert!(
            worst > 100.0,
            "misreading the file ({mutant}) still matches within {worst}× the tolerance"
        );
        eprintln!("misreading the file ({mutant}): logits off by up to {worst:.0}× the tolerance");
    }
}

fn skip_or_run(test: &str, cfg: &BackboneConfig, hidden: &[usize], density: f64, seed: u64) {
    if !torch_available(test) {
        return;
    }
    let mlp = network(cfg, hidden, 10, density, seed);
    assert_eq!(mlp.d_in(), cfg.input.iter().product::<usize>());
    check_against_torch(&mlp, 50, 7);
}

#[test]
fn torch_sequential_from_npz_matches_rust_on_e11_backbone() {
    // E11's backbone in small: two 3×3 convolutions with padding and pooling, a linear stage.
    let cfg = BackboneConfig {
        input: [1, 28, 28],
        stages: stages(&[
            "conv 4 3x3 pad 1",
            "relu",
            "maxpool2",
            "conv 6 3x3 pad 1",
            "relu",
            "maxpool2",
            "flatten",
            "linear 16",
            "relu",
        ]),
    };
    skip_or_run(
        "torch_sequential_from_npz_matches_rust_on_e11_backbone",
        &cfg,
        &[5],
        0.5,
        29,
    );
}

#[test]
fn torch_sequential_from_npz_matches_rust_with_odd_backbone() {
    // Two input channels, a 5×3 kernel with padding on a non-square image, an odd map pooled
    // (rounds down), a standalone ReLU after the pool, a convolution without padding, a linear
    // stage without ReLU, and a head with two hidden layers.
    let cfg = BackboneConfig {
        input: [2, 14, 11],
        stages: stages(&[
            "conv 3 5x3 pad 1",
            "maxpool2",
            "relu",
            "conv 4 2x3",
            "relu",
            "flatten",
            "linear 12",
        ]),
    };
    skip_or_run(
        "torch_sequential_from_npz_matches_rust_with_odd_backbone",
        &cfg,
        &[16, 12],
        0.6,
        30,
    );
}

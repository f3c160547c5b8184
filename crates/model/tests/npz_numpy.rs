//! `.npz` export read back by numpy: the forward pass recomputed in numpy matches Rust's logits.
//!
//! Needs `python3` with numpy (`scripts/setup.sh` installs it): when either is missing the test
//! fails, unless `FPE_SKIP_NUMPY=1` asks to skip it, which it then says.

mod common;

use std::process::Command;

use common::*;

#[test]
fn numpy_forward_pass_matches_rust_logits() {
    let has_numpy = Command::new("python3")
        .args(["-c", "import numpy"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !has_numpy {
        if std::env::var("FPE_SKIP_NUMPY").is_ok_and(|v| v == "1") {
            eprintln!("FPE_SKIP_NUMPY=1: numpy_forward_pass_matches_rust_logits skipped");
            return;
        }
        panic!(
            "python3 with numpy not found: run scripts/setup.sh (or pip install numpy), or set \
             FPE_SKIP_NUMPY=1 to skip this test"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let mut r = rng(11);
    let mlp = random_masked(&[12, 16, 9, 5], 0.5, &mut r);
    let x = random_x(40, 12, &mut r);
    let logits = mlp.forward(x.view());
    let npz = dir.path().join("model.npz");
    fpe_model::export_npz(&mlp, &npz).unwrap();
    let xs: Vec<String> = x.iter().map(|v| format!("{v:e}")).collect();
    std::fs::write(dir.path().join("x.txt"), xs.join("\n")).unwrap();
    let script = r#"
import sys, numpy as np
d = sys.argv[1]
z = np.load(d + "/model.npz")
x = np.loadtxt(d + "/x.txt", dtype=np.float32).reshape(40, 12)
n = len([k for k in z.files if k.startswith("weight_")])
assert sorted(z.files) == sorted([f"{p}_{l}" for p in ("weight", "bias", "mask") for l in range(n)]), z.files
h = x
for l in range(n):
    w, b, m = z[f"weight_{l}"], z[f"bias_{l}"], z[f"mask_{l}"]
    assert w.dtype == np.float32 and m.dtype == np.uint8 and w.shape == m.shape
    assert np.all(w[m == 0] == 0)
    h = h @ w.T + b
    if l < n - 1:
        h = np.maximum(h, 0)
np.savetxt(d + "/logits.txt", h.reshape(-1))
"#;
    let out = Command::new("python3")
        .args(["-c", script, dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "numpy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let np: Vec<f64> = std::fs::read_to_string(dir.path().join("logits.txt"))
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(np.len(), logits.len());
    for (a, b) in logits.iter().zip(&np) {
        assert!(
            (f64::from(*a) - b).abs() <= 1e-5 * (1.0 + b.abs()),
            "rust {a} vs numpy {b}"
        );
    }
}

//! Speed of the E11 backbone's convolutions (ignored by default; the kernels are crate-private,
//! so a criterion bench cannot reach them until the model integration exposes a step). Run:
//!
//! ```text
//! cargo test --release -p fpe-model conv::tests::speed -- --ignored --nocapture
//! ```
//!
//! Backbone: conv3×3(1→16, pad 1) ReLU maxpool2 → conv3×3(16→32, pad 1) ReLU maxpool2 on 28 × 28
//! inputs, one chunk of 64 samples, forward and backward (no input gradient for the first conv).

use std::time::Instant;

use ndarray::{Array1, Array2};

use super::{
    ConvGeom, ConvKernel, ConvPath, ConvScratch, block_mask, conv2d_backward, conv2d_forward,
    full_mask, geom, maxpool2_backward, maxpool2_forward, random_mask, random_vec, relu_backward,
    rng,
};

const ROWS: usize = 64;

struct Conv {
    g: ConvGeom,
    kern: ConvKernel,
    w: Array2<f32>,
    b: Array1<f32>,
    mask: Array2<bool>,
}

impl Conv {
    fn new(g: ConvGeom, mask: Array2<bool>, path: ConvPath, seed: u64) -> Self {
        let mut r = rng(seed);
        let w = Array2::from_shape_fn((g.out_ch, g.k()), |(o, j)| {
            if mask[[o, j]] {
                random_vec(&mut r, 1)[0] * 0.3
            } else {
                0.0
            }
        });
        let b = Array1::from_vec(random_vec(&mut r, g.out_ch));
        let kern = ConvKernel::new(&g, mask.view(), path);
        Conv {
            g,
            kern,
            w,
            b,
            mask,
        }
    }
}

/// Buffers of one chunk.
struct Bufs {
    x: Vec<f32>,
    y1: Vec<f32>,
    p1: Vec<f32>,
    a1: Vec<u32>,
    y2: Vec<f32>,
    p2: Vec<f32>,
    a2: Vec<u32>,
    dp2: Vec<f32>,
    dy2: Vec<f32>,
    dp1: Vec<f32>,
    dy1: Vec<f32>,
    gw1: Array2<f32>,
    gb1: Array1<f32>,
    gw2: Array2<f32>,
    gb2: Array1<f32>,
}

/// Names of the timed pieces of [`step`].
const PIECES: [&str; 8] = [
    "conv1 fwd",
    "pool1 fwd",
    "conv2 fwd",
    "pool2 fwd",
    "pool2 bwd+relu",
    "conv2 bwd",
    "pool1 bwd+relu",
    "conv1 bwd",
];

/// One forward + backward step of the backbone; seconds of each piece ([`PIECES`]).
fn step(c1: &Conv, c2: &Conv, b: &mut Bufs, s: &mut ConvScratch) -> [f64; 8] {
    let mut t = [Instant::now(); 9];
    conv2d_forward(
        &c1.kern,
        &b.x,
        ROWS,
        c1.w.view(),
        c1.b.view(),
        &mut b.y1,
        true,
        s,
    );
    t[1] = Instant::now();
    maxpool2_forward(16, 28, 28, &b.y1, ROWS, &mut b.p1, &mut b.a1);
    t[2] = Instant::now();
    conv2d_forward(
        &c2.kern,
        &b.p1,
        ROWS,
        c2.w.view(),
        c2.b.view(),
        &mut b.y2,
        true,
        s,
    );
    t[3] = Instant::now();
    maxpool2_forward(32, 14, 14, &b.y2, ROWS, &mut b.p2, &mut b.a2);
    t[4] = Instant::now();
    maxpool2_backward(32, 14, 14, &b.dp2, &b.a2, ROWS, &mut b.dy2);
    relu_backward(&b.y2, &mut b.dy2);
    t[5] = Instant::now();
    let (w2, m2) = (c2.w.view(), c2.mask.view());
    let (gw2, gb2) = (b.gw2.view_mut(), b.gb2.view_mut());
    conv2d_backward(
        &c2.kern,
        &b.p1,
        ROWS,
        w2,
        m2,
        &b.dy2,
        gw2,
        gb2,
        Some(&mut b.dp1),
        s,
    );
    t[6] = Instant::now();
    maxpool2_backward(16, 28, 28, &b.dp1, &b.a1, ROWS, &mut b.dy1);
    relu_backward(&b.y1, &mut b.dy1);
    t[7] = Instant::now();
    let (w1, m1) = (c1.w.view(), c1.mask.view());
    let (gw1, gb1) = (b.gw1.view_mut(), b.gb1.view_mut());
    conv2d_backward(&c1.kern, &b.x, ROWS, w1, m1, &b.dy1, gw1, gb1, None, s);
    t[8] = Instant::now();
    std::array::from_fn(|i| (t[i + 1] - t[i]).as_secs_f64())
}

/// Fastest of `reps` runs of each piece, µs per sample.
fn time(c1: &Conv, c2: &Conv, reps: usize) -> [f64; 8] {
    let mut r = rng(1);
    let (g1, g2) = (c1.g, c2.g);
    let mut b = Bufs {
        x: random_vec(&mut r, ROWS * g1.in_len()),
        y1: vec![0.0; ROWS * g1.out_len()],
        p1: vec![0.0; ROWS * g2.in_len()],
        a1: vec![0; ROWS * g2.in_len()],
        y2: vec![0.0; ROWS * g2.out_len()],
        p2: vec![0.0; ROWS * 32 * 49],
        a2: vec![0; ROWS * 32 * 49],
        dp2: random_vec(&mut r, ROWS * 32 * 49),
        dy2: vec![0.0; ROWS * g2.out_len()],
        dp1: vec![0.0; ROWS * g2.in_len()],
        dy1: vec![0.0; ROWS * g1.out_len()],
        gw1: Array2::zeros((16, 9)),
        gb1: Array1::zeros(16),
        gw2: Array2::zeros((32, 144)),
        gb2: Array1::zeros(32),
    };
    let mut s = ConvScratch::new(&[g1, g2]);
    step(c1, c2, &mut b, &mut s);
    let mut best = [f64::INFINITY; 8];
    for _ in 0..reps {
        for (b, t) in best.iter_mut().zip(step(c1, c2, &mut b, &mut s)) {
            *b = b.min(t);
        }
    }
    best.map(|v| v * 1e6 / ROWS as f64)
}

/// Prints µs per sample for the dense backbone and for the second conv at lower densities, with
/// the FLOP count of the dense convolutions.
#[test]
#[ignore = "speed measurement; run in release with --ignored --nocapture"]
fn e11_backbone_speed() {
    let g1 = geom((1, 16, 28, 28, 3, 3, 1));
    let g2 = geom((16, 32, 14, 14, 3, 3, 1));
    let fma = |g: &ConvGeom| (g.out_ch * g.k() * g.hw_out()) as f64;
    // conv1: forward + weight gradient; conv2: forward, weight and input gradient.
    let flop = 2.0 * (2.0 * fma(&g1) + 3.0 * fma(&g2));
    println!(
        "E11 backbone convs, dense: {:.3} MFLOP per sample (conv1 fwd {:.0} k, conv2 fwd {:.0} k)",
        flop / 1e6,
        2.0 * fma(&g1) / 1e3,
        2.0 * fma(&g2) / 1e3
    );
    gemm_ceiling(&g2);
    let reps = 31;
    let c1 = Conv::new(g1, full_mask(&g1), ConvPath::Dense, 3);
    let report = |name: &str, c2: &Conv| {
        let t = time(&c1, c2, reps);
        let total: f64 = t.iter().sum();
        let conv = t[0] + t[2] + t[5] + t[7];
        println!(
            "{name:<26} step {total:6.1} µs/sample, convs {conv:6.1} ({:.1} GFLOP/s dense-equiv.), conv2 nnz {}",
            flop / conv / 1e3,
            c2.kern.nnz()
        );
        let parts: Vec<String> = PIECES
            .iter()
            .zip(&t)
            .map(|(n, v)| format!("{n} {v:.1}"))
            .collect();
        println!("    {}", parts.join(", "));
    };
    report("dense", &Conv::new(g2, full_mask(&g2), ConvPath::Dense, 4));
    for (density, alpha) in [(0.5, 2), (0.25, 4)] {
        let mut r = rng(5);
        for (mname, mask) in [
            ("random", random_mask(&mut r, &g2, density)),
            ("block", block_mask(&g2, alpha)),
        ] {
            for path in [ConvPath::Dense, ConvPath::Gathered] {
                let c2 = Conv::new(g2, mask.clone(), path, 4);
                report(&format!("conv2 {mname} {density} {path:?}"), &c2);
            }
        }
    }
}

/// GFLOP/s of the dense path's three GEMMs alone at conv2's shapes (no im2col, no col2im):
/// the ceiling the dense path can reach with this crate's GEMM on this CPU.
fn gemm_ceiling(g: &ConvGeom) {
    use crate::gemm::mat_mul;
    let (oc, k, hwo, ld) = (g.out_ch, g.k(), g.hw_out(), g.ld());
    let mut r = rng(2);
    let mut m = |rows: usize, cols: usize| {
        Array2::from_shape_vec((rows, cols), random_vec(&mut r, rows * cols)).expect("shape")
    };
    let (w, cols, dyt, dyp) = (m(oc, k), m(k, ld), m(hwo, oc), m(oc, ld));
    let (mut y, mut gwt, mut dcols) = (m(oc, ld), m(k, oc), m(k, ld));
    let best = |f: &mut dyn FnMut()| {
        let mut b = f64::INFINITY;
        for _ in 0..200 {
            let t = Instant::now();
            f();
            b = b.min(t.elapsed().as_secs_f64());
        }
        b
    };
    let fl = 2.0 * (oc * k * hwo) as f64;
    let fwd = best(&mut || mat_mul(w.view(), cols.view(), y.view_mut()));
    let cv = cols.slice(ndarray::s![.., ..hwo]);
    let gwg = best(&mut || mat_mul(cv, dyt.view(), gwt.view_mut()));
    let dxg = best(&mut || mat_mul(w.t(), dyp.view(), dcols.view_mut()));
    println!(
        "GEMM alone at conv2's shapes, one sample: forward {:.1} µs ({:.1} GFLOP/s), weight \
         gradient {:.1} µs ({:.1}), input gradient {:.1} µs ({:.1})",
        fwd * 1e6,
        fl / fwd / 1e9,
        gwg * 1e6,
        fl / gwg / 1e9,
        dxg * 1e6,
        fl / dxg / 1e9
    );
}

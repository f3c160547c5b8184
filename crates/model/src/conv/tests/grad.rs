//! Finite-difference checks: the f32 kernels' `gw`, `gb` and `dx` against central differences
//! of the independent f64 forward, for several geometries, both paths, masked and not.

use super::{ConvPath, Layer, Net, Pool, full_mask, geom, random_mask, random_vec, rng};

/// `|analytic − numeric| ≤ 1e-3 · max(|numeric|, 5 % of the largest |numeric|)` for every pair.
fn assert_close(label: &str, what: &str, pairs: &[(f32, f64)]) {
    let scale = pairs.iter().map(|p| p.1.abs()).fold(0.0, f64::max);
    assert!(
        scale > 1e-3,
        "{label} {what}: gradient vanishes, the check proves nothing"
    );
    for (i, &(a, n)) in pairs.iter().enumerate() {
        let tol = 1e-3 * n.abs().max(0.05 * scale);
        let err = (f64::from(a) - n).abs();
        assert!(
            err <= tol,
            "{label} {what}[{i}]: analytic {a}, finite difference {n} (error {err:.3e} > {tol:.3e})"
        );
    }
}

/// Central difference of `f` at `v[i]`.
fn central(v: &mut [f64], i: usize, f: &mut impl FnMut(&[f64]) -> f64) -> f64 {
    const EPS: f64 = 1e-6;
    let old = v[i];
    v[i] = old + EPS;
    let up = f(v);
    v[i] = old - EPS;
    let down = f(v);
    v[i] = old;
    (up - down) / (2.0 * EPS)
}

/// Runs `net` forward and backward in f32 and checks every active weight, every bias and every
/// input against finite differences; inactive weights' gradients must be exactly 0.
fn check(label: &str, net: &Net, rows: usize, seed: u64) {
    let mut r = rng(seed);
    let first = &net.layers[0].g;
    let x = random_vec(&mut r, rows * first.in_len());
    let mut s = net.scratch();
    let t = net.forward(&x, rows, &mut s);
    let out = t.acts.last().expect("output");
    let coef = random_vec(&mut r, out.len());
    let dout: Vec<f32> = out.iter().zip(&coef).map(|(o, c)| o + c).collect();
    let (grads, dx) = net.backward(&t, rows, &dout, &mut s);

    let coef64: Vec<f64> = coef.iter().map(|&v| f64::from(v)).collect();
    let mut x64: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    let params = net.params_f64();
    for li in 0..net.layers.len() {
        let l = &net.layers[li];
        let gr = &grads[li];
        let mut pairs = Vec::new();
        for (j, (&on, &a)) in l.mask.iter().zip(&gr.gw).enumerate() {
            if !on {
                assert_eq!(a.to_bits(), 0, "{label} layer {li}: inactive gw[{j}] = {a}");
                continue;
            }
            let mut w = params[li].0.clone();
            let n = central(&mut w, j, &mut |w| {
                let mut p = params.clone();
                p[li].0 = w.to_vec();
                net.loss_f64(&p, &x64, rows, &coef64)
            });
            pairs.push((a, n));
        }
        assert_close(label, &format!("layer {li} gw"), &pairs);
        let mut pairs = Vec::new();
        for (o, &a) in gr.gb.iter().enumerate() {
            let mut b = params[li].1.clone();
            let n = central(&mut b, o, &mut |b| {
                let mut p = params.clone();
                p[li].1 = b.to_vec();
                net.loss_f64(&p, &x64, rows, &coef64)
            });
            pairs.push((a, n));
        }
        assert_close(label, &format!("layer {li} gb"), &pairs);
    }
    let mut pairs = Vec::new();
    for (i, &a) in dx.iter().enumerate() {
        let n = central(&mut x64, i, &mut |x| {
            net.loss_f64(&params, x, rows, &coef64)
        });
        pairs.push((a, n));
    }
    assert_close(label, "dx", &pairs);
}

/// One conv layer (+ ReLU + pooling) per geometry, each with the dense path on a full mask and
/// both paths on a random 40 % mask.
#[test]
fn single_layer_gradients_match_finite_differences() {
    // (in_ch, out_ch, h, w, kh, kw, pad), ReLU, pooling
    let cases = [
        ((1, 3, 6, 6, 3, 3, 1), true, Pool::Max),
        ((3, 4, 7, 5, 3, 3, 1), true, Pool::Max),
        ((3, 2, 9, 8, 5, 5, 0), true, Pool::Avg),
        ((2, 3, 5, 4, 2, 2, 1), true, Pool::Max),
        ((2, 2, 6, 5, 3, 1, 2), false, Pool::None),
        ((1, 2, 3, 3, 5, 5, 2), true, Pool::None),
        // Eight or more channels and pixels: the transposes' whole 8 × 8 blocks.
        ((2, 9, 5, 6, 3, 3, 1), true, Pool::Max),
    ];
    for (ci, &(f, relu, pool)) in cases.iter().enumerate() {
        let g = geom(f);
        let variants = [
            ("dense full", ConvPath::Dense, None),
            ("dense masked", ConvPath::Dense, Some(0.4)),
            ("gathered masked", ConvPath::Gathered, Some(0.4)),
        ];
        for (vi, &(name, path, p)) in variants.iter().enumerate() {
            let mut r = rng(100 + ci as u64);
            let mask = match p {
                None => full_mask(&g),
                Some(p) => random_mask(&mut r, &g, p),
            };
            let net = Net {
                layers: vec![Layer::new(&mut r, g, mask, path, relu, pool)],
            };
            let label = format!("case {ci} {f:?} {name}");
            check(&label, &net, 3, 1000 + 10 * ci as u64 + vi as u64);
        }
    }
}

/// A two-conv backbone shaped like E11's (conv ReLU maxpool, twice), so the second layer's
/// input gradient feeds the first layer's weight gradient; dense, gathered and mixed.
#[test]
fn backbone_gradients_match_finite_differences() {
    let g1 = geom((1, 4, 8, 8, 3, 3, 1));
    let g2 = geom((4, 6, 4, 4, 3, 3, 1));
    let variants = [
        (ConvPath::Dense, ConvPath::Dense, 1.0f64),
        (ConvPath::Dense, ConvPath::Gathered, 0.3),
        (ConvPath::Gathered, ConvPath::Gathered, 0.5),
    ];
    for (vi, &(p1, p2, density)) in variants.iter().enumerate() {
        let mut r = rng(7 + vi as u64);
        let m1 = random_mask(&mut r, &g1, density.max(0.6));
        let m2 = random_mask(&mut r, &g2, density);
        let l1 = Layer::new(&mut r, g1, m1, p1, true, Pool::Max);
        let l2 = Layer::new(&mut r, g2, m2, p2, true, Pool::Max);
        let net = Net {
            layers: vec![l1, l2],
        };
        check(&format!("backbone {p1:?}/{p2:?}"), &net, 2, 50 + vi as u64);
    }
}

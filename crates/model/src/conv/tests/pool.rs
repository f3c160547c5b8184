//! Pooling and ReLU's derivative: against the f64 reference, PyTorch's tie and NaN rules, odd
//! sizes.

use super::naive;
use super::{
    avgpool2_backward, avgpool2_forward, maxpool2_backward, maxpool2_forward, random_vec,
    relu_backward, rng,
};

/// Random inputs of odd and even sizes: outputs equal the reference, `argmax` points at an
/// input holding the maximum, and the backward pass puts each `dy` exactly there.
#[test]
fn pooling_matches_reference_on_odd_and_even_sizes() {
    for (i, &(c, h, w)) in [(3, 7, 5), (2, 4, 6), (1, 5, 3), (2, 1, 4)]
        .iter()
        .enumerate()
    {
        let rows = 3;
        let mut r = rng(70 + i as u64);
        let x = random_vec(&mut r, rows * c * h * w);
        let (ho, wo) = (h / 2, w / 2);
        let n = rows * c * ho * wo;
        let x64: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
        for max in [true, false] {
            let mut y = vec![f32::NAN; n];
            let mut am = vec![u32::MAX; n];
            if max {
                maxpool2_forward(c, h, w, &x, rows, &mut y, &mut am);
            } else {
                avgpool2_forward(c, h, w, &x, rows, &mut y);
            }
            let want = naive::pool(c, h, w, &x64, rows, max);
            for (a, e) in y.iter().zip(&want) {
                assert!(
                    (f64::from(*a) - e).abs() < 1e-6,
                    "{c}×{h}×{w} max={max}: {a} vs {e}"
                );
            }
            let dy = random_vec(&mut r, n);
            let mut dx = vec![f32::NAN; x.len()];
            if max {
                maxpool2_backward(c, h, w, &dy, &am, rows, &mut dx);
            } else {
                avgpool2_backward(c, h, w, &dy, rows, &mut dx);
            }
            // Adjoint check: Σ dy·(pool x) is linear in x around x for max (fixed argmax)
            // and exactly linear for avg, so Σ dx·x = Σ dy·y.
            let lhs: f64 = dx
                .iter()
                .zip(&x)
                .map(|(&a, &b)| f64::from(a) * f64::from(b))
                .sum();
            let rhs: f64 = dy
                .iter()
                .zip(&y)
                .map(|(&a, &b)| f64::from(a) * f64::from(b))
                .sum();
            assert!(
                (lhs - rhs).abs() < 1e-5,
                "{c}×{h}×{w} max={max}: {lhs} vs {rhs}"
            );
            // Dropped last row / column of odd sizes get no gradient.
            for s in 0..rows * c {
                let plane = &dx[s * h * w..(s + 1) * h * w];
                if h % 2 == 1 {
                    assert!(plane[(h - 1) * w..].iter().all(|&v| v == 0.0));
                }
                if w % 2 == 1 {
                    assert!((0..h).all(|yy| plane[yy * w + w - 1] == 0.0));
                }
            }
            if max {
                for (k, &at) in am.iter().enumerate() {
                    let s = k / (c * ho * wo);
                    assert_eq!(x[s * c * h * w + at as usize], y[k]);
                    assert_eq!(dx[s * c * h * w + at as usize], dy[k]);
                }
            }
        }
    }
}

/// Ties go to the first maximum in row-major window order; a NaN wins (the last NaN); argmax
/// offsets count from the start of the sample, across channels.
#[test]
fn maxpool_ties_and_nan_follow_pytorch() {
    // Two samples, two channels of 3 × 4 (the last row is dropped).
    #[rustfmt::skip]
    let x = [
        // sample 0, channel 0: window (0, 0) all equal; window (0, 1) max at bottom-left and
        // bottom-right (tie → bottom-left).
        1.0, 1.0, 0.0, -1.0,
        1.0, 1.0, 2.0,  2.0,
        9.0, 9.0, 9.0,  9.0,
        // sample 0, channel 1: window (0, 0) has NaNs at top-right and bottom-left (→ the
        // later one, bottom-left); window (0, 1): -0.0 then 0.0 (equal: first).
        0.0, f32::NAN, -0.0, 0.0,
        f32::NAN, 5.0, -1.0, -1.0,
        0.0, 0.0, 0.0, 0.0,
        // sample 1, channel 0: plain maxima.
        0.0, 3.0, 4.0, 1.0,
        2.0, 1.0, 0.0, 0.0,
        0.0, 0.0, 0.0, 0.0,
        // sample 1, channel 1: all negative, max last.
        -4.0, -3.0, -2.0, -5.0,
        -2.0, -1.0, -9.0, -9.0,
        0.0, 0.0, 0.0, 0.0,
    ];
    let mut y = [0.0f32; 8];
    let mut am = [0u32; 8];
    maxpool2_forward(2, 3, 4, &x, 2, &mut y, &mut am);
    assert_eq!(am, [0, 6, 16, 14, 1, 2, 17, 14]);
    assert_eq!(y[0], 1.0);
    assert_eq!(y[1], 2.0);
    assert!(y[2].is_nan());
    assert_eq!(y[3].to_bits(), (-0.0f32).to_bits());
    assert_eq!(&y[4..], &[3.0, 4.0, -1.0, -2.0]);
    let dy = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
    let mut dx = [f32::NAN; 48];
    maxpool2_backward(2, 3, 4, &dy, &am, 2, &mut dx);
    let hot: Vec<(usize, f32)> = dx
        .iter()
        .enumerate()
        .filter(|(_, v)| **v != 0.0)
        .map(|(i, &v)| (i, v))
        .collect();
    assert_eq!(
        hot,
        [
            (0, 1.0),
            (6, 2.0),
            (14, 4.0),
            (16, 3.0),
            (25, 5.0),
            (26, 6.0),
            (38, 8.0),
            (41, 7.0)
        ]
    );
}

/// ReLU's derivative zeroes the gradient where the output is ≤ 0, keeps it elsewhere and where
/// the output is NaN.
#[test]
fn relu_backward_zeroes_where_output_is_not_positive() {
    let y = [0.0, 1.0, -0.0, 2.5, f32::NAN, 1e-30];
    let mut dy = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    relu_backward(&y, &mut dy);
    assert_eq!(dy, [0.0, 2.0, 0.0, 4.0, 5.0, 6.0]);
}

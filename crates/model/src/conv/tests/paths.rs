//! The forward pass against the f64 reference, the dense and gathered paths against each other
//! on masked layers, determinism, SIMD copies, and geometry validation.

use ndarray::{Array1, Array2};

use super::naive;
use super::{
    ConvGeom, ConvKernel, ConvPath, ConvScratch, block_mask, conv2d_backward, conv2d_forward,
    full_mask, geom, random_mask, random_vec, rng,
};
use crate::conv::simd;

/// Everything one call pair computes.
struct Out {
    y: Vec<f32>,
    gw: Array2<f32>,
    gb: Array1<f32>,
    dx: Vec<f32>,
}

/// Forward (with ReLU) and backward of one layer with random `dy`.
fn run(g: &ConvGeom, mask: &Array2<bool>, path: ConvPath, rows: usize, seed: u64) -> Out {
    let mut r = rng(seed);
    let w = Array2::from_shape_fn((g.out_ch, g.k()), |(o, j)| {
        let v = random_vec(&mut r, 1)[0] * 0.5;
        if mask[[o, j]] { v } else { 0.0 }
    });
    let b = Array1::from_vec(random_vec(&mut r, g.out_ch));
    let x = random_vec(&mut r, rows * g.in_len());
    let dy = random_vec(&mut r, rows * g.out_len());
    let kern = ConvKernel::new(g, mask.view(), path);
    assert_eq!(kern.is_gathered(), path == ConvPath::Gathered);
    let mut s = ConvScratch::new(&[*g]);
    // Stale values in the scratch must not matter (the gathered path leaves unused rows).
    let mut stale = ConvScratch::new(&[*g]);
    let mut junk = vec![0.0; rows * g.out_len()];
    let full = ConvKernel::new(g, full_mask(g).view(), ConvPath::Dense);
    conv2d_forward(
        &full,
        &x,
        rows,
        w.view(),
        b.view(),
        &mut junk,
        false,
        &mut stale,
    );
    std::mem::swap(&mut s, &mut stale);
    let mut y = vec![f32::NAN; rows * g.out_len()];
    conv2d_forward(&kern, &x, rows, w.view(), b.view(), &mut y, true, &mut s);
    let mut gw = Array2::from_elem(w.dim(), f32::NAN);
    let mut gb = Array1::from_elem(g.out_ch, f32::NAN);
    let mut dx = vec![f32::NAN; x.len()];
    let (wv, mv) = (w.view(), mask.view());
    let (gwv, gbv) = (gw.view_mut(), gb.view_mut());
    conv2d_backward(
        &kern,
        &x,
        rows,
        wv,
        mv,
        &dy,
        gwv,
        gbv,
        Some(&mut dx),
        &mut s,
    );
    // Forward against the direct f64 reference.
    let f64s = |v: &[f32]| v.iter().map(|&a| f64::from(a)).collect::<Vec<_>>();
    let w64 = f64s(w.as_slice().expect("standard layout"));
    let mut want = naive::conv(g, &f64s(&x), rows, &w64, &f64s(b.as_slice().expect("std")));
    naive::relu(&mut want);
    for (i, (&a, &e)) in y.iter().zip(&want).enumerate() {
        let err = (f64::from(a) - e).abs();
        assert!(
            err <= 1e-5 * e.abs().max(1.0),
            "{path:?} y[{i}] = {a}, reference {e}"
        );
    }
    Out { y, gw, gb, dx }
}

/// Element-wise agreement to `1e-5 · max(1, |a|)`.
fn assert_near(what: &str, a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        let tol = 1e-5 * x.abs().max(1.0);
        assert!((x - y).abs() <= tol, "{what}[{i}]: {x} vs {y}");
    }
}

fn assert_paths_agree(label: &str, g: &ConvGeom, mask: &Array2<bool>, rows: usize, seed: u64) {
    let d = run(g, mask, ConvPath::Dense, rows, seed);
    let q = run(g, mask, ConvPath::Gathered, rows, seed);
    assert_near(&format!("{label} y"), &d.y, &q.y);
    let gws = |a: &Array2<f32>| a.iter().copied().collect::<Vec<_>>();
    assert_near(&format!("{label} gw"), &gws(&d.gw), &gws(&q.gw));
    assert_near(
        &format!("{label} gb"),
        d.gb.as_slice().unwrap(),
        q.gb.as_slice().unwrap(),
    );
    assert_near(&format!("{label} dx"), &d.dx, &q.dx);
    for ((&on, &a), &b) in mask.iter().zip(&d.gw).zip(&q.gw) {
        if !on {
            assert!(
                a.to_bits() == 0 && b.to_bits() == 0,
                "{label}: inactive gw {a}, {b}"
            );
        }
    }
    assert!(d.gw.iter().any(|&v| v != 0.0), "{label}: gw all zero");
}

/// Both paths, on a random 25 % mask and on channel-block masks (whole input channels per
/// output, as channel expansion's contiguous strategy makes), agree with each other to 1e-5 and
/// with the f64 reference; inactive weights get exactly 0.
#[test]
fn dense_and_gathered_paths_agree_on_masked_layers() {
    let shapes = [
        (16, 32, 14, 14, 3, 3, 1),
        (3, 8, 7, 5, 3, 3, 1),
        (4, 6, 9, 8, 5, 5, 0),
        (6, 5, 5, 4, 2, 2, 1),
    ];
    for (i, &f) in shapes.iter().enumerate() {
        let g = geom(f);
        let mut r = rng(300 + i as u64);
        let m = random_mask(&mut r, &g, 0.25);
        assert_paths_agree(&format!("{f:?} random 25 %"), &g, &m, 5, 20 + i as u64);
        for alpha in [2, 4] {
            let m = block_mask(&g, alpha);
            assert_paths_agree(&format!("{f:?} block α={alpha}"), &g, &m, 3, 40 + i as u64);
        }
    }
}

/// An input channel that no active weight reads is skipped by the gathered path (its input
/// gradient is exactly 0) and the index lists report it.
#[test]
fn unread_input_channels_are_skipped() {
    let g = geom((4, 3, 6, 6, 3, 3, 1));
    let mut mask = block_mask(&g, 4);
    // Outputs read channels 0, 1, 2: channel 3 is never read.
    assert!(mask.slice(ndarray::s![.., 27..]).iter().all(|&on| !on));
    mask[[0, 0]] = false;
    let kern = ConvKernel::new(&g, mask.view(), ConvPath::Auto);
    assert!(kern.is_gathered(), "density 1/4 picks the gathered path");
    assert_eq!(kern.used_in_channels(), 3);
    assert_eq!(kern.nnz(), 3 * 9 - 1);
    let q = run(&g, &mask, ConvPath::Gathered, 2, 5);
    let d = run(&g, &mask, ConvPath::Dense, 2, 5);
    for s in 0..2 {
        let plane = &q.dx[s * g.in_len() + 3 * 36..(s + 1) * g.in_len()];
        assert!(plane.iter().all(|&v| v.to_bits() == 0));
    }
    assert_near("dx", &d.dx, &q.dx);
    let full = ConvKernel::new(&g, full_mask(&g).view(), ConvPath::Auto);
    assert!(!full.is_gathered());
    assert!(full.matches(full_mask(&g).view()) && !full.matches(mask.view()));
}

/// Same inputs, same bits: twice in a row, and the gathered path's portable and AVX2 copies.
#[test]
fn both_paths_are_deterministic_and_simd_copies_agree() {
    let g = geom((8, 12, 9, 7, 3, 3, 1));
    let mask = random_mask(&mut rng(9), &g, 0.3);
    let bits = |o: &Out| {
        let mut v: Vec<u32> = o.y.iter().map(|a| a.to_bits()).collect();
        v.extend(o.gw.iter().map(|a| a.to_bits()));
        v.extend(o.gb.iter().map(|a| a.to_bits()));
        v.extend(o.dx.iter().map(|a| a.to_bits()));
        v
    };
    for path in [ConvPath::Dense, ConvPath::Gathered] {
        let a = bits(&run(&g, &mask, path, 4, 11));
        let b = bits(&run(&g, &mask, path, 4, 11));
        assert!(a == b, "{path:?}: two runs differ");
    }
    // The gathered loops and the dense path's transpose have portable and AVX2 copies (12
    // channels and 63 pixels: whole 8 × 8 blocks and ragged edges).
    for path in [ConvPath::Dense, ConvPath::Gathered] {
        let wide = bits(&run(&g, &mask, path, 4, 12));
        let base = simd::with_baseline(|| bits(&run(&g, &mask, path, 4, 12)));
        assert!(wide == base, "{path:?}: portable and AVX2 copies differ");
    }
}

/// A chunk of 0 samples gives zero gradients; the first layer can skip `dx`.
#[test]
fn empty_chunk_and_skipped_input_gradient() {
    let g = geom((2, 3, 5, 5, 3, 3, 1));
    for path in [ConvPath::Dense, ConvPath::Gathered] {
        let kern = ConvKernel::new(&g, full_mask(&g).view(), path);
        let mut s = ConvScratch::new(&[g]);
        let w = Array2::from_elem((3, 18), 0.5f32);
        let mut gw = Array2::from_elem((3, 18), f32::NAN);
        let mut gb = Array1::from_elem(3, f32::NAN);
        let m = full_mask(&g);
        let (wv, mv) = (w.view(), m.view());
        conv2d_backward(
            &kern,
            &[],
            0,
            wv,
            mv,
            &[],
            gw.view_mut(),
            gb.view_mut(),
            None,
            &mut s,
        );
        assert!(gw.iter().chain(&gb).all(|&v| v == 0.0));
        let x = vec![1.0; 2 * g.in_len()];
        let dy = vec![1.0; 2 * g.out_len()];
        conv2d_backward(
            &kern,
            &x,
            2,
            wv,
            mv,
            &dy,
            gw.view_mut(),
            gb.view_mut(),
            None,
            &mut s,
        );
        // Bias gradient: 2 samples × 25 pixels; the centre weight sees every pixel.
        assert!(gb.iter().all(|&v| v == 50.0));
        assert_eq!(gw[[0, 4]], 50.0);
    }
}

/// `validate` names what is wrong.
#[test]
fn invalid_geometries_are_refused_with_a_reason() {
    let ok = ConvGeom {
        in_ch: 1,
        out_ch: 2,
        h: 4,
        w: 4,
        kh: 3,
        kw: 3,
        pad: 0,
    };
    ok.validate().expect("valid");
    assert_eq!(
        (ok.h_out(), ok.w_out(), ok.k(), ok.in_len(), ok.out_len()),
        (2, 2, 9, 16, 8)
    );
    let big = ConvGeom { kh: 7, ..ok };
    let msg = big.validate().expect_err("kernel too large").to_string();
    assert!(msg.contains("larger than the padded input"), "{msg}");
    ConvGeom {
        kh: 7,
        pad: 2,
        ..ok
    }
    .validate()
    .expect("7 ≤ 4 + 2·2");
    let zero = ConvGeom { in_ch: 0, ..ok };
    let msg = zero.validate().expect_err("zero channels").to_string();
    assert!(msg.contains("in_ch must be at least 1"), "{msg}");
    let msg = ConvGeom { w: 0, ..ok }
        .validate()
        .expect_err("zero width")
        .to_string();
    assert!(msg.contains("w must be at least 1"), "{msg}");
}

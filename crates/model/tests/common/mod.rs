//! Shared fixtures: random masked networks and data.
#![allow(dead_code, unreachable_pub)]

use fpe_model::{Layer, Mlp, MlpConfig};
use ndarray::{Array1, Array2};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;

pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// A network with the given widths whose masks keep each weight with probability `density`
/// (at least one active weight per row).
pub fn random_masked(widths: &[usize], density: f64, rng: &mut ChaCha8Rng) -> Mlp {
    let cfg = MlpConfig {
        d_in: widths[0],
        hidden: widths[1..widths.len() - 1].to_vec(),
        d_out: widths[widths.len() - 1],
    };
    let dense = cfg.init(rng).unwrap();
    let layers = dense
        .layers()
        .iter()
        .map(|l| {
            let mut mask =
                Array2::from_shape_simple_fn(l.weight().dim(), || rng.random_bool(density));
            for mut row in mask.rows_mut() {
                let j = rng.random_range(0..row.len());
                row[j] = true;
            }
            Layer::new(l.weight().to_owned(), l.bias().to_owned(), mask).unwrap()
        })
        .collect();
    Mlp::from_layers(layers).unwrap()
}

pub fn random_x(n: usize, d: usize, rng: &mut ChaCha8Rng) -> Array2<f32> {
    Array2::from_shape_simple_fn((n, d), || rng.random_range(-1.0f32..1.0))
}

pub fn random_classes(n: usize, c: usize, rng: &mut ChaCha8Rng) -> Array1<u32> {
    Array1::from_shape_simple_fn(n, || rng.random_range(0..c as u32))
}

pub fn random_bits(n: usize, c: usize, rng: &mut ChaCha8Rng) -> Array2<f32> {
    Array2::from_shape_simple_fn((n, c), || f32::from(u8::from(rng.random_bool(0.5))))
}

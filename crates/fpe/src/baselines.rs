//! Baselines that change the architecture instead of expanding a trained model (SPEC §5).
//!
//! - `wide_dense`: width αh, dense, more parameters: the upper reference.
//! - `wide_sparse_scratch` [choice]: width αh from initialisation with a random balanced mask at
//!   the dense narrow model's nnz, no warm-up — the "wider at equal parameters" baseline of
//!   Golubeva et al. (ICLR 2021). Layer `l` keeps as many active weights as the narrow dense
//!   layer `l` has, spread over its rows as evenly as possible (row counts differ by at most one),
//!   at uniformly random positions.

use fpe_model::{Layer, Mlp, MlpConfig};
use ndarray::Array2;
use rand::RngCore;
use rand::seq::index::sample;

use crate::error::{Error, Result};

fn widened(cfg: &MlpConfig, alpha: usize) -> Result<MlpConfig> {
    if alpha < 1 {
        return Err(Error::config("alpha", alpha, "must be at least 1"));
    }
    Ok(MlpConfig {
        hidden: cfg.hidden.iter().map(|h| h * alpha).collect(),
        ..cfg.clone()
    })
}

/// A dense network whose hidden widths are α times `cfg`'s.
///
/// # Errors
/// [`Error::Config`] for α = 0; as [`MlpConfig::init`].
pub fn wide_dense(cfg: &MlpConfig, alpha: usize, rng: &mut dyn RngCore) -> Result<Mlp> {
    Ok(widened(cfg, alpha)?.init(rng)?)
}

/// A width-αh network with a random balanced mask at the nnz of `cfg`'s dense network.
///
/// # Errors
/// As [`wide_dense`].
pub fn wide_sparse_scratch(cfg: &MlpConfig, alpha: usize, rng: &mut dyn RngCore) -> Result<Mlp> {
    cfg.validate()?;
    let mut widths = vec![cfg.d_in];
    widths.extend(&cfg.hidden);
    widths.push(cfg.d_out);
    let budgets: Vec<usize> = widths.windows(2).map(|w| w[0] * w[1]).collect();
    let wide = widened(cfg, alpha)?.init(rng)?;
    let layers = wide
        .layers()
        .iter()
        .zip(budgets)
        .map(|(l, nnz)| {
            let mask = balanced_sparse_mask(l.d_out(), l.d_in(), nnz, rng);
            Layer::new(l.weight().to_owned(), l.bias().to_owned(), mask)
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(Mlp::from_layers(layers)?)
}

/// A `[rows, cols]` mask with exactly `nnz` active entries, row counts differing by at most one
/// (the first `nnz mod rows` rows get the extra one), positions uniform within each row.
///
/// # Panics
/// If `nnz > rows · cols`.
pub fn balanced_sparse_mask(
    rows: usize,
    cols: usize,
    nnz: usize,
    rng: &mut dyn RngCore,
) -> Array2<bool> {
    assert!(
        nnz <= rows * cols,
        "balanced_sparse_mask: {nnz} > {rows}×{cols}"
    );
    let mut mask = Array2::from_elem((rows, cols), false);
    for r in 0..rows {
        let k = nnz / rows + usize::from(r < nnz % rows);
        for c in sample(rng, cols, k) {
            mask[[r, c]] = true;
        }
    }
    mask
}

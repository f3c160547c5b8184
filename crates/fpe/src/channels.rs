//! Channel expansion (beyond the paper): FPE on a convolution's output channels.
//!
//! An output channel of a convolution is a neuron whose incoming weights are its
//! `in_ch·kh·kw` kernel entries (row `c` of the layer matrix `[out_ch, in_ch·kh·kw]`), and
//! whose outgoing weights are a *group* of the consumer's columns: the `kh'·kw'` entries of the
//! next convolution that read channel `c`, or the `H·W` columns of the linear stage (or head
//! layer) that reads channel `c`'s flattened map. Both are `g` contiguous columns
//! `c·g .. (c+1)·g` with `g = consumer inputs / out_ch`. The MLP case is `g = 1`.
//!
//! The expansion is exactly [`crate::expand`] applied to a two-layer view: the producer as it
//! is, and the consumer with its column groups laid out as rows (`[out·g, out_ch]`, row
//! `o·g + j`, column `c` = consumer weight `[o, c·g + j]`), so every strategy, bias and
//! outgoing policy and the budget pruning behave exactly as for a hidden layer: child `k` of
//! channel `c` is channel `c·α + k`, its kernel entries are a disjoint part of the parent's
//! (`contiguous` gives whole input channels per child when `in_ch` is divisible by α), it copies
//! the parent's column group, and the two layers are pruned back to their non-zero count before
//! expansion. The stages after the producer (ReLU, pooling) act per channel and follow the new
//! width; the stage list records it.

use fpe_model::{Backbone, BackboneConfig, Layer, Mlp, Stage};
use ndarray::{Array1, Array2};

use crate::apply::{ExpansionReport, expand};
use crate::config::{ExpansionConfig, OptimizerStatePolicy, StrategyKind};
use crate::error::{Error, Result};

/// The network with backbone layer `layer`'s output channels (or a linear stage's outputs)
/// expanded by `cfg.alpha`, at the same number of non-zero weights, and the report.
///
/// `cfg.layers` is ignored (the layer is `layer`); the optimiser state is not carried.
///
/// # Errors
/// [`Error::Config`] for a network without a backbone, a layer out of range, a `clause`
/// strategy (clauses name inputs of the network, not of a convolution) or `carry`; otherwise
/// as [`crate::expand`] (e.g. a channel with fewer than α active kernel entries).
pub fn expand_channels(
    mlp: &Mlp,
    layer: usize,
    cfg: &ExpansionConfig,
    rng: &mut dyn rand::RngCore,
) -> Result<(Mlp, ExpansionReport)> {
    let Some(bb) = mlp.backbone() else {
        return Err(Error::config(
            "layer",
            layer,
            "channel expansion needs a network with a backbone",
        ));
    };
    let n = bb.layers().len();
    if layer >= n {
        return Err(Error::config(
            "layer",
            layer,
            format!("the backbone has {n} convolution or linear layer(s)"),
        ));
    }
    if matches!(
        cfg.strategy,
        StrategyKind::Clause | StrategyKind::ClauseByWeight
    ) {
        return Err(Error::config(
            "strategy",
            cfg.strategy.name(),
            "clause strategies name inputs of the network, not of a convolution",
        ));
    }
    if cfg.optimizer_state == OptimizerStatePolicy::Carry {
        return Err(Error::config(
            "optimizer_state",
            "carry",
            "channel expansion starts a fresh optimiser state",
        ));
    }
    let producer = &bb.layers()[layer];
    let consumer = bb.layers().get(layer + 1).unwrap_or(&mlp.layers()[0]);
    let channels = producer.d_out();
    let group = consumer.d_in() / channels;
    let view = Mlp::from_layers(vec![producer.clone(), groups_as_rows(consumer, group)?])?;
    let ecfg = ExpansionConfig {
        layers: vec![0],
        ..cfg.clone()
    };
    let out = expand(&view, &ecfg, None, None, rng)?;
    let new_producer = out.mlp.layers()[0].clone();
    let new_consumer = rows_as_groups(&out.mlp.layers()[1], consumer, group)?;

    let mut bb_layers = bb.layers().to_vec();
    let mut head = mlp.layers().to_vec();
    bb_layers[layer] = new_producer;
    if layer + 1 < n {
        bb_layers[layer + 1] = new_consumer;
    } else {
        head[0] = new_consumer;
    }
    let config = widened_config(bb.config(), layer, cfg.alpha);
    let new = Mlp::from_layers(head)?.with_backbone(Backbone::new(config, bb_layers)?)?;
    let report = ExpansionReport {
        widths_before: vec![channels],
        widths_after: vec![channels * cfg.alpha],
        ..out.report
    };
    Ok((new, report))
}

/// The consumer `[out, ch·g]` as a layer `[out·g, ch]` whose column `c` holds channel `c`'s
/// group (bias zero: the view's bias is never used).
fn groups_as_rows(consumer: &Layer, g: usize) -> Result<Layer> {
    let (out, cols) = consumer.weight().dim();
    let ch = cols / g;
    let (w, m) = (consumer.weight(), consumer.mask());
    Ok(Layer::new(
        Array2::from_shape_fn((out * g, ch), |(r, c)| w[[r / g, c * g + r % g]]),
        Array1::zeros(out * g),
        Array2::from_shape_fn((out * g, ch), |(r, c)| m[[r / g, c * g + r % g]]),
    )?)
}

/// Inverse of [`groups_as_rows`] for the expanded view `[out·g, ch']`, with `original`'s bias.
fn rows_as_groups(view: &Layer, original: &Layer, g: usize) -> Result<Layer> {
    let (rows, ch) = view.weight().dim();
    let out = rows / g;
    let (w, m) = (view.weight(), view.mask());
    Ok(Layer::new(
        Array2::from_shape_fn((out, ch * g), |(o, col)| w[[o * g + col % g, col / g]]),
        original.bias().to_owned(),
        Array2::from_shape_fn((out, ch * g), |(o, col)| m[[o * g + col % g, col / g]]),
    )?)
}

/// `config` with the `layer`-th convolution or linear stage `alpha` times wider.
fn widened_config(config: &BackboneConfig, layer: usize, alpha: usize) -> BackboneConfig {
    let mut config = config.clone();
    let stage = config
        .stages
        .iter_mut()
        .filter(|s| matches!(s, Stage::Conv2d { .. } | Stage::Linear { .. }))
        .nth(layer)
        .expect("checked: the backbone has this layer");
    match stage {
        Stage::Conv2d { out_ch, .. } => *out_ch *= alpha,
        Stage::Linear { out } => *out *= alpha,
        _ => unreachable!("filtered"),
    }
    config
}

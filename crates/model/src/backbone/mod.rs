//! A backbone: the convolutional (or any pre-head) stages that turn an image into the feature
//! vector the MLP head reads. It is part of the network value ([`crate::Mlp::backbone`]), trains
//! jointly with the head through the same training loop, and its trainable stages are masked
//! [`Layer`]s like the head's, so the optimisers, the mask invariant, checkpoints and expansion
//! treat them the same way.
//!
//! A convolution's weight is stored as the layer matrix `[out_ch, in_ch·kh·kw]`: PyTorch's
//! `[out, in, kh, kw]` flattened row by row, so output channel `o` is row `o` (a neuron whose
//! fan-in is `in_ch·kh·kw`), and its mask has the same shape. A linear stage is a layer
//! `[out, in]`, computed as a 1×1 convolution over a 1×1 image. Activations are sample-major
//! NCHW (`[batch, C·H·W]`, each sample's image PyTorch's contiguous `[C, H, W]`), so `flatten`
//! moves nothing.

mod stage;

use ndarray::{Array1, Array2, ArrayView2};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::conv::ConvGeom;
use crate::error::{Error, Result};
use crate::layer::Layer;

pub(crate) mod pass;

pub use stage::Stage;

/// The description of a backbone: the input image shape and the stages, a value a config holds.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackboneConfig {
    /// Input `[channels, height, width]`.
    pub input: [usize; 3],
    /// Stages, input first.
    pub stages: Vec<Stage>,
}

/// A compiled stage: what the training pass runs. `Flatten` compiles to nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// Convolution of trainable layer `layer`, ReLU fused if `relu`.
    Conv {
        geom: ConvGeom,
        layer: usize,
        relu: bool,
    },
    /// Linear stage `[out, d_in]` of trainable layer `layer`, ReLU fused if `relu`.
    Linear {
        d_in: usize,
        out: usize,
        layer: usize,
        relu: bool,
    },
    /// A ReLU that follows no convolution or linear stage directly.
    Relu { len: usize },
    /// 2×2 max pooling of `c` maps `h × w`.
    Pool { c: usize, h: usize, w: usize },
    /// 2×2 average pooling of `c` maps `h × w`.
    AvgPool { c: usize, h: usize, w: usize },
}

impl Op {
    /// Values per sample this op writes.
    pub(crate) fn out_len(&self) -> usize {
        match *self {
            Op::Conv { geom, .. } => geom.out_len(),
            Op::Linear { out, .. } => out,
            Op::Relu { len } => len,
            Op::Pool { c, h, w } | Op::AvgPool { c, h, w } => {
                let (ho, wo) = crate::conv::pool2_out(h, w);
                c * ho * wo
            }
        }
    }

    /// `(fan_out, fan_in)` of the op's trainable layer, if it has one.
    fn layer_shape(&self) -> Option<(usize, usize)> {
        match *self {
            Op::Conv { geom, .. } => Some((geom.out_ch, geom.k())),
            Op::Linear { d_in, out, .. } => Some((out, d_in)),
            _ => None,
        }
    }
}

/// Shape of the activations between stages.
#[derive(Clone, Copy)]
enum Shape {
    Map { c: usize, h: usize, w: usize },
    Flat(usize),
}

impl BackboneConfig {
    /// Checks every stage against the shape that reaches it and compiles the stages.
    ///
    /// # Errors
    /// [`Error::Config`] naming the stage: a kernel larger than its padded input, pooling a
    /// map smaller than 2×2, a convolution or pooling after `flatten`, a linear stage before it,
    /// or zero-sized input.
    pub(crate) fn compile(&self) -> Result<Vec<Op>> {
        let [c, h, w] = self.input;
        if c == 0 || h == 0 || w == 0 {
            return Err(Error::config(
                "backbone.input",
                format!("{:?}", self.input),
                "every input dimension must be positive",
            ));
        }
        let mut shape = Shape::Map { c, h, w };
        let mut ops: Vec<Op> = Vec::new();
        let mut n_layers = 0;
        for (i, &stage) in self.stages.iter().enumerate() {
            let bad =
                |why: String| Error::config("backbone.stages", format!("stage {i} `{stage}`"), why);
            match (stage, shape) {
                (
                    Stage::Conv2d {
                        out_ch,
                        kh,
                        kw,
                        pad,
                    },
                    Shape::Map { c, h, w },
                ) => {
                    let geom = ConvGeom {
                        in_ch: c,
                        out_ch,
                        h,
                        w,
                        kh,
                        kw,
                        pad,
                    };
                    geom.validate().map_err(|e| bad(e.to_string()))?;
                    shape = Shape::Map {
                        c: out_ch,
                        h: geom.h_out(),
                        w: geom.w_out(),
                    };
                    ops.push(Op::Conv {
                        geom,
                        layer: n_layers,
                        relu: false,
                    });
                    n_layers += 1;
                }
                (Stage::Linear { out }, Shape::Flat(n)) => {
                    ops.push(Op::Linear {
                        d_in: n,
                        out,
                        layer: n_layers,
                        relu: false,
                    });
                    n_layers += 1;
                    shape = Shape::Flat(out);
                }
                (Stage::Relu, _) => match ops.last_mut() {
                    Some(Op::Conv { relu, .. } | Op::Linear { relu, .. }) if !*relu => {
                        *relu = true;
                    }
                    _ => ops.push(Op::Relu {
                        len: shape_len(shape),
                    }),
                },
                (stage @ (Stage::MaxPool2 | Stage::AvgPool2), Shape::Map { c, h, w }) => {
                    if h < 2 || w < 2 {
                        return Err(bad(format!("a {h}×{w} map is too small to pool 2×2")));
                    }
                    ops.push(if stage == Stage::MaxPool2 {
                        Op::Pool { c, h, w }
                    } else {
                        Op::AvgPool { c, h, w }
                    });
                    shape = Shape::Map {
                        c,
                        h: h / 2,
                        w: w / 2,
                    };
                }
                (Stage::Flatten, s) => shape = Shape::Flat(shape_len(s)),
                (Stage::Conv2d { .. } | Stage::MaxPool2 | Stage::AvgPool2, Shape::Flat(_)) => {
                    return Err(bad("comes after `flatten` or a linear stage".into()));
                }
                (Stage::Linear { .. }, Shape::Map { .. }) => {
                    return Err(bad("needs `flatten` before it".into()));
                }
            }
        }
        if ops.is_empty() {
            return Err(Error::config(
                "backbone.stages",
                format!(
                    "{:?}",
                    self.stages
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                ),
                "a backbone needs a convolution, linear, pooling or ReLU stage",
            ));
        }
        Ok(ops)
    }

    /// Values per sample the stages write, all together: what one sample of a training batch
    /// keeps in activations (and again in their gradients).
    ///
    /// # Errors
    /// [`Error::Config`] naming the stage that does not fit the shape reaching it: a kernel larger
    /// than its padded input, pooling a map smaller than 2×2, a convolution or pooling after
    /// `flatten`, a linear stage before it, a zero-sized input, or no stage that computes.
    pub fn activations_per_sample(&self) -> Result<usize> {
        Ok(self.compile()?.iter().map(Op::out_len).sum())
    }

    /// Values per sample the backbone reads (`C·H·W`).
    pub fn in_len(&self) -> usize {
        self.input.iter().product()
    }

    /// Features per sample the backbone writes (the head's input width).
    ///
    /// # Errors
    /// [`Error::Config`] naming the stage that does not fit the shape reaching it: a kernel larger
    /// than its padded input, pooling a map smaller than 2×2, a convolution or pooling after
    /// `flatten`, a linear stage before it, a zero-sized input, or no stage that computes.
    pub fn out_len(&self) -> Result<usize> {
        let ops = self.compile()?;
        Ok(ops.last().map_or(self.in_len(), Op::out_len))
    }

    /// A backbone with PyTorch's default init (`W, b ~ U(−1/√fan_in, 1/√fan_in)`, fan-in
    /// `in_ch·kh·kw` for a convolution), every weight active. Draws layer by layer, weights
    /// before biases, as [`crate::MlpConfig::init`].
    ///
    /// # Errors
    /// [`Error::Config`] naming the stage that does not fit the shape reaching it: a kernel larger
    /// than its padded input, pooling a map smaller than 2×2, a convolution or pooling after
    /// `flatten`, a linear stage before it, a zero-sized input, or no stage that computes.
    pub fn init<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<Backbone> {
        let ops = self.compile()?;
        let layers = ops
            .iter()
            .filter_map(Op::layer_shape)
            .map(|(fan_out, fan_in)| {
                let bound = 1.0 / (fan_in as f32).sqrt();
                let w = Array2::from_shape_simple_fn((fan_out, fan_in), || {
                    rng.random_range(-bound..bound)
                });
                let b = Array1::from_shape_simple_fn(fan_out, || rng.random_range(-bound..bound));
                Layer::dense(w, b)
            })
            .collect::<Result<Vec<_>>>()?;
        Backbone::new(self.clone(), layers)
    }
}

fn shape_len(s: Shape) -> usize {
    match s {
        Shape::Map { c, h, w } => c * h * w,
        Shape::Flat(n) => n,
    }
}

/// A backbone with its trainable layers (one per convolution or linear stage, input first).
///
/// Deserialisation checks what [`Backbone::new`] checks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawBackbone")]
pub struct Backbone {
    config: BackboneConfig,
    pub(crate) layers: Vec<Layer>,
    #[serde(skip)]
    ops: Vec<Op>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBackbone {
    config: BackboneConfig,
    layers: Vec<Layer>,
}

impl TryFrom<RawBackbone> for Backbone {
    type Error = String;

    fn try_from(r: RawBackbone) -> std::result::Result<Self, String> {
        Backbone::new(r.config, r.layers).map_err(|e| e.to_string())
    }
}

impl Backbone {
    /// A backbone from its description and layers, checking each layer's shape against its
    /// stage (`[out_ch, in_ch·kh·kw]` for a convolution, `[out, in]` for a linear stage).
    ///
    /// # Errors
    /// [`Error::Config`] for stages that do not fit the input (as [`BackboneConfig::out_len`]);
    /// [`Error::Shape`] for a layer of the wrong shape or count.
    pub fn new(config: BackboneConfig, layers: Vec<Layer>) -> Result<Self> {
        let ops = config.compile()?;
        let shapes: Vec<(usize, usize)> = ops.iter().filter_map(Op::layer_shape).collect();
        if shapes.len() != layers.len() {
            return Err(Error::shape(
                "backbone layers",
                &[shapes.len()],
                &[layers.len()],
            ));
        }
        for (i, (&(o, k), l)) in shapes.iter().zip(&layers).enumerate() {
            if l.weight().dim() != (o, k) {
                return Err(Error::shape(
                    format!("backbone layer {i} weight"),
                    &[o, k],
                    l.weight().shape(),
                ));
            }
        }
        Ok(Backbone {
            config,
            layers,
            ops,
        })
    }

    /// The description.
    pub fn config(&self) -> &BackboneConfig {
        &self.config
    }

    /// The trainable layers, input first.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// Mutable access to one layer (its methods keep the mask invariant).
    ///
    /// # Panics
    /// If `l` is out of range.
    pub fn layer_mut(&mut self, l: usize) -> &mut Layer {
        &mut self.layers[l]
    }

    pub(crate) fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Values per sample read.
    pub fn in_len(&self) -> usize {
        self.config.in_len()
    }

    /// Features per sample written.
    pub fn out_len(&self) -> usize {
        self.ops.last().map_or(self.in_len(), Op::out_len)
    }

    /// Multiply-adds of one sample's forward pass through the dense convolutions and linear
    /// stages (an estimate of the work, for scheduling).
    pub fn macs_per_sample(&self) -> usize {
        self.ops
            .iter()
            .map(|op| match op {
                Op::Conv { geom, .. } => geom.out_len() * geom.k(),
                Op::Linear { d_in, out, .. } => d_in * out,
                _ => 0,
            })
            .sum()
    }

    /// Features for a batch (inference, allocating).
    ///
    /// # Shapes
    /// `x`: `[batch, C·H·W]` → `[batch, out_len]`.
    ///
    /// # Panics
    /// If `x.ncols() != self.in_len()`.
    pub fn forward(&self, x: ArrayView2<'_, f32>) -> Array2<f32> {
        pass::forward(self, x)
    }
}

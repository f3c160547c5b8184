//! The multi-layer perceptron: a stack of masked layers with ReLU between them.

use ndarray::{Array1, Array2, ArrayView2};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::activation::relu;
use crate::backbone::Backbone;
use crate::error::{Error, Result};
use crate::layer::Layer;

/// Architecture of an [`Mlp`]: input width, hidden widths, output width.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlpConfig {
    /// Input dimension `d`.
    pub d_in: usize,
    /// Widths of the hidden layers (may be empty: a linear model).
    pub hidden: Vec<usize>,
    /// Output dimension (classes or output bits).
    pub d_out: usize,
}

impl MlpConfig {
    /// Checks that every width is positive.
    ///
    /// # Errors
    /// [`Error::Config`] naming the zero width.
    pub fn validate(&self) -> Result<()> {
        if self.d_in == 0 {
            return Err(Error::config("d_in", 0, "input dimension must be positive"));
        }
        if self.d_out == 0 {
            return Err(Error::config(
                "d_out",
                0,
                "output dimension must be positive",
            ));
        }
        if let Some(i) = self.hidden.iter().position(|&h| h == 0) {
            return Err(Error::config(
                "hidden",
                format!("{:?}", self.hidden),
                format!("hidden layer {i} has width 0"),
            ));
        }
        Ok(())
    }

    /// A dense network with PyTorch's default init: `W, b ~ U(−1/√fan_in, 1/√fan_in)` (SPEC §1).
    ///
    /// ```
    /// # use rand_chacha::{ChaCha8Rng, rand_core::SeedableRng};
    /// let mut rng = ChaCha8Rng::seed_from_u64(0);
    /// let mlp = fpe_model::MlpConfig { d_in: 4, hidden: vec![8], d_out: 2 }.init(&mut rng)?;
    /// assert_eq!(mlp.n_params(), 4 * 8 + 8 + 8 * 2 + 2);
    /// # Ok::<(), fpe_model::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`MlpConfig::validate`].
    pub fn init<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<Mlp> {
        self.validate()?;
        let mut widths = vec![self.d_in];
        widths.extend(&self.hidden);
        widths.push(self.d_out);
        let layers = widths
            .windows(2)
            .map(|io| {
                let (fan_in, fan_out) = (io[0], io[1]);
                let bound = 1.0 / (fan_in as f32).sqrt();
                let w = Array2::from_shape_simple_fn((fan_out, fan_in), || {
                    rng.random_range(-bound..bound)
                });
                let b = Array1::from_shape_simple_fn(fan_out, || rng.random_range(-bound..bound));
                Layer::dense(w, b)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Mlp {
            layers,
            backbone: None,
        })
    }
}

/// A masked network: an optional [`Backbone`] (convolutions, pooling, linear stages) feeding an
/// MLP head whose `layers[0]` reads the backbone's features (or the input, without a backbone);
/// ReLU follows every head layer but the last.
///
/// "Layer `l`" always means head layer `l` ([`Mlp::layers`]); the backbone's layers come after
/// the head's in [`Mlp::trainable`], the order gradients and optimiser state are kept in.
///
/// Deserialisation checks what [`Mlp::from_layers`] and [`Mlp::with_backbone`] check (each
/// layer is checked by its own deserialisation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawMlp")]
pub struct Mlp {
    pub(crate) layers: Vec<Layer>,
    #[serde(default)]
    pub(crate) backbone: Option<Backbone>,
}

/// A network as stored, before its checks.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMlp {
    layers: Vec<Layer>,
    #[serde(default)]
    backbone: Option<Backbone>,
}

impl TryFrom<RawMlp> for Mlp {
    type Error = String;

    fn try_from(r: RawMlp) -> std::result::Result<Self, String> {
        let head = Mlp::from_layers(r.layers).map_err(|e| e.to_string())?;
        match r.backbone {
            Some(b) => head.with_backbone(b).map_err(|e| e.to_string()),
            None => Ok(head),
        }
    }
}

impl Mlp {
    /// Builds a network from layers, checking that consecutive widths agree.
    ///
    /// # Errors
    /// [`Error::Shape`] if layer `l`'s input width differs from layer `l−1`'s output width, or
    /// [`Error::Config`] if there are no layers.
    pub fn from_layers(layers: Vec<Layer>) -> Result<Self> {
        if layers.is_empty() {
            return Err(Error::config(
                "layers",
                0,
                "a network needs at least one layer",
            ));
        }
        for (l, pair) in layers.windows(2).enumerate() {
            if pair[1].d_in() != pair[0].d_out() {
                return Err(Error::shape(
                    format!("Mlp::from_layers: layer {} input", l + 1),
                    &[pair[0].d_out()],
                    &[pair[1].d_in()],
                ));
            }
        }
        Ok(Mlp {
            layers,
            backbone: None,
        })
    }

    /// This network with `backbone` in front of its head (replacing any it had).
    ///
    /// # Errors
    /// [`Error::Shape`] if the backbone's feature width differs from the head's input width.
    pub fn with_backbone(mut self, backbone: Backbone) -> Result<Self> {
        if backbone.out_len() != self.layers[0].d_in() {
            return Err(Error::shape(
                "Mlp::with_backbone: head input",
                &[backbone.out_len()],
                &[self.layers[0].d_in()],
            ));
        }
        self.backbone = Some(backbone);
        Ok(self)
    }

    /// The backbone, if the network has one.
    pub fn backbone(&self) -> Option<&Backbone> {
        self.backbone.as_ref()
    }

    /// Mutable access to the backbone (its layers' methods keep the mask invariant).
    pub fn backbone_mut(&mut self) -> Option<&mut Backbone> {
        self.backbone.as_mut()
    }

    /// Every trainable layer: the head's (input first), then the backbone's (input first). The
    /// order of [`crate::Grads`] and of the optimiser state.
    pub fn trainable(&self) -> impl Iterator<Item = &Layer> {
        self.layers
            .iter()
            .chain(self.backbone.iter().flat_map(|b| b.layers.iter()))
    }

    /// Mutable [`Mlp::trainable`].
    pub(crate) fn trainable_mut(&mut self) -> impl Iterator<Item = &mut Layer> {
        self.layers
            .iter_mut()
            .chain(self.backbone.iter_mut().flat_map(|b| b.layers.iter_mut()))
    }

    /// Number of trainable layers (head and backbone).
    pub fn n_trainable(&self) -> usize {
        self.layers.len() + self.backbone.as_ref().map_or(0, |b| b.layers.len())
    }

    /// The head layers, input first.
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

    /// Replaces the layers, checking widths as [`Mlp::from_layers`].
    ///
    /// # Errors
    /// As [`Mlp::from_layers`].
    pub fn set_layers(&mut self, layers: Vec<Layer>) -> Result<()> {
        let mut new = Mlp::from_layers(layers)?;
        if let Some(b) = self.backbone.take() {
            new = new.with_backbone(b)?;
        }
        *self = new;
        Ok(())
    }

    /// Number of head layers (hidden layers + 1).
    pub fn depth(&self) -> usize {
        self.layers.len()
    }

    /// Input dimension: values per sample the network reads (the backbone's `C·H·W` when it
    /// has one).
    pub fn d_in(&self) -> usize {
        match &self.backbone {
            Some(b) => b.in_len(),
            None => self.layers[0].d_in(),
        }
    }

    /// Output dimension.
    pub fn d_out(&self) -> usize {
        self.layers[self.layers.len() - 1].d_out()
    }

    /// Head widths `[head input, h_1, …, d_out]` (the head's input is the backbone's feature
    /// width when there is one).
    pub fn widths(&self) -> Vec<usize> {
        let mut w = vec![self.layers[0].d_in()];
        w.extend(self.layers.iter().map(Layer::d_out));
        w
    }

    /// Hidden widths `[h_1, …]`.
    pub fn hidden_widths(&self) -> Vec<usize> {
        self.layers[..self.layers.len() - 1]
            .iter()
            .map(Layer::d_out)
            .collect()
    }

    /// Active weights per head layer.
    pub fn nnz_per_layer(&self) -> Vec<usize> {
        self.layers.iter().map(Layer::nnz).collect()
    }

    /// Active weights in total, backbone included (biases excluded, SPEC §1).
    pub fn nnz(&self) -> usize {
        self.trainable().map(Layer::nnz).sum()
    }

    /// Number of biases, backbone included.
    pub fn n_biases(&self) -> usize {
        self.trainable().map(|l| l.b.len()).sum()
    }

    /// Trainable parameters: active weights plus biases.
    pub fn n_params(&self) -> usize {
        self.nnz() + self.n_biases()
    }

    /// Checks the mask invariant of every layer.
    ///
    /// # Errors
    /// [`Error::MaskViolation`] for the first non-zero inactive weight.
    pub fn check_masks(&self) -> Result<()> {
        self.trainable()
            .enumerate()
            .try_for_each(|(l, layer)| layer.check_mask(l))
    }

    /// Logits for a batch (inference; no caches).
    ///
    /// # Shapes
    /// `x`: `[batch, d_in]` → `[batch, d_out]`.
    ///
    /// # Panics
    /// If `x.ncols() != self.d_in()`.
    pub fn forward(&self, x: ArrayView2<'_, f32>) -> Array2<f32> {
        self.forward_hidden(x).pop().expect("at least one layer")
    }

    /// Post-activation outputs of every head layer: ReLU outputs of the hidden layers, then
    /// logits (the backbone's features are computed first and not returned).
    ///
    /// # Shapes
    /// `x`: `[batch, d_in]` → one `[batch, width_l]` array per head layer.
    ///
    /// # Panics
    /// If `x.ncols() != self.d_in()`.
    pub fn forward_hidden(&self, x: ArrayView2<'_, f32>) -> Vec<Array2<f32>> {
        assert_eq!(
            x.ncols(),
            self.d_in(),
            "Mlp::forward: input has {} columns, model expects {}",
            x.ncols(),
            self.d_in()
        );
        let features = self.backbone.as_ref().map(|b| b.forward(x));
        self.forward_hidden_of_features(features.as_ref().map_or(x, |f| f.view()))
    }

    /// [`Mlp::forward_hidden`] of the head alone, from the backbone's features (the input,
    /// without a backbone).
    pub(crate) fn forward_hidden_of_features(&self, x: ArrayView2<'_, f32>) -> Vec<Array2<f32>> {
        let mut outs: Vec<Array2<f32>> = Vec::with_capacity(self.layers.len());
        for (l, layer) in self.layers.iter().enumerate() {
            let input = if l == 0 { x } else { outs[l - 1].view() };
            let mut z = Array2::<f32>::zeros((x.nrows(), layer.d_out()));
            layer.affine(input, z.view_mut(), |v| v);
            if l + 1 < self.layers.len() {
                z.mapv_inplace(relu);
            }
            outs.push(z);
        }
        outs
    }
}

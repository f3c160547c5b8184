//! One masked affine layer: weight `[out, in]`, bias `[out]`, binary mask of the weight's shape.
//!
//! The mask invariant lives here: an inactive weight is exactly `0.0` after construction and after
//! every mutation made through this type. Code outside the crate can read weights freely but can
//! only write them through methods that re-apply the mask.

use std::sync::atomic::{AtomicU64, Ordering};

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis, Zip};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Source of mask ids: every mask a layer is given in this process gets a new one.
static NEXT_MASK_ID: AtomicU64 = AtomicU64::new(1);

fn fresh_mask_id() -> u64 {
    NEXT_MASK_ID.fetch_add(1, Ordering::Relaxed)
}

/// A linear layer `y = x Wᵀ + b` whose weight is restricted to the support of `mask`.
///
/// Deserialisation is a constructor: shapes are checked and an inactive weight that is not
/// exactly zero is an error (a file never yields a layer that breaks the mask invariant).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(try_from = "RawLayer")]
pub struct Layer {
    pub(crate) w: Array2<f32>,
    pub(crate) b: Array1<f32>,
    pub(crate) mask: Array2<bool>,
    /// Identifies the current mask (see [`Layer::mask_id`]); not part of the layer's value.
    #[serde(skip, default = "fresh_mask_id")]
    mask_id: u64,
}

/// A layer as stored, before its checks.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLayer {
    w: Array2<f32>,
    b: Array1<f32>,
    mask: Array2<bool>,
}

impl TryFrom<RawLayer> for Layer {
    type Error = String;

    fn try_from(r: RawLayer) -> std::result::Result<Self, String> {
        if r.mask.dim() != r.w.dim() {
            return Err(format!(
                "layer mask is {:?} but its weight is {:?}",
                r.mask.shape(),
                r.w.shape()
            ));
        }
        if r.b.len() != r.w.nrows() {
            return Err(format!(
                "layer bias has {} entries but the layer has {} neurons",
                r.b.len(),
                r.w.nrows()
            ));
        }
        if let Some(((row, col), w)) =
            r.w.indexed_iter()
                .zip(r.mask.iter())
                .find(|((_, w), on)| !**on && **w != 0.0)
                .map(|(p, _)| p)
        {
            return Err(format!(
                "inactive weight at row {row}, column {col} is {w}, not 0 (the mask invariant)"
            ));
        }
        Layer::new(r.w, r.b, r.mask).map_err(|e| e.to_string())
    }
}

/// Layers are equal when their weights, biases and masks are; the mask id is bookkeeping.
impl PartialEq for Layer {
    fn eq(&self, other: &Self) -> bool {
        self.w == other.w && self.b == other.b && self.mask == other.mask
    }
}

impl Layer {
    /// Builds a layer; inactive weights are set to zero.
    ///
    /// # Shapes
    /// `w`: `[out, in]`, `b`: `[out]`, `mask`: `[out, in]`.
    ///
    /// # Errors
    /// [`Error::Shape`] if the shapes disagree.
    pub fn new(mut w: Array2<f32>, b: Array1<f32>, mask: Array2<bool>) -> Result<Self> {
        if mask.dim() != w.dim() {
            return Err(Error::shape(
                "Layer::new mask",
                &[w.nrows(), w.ncols()],
                mask.shape(),
            ));
        }
        if b.len() != w.nrows() {
            return Err(Error::shape("Layer::new bias", &[w.nrows()], b.shape()));
        }
        Zip::from(&mut w).and(&mask).for_each(|w, &on| {
            if !on {
                *w = 0.0;
            }
        });
        Ok(Layer {
            w,
            b,
            mask,
            mask_id: fresh_mask_id(),
        })
    }

    /// An id of the layer's current mask: it changes every time the mask is replaced
    /// ([`Layer::set_mask`]), and a new or loaded layer gets a fresh one. Anything derived
    /// from the mask (kernel index lists, optimiser caches) records the id it was built for
    /// and is rebuilt when the id differs — so a mask changed mid-training takes effect at the
    /// next step, without a call to [`crate::Trainer::model_changed`].
    pub fn mask_id(&self) -> u64 {
        self.mask_id
    }

    /// A fully dense layer.
    ///
    /// # Shapes
    /// `w`: `[out, in]`, `b`: `[out]`.
    ///
    /// # Errors
    /// [`Error::Shape`] if `b.len() != w.nrows()`.
    pub fn dense(w: Array2<f32>, b: Array1<f32>) -> Result<Self> {
        let mask = Array2::from_elem(w.dim(), true);
        Layer::new(w, b, mask)
    }

    /// Number of outputs (neurons).
    pub fn d_out(&self) -> usize {
        self.w.nrows()
    }

    /// Number of inputs.
    pub fn d_in(&self) -> usize {
        self.w.ncols()
    }

    /// `[out, in]` weights; inactive entries are exactly zero.
    pub fn weight(&self) -> ArrayView2<'_, f32> {
        self.w.view()
    }

    /// `[out]` biases.
    pub fn bias(&self) -> ArrayView1<'_, f32> {
        self.b.view()
    }

    /// `[out, in]` mask; `true` = active.
    pub fn mask(&self) -> ArrayView2<'_, bool> {
        self.mask.view()
    }

    /// Number of active weights (biases excluded).
    pub fn nnz(&self) -> usize {
        self.mask.iter().filter(|&&m| m).count()
    }

    /// Active inputs of each neuron (row).
    pub fn fan_in(&self) -> Vec<usize> {
        self.mask
            .rows()
            .into_iter()
            .map(|r| r.iter().filter(|&&m| m).count())
            .collect()
    }

    /// Fraction of weights that are active.
    pub fn density(&self) -> f64 {
        if self.mask.is_empty() {
            0.0
        } else {
            self.nnz() as f64 / self.mask.len() as f64
        }
    }

    /// Replaces the weights, re-applying the mask.
    ///
    /// # Errors
    /// [`Error::Shape`] if `w` is not `[out, in]`.
    pub fn set_weight(&mut self, w: Array2<f32>) -> Result<()> {
        if w.dim() != self.w.dim() {
            return Err(Error::shape("Layer::set_weight", self.w.shape(), w.shape()));
        }
        self.w = w;
        self.apply_mask();
        Ok(())
    }

    /// Replaces the biases.
    ///
    /// # Errors
    /// [`Error::Shape`] if `b` is not `[out]`.
    pub fn set_bias(&mut self, b: Array1<f32>) -> Result<()> {
        if b.len() != self.b.len() {
            return Err(Error::shape("Layer::set_bias", self.b.shape(), b.shape()));
        }
        self.b = b;
        Ok(())
    }

    /// Replaces the mask and zeroes newly inactive weights. Newly active weights keep their
    /// current value, which is zero (they were inactive).
    ///
    /// # Errors
    /// [`Error::Shape`] if `mask` is not `[out, in]`.
    pub fn set_mask(&mut self, mask: Array2<bool>) -> Result<()> {
        if mask.dim() != self.w.dim() {
            return Err(Error::shape(
                "Layer::set_mask",
                self.w.shape(),
                mask.shape(),
            ));
        }
        self.mask = mask;
        self.mask_id = fresh_mask_id();
        self.apply_mask();
        Ok(())
    }

    /// Sets one weight; writing a non-zero value to an inactive position activates nothing and
    /// leaves it zero. Returns whether the position is active.
    ///
    /// # Panics
    /// If `(row, col)` is out of range.
    pub fn set_weight_at(&mut self, row: usize, col: usize, value: f32) -> bool {
        let on = self.mask[[row, col]];
        self.w[[row, col]] = if on { value } else { 0.0 };
        on
    }

    /// `z = act(x Wᵀ + b)` with a dense product (ndarray's `matrixmultiply` backend), then the
    /// bias and `act` in one pass, along contiguous lanes when there are: the forward pass of
    /// [`crate::DenseKernel`] and of inference ([`crate::Mlp::forward`]).
    ///
    /// # Shapes
    /// `x`: `[batch, in]`; `z`: `[batch, out]`, overwritten.
    pub(crate) fn affine(
        &self,
        x: ArrayView2<'_, f32>,
        mut z: ArrayViewMut2<'_, f32>,
        act: impl Fn(f32) -> f32,
    ) {
        crate::gemm::mat_mul(x, self.w.t(), z.view_mut());
        if z.strides()[0] == 1 {
            // Feature-major: each output's batch vector is contiguous.
            Zip::from(z.axis_iter_mut(Axis(1)))
                .and(&self.b)
                .for_each(|mut col, &b| col.mapv_inplace(|v| act(v + b)));
        } else {
            for mut row in z.axis_iter_mut(Axis(0)) {
                Zip::from(&mut row)
                    .and(&self.b)
                    .for_each(|v, &b| *v = act(*v + b));
            }
        }
    }

    /// Zeroes every inactive weight.
    pub(crate) fn apply_mask(&mut self) {
        Zip::from(&mut self.w).and(&self.mask).for_each(|w, &on| {
            if !on {
                *w = 0.0;
            }
        });
    }

    /// Checks the mask invariant and finiteness.
    ///
    /// # Errors
    /// [`Error::MaskViolation`] for the first non-zero inactive weight.
    pub fn check_mask(&self, layer: usize) -> Result<()> {
        for (((row, col), &w), &on) in self.w.indexed_iter().zip(self.mask.iter()) {
            if !on && w != 0.0 {
                return Err(Error::MaskViolation {
                    layer,
                    row,
                    col,
                    value: w,
                });
            }
        }
        Ok(())
    }
}

//! One masked affine layer: weight `[out, in]`, bias `[out]`, binary mask of the weight's shape.
//!
//! The mask invariant lives here: an inactive weight is exactly `0.0` after construction and after
//! every mutation made through this type. Code outside the crate can read weights freely but can
//! only write them through methods that re-apply the mask.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Zip};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A linear layer `y = x Wᵀ + b` whose weight is restricted to the support of `mask`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    pub(crate) w: Array2<f32>,
    pub(crate) b: Array1<f32>,
    pub(crate) mask: Array2<bool>,
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
        Ok(Layer { w, b, mask })
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

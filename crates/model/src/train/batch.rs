//! The batch schedule every training loop shares ([`Schedule`]: a fresh permutation per epoch,
//! chunked into batches, and the epoch report), and the preallocated buffers batches are gathered
//! into ([`BatchBuf`]). The CPU loop and the GPU trainer both draw their batch order here, so
//! the same seed gives the same batches on either device.

use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::Rng;
use rand::seq::SliceRandom;

use crate::loss::TargetsRef;
use crate::train::EpochReport;

/// The batches of one fit: `epochs` permutations of `0..n`, each cut into batches of
/// `batch_size` (the last may be smaller).
pub(crate) struct Schedule {
    order: Vec<usize>,
    batch_size: usize,
    epochs: usize,
}

impl Schedule {
    /// The schedule of `epochs` epochs over `n` samples; `batch_size` ≥ 1.
    pub(crate) fn new(n: usize, batch_size: usize, epochs: usize) -> Self {
        Schedule {
            order: (0..n).collect(),
            batch_size,
            epochs,
        }
    }

    /// Epochs in the fit.
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))]
    pub(crate) fn epochs(&self) -> usize {
        self.epochs
    }

    /// Batches (optimiser steps) per epoch.
    pub(crate) fn steps_per_epoch(&self) -> u64 {
        self.order.len().div_ceil(self.batch_size) as u64
    }

    /// Steps in the whole fit.
    pub(crate) fn steps_in_fit(&self) -> u64 {
        self.steps_per_epoch() * self.epochs as u64
    }

    /// Draws the next epoch's permutation from `rng`. Writing `0..n` before shuffling is O(n)
    /// (sorting was 7 % of an E1 run) and gives the same permutation for the same RNG state.
    pub(crate) fn shuffle<R: Rng + ?Sized>(&mut self, rng: &mut R) {
        self.order.iter_mut().enumerate().for_each(|(i, o)| *o = i);
        self.order.shuffle(rng);
    }

    /// The batches of the current epoch, in order.
    pub(crate) fn batches(&self) -> std::slice::Chunks<'_, usize> {
        self.order.chunks(self.batch_size)
    }

    /// The whole permutation of the current epoch (the GPU uploads it).
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))]
    pub(crate) fn order(&self) -> &[usize] {
        &self.order
    }

    /// The report of an epoch that ended at `(epoch, step)`: the mean batch loss when it was
    /// computed (`loss_sum`), NaN otherwise.
    pub(crate) fn report(&self, epoch: usize, step: u64, loss_sum: Option<f64>) -> EpochReport {
        EpochReport {
            epoch,
            step,
            train_loss: loss_sum.map_or(f64::NAN, |s| s / self.steps_per_epoch() as f64),
        }
    }
}

/// Preallocated batch buffers, filled by gathering rows.
enum YBuf {
    Classes(Array1<u32>),
    Binary(Array2<f32>),
}

pub(crate) struct BatchBuf {
    x: Array2<f32>,
    y: YBuf,
}

impl BatchBuf {
    pub(crate) fn new(batch: usize, d: usize, y: TargetsRef<'_>) -> Self {
        let y = match y {
            TargetsRef::Classes(_) => YBuf::Classes(Array1::zeros(batch)),
            TargetsRef::Binary(t) => YBuf::Binary(Array2::zeros((batch, t.ncols()))),
        };
        BatchBuf {
            x: Array2::zeros((batch, d)),
            y,
        }
    }

    pub(crate) fn gather(&mut self, x: ArrayView2<'_, f32>, y: TargetsRef<'_>, idx: &[usize]) {
        let d = x.ncols();
        match (x.as_slice(), self.x.as_slice_mut()) {
            // Row-major source and buffer: one slice copy per row.
            (Some(src), Some(dst)) if d > 0 => {
                for (row, &i) in dst.chunks_exact_mut(d).zip(idx) {
                    row.copy_from_slice(&src[i * d..(i + 1) * d]);
                }
            }
            _ => {
                for (r, &i) in idx.iter().enumerate() {
                    self.x.row_mut(r).assign(&x.row(i));
                }
            }
        }
        match (&mut self.y, y) {
            (YBuf::Classes(b), TargetsRef::Classes(l)) => {
                for (r, &i) in idx.iter().enumerate() {
                    b[r] = l[i];
                }
            }
            (YBuf::Binary(b), TargetsRef::Binary(t)) => {
                for (r, &i) in idx.iter().enumerate() {
                    b.row_mut(r).assign(&t.row(i));
                }
            }
            _ => unreachable!("batch buffer built for the same target kind"),
        }
    }

    pub(crate) fn view(&self, rows: usize) -> (ArrayView2<'_, f32>, TargetsRef<'_>) {
        let x = self.x.slice_axis(Axis(0), (0..rows).into());
        let y = match &self.y {
            YBuf::Classes(b) => TargetsRef::Classes(b.slice_axis(Axis(0), (0..rows).into())),
            YBuf::Binary(b) => TargetsRef::Binary(b.slice_axis(Axis(0), (0..rows).into())),
        };
        (x, y)
    }
}

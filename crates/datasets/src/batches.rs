//! Seeded, deterministic mini-batches.
//!
//! An epoch is a permutation of the sample indices drawn from the caller's RNG, cut into
//! consecutive batches of `batch_size` (the last one may be shorter). The same RNG state gives the
//! same batches on every platform.

use rand::Rng;
use rand::seq::SliceRandom;

use crate::dataset::Split;

/// One epoch's batch order over `n` samples.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochOrder {
    order: Vec<usize>,
    batch_size: usize,
}

impl EpochOrder {
    /// Draws a permutation of `0..n` from `rng`.
    ///
    /// # Panics
    /// If `batch_size == 0`.
    pub fn shuffled<R: Rng + ?Sized>(n: usize, batch_size: usize, rng: &mut R) -> Self {
        assert!(batch_size > 0, "batch_size must be positive");
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(rng);
        EpochOrder { order, batch_size }
    }

    /// The identity order (for evaluation).
    ///
    /// # Panics
    /// If `batch_size == 0`.
    pub fn sequential(n: usize, batch_size: usize) -> Self {
        assert!(batch_size > 0, "batch_size must be positive");
        EpochOrder {
            order: (0..n).collect(),
            batch_size,
        }
    }

    /// Number of batches.
    pub fn len(&self) -> usize {
        self.order.len().div_ceil(self.batch_size)
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Sample indices of each batch, in order.
    pub fn batches(&self) -> std::slice::Chunks<'_, usize> {
        self.order.chunks(self.batch_size)
    }

    /// Materialised batches of `split` (allocates one [`Split`] per batch).
    pub fn iter_split<'a>(&'a self, split: &'a Split) -> impl Iterator<Item = Split> + 'a {
        self.batches().map(move |idx| split.select(idx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seeds::{Stream, rng_for};

    #[test]
    fn every_index_once_and_same_seed_same_order() {
        let a = EpochOrder::shuffled(1000, 256, &mut rng_for(3, Stream::Batches));
        let b = EpochOrder::shuffled(1000, 256, &mut rng_for(3, Stream::Batches));
        let c = EpochOrder::shuffled(1000, 256, &mut rng_for(4, Stream::Batches));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 4);
        let sizes: Vec<usize> = a.batches().map(<[usize]>::len).collect();
        assert_eq!(sizes, vec![256, 256, 256, 232]);
        let mut all: Vec<usize> = a.batches().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
    }
}

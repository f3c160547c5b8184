//! One seed, one independent random stream per purpose.
//!
//! Every random draw in the project comes from a [`ChaCha8Rng`] built here: the same seed and
//! purpose give the same stream on every platform and thread count, and different purposes never
//! share a stream.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;

/// What a random stream is used for. The discriminant is the ChaCha stream id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u64)]
pub enum Stream {
    /// The DNF formula: clause variables and literal polarities.
    Formula = 1,
    /// Training samples.
    TrainData = 2,
    /// Test samples.
    TestData = 3,
    /// Network initialisation.
    Init = 4,
    /// Mini-batch order.
    Batches = 5,
    /// Expansion plans (splitting strategies).
    Split = 6,
    /// Anything else stochastic during training (dropconnect masks, dynamic regrowth).
    Training = 7,
}

/// The random stream of `purpose` for `seed`.
///
/// ```
/// use fpe_datasets::{Stream, rng_for};
/// use rand::Rng;
/// let a: u64 = rng_for(7, Stream::Formula).random();
/// let b: u64 = rng_for(7, Stream::Formula).random();
/// let c: u64 = rng_for(7, Stream::TrainData).random();
/// assert_eq!(a, b);
/// assert_ne!(a, c);
/// ```
pub fn rng_for(seed: u64, purpose: Stream) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(purpose as u64);
    rng
}

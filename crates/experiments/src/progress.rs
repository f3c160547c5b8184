//! How a sweep tells its caller about finished units: an [`Observer`] makes one
//! [`SweepProgress`] per experiment. [`Silent`] reports nothing.

/// Receives the progress of one experiment's units.
pub trait SweepProgress: Sync {
    /// One more unit finished; `best` is its best test accuracy (NaN when every arm failed).
    fn unit_done(&self, setting: &str, seed: u64, best: f64);
    /// The experiment finished after `seconds`.
    fn finish(&self, seconds: f64);
}

/// Makes a [`SweepProgress`] for each experiment a sweep runs.
pub trait Observer: Send + Sync {
    /// Experiment `name` has `total` units, of which `done` were already finished.
    fn start(&self, name: &str, total: u64, done: u64) -> Box<dyn SweepProgress + '_>;
    /// A line for the user (an experiment finished, a unit reruns and why).
    fn note(&self, _line: &str) {}
}

/// Reports nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl SweepProgress for Silent {
    fn unit_done(&self, _: &str, _: u64, _: f64) {}
    fn finish(&self, _: f64) {}
}

impl Observer for Silent {
    fn start(&self, _: &str, _: u64, _: u64) -> Box<dyn SweepProgress + '_> {
        Box::new(Silent)
    }
}

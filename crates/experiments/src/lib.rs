//! The experimental protocol of fpe, as a library: experiment configs and arms, the unit runner
//! (train, expand, retrain, measure), resumable and sharded sweeps with their lock, the results
//! schema, and Slurm scripts for sharded sweeps.
//!
//! Nothing here plots or prints progress bars: a caller passes a [`progress::Observer`] in
//! [`sweep::RunOptions`] (the `fpe` binary draws an indicatif bar; the Python bindings pass none),
//! and reports are built from the result files by the `fpe-report` crate.

// The facade: configs, the entry points (sweep, reproduce, slurm), the results schema with the
// unit plan, progress reporting and errors. Everything else is an implementation detail.
pub mod config;
pub mod error;
pub mod manifest;
pub mod progress;
pub mod reproduce;
pub mod results;
pub mod slurm;
pub mod sweep;

pub use error::{Error, Result};
/// The file errors of `fpe-io` that [`Error::File`] carries.
pub use fpe_io::Error as FileError;

mod arms;
mod collect;
mod collisions;
mod data;
mod experiment;
mod identity;
mod lock;
mod measure;
mod memory;
mod names;
mod network;
mod output;
mod overrides;
mod paths;
mod runner;
mod seeds;
mod shard;
mod shard_record;
mod train_arms;
mod units;

//! The experimental protocol of fpe, as a library: experiment configs and arms, the unit runner
//! (train, expand, retrain, measure), resumable and sharded sweeps with their lock, the results
//! schema, and Slurm scripts for sharded sweeps.
//!
//! Nothing here plots or prints progress bars: a caller passes a [`progress::Observer`] in
//! [`sweep::RunOptions`] (the `fpe` binary draws an indicatif bar; the Python bindings pass none),
//! and reports are built from the result files by the `fpe-report` crate.

pub mod arms;
pub mod collect;
pub mod collisions;
pub mod config;
pub mod data;
pub mod error;
pub mod experiment;
pub mod identity;
pub mod lock;
pub mod manifest;
pub mod measure;
pub mod memory;
pub mod names;
pub mod output;
pub mod overrides;
pub mod paths;
pub mod progress;
pub mod reproduce;
pub mod results;
pub mod runner;
pub mod seeds;
pub mod shard;
pub mod shard_record;
pub mod slurm;
pub mod sweep;
mod train_arms;
pub mod units;

pub use error::{Error, Result};
/// The file errors of `fpe-io` that [`Error::File`] carries.
pub use fpe_io::Error as FileError;

//! The `fpe` program's library: experiment configs, the unit runner, resumable sweeps, the
//! reproduction of the paper's experiments, and reports.
//!
//! The binary (`src/main.rs`) only parses arguments and calls into these modules.

pub mod arms;
pub mod collisions;
pub mod config;
pub mod lock;
pub mod measure;
pub mod memory;
pub mod progress;
pub mod report;
pub mod reproduce;
pub mod results;
pub mod runner;
pub mod seeds;
pub mod shard;
pub mod slurm;
pub mod sweep;

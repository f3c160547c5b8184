//! The `fpe` program's library: experiment configs, the unit runner, resumable sweeps, the
//! reproduction of the paper's experiments, and reports.
//!
//! The binary (`src/main.rs`) only parses arguments and calls into these modules.

pub mod arms;
pub mod collisions;
pub mod config;
pub mod identity;
pub mod lock;
pub mod measure;
pub mod memory;
pub mod output;
pub mod progress;
pub mod report;
pub mod reproduce;
pub mod results;
pub mod runner;
pub mod seeds;
pub mod shard;
pub mod slurm;
pub mod sweep;

/// Warns on stderr about classes of `data` (read from `path`) that occur only in the test split:
/// no model can learn them, and they cap the test accuracy.
pub fn warn_test_only_classes(data: &fpe_datasets::Dataset, path: &std::path::Path) {
    let only = data.test_only_classes();
    if !only.is_empty() {
        let names: Vec<String> = only
            .iter()
            .map(|&c| {
                data.class_names
                    .get(c as usize)
                    .map_or_else(|| c.to_string(), |n| format!("{c} ({n})"))
            })
            .collect();
        eprintln!(
            "warning: {}: {} class(es) occur in the test split but never in the training split: {}",
            path.display(),
            only.len(),
            names.join(", ")
        );
    }
}

//! Refusing configs that cannot fit in memory, before anything is allocated.
//!
//! A typo such as `train_size = 1_000_000_000` or `hidden = [1_000_000]` should be an error that
//! names the field and the size it implies, not an out-of-memory kill an hour into a sweep. The
//! estimate is an upper bound of what one unit holds at once (per parallel worker):
//!
//! - data: `N · (d_in + d_out) · 4` bytes for both splits (inputs and targets as `f32`);
//! - models: three copies (warm-up model, expanded model, checkpoint encoding) of every layer's
//!   `out · in` entries at 17 bytes each (weight, gradient and two Adam moments as `f32`, mask
//!   byte), with expanded hidden layers `α` times wider;
//! - activations: a full-split evaluation holds two adjacent layers' outputs for every sample,
//!   `N · (w_l + w_{l+1}) · 4` bytes at the widest pair.
//!
//! Arithmetic is in `f64`, so absurd values cannot overflow. The limit is the memory available
//! now (`MemAvailable` in `/proc/meminfo`, lowered by a cgroup `memory.max`); where neither can
//! be read, nothing is refused.

use fpe_datasets::OutputKind;

use crate::config::{ExperimentConfig, TaskConfig};
use crate::error::{Result, invalid};

const GIB: f64 = (1u64 << 30) as f64;

/// Bytes one unit needs, by part.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct MemoryEstimate {
    /// Training and test data.
    pub data: f64,
    /// Model copies with gradients and optimiser state.
    pub models: f64,
    /// Activations of a full-split evaluation.
    pub activations: f64,
}

impl MemoryEstimate {
    /// The estimate for one unit.
    ///
    /// `samples`: training plus test samples; `widths`: input, hidden and output widths of the
    /// narrow model; `alpha`: expansion factor; `expanded`: indices of the hidden layers that
    /// are expanded (0 = first hidden layer).
    pub(crate) fn new(samples: usize, widths: &[usize], alpha: usize, expanded: &[usize]) -> Self {
        let n = samples as f64;
        let wide: Vec<f64> = widths
            .iter()
            .enumerate()
            .map(|(i, &w)| {
                let hidden = i > 0 && i + 1 < widths.len();
                let factor = if hidden && expanded.contains(&(i - 1)) {
                    alpha as f64
                } else {
                    1.0
                };
                w as f64 * factor
            })
            .collect();
        let entries: f64 = wide.windows(2).map(|p| p[0] * p[1]).sum();
        let widest_pair = wide.windows(2).map(|p| p[0] + p[1]).fold(0.0, f64::max);
        let (d_in, d_out) = (wide[0], wide[wide.len() - 1]);
        MemoryEstimate {
            data: n * (d_in + d_out) * 4.0,
            models: 3.0 * 17.0 * entries,
            activations: n * widest_pair * 4.0,
        }
    }

    /// Total bytes.
    pub(crate) fn total(&self) -> f64 {
        self.data + self.models + self.activations
    }

    /// Errors if `workers` units at once would need more than `available` bytes; the message
    /// gives the estimate by part and what to change.
    ///
    /// # Errors
    /// When the estimate exceeds `available`.
    pub(crate) fn check(&self, workers: usize, available: Option<u64>) -> Result<()> {
        let Some(avail) = available else {
            return Ok(());
        };
        let need = self.total() * workers.max(1) as f64;
        if need > avail as f64 {
            invalid!(
                "this config needs about {} ({} unit(s) in parallel × [data {}, models {}, \
                 activations {}]) but only {} of memory is available: reduce \
                 `task.train_size`/`task.test_size`, `model.hidden`, `expansion.alpha` or the \
                 number of threads (`fpe --threads N`)",
                human(need),
                workers.max(1),
                human(self.data),
                human(self.models),
                human(self.activations),
                human(avail as f64),
            );
        }
        Ok(())
    }
}

/// Memory available to this process now, in bytes, if the system says.
pub fn available_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok();
    let avail = meminfo.as_deref().and_then(|text| {
        text.lines()
            .find_map(|l| l.strip_prefix("MemAvailable:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    });
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok());
    match (avail, cgroup) {
        (Some(a), Some(c)) => Some(a.min(c)),
        (a, c) => a.or(c),
    }
}

/// `1.5 GiB`, `3.2 TiB`, `512 MiB`.
fn human(bytes: f64) -> String {
    if bytes >= 1024.0 * GIB {
        format!("{:.1} TiB", bytes / (1024.0 * GIB))
    } else if bytes >= GIB {
        format!("{:.1} GiB", bytes / GIB)
    } else {
        format!("{:.0} MiB", bytes / (1024.0 * 1024.0))
    }
}

/// The memory checks of a config: where its units run, before they allocate.
impl ExperimentConfig {
    /// Refuses a Boolean task whose units running at once (`workers` threads) would need more
    /// memory than `available` (see [`crate::sweep::Experiment::preflight`]); an embeddings or
    /// images task is checked when its files are loaded ([`ExperimentConfig::check_memory`]).
    ///
    /// # Errors
    /// As [`ExperimentConfig::check_memory`].
    pub(crate) fn check_task_memory(&self, workers: usize, available: Option<u64>) -> Result<()> {
        if let TaskConfig::Boolean(b) = &self.task {
            let g = b.generator();
            let d_out = match g.output {
                OutputKind::Or => 1,
                OutputKind::PerClause => g.clauses,
            };
            let samples = g.train_size.saturating_add(g.test_size);
            self.memory_estimate(g.d_in(), d_out, samples, workers, available)?;
        }
        Ok(())
    }

    /// Refuses the config if the units that can run at once would need more memory than is
    /// available (see [`available_memory`]); `d_in`, `d_out` and `samples` (both splits) describe
    /// the data.
    ///
    /// # Errors
    /// The estimate by part, the memory available and the fields to change.
    pub fn check_memory(&self, d_in: usize, d_out: usize, samples: usize) -> Result<()> {
        let workers = rayon::current_num_threads();
        let available = available_memory();
        self.memory_estimate(d_in, d_out, samples, workers, available)
    }

    fn memory_estimate(
        &self,
        d_in: usize,
        d_out: usize,
        samples: usize,
        workers: usize,
        available: Option<u64>,
    ) -> Result<()> {
        let mut widths = vec![d_in];
        widths.extend(&self.model.hidden);
        widths.push(d_out);
        let units = self
            .grid_settings()
            .map_or(usize::MAX, |n| n.saturating_mul(self.seeds.len()));
        MemoryEstimate::new(
            samples,
            &widths,
            self.expansion.alpha,
            &self.expansion.layers,
        )
        .check(workers.min(units), available)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_counts_data_models_and_activations() {
        // 64 → 8 (α = 4 → 32) → 1, 1,000 samples.
        let e = MemoryEstimate::new(1000, &[64, 8, 1], 4, &[0]);
        assert_eq!(e.data, 1000.0 * 65.0 * 4.0);
        assert_eq!(e.models, 3.0 * 17.0 * (64.0 * 32.0 + 32.0));
        assert_eq!(e.activations, 1000.0 * 96.0 * 4.0);
    }

    #[test]
    fn absurd_sizes_are_refused_with_the_estimate() {
        let e = MemoryEstimate::new(usize::MAX, &[usize::MAX, usize::MAX, 1], 16, &[0]);
        assert!(!e.total().is_nan(), "absurd sizes give a number, not NaN");
        let msg = e.check(2, Some(8 << 30)).unwrap_err().to_string();
        assert!(msg.contains("2 unit(s) in parallel"), "{msg}");
        assert!(msg.contains("8.0 GiB of memory is available"), "{msg}");
        assert!(msg.contains("TiB"), "{msg}");
    }

    #[test]
    fn ordinary_sizes_pass_and_unknown_memory_refuses_nothing() {
        let e = MemoryEstimate::new(20_000, &[64, 8, 1], 16, &[0]);
        assert!(e.check(2, Some(1 << 30)).is_ok());
        let huge = MemoryEstimate::new(usize::MAX, &[64, 8, 1], 2, &[0]);
        assert!(huge.check(1, None).is_ok());
    }

    #[test]
    fn this_machine_reports_its_memory() {
        if cfg!(target_os = "linux") {
            assert!(available_memory().is_some_and(|b| b > 0));
        }
    }
}

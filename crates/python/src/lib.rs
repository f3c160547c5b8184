//! `fpe._fpe`, the compiled half of the `fpe` Python package (PyO3, abi3 for CPython >= 3.9):
//! the workspace crates behind a numpy-level API. The pure-Python half (`python/fpe/`) re-exports
//! these functions as `fpe.expand`, `fpe.metrics.report`, `fpe.datasets.boolean`, … and adds
//! `fpe.run`'s DataFrame and the PyTorch helper `fpe.torch`.
//!
//! | file | Python | Rust |
//! |---|---|---|
//! | `expand.rs` | `fpe.expand` | [`fpe::expand`] |
//! | `metrics.rs` | `fpe.metrics.*` | [`fpe_metrics::MetricReport`] and single metrics |
//! | `datasets.rs` | `fpe.datasets.boolean`, `load_h5` | `fpe_datasets` |
//! | `model.rs` | `fpe.load_checkpoint`, `save_checkpoint` | [`fpe_model::Checkpoint`] |
//! | `run.rs` | `fpe.run` | `fpe_experiments::sweep::run_experiment` |
//! | `convert.rs` | | numpy ↔ ndarray, serde ↔ Python, input checks |
//! | `errors.rs` | | Rust errors → Python exceptions, panic guard |
//!
//! Arrays use PyTorch's `nn.Linear` layout (weight `[out, in]`) and are copied at the boundary;
//! inputs are checked (shapes, NaN/Inf) before the crates see them, and every error arrives as a
//! Python exception with the Rust message. Long computations release the GIL.

use pyo3::prelude::*;

mod convert;
mod datasets;
mod errors;
mod expand;
mod metrics;
mod model;
mod run;

/// The compiled module; import ``fpe`` instead.
#[pymodule]
fn _fpe(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(expand::expand, m)?)?;
    m.add_function(wrap_pyfunction!(model::load_checkpoint, m)?)?;
    m.add_function(wrap_pyfunction!(model::save_checkpoint, m)?)?;
    m.add_function(wrap_pyfunction!(datasets::boolean, m)?)?;
    m.add_function(wrap_pyfunction!(datasets::load_h5, m)?)?;
    m.add_function(wrap_pyfunction!(run::run, m)?)?;
    metrics::register(m)?;
    Ok(())
}

//! The chunk size shared by the training workspace and the kernels' vector loops. A leaf
//! module: it imports nothing from the crate.

/// Samples per chunk: the unit of parallel work and of the fixed-order reduction.
pub const CHUNK_ROWS: usize = 64;

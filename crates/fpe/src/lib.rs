//! Fixed Parameter Expansion (arXiv:2510.04500).
//!
//! This crate will own (issue #4): splitting each hidden neuron into α children whose incoming
//! weights partition the parent's, copying outgoing weights, pruning back to the original non-zero
//! budget, the splitting strategies (random, clause, feature, contiguous, N:M), the controls and
//! baselines, and dynamic sparsity.

//! Criterion benchmarks of the metric report (issue #5).
fn main() {}

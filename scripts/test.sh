#!/usr/bin/env bash
# Every check CI runs: formatting, lints (clippy --all-targets also type-checks the benches),
# all tests (unit, integration, end-to-end and doctests), the API docs and the crate examples.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
# The mask invariants once also rested on a debug-only assertion: run them in release too.
cargo test --release -p fpe-model --test masks
# fpe-datasets builds without libhdf5 (Boolean tasks only) when its `hdf5` feature is off.
cargo clippy -p fpe-datasets --no-default-features --all-targets -- -D warnings
cargo test -p fpe-datasets --no-default-features
# API docs build without a warning (missing docs are denied in the library crates; broken
# intra-doc links fail here).
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
# Every library example, in debug (seconds each). The model the fpe-model example exports feeds
# the fpe-metrics example.
examples_out="$(mktemp -d)"
cargo run -q -p fpe-datasets --example dnf_task
cargo run -q -p fpe-model --example train_masked -- "$examples_out/masked.npz"
cargo run -q -p fpe --example expand_strategies
cargo run -q -p fpe-metrics --example metric_report
cargo run -q -p fpe-metrics --example metric_report -- "$examples_out/masked.npz"
rm -r "$examples_out"
# The optional GPU backend (`gpu` feature, wgpu): lints, then its tests on whatever adapter there
# is; in CI that is Mesa's CPU Vulkan driver lavapipe (scripts/setup.sh installs it). The GPU
# tests fail when no adapter is found, unless FPE_GPU_TESTS=skip is set.
cargo clippy -p fpe-model -p fpe-experiments -p fpe-tools --features gpu --all-targets -- -D warnings
cargo test -p fpe-model --features gpu --lib --test gpu
# The unit runner on the GPU: every arm, where each ran, agreement with the CPU.
cargo test -p fpe-experiments --features gpu --test runner
# The Python bindings (crates/python, their own cargo workspace): rustfmt, clippy, `pip install
# ./crates/python` into the venv scripts/setup.sh made (Debian's python3 with apt's CPU PyTorch),
# then the pytest suite, in which a missing torch or any skipped test is a failure.
bash crates/python/tests/run.sh
# `fpe slurm` on a real one-node Slurm cluster (installs slurm and munge as root; skipped, saying
# so, for other users).
bash tests/slurm/run.sh
# Benches are compiled (checked) by clippy --all-targets above.

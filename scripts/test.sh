#!/usr/bin/env bash
# Every check CI runs: formatting, lints (clippy --all-targets also type-checks the benches),
# and all tests: unit, integration, end-to-end and doctests.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
# Benches are compiled (checked) by clippy --all-targets above.

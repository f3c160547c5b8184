#!/usr/bin/env bash
# Every check CI runs: formatting, lints, all tests (unit, integration, doc), and a bench compile.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
cargo bench --workspace --no-run -q

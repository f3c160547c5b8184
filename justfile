# fpe — Fixed Parameter Expansion. `just --list` shows the recipes.

# Reproduce the paper's experiments (SPEC §8) into results/ and write results/REPORT.md.
reproduce *ARGS:
    cargo run --release -p fpe-tools --bin fpe -- reproduce --out results {{ARGS}}

# A few-minute version of the reproduction.
quick:
    cargo run --release -p fpe-tools --bin fpe -- reproduce --quick --out results/quick

# Everything CI checks: fmt, clippy -D warnings (benches included), all tests and doctests.
test:
    scripts/test.sh

# Criterion benchmarks.
bench:
    cargo bench --workspace

# Format the workspace.
fmt:
    cargo fmt --all

# Install what a fresh machine lacks (libhdf5-dev, fontconfig + a font, just, numpy/h5py).
setup:
    scripts/setup.sh

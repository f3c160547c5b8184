#!/usr/bin/env bash
# The Python bindings' checks as CI runs them (scripts/test.sh calls this; run it from anywhere):
# rustfmt and clippy of this cargo workspace, `pip install ./crates/python` into the venv that
# scripts/setup.sh makes (Debian's /usr/bin/python3 with the apt packages numpy, pytest and the
# CPU PyTorch, plus maturin), the Rust reference binary of the cross-language tests, then the
# pytest suite with FPE_REQUIRE_TORCH=1 and FPE_NO_SKIPS=1: a missing torch, or any skipped test,
# fails the run. FPE_PY_VENV overrides the venv (default crates/python/target/venv).
set -euo pipefail
cd "$(dirname "$0")/../../.."
venv="${FPE_PY_VENV:-crates/python/target/venv}"
if [[ ! -x $venv/bin/python || ! -x $venv/bin/maturin ]]; then
    echo "crates/python/tests/run.sh: no venv with maturin at $venv: run scripts/setup.sh" >&2
    exit 1
fi
venv="$(cd "$venv" && pwd)"
manifest=crates/python/Cargo.toml
export PYO3_PYTHON="$venv/bin/python"
# The maturin build backend runs `maturin` from PATH.
export PATH="$venv/bin:$PATH"
# `-p`, not `--all`: `cargo fmt --all` would also format the path dependencies (the other crates).
cargo fmt --manifest-path "$manifest" -p fpe-python -p fpe-python-reference -- --check
cargo clippy --manifest-path "$manifest" --workspace --all-targets -- -D warnings
# The README's install command, offline: maturin comes from the venv, numpy from apt.
"$venv/bin/python" -m pip install -q --no-build-isolation --no-index ./crates/python
cargo build --manifest-path "$manifest" --release -q -p fpe-python-reference
cd crates/python
FPE_REQUIRE_TORCH=1 FPE_NO_SKIPS=1 FPE_PY_REFERENCE="$PWD/target/release/fpe-python-reference" \
    "$venv/bin/python" -m pytest -q -rs tests

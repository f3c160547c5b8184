#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine with a Rust toolchain lacks to build, test and run fpe:
# the HDF5 C library (libhdf5-dev, found by pkg-config), fontconfig headers and a font for the plots of
# `fpe report` (plotters links fontconfig/freetype at build time and needs a font at run time), the
# `just` command runner, numpy/h5py for the Python interop tests, and the Vulkan loader with Mesa's
# CPU Vulkan driver lavapipe, on which the optional GPU backend's tests run without a GPU.
# Raw Fashion-MNIST (Debian's dataset-fashion-mnist: the original gzipped IDX files, 31 MB, in
# /usr/share/datasets/fashion-mnist/) for the images task (data/README.md says why apt).
# For the Python bindings (crates/python): Debian's python3 with numpy, pytest, venv and the CPU
# PyTorch 1.13 from apt (PyPI's torch wheel is 3 GB), and a venv of it that sees those packages
# (crates/python/target/venv) with maturin from PyPI; crates/python/tests/run.sh uses it.
# Idempotent: does nothing that is already done. Needs root (or sudo) for apt.
set -euo pipefail

need_apt=()
pkg-config --exists hdf5 2>/dev/null || need_apt+=(libhdf5-dev pkg-config)
pkg-config --exists fontconfig 2>/dev/null || need_apt+=(libfontconfig1-dev pkg-config)
if ! { command -v fc-list >/dev/null 2>&1 && [[ -n $(fc-list 2>/dev/null | head -n 1) ]]; } \
    && [[ ! -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]]; then
    need_apt+=(fonts-dejavu-core)
fi
# Vulkan loader + lavapipe (mesa-vulkan-drivers) for the GPU backend's tests (scripts/test.sh).
if ! compgen -G '/usr/share/vulkan/icd.d/lvp_icd*.json' >/dev/null \
    || ! compgen -G '/usr/lib/*/libvulkan.so.1' >/dev/null; then
    need_apt+=(mesa-vulkan-drivers libvulkan1)
fi
# Raw Fashion-MNIST images for `kind = "images"` tasks (data/experiments/e8_fashion_mnist_raw.toml).
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    if [[ ! -f /usr/share/datasets/fashion-mnist/$f.gz ]]; then
        need_apt+=(dataset-fashion-mnist)
        break
    fi
done
# The Python bindings' tests run on Debian's python3, for which apt has a CPU PyTorch.
if ! { /usr/bin/python3 -c "import numpy, pytest, torch" && dpkg -s python3-venv; } >/dev/null 2>&1; then
    need_apt+=(python3 python3-numpy python3-pytest python3-torch python3-venv)
fi
if ((${#need_apt[@]})); then
    SUDO=""
    [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    echo "setup: installing ${need_apt[*]} with apt-get" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if ! command -v just >/dev/null 2>&1; then
    echo "setup: installing just (pip package rust-just)" >&2
    if ! python3 -m pip install -q rust-just 2>/dev/null; then
        echo "setup: pip failed; building just with cargo (about 1.5 minutes)" >&2
        cargo install just --locked -q
    fi
    command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
fi

python3 -c "import numpy, h5py" 2>/dev/null || python3 -m pip install -q numpy h5py 2>/dev/null \
    || echo "setup: numpy/h5py not installed; the Python interop tests will say they skip" >&2

# A venv of Debian's python3 (with its apt packages) holding maturin, for crates/python/tests/run.sh.
py_venv="$(cd "$(dirname "$0")/.." && pwd)/crates/python/target/venv"
if [[ ! -x $py_venv/bin/maturin ]]; then
    echo "setup: creating $py_venv (Debian python3 + maturin) for the Python bindings" >&2
    { /usr/bin/python3 -m venv --system-site-packages "$py_venv" \
        && "$py_venv/bin/python" -m pip install -q "maturin>=1.9.4,<2"; } \
        || echo "setup: the Python venv could not be made; crates/python/tests/run.sh will fail" >&2
fi
exit 0

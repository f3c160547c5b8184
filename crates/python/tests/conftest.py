"""Shared fixtures of the fpe Python tests.

- ``reference``: the Rust reference binary (``crates/python/reference``), which computes the
  same things with the Rust crates directly, for the cross-language tests. ``$FPE_PY_REFERENCE``
  names a built one; otherwise it is built here with cargo (release, like the extension).
- ``small_mlp``: a random 3-layer MLP as numpy arrays.
- With ``FPE_NO_SKIPS=1`` (set by ``tests/run.sh``, which CI runs) any skipped test counts as a
  failure, so a run where something is missing cannot pass.

Helpers shared by several test files (``require_torch`` among them) are in ``helpers.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from helpers import random_mlp

CRATE = Path(__file__).resolve().parent.parent
REPO = CRATE.parent.parent


@pytest.fixture(scope="session")
def reference() -> "Reference":
    path = os.environ.get("FPE_PY_REFERENCE")
    if path:
        exe = Path(path)
        if not exe.is_file():
            pytest.fail(f"FPE_PY_REFERENCE={path} does not exist")
    else:
        cargo = shutil.which("cargo")
        if cargo is None:
            pytest.fail("cargo is needed to build the Rust reference binary (or set FPE_PY_REFERENCE)")
        subprocess.run(
            [cargo, "build", "--release", "-q", "--manifest-path", str(CRATE / "Cargo.toml"),
             "-p", "fpe-python-reference"],
            check=True,
        )
        exe = CRATE / "target" / "release" / "fpe-python-reference"
    return Reference(exe)


class Reference:
    """Runs the Rust reference binary on files in a temporary directory."""

    def __init__(self, exe: Path) -> None:
        self.exe = exe

    def __call__(self, *args: Any) -> Any:
        out = subprocess.run(
            [str(self.exe), *map(str, args)], check=True, capture_output=True, text=True
        )
        return json.loads(out.stdout)


@pytest.fixture
def small_mlp():
    return random_mlp([24, 6, 5, 2], seed=1)


def _forbid_skip(report) -> None:
    """With FPE_NO_SKIPS=1, a skipped test or module becomes a failure that says why."""
    if os.environ.get("FPE_NO_SKIPS") == "1" and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped, but FPE_NO_SKIPS=1 forbids skipping: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _forbid_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _forbid_skip(outcome.get_result())

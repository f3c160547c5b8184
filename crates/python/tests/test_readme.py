"""The README's "From Python" example runs as printed there (needs PyTorch)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from helpers import require_torch

README = Path(__file__).resolve().parents[3] / "README.md"


def section() -> str:
    text = README.read_text(encoding="utf-8")
    assert "\n## From Python\n" in text, "README has no '## From Python' section"
    return text.split("\n## From Python\n", 1)[1].split("\n## ", 1)[0]


def test_readme_names_the_install_command():
    assert "pip install ./crates/python" in section()


def test_readme_example_runs(tmp_path):
    require_torch()
    code = section().split("```python\n", 1)[1].split("\n```", 1)[0]
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 4, out.stdout
    pattern = re.compile(r"width +(\d+), nnz (\d+), test accuracy ([\d.]+) %, mean capacity ([\d.]+)")
    found = [pattern.search(line) for line in lines]
    assert all(found), out.stdout
    widths = [int(m.group(1)) for m in found]
    assert widths == [8, 16, 16, 8]
    assert {int(m.group(2)) for m in found} == {64 * 8 + 8}  # same non-zero budget throughout
    # The README shows output of the same shape.
    printed = section().split("```text\n", 1)[1].split("\n```", 1)[0].splitlines()
    assert [pattern.search(line) is not None for line in printed] == [True] * 4

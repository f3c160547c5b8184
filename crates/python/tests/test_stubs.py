"""The type stubs (.pyi) describe the compiled functions as they are: same parameters, same
defaults, and every function has a docstring that help() shows."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import fpe

PKG = Path(fpe.__file__).resolve().parent
MODULES = {"__init__": fpe, "metrics": fpe.metrics, "datasets": fpe.datasets}


def stub_functions(name: str):
    tree = ast.parse((PKG / f"{name}.pyi").read_text(encoding="utf-8"))
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}


def stub_params(fn: ast.FunctionDef):
    args = fn.args
    pos = args.posonlyargs + args.args
    defaults = [None] * (len(pos) - len(args.defaults)) + list(args.defaults)
    out = [(a.arg, "POSITIONAL_OR_KEYWORD", d) for a, d in zip(pos, defaults)]
    out += [(a.arg, "KEYWORD_ONLY", d) for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    return [(n, k, None if d is None else ast.literal_eval(d)) for n, k, d in out]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_stubs_match_the_functions(module):
    stubs = stub_functions(module)
    assert stubs, f"{module}.pyi declares no functions"
    for name, fn in stubs.items():
        obj = getattr(MODULES[module], name)
        sig = inspect.signature(obj)
        real = [
            (p.name, p.kind.name, None if p.default is inspect.Parameter.empty else p.default)
            for p in sig.parameters.values()
        ]
        assert stub_params(fn) == real, f"{module}.{name}: stub {stub_params(fn)} != {real}"
        assert obj.__doc__ and len(obj.__doc__) > 40, f"{module}.{name} has no docstring"


def test_every_public_function_has_a_stub():
    for module, mod in MODULES.items():
        public = {n for n in getattr(mod, "__all__", []) if callable(getattr(mod, n))}
        assert public <= set(stub_functions(module)), module

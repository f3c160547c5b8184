"""Datasets (the Rust crate ``fpe-datasets``, SPEC §2-3).

- :func:`boolean`: a Boolean-code (DNF) task generated from a seed, exactly as ``fpe run``
  generates it: train/test arrays, the clause list and which clauses hold on each sample.
- :func:`load_h5`: an HDF5 embedding file (``train/x``, ``train/y``, ``test/x``, ``test/y``)
  with the Rust loader's options (L2 normalisation, standardisation, class subsets, row caps).
"""

from ._fpe import boolean, load_h5

__all__ = ["boolean", "load_h5"]

//! End-to-end tests of the `fpe` program live in `tests/`; this library is empty.

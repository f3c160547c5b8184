//! The README's "Use the crates from your own code" snippets are the library crates' `lib.rs`
//! doctests (which `cargo test --doc` runs): this test fails when one copy changes without the
//! other. Hidden doctest lines (`# …`) are not part of the README copy.

use std::path::{Path, PathBuf};

/// The workspace root (this crate lives in `tests/`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The visible lines of the code block under `//! # Example` in a crate root.
fn doctest(lib_rs: &str) -> String {
    let text = std::fs::read_to_string(root().join(lib_rs)).expect("crate root readable");
    let mut lines = text
        .lines()
        .skip_while(|l| l.trim_end() != "//! # Example")
        .skip_while(|l| l.trim_end() != "//! ```")
        .skip(1);
    let mut out = Vec::new();
    for line in lines.by_ref() {
        if line.trim_end() == "//! ```" {
            return out.join("\n");
        }
        let l = line
            .strip_prefix("//! ")
            .or_else(|| line.strip_prefix("//!"))
            .unwrap_or(line);
        if l != "#" && !l.starts_with("# ") {
            out.push(l);
        }
    }
    panic!("{lib_rs}: no closed code block under `//! # Example`");
}

/// The ```` ```rust ```` blocks of the README section "Use the crates from your own code".
fn readme_snippets() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("README.md")).expect("README readable");
    let section = text
        .split("\n## Use the crates from your own code\n")
        .nth(1)
        .expect("README has the section")
        .split("\n## ")
        .next()
        .unwrap_or_default();
    section
        .split("```rust\n")
        .skip(1)
        .map(|b| b.split("\n```").next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn readme_snippets_are_the_crate_doctests() {
    let crates = [
        "crates/datasets/src/lib.rs",
        "crates/model/src/lib.rs",
        "crates/fpe/src/lib.rs",
        "crates/metrics/src/lib.rs",
    ];
    let snippets = readme_snippets();
    assert_eq!(
        snippets.len(),
        crates.len(),
        "one README snippet per library crate"
    );
    for (lib_rs, snippet) in crates.iter().zip(&snippets) {
        assert_eq!(
            snippet.trim_end(),
            doctest(lib_rs).trim_end(),
            "README snippet differs from the doctest of {lib_rs}; copy the doctest's visible lines"
        );
    }
}

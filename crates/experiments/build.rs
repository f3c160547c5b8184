//! Records the git commit the `fpe` program is built from (`FPE_GIT_COMMIT`, empty outside a
//! checkout), so every result row can name the code that produced it.

use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .is_some_and(|o| !o.stdout.is_empty());
    let version = if commit.is_empty() || !dirty {
        commit
    } else {
        format!("{commit}-dirty")
    };
    println!("cargo:rustc-env=FPE_GIT_COMMIT={version}");
    // Rebuild when HEAD moves (a commit, a checkout).
    for p in [
        "../../.git/HEAD",
        "../../.git/refs/heads",
        "../../.git/packed-refs",
        "../../.git/index",
    ] {
        println!("cargo:rerun-if-changed={p}");
    }
}

//! Helpers shared by the end-to-end tests: the `fpe` binary and CSV comparison.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `fpe` binary next to this test's executable, (re)built once per test process so the tests
/// never run a stale binary (a no-op when it is up to date).
pub(crate) fn fpe() -> PathBuf {
    static BUILD: std::sync::Once = std::sync::Once::new();
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    BUILD.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-q", "-p", "fpe-tools", "--bin", "fpe"]);
        if dir.ends_with("release") {
            cmd.arg("--release");
        }
        assert!(
            cmd.status().unwrap().success(),
            "building the fpe binary failed"
        );
    });
    dir.join("fpe")
}

pub(crate) fn write_config(
    dir: &Path,
    name: &str,
    seeds: &str,
    clauses: &str,
    epochs: usize,
) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    let text = format!(
        r#"
name = "{name}"
seeds = {seeds}
arms = ["dense", "random", "clause"]
[task]
kind = "boolean"
n_vars = 16
literals = 2
train_size = 256
test_size = 128
[model]
hidden = [4]
[train]
warmup_epochs = {epochs}
after_epochs = {epochs}
batch_size = 64
[expansion]
alpha = 2
[grid]
"task.clauses" = {clauses}
"#
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// The CSV without its last column (wall time, the only value that differs between runs).
pub(crate) fn csv_without_wall_time(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let header = text.lines().next().unwrap();
    assert!(
        header.ends_with(",wall_seconds"),
        "wall time is expected to be the last column"
    );
    text.lines()
        .map(|l| l[..l.rfind(',').unwrap()].to_string())
        .collect()
}

//! Helpers of the `fpe` binary's tests: running it, tiny configs, reading its CSVs.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `fpe` binary cargo built for these tests, or the one `FPE_TEST_BIN` names (to show that a
/// regression test fails on an older build).
pub(crate) fn fpe() -> String {
    std::env::var("FPE_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_fpe").to_string())
}

/// Seconds after which a command is killed (exit status 124): a regression that blocks (on a
/// FIFO, say) fails the test instead of hanging it.
pub(crate) const DEADLINE: &str = "120";

/// `fpe ARGS` in `cwd` with backtraces off, killed after [`DEADLINE`] seconds.
pub(crate) fn run_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new("timeout")
        .arg(DEADLINE)
        .arg(fpe())
        .current_dir(cwd)
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap()
}

/// `fpe ARGS` under `bash -c "LIMITS; exec fpe ARGS"` (e.g. `ulimit -f 8`, `umask 022`).
pub(crate) fn run_limited(cwd: &Path, limits: &str, args: &[&str]) -> Output {
    let mut script = format!("{limits}; exec timeout {DEADLINE} \"$0\"");
    for i in 1..=args.len() {
        script.push_str(&format!(" \"${i}\""));
    }
    Command::new("bash")
        .current_dir(cwd)
        .arg("-c")
        .arg(script)
        .arg(fpe())
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap()
}

/// Stderr of a finished command.
pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts a command succeeded, showing its stderr otherwise.
pub(crate) fn ok(o: Output) -> Output {
    assert!(o.status.success(), "{}", stderr(&o));
    o
}

/// A config of a tiny Boolean task (16 variables, 256 samples, h = 4): `name`, seeds, arms and
/// an optional grid line, written to `dir/NAME.toml`.
pub(crate) fn tiny(dir: &Path, name: &str, grid: Option<&str>) -> PathBuf {
    let path = dir.join(format!("{}.toml", name.replace(['=', '+', '@'], "_")));
    let grid = grid.map_or(String::new(), |g| format!("[grid]\n{g}\n"));
    std::fs::write(
        &path,
        format!(
            r#"name = {name:?}
seeds = [0, 1]
arms = ["dense", "random", "clause"]
[task]
kind = "boolean"
n_vars = 16
clauses = 4
literals = 2
train_size = 256
test_size = 128
[model]
hidden = [4]
[train]
warmup_epochs = 2
after_epochs = 2
batch_size = 64
[expansion]
alpha = 2
{grid}"#
        ),
    )
    .unwrap();
    path
}

/// The records of a CSV file as maps from column name to value.
pub(crate) fn csv_records(path: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = csv_fields(lines.next().unwrap());
    lines
        .map(|l| header.iter().cloned().zip(csv_fields(l)).collect())
        .collect()
}

/// The fields of one CSV line (RFC 4180 quotes).
pub(crate) fn csv_fields(line: &str) -> Vec<String> {
    let (mut fields, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

/// The distinct values of `column` in a CSV file, sorted.
pub(crate) fn distinct(path: &Path, column: &str) -> Vec<String> {
    let mut v: Vec<String> = csv_records(path)
        .into_iter()
        .map(|r| r[column].clone())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// A config of a tiny Boolean grid (`task.clauses` over `clauses`) with arms dense, random and
/// clause, written to `dir/NAME.toml`.
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

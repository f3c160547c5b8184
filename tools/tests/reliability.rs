//! What `fpe` does when things go wrong (issue #9): a diverging run, a full disk, an output
//! directory that cannot be written, configs with wrong types or absurd sizes. Each must end in a
//! clear error or a recorded failure, never a panic, and lose no finished result.
//!
//! The full disk is simulated with the file-size limit (`ulimit -f`, with `SIGXFSZ` ignored so
//! writes fail with `EFBIG`): it works without root and without mounting anything.

use std::path::Path;
use std::process::{Command, Output};

mod common;

use common::{csv_fields, csv_without_wall_time, fpe, write_config};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `fpe ARGS` under a shell with `limits` (e.g. `ulimit -f 2`) applied first.
fn fpe_limited(limits: &str, args: &[&str]) -> Output {
    let mut script = format!("trap '' XFSZ; {limits}; exec \"$0\"");
    for i in 1..=args.len() {
        script.push_str(&format!(" \"${i}\""));
    }
    Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg(fpe())
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap()
}

fn run_fpe(args: &[&str]) -> Output {
    fpe_limited("true", args)
}

#[test]
fn a_diverging_run_is_recorded_as_failed_and_the_sweep_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("div.toml");
    std::fs::write(
        &cfg,
        r#"
name = "div"
seeds = [0]
arms = ["dense", "random"]
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
warmup_epochs = 3
after_epochs = 3
batch_size = 64
[train.optimizer]
kind = "adam"
lr = 0.01
beta1 = 0.9
beta2 = 0.999
eps = 1e-8
weight_decay = 0.0
[grid]
"train.optimizer.lr" = [0.01, 1e30]
"#,
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = run_fpe(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    // The sweep finishes every unit, keeps every row, and says by its exit code that runs failed.
    assert!(!o.status.success(), "a failed run must give a nonzero exit");
    assert!(
        stderr(&o).contains("2 run(s) failed or diverged"),
        "{}",
        stderr(&o)
    );
    let csv = std::fs::read_to_string(out.join("div/results.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (status, lr) = (col("status"), col("params"));
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 4, "2 settings × 2 arms");
    for row in rows {
        let fields = csv_fields(row);
        // params is a JSON object: {"train.optimizer.lr":"0.01"}.
        if fields[lr].contains("\"0.01\"") {
            assert_eq!(fields[status], "ok", "{row}");
        } else {
            assert_eq!(fields[status], "failed", "{row}");
            let acc = col("test_accuracy");
            assert_eq!(
                csv_fields(row)[acc],
                "",
                "a failed run has no accuracy, not 0: {row}"
            );
            assert!(
                row.contains("non-finite loss at epoch 0, step 1"),
                "reason, epoch and step: {row}"
            );
        }
    }
    let o = run_fpe(&["report", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    assert!(
        report.contains("(2 failed or diverged)"),
        "the report counts failed runs"
    );
    let listed = report
        .lines()
        .filter(|l| l.contains("| `dense` | failed | warm-up failed: non-finite loss"))
        .count();
    assert_eq!(
        listed, 1,
        "the report lists each failed run with its reason"
    );
}

#[test]
fn a_full_disk_stops_the_sweep_with_the_path_and_a_rerun_completes() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "disk", "[0, 1]", "[2, 3]", 2);
    let cfg = cfg.to_str().unwrap();
    let (full, clean) = (dir.path().join("full"), dir.path().join("clean"));
    // Files above 2 KiB cannot be written: checkpoints of this model are larger.
    let o = fpe_limited(
        "ulimit -f 2",
        &[
            "--threads",
            "1",
            "sweep",
            cfg,
            "--out",
            full.to_str().unwrap(),
        ],
    );
    assert!(!o.status.success());
    let msg = stderr(&o);
    assert!(msg.contains("File too large"), "the OS error: {msg}");
    assert!(msg.contains(".ckpt"), "the file: {msg}");
    assert!(
        msg.contains("3 more unit(s) were not started") && msg.contains("rerun the same command"),
        "no unit starts after a failed write: {msg}"
    );
    assert!(!msg.contains("panicked"), "{msg}");
    let leftovers: Vec<String> = walk(&full)
        .into_iter()
        .filter(|p| p.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "no half-written file: {leftovers:?}");
    assert!(!full.join("disk/results.csv").exists());

    // Space again: the same command resumes and ends where an undisturbed sweep ends.
    for out in [&full, &clean] {
        let o = run_fpe(&[
            "--threads",
            "1",
            "sweep",
            cfg,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert_eq!(
        csv_without_wall_time(&full.join("disk/results.csv")),
        csv_without_wall_time(&clean.join("disk/results.csv"))
    );
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.display().to_string());
        }
    }
    out
}

#[test]
fn an_output_directory_that_cannot_be_written_is_a_clear_error_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "w", "[0]", "[2]", 2);
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let under_file = file.join("out");
    let o = run_fpe(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--out",
        under_file.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let msg = stderr(&o);
    assert!(
        msg.contains(&format!("creating {}", under_file.display()))
            && msg.contains("Not a directory"),
        "{msg}"
    );
    assert!(!msg.contains("units finished"), "no unit ran: {msg}");

    // Permissions do not bind root (CI runs as root): there the program runs as `nobody`
    // (setpriv), for whom the directory is read-only as for any user.
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    for (p, mode) in [
        (dir.path(), 0o755),
        (ro.as_path(), 0o555),
        (cfg.as_path(), 0o644),
    ] {
        let mut perm = std::fs::metadata(p).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perm, mode);
        std::fs::set_permissions(p, perm).unwrap();
    }
    let uid = Command::new("id").arg("-u").output().unwrap();
    let as_root = String::from_utf8_lossy(&uid.stdout).trim() == "0";
    let args = [
        "sweep",
        cfg.to_str().unwrap(),
        "--out",
        ro.to_str().unwrap(),
    ];
    let o = if as_root {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(fpe())
            .args(args)
            .env("RUST_BACKTRACE", "0")
            .output()
            .unwrap()
    } else {
        run_fpe(&args)
    };
    assert!(!o.status.success());
    let msg = stderr(&o);
    assert!(
        msg.contains("Permission denied") && msg.contains(ro.to_str().unwrap()),
        "{msg}"
    );
}

/// Writes `name.toml` with a minimal Boolean config plus `extra` lines.
fn config_with(dir: &Path, extra: &str) -> String {
    let text = format!("name = \"c\"\nseeds = [0]\n{extra}\n");
    let path = dir.join("c.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn wrong_types_negative_and_zero_sizes_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[task]\nkind = \"boolean\"\ntrain_size = -5",
            "`task.train_size`",
            "-5",
        ),
        (
            "[task]\nkind = \"boolean\"\ntrain_size = \"big\"",
            "`task.train_size`",
            "\"big\"",
        ),
        (
            "[task]\nkind = \"boolean\"\nclauses = 1.5",
            "`task.clauses`",
            "1.5",
        ),
        (
            "[task]\nkind = \"boolean\"\ntest_size = 0",
            "`test_size` = 0",
            "empty",
        ),
        (
            "[task]\nkind = \"boolean\"\n[train]\nbatch_size = -1",
            "`train.batch_size`",
            "-1",
        ),
        (
            "[task]\nkind = \"boolean\"\n[train]\nbatch_size = 0",
            "`train.batch_size` = 0",
            "at least 1",
        ),
        (
            "[task]\nkind = \"boolean\"\n[model]\nhidden = [8, \"x\"]",
            "`model.hidden[1]`",
            "\"x\"",
        ),
        (
            "[task]\nkind = \"boolean\"\n[model]\nhidden = [0]",
            "`model.hidden`",
            "positive",
        ),
        (
            "[task]\nkind = \"boolean\"\n[expansion]\nalpha = 1",
            "`expansion.alpha` = 1",
            "at least 2",
        ),
        (
            "[task]\nkind = \"embeddings\"\npath = 3",
            "`task.path`",
            "integer `3`",
        ),
        (
            "seedz = 1\n[task]\nkind = \"boolean\"",
            "`seedz`",
            "unknown field",
        ),
    ];
    for (extra, field, value) in cases {
        let cfg = config_with(dir.path(), extra);
        let o = run_fpe(&["run", &cfg, "--out", dir.path().join("o").to_str().unwrap()]);
        assert!(!o.status.success(), "{extra}");
        let msg = stderr(&o);
        assert!(
            msg.contains(field) && msg.contains(value) && msg.contains("c.toml"),
            "{extra}: expected {field} and {value} in {msg}"
        );
        assert!(!msg.contains("panicked"), "{msg}");
    }
}

#[test]
fn absurd_sizes_are_refused_before_allocating_with_the_estimate() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[task]\nkind = \"boolean\"\ntrain_size = 1000000000000",
            "data ",
        ),
        (
            "[task]\nkind = \"boolean\"\n[model]\nhidden = [100000000]",
            "models ",
        ),
        (
            "[task]\nkind = \"boolean\"\n[expansion]\nalpha = 100000000",
            "activations ",
        ),
    ];
    for (extra, part) in cases {
        let cfg = config_with(dir.path(), extra);
        // Under a 2 GiB address-space limit an attempt to allocate would abort, not explain.
        let o = fpe_limited(
            "ulimit -v 2097152",
            &["run", &cfg, "--out", dir.path().join("o").to_str().unwrap()],
        );
        assert!(!o.status.success(), "{extra}");
        let msg = stderr(&o);
        assert!(
            msg.contains("this config needs about") && msg.contains(part) && msg.contains("TiB"),
            "{extra}: {msg}"
        );
        assert!(msg.contains("of memory is available"), "{msg}");
        assert!(!msg.contains("memory allocation"), "{msg}");
    }
}

//! Files the program reads and writes (issue #27, items 5, 8, 9 and 10): clean-up never follows a
//! symbolic link out of the output tree, FIFOs and devices are refused instead of blocking,
//! output files get the umask's mode and keep theirs when replaced, and a write past the file-size
//! limit is an error that leaves no temporary file.

#![cfg(unix)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

fn mkfifo(p: &Path) {
    assert!(Command::new("mkfifo").arg(p).status().unwrap().success());
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Every file under `dir` whose name holds `.tmp-`.
fn temp_files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            found.extend(temp_files(&p));
        } else if e.file_name().to_string_lossy().contains(".tmp-") {
            found.push(p.display().to_string());
        }
    }
    found
}

#[test]
fn clean_up_never_deletes_through_a_symlinked_units_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tiny(tmp.path(), "linked", None);
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let theirs = ["draft.tmp-abcdefgh", "a.json.tmp-12345678", "keep.txt"];
    for n in theirs {
        std::fs::write(elsewhere.join(n), b"someone else's").unwrap();
    }
    let exp = tmp.path().join("out/linked");
    std::fs::create_dir_all(&exp).unwrap();
    std::os::unix::fs::symlink(&elsewhere, exp.join("units")).unwrap();
    let out = tmp.path().join("out");
    ok(run_in(
        tmp.path(),
        &[
            "sweep",
            cfg.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    ));
    for n in theirs {
        assert!(elsewhere.join(n).exists(), "{n} was deleted");
    }
}

#[test]
fn fifos_and_devices_are_refused_without_blocking() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("model.ckpt");
    mkfifo(&fifo);
    let t0 = Instant::now();
    for target in [fifo.to_str().unwrap(), "/dev/zero"] {
        let o = run_in(tmp.path(), &["inspect", target]);
        assert!(!o.status.success());
        assert!(stderr(&o).contains("not a regular file"), "{}", stderr(&o));
    }
    // A FIFO among the unit files: the report and a resumed sweep finish, naming it.
    let cfg = tiny(tmp.path(), "fifo", None);
    let out = tmp.path().join("out");
    let out_s = out.to_str().unwrap();
    ok(run_in(
        tmp.path(),
        &["sweep", cfg.to_str().unwrap(), "--out", out_s],
    ));
    mkfifo(&out.join("fifo/units/zz.json"));
    let o = ok(run_in(tmp.path(), &["report", out_s]));
    assert!(
        stderr(&o).contains("belong to other configs"),
        "{}",
        stderr(&o)
    );
    let o = ok(run_in(
        tmp.path(),
        &["sweep", cfg.to_str().unwrap(), "--out", out_s],
    ));
    assert!(
        stderr(&o).contains("0 units run, 2 reused"),
        "{}",
        stderr(&o)
    );
    // The unit file itself replaced by a FIFO: read as not a result, named.
    let unit = std::fs::read_dir(out.join("fifo/units"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap() != "zz.json")
        .unwrap();
    std::fs::remove_file(&unit).unwrap();
    mkfifo(&unit);
    let o = ok(run_in(tmp.path(), &["report", out_s]));
    assert!(
        stderr(&o).contains("is a FIFO, not a regular file"),
        "{}",
        stderr(&o)
    );
    assert!(t0.elapsed() < Duration::from_secs(60), "nothing blocked");
}

#[test]
fn outputs_follow_the_umask_and_replaced_files_keep_their_mode() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tiny(tmp.path(), "modes", None);
    let out = tmp.path().join("out");
    let args = [
        "sweep",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    ok(run_limited(tmp.path(), "umask 022", &args));
    ok(run_limited(
        tmp.path(),
        "umask 022",
        &["report", out.to_str().unwrap()],
    ));
    let exp = out.join("modes");
    let unit = std::fs::read_dir(exp.join("units"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let ckpt = std::fs::read_dir(exp.join("checkpoints"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    for p in [
        exp.join("results.csv"),
        exp.join("config.toml"),
        exp.join("plan.json"),
        exp.join("summary.csv"),
        out.join("REPORT.md"),
        unit,
        ckpt,
    ] {
        assert_eq!(mode(&p), 0o644, "{}", p.display());
    }
    std::fs::set_permissions(
        exp.join("results.csv"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    ok(run_limited(tmp.path(), "umask 077", &args));
    assert_eq!(
        mode(&exp.join("results.csv")),
        0o640,
        "a resume keeps the mode"
    );
}

#[test]
fn a_write_past_the_file_size_limit_is_an_error_and_leaves_no_temporary_file() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tiny(tmp.path(), "fsize", None);
    let out = tmp.path().join("out");
    let args = [
        "sweep",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    // 1 KiB blocks: the config and unit files fit, a checkpoint does not. No `trap` here: the
    // program itself must not die of SIGXFSZ.
    let o = run_limited(tmp.path(), "ulimit -f 1", &args);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("File too large"), "{}", stderr(&o));
    let o = ok(run_in(tmp.path(), &args));
    assert!(stderr(&o).contains("2 units run"), "{}", stderr(&o));
    assert_eq!(temp_files(&out), Vec::<String>::new());
}

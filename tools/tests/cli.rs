//! End-to-end tests of the `fpe` program: a tiny sweep that resumes without recomputing, a report
//! rebuilt from result files, SIGKILL at random moments, and thread-count invariance.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;

use common::{csv_without_wall_time, fpe, write_config};

fn sweep(cfg: &Path, out: &Path, threads: usize) -> std::process::Output {
    let o = Command::new(fpe())
        .args(["--threads", &threads.to_string(), "sweep"])
        .arg(cfg)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "fpe sweep failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

#[test]
fn tiny_sweep_resumes_without_recomputing_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "tiny", "[0, 1]", "[2, 3]", 5);
    let out = dir.path().join("out");
    let first = sweep(&cfg, &out, 2);
    let csv = out.join("tiny/results.csv");
    let rows = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(
        rows.lines().count(),
        1 + 2 * 2 * 3,
        "2 settings × 2 seeds × 3 arms"
    );
    assert!(String::from_utf8_lossy(&first.stderr).contains("4 units run, 0 reused"));
    assert!(out.join("tiny/config.toml").exists());
    assert_eq!(
        std::fs::read_dir(out.join("tiny/checkpoints"))
            .unwrap()
            .count(),
        12
    );

    // Rerun: nothing recomputed, the CSV is byte-identical (wall times come from the unit files).
    let second = sweep(&cfg, &out, 2);
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("0 units run, 4 reused"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), rows);

    // The report is rebuilt from the result files alone.
    let o = Command::new(fpe())
        .arg("report")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("REPORT.md").exists());
}

#[test]
fn same_rows_whatever_the_number_of_threads() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "threads", "[0, 1]", "[2, 3]", 4);
    sweep(&cfg, &dir.path().join("one"), 1);
    sweep(&cfg, &dir.path().join("two"), 2);
    assert_eq!(
        csv_without_wall_time(&dir.path().join("one/threads/results.csv")),
        csv_without_wall_time(&dir.path().join("two/threads/results.csv"))
    );
}

#[test]
fn sigkill_mid_sweep_then_restart_gives_the_same_csv() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "kill", "[0, 1, 2]", "[2, 3, 4]", 60);
    let reference = dir.path().join("reference");
    let t0 = std::time::Instant::now();
    sweep(&cfg, &reference, 2);
    let full = t0.elapsed();
    let expected = csv_without_wall_time(&reference.join("kill/results.csv"));

    // Kill at several moments (the seeds of the delays are fixed), restarting each time.
    let out = dir.path().join("killed");
    let mut interrupted = 0;
    // Kill points spread over the first 80 % of an uninterrupted sweep's wall time.
    for fraction in [0.15f64, 0.45, 0.8] {
        let delay_ms = (full.as_millis() as f64 * fraction) as u64;
        let mut child = Command::new(fpe())
            .args(["--threads", "2", "sweep"])
            .arg(&cfg)
            .arg("--out")
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let finished_before = child.try_wait().unwrap().is_some();
        let _ = child.kill(); // SIGKILL on Unix
        let _ = child.wait();
        let units = std::fs::read_dir(out.join("kill/units"))
            .map(|d| d.count())
            .unwrap_or(0);
        if !finished_before && units < 9 {
            interrupted += 1;
        }
        // No temporary file survives as a unit result, and every unit file parses.
        if let Ok(entries) = std::fs::read_dir(out.join("kill/units")) {
            for e in entries {
                let p = e.unwrap().path();
                if p.extension().is_some_and(|x| x == "json") {
                    let text = std::fs::read_to_string(&p).unwrap();
                    assert!(
                        serde_json_like_complete(&text),
                        "partial unit file {}",
                        p.display()
                    );
                }
            }
        }
    }
    assert!(
        interrupted >= 1,
        "no kill landed mid-sweep (full sweep took {full:?})"
    );
    sweep(&cfg, &out, 2);
    assert_eq!(
        csv_without_wall_time(&out.join("kill/results.csv")),
        expected
    );
}

/// A unit file written atomically is a complete unit result: it parses, and holds its hash and
/// one row per arm of the config (dense, random, clause).
fn serde_json_like_complete(text: &str) -> bool {
    let Ok(unit) = serde_json::from_str::<fpe_experiments::results::UnitResult>(text) else {
        return false;
    };
    let arms: Vec<&str> = unit.rows.iter().map(|r| r.arm.name()).collect();
    !unit.config_hash.is_empty() && arms == ["dense", "random", "clause"]
}

#[test]
fn a_second_sweep_on_the_same_directory_refuses_unless_the_lock_is_stale() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "locked", "[0]", "[2]", 2);
    let out = dir.path().join("out");
    std::fs::create_dir_all(out.join("locked")).unwrap();
    // A live holder: this test's own child process.
    let mut holder = Command::new("sleep").arg("30").spawn().unwrap();
    std::fs::write(out.join("locked/.lock"), format!("{}\n", holder.id())).unwrap();
    let o = Command::new(fpe())
        .arg("sweep")
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(!o.status.success());
    let msg = String::from_utf8_lossy(&o.stderr);
    assert!(msg.contains(&format!("PID {}", holder.id())), "{msg}");
    // The holder is gone now: the lock is stale and the sweep takes it over.
    sweep(&cfg, &out, 1);
    assert!(!out.join("locked/.lock").exists(), "lock not released");
}

/// `fpe ARGS…`, asserting success; returns stdout.
fn fpe_ok(args: &[std::ffi::OsString]) -> String {
    let o = Command::new(fpe()).args(args).output().unwrap();
    assert!(
        o.status.success(),
        "fpe {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn shards_run_side_by_side_and_collect_into_the_plain_sweeps_csv() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "sharded", "[0, 1]", "[2, 3, 4]", 4);
    let plain = dir.path().join("plain");
    sweep(&cfg, &plain, 2);
    let out = dir.path().join("shared");
    let os = |s: &str| std::ffi::OsString::from(s);
    let args = |extra: &[&str]| -> Vec<std::ffi::OsString> {
        let mut a = vec![os("--threads"), os("1"), os("sweep"), cfg.clone().into()];
        a.extend([os("--out"), out.clone().into()]);
        a.extend(extra.iter().map(|s| os(s)));
        a
    };

    // The plan: one line per unit, each unit in exactly one of the two shards.
    let plan = fpe_ok(&args(&["--plan"]));
    let hashes: Vec<String> = plan
        .lines()
        .map(|l| l.split("\"hash\":\"").nth(1).unwrap()[..16].to_string())
        .collect();
    assert_eq!(hashes.len(), 6, "3 settings × 2 seeds");
    let mut split: Vec<String> = (0..2)
        .flat_map(|i| {
            let p = fpe_ok(&args(&["--plan", "--shard", &format!("{i}/2")]));
            assert_eq!(p.lines().count(), 3, "shard {i}/2 holds half");
            p.lines()
                .map(|l| l.split("\"hash\":\"").nth(1).unwrap()[..16].to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    split.sort();
    let mut all = hashes.clone();
    all.sort();
    assert_eq!(split, all);

    // Collecting before every shard has run fails, naming the shard that has not.
    fpe_ok(&args(&["--shard", "0/2"]));
    assert!(
        !out.join("sharded/results.csv").exists(),
        "results.csv is left to --collect"
    );
    let o = Command::new(fpe())
        .args(args(&["--collect"]))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let msg = String::from_utf8_lossy(&o.stderr);
    assert!(
        msg.contains("3 of 6 unit(s)") && msg.contains("shard 1/2 has not run"),
        "{msg}"
    );

    // Both shards at once on the same directory (shard 0 again: all its units are reused).
    let children: Vec<_> = ["0/2", "1/2"]
        .iter()
        .map(|s| {
            Command::new(fpe())
                .args(args(&["--shard", s]))
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    fpe_ok(&args(&["--collect"]));
    assert_eq!(
        csv_without_wall_time(&out.join("sharded/results.csv")),
        csv_without_wall_time(&plain.join("sharded/results.csv"))
    );
    assert!(out.join("REPORT.md").exists());
    assert!(out.join("sharded/summary.md").exists());
    let leftovers: Vec<_> = std::fs::read_dir(out.join("sharded"))
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            n.starts_with(".lock").then_some(n)
        })
        .collect();
    assert!(leftovers.is_empty(), "locks left behind: {leftovers:?}");
}

#[test]
fn every_subcommand_explains_itself() {
    // Debug builds also run clap's consistency checks (duplicate flags panic there).
    for sub in [
        "run",
        "sweep",
        "reproduce",
        "report",
        "data",
        "inspect",
        "export",
        "bench",
        "slurm",
    ] {
        let o = Command::new(fpe()).args([sub, "--help"]).output().unwrap();
        assert!(
            o.status.success(),
            "fpe {sub} --help: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let help = String::from_utf8_lossy(&o.stdout);
        // Each command shows how it is called and an example; `data` lists its subcommands,
        // whose own help has the examples.
        let explained = if sub == "data" {
            help.contains("boolean") && help.contains("info")
        } else {
            help.contains("Example")
        };
        assert!(
            help.contains(&format!("Usage: fpe {sub}")) && explained,
            "fpe {sub} --help: {help}"
        );
    }
}

#[test]
fn bad_configs_name_the_field_and_allowed_values() {
    let dir = tempfile::tempdir().unwrap();
    let task = "[task]\nkind = \"boolean\"\n";
    let cases = [
        (
            format!("seeds = [0]\narms = [\"dense\", \"bogus\"]\n{task}"),
            "allowed arms are",
        ),
        (format!("seeds = []\n{task}"), "`seeds` is empty"),
        (
            format!("seeds = [0]\n{task}[expansion]\nalpha = 1\n"),
            "`expansion.alpha` = 1",
        ),
        (
            format!("seeds = [0]\nunknown_key = 3\n{task}"),
            "unknown field `unknown_key`",
        ),
        (
            "seeds = [0]\n[task]\nkind = \"boolean\"\nn_vars = 20\n".to_string(),
            "n_vars",
        ),
    ];
    for (i, (body, expected)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.toml"));
        std::fs::write(&path, format!("name = \"bad\"\n{body}")).unwrap();
        let o = Command::new(fpe())
            .arg("run")
            .arg(&path)
            .arg("--out")
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(!o.status.success(), "{body} was accepted");
        let msg = String::from_utf8_lossy(&o.stderr);
        assert!(
            msg.contains(expected) && msg.contains(&format!("bad{i}.toml")),
            "{body}: {msg}"
        );
    }
}

#[test]
fn seed_ranges_and_report_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/experiments/e1_headline.toml");
    let o = Command::new(fpe())
        .args(["--threads", "2", "run"])
        .arg(&cfg)
        .args([
            "--seeds",
            "0-5,9",
            "--epochs",
            "2,2",
            "--arms",
            "dense,random,clause",
            "--no-checkpoints",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = std::fs::read_to_string(out.join("e1_headline/results.csv")).unwrap();
    assert_eq!(rows.lines().count(), 1 + 7 * 3, "seeds 0–5 and 9, 3 arms");

    let o = Command::new(fpe())
        .arg("report")
        .arg(&out)
        .arg("--json")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let claims: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let e1: Vec<&serde_json::Value> = claims
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["id"] == "E1")
        .collect();
    assert_eq!(e1.len(), 3, "clause-random, clause-dense, random-dense");
    for r in e1 {
        assert_eq!(r["n_seeds"], 7);
        let (lo, est, hi) = (
            r["ci_low"].as_f64().unwrap(),
            r["estimate"].as_f64().unwrap(),
            r["ci_high"].as_f64().unwrap(),
        );
        assert!(lo <= est && est <= hi, "{r}");
        assert!(["held", "contradicted", "inconclusive"].contains(&r["verdict"].as_str().unwrap()));
        assert!(r["p_value"].as_f64().is_some() && r["paper_in_ci"].is_boolean());
    }
    // The same rows are in claims.json and REPORT.md.
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("claims.json")).unwrap()).unwrap();
    assert_eq!(file, claims);
    assert!(
        std::fs::read_to_string(out.join("REPORT.md"))
            .unwrap()
            .contains("### Every claim row")
    );

    // A reversed range is refused with the flag named.
    let o = Command::new(fpe())
        .args(["run", "--seeds", "5-2", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("--seeds 5-2: `5-2`: a range goes from low to high")
    );
}

#[test]
fn a_changed_data_file_reruns_its_units_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fpe_at = |args: &[&str]| {
        Command::new(fpe())
            .current_dir(d)
            .args(args)
            .output()
            .unwrap()
    };
    let gen_data = |seed: &str| {
        let o = fpe_at(&[
            "data",
            "boolean",
            "--clauses",
            "2",
            "--n-vars",
            "8",
            "--train-size",
            "64",
            "--test-size",
            "32",
            "--seed",
            seed,
            "--force",
            "--out",
            "emb.h5",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    gen_data("0");
    std::fs::write(
        d.join("emb.toml"),
        "name = \"emb\"\nseeds = [0, 1]\narms = [\"dense\", \"random\"]\n[task]\nkind = \"embeddings\"\n\
         path = \"emb.h5\"\n[model]\nhidden = [2]\n[train]\nwarmup_epochs = 1\nafter_epochs = 1\n\
         [grid]\n\"model.hidden\" = [[2], [3]]\n",
    )
    .unwrap();
    let sweep = || fpe_at(&["sweep", "emb.toml", "--out", "out", "--no-checkpoints"]);
    let o = sweep();
    assert!(String::from_utf8_lossy(&o.stderr).contains("4 units run, 0 reused"));
    let o = sweep();
    assert!(String::from_utf8_lossy(&o.stderr).contains("0 units run, 4 reused"));
    // Same path, other content: every unit reads it, so every unit runs again, and says why.
    gen_data("1");
    let o = sweep();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("4 units run, 0 reused"), "{err}");
    assert!(
        err.contains("4 unit(s) run again although a result is on disk: data file emb.h5 changed"),
        "{err}"
    );
    // Every row names the code and the device.
    let csv = std::fs::read_to_string(d.join("out/emb/results.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    assert!(header.contains(&"code_version") && header.contains(&"device"));
    assert!(csv.lines().skip(1).all(|l| l.contains(",cpu,")), "{csv}");
}

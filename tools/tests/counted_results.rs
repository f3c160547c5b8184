//! No report counts a result it should not (issue #27, items 1, 3 and 4): units of an earlier
//! config, unit files that are not their unit's result, and impossible or repeated rows in
//! `results.csv` never enter `results.csv`, `summary.csv` or the claims.

mod common;

use std::path::Path;

use common::*;

/// The `n` column of `summary.csv` per arm (every setting).
fn summary_n(dir: &Path) -> Vec<(String, String)> {
    csv_records(&dir.join("summary.csv"))
        .into_iter()
        .map(|r| (r["arm"].clone(), r["n"].clone()))
        .collect()
}

fn claims(stdout: &[u8]) -> Vec<serde_json::Value> {
    serde_json::from_slice(stdout).expect("report --json prints the claim rows")
}

#[test]
fn units_of_an_earlier_config_are_never_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tiny(tmp.path(), "e1_headline", None);
    let cfg = cfg.to_str().unwrap();
    let out = tmp.path().join("mix");
    let out_s = out.to_str().unwrap();
    ok(run_in(
        tmp.path(),
        &["run", cfg, "--seeds", "0-6", "--out", out_s],
    ));
    ok(run_in(
        tmp.path(),
        &[
            "run", cfg, "--seeds", "0-2", "--epochs", "3,3", "--out", out_s,
        ],
    ));
    let o = ok(run_in(tmp.path(), &["report", out_s, "--json"]));
    let rows = claims(&o.stdout);
    assert!(!rows.is_empty());
    for r in &rows {
        assert_eq!(r["n_seeds"], 3, "only the current config's 3 seeds: {r}");
    }
    for (arm, n) in summary_n(&out.join("e1_headline")) {
        assert_eq!(n, "3", "arm {arm}");
    }
    assert_eq!(
        distinct(&out.join("e1_headline/results.csv"), "seed"),
        ["0", "1", "2"]
    );
    assert!(
        stderr(&o).contains("7 unit file(s) in units/ belong to other configs"),
        "{}",
        stderr(&o)
    );
    let report = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    assert!(report.contains("belong to other configs"));
}

#[test]
fn collect_gathers_exactly_the_units_of_the_config_it_is_given() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tiny(tmp.path(), "grid", Some(r#""task.clauses" = [2, 4]"#));
    let cfg = cfg.to_str().unwrap();
    let out = tmp.path().join("out");
    let out_s = out.to_str().unwrap();
    ok(run_in(
        tmp.path(),
        &["sweep", cfg, "--seeds", "0-3", "--out", out_s],
    ));
    ok(run_in(
        tmp.path(),
        &[
            "sweep", cfg, "--seeds", "0-1", "--epochs", "3,3", "--out", out_s,
        ],
    ));
    let o = ok(run_in(
        tmp.path(),
        &[
            "sweep",
            cfg,
            "--seeds",
            "0-1",
            "--epochs",
            "3,3",
            "--out",
            out_s,
            "--collect",
        ],
    ));
    assert!(
        stderr(&o).contains("collected 4 of 4 units"),
        "{}",
        stderr(&o)
    );
    assert_eq!(distinct(&out.join("grid/results.csv"), "seed"), ["0", "1"]);
    assert_eq!(csv_records(&out.join("grid/results.csv")).len(), 2 * 2 * 3);
    for (arm, n) in summary_n(&out.join("grid")) {
        assert_eq!(n, "2", "arm {arm}");
    }
}

/// The unit files of `out/NAME/units`, keyed by the seed their rows record.
fn units_by_seed(dir: &Path) -> Vec<(u64, std::path::PathBuf)> {
    let mut v: Vec<(u64, std::path::PathBuf)> = std::fs::read_dir(dir.join("units"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let u: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            (u["rows"][0]["seed"].as_u64().unwrap(), p)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_unit_file_counts_only_if_it_is_its_units_result() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tiny(tmp.path(), "copy", None);
    let other = tiny(tmp.path(), "other", None);
    let out = tmp.path().join("out");
    let out_s = out.to_str().unwrap();
    let sweep = |cfg: &Path| {
        ok(run_in(
            tmp.path(),
            &["sweep", cfg.to_str().unwrap(), "--out", out_s],
        ))
    };
    sweep(&cfg);
    sweep(&other);
    let exp = out.join("copy");
    let csv = exp.join("results.csv");
    let before = std::fs::read_to_string(&csv).unwrap();
    let units = units_by_seed(&exp);
    let (seed0, seed1) = (&units[0].1, &units[1].1);
    let foreign = &units_by_seed(&out.join("other"))[1].1;
    // Unit A over unit B; a unit with no rows; a unit of another experiment under B's name.
    let damage = |what: usize| match what {
        0 => {
            std::fs::copy(seed0, seed1).unwrap();
        }
        1 => {
            let mut u: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(seed1).unwrap()).unwrap();
            u["rows"] = serde_json::json!([]);
            std::fs::write(seed1, u.to_string()).unwrap();
        }
        _ => {
            std::fs::copy(foreign, seed1).unwrap();
        }
    };
    for (what, why) in [
        (0, "records unit"),
        (1, "holds rows for arms []"),
        (2, "records unit"),
    ] {
        damage(what);
        let o = sweep(&cfg);
        let err = stderr(&o);
        assert!(err.contains("runs again") && err.contains(why), "{err}");
        assert!(err.contains("1 units run, 1 reused"), "{err}");
        let seeds: Vec<String> = csv_records(&csv)
            .into_iter()
            .map(|r| r["seed"].clone())
            .collect();
        assert_eq!(seeds, ["0", "0", "0", "1", "1", "1"]);
        let now = std::fs::read_to_string(&csv).unwrap();
        let strip = |t: &str| -> Vec<String> {
            t.lines()
                .map(|l| l[..l.rfind(',').unwrap()].to_string())
                .collect()
        };
        assert_eq!(strip(&now), strip(&before), "the rerun gives the same rows");
    }
    // The report, too, checks a unit against the plan: a damaged file is excluded with a note.
    std::fs::copy(seed0, seed1).unwrap();
    let o = ok(run_in(tmp.path(), &["report", out_s]));
    assert!(
        stderr(&o).contains("is not that unit's result"),
        "{}",
        stderr(&o)
    );
    for (arm, n) in summary_n(&exp) {
        assert_eq!(
            n, "1",
            "arm {arm}: seed 0 counted once, the copy not at all"
        );
    }
}

#[test]
fn impossible_and_repeated_rows_are_excluded_and_summary_and_claims_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tiny(tmp.path(), "e1_headline", None);
    let out = tmp.path().join("out");
    let out_s = out.to_str().unwrap();
    ok(run_in(
        tmp.path(),
        &[
            "run",
            cfg.to_str().unwrap(),
            "--seeds",
            "0-6",
            "--out",
            out_s,
        ],
    ));
    let exp = out.join("e1_headline");
    // A results.csv alone (as copied from a cluster), then edited.
    std::fs::remove_dir_all(exp.join("units")).unwrap();
    std::fs::remove_file(exp.join("plan.json")).unwrap();
    let csv = exp.join("results.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let (seed, arm, acc) = (col("seed"), col("arm"), col("test_accuracy"));
    let mut lines: Vec<String> = vec![text.lines().next().unwrap().to_string()];
    let mut seed0 = Vec::new();
    for line in text.lines().skip(1) {
        // No field before `params` holds a comma in this unquoted, grid-less CSV … but params
        // (`{}`) does not either; split plainly.
        let mut f: Vec<String> = line.split(',').map(str::to_string).collect();
        match (f[seed].as_str(), f[arm].as_str()) {
            ("1", "random") => f[acc] = "5.0".into(),
            ("2", "random") => f[acc] = "NaN".into(),
            ("3", "dense") => f[acc] = "-3".into(),
            ("4", "clause") => f[acc] = "1e308".into(),
            _ => {}
        }
        if f[seed] == "0" {
            seed0.push(f.join(","));
        }
        lines.push(f.join(","));
    }
    for _ in 0..9 {
        lines.extend(seed0.iter().cloned());
    }
    std::fs::write(&csv, lines.join("\n") + "\n").unwrap();
    let o = ok(run_in(tmp.path(), &["report", out_s, "--json"]));
    let err = stderr(&o);
    for want in [
        "seed 1, arm `random` excluded: test_accuracy = 5 is not in [0, 1]",
        "seed 2, arm `random` excluded: test_accuracy = NaN",
        "seed 3, arm `dense` excluded: test_accuracy = -3",
        "seed 4, arm `clause` excluded: test_accuracy = 100000",
        "27 repeated row(s) of seed 0 (3 arm(s)) excluded",
    ] {
        assert!(err.contains(want), "missing {want:?} in {err}");
    }
    let summary = csv_records(&exp.join("summary.csv"));
    let n = |a: &str, c: &str| {
        summary.iter().find(|r| r["arm"] == a).unwrap()[c]
            .parse::<usize>()
            .unwrap()
    };
    assert_eq!(
        (n("dense", "n"), n("random", "n"), n("clause", "n")),
        (6, 5, 6)
    );
    // Paired with dense: random loses seeds 1, 2 (its own) and 3 (dense's); clause 3 and 4.
    assert_eq!((n("random", "gain_pp_n"), n("clause", "gain_pp_n")), (4, 5));
    for r in claims(&o.stdout) {
        let c = r["comparison"].as_str().unwrap();
        let want = match c {
            "random-dense" => 4,
            "clause-dense" => 5,
            "clause-random" => 4,
            _ => continue,
        };
        assert_eq!(r["n_seeds"], want, "{c}: {r}");
    }
    let report = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    assert!(report.contains("excluded: test_accuracy = 5 is not in [0, 1]"));
}

//! Which rows of an experiment directory count: exactly the units of its current config
//! (`plan.json`), each unit file checked against the plan; without a plan, the newest unit per
//! (setting, seed); and, whatever the source, only rows with possible values, one per (setting,
//! seed, arm) ([`validate`]). Everything left out is said in a note.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::SystemTime;

use fpe_experiments::manifest::{UnitFile, UnitPlan, foreign_unit_files, read_unit};
use fpe_experiments::results::{Arm, RunRow, UnitResult, check_row};

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// The rows of the units `plan` names; notes for units missing, files that are not their unit's
/// result, and unit files of other configs.
pub(crate) fn planned_rows(
    units_dir: &Path,
    plan: &UnitPlan,
    notes: &mut Vec<String>,
) -> Vec<RunRow> {
    let mut units = Vec::with_capacity(plan.units.len());
    let mut missing = 0;
    for id in &plan.units {
        match read_unit(units_dir, id, &plan.experiment) {
            UnitFile::Valid(u) => units.push(u),
            UnitFile::Missing => missing += 1,
            UnitFile::Invalid(why) => notes.push(format!(
                "unit file `{}.json` ({}) is not that unit's result ({why}); excluded: rerun \
                 the sweep to replace it",
                id.hash,
                place(&id.setting, id.seed)
            )),
        }
    }
    if missing > 0 {
        notes.push(format!(
            "{missing} of {} unit(s) of the current config have no result yet",
            plan.units.len()
        ));
    }
    let foreign = foreign_unit_files(units_dir, plan);
    if !foreign.is_empty() {
        notes.push(format!(
            "{} unit file(s) in units/ belong to other configs of this experiment (not in \
             `plan.json`); not counted",
            foreign.len()
        ));
    }
    fpe_experiments::results::sorted_rows(&units)
}

/// Every parsable unit file, the newest per (setting, seed): directories without a plan and
/// without `results.csv` (an interrupted sweep of an older fpe).
pub(crate) fn newest_units(units_dir: &Path, notes: &mut Vec<String>) -> Vec<RunRow> {
    let files = fpe_experiments::results::scan_units(units_dir);
    if !files.is_empty() {
        notes.push(
            "no `plan.json` (written by an older fpe) and no `results.csv`: every unit file is \
             used, the newest per (setting, seed); units of different configs cannot be told \
             apart here"
                .into(),
        );
    }
    let mut best: BTreeMap<(String, u64), (Option<SystemTime>, UnitResult)> = BTreeMap::new();
    for (path, parsed) in files {
        match parsed {
            Ok(u) => {
                let Some(key) = u.rows.first().map(|r| (r.setting.clone(), r.seed)) else {
                    continue;
                };
                let time = mtime(&path);
                if best.get(&key).is_none_or(|(t, _)| time > *t) {
                    best.insert(key, (time, u));
                }
            }
            Err(e) => notes.push(format!("unit file unreadable ({e}); skipped")),
        }
    }
    let units: Vec<UnitResult> = best.into_values().map(|(_, u)| u).collect();
    fpe_experiments::results::sorted_rows(&units)
}

/// `seed 3`, or `setting `task.clauses=8`, seed 3` in a grid.
fn place(setting: &str, seed: u64) -> String {
    if setting.is_empty() {
        format!("seed {seed}")
    } else {
        format!("setting `{setting}`, seed {seed}")
    }
}

/// Keeps the rows whose values are possible and the first row of each (setting, seed, arm);
/// notes what was excluded.
pub(crate) fn validate(rows: Vec<RunRow>, notes: &mut Vec<String>) -> Vec<RunRow> {
    let mut seen: HashSet<(usize, String, u64, Arm)> = HashSet::new();
    // (setting, seed) → repeated rows, arms repeated.
    let mut repeated: BTreeMap<(String, u64), (usize, HashSet<Arm>)> = BTreeMap::new();
    let mut kept = Vec::with_capacity(rows.len());
    for r in rows {
        if let Err(why) = check_row(&r) {
            notes.push(format!(
                "row of {}, arm `{}` excluded: {why}",
                place(&r.setting, r.seed),
                r.arm
            ));
            continue;
        }
        if !seen.insert((r.setting_index, r.setting.clone(), r.seed, r.arm)) {
            let e = repeated.entry((r.setting.clone(), r.seed)).or_default();
            e.0 += 1;
            e.1.insert(r.arm);
            continue;
        }
        kept.push(r);
    }
    for ((setting, seed), (n, arms)) in repeated {
        notes.push(format!(
            "{n} repeated row(s) of {} ({} arm(s)) excluded: one row per setting, seed and arm \
             counts, the first",
            place(&setting, seed),
            arms.len()
        ));
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use fpe_experiments::manifest::UnitId;
    use fpe_experiments::manifest::UnitInputs;

    /// A one-arm unit file of `seed` whose recorded identity is `config`; returns its id.
    fn unit(units: &Path, config: &str, seed: u64, acc: f64) -> UnitId {
        let inputs = UnitInputs {
            config: config.into(),
            data: None,
            semantics: fpe_experiments::manifest::RESULTS_SEMANTICS,
            code: "test".into(),
        };
        let hash = inputs.hash();
        let row = RunRow {
            experiment: "e2_x".into(),
            setting: "task.clauses=8".into(),
            config_hash: hash.clone(),
            seed,
            arm: "dense".parse().unwrap(),
            status: fpe_experiments::results::Status::Ok,
            test_accuracy: acc,
            test_per_bit: acc,
            train_accuracy: acc,
            ..Default::default()
        };
        let u = UnitResult {
            config_hash: hash.clone(),
            rows: vec![row],
            wall_seconds: 1.0,
            inputs: Some(inputs),
        };
        std::fs::write(
            units.join(format!("{hash}.json")),
            serde_json::to_string(&u).unwrap(),
        )
        .unwrap();
        UnitId {
            hash,
            setting_index: 0,
            setting: "task.clauses=8".into(),
            seed,
            arms: vec![Arm::Dense],
        }
    }

    #[test]
    fn the_plan_decides_which_units_count() {
        let tmp = tempfile::tempdir().unwrap();
        let units = tmp.path().join("units");
        std::fs::create_dir_all(&units).unwrap();
        let _old = unit(&units, "old config", 0, 0.1);
        let new = unit(&units, "new config", 0, 0.9);
        let other = unit(&units, "new config seed 1", 1, 0.8);
        let missing = UnitId {
            hash: "0123456789abcdef".into(),
            seed: 2,
            ..new.clone()
        };
        std::fs::write(units.join("broken.json"), "{").unwrap();
        let plan = UnitPlan {
            experiment: "e2_x".into(),
            units: vec![new, other, missing],
        };
        let mut notes = Vec::new();
        let accs: Vec<f64> = planned_rows(&units, &plan, &mut notes)
            .iter()
            .map(|r| r.test_accuracy)
            .collect();
        assert_eq!(accs, [0.9, 0.8]);
        assert!(
            notes.iter().any(|n| n.contains("1 of 3 unit(s)")),
            "{notes:?}"
        );
        assert!(
            notes
                .iter()
                .any(|n| n.contains("2 unit file(s) in units/ belong to other configs")),
            "{notes:?}"
        );
        // Without a plan: the newest unit per (setting, seed); the broken file is named.
        let mut notes = Vec::new();
        let rows = newest_units(&units, &mut notes);
        assert_eq!(rows.len(), 2);
        assert!(notes.iter().any(|n| n.contains("broken.json")), "{notes:?}");
    }

    #[test]
    fn impossible_and_repeated_rows_are_excluded() {
        let ok = RunRow {
            arm: "dense".parse().unwrap(),
            status: fpe_experiments::results::Status::Ok,
            test_accuracy: 0.5,
            test_per_bit: 0.5,
            train_accuracy: 0.5,
            ..Default::default()
        };
        let with = |f: &dyn Fn(&mut RunRow)| {
            let mut r = ok.clone();
            f(&mut r);
            r
        };
        let rows = vec![
            ok.clone(),
            ok.clone(),
            with(&|r| r.seed = 1),
            with(&|r| {
                r.seed = 2;
                r.test_accuracy = 5.0;
            }),
            with(&|r| {
                r.seed = 3;
                r.final_train_loss = f64::NAN;
            }),
            with(&|r| {
                r.seed = 5;
                r.status = fpe_experiments::results::Status::Failed;
                r.test_accuracy = f64::NAN;
            }),
        ];
        let mut notes = Vec::new();
        let kept: Vec<u64> = validate(rows, &mut notes).iter().map(|r| r.seed).collect();
        assert_eq!(kept, [0, 1, 5], "{notes:?}");
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert!(notes[0].contains("seed 2, arm `dense` excluded: test_accuracy = 5"));
        assert!(notes[1].contains("final_train_loss = NaN"));
        assert!(notes[2].contains("1 repeated row(s) of seed 0 (1 arm(s))"));
    }
}

//! `results.csv`: one field list ([`CsvRecord`]) that both writes and reads the file through
//! serde, so the columns, their order and their meaning are written down once.
//!
//! Text cells that a spreadsheet would run as formulas get a leading `'`
//! ([`crate::results::text_cell`]); numbers are written as Rust prints them (shortest text that
//! reads back to the same `f64`); the measured numbers of a failed run, and metrics not measured,
//! are empty, never 0.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Context, Result};
use crate::results::{RunRow, Status, from_text_cell, params_field, params_from_field, text_cell};

/// One line of `results.csv`, field for field in column order. Numbers that may be absent are
/// text (empty when absent), so they are written exactly as before and read leniently.
#[derive(Debug, Default, Serialize, Deserialize)]
struct CsvRecord {
    #[serde(default)]
    experiment: String,
    #[serde(default)]
    setting: String,
    setting_index: usize,
    #[serde(default)]
    config_hash: String,
    #[serde(default)]
    params: String,
    seed: u64,
    arm: String,
    status: String,
    #[serde(default)]
    error: String,
    #[serde(default)]
    test_accuracy: String,
    #[serde(default)]
    test_per_bit: String,
    #[serde(default)]
    train_accuracy: String,
    #[serde(default)]
    final_train_loss: String,
    #[serde(default)]
    nnz: usize,
    #[serde(default)]
    biases: usize,
    #[serde(default)]
    widths: String,
    #[serde(default)]
    hidden: usize,
    #[serde(default = "one")]
    alpha: usize,
    #[serde(default)]
    warmup_epochs: usize,
    #[serde(default)]
    after_epochs: usize,
    #[serde(default)]
    capacity_mean: String,
    #[serde(default)]
    capacity_literals: String,
    #[serde(default)]
    capacity_sum: String,
    #[serde(default)]
    cosine_abs: String,
    #[serde(default)]
    cosine_signed: String,
    #[serde(default)]
    cosine_cross_parent: String,
    #[serde(default)]
    collision_rate: String,
    #[serde(default)]
    coverage: String,
    #[serde(default)]
    collision_theory_balanced: String,
    #[serde(default)]
    collision_theory_independent: String,
    #[serde(default)]
    polysemanticity: String,
    #[serde(default)]
    pr_dimension: String,
    #[serde(default)]
    code_version: String,
    #[serde(default)]
    device: String,
    #[serde(default)]
    wall_seconds: String,
}

fn one() -> usize {
    1
}

fn num(v: f64) -> String {
    format!("{v}")
}

fn opt(v: Option<f64>) -> String {
    v.map(num).unwrap_or_default()
}

fn parse_opt(s: &str) -> Option<f64> {
    s.trim().parse().ok()
}

fn parse_num(s: &str) -> f64 {
    parse_opt(s).unwrap_or(f64::NAN)
}

impl From<&RunRow> for CsvRecord {
    fn from(r: &RunRow) -> Self {
        // Nothing was measured for a failed run, and 0 would read as a result.
        let measured = |v: f64| {
            if r.status == Status::Failed {
                String::new()
            } else {
                num(v)
            }
        };
        CsvRecord {
            experiment: text_cell(&r.experiment),
            setting: text_cell(&r.setting),
            setting_index: r.setting_index,
            config_hash: r.config_hash.clone(),
            params: params_field(&r.params),
            seed: r.seed,
            arm: r.arm.name().to_string(),
            status: r.status.name().to_string(),
            error: text_cell(&r.error),
            test_accuracy: measured(r.test_accuracy),
            test_per_bit: measured(r.test_per_bit),
            train_accuracy: measured(r.train_accuracy),
            final_train_loss: measured(r.final_train_loss),
            nnz: r.nnz,
            biases: r.biases,
            widths: r.widths.clone(),
            hidden: r.hidden,
            alpha: r.alpha,
            warmup_epochs: r.warmup_epochs,
            after_epochs: r.after_epochs,
            capacity_mean: opt(r.capacity_mean),
            capacity_literals: opt(r.capacity_literals),
            capacity_sum: opt(r.capacity_sum),
            cosine_abs: opt(r.cosine_abs),
            cosine_signed: opt(r.cosine_signed),
            cosine_cross_parent: opt(r.cosine_cross_parent),
            collision_rate: opt(r.collision_rate),
            coverage: opt(r.coverage),
            collision_theory_balanced: opt(r.collision_theory_balanced),
            collision_theory_independent: opt(r.collision_theory_independent),
            polysemanticity: opt(r.polysemanticity),
            pr_dimension: opt(r.pr_dimension),
            code_version: r.code_version.clone(),
            device: r.device.clone(),
            wall_seconds: format!("{:.3}", r.wall_seconds),
        }
    }
}

impl TryFrom<CsvRecord> for RunRow {
    type Error = String;

    fn try_from(c: CsvRecord) -> std::result::Result<Self, String> {
        Ok(RunRow {
            experiment: from_text_cell(&c.experiment),
            setting: from_text_cell(&c.setting),
            setting_index: c.setting_index,
            config_hash: c.config_hash,
            params: params_from_field(&c.params),
            seed: c.seed,
            arm: from_text_cell(&c.arm)
                .parse()
                .map_err(|e: crate::Error| e.to_string())?,
            status: from_text_cell(&c.status).parse()?,
            error: from_text_cell(&c.error),
            test_accuracy: parse_num(&c.test_accuracy),
            test_per_bit: parse_num(&c.test_per_bit),
            train_accuracy: parse_num(&c.train_accuracy),
            final_train_loss: parse_num(&c.final_train_loss),
            nnz: c.nnz,
            biases: c.biases,
            widths: c.widths,
            hidden: c.hidden,
            alpha: c.alpha,
            warmup_epochs: c.warmup_epochs,
            after_epochs: c.after_epochs,
            capacity_mean: parse_opt(&c.capacity_mean),
            capacity_literals: parse_opt(&c.capacity_literals),
            capacity_sum: parse_opt(&c.capacity_sum),
            cosine_abs: parse_opt(&c.cosine_abs),
            cosine_signed: parse_opt(&c.cosine_signed),
            cosine_cross_parent: parse_opt(&c.cosine_cross_parent),
            collision_rate: parse_opt(&c.collision_rate),
            coverage: parse_opt(&c.coverage),
            collision_theory_balanced: parse_opt(&c.collision_theory_balanced),
            collision_theory_independent: parse_opt(&c.collision_theory_independent),
            polysemanticity: parse_opt(&c.polysemanticity),
            pr_dimension: parse_opt(&c.pr_dimension),
            code_version: c.code_version,
            device: c.device,
            wall_seconds: parse_opt(&c.wall_seconds).unwrap_or(0.0),
        })
    }
}

/// The column names of `results.csv`, in order (the fields of its one record type).
pub fn csv_columns() -> Vec<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.serialize(CsvRecord::default())
        .expect("a record serialises");
    let bytes = w.into_inner().expect("flushing CSV to memory");
    let text = String::from_utf8(bytes).expect("UTF-8 header");
    let header = text.lines().next().unwrap_or_default();
    header.split(',').map(str::to_string).collect()
}

/// CSV text of `rows` (header first). Wall times are the only column that varies between
/// identical runs.
pub fn to_csv(rows: &[RunRow]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    if rows.is_empty() {
        w.write_record(csv_columns())
            .expect("writing CSV to memory");
    }
    for r in rows {
        w.serialize(CsvRecord::from(r))
            .expect("writing CSV to memory");
    }
    String::from_utf8(w.into_inner().expect("flushing CSV to memory")).expect("CSV of UTF-8 fields")
}

/// Writes `rows` as CSV atomically.
///
/// # Errors
/// I/O errors naming the path.
pub fn write_csv(path: &Path, rows: &[RunRow]) -> Result<()> {
    fpe_io::write_atomic(path, to_csv(rows).as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// Reads `results.csv`: a regular file only, columns matched by header name, older files without
/// the newer columns read with those empty. Returns the rows that parse and one note per problem
/// (missing columns, a malformed, truncated or unknown-valued record, which is skipped).
pub fn read_csv(path: &Path) -> (Vec<RunRow>, Vec<String>) {
    let mut notes = Vec::new();
    let file = match fpe_io::open_regular(path) {
        Ok(f) => f,
        Err(e) => {
            notes.push(format!("`{}` unreadable ({e}); skipped", path.display()));
            return (Vec::new(), notes);
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(std::io::BufReader::new(file));
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(str::to_string).collect(),
        Err(e) => {
            notes.push(format!("`{}` has no header ({e}); skipped", path.display()));
            return (Vec::new(), notes);
        }
    };
    let missing: Vec<String> = csv_columns()
        .into_iter()
        .filter(|c| !header.contains(c))
        .collect();
    if !missing.is_empty() {
        notes.push(format!(
            "`{}` lacks column(s) {}",
            path.display(),
            missing.join(", ")
        ));
    }
    let header_record = csv::StringRecord::from(header.clone());
    let mut rows = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let parsed = rec
            .map_err(|e| e.to_string())
            .and_then(|rec| {
                if rec.len() == header.len() {
                    Ok(rec)
                } else {
                    Err(format!(
                        "{} fields, the header has {}",
                        rec.len(),
                        header.len()
                    ))
                }
            })
            .and_then(|rec| {
                rec.deserialize::<CsvRecord>(Some(&header_record))
                    .map_err(|e| e.to_string())
            })
            .and_then(RunRow::try_from);
        match parsed {
            Ok(r) => rows.push(r),
            Err(e) => notes.push(format!(
                "`{}` record {} malformed or truncated ({e}); skipped",
                path.display(),
                i + 1
            )),
        }
    }
    (rows, notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Arm;

    #[test]
    fn rows_round_trip_and_failed_runs_have_no_numbers() {
        let mut r = RunRow {
            experiment: "=e".into(),
            setting: "task.classes=[0, 1],model.hidden=[4]".into(),
            params: [("task.classes".to_string(), "[0, 1]".to_string())].into(),
            seed: 3,
            arm: Arm::Expand(fpe::StrategyKind::Random),
            status: Status::Failed,
            error: "NaN loss, \"epoch\" 3".into(),
            test_accuracy: 0.5,
            capacity_mean: Some(0.25),
            nnz: 12,
            ..Default::default()
        };
        r.setting_index = 2;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("results.csv");
        write_csv(&p, std::slice::from_ref(&r)).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.starts_with(&csv_columns().join(",")), "{text}");
        assert!(
            text.contains("'=e,"),
            "a formula-like name is escaped: {text}"
        );
        let (back, notes) = read_csv(&p);
        assert!(notes.is_empty(), "{notes:?}");
        let b = &back[0];
        assert!(
            b.test_accuracy.is_nan(),
            "a failed run's accuracy is not 0.5"
        );
        let mut want = r.clone();
        want.test_accuracy = f64::NAN;
        want.test_per_bit = f64::NAN;
        want.train_accuracy = f64::NAN;
        want.final_train_loss = f64::NAN;
        assert_eq!(format!("{b:?}"), format!("{want:?}"));
    }

    #[test]
    fn unknown_values_and_short_records_are_notes_not_rows() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("results.csv");
        let ok = RunRow {
            test_accuracy: 0.5,
            ..Default::default()
        };
        let mut text = to_csv(&[ok.clone(), ok]);
        text = text.replacen(",dense,ok,", ",dense,okay,", 1);
        text.push_str("e,,0\n");
        std::fs::write(&p, text).unwrap();
        let (rows, notes) = read_csv(&p);
        assert_eq!(rows.len(), 1);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].contains("status `okay`"), "{notes:?}");
        assert!(notes[1].contains("3 fields"), "{notes:?}");
    }
}

//! [`EmbeddingConfig::load`] for HDF5 files: check everything the declared shapes and types
//! allow, then read only what is kept.
//!
//! 1. Open and check the four datasets without reading them: storage inside the file
//!    (`hdf5_guard`), shapes, element types, x and y row counts, train and test widths and label
//!    layouts. A feature read larger than the memory available is refused here already.
//! 2. Read the labels in blocks (values checked, largest class id recorded): every row where a
//!    class subset is picked from them or the file names no classes (their count is the largest
//!    id + 1), keeping all rows only for a subset; otherwise just the capped prefix.
//! 3. Pick the kept rows exactly as before this loader read rows selectively: the class subset
//!    (relabelled in the order given), then the first `max_train` / `max_test` of them.
//! 4. Read only those feature rows (after reserving their memory), then normalise.
//!
//! The result is identical to reading everything and then selecting, for every file that passes
//! the checks. Rows that are not read are not checked: NaN or Inf in a feature row that is not
//! kept, or a label beyond the named classes past the row cap, is no longer an error.

use ndarray::Array1;

use crate::clauses::ClauseStructure;
use crate::dataset::{Dataset, Split, Targets};
use crate::embeddings::{EmbeddingConfig, MAX_CLASSES};
use crate::error::{Error, Result};
use crate::hdf5_labels::{IdStats, LabelInfo, LabelKind, Labels, Scanned};
use crate::hdf5_read::{Features, H5Source};
use crate::memory::MemoryBudget;
use crate::preprocess::{l2_normalize_rows, standardize};

/// One split's datasets, checked but not read.
struct Planned {
    x: Features,
    y: LabelInfo,
}

impl EmbeddingConfig {
    /// [`EmbeddingConfig::load`] with the `hdf5` feature.
    pub(crate) fn load_hdf5(&self) -> Result<Dataset> {
        self.validate()?;
        let src = H5Source::open(&self.path)?;
        let mut class_names = src.class_names()?;
        let clauses = match src.string_attr("clauses") {
            Some(s) => Some(serde_json::from_str::<ClauseStructure>(&s).map_err(|e| {
                Error::BadDataset {
                    path: self.path.clone(),
                    dataset: "@clauses".into(),
                    message: format!("not a JSON clause structure: {e}"),
                }
            })?),
            None => None,
        };

        let mut budget = MemoryBudget::available();
        let train = self.plan(&src, &self.train_x, &self.train_y, self.max_train, &budget)?;
        let test = self.plan(&src, &self.test_x, &self.test_y, self.max_test, &budget)?;
        if train.x.cols != test.x.cols {
            return Err(self.bad(
                &self.test_x,
                format!(
                    "test features have {} columns but train features `{}` have {}",
                    test.x.cols, self.train_x, train.x.cols
                ),
            ));
        }
        let classes = match (train.y.kind, test.y.kind) {
            (LabelKind::Binary(a), LabelKind::Binary(b)) if a == b => false,
            (LabelKind::Binary(_), _) | (_, LabelKind::Binary(_)) => {
                return Err(self.bad(
                    &self.test_y,
                    format!(
                        "test labels do not have the same layout as `{}`",
                        self.train_y
                    ),
                ));
            }
            _ => true,
        };

        let mut provenance = src.provenance();
        provenance.insert("file".into(), self.path.display().to_string());
        provenance.insert(
            "loader".into(),
            serde_json::to_string(self).unwrap_or_default(),
        );

        // Class ids are all read to pick a class subset from, or to count the classes of a file
        // that names none; otherwise only the capped prefix is read. All rows read are checked,
        // and those a subset is picked from are kept.
        let subset = classes && self.classes.is_some();
        let scan_all = subset || (classes && class_names.is_empty());
        let named = u32::try_from(class_names.len()).ok().filter(|&n| n > 0);
        let mut scan = |y: &LabelInfo, cap: Option<usize>| {
            let prefix = cap.map_or(y.rows, |c| c.min(y.rows));
            let keep = if subset { y.rows } else { prefix };
            src.scan_labels(y, (!scan_all).then_some(prefix), keep, named, &mut budget)
        };
        let ytr = scan(&train.y, self.max_train)?;
        let yte = scan(&test.y, self.max_test)?;

        let (mut ytr, mut yte) = match (ytr, yte) {
            (
                Scanned {
                    labels: Labels::Classes(ltr),
                    ids: itr,
                },
                Scanned {
                    labels: Labels::Classes(lte),
                    ids: ite,
                },
            ) => {
                let n_classes =
                    self.count_classes(&class_names, itr, ite, train.y.rows + test.y.rows)?;
                let mk = |labels| Targets::Classes { labels, n_classes };
                (mk(ltr), mk(lte))
            }
            (
                Scanned {
                    labels: Labels::Binary(ytr),
                    ..
                },
                Scanned {
                    labels: Labels::Binary(yte),
                    ..
                },
            ) => (Targets::Binary(ytr), Targets::Binary(yte)),
            _ => {
                return Err(self.bad(
                    &self.test_y,
                    format!(
                        "test labels do not have the same layout as `{}`",
                        self.train_y
                    ),
                ));
            }
        };
        if class_names.is_empty() {
            class_names = (0..ytr.n_outputs()).map(|c| c.to_string()).collect();
        }

        // Rows (file indices) of each split to read.
        let mut rows_tr: Vec<usize> = (0..ytr.len()).collect();
        let mut rows_te: Vec<usize> = (0..yte.len()).collect();
        if let Some(subset) = &self.classes {
            let ids = self.resolve_classes(subset, &class_names, ytr.n_outputs())?;
            (rows_tr, ytr) = keep_classes(ytr, &ids);
            (rows_te, yte) = keep_classes(yte, &ids);
            let map: Vec<String> = ids
                .iter()
                .enumerate()
                .map(|(new, old)| format!("{new}<-{old}"))
                .collect();
            provenance.insert("class_map".into(), map.join(","));
            class_names = ids
                .iter()
                .map(|&c| class_names[c as usize].clone())
                .collect();
            for (rows, name) in [(&rows_tr, &self.train_y), (&rows_te, &self.test_y)] {
                if rows.is_empty() {
                    return Err(self.bad(name, "empty split: no rows of the chosen classes"));
                }
            }
        }
        for (rows, y, cap) in [
            (&mut rows_tr, &mut ytr, self.max_train),
            (&mut rows_te, &mut yte, self.max_test),
        ] {
            if let Some(cap) = cap.filter(|&c| c < rows.len()) {
                rows.truncate(cap);
                *y = y.select(&(0..cap).collect::<Vec<_>>());
            }
        }

        let mut train = Split {
            x: src.read_feature_rows(&train.x, &rows_tr, &mut budget)?,
            y: ytr,
        };
        let mut test = Split {
            x: src.read_feature_rows(&test.x, &rows_te, &mut budget)?,
            y: yte,
        };
        if self.l2_normalize {
            l2_normalize_rows(&mut train.x);
            l2_normalize_rows(&mut test.x);
        }
        if self.standardize {
            standardize(&mut train.x, &mut test.x);
        }
        let name = self
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "embeddings".into());
        Ok(Dataset {
            name,
            train,
            test,
            class_names,
            clauses,
            image_shape: None,
            provenance,
        })
    }

    /// Opens and checks one split's datasets, and refuses early if even the capped feature rows
    /// cannot fit in memory.
    fn plan(
        &self,
        src: &H5Source,
        xname: &str,
        yname: &str,
        cap: Option<usize>,
        budget: &MemoryBudget,
    ) -> Result<Planned> {
        let x = src.features(xname)?;
        budget.check(&src.feature_read(&x, cap.map_or(x.rows, |c| c.min(x.rows))))?;
        let y = src.label_info(yname)?;
        if x.rows != y.rows {
            return Err(self.bad(
                yname,
                format!("has {} rows but `{xname}` has {}", y.rows, x.rows),
            ));
        }
        Ok(Planned { x, y })
    }

    /// The number of classes: the names' count, or the largest label + 1 where the file names
    /// none. `train` and `test` hold each split's largest label and first label beyond the
    /// names; `rows` is the number of rows of both.
    fn count_classes(
        &self,
        class_names: &[String],
        train: IdStats,
        test: IdStats,
        rows: usize,
    ) -> Result<usize> {
        let (max_tr, max_te) = (train.max, test.max);
        let max_label = max_tr.max(max_te).map_or(0, |(m, _)| m as usize);
        // Without names the class count comes from the largest label: bound it by what the file
        // can justify before anything is allocated per class.
        if class_names.is_empty() && max_label >= rows.max(MAX_CLASSES) {
            let (ds, row) = match max_tr {
                Some((m, row)) if m as usize == max_label => (&self.train_y, row),
                _ => (&self.test_y, max_te.map_or(0, |(_, r)| r)),
            };
            return Err(self.bad(
                ds,
                format!(
                    "label {max_label} at row {row} implies {} classes, more than the {rows} rows \
                     and the cap of {MAX_CLASSES} classes: class ids must run 0..C−1 (or name the \
                     classes in the `class_names` attribute)",
                    max_label as u64 + 1
                ),
            ));
        }
        if class_names.is_empty() {
            return Ok(max_label + 1);
        }
        let n_classes = class_names.len();
        let (ds, over) = match train.first_over {
            Some(o) => (&self.train_y, Some(o)),
            None => (&self.test_y, test.first_over),
        };
        if let Some((row, v)) = over {
            return Err(self.bad(
                ds,
                format!(
                    "label {v} at row {row} is out of range: the file names {n_classes} classes"
                ),
            ));
        }
        Ok(n_classes)
    }

    fn bad(&self, dataset: &str, message: impl Into<String>) -> Error {
        Error::BadDataset {
            path: self.path.clone(),
            dataset: dataset.to_string(),
            message: message.into(),
        }
    }
}

/// Positions of the rows whose class is in `ids`, and their targets relabelled to the position of
/// their class in `ids`. Binary targets are kept whole, as before.
fn keep_classes(y: Targets, ids: &[u32]) -> (Vec<usize>, Targets) {
    let Targets::Classes { labels, .. } = &y else {
        return ((0..y.len()).collect(), y);
    };
    let mut rows = Vec::new();
    let mut new_labels = Vec::new();
    for (i, &l) in labels.iter().enumerate() {
        if let Some(p) = ids.iter().position(|&c| c == l) {
            rows.push(i);
            new_labels.push(p as u32);
        }
    }
    let y = Targets::Classes {
        labels: Array1::from(new_labels),
        n_classes: ids.len(),
    };
    (rows, y)
}

//! Embedding datasets from HDF5 (SPEC §3): frozen image embeddings → MLP, softmax + CE.
//!
//! Layout (paths configurable): `/train/x` `[N, d]` float16/32/64, `/train/y` `[N]` integer class
//! ids, `/test/x`, `/test/y`; optional root attribute `class_names` (a JSON list in a string, or
//! an array of strings). A 2-D 0/1 `y` is read as multi-label binary targets, and a `clauses`
//! attribute (JSON [`ClauseStructure`]) restores a Boolean task written by [`crate::write_hdf5`].
//!
//! Processing order: class subset (relabelled `0..c−1` in the order given) → row cap (first rows
//! of each split) → L2 normalisation of rows → standardisation with train statistics.

use std::path::{Path, PathBuf};

#[cfg(feature = "hdf5")]
use ndarray::Array1;
use serde::{Deserialize, Serialize};

#[cfg(feature = "hdf5")]
use crate::clauses::ClauseStructure;
use crate::dataset::Dataset;
#[cfg(feature = "hdf5")]
use crate::dataset::{Split, Targets};
use crate::error::{Error, Result};
#[cfg(feature = "hdf5")]
use crate::hdf5_read::{H5Source, Labels};
#[cfg(feature = "hdf5")]
use crate::preprocess::{l2_normalize_rows, standardize};

/// Most classes a file without `class_names` may imply through its largest label, unless it
/// has more rows than that (each class needs a row to be learnable).
pub const MAX_CLASSES: usize = 100_000;

/// A class picked by id or by name (from the file's `class_names`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ClassRef {
    /// Class id as stored in the file.
    Id(u32),
    /// Class name, looked up in `class_names`.
    Name(String),
}

impl std::fmt::Display for ClassRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClassRef::Id(i) => write!(f, "{i}"),
            ClassRef::Name(n) => write!(f, "{n:?}"),
        }
    }
}

/// How to load an embedding dataset.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingConfig {
    /// HDF5 file.
    pub path: PathBuf,
    /// Dataset path of the training features.
    #[serde(default = "defaults::train_x")]
    pub train_x: String,
    /// Dataset path of the training labels.
    #[serde(default = "defaults::train_y")]
    pub train_y: String,
    /// Dataset path of the test features.
    #[serde(default = "defaults::test_x")]
    pub test_x: String,
    /// Dataset path of the test labels.
    #[serde(default = "defaults::test_y")]
    pub test_y: String,
    /// Scale every row to unit L2 norm (the CLIP convention).
    #[serde(default)]
    pub l2_normalize: bool,
    /// Subtract the train mean and divide by the train standard deviation, per column.
    #[serde(default)]
    pub standardize: bool,
    /// Keep only these classes, relabelled `0..c−1` in this order.
    #[serde(default)]
    pub classes: Option<Vec<ClassRef>>,
    /// Keep at most this many training rows (the first ones).
    #[serde(default)]
    pub max_train: Option<usize>,
    /// Keep at most this many test rows (the first ones).
    #[serde(default)]
    pub max_test: Option<usize>,
}

mod defaults {
    pub(super) fn train_x() -> String {
        "train/x".into()
    }
    pub(super) fn train_y() -> String {
        "train/y".into()
    }
    pub(super) fn test_x() -> String {
        "test/x".into()
    }
    pub(super) fn test_y() -> String {
        "test/y".into()
    }
}

impl EmbeddingConfig {
    /// Default layout and no processing for the file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        EmbeddingConfig {
            path: path.into(),
            train_x: defaults::train_x(),
            train_y: defaults::train_y(),
            test_x: defaults::test_x(),
            test_y: defaults::test_y(),
            l2_normalize: false,
            standardize: false,
            classes: None,
            max_train: None,
            max_test: None,
        }
    }

    /// Checks the fields that can be checked without opening the file.
    ///
    /// # Errors
    /// [`Error::Config`] for a zero row cap or an empty or repeated class subset.
    pub fn validate(&self) -> Result<()> {
        if self.max_train == Some(0) {
            return Err(Error::config(
                "max_train",
                0,
                "must be at least 1 (or absent)",
            ));
        }
        if self.max_test == Some(0) {
            return Err(Error::config(
                "max_test",
                0,
                "must be at least 1 (or absent)",
            ));
        }
        if let Some(c) = &self.classes {
            if c.is_empty() {
                return Err(Error::config(
                    "classes",
                    "[]",
                    "name at least one class (or omit it)",
                ));
            }
            for (i, a) in c.iter().enumerate() {
                if c[..i].contains(a) {
                    return Err(Error::config("classes", a, "class listed twice"));
                }
            }
        }
        Ok(())
    }

    /// Loads and processes the dataset.
    ///
    /// # Errors
    /// A typed [`Error`] naming the file and dataset for: a missing file or dataset, features
    /// that are not 2-D floats, non-float features, float, negative or out-of-range labels, x and
    /// y lengths that differ, train and test widths that differ, NaN or Inf features (first row
    /// and column), an empty split, or a class subset naming a class that does not exist.
    pub fn load(&self) -> Result<Dataset> {
        #[cfg(feature = "hdf5")]
        {
            self.load_hdf5()
        }
        #[cfg(not(feature = "hdf5"))]
        {
            Err(Error::Hdf5NotCompiled {
                path: self.path.clone(),
            })
        }
    }

    #[cfg(feature = "hdf5")]
    fn load_hdf5(&self) -> Result<Dataset> {
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

        let train = self.read_split(&src, &self.train_x, &self.train_y)?;
        let test = self.read_split(&src, &self.test_x, &self.test_y)?;
        if train.0.ncols() != test.0.ncols() {
            return Err(Error::BadDataset {
                path: self.path.clone(),
                dataset: self.test_x.clone(),
                message: format!(
                    "test features have {} columns but train features `{}` have {}",
                    test.0.ncols(),
                    self.train_x,
                    train.0.ncols()
                ),
            });
        }

        let mut provenance = src.provenance();
        provenance.insert("file".into(), self.path.display().to_string());
        provenance.insert(
            "loader".into(),
            serde_json::to_string(self).unwrap_or_default(),
        );

        let (mut train, mut test) = match (train.1, test.1) {
            (Labels::Classes(ytr), Labels::Classes(yte)) => {
                let max_label = ytr.iter().chain(yte.iter()).copied().max().unwrap_or(0) as usize;
                // Without names the class count comes from the largest label: bound it by what
                // the file can justify before anything is allocated per class.
                let rows = ytr.len() + yte.len();
                if class_names.is_empty() && max_label >= rows.max(MAX_CLASSES) {
                    let (ds, y) = if ytr.iter().any(|&v| v as usize == max_label) {
                        (&self.train_y, &ytr)
                    } else {
                        (&self.test_y, &yte)
                    };
                    let row = y.iter().position(|&v| v as usize == max_label).unwrap_or(0);
                    return Err(Error::BadDataset {
                        path: self.path.clone(),
                        dataset: ds.clone(),
                        message: format!(
                            "label {max_label} at row {row} implies {} classes, more than the {rows} rows \
                             and the cap of {MAX_CLASSES} classes: class ids must run 0..C−1 (or name the \
                             classes in the `class_names` attribute)",
                            max_label as u64 + 1
                        ),
                    });
                }
                let n_classes = if class_names.is_empty() {
                    max_label + 1
                } else {
                    class_names.len()
                };
                if max_label >= n_classes {
                    let (ds, y) = if ytr.iter().any(|&v| v as usize >= n_classes) {
                        (&self.train_y, &ytr)
                    } else {
                        (&self.test_y, &yte)
                    };
                    let (row, v) = y
                        .indexed_iter()
                        .find(|(_, v)| **v as usize >= n_classes)
                        .unwrap_or((0, &0));
                    return Err(Error::BadDataset {
                        path: self.path.clone(),
                        dataset: ds.clone(),
                        message: format!(
                            "label {v} at row {row} is out of range: the file names {n_classes} classes"
                        ),
                    });
                }
                let mk = |x, labels| Split {
                    x,
                    y: Targets::Classes { labels, n_classes },
                };
                (mk(train.0, ytr), mk(test.0, yte))
            }
            (Labels::Binary(ytr), Labels::Binary(yte)) if ytr.ncols() == yte.ncols() => (
                Split {
                    x: train.0,
                    y: Targets::Binary(ytr),
                },
                Split {
                    x: test.0,
                    y: Targets::Binary(yte),
                },
            ),
            _ => {
                return Err(Error::BadDataset {
                    path: self.path.clone(),
                    dataset: self.test_y.clone(),
                    message: format!(
                        "test labels do not have the same layout as `{}`",
                        self.train_y
                    ),
                });
            }
        };
        if class_names.is_empty() {
            class_names = (0..train.y.n_outputs()).map(|c| c.to_string()).collect();
        }

        if let Some(subset) = &self.classes {
            let ids = self.resolve_classes(subset, &class_names, train.y.n_outputs())?;
            train = keep_classes(&train, &ids);
            test = keep_classes(&test, &ids);
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
            for (split, name) in [(&train, &self.train_y), (&test, &self.test_y)] {
                if split.is_empty() {
                    return Err(Error::BadDataset {
                        path: self.path.clone(),
                        dataset: name.clone(),
                        message: "empty split: no rows of the chosen classes".into(),
                    });
                }
            }
        }
        if let Some(cap) = self.max_train {
            train = cap_rows(train, cap);
        }
        if let Some(cap) = self.max_test {
            test = cap_rows(test, cap);
        }
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
            provenance,
        })
    }

    #[cfg(feature = "hdf5")]
    fn read_split(
        &self,
        src: &H5Source,
        xname: &str,
        yname: &str,
    ) -> Result<(ndarray::Array2<f32>, Labels)> {
        let x = src.read_features(xname)?;
        let y = src.read_labels(yname)?;
        if x.nrows() != y.len() {
            return Err(Error::BadDataset {
                path: self.path.clone(),
                dataset: yname.into(),
                message: format!("has {} rows but `{xname}` has {}", y.len(), x.nrows()),
            });
        }
        Ok((x, y))
    }

    #[cfg_attr(not(feature = "hdf5"), allow(dead_code))]
    fn resolve_classes(
        &self,
        subset: &[ClassRef],
        names: &[String],
        n_classes: usize,
    ) -> Result<Vec<u32>> {
        subset
            .iter()
            .map(|c| match c {
                ClassRef::Id(i) if (*i as usize) < n_classes => Ok(*i),
                ClassRef::Name(n) => names
                    .iter()
                    .position(|m| m == n)
                    .map(|p| p as u32)
                    .ok_or_else(|| {
                        Error::config(
                            "classes",
                            c,
                            format!(
                                "no class of that name in {}; classes are {names:?}",
                                self.path.display()
                            ),
                        )
                    }),
                ClassRef::Id(_) => Err(Error::config(
                    "classes",
                    c,
                    format!(
                        "{} has classes 0..{}",
                        self.path.display(),
                        n_classes.saturating_sub(1)
                    ),
                )),
            })
            .collect()
    }
}

/// Rows whose class is in `ids`, relabelled to the position of their class in `ids`.
#[cfg(feature = "hdf5")]
fn keep_classes(split: &Split, ids: &[u32]) -> Split {
    let Targets::Classes { labels, .. } = &split.y else {
        return split.clone();
    };
    let mut rows = Vec::new();
    let mut new_labels = Vec::new();
    for (i, &l) in labels.iter().enumerate() {
        if let Some(p) = ids.iter().position(|&c| c == l) {
            rows.push(i);
            new_labels.push(p as u32);
        }
    }
    Split {
        x: split.x.select(ndarray::Axis(0), &rows),
        y: Targets::Classes {
            labels: Array1::from(new_labels),
            n_classes: ids.len(),
        },
    }
}

/// The first `cap` rows of `split` (all of them if it is shorter).
#[cfg(feature = "hdf5")]
fn cap_rows(split: Split, cap: usize) -> Split {
    if split.len() <= cap {
        return split;
    }
    let idx: Vec<usize> = (0..cap).collect();
    split.select(&idx)
}

/// Shorthand: load the file at `path` with the default layout and no processing.
///
/// # Errors
/// As [`EmbeddingConfig::load`].
pub fn load_embeddings(path: impl AsRef<Path>) -> Result<Dataset> {
    EmbeddingConfig::new(path.as_ref()).load()
}

#[cfg(all(test, not(feature = "hdf5")))]
mod no_hdf5_tests {
    use super::*;

    #[test]
    fn without_the_hdf5_feature_loading_says_how_to_get_it() {
        let err = load_embeddings("any.h5").unwrap_err();
        assert!(matches!(err, Error::Hdf5NotCompiled { .. }));
        assert!(err.to_string().contains("`hdf5` feature"), "{err}");
    }
}

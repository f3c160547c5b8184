//! Embedding datasets from HDF5 (SPEC §3): frozen image embeddings → MLP, softmax + CE.
//!
//! Layout (paths configurable): `/train/x` `[N, d]` float16/32/64, `/train/y` `[N]` integer class
//! ids, `/test/x`, `/test/y`; optional root attribute `class_names` (a JSON list in a string, or
//! an array of strings). A 2-D 0/1 `y` is read as multi-label binary targets, and a `clauses`
//! attribute (JSON [`crate::ClauseStructure`]) restores a Boolean task written by
//! [`crate::write_hdf5`].
//!
//! Processing order: class subset (relabelled `0..c−1` in the order given) → row cap (first rows
//! of each split) → L2 normalisation of rows → standardisation with train statistics.
//!
//! Only the feature rows that survive the class subset and the row cap are read from the file
//! (see `embeddings_hdf5`), every read is sized from the declared shape and refused beyond the
//! available memory, and data stored outside the file is refused (see `hdf5_guard`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::error::{Error, Result};

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
    /// Keep at most this many training rows (the first ones, after the class subset); only
    /// those feature rows are read from the file.
    #[serde(default)]
    pub max_train: Option<usize>,
    /// Keep at most this many test rows (the first ones, after the class subset); only those
    /// feature rows are read from the file.
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
    ///
    /// Refused before anything is read, with [`Error::StoredElsewhere`]: a dataset it reads (or a
    /// group on its path) reached through an external link, or with external raw storage, or a
    /// virtual layout; results are identified by the hash of this file alone. Refused with
    /// [`Error::TooLarge`] before it is allocated: a read the declared shape sizes beyond the
    /// memory available (`MemAvailable` in `/proc/meminfo`, or the cgroup's `memory.max` less
    /// its usage if lower; 64 GiB where neither is readable). Only the feature rows kept by the
    /// class subset and `max_train` / `max_test` are read (and checked for NaN and Inf); every
    /// label row is read, in blocks, to check it and to count the classes.
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

    #[cfg_attr(not(feature = "hdf5"), allow(dead_code))]
    pub(crate) fn resolve_classes(
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

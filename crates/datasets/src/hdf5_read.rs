//! Checked reading of HDF5 datasets: shapes, element types, finiteness and labels.
//!
//! Every check produces an [`Error`] naming the file, the dataset path and the offending value.

use std::path::{Path, PathBuf};

use hdf5::types::{TypeDescriptor, VarLenAscii, VarLenUnicode};
use ndarray::{Array1, Array2};

use crate::dataset::Provenance;
use crate::error::{Error, Result};

/// An open HDF5 file together with its path, for error messages.
pub(crate) struct H5Source {
    pub(crate) path: PathBuf,
    pub(crate) file: hdf5::File,
}

impl H5Source {
    /// Opens `path` read-only.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        if !path.exists() {
            return Err(Error::FileNotFound {
                path: path.to_path_buf(),
            });
        }
        let file = hdf5::File::open(path).map_err(|e| Error::Hdf5 {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(H5Source {
            path: path.to_path_buf(),
            file,
        })
    }

    fn bad(&self, dataset: &str, message: impl Into<String>) -> Error {
        Error::BadDataset {
            path: self.path.clone(),
            dataset: dataset.to_string(),
            message: message.into(),
        }
    }

    fn dataset(&self, name: &str) -> Result<hdf5::Dataset> {
        if !self.file.link_exists(name) {
            return Err(Error::MissingDataset {
                path: self.path.clone(),
                dataset: name.into(),
            });
        }
        self.file
            .dataset(name)
            .map_err(|e| self.bad(name, format!("cannot open: {e}")))
    }

    fn descriptor(&self, name: &str, ds: &hdf5::Dataset) -> Result<TypeDescriptor> {
        ds.dtype()
            .and_then(|t| t.to_descriptor())
            .map_err(|e| self.bad(name, format!("unsupported element type: {e}")))
    }

    /// Reads a 2-D float dataset (f16, f32 or f64 on disk) as f32, rejecting NaN and Inf.
    pub(crate) fn read_features(&self, name: &str) -> Result<Array2<f32>> {
        let ds = self.dataset(name)?;
        let shape = ds.shape();
        if shape.len() != 2 {
            return Err(self.bad(
                name,
                format!("features must be 2-D [N, d], got shape {shape:?}"),
            ));
        }
        match self.descriptor(name, &ds)? {
            TypeDescriptor::Float(_) => {}
            other => {
                return Err(self.bad(
                    name,
                    format!("features must be float16, float32 or float64, got {other}"),
                ));
            }
        }
        if shape[0] == 0 {
            return Err(self.bad(name, "empty split: 0 rows"));
        }
        if shape[1] == 0 {
            return Err(self.bad(name, "features have 0 columns"));
        }
        let x: Array2<f32> = ds
            .read_2d::<f32>()
            .map_err(|e| self.bad(name, format!("cannot read: {e}")))?;
        if let Some(((row, col), &value)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFinite {
                path: self.path.clone(),
                dataset: name.into(),
                row,
                col,
                value,
            });
        }
        Ok(x)
    }

    /// Reads integer labels.
    ///
    /// A 1-D dataset holds class ids (`Labels::Classes`, each ≥ 0). A 2-D dataset holds 0/1
    /// targets, one column per output bit (`Labels::Binary`).
    pub(crate) fn read_labels(&self, name: &str) -> Result<Labels> {
        let ds = self.dataset(name)?;
        let shape = ds.shape();
        match self.descriptor(name, &ds)? {
            TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) | TypeDescriptor::Boolean => {}
            TypeDescriptor::Float(_) => {
                return Err(self.bad(
                    name,
                    "labels are floating point; expected integer class ids (cast them to int64)",
                ));
            }
            other => {
                return Err(self.bad(name, format!("labels must be integers, got {other}")));
            }
        }
        let unsigned = matches!(self.descriptor(name, &ds)?, TypeDescriptor::Unsigned(_));
        match shape.len() {
            1 if unsigned => {
                // Read unsigned ids as u64, so a value beyond i64 is reported as it is.
                let y = ds
                    .read_1d::<u64>()
                    .map_err(|e| self.bad(name, format!("cannot read: {e}")))?;
                if let Some((i, &v)) = y.indexed_iter().find(|(_, v)| **v > u64::from(u32::MAX)) {
                    return Err(self.bad(name, format!("label {v} at row {i} is too large")));
                }
                Ok(Labels::Classes(y.mapv(|v| v as u32)))
            }
            1 => {
                let y = ds
                    .read_1d::<i64>()
                    .map_err(|e| self.bad(name, format!("cannot read: {e}")))?;
                if let Some((i, &v)) = y.indexed_iter().find(|(_, v)| **v < 0) {
                    return Err(self.bad(name, format!("negative label {v} at row {i}")));
                }
                if let Some((i, &v)) = y.indexed_iter().find(|(_, v)| **v > i64::from(u32::MAX)) {
                    return Err(self.bad(name, format!("label {v} at row {i} is too large")));
                }
                Ok(Labels::Classes(y.mapv(|v| v as u32)))
            }
            2 => {
                let y = ds
                    .read_2d::<i64>()
                    .map_err(|e| self.bad(name, format!("cannot read: {e}")))?;
                if let Some(((r, c), &v)) = y.indexed_iter().find(|(_, v)| **v != 0 && **v != 1) {
                    return Err(self.bad(
                        name,
                        format!("2-D labels must be 0/1 targets, got {v} at row {r}, column {c}"),
                    ));
                }
                Ok(Labels::Binary(y.mapv(|v| v as f32)))
            }
            _ => Err(self.bad(
                name,
                format!("labels must be 1-D [N] (or 2-D 0/1), got shape {shape:?}"),
            )),
        }
    }

    /// Reads a string attribute of the file root, stored as a variable-length or fixed-length
    /// string scalar. `None` if absent or not a string.
    pub(crate) fn string_attr(&self, name: &str) -> Option<String> {
        let attr = self.file.attr(name).ok()?;
        if attr.ndim() != 0 {
            return None;
        }
        let desc = attr.dtype().ok()?.to_descriptor().ok()?;
        match desc {
            TypeDescriptor::VarLenUnicode => attr
                .read_scalar::<VarLenUnicode>()
                .ok()
                .map(|s| s.as_str().to_string()),
            TypeDescriptor::VarLenAscii => attr
                .read_scalar::<VarLenAscii>()
                .ok()
                .map(|s| s.as_str().to_string()),
            _ => None,
        }
    }

    /// Class names from the `class_names` attribute: a JSON list in a string scalar, or an array
    /// of strings. Empty when absent.
    pub(crate) fn class_names(&self) -> Result<Vec<String>> {
        if let Some(s) = self.string_attr("class_names") {
            return serde_json::from_str::<Vec<String>>(&s).map_err(|e| Error::BadDataset {
                path: self.path.clone(),
                dataset: "@class_names".into(),
                message: format!("attribute is a string but not a JSON list of names: {e}"),
            });
        }
        let Ok(attr) = self.file.attr("class_names") else {
            return Ok(Vec::new());
        };
        if let Ok(v) = attr.read_1d::<VarLenUnicode>() {
            return Ok(v.iter().map(|s| s.as_str().to_string()).collect());
        }
        if let Ok(v) = attr.read_1d::<VarLenAscii>() {
            return Ok(v.iter().map(|s| s.as_str().to_string()).collect());
        }
        Ok(Vec::new())
    }

    /// String and numeric scalar attributes of the file root, for the provenance.
    pub(crate) fn provenance(&self) -> Provenance {
        let mut p = Provenance::new();
        for name in self.file.attr_names().unwrap_or_default() {
            if name == "class_names" || name == "clauses" {
                continue;
            }
            if let Some(s) = self.string_attr(&name) {
                p.insert(name, s);
            } else if let Ok(attr) = self.file.attr(&name) {
                if attr.ndim() == 0 {
                    if let Ok(v) = attr.read_scalar::<f64>() {
                        p.insert(name, v.to_string());
                    }
                }
            }
        }
        p
    }
}

/// Labels as stored on disk.
pub(crate) enum Labels {
    /// `[N]` class ids.
    Classes(Array1<u32>),
    /// `[N, C]` 0/1 targets.
    Binary(Array2<f32>),
}

impl Labels {
    pub(crate) fn len(&self) -> usize {
        match self {
            Labels::Classes(y) => y.len(),
            Labels::Binary(y) => y.nrows(),
        }
    }
}

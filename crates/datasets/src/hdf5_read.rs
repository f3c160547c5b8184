//! Checked reading of HDF5 files: features (shape, element type, finiteness), attributes and
//! provenance. Labels are read by `hdf5_labels`; data stored outside the file is refused by
//! `hdf5_guard`.
//!
//! Datasets are checked from their declared shape and type before anything is read, and only
//! the rows the loader keeps are read, after their memory is reserved ([`MemoryBudget`]). Every
//! check produces an [`Error`] naming the file, the dataset path and the offending value.

use std::path::{Path, PathBuf};

use hdf5::types::{TypeDescriptor, VarLenAscii, VarLenUnicode};
use ndarray::{Array2, s};

use crate::dataset::Provenance;
use crate::error::{Error, Result};
use crate::hdf5_guard::open_checked;
use crate::memory::{MemoryBudget, Read, read_bytes};

/// Bytes read at a time where rows are read block by block.
pub(crate) const BLOCK_BYTES: usize = 8 << 20;

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

    /// A [`Error::BadDataset`] for dataset `dataset` of this file.
    pub(crate) fn bad(&self, dataset: &str, message: impl Into<String>) -> Error {
        Error::BadDataset {
            path: self.path.clone(),
            dataset: dataset.to_string(),
            message: message.into(),
        }
    }

    /// Opens dataset `name`, refusing data stored outside this file ([`open_checked`]).
    pub(crate) fn dataset(&self, name: &str) -> Result<hdf5::Dataset> {
        open_checked(self, name)
    }

    /// The element type of `ds`.
    pub(crate) fn descriptor(&self, name: &str, ds: &hdf5::Dataset) -> Result<TypeDescriptor> {
        ds.dtype()
            .and_then(|t| t.to_descriptor())
            .map_err(|e| self.bad(name, format!("unsupported element type: {e}")))
    }

    /// Opens and checks a 2-D float dataset (f16, f32 or f64 on disk) without reading it.
    pub(crate) fn features(&self, name: &str) -> Result<Features> {
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
        Ok(Features {
            name: name.to_string(),
            rows: shape[0],
            cols: shape[1],
            ds,
        })
    }

    /// The planned read of `rows` rows of `f` as f32, for a [`MemoryBudget`].
    pub(crate) fn feature_read<'a>(&'a self, f: &'a Features, rows: usize) -> Read<'a> {
        Read {
            file: &self.path,
            dataset: &f.name,
            shape: f.shape(),
            rows,
            bytes: read_bytes(rows, f.cols, std::mem::size_of::<f32>()),
        }
    }

    /// Reads rows `rows` (ascending file row indices) of `f` as f32, rejecting NaN and Inf, after
    /// reserving their memory from `budget`. All rows read as one array; a prefix or any run of
    /// consecutive rows as one hyperslab; scattered rows block by block.
    pub(crate) fn read_feature_rows(
        &self,
        f: &Features,
        rows: &[usize],
        budget: &mut MemoryBudget,
    ) -> Result<Array2<f32>> {
        budget.reserve(&self.feature_read(f, rows.len()))?;
        let cannot = |e: hdf5::Error| self.bad(&f.name, format!("cannot read: {e}"));
        let x: Array2<f32> = match (rows.first(), rows.last()) {
            (Some(&a), Some(&b)) if b - a + 1 == rows.len() => {
                if rows.len() == f.rows {
                    f.ds.read_2d::<f32>().map_err(cannot)?
                } else {
                    f.ds.read_slice_2d::<f32, _>(s![a..=b, ..])
                        .map_err(cannot)?
                }
            }
            (Some(_), Some(&last)) => {
                let block = (BLOCK_BYTES / f.cols.saturating_mul(4)).max(1);
                let mut x = Array2::<f32>::zeros((rows.len(), f.cols));
                let mut i = 0;
                while i < rows.len() {
                    let start = rows[i];
                    let end = start.saturating_add(block).min(last + 1);
                    let part =
                        f.ds.read_slice_2d::<f32, _>(s![start..end, ..])
                            .map_err(cannot)?;
                    while i < rows.len() && rows[i] < end {
                        x.row_mut(i).assign(&part.row(rows[i] - start));
                        i += 1;
                    }
                }
                x
            }
            _ => Array2::zeros((0, f.cols)),
        };
        if let Some(((i, col), &value)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFinite {
                path: self.path.clone(),
                dataset: f.name.clone(),
                row: rows[i],
                col,
                value,
            });
        }
        Ok(x)
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

/// A checked 2-D float dataset, not read yet.
pub(crate) struct Features {
    /// Dataset path inside the file.
    pub(crate) name: String,
    /// Declared rows.
    pub(crate) rows: usize,
    /// Declared columns.
    pub(crate) cols: usize,
    ds: hdf5::Dataset,
}

impl Features {
    /// The declared shape `[rows, cols]`.
    pub(crate) fn shape(&self) -> Vec<usize> {
        vec![self.rows, self.cols]
    }
}

//! Writing a [`Dataset`] in the embedding layout, atomically.
//!
//! The file is written next to its destination under a temporary name, flushed to disk, then
//! renamed, so a reader never sees a half-written file.

use std::path::Path;
#[cfg(feature = "hdf5")]
use std::str::FromStr;

#[cfg(feature = "hdf5")]
use hdf5::types::VarLenUnicode;
#[cfg(feature = "hdf5")]
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
#[cfg(feature = "hdf5")]
use crate::dataset::{Split, Targets};
use crate::error::{Error, Result};

/// Element type of the stored features.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FloatStorage {
    /// IEEE half precision (what the shipped embeddings use).
    F16,
    /// Single precision.
    #[default]
    F32,
    /// Double precision.
    F64,
}

/// Writes `data` to `path`: `train/x`, `train/y`, `test/x`, `test/y`, plus root attributes
/// `class_names` (JSON list), `clauses` (JSON clause structure, Boolean tasks) and the
/// provenance entries as strings.
///
/// Class targets are stored as `[N]` int64; binary targets as `[N, C]` uint8.
///
/// # Errors
/// [`Error::Write`] naming the destination if it is not a regular file (a device, FIFO, socket,
/// directory or symbolic link is never replaced), or if any HDF5 call or the final rename fails;
/// [`Error::Hdf5NotCompiled`] in a build without the `hdf5` feature.
#[cfg(feature = "hdf5")]
pub fn write_hdf5(data: &Dataset, path: impl AsRef<Path>, storage: FloatStorage) -> Result<()> {
    let path = path.as_ref();
    let err = |message: String| Error::Write {
        path: path.to_path_buf(),
        message,
    };
    // Only a regular file (or nothing) is replaced: never a device, FIFO, link or directory.
    if let Ok(m) = std::fs::symlink_metadata(path) {
        if !m.file_type().is_file() {
            return Err(err(
                "refusing to replace something that is not a regular file (a device, FIFO, \
                 socket, directory or symbolic link); write to a regular file path instead"
                    .into(),
            ));
        }
    }
    // A randomly named temporary file beside the target, deleted unless renamed into place.
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let prefix = format!(
        "{}.tmp-",
        path.file_name().unwrap_or_default().to_string_lossy()
    );
    let tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .rand_bytes(8)
        .tempfile_in(dir)
        .map_err(|e| err(e.to_string()))?
        .into_temp_path();
    let result = (|| -> hdf5::Result<()> {
        let file = hdf5::File::create(&tmp)?;
        for (name, split) in [("train", &data.train), ("test", &data.test)] {
            let g = file.create_group(name)?;
            write_split(&g, split, storage)?;
        }
        write_str_attr(
            &file,
            "class_names",
            &serde_json::to_string(&data.class_names).unwrap_or_default(),
        )?;
        if let Some(c) = &data.clauses {
            write_str_attr(
                &file,
                "clauses",
                &serde_json::to_string(c).unwrap_or_default(),
            )?;
        }
        for (k, v) in &data.provenance {
            if k != "class_names" && k != "clauses" && !file.attr_names()?.contains(k) {
                write_str_attr(&file, k, v)?;
            }
        }
        file.flush()?;
        Ok(())
    })();
    result.map_err(|e| err(e.to_string()))?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| err(e.to_string()))?;
    tmp.persist(path).map_err(|e| err(e.error.to_string()))
}

/// Without the `hdf5` feature: always [`Error::Hdf5NotCompiled`].
///
/// # Errors
/// Always.
#[cfg(not(feature = "hdf5"))]
pub fn write_hdf5(_data: &Dataset, path: impl AsRef<Path>, _storage: FloatStorage) -> Result<()> {
    Err(Error::Hdf5NotCompiled {
        path: path.as_ref().to_path_buf(),
    })
}

#[cfg(feature = "hdf5")]
fn write_split(g: &hdf5::Group, split: &Split, storage: FloatStorage) -> hdf5::Result<()> {
    match storage {
        FloatStorage::F16 => {
            let x: Array2<half::f16> = split.x.mapv(half::f16::from_f32);
            g.new_dataset_builder().with_data(&x).create("x")?;
        }
        FloatStorage::F32 => {
            g.new_dataset_builder().with_data(&split.x).create("x")?;
        }
        FloatStorage::F64 => {
            let x: Array2<f64> = split.x.mapv(f64::from);
            g.new_dataset_builder().with_data(&x).create("x")?;
        }
    }
    match &split.y {
        Targets::Classes { labels, .. } => {
            let y = labels.mapv(i64::from);
            g.new_dataset_builder().with_data(&y).create("y")?;
        }
        Targets::Binary(y) => {
            let y = y.mapv(|v| u8::from(v > 0.5));
            g.new_dataset_builder().with_data(&y).create("y")?;
        }
    }
    Ok(())
}

#[cfg(feature = "hdf5")]
fn write_str_attr(loc: &hdf5::File, name: &str, value: &str) -> hdf5::Result<()> {
    let v =
        VarLenUnicode::from_str(value).map_err(|e| hdf5::Error::from(e.to_string().as_str()))?;
    loc.new_attr::<VarLenUnicode>()
        .shape(())
        .create(name)?
        .as_writer()
        .write_scalar(&v)
}

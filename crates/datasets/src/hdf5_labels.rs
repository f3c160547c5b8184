//! Checked reading of integer labels, block by block.
//!
//! A 1-D dataset holds class ids ([`Labels::Classes`], each in `0..=u32::MAX`); a 2-D dataset
//! holds 0/1 targets, one column per output bit ([`Labels::Binary`]). [`H5Source::scan_labels`]
//! reads the rows asked for in blocks of about [`BLOCK_BYTES`], checks each value and records the
//! largest class id, but keeps only the rows asked for, so a declared billion rows never becomes
//! a billion-element allocation.

use hdf5::types::TypeDescriptor;
use ndarray::{Array1, Array2, s};

use crate::error::Result;
use crate::hdf5_read::{BLOCK_BYTES, H5Source};
use crate::memory::{MemoryBudget, Read, read_bytes};

/// Bytes the loader allocates per kept label row besides the label: the row's index (`usize`)
/// and its class relabelled for a class subset (`u32`).
const ROW_OVERHEAD: u64 = 12;

/// Labels as stored on disk (the rows kept).
pub(crate) enum Labels {
    /// `[N]` class ids.
    Classes(Array1<u32>),
    /// `[N, C]` 0/1 targets.
    Binary(Array2<f32>),
}

/// How a label dataset is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LabelKind {
    /// 1-D signed (or boolean) class ids, read as i64.
    Signed,
    /// 1-D unsigned class ids, read as u64.
    Unsigned,
    /// 2-D 0/1 targets with this many columns, read as i64.
    Binary(usize),
}

/// A checked label dataset, not read yet.
pub(crate) struct LabelInfo {
    /// Dataset path inside the file.
    pub(crate) name: String,
    /// Declared rows.
    pub(crate) rows: usize,
    /// Storage kind.
    pub(crate) kind: LabelKind,
    shape: Vec<usize>,
    ds: hdf5::Dataset,
}

/// What a scan of every label row found.
pub(crate) struct Scanned {
    /// The first `keep` rows.
    pub(crate) labels: Labels,
    /// What the class ids scanned hold (class ids only).
    pub(crate) ids: IdStats,
}

/// The largest class id of the rows scanned and the first id beyond a threshold.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct IdStats {
    /// The largest class id and the first row holding it.
    pub(crate) max: Option<(u32, usize)>,
    /// The first row holding a class id at or above the threshold, with that id.
    pub(crate) first_over: Option<(usize, u32)>,
}

impl IdStats {
    /// Folds the class ids `y` of rows `start..` in, with `over` the threshold.
    fn record(&mut self, over: Option<u32>, start: usize, y: &Array1<u32>) {
        for (i, &v) in y.iter().enumerate() {
            if self.max.is_none_or(|(m, _)| v > m) {
                self.max = Some((v, start + i));
            }
            if self.first_over.is_none() && over.is_some_and(|o| v >= o) {
                self.first_over = Some((start + i, v));
            }
        }
    }
}

impl H5Source {
    /// Opens and checks a label dataset (integer type; 1-D, or 2-D for 0/1 targets) without
    /// reading it.
    pub(crate) fn label_info(&self, name: &str) -> Result<LabelInfo> {
        let ds = self.dataset(name)?;
        let shape = ds.shape();
        let desc = self.descriptor(name, &ds)?;
        match desc {
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
        let kind = match (shape.len(), desc) {
            (1, TypeDescriptor::Unsigned(_)) => LabelKind::Unsigned,
            (1, _) => LabelKind::Signed,
            (2, _) => LabelKind::Binary(shape[1]),
            _ => {
                return Err(self.bad(
                    name,
                    format!("labels must be 1-D [N] (or 2-D 0/1), got shape {shape:?}"),
                ));
            }
        };
        Ok(LabelInfo {
            name: name.to_string(),
            rows: shape[0],
            kind,
            shape,
            ds,
        })
    }

    /// Reads the first `scan` rows of `info` (all of them if `None`) in blocks, checking each
    /// value (class ids ≥ 0 and ≤ u32::MAX; 2-D targets 0 or 1), and keeps the first `keep` of
    /// them, whose memory it first reserves from `budget`. Records the largest class id, and the
    /// first id ≥ `over` if given, among the rows scanned.
    pub(crate) fn scan_labels(
        &self,
        info: &LabelInfo,
        scan: Option<usize>,
        keep: usize,
        over: Option<u32>,
        budget: &mut MemoryBudget,
    ) -> Result<Scanned> {
        let scan = scan.map_or(info.rows, |s| s.min(info.rows));
        let keep = keep.min(scan);
        let cols = match info.kind {
            LabelKind::Binary(c) => c,
            _ => 1,
        };
        budget.reserve(&Read {
            file: &self.path,
            dataset: &info.name,
            shape: info.shape.clone(),
            rows: keep,
            // The labels kept, and for each kept row its index and relabelled class.
            bytes: read_bytes(keep, cols, 4)
                .and_then(|b| b.checked_add((keep as u64).checked_mul(ROW_OVERHEAD)?)),
        })?;
        let name = info.name.as_str();
        let cannot = |e: hdf5::Error| self.bad(name, format!("cannot read: {e}"));
        let block = (BLOCK_BYTES / cols.max(1).saturating_mul(8)).max(1);
        let mut out = Scanned {
            labels: match info.kind {
                LabelKind::Binary(c) => Labels::Binary(Array2::zeros((keep, c))),
                _ => Labels::Classes(Array1::zeros(keep)),
            },
            ids: IdStats::default(),
        };
        let mut start = 0;
        while start < scan {
            let end = (start + block).min(scan);
            match &mut out.labels {
                Labels::Binary(kept) => {
                    if cols == 0 {
                        break;
                    }
                    let y = info
                        .ds
                        .read_slice_2d::<i64, _>(s![start..end, ..])
                        .map_err(cannot)?;
                    if let Some(((r, c), &v)) = y.indexed_iter().find(|(_, v)| **v != 0 && **v != 1)
                    {
                        return Err(self.bad(
                            name,
                            format!(
                                "2-D labels must be 0/1 targets, got {v} at row {}, column {c}",
                                start + r
                            ),
                        ));
                    }
                    if start < keep {
                        let n = keep.min(end) - start;
                        kept.slice_mut(s![start..start + n, ..])
                            .assign(&y.slice(s![..n, ..]).mapv(|v| v as f32));
                    }
                }
                Labels::Classes(kept) => {
                    let y = self.read_ids(info, start, end)?;
                    out.ids.record(over, start, &y);
                    if start < keep {
                        let n = keep.min(end) - start;
                        kept.slice_mut(s![start..start + n])
                            .assign(&y.slice(s![..n]));
                    }
                }
            }
            start = end;
        }
        Ok(out)
    }
}

impl H5Source {
    /// Class ids of rows `start..end`, checked: ≥ 0 and ≤ u32::MAX. Unsigned ids are read as
    /// u64, so a value beyond i64 is reported as it is.
    fn read_ids(&self, info: &LabelInfo, start: usize, end: usize) -> Result<Array1<u32>> {
        let name = info.name.as_str();
        let cannot = |e: hdf5::Error| self.bad(name, format!("cannot read: {e}"));
        let too_large = |v: String, i: usize| {
            self.bad(name, format!("label {v} at row {} is too large", start + i))
        };
        if info.kind == LabelKind::Unsigned {
            let y = info
                .ds
                .read_slice_1d::<u64, _>(start..end)
                .map_err(cannot)?;
            if let Some((i, &v)) = y.indexed_iter().find(|(_, v)| **v > u64::from(u32::MAX)) {
                return Err(too_large(v.to_string(), i));
            }
            return Ok(y.mapv(|v| v as u32));
        }
        let y = info
            .ds
            .read_slice_1d::<i64, _>(start..end)
            .map_err(cannot)?;
        if let Some((i, &v)) = y.indexed_iter().find(|(_, v)| **v < 0) {
            return Err(self.bad(name, format!("negative label {v} at row {}", start + i)));
        }
        if let Some((i, &v)) = y.indexed_iter().find(|(_, v)| **v > i64::from(u32::MAX)) {
            return Err(too_large(v.to_string(), i));
        }
        Ok(y.mapv(|v| v as u32))
    }
}

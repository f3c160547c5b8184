//! Refuses datasets whose data is not stored in the opened file itself.
//!
//! A result's identity includes the SHA-256 of the data file it read, and only of that file.
//! HDF5 can make a dataset read bytes from elsewhere: an external link (on the dataset or on any
//! group of its path), external raw storage (`H5Pset_external`, h5py's `external=`) or a virtual
//! dataset (`H5D_VIRTUAL`). Editing that other file would leave the hash unchanged and let a
//! resumed run reuse a stale result, so [`open_checked`] refuses all three with
//! [`Error::StoredElsewhere`]. Soft links are followed as long as they stay inside the file.

use hdf5::plist::dataset_create::Layout;
use hdf5::{IndexType, IterationOrder, LinkType};

use crate::error::{Error, Result};
use crate::hdf5_read::H5Source;

/// Opens dataset `name` of `src` after checking that it and every group on its path live in the
/// opened file, and that its raw data does too.
///
/// # Errors
/// [`Error::MissingDataset`] if a component of the path does not exist,
/// [`Error::StoredElsewhere`] for an external link, external storage or a virtual dataset, and
/// [`Error::BadDataset`] if HDF5 cannot open or describe it.
pub(crate) fn open_checked(src: &H5Source, name: &str) -> Result<hdf5::Dataset> {
    let missing = || Error::MissingDataset {
        path: src.path.clone(),
        dataset: name.into(),
    };
    let parts: Vec<&str> = name
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.is_empty() {
        return Err(missing());
    }
    let home = src
        .file
        .loc_info()
        .map_err(|e| src.bad(name, format!("cannot inspect the file: {e}")))?
        .fileno;
    let mut parent = src
        .file
        .group("/")
        .map_err(|e| src.bad(name, format!("cannot open the root group: {e}")))?;
    for (i, part) in parts.iter().enumerate() {
        let prefix = parts[..=i].join("/");
        let kind = parent
            .find_link(IndexType::Name, IterationOrder::Native, |link, info| {
                Ok((link == *part).then_some(info.link_type))
            })
            .map_err(|e| src.bad(name, format!("cannot list the links of `{prefix}`: {e}")))?
            .ok_or_else(missing)?;
        if kind == LinkType::External {
            let target = describe_target(src, &prefix)
                .unwrap_or_else(|| "a file that cannot be opened".into());
            return Err(stored_elsewhere(
                src,
                name,
                format!("is stored in another file (external link `{prefix}` to {target})"),
                copy_fix(&prefix),
            ));
        }
        // A soft link stays in the file by itself, but its target path may cross an external
        // link: compare the file the object lives in.
        let info = src
            .file
            .loc_info_by_name(&prefix)
            .map_err(|e| src.bad(name, format!("cannot open `{prefix}`: {e}")))?;
        if info.fileno != home {
            let target = describe_target(src, &prefix).unwrap_or_else(|| "another file".into());
            return Err(stored_elsewhere(
                src,
                name,
                format!("is stored in another file (`{prefix}` leads to {target})"),
                copy_fix(&prefix),
            ));
        }
        if i + 1 < parts.len() {
            parent = src
                .file
                .group(&prefix)
                .map_err(|e| src.bad(name, format!("cannot open group `{prefix}`: {e}")))?;
        }
    }
    let ds = src
        .file
        .dataset(name)
        .map_err(|e| src.bad(name, format!("cannot open: {e}")))?;
    check_raw_storage(src, name, &ds)?;
    Ok(ds)
}

/// Refuses external raw storage and virtual layouts.
fn check_raw_storage(src: &H5Source, name: &str, ds: &hdf5::Dataset) -> Result<()> {
    let dcpl = ds
        .dcpl()
        .map_err(|e| src.bad(name, format!("cannot read its creation properties: {e}")))?;
    let external = dcpl
        .get_external()
        .map_err(|e| src.bad(name, format!("cannot read its storage properties: {e}")))?;
    if !external.is_empty() {
        let files: Vec<String> = external.iter().map(|f| f.name.clone()).collect();
        return Err(stored_elsewhere(
            src,
            name,
            format!(
                "is stored in another file (external raw storage in {})",
                files.join(", ")
            ),
            materialize_fix(name),
        ));
    }
    let layout = dcpl
        .get_layout()
        .map_err(|e| src.bad(name, format!("cannot read its layout: {e}")))?;
    if !matches!(
        layout,
        Layout::Compact | Layout::Contiguous | Layout::Chunked
    ) {
        return Err(stored_elsewhere(
            src,
            name,
            format!(
                "is a virtual dataset (its data is mapped from {})",
                virtual_sources(&dcpl)
            ),
            materialize_fix(name),
        ));
    }
    Ok(())
}

/// `a.h5:/x, b.h5:/y`: the sources of a virtual dataset (`other datasets` if unknown).
fn virtual_sources(dcpl: &hdf5::plist::DatasetCreate) -> String {
    let map = dcpl.virtual_map();
    if map.is_empty() {
        return "other datasets".into();
    }
    let list: Vec<String> = map
        .iter()
        .map(|m| format!("{}:{}", m.src_filename, m.src_dataset))
        .collect();
    list.join(", ")
}

/// `file:/path` of the object at `prefix`, opened through its links.
fn describe_target(src: &H5Source, prefix: &str) -> Option<String> {
    if let Ok(ds) = src.file.dataset(prefix) {
        return Some(format!("{}:{}", ds.filename(), ds.name()));
    }
    let g = src.file.group(prefix).ok()?;
    Some(format!("{}:{}", g.filename(), g.name()))
}

fn stored_elsewhere(src: &H5Source, name: &str, how: String, fix: String) -> Error {
    Error::StoredElsewhere {
        path: src.path.clone(),
        dataset: name.into(),
        how,
        fix,
    }
}

/// The fix for an external link at `link`: copy its target into the file, then drop the link
/// (deleting a link never touches the file it points to).
fn copy_fix(link: &str) -> String {
    format!(
        "copy the data into this file and drop the link (h5py: f.copy(f['{link}'], '{link}_local'); \
         del f['{link}']; f.move('{link}_local', '{link}'))"
    )
}

/// The fix for external storage or a virtual dataset: read the data and store it as a plain
/// dataset.
fn materialize_fix(name: &str) -> String {
    format!(
        "copy the data into this file (h5py: data = f['{name}'][()]; del f['{name}']; \
         f['{name}'] = data)"
    )
}

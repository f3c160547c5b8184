//! Where a config's relative data paths point.

use std::path::{Path, PathBuf};

/// Where a relative data path `path` of a config in `base` points, when it does not exist
/// relative to the working directory: `base/path`, else `dir/path` for the nearest directory
/// `dir` above `base` where that exists. The shipped configs (`data/experiments/`) name their
/// files from the repository root (`data/wordnet….h5`), so they work from any working
/// directory. `None`: leave the path as it is (absolute, present, or nowhere to be found).
pub fn resolve_data_path(path: &Path, base: &Path) -> Option<PathBuf> {
    if !path.is_relative() || path.exists() {
        return None;
    }
    base.ancestors()
        .map(|dir| dir.join(path))
        .find(|candidate| candidate.exists())
}

/// The directory relative data paths of the config at `path` resolve against: the directory of
/// the file it really is (a symbolic link to a config resolves against the link's target).
pub fn config_dir(path: &Path) -> PathBuf {
    let real = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    real.parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

//! Clean-up of the temporary files a killed writer left behind.

use std::path::Path;

use crate::{TEMP_MARK, TEMP_RANDOM_LEN};

/// Whether `name` is a temporary file name of [`crate::write_atomic`]: `NAME.tmp-` followed by
/// exactly [`TEMP_RANDOM_LEN`] ASCII letters and digits.
pub fn is_temp_name(name: &str) -> bool {
    name.rfind(TEMP_MARK).is_some_and(|i| {
        let tail = &name[i + TEMP_MARK.len()..];
        i > 0 && tail.len() == TEMP_RANDOM_LEN && tail.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// Removes from `dir` the temporary files of [`crate::write_atomic`] whose name `owned`
/// accepts; returns how many. The caller must hold whatever lock makes those files dead.
///
/// Only regular files with a temporary name are removed. Nothing is removed when `dir` is a
/// symbolic link, or when `dir` does not lie inside `root` once both are resolved (`root` is the
/// output tree the program was told to write, e.g. `--out`): a link inside the tree that points
/// elsewhere is never followed to delete a stranger's files.
pub fn remove_stale_temp_files(root: &Path, dir: &Path, owned: impl Fn(&str) -> bool) -> usize {
    let is_link = std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink());
    let inside = match (root.canonicalize(), dir.canonicalize()) {
        (Ok(r), Ok(d)) => d.starts_with(r),
        _ => false,
    };
    if is_link || !inside {
        return 0;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let regular = e.file_type().is_ok_and(|t| t.is_file());
        if regular && is_temp_name(&name) && owned(&name) && std::fs::remove_file(e.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_temporary_names_count() {
        assert!(is_temp_name("results.csv.tmp-a1B2c3D4"));
        assert!(is_temp_name("x_s0_dense.ckpt.tmp-ZZZZZZZZ"));
        assert!(!is_temp_name("results.csv.tmp-a1B2c3D"));
        assert!(!is_temp_name("notes.tmp-draft.txt"));
        assert!(!is_temp_name(".tmp-abcdefgh"));
        assert!(!is_temp_name("a.tmp-abcdefg!"));
    }

    #[cfg(unix)]
    #[test]
    fn clean_up_never_follows_a_link_out_of_the_tree() {
        let tree = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let theirs = elsewhere.path().join("draft.tmp-abcdefgh");
        std::fs::write(&theirs, b"someone's").unwrap();
        let units = tree.path().join("e1").join("units");
        std::fs::create_dir_all(tree.path().join("e1")).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), &units).unwrap();
        assert_eq!(remove_stale_temp_files(tree.path(), &units, |_| true), 0);
        assert!(theirs.exists());
        // A directory outside the tree is not cleaned even when named directly.
        assert_eq!(
            remove_stale_temp_files(tree.path(), elsewhere.path(), |_| true),
            0
        );
        assert!(theirs.exists());
        // Inside the tree: only our temporary names, only regular files, only owned ones.
        let real = tree.path().join("e2");
        std::fs::create_dir_all(real.join("sub.tmp-abcdefgh")).unwrap();
        for n in [
            "a.json.tmp-abcdefgh",
            "b.json.tmp-abcdefgh",
            "keep.tmp-x",
            "c.json",
        ] {
            std::fs::write(real.join(n), b"").unwrap();
        }
        let n = remove_stale_temp_files(tree.path(), &real, |n| !n.starts_with('b'));
        assert_eq!(n, 1);
        let mut left: Vec<String> = std::fs::read_dir(&real)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "b.json.tmp-abcdefgh",
                "c.json",
                "keep.tmp-x",
                "sub.tmp-abcdefgh"
            ]
        );
    }
}

//! Atomic writes never replace what is not a regular file: a device node, a FIFO, a symbolic
//! link or a directory is refused with a typed error and left exactly as it was.

#![cfg(unix)]

use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::process::Command;

use fpe_io::{Error, write_atomic};

/// Makes a character device (like /dev/null, major 1 minor 3) with mknod where allowed (root),
/// else a FIFO; returns whether it is a device.
fn special_node(path: &Path) -> bool {
    let dev = Command::new("mknod")
        .arg(path)
        .args(["c", "1", "3"])
        .status()
        .is_ok_and(|s| s.success());
    if !dev {
        assert!(Command::new("mkfifo").arg(path).status().unwrap().success());
    }
    dev
}

#[test]
fn devices_fifos_links_and_directories_are_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let node = dir.path().join("null");
    let is_dev = special_node(&node);
    let err = write_atomic(&node, b"data").unwrap_err();
    let want = if is_dev { "character device" } else { "FIFO" };
    assert!(
        matches!(&err, Error::NotRegularFile { kind, .. } if *kind == want),
        "{err}"
    );
    assert!(err.to_string().contains("refusing to replace a"));
    let t = std::fs::symlink_metadata(&node).unwrap().file_type();
    assert!(if is_dev {
        t.is_char_device()
    } else {
        t.is_fifo()
    });

    // A symbolic link is refused, not written through; its target keeps its bytes.
    let target = dir.path().join("target.txt");
    std::fs::write(&target, b"keep").unwrap();
    let link = dir.path().join("link.npz");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let err = write_atomic(&link, b"new").unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotRegularFile {
                kind: "symbolic link",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"keep");

    // A directory is refused.
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    assert!(matches!(
        write_atomic(&sub, b"x"),
        Err(Error::NotRegularFile {
            kind: "directory",
            ..
        })
    ));

    // A regular file is replaced, and no temporary file is left.
    let f = dir.path().join("f.bin");
    std::fs::write(&f, b"old").unwrap();
    write_atomic(&f, b"new").unwrap();
    assert_eq!(std::fs::read(&f).unwrap(), b"new");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(left.is_empty());
}

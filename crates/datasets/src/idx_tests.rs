//! Tests of the IDX reader: every malformed header and payload is a typed error naming the file,
//! the field and the values; plain and gzipped files read alike.

use std::io::Write;

use super::*;

/// An IDX file: magic, `ty`, the dims, then `payload`.
pub(crate) fn idx_bytes(ty: u8, dims: &[u32], payload: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, ty, dims.len() as u8];
    for d in dims {
        b.extend(d.to_be_bytes());
    }
    b.extend(payload);
    b
}

pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn bad_idx(e: Error) -> (&'static str, String) {
    let text = e.to_string();
    match e {
        Error::BadIdx { field, .. } => (field, text),
        other => panic!("not a BadIdx error: {other}"),
    }
}

#[test]
fn plain_and_gzipped_files_read_the_same_whatever_their_names() {
    let dir = tempfile::tempdir().unwrap();
    let payload: Vec<u8> = (0..2 * 3 * 4).map(|i| i as u8).collect();
    let bytes = idx_bytes(0x08, &[2, 3, 4], &payload);
    let plain = write(dir.path(), "a.gz", &bytes); // a misleading name: the magic decides
    let gz = write(dir.path(), "b", &gzip(&bytes));
    for p in [&plain, &gz] {
        let a = read_idx(p, None).unwrap();
        assert_eq!(a.shape(), &[2, 3, 4]);
        assert_eq!((a.declared_items(), a.item_len()), (2, 12));
        assert_eq!(a.data(), &payload[..]);
    }
    let first = read_idx(&gz, Some(1)).unwrap();
    assert_eq!((first.shape(), first.declared_items()), (&[1, 3, 4][..], 2));
    assert_eq!(first.into_data(), payload[..12].to_vec());
    assert_eq!(read_idx(&plain, Some(9)).unwrap().shape(), &[2, 3, 4]);
}

#[test]
fn truncated_and_overlong_payloads_name_the_expected_and_found_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let short = idx_bytes(0x08, &[2, 3], &[1, 2, 3, 4, 5]);
    let long = idx_bytes(0x08, &[2, 3], &[0; 8]);
    for (name, bytes, want) in [
        ("short", short.clone(), "truncated"),
        ("short.gz", gzip(&short), "truncated"),
        ("long", long.clone(), "trailing bytes"),
        ("long.gz", gzip(&long), "trailing bytes"),
    ] {
        let p = write(dir.path(), name, &bytes);
        for keep in [None, Some(1)] {
            let (field, msg) = bad_idx(read_idx(&p, keep).unwrap_err());
            assert_eq!(field, "payload", "{msg}");
            let found = if want == "truncated" { 5 } else { 8 };
            assert!(
                msg.contains(want)
                    && msg.contains("declare 6 payload byte(s)")
                    && msg.contains(&format!("found {found}"))
                    && msg.contains(name),
                "{msg}"
            );
        }
    }
    // A header cut short, and an empty file.
    let p = write(dir.path(), "cut", &idx_bytes(0x08, &[2, 3], &[])[..9]);
    let (field, msg) = bad_idx(read_idx(&p, None).unwrap_err());
    assert!(field == "dims" && msg.contains("ends after 5"), "{msg}");
    let p = write(dir.path(), "empty", b"");
    let (field, msg) = bad_idx(read_idx(&p, None).unwrap_err());
    assert!(
        field == "header" && msg.contains("ends after 0 byte(s)"),
        "{msg}"
    );
}

#[test]
fn a_wrong_magic_or_type_byte_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = idx_bytes(0x08, &[1], &[0]);
    bytes[1] = 0x01;
    let p = write(dir.path(), "magic", &bytes);
    let (field, msg) = bad_idx(read_idx(&p, None).unwrap_err());
    assert!(field == "magic" && msg.contains("00 01 08 01"), "{msg}");
    for (ty, name) in [
        (0x0D, "0x0d (32-bit float)"),
        (0x0B, "0x0b (16-bit integer)"),
    ] {
        let p = write(
            dir.path(),
            "type.gz",
            &gzip(&idx_bytes(ty, &[1], &[0, 0, 0, 0])),
        );
        let (field, msg) = bad_idx(read_idx(&p, None).unwrap_err());
        assert!(field == "type" && msg.contains(name), "{msg}");
        assert!(msg.contains("only 0x08 (unsigned byte)"), "{msg}");
    }
}

#[test]
fn the_number_of_dimensions_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "labels", &idx_bytes(0x08, &[2], &[1, 2]));
    let (field, msg) =
        bad_idx(read_idx_with(&p, Some(3), None, &mut MemoryBudget::available()).unwrap_err());
    assert!(
        field == "dims" && msg.contains("declares 1 dimension(s); expected 3"),
        "{msg}"
    );
    let p = write(dir.path(), "none", &idx_bytes(0x08, &[], &[]));
    let (field, _) = bad_idx(read_idx(&p, None).unwrap_err());
    assert_eq!(field, "dims");
}

#[test]
fn a_huge_header_is_refused_before_anything_is_allocated() {
    let dir = tempfile::tempdir().unwrap();
    // 2^32 − 1 images of 2^16 × 2^16 bytes: 2^64 bytes claimed by 20 bytes of file.
    let p = write(
        dir.path(),
        "huge",
        &idx_bytes(0x08, &[u32::MAX, 1 << 16, 1 << 16], &[1, 2, 3]),
    );
    let err = read_idx(&p, None).unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err}");
    // Within a generous budget the claim is still not trusted: the buffer only holds what is
    // there, and the shortfall is reported.
    let p = write(
        dir.path(),
        "big",
        &idx_bytes(0x08, &[1 << 20, 1024], &[7; 10]),
    );
    let mut budget = MemoryBudget::fixed(u64::MAX);
    let (field, msg) = bad_idx(read_idx_with(&p, None, None, &mut budget).unwrap_err());
    assert!(
        field == "payload" && msg.contains("declare 1073741824 payload byte(s), found 10"),
        "{msg}"
    );
    let mut small = MemoryBudget::fixed(100);
    let err = read_idx_with(&p, None, None, &mut small).unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { .. }) && err.to_string().contains("big"),
        "{err}"
    );
}

#[test]
fn missing_files_directories_and_corrupt_gzip_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = read_idx(&dir.path().join("nope"), None).unwrap_err();
    assert!(matches!(err, Error::FileNotFound { .. }), "{err}");
    let err = read_idx(dir.path(), None).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotRegularFile {
                kind: "directory",
                ..
            }
        ),
        "{err}"
    );
    let mut gz = gzip(&idx_bytes(0x08, &[4], &[1, 2, 3, 4]));
    let n = gz.len();
    gz[n - 6] ^= 0xff; // the CRC32 of the uncompressed data
    let p = write(dir.path(), "crc.gz", &gz);
    let err = read_idx(&p, None).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(err.to_string().contains("crc.gz"), "{err}");
}

#[cfg(unix)]
#[test]
fn a_fifo_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let err = read_idx(&fifo, None).unwrap_err();
    assert!(
        matches!(err, Error::NotRegularFile { kind: "FIFO", .. }),
        "{err}"
    );
}

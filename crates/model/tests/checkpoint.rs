//! Damaged or foreign checkpoint files give distinct, clear errors, never a panic.

mod common;

use std::path::Path;

use common::*;
use fpe_model::{Checkpoint, Error, FORMAT_VERSION, Optimizer, OptimizerConfig};
use sha2::{Digest, Sha256};

/// Magic, version, payload length, SHA-256 of the payload.
const HEADER_LEN: usize = 8 + 4 + 8 + 32;

/// The payload of format versions 1 and 2 for the checkpoint file `bytes` of `ck` (no
/// backbone): the payload without the backbone field, one `None` byte after the head's layers.
fn legacy_payload(bytes: &[u8], ck: &Checkpoint) -> Vec<u8> {
    use bincode::Options;
    let payload = &bytes[HEADER_LEN..];
    let layers = bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_little_endian()
        .serialized_size(&ck.mlp.layers().to_vec())
        .unwrap() as usize;
    assert_eq!(payload[layers], 0, "the backbone field follows the layers");
    [&payload[..layers], &payload[layers + 1..]].concat()
}

/// A file of format version 1 (FNV-1a 64 checksum) or 2 (SHA-256) around `payload`.
fn legacy_file(version: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = b"FPECKPT\0".to_vec();
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    if version == 1 {
        let fnv = payload.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        out.extend_from_slice(&fnv.to_le_bytes());
    } else {
        out.extend_from_slice(&Sha256::digest(payload));
    }
    out.extend_from_slice(payload);
    out
}

fn as_version_1(ck: &Checkpoint) -> Vec<u8> {
    legacy_file(1, &legacy_payload(&ck.to_bytes(), ck))
}

fn as_version_2(ck: &Checkpoint) -> Vec<u8> {
    legacy_file(2, &legacy_payload(&ck.to_bytes(), ck))
}

fn sample() -> Checkpoint {
    let mut r = rng(5);
    let mlp = random_masked(&[6, 8, 3], 0.5, &mut r);
    let opt = Optimizer::new(OptimizerConfig::default(), &mlp).unwrap();
    let mut ck = Checkpoint::of_model(mlp);
    ck.optimizer = Some((*opt.config(), opt.state().clone()));
    ck.meta.insert("arm".into(), "random".into());
    ck
}

fn parse(bytes: &[u8]) -> Error {
    Checkpoint::from_bytes(bytes, Path::new("x.ckpt")).expect_err("damaged checkpoint accepted")
}

#[test]
fn round_trip() {
    let ck = sample();
    assert_eq!(
        Checkpoint::from_bytes(&ck.to_bytes(), Path::new("x")).unwrap(),
        ck
    );
}

#[test]
fn the_header_holds_the_full_sha256_of_the_payload() {
    let bytes = sample().to_bytes();
    assert_eq!(&bytes[..8], b"FPECKPT\0");
    assert_eq!(bytes[8..12], FORMAT_VERSION.to_le_bytes());
    assert_eq!(FORMAT_VERSION, 3);
    let len = u64::from_le_bytes(bytes[12..20].try_into().unwrap());
    assert_eq!(len as usize, bytes.len() - HEADER_LEN);
    let digest: [u8; 32] = Sha256::digest(&bytes[HEADER_LEN..]).into();
    assert_eq!(bytes[20..HEADER_LEN], digest);
}

#[test]
fn truncated_at_every_length_is_an_error() {
    let bytes = sample().to_bytes();
    for b in [
        bytes.clone(),
        as_version_1(&sample()),
        as_version_2(&sample()),
    ] {
        for len in 0..b.len() {
            let e = parse(&b[..len]);
            match e {
                Error::NotCheckpoint { .. } => assert!(len < 8, "len {len}: {e}"),
                Error::CheckpointHeaderTruncated { header, .. } => {
                    assert!(len >= 8 && (len as u64) < header, "len {len}: {e}");
                }
                Error::CheckpointTruncated { .. } => assert!(len >= 8),
                other => panic!("len {len}: unexpected {other}"),
            }
        }
    }
}

#[test]
fn every_single_bit_flip_in_the_payload_is_caught() {
    let bytes = sample().to_bytes();
    for pos in (HEADER_LEN..bytes.len()).step_by(7) {
        let mut b = bytes.clone();
        b[pos] ^= 0x10;
        assert!(
            matches!(parse(&b), Error::CheckpointChecksum { .. }),
            "flip at {pos}"
        );
    }
}

#[test]
fn every_single_bit_flip_in_the_checksum_is_caught() {
    let bytes = sample().to_bytes();
    for pos in 20..HEADER_LEN {
        for bit in [0x01, 0x80] {
            let mut b = bytes.clone();
            b[pos] ^= bit;
            let e = parse(&b);
            assert!(
                matches!(e, Error::CheckpointChecksum { ref expected, ref found, .. }
                    if expected.len() == 64 && found.len() == 64 && expected != found),
                "flip at {pos}: {e}"
            );
        }
    }
}

#[test]
fn version_1_files_still_read_and_their_corruption_is_caught() {
    let ck = sample();
    let v1 = as_version_1(&ck);
    assert_eq!(
        Checkpoint::from_bytes(&v1, Path::new("old.ckpt")).unwrap(),
        ck
    );
    for pos in (28..v1.len()).step_by(5) {
        let mut b = v1.clone();
        b[pos] ^= 0x04;
        let e = parse(&b);
        assert!(
            matches!(e, Error::CheckpointChecksum { ref expected, .. } if expected.len() == 16),
            "flip at {pos}: {e}"
        );
    }
}

#[test]
fn version_2_files_read_as_networks_without_a_backbone() {
    let ck = sample();
    let v2 = as_version_2(&ck);
    assert_eq!(
        Checkpoint::from_bytes(&v2, Path::new("v2.ckpt")).unwrap(),
        ck
    );
    // A file the previous release wrote (`fpe run --seeds 0 --epochs 2,2 --arms dense,random`,
    // commit a2652e5): the E1 model 64 → 16 → 1 after a random expansion, with Adam's state.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/v2_random_64x16x1.ckpt");
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes[8..12], 2u32.to_le_bytes());
    let old = Checkpoint::load(&path).unwrap();
    assert_eq!(old.mlp.widths(), vec![64, 16, 1]);
    assert!(old.mlp.backbone().is_none());
    assert_eq!(old.meta["arm"], "random");
    assert!(old.optimizer().unwrap().is_some());
    // Written again, it is a version 3 file with the same content.
    let again = Checkpoint::from_bytes(&old.to_bytes(), &path).unwrap();
    assert_eq!(again, old);
}

#[test]
fn other_version_and_foreign_files_are_distinct_errors() {
    for version in [0, FORMAT_VERSION + 1, u32::MAX] {
        let mut b = sample().to_bytes();
        b[8..12].copy_from_slice(&version.to_le_bytes());
        let e = parse(&b);
        assert!(
            matches!(e, Error::CheckpointVersion { found, supported, .. }
                if found == version && supported == FORMAT_VERSION),
            "{e}"
        );
        let msg = e.to_string();
        assert!(
            msg.contains("x.ckpt")
                && msg.contains(&format!("version {version}"))
                && msg.contains("versions 1 to 3"),
            "{msg}"
        );
    }
    let e = parse(b"PK\x03\x04 this is a zip file, not a checkpoint");
    assert!(matches!(e, Error::NotCheckpoint { .. }), "{e}");
    assert!(e.to_string().contains("x.ckpt"));
}

#[test]
fn a_valid_checksum_over_an_inconsistent_model_is_rejected() {
    // Re-encode a checkpoint whose inactive weight is non-zero, with a correct checksum.
    let ck = sample();
    let mut bytes = ck.to_bytes();
    let mut broken = ck.clone();
    let layer = &broken.mlp.layers()[0];
    let (r, c) = layer
        .mask()
        .indexed_iter()
        .find(|(_, on)| !**on)
        .map(|(i, _)| i)
        .unwrap();
    let mut w = layer.weight().to_owned();
    w[[r, c]] = 1.0;
    let mut mask = layer.mask().to_owned();
    mask[[r, c]] = true;
    let b = layer.bias().to_owned();
    let mut layers = broken.mlp.layers().to_vec();
    layers[0] = fpe_model::Layer::new(w, b, mask).unwrap();
    broken.mlp = fpe_model::Mlp::from_layers(layers).unwrap();
    // Flip the mask bit back in the serialised form: find it by diffing the two encodings.
    let good = bytes.clone();
    let bad = broken.to_bytes();
    assert_eq!(good.len(), bad.len());
    let diffs: Vec<usize> = (HEADER_LEN..good.len())
        .filter(|&i| good[i] != bad[i])
        .collect();
    // Take the weight change but keep the original (inactive) mask bit.
    for &i in &diffs {
        if good[i] == 0 && bad[i] == 1 {
            continue; // the mask byte
        }
        bytes[i] = bad[i];
    }
    let sum: [u8; 32] = Sha256::digest(&bytes[HEADER_LEN..]).into();
    bytes[20..HEADER_LEN].copy_from_slice(&sum);
    let legacy = legacy_payload(&bytes, &ck);
    for b in [
        bytes.clone(),
        legacy_file(1, &legacy),
        legacy_file(2, &legacy),
    ] {
        let e = parse(&b);
        assert!(matches!(e, Error::CheckpointPayload { .. }), "{e}");
        assert!(e.to_string().contains("inactive weight"), "{e}");
    }
}

#[test]
fn missing_file_names_the_path() {
    let e = Checkpoint::load("/nonexistent/dir/model.ckpt").unwrap_err();
    assert!(matches!(e, Error::Io { .. }));
    assert!(e.to_string().contains("/nonexistent/dir/model.ckpt"));
}

#[test]
fn a_file_shorter_than_the_header_says_so_in_header_bytes() {
    let bytes = sample().to_bytes();
    let e = parse(&bytes[..30]);
    assert!(
        matches!(
            e,
            Error::CheckpointHeaderTruncated {
                header: 52,
                found: 30,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "x.ckpt: truncated checkpoint: 30 bytes, shorter than the 52-byte header"
    );
}

#[test]
fn a_length_field_past_the_payload_is_named_not_an_empty_io_error() {
    // The last bytes of the payload are the metadata map: its one key ("arm") is preceded by
    // its u64 length 3. Promise 2^40 bytes instead, with a valid checksum.
    let mut bytes = sample().to_bytes();
    let pos = bytes
        .windows(11)
        .rposition(|w| w == [3, 0, 0, 0, 0, 0, 0, 0, b'a', b'r', b'm'])
        .expect("the key `arm` with its length");
    bytes[pos..pos + 8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let sum: [u8; 32] = Sha256::digest(&bytes[HEADER_LEN..]).into();
    bytes[20..HEADER_LEN].copy_from_slice(&sum);
    let e = parse(&bytes);
    assert!(matches!(e, Error::CheckpointPayload { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("a length field promises more bytes than the payload holds"),
        "{text}"
    );
    assert!(!text.trim_end().ends_with(':'), "{text}");
}

#[cfg(unix)]
#[test]
fn loading_a_fifo_or_a_device_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("m.ckpt");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for p in [fifo.as_path(), Path::new("/dev/zero")] {
        let e = Checkpoint::load(p).unwrap_err();
        assert!(matches!(e, Error::NotReadable { .. }), "{e}");
    }
}

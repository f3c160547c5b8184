//! Image datasets from IDX files: a tiny directory written here (plain and gzipped), every check
//! of the loader, and the real Fashion-MNIST files where Debian's `dataset-fashion-mnist`
//! installed them (CI does, through `scripts/setup.sh`).

use std::io::Write;
use std::path::{Path, PathBuf};

use fpe_datasets::{DEFAULT_IMAGE_DIR, Error, IDX_FILES, ImageConfig, ImageShape, load_images};
use sha2::{Digest, Sha256};

/// An unsigned-byte IDX file: magic, type 0x08, the dims, then `payload`.
fn idx(dims: &[u32], payload: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        b.extend(d.to_be_bytes());
    }
    b.extend(payload);
    b
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Pixels of `n` images of 2×3: image `i` holds `10·i + j` at position `j`.
fn pixels(n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| (0..6).map(move |j| (10 * i + j) as u8))
        .collect()
}

/// A directory with 4 training and 2 test images of 2×3 and labels below 3; `gz` writes the
/// files gzipped as `NAME.gz`.
fn write_dir(dir: &Path, gz: bool) -> [PathBuf; 4] {
    let files = [
        idx(&[4, 2, 3], &pixels(4)),
        idx(&[4], &[0, 1, 2, 1]),
        idx(&[2, 2, 3], &pixels(2)),
        idx(&[2], &[2, 0]),
    ];
    let mut paths = IDX_FILES.map(|n| dir.join(n));
    for (p, bytes) in paths.iter_mut().zip(files) {
        if gz {
            p.set_extension("gz");
            std::fs::write(p, gzip(&bytes)).unwrap();
        } else {
            std::fs::write(p, bytes).unwrap();
        }
    }
    paths
}

fn three_classes(dir: &Path) -> ImageConfig {
    ImageConfig {
        class_names: Some(vec!["a".into(), "b".into(), "c".into()]),
        ..ImageConfig::new(dir)
    }
}

fn bad_idx(e: Error) -> (PathBuf, &'static str, String) {
    let text = e.to_string();
    match e {
        Error::BadIdx { path, field, .. } => (path, field, text),
        other => panic!("not a BadIdx error: {other}"),
    }
}

#[test]
fn gzipped_and_plain_directories_load_the_same_pixels_labels_and_shape() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_dir(a.path(), false);
    write_dir(b.path(), true);
    let plain = three_classes(a.path()).load().unwrap();
    let gz = three_classes(b.path()).load().unwrap();
    assert_eq!(
        (plain.train.x.clone(), plain.test.x.clone()),
        (gz.train.x, gz.test.x)
    );
    assert_eq!(plain.train.x.dim(), (4, 6));
    assert_eq!(plain.test.x.dim(), (2, 6));
    assert_eq!(plain.train.x[[1, 2]], 12.0 / 255.0);
    assert_eq!(plain.d_in(), 6);
    assert_eq!(plain.n_outputs(), 3);
    assert_eq!(plain.train.y.labels().unwrap().to_vec(), vec![0, 1, 2, 1]);
    assert_eq!(plain.test.y.labels().unwrap().to_vec(), vec![2, 0]);
    let shape = ImageShape {
        channels: 1,
        height: 2,
        width: 3,
    };
    assert_eq!(plain.image_shape, Some(shape));
    // The rows are the images in NCHW order: pixel (h, w) of image i is column h·W + w.
    let images = plain.train_images().unwrap();
    assert_eq!(images.dim(), (4, 1, 2, 3));
    assert_eq!(images[[3, 0, 1, 0]], plain.train.x[[3, 3]]);
    assert_eq!(plain.test_images().unwrap().dim(), (2, 1, 2, 3));
    let batch = plain.train.select(&[2, 0]);
    assert_eq!(
        shape.view(batch.x.view()).unwrap()[[0, 0, 0, 1]],
        21.0 / 255.0
    );
    assert!(plain.provenance["files"].contains("t10k-labels-idx1-ubyte"));
}

#[test]
fn row_caps_keep_the_first_images_and_standardize_uses_train_statistics() {
    let dir = tempfile::tempdir().unwrap();
    write_dir(dir.path(), true);
    let cfg = ImageConfig {
        max_train: Some(3),
        max_test: Some(1),
        ..three_classes(dir.path())
    };
    let d = cfg.load().unwrap();
    assert_eq!((d.train.len(), d.test.len()), (3, 1));
    assert_eq!(d.train.x[[2, 0]], 20.0 / 255.0);
    assert_eq!(d.test.y.labels().unwrap().to_vec(), vec![2]);
    let s = ImageConfig {
        standardize: true,
        ..cfg
    }
    .load()
    .unwrap();
    // Column 0 of the kept training images is 0, 10, 20 (/255): mean 10/255.
    let mean: f32 = s.train.x.column(0).sum() / 3.0;
    assert!(mean.abs() < 1e-6, "{mean}");
    assert!((s.test.x[[0, 0]] - s.train.x[[0, 0]]).abs() < 1e-6);
}

#[test]
fn a_label_out_of_range_names_the_file_item_and_class_count() {
    let dir = tempfile::tempdir().unwrap();
    let [_, train_y, ..] = write_dir(dir.path(), false);
    std::fs::write(&train_y, idx(&[4], &[0, 1, 3, 1])).unwrap();
    let (path, field, msg) = bad_idx(three_classes(dir.path()).load().unwrap_err());
    assert_eq!((path, field), (train_y, "label"));
    assert!(
        msg.contains("label 3 at item 2") && msg.contains("3 classes"),
        "{msg}"
    );
    // With Fashion-MNIST's ten classes, 3 is fine; past the row cap it is not even read.
    assert!(ImageConfig::new(dir.path()).load().is_ok());
    let capped = ImageConfig {
        max_train: Some(2),
        ..three_classes(dir.path())
    };
    assert!(capped.load().is_ok());
}

#[test]
fn image_and_label_counts_must_agree_and_splits_share_a_shape() {
    let dir = tempfile::tempdir().unwrap();
    let [_, _, test_x, test_y] = write_dir(dir.path(), true);
    std::fs::write(&test_y, gzip(&idx(&[3], &[0, 1, 2]))).unwrap();
    let (path, field, msg) = bad_idx(three_classes(dir.path()).load().unwrap_err());
    assert_eq!((path, field), (test_y.clone(), "count"));
    assert!(
        msg.contains("3 labels but") && msg.contains("holds 2 images"),
        "{msg}"
    );

    std::fs::write(&test_y, gzip(&idx(&[2], &[0, 1]))).unwrap();
    std::fs::write(&test_x, gzip(&idx(&[2, 3, 2], &pixels(2)))).unwrap();
    let (path, field, msg) = bad_idx(three_classes(dir.path()).load().unwrap_err());
    assert_eq!((path, field), (test_x.clone(), "dims"));
    assert!(
        msg.contains("test images are 3×2") && msg.contains("are 2×3"),
        "{msg}"
    );

    // Labels with two dimensions, images with one.
    std::fs::write(&test_x, gzip(&idx(&[2, 2, 3], &pixels(2)))).unwrap();
    std::fs::write(&test_y, gzip(&idx(&[2, 1], &[0, 1]))).unwrap();
    let (_, field, _) = bad_idx(three_classes(dir.path()).load().unwrap_err());
    assert_eq!(field, "dims");
    std::fs::write(&test_y, gzip(&idx(&[2], &[0, 1]))).unwrap();
    std::fs::write(&test_x, gzip(&idx(&[12], &pixels(2)))).unwrap();
    let (_, field, msg) = bad_idx(three_classes(dir.path()).load().unwrap_err());
    assert!(
        field == "dims" && msg.contains("expected 3 ([N, H, W])"),
        "{msg}"
    );
}

#[test]
fn a_truncated_file_and_a_missing_file_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let [train_x, ..] = write_dir(dir.path(), true);
    let whole = gzip(&idx(&[4, 2, 3], &pixels(4)[..20]));
    std::fs::write(&train_x, whole).unwrap();
    let (path, field, msg) = bad_idx(three_classes(dir.path()).load().unwrap_err());
    assert_eq!((path, field), (train_x.clone(), "payload"));
    assert!(
        msg.contains("declare 24 payload byte(s), found 20"),
        "{msg}"
    );
    std::fs::remove_file(&train_x).unwrap();
    let err = three_classes(dir.path()).load().unwrap_err();
    assert!(
        matches!(&err, Error::FileNotFound { path } if *path == train_x),
        "{err}"
    );
}

#[test]
fn configs_refuse_zero_caps_and_bad_class_lists() {
    let cfg = |f: fn(&mut ImageConfig)| {
        let mut c = ImageConfig::default();
        f(&mut c);
        c.validate().unwrap_err().to_string()
    };
    assert!(cfg(|c| c.max_train = Some(0)).contains("`max_train` = 0"));
    assert!(cfg(|c| c.max_test = Some(0)).contains("`max_test` = 0"));
    assert!(cfg(|c| c.class_names = Some(vec![])).contains("`class_names`"));
    assert!(cfg(|c| c.class_names = Some(vec!["a".into(), "a".into()])).contains("twice"));
    assert_eq!(ImageConfig::default().path, Path::new(DEFAULT_IMAGE_DIR));
    let parsed: ImageConfig = serde_json::from_str(r#"{"max_train": 5}"#).unwrap();
    assert_eq!(parsed.path, Path::new(DEFAULT_IMAGE_DIR));
    assert!(serde_json::from_str::<ImageConfig>(r#"{"bogus": 1}"#).is_err());
}

#[test]
fn loads_the_real_fashion_mnist_when_installed() {
    let dir = Path::new(DEFAULT_IMAGE_DIR);
    if !IDX_FILES
        .iter()
        .all(|n| dir.join(format!("{n}.gz")).is_file())
    {
        eprintln!(
            "SKIPPED: {DEFAULT_IMAGE_DIR} lacks the Fashion-MNIST IDX files; `apt-get install \
             dataset-fashion-mnist` (scripts/setup.sh does) to run this test"
        );
        return;
    }
    // The bytes are the ones data/README.md pins.
    let card =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/README.md"))
            .unwrap();
    for n in IDX_FILES {
        let bytes = std::fs::read(dir.join(format!("{n}.gz"))).unwrap();
        let sum: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(
            card.contains(&format!("`{n}.gz` | {} | `{sum}`", thousands(bytes.len()))),
            "data/README.md does not list {n}.gz with {} bytes and sha256 {sum}",
            bytes.len()
        );
    }
    let d = load_images(None).unwrap();
    assert_eq!(d.train.x.dim(), (60_000, 784));
    assert_eq!(d.test.x.dim(), (10_000, 784));
    assert_eq!(
        d.image_shape,
        Some(ImageShape {
            channels: 1,
            height: 28,
            width: 28
        })
    );
    assert_eq!(d.n_outputs(), 10);
    assert_eq!(d.class_names[9], "Ankle boot");
    assert!(d.train.x.iter().all(|&v| (0.0..=1.0).contains(&v)));
    // Balanced: 6,000 training and 1,000 test images per class.
    for (split, per_class) in [(&d.train, 6_000), (&d.test, 1_000)] {
        let mut counts = [0usize; 10];
        for &l in split.y.labels().unwrap() {
            counts[l as usize] += 1;
        }
        assert_eq!(counts, [per_class; 10]);
    }
    // The first training image is an ankle boot (label 9), the first test image too.
    assert_eq!(d.train.y.labels().unwrap()[0], 9);
    assert_eq!(d.test.y.labels().unwrap()[0], 9);
    let capped = ImageConfig {
        max_train: Some(100),
        max_test: Some(10),
        ..ImageConfig::default()
    }
    .load()
    .unwrap();
    assert_eq!(capped.train.x, d.train.x.slice(ndarray::s![..100, ..]));
    assert_eq!(capped.train_images().unwrap().dim(), (100, 1, 28, 28));
}

/// `26421856` → `26,421,856`, as data/README.md writes sizes.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

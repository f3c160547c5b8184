//! What the HDF5 loader refuses before reading: data stored outside the opened file (external
//! links, external raw storage, virtual datasets), which the file's hash cannot cover, and
//! declared shapes larger than the memory available; and that row caps read only the rows kept.

#![cfg(feature = "hdf5")]

use std::path::{Path, PathBuf};
use std::str::FromStr;

use fpe_datasets::{EmbeddingConfig, Error, load_embeddings};
use ndarray::{Array1, Array2, array};

fn x4() -> Array2<f32> {
    array![[0.0f32, 1.0], [1.0, 0.0], [0.5, 0.5], [2.0, 1.0]]
}

fn y4() -> Array1<i64> {
    array![0i64, 1, 1, 0]
}

/// Writes a good `split/x` and `split/y` into `f`, skipping the names in `skip`.
fn put_split(f: &hdf5::Group, split: &str, skip: &[&str]) {
    let x = format!("{split}/x");
    let y = format!("{split}/y");
    if !skip.contains(&x.as_str()) {
        f.new_dataset_builder()
            .with_data(&x4())
            .create(x.as_str())
            .unwrap();
    }
    if !skip.contains(&y.as_str()) {
        f.new_dataset_builder()
            .with_data(&y4())
            .create(y.as_str())
            .unwrap();
    }
}

/// A file with every dataset but those in `skip`, which `finish` then adds.
fn file_without(
    dir: &Path,
    name: &str,
    skip: &[&str],
    finish: impl FnOnce(&hdf5::File),
) -> PathBuf {
    let path = dir.join(name);
    let f = hdf5::File::create(&path).unwrap();
    for split in ["train", "test"] {
        f.create_group(split).unwrap();
        put_split(&f, split, skip);
    }
    finish(&f);
    path
}

/// `other.h5` holding `/x`, `/y` and the group `/train` with `x` and `y`.
fn other_file(dir: &Path) -> PathBuf {
    let path = dir.join("other.h5");
    let f = hdf5::File::create(&path).unwrap();
    f.new_dataset_builder()
        .with_data(&x4())
        .create("x")
        .unwrap();
    f.new_dataset_builder()
        .with_data(&y4())
        .create("y")
        .unwrap();
    f.create_group("train").unwrap();
    put_split(&f, "train", &[]);
    path
}

/// The error of loading `path`, which must be [`Error::StoredElsewhere`] for `dataset`.
fn stored_elsewhere(path: &Path, dataset: &str) -> String {
    match load_embeddings(path) {
        Err(e @ Error::StoredElsewhere { .. }) => {
            let Error::StoredElsewhere { dataset: d, .. } = &e else {
                unreachable!()
            };
            assert_eq!(d, dataset, "{e}");
            let msg = e.to_string();
            assert!(
                msg.contains(&path.display().to_string())
                    && msg.contains(&format!("`{dataset}`"))
                    && msg.contains("fpe hashes only the file it opens"),
                "{msg}"
            );
            msg
        }
        Err(e) => panic!(
            "{}: expected StoredElsewhere for {dataset}, got {e}",
            path.display()
        ),
        Ok(_) => panic!("{} loaded {dataset} from outside the file", path.display()),
    }
}

#[test]
fn every_dataset_behind_an_external_link_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    other_file(dir.path());
    for (i, ds) in ["train/x", "train/y", "test/x", "test/y"]
        .into_iter()
        .enumerate()
    {
        let target = if ds.ends_with('x') { "/x" } else { "/y" };
        let path = file_without(dir.path(), &format!("link{i}.h5"), &[ds], |f| {
            let (group, name) = ds.split_once('/').unwrap();
            f.group(group)
                .unwrap()
                .link_external("other.h5", target, name)
                .unwrap();
        });
        let msg = stored_elsewhere(&path, ds);
        assert!(
            msg.contains(&format!("external link `{ds}` to"))
                && msg.contains(&format!("other.h5:{target}"))
                && msg.contains(&format!("del f['{ds}']")),
            "{msg}"
        );
    }
}

#[test]
fn a_group_behind_an_external_link_is_refused_for_the_datasets_in_it() {
    let dir = tempfile::tempdir().unwrap();
    other_file(dir.path());
    let path = dir.path().join("group_link.h5");
    let f = hdf5::File::create(&path).unwrap();
    f.create_group("test").unwrap();
    put_split(&f, "test", &[]);
    f.link_external("other.h5", "/train", "train").unwrap();
    drop(f);
    let msg = stored_elsewhere(&path, "train/x");
    assert!(
        msg.contains("external link `train` to") && msg.contains("other.h5:/train"),
        "{msg}"
    );
}

#[test]
fn a_dangling_external_link_is_refused_not_reported_missing() {
    let dir = tempfile::tempdir().unwrap();
    let path = file_without(dir.path(), "dangling.h5", &["train/x"], |f| {
        f.group("train")
            .unwrap()
            .link_external("gone.h5", "/x", "x")
            .unwrap();
    });
    let msg = stored_elsewhere(&path, "train/x");
    assert!(msg.contains("cannot be opened"), "{msg}");
}

#[test]
fn soft_links_inside_the_file_load_and_into_another_file_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = file_without(dir.path(), "soft.h5", &["train/x"], |f| {
        f.new_dataset_builder()
            .with_data(&x4())
            .create("data/x")
            .unwrap();
        f.link_soft("/data/x", "train/x").unwrap();
    });
    assert_eq!(load_embeddings(&path).unwrap().train.x, x4());

    // A soft link whose path crosses an external link leads into another file all the same.
    other_file(dir.path());
    let path = file_without(dir.path(), "soft_ext.h5", &["train/x"], |f| {
        f.link_external("other.h5", "/", "ext").unwrap();
        f.link_soft("/ext/x", "train/x").unwrap();
    });
    let msg = stored_elsewhere(&path, "train/x");
    assert!(
        msg.contains("(`train/x` leads to") && msg.contains("other.h5:"),
        "{msg}"
    );
}

#[test]
fn external_raw_storage_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw.bin");
    let raw_name = raw.to_str().unwrap().to_string();
    let path = file_without(dir.path(), "external.h5", &["train/x"], |f| {
        f.new_dataset_builder()
            .external(&raw_name, 0, 4 * 2 * 4)
            .with_data(&x4())
            .create("train/x")
            .unwrap();
    });
    assert!(raw.exists(), "the data went to the external file");
    let msg = stored_elsewhere(&path, "train/x");
    assert!(
        msg.contains("external raw storage in") && msg.contains(&raw_name),
        "{msg}"
    );
    assert!(
        msg.contains("data = f['train/x'][()]; del f['train/x']; f['train/x'] = data"),
        "{msg}"
    );
}

#[test]
fn a_virtual_dataset_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let src = other_file(dir.path());
    let path = file_without(dir.path(), "virtual.h5", &["test/x"], |f| {
        f.new_dataset::<f32>()
            .shape((4, 2))
            .virtual_map(src.to_str().unwrap(), "/x", (4, 2), .., (4, 2), ..)
            .create("test/x")
            .unwrap();
    });
    // The virtual dataset reads the other file's data: exactly what the hash would miss.
    let f = hdf5::File::open(&path).unwrap();
    assert_eq!(f.dataset("test/x").unwrap().read_2d::<f32>().unwrap(), x4());
    drop(f);
    let msg = stored_elsewhere(&path, "test/x");
    assert!(
        msg.contains("is a virtual dataset") && msg.contains("other.h5:/x"),
        "{msg}"
    );
}

/// A file whose splits declare `rows` rows of `cols` float32 features and int64 labels in
/// chunks that are never written: a few kilobytes on disk, any size declared.
fn declared_only(dir: &Path, name: &str, rows: usize, cols: usize, class_names: bool) -> PathBuf {
    let path = dir.join(name);
    let f = hdf5::File::create(&path).unwrap();
    for split in ["train", "test"] {
        f.new_dataset::<f32>()
            .chunk((1024, cols.min(1024)))
            .shape((rows, cols))
            .create(format!("{split}/x").as_str())
            .unwrap();
        f.new_dataset::<i64>()
            .chunk(1 << 16)
            .shape(rows)
            .create(format!("{split}/y").as_str())
            .unwrap();
    }
    if class_names {
        let names = hdf5::types::VarLenUnicode::from_str(r#"["zero", "one"]"#).unwrap();
        f.new_attr::<hdf5::types::VarLenUnicode>()
            .create("class_names")
            .unwrap()
            .write_scalar(&names)
            .unwrap();
    }
    drop(f);
    assert!(std::fs::metadata(&path).unwrap().len() < 100_000);
    path
}

#[test]
fn a_huge_declared_shape_is_refused_before_anything_is_allocated() {
    let dir = tempfile::tempdir().unwrap();
    // 1e9 × 1e6 float32: 4 PB, beyond the memory of any machine.
    let path = declared_only(dir.path(), "huge.h5", 1_000_000_000, 1_000_000, false);
    let e = load_embeddings(&path).unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(&e, Error::TooLarge { dataset, shape, bytes: Some(4_000_000_000_000_000), .. }
            if dataset == "train/x" && shape == &[1_000_000_000, 1_000_000]),
        "{msg}"
    );
    assert!(
        msg.contains(&path.display().to_string())
            && msg.contains("`train/x` declares shape [1000000000, 1000000]")
            && msg.contains("4000000000000000 bytes (3.6 PiB)")
            && msg.contains("memory available (")
            && msg.contains("max_train"),
        "{msg}"
    );
}

#[test]
fn a_declared_size_beyond_64_bits_is_refused_not_wrapped() {
    let dir = tempfile::tempdir().unwrap();
    // 2^40 × 2^22 float32 elements: 2^62 elements, 2^64 bytes, one more than u64 holds.
    let path = declared_only(dir.path(), "overflow.h5", 1 << 40, 1 << 22, false);
    match load_embeddings(&path).unwrap_err() {
        e @ Error::TooLarge { bytes: None, .. } => {
            assert!(e.to_string().contains("more than 2^64 bytes"), "{e}");
        }
        e => panic!("{e}"),
    }
}

#[test]
fn row_caps_read_only_the_rows_kept_from_a_billion_declared_rows() {
    // The reported file: a chunked, never-written train/x of shape (1e9, 8), 32 GB if read
    // whole. With row caps only those rows are read; they hold the fill value 0.
    let dir = tempfile::tempdir().unwrap();
    let path = declared_only(dir.path(), "billion.h5", 1_000_000_000, 8, true);
    let cfg = EmbeddingConfig {
        max_train: Some(100),
        max_test: Some(7),
        ..EmbeddingConfig::new(&path)
    };
    let data = cfg.load().unwrap();
    assert_eq!(data.train.x, Array2::<f32>::zeros((100, 8)));
    assert_eq!(data.test.x.dim(), (7, 8));
    assert_eq!(data.train.y.labels().unwrap().to_vec(), vec![0; 100]);
    assert_eq!(data.n_outputs(), 2);
}

#[test]
fn loading_a_billion_declared_rows_whole_is_an_error_not_an_abort() {
    // Read whole, the same file needs 32 GB for train/x alone: an error naming it where that is
    // more than the memory available (as on any usual test machine), never an abort. Where it
    // is not, the test is skipped rather than allocate tens of gigabytes.
    let dir = tempfile::tempdir().unwrap();
    let path = declared_only(dir.path(), "billion.h5", 1_000_000_000, 8, true);
    let available = mem_available_bytes();
    if available >= 32_000_000_000 {
        eprintln!("skipped: {available} bytes available would let the 32 GB read go ahead");
        return;
    }
    let e = load_embeddings(&path).unwrap_err();
    assert!(
        matches!(&e, Error::TooLarge { dataset, bytes: Some(32_000_000_000), .. } if dataset == "train/x"),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("reading 1000000000 of its rows needs 32000000000 bytes (29.8 GiB)"),
        "{e}"
    );
}

/// `MemAvailable` in bytes (or 0 where unknown, which lets the test run).
fn mem_available_bytes() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemAvailable:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

#[test]
fn selective_reads_match_selecting_after_a_full_read() {
    // The loader reads only the kept rows (a class subset's rows block by block, a capped prefix
    // as one slice); the result is the one of reading everything and then selecting.
    let shipped = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/fashion_mnist_effnetlite0_pca256_f16.h5"
    );
    let full = load_embeddings(shipped).unwrap();
    let cfg = EmbeddingConfig {
        classes: Some(vec![
            fpe_datasets::ClassRef::Id(8),
            fpe_datasets::ClassRef::Id(0),
        ]),
        max_train: Some(1000),
        max_test: Some(300),
        ..EmbeddingConfig::new(shipped)
    };
    let picked = cfg.load().unwrap();
    for (all, got, cap) in [
        (&full.train, &picked.train, 1000),
        (&full.test, &picked.test, 300),
    ] {
        let labels = all.y.labels().unwrap();
        let rows: Vec<usize> = (0..all.len())
            .filter(|&i| labels[i] == 8 || labels[i] == 0)
            .take(cap)
            .collect();
        let want: Vec<u32> = rows.iter().map(|&i| u32::from(labels[i] == 0)).collect();
        assert_eq!(got.x, all.x.select(ndarray::Axis(0), &rows));
        assert_eq!(got.y.labels().unwrap().to_vec(), want);
    }
    let capped = EmbeddingConfig {
        max_train: Some(777),
        ..EmbeddingConfig::new(shipped)
    }
    .load()
    .unwrap();
    assert_eq!(capped.train.x, full.train.x.slice(ndarray::s![..777, ..]));
    assert_eq!(capped.test, full.test);
}

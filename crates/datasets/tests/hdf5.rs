//! HDF5 embedding loader: round trips, the shipped data, processing options and bad input.

#![cfg(feature = "hdf5")]

use std::path::{Path, PathBuf};

use fpe_datasets::{
    BooleanCodeConfig, ClassRef, Dataset, EmbeddingConfig, Error, FloatStorage, OutputKind,
    Provenance, Split, Targets, load_embeddings, write_hdf5,
};
use ndarray::{Array1, Array2, array};

const SHIPPED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/fashion_mnist_effnetlite0_pca256_f16.h5"
);

/// A small class dataset whose values are exact in float16 (multiples of 1/4).
fn toy() -> Dataset {
    let x = |n: usize, off: f32| {
        Array2::from_shape_fn((n, 3), |(i, j)| (i as f32 + off) * 0.25 - j as f32)
    };
    let y = |n: usize| Array1::from_shape_fn(n, |i| (i % 3) as u32);
    Dataset {
        name: "toy".into(),
        train: Split {
            x: x(9, 0.0),
            y: Targets::Classes {
                labels: y(9),
                n_classes: 3,
            },
        },
        test: Split {
            x: x(6, 1.0),
            y: Targets::Classes {
                labels: y(6),
                n_classes: 3,
            },
        },
        class_names: vec!["a".into(), "b".into(), "c".into()],
        clauses: None,
        image_shape: None,
        provenance: Provenance::from([("source".to_string(), "unit test".to_string())]),
    }
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn round_trips_f16_f32_f64() {
    let dir = tmp();
    let data = toy();
    for storage in [FloatStorage::F16, FloatStorage::F32, FloatStorage::F64] {
        let path = dir.path().join(format!("toy_{storage:?}.h5"));
        write_hdf5(&data, &path, storage).unwrap();
        let back = load_embeddings(&path).unwrap();
        assert_eq!(back.train, data.train, "{storage:?}");
        assert_eq!(back.test, data.test, "{storage:?}");
        assert_eq!(back.class_names, data.class_names);
        assert_eq!(back.provenance["source"], "unit test");
        assert!(back.clauses.is_none());
    }
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
}

#[test]
fn boolean_task_round_trips_with_its_clause_structure() {
    let dir = tmp();
    for output in [OutputKind::Or, OutputKind::PerClause] {
        let cfg = BooleanCodeConfig {
            train_size: 100,
            test_size: 50,
            output,
            ..Default::default()
        };
        let data = cfg.generate(4).unwrap();
        let path = dir.path().join("bool.h5");
        write_hdf5(&data, &path, FloatStorage::F32).unwrap();
        let back = load_embeddings(&path).unwrap();
        assert_eq!(back.train, data.train);
        assert_eq!(back.test, data.test);
        assert_eq!(back.clauses, data.clauses);
        assert_eq!(back.class_names, data.class_names);
    }
}

#[test]
fn loads_the_shipped_fashion_mnist_embeddings() {
    let data = load_embeddings(SHIPPED).unwrap();
    assert_eq!(data.train.x.dim(), (60_000, 256));
    assert_eq!(data.test.x.dim(), (10_000, 256));
    assert_eq!(data.n_outputs(), 10);
    assert_eq!(data.class_names.len(), 10);
    assert_eq!(data.class_names[0], "T-shirt/top");
    assert_eq!(data.class_names[9], "Ankle boot");
    assert_eq!(
        data.provenance.get("is_clip").map(String::as_str),
        Some("0")
    );
    let labels = data.train.y.labels().unwrap();
    // Fashion-MNIST is balanced: 6,000 training images per class.
    for c in 0..10u32 {
        assert_eq!(labels.iter().filter(|&&l| l == c).count(), 6000);
    }
}

#[test]
fn class_subset_cap_and_normalisation_options() {
    let cfg = EmbeddingConfig {
        classes: Some(vec![ClassRef::Name("Bag".into()), ClassRef::Id(0)]),
        max_train: Some(1000),
        max_test: Some(300),
        l2_normalize: true,
        standardize: true,
        ..EmbeddingConfig::new(SHIPPED)
    };
    let data = cfg.load().unwrap();
    assert_eq!(
        data.class_names,
        vec!["Bag".to_string(), "T-shirt/top".to_string()]
    );
    assert_eq!(data.provenance["class_map"], "0<-8,1<-0");
    assert_eq!(data.train.len(), 1000);
    assert_eq!(data.test.len(), 300);
    assert_eq!(data.n_outputs(), 2);
    assert!(data.train.y.labels().unwrap().iter().all(|&l| l < 2));
    // Standardised with train statistics: train columns have mean ≈ 0 and std ≈ 1.
    let mean = data.train.x.mean_axis(ndarray::Axis(0)).unwrap();
    let std = data.train.x.std_axis(ndarray::Axis(0), 0.0);
    assert!(mean.iter().all(|m| m.abs() < 1e-4), "{mean}");
    assert!(std.iter().all(|s| (s - 1.0).abs() < 1e-3), "{std}");
}

#[test]
fn l2_normalisation_alone_gives_unit_rows() {
    let cfg = EmbeddingConfig {
        l2_normalize: true,
        max_train: Some(50),
        max_test: Some(5),
        ..EmbeddingConfig::new(SHIPPED)
    };
    let data = cfg.load().unwrap();
    for row in data.train.x.rows() {
        assert!((row.dot(&row) - 1.0).abs() < 1e-5);
    }
}

/// Writes datasets with arbitrary types and shapes for the bad-input tests.
struct Builder {
    file: hdf5::File,
    path: PathBuf,
}

impl Builder {
    fn new(dir: &Path, name: &str) -> Self {
        let path = dir.join(name);
        Builder {
            file: hdf5::File::create(&path).unwrap(),
            path,
        }
    }
    fn put<T: hdf5::H5Type, D: ndarray::Dimension>(
        self,
        name: &str,
        a: &ndarray::Array<T, D>,
    ) -> Self {
        self.file
            .new_dataset_builder()
            .with_data(a)
            .create(name)
            .unwrap();
        self
    }
    fn good_split(self, split: &str, x: &Array2<f32>, y: &Array1<i64>) -> Self {
        self.put(&format!("{split}/x"), x)
            .put(&format!("{split}/y"), y)
    }
    fn done(self) -> PathBuf {
        drop(self.file);
        self.path
    }
}

fn x4() -> Array2<f32> {
    array![[0.0f32, 1.0], [1.0, 0.0], [0.5, 0.5], [2.0, 1.0]]
}

fn y4() -> Array1<i64> {
    array![0i64, 1, 1, 0]
}

fn bad_message(path: &Path) -> String {
    match load_embeddings(path) {
        Ok(_) => panic!("{} loaded without error", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn missing_file_is_an_error_naming_it() {
    let err = load_embeddings("/nonexistent/embeddings.h5").unwrap_err();
    assert!(matches!(err, Error::FileNotFound { .. }));
    assert!(err.to_string().contains("/nonexistent/embeddings.h5"));
}

#[test]
fn file_that_is_not_hdf5_is_an_error() {
    let dir = tmp();
    let path = dir.path().join("not.h5");
    std::fs::write(&path, b"this is not an HDF5 file").unwrap();
    assert!(matches!(
        load_embeddings(&path).unwrap_err(),
        Error::Hdf5 { .. }
    ));
}

#[test]
fn missing_dataset_names_the_dataset() {
    let dir = tmp();
    let path = Builder::new(dir.path(), "m.h5")
        .good_split("train", &x4(), &y4())
        .put("test/x", &x4())
        .done();
    let err = load_embeddings(&path).unwrap_err();
    assert!(
        matches!(&err, Error::MissingDataset { dataset, .. } if dataset == "test/y"),
        "{err}"
    );
    // Configurable paths: pointing test at the train datasets works.
    let cfg = EmbeddingConfig {
        test_y: "train/y".into(),
        ..EmbeddingConfig::new(&path)
    };
    assert_eq!(cfg.load().unwrap().test.len(), 4);
}

#[test]
fn features_that_are_not_2d_are_rejected() {
    let dir = tmp();
    let x3 = ndarray::Array3::<f32>::zeros((4, 2, 2));
    let path = Builder::new(dir.path(), "a.h5")
        .put("train/x", &x3)
        .put("train/y", &y4())
        .good_split("test", &x4(), &y4())
        .done();
    let msg = bad_message(&path);
    assert!(
        msg.contains("train/x") && msg.contains("2-D") && msg.contains("[4, 2, 2]"),
        "{msg}"
    );
}

#[test]
fn length_mismatch_names_both_datasets() {
    let dir = tmp();
    let path = Builder::new(dir.path(), "l.h5")
        .put("train/x", &x4())
        .put("train/y", &array![0i64, 1, 0])
        .good_split("test", &x4(), &y4())
        .done();
    let msg = bad_message(&path);
    assert!(
        msg.contains("train/y")
            && msg.contains("3 rows")
            && msg.contains("train/x")
            && msg.contains('4'),
        "{msg}"
    );
}

#[test]
fn float_and_negative_labels_are_rejected() {
    let dir = tmp();
    let path = Builder::new(dir.path(), "f.h5")
        .put("train/x", &x4())
        .put("train/y", &array![0.0f32, 1.0, 1.0, 0.0])
        .good_split("test", &x4(), &y4())
        .done();
    let msg = bad_message(&path);
    assert!(
        msg.contains("train/y") && msg.contains("floating point"),
        "{msg}"
    );

    let path = Builder::new(dir.path(), "n.h5")
        .put("train/x", &x4())
        .put("train/y", &array![0i64, 1, -3, 0])
        .good_split("test", &x4(), &y4())
        .done();
    let msg = bad_message(&path);
    assert!(
        msg.contains("train/y") && msg.contains("-3") && msg.contains("row 2"),
        "{msg}"
    );
}

#[test]
fn non_finite_features_report_first_row_and_column() {
    let dir = tmp();
    for (bad, name) in [(f32::NAN, "nan.h5"), (f32::INFINITY, "inf.h5")] {
        let mut x = x4();
        x[[2, 1]] = bad;
        x[[3, 0]] = bad;
        let path = Builder::new(dir.path(), name)
            .good_split("train", &x4(), &y4())
            .good_split("test", &x, &y4())
            .done();
        match load_embeddings(&path).unwrap_err() {
            Error::NonFinite {
                dataset, row, col, ..
            } => assert_eq!((dataset.as_str(), row, col), ("test/x", 2, 1)),
            e => panic!("{e}"),
        }
    }
}

#[test]
fn empty_split_is_an_error() {
    let dir = tmp();
    let path = Builder::new(dir.path(), "e.h5")
        .good_split("train", &x4(), &y4())
        .good_split(
            "test",
            &Array2::<f32>::zeros((0, 2)),
            &Array1::<i64>::zeros(0),
        )
        .done();
    let msg = bad_message(&path);
    assert!(msg.contains("test/x") && msg.contains("empty"), "{msg}");
}

#[test]
fn class_subset_naming_a_missing_class_is_an_error() {
    let dir = tmp();
    let path = Builder::new(dir.path(), "c.h5")
        .good_split("train", &x4(), &y4())
        .good_split("test", &x4(), &y4())
        .done();
    for bad in [ClassRef::Id(7), ClassRef::Name("zebra".into())] {
        let cfg = EmbeddingConfig {
            classes: Some(vec![ClassRef::Id(0), bad.clone()]),
            ..EmbeddingConfig::new(&path)
        };
        match cfg.load().unwrap_err() {
            e @ Error::Config {
                field: "classes", ..
            } => assert!(e.to_string().contains(&bad.to_string()), "{e}"),
            e => panic!("{e}"),
        }
    }
}

#[test]
fn labels_beyond_the_named_classes_are_an_error() {
    let dir = tmp();
    let mut data = toy();
    data.class_names.truncate(2);
    let path = dir.path().join("names.h5");
    write_hdf5(&data, &path, FloatStorage::F32).unwrap();
    let msg = bad_message(&path);
    assert!(
        msg.contains("label 2") && msg.contains("2 classes"),
        "{msg}"
    );
}

#[test]
fn a_huge_label_is_refused_before_anything_is_allocated_per_class() {
    // One label of 1e9 in a 4-row file without class names: it would imply a billion classes
    // (a class-name slot each). Refused, naming the label, the rows and the cap.
    let dir = tmp();
    let path = Builder::new(dir.path(), "huge.h5")
        .good_split("train", &x4(), &array![0i64, 1, 1_000_000_000, 0])
        .good_split("test", &x4(), &y4())
        .done();
    let msg = bad_message(&path);
    assert!(
        msg.contains("label 1000000000 at row 2 implies 1000000001 classes")
            && msg.contains("8 rows")
            && msg.contains(&fpe_datasets::MAX_CLASSES.to_string()),
        "{msg}"
    );
    // Below the cap (and above the row count) a sparse id is still accepted: ids up to the cap
    // are allowed even in a small file.
    let path = Builder::new(dir.path(), "sparse.h5")
        .good_split("train", &x4(), &array![0i64, 1, 99, 0])
        .good_split("test", &x4(), &y4())
        .done();
    assert_eq!(load_embeddings(&path).unwrap().n_outputs(), 100);
}

#[test]
fn an_unsigned_label_beyond_i64_is_reported_as_it_is() {
    let dir = tmp();
    let path = Builder::new(dir.path(), "u64.h5")
        .put("train/x", &x4())
        .put("train/y", &array![0u64, 1, u64::MAX, 0])
        .good_split("test", &x4(), &y4())
        .done();
    let msg = bad_message(&path);
    assert!(
        msg.contains(&format!("label {} at row 2 is too large", u64::MAX)),
        "{msg}"
    );
}

#[test]
fn classes_only_in_the_test_split_are_listed() {
    let dir = tmp();
    let path = Builder::new(dir.path(), "testonly.h5")
        .good_split("train", &x4(), &array![0i64, 1, 1, 0])
        .good_split("test", &x4(), &array![0i64, 2, 1, 2])
        .done();
    let data = load_embeddings(&path).unwrap();
    assert_eq!(data.test_only_classes(), vec![2]);
    let path = Builder::new(dir.path(), "fine.h5")
        .good_split("train", &x4(), &y4())
        .good_split("test", &x4(), &y4())
        .done();
    assert!(
        load_embeddings(&path)
            .unwrap()
            .test_only_classes()
            .is_empty()
    );
}

#[test]
fn write_hdf5_never_replaces_a_fifo_or_a_link() {
    let dir = tmp();
    let data = toy();
    let fifo = dir.path().join("fifo.h5");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let err = write_hdf5(&data, &fifo, FloatStorage::F32).unwrap_err();
    assert!(err.to_string().contains("refusing to replace"), "{err}");
    use std::os::unix::fs::FileTypeExt;
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
}

//! Files other tools write: compressed chunks, narrow or odd integer types, one column, strings
//! where numbers belong. Each loads correctly or fails with a clear error, never a panic.

use std::path::PathBuf;
use std::str::FromStr;

use fpe_datasets::{Error, load_embeddings};
use hdf5::types::VarLenUnicode;
use ndarray::{Array1, Array2, array};

fn file(dir: &tempfile::TempDir, name: &str) -> (hdf5::File, PathBuf) {
    let path = dir.path().join(name);
    (hdf5::File::create(&path).unwrap(), path)
}

#[test]
fn chunked_gzip_compressed_datasets_load() {
    let dir = tempfile::tempdir().unwrap();
    let (f, path) = file(&dir, "gzip.h5");
    let x = Array2::from_shape_fn((50, 6), |(i, j)| (i * 6 + j) as f32 * 0.5);
    let y = Array1::from_shape_fn(50, |i| (i % 3) as i64);
    for split in ["train", "test"] {
        f.new_dataset_builder()
            .with_data(&x)
            .chunk((10, 3))
            .deflate(6)
            .create(format!("{split}/x").as_str())
            .unwrap();
        f.new_dataset_builder()
            .with_data(&y)
            .chunk(16)
            .deflate(6)
            .create(format!("{split}/y").as_str())
            .unwrap();
    }
    drop(f);
    let d = load_embeddings(&path).unwrap();
    assert_eq!(d.train.x, x);
    assert_eq!(d.n_outputs(), 3);
}

/// Writes a label dataset of some integer type at the given path.
type WriteLabels = dyn Fn(&hdf5::File, &str);

#[test]
fn narrow_and_unsigned_label_types_load() {
    let dir = tempfile::tempdir().unwrap();
    let x = array![[1.0f32], [2.0], [3.0], [4.0]]; // one column
    let cases: Vec<(&str, Box<WriteLabels>)> = vec![
        (
            "i8",
            Box::new(|f: &hdf5::File, n: &str| {
                f.new_dataset_builder()
                    .with_data(&array![0i8, 1, 2, 1])
                    .create(n)
                    .unwrap();
            }),
        ),
        (
            "u16",
            Box::new(|f: &hdf5::File, n: &str| {
                f.new_dataset_builder()
                    .with_data(&array![0u16, 1, 2, 1])
                    .create(n)
                    .unwrap();
            }),
        ),
        (
            "i64",
            Box::new(|f: &hdf5::File, n: &str| {
                f.new_dataset_builder()
                    .with_data(&array![0i64, 1, 2, 1])
                    .create(n)
                    .unwrap();
            }),
        ),
        (
            "u8",
            Box::new(|f: &hdf5::File, n: &str| {
                f.new_dataset_builder()
                    .with_data(&array![0u8, 1, 2, 1])
                    .create(n)
                    .unwrap();
            }),
        ),
    ];
    for (name, write_y) in cases {
        let (f, path) = file(&dir, &format!("{name}.h5"));
        for split in ["train", "test"] {
            f.new_dataset_builder()
                .with_data(&x)
                .create(format!("{split}/x").as_str())
                .unwrap();
            write_y(&f, &format!("{split}/y"));
        }
        drop(f);
        let d = load_embeddings(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            d.train.y.labels().unwrap().to_vec(),
            vec![0, 1, 2, 1],
            "{name}"
        );
        assert_eq!(d.d_in(), 1);
    }
}

#[test]
fn strings_where_numbers_belong_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let s = Array1::from_shape_fn(4, |i| VarLenUnicode::from_str(&format!("row {i}")).unwrap());
    // String labels.
    let (f, path) = file(&dir, "strlabels.h5");
    for split in ["train", "test"] {
        f.new_dataset_builder()
            .with_data(&array![[1.0f32], [2.0], [3.0], [4.0]])
            .create(format!("{split}/x").as_str())
            .unwrap();
        f.new_dataset_builder()
            .with_data(&s)
            .create(format!("{split}/y").as_str())
            .unwrap();
    }
    drop(f);
    let e = load_embeddings(&path).unwrap_err();
    assert!(matches!(e, Error::BadDataset { .. }), "{e}");
    assert!(
        e.to_string().contains("train/y") && e.to_string().contains("integers"),
        "{e}"
    );
    // String features.
    let (f, path) = file(&dir, "strx.h5");
    let sx = Array2::from_shape_fn((4, 1), |(i, _)| {
        VarLenUnicode::from_str(&i.to_string()).unwrap()
    });
    for split in ["train", "test"] {
        f.new_dataset_builder()
            .with_data(&sx)
            .create(format!("{split}/x").as_str())
            .unwrap();
        f.new_dataset_builder()
            .with_data(&array![0i64, 1, 0, 1])
            .create(format!("{split}/y").as_str())
            .unwrap();
    }
    drop(f);
    let e = load_embeddings(&path).unwrap_err();
    assert!(
        e.to_string().contains("train/x") && e.to_string().contains("float"),
        "{e}"
    );
}

#[test]
fn labels_with_an_extra_dimension_that_are_not_binary_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (f, path) = file(&dir, "y2d.h5");
    for split in ["train", "test"] {
        f.new_dataset_builder()
            .with_data(&array![[1.0f32], [2.0]])
            .create(format!("{split}/x").as_str())
            .unwrap();
        f.new_dataset_builder()
            .with_data(&array![[3i64], [7]])
            .create(format!("{split}/y").as_str())
            .unwrap();
    }
    drop(f);
    let e = load_embeddings(&path).unwrap_err();
    assert!(
        e.to_string().contains("train/y") && e.to_string().contains("0/1"),
        "{e}"
    );
    let (f, path) = file(&dir, "y3d.h5");
    for split in ["train", "test"] {
        f.new_dataset_builder()
            .with_data(&array![[1.0f32], [2.0]])
            .create(format!("{split}/x").as_str())
            .unwrap();
        f.new_dataset_builder()
            .with_data(&ndarray::Array3::<i64>::zeros((2, 1, 1)))
            .create(format!("{split}/y").as_str())
            .unwrap();
    }
    drop(f);
    let e = load_embeddings(&path).unwrap_err();
    assert!(e.to_string().contains("[2, 1, 1]"), "{e}");
}

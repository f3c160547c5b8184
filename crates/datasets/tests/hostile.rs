//! Files other tools write: compressed chunks, narrow or odd integer types, one column, strings
//! where numbers belong. Each loads correctly or fails with a clear error, never a panic.

#![cfg(feature = "hdf5")]

use std::path::PathBuf;
use std::str::FromStr;

use fpe_datasets::{Error, load_embeddings};
use hdf5::types::VarLenUnicode;
use ndarray::{Array, Array1, Array2, Dimension, array};

/// Writes `x` and `y` as both the train and the test split of a new file.
fn write_splits<X, DX, Y, DY>(
    dir: &tempfile::TempDir,
    name: &str,
    x: &Array<X, DX>,
    y: &Array<Y, DY>,
) -> PathBuf
where
    X: hdf5::H5Type,
    DX: Dimension,
    Y: hdf5::H5Type,
    DY: Dimension,
{
    let path = dir.path().join(name);
    let f = hdf5::File::create(&path).unwrap();
    for split in ["train", "test"] {
        f.new_dataset_builder()
            .with_data(x)
            .create(format!("{split}/x").as_str())
            .unwrap();
        f.new_dataset_builder()
            .with_data(y)
            .create(format!("{split}/y").as_str())
            .unwrap();
    }
    path
}

#[test]
fn chunked_gzip_compressed_datasets_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gzip.h5");
    let f = hdf5::File::create(&path).unwrap();
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

#[test]
fn narrow_and_unsigned_label_types_load() {
    let dir = tempfile::tempdir().unwrap();
    let x = array![[1.0f32], [2.0], [3.0], [4.0]]; // one column
    let paths = [
        ("i8", write_splits(&dir, "i8.h5", &x, &array![0i8, 1, 2, 1])),
        (
            "u16",
            write_splits(&dir, "u16.h5", &x, &array![0u16, 1, 2, 1]),
        ),
        (
            "i64",
            write_splits(&dir, "i64.h5", &x, &array![0i64, 1, 2, 1]),
        ),
        ("u8", write_splits(&dir, "u8.h5", &x, &array![0u8, 1, 2, 1])),
    ];
    for (name, path) in paths {
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
    let path = write_splits(
        &dir,
        "strlabels.h5",
        &array![[1.0f32], [2.0], [3.0], [4.0]],
        &s,
    );
    let e = load_embeddings(&path).unwrap_err();
    assert!(matches!(e, Error::BadDataset { .. }), "{e}");
    assert!(
        e.to_string().contains("train/y") && e.to_string().contains("integers"),
        "{e}"
    );

    let sx = Array2::from_shape_fn((4, 1), |(i, _)| {
        VarLenUnicode::from_str(&i.to_string()).unwrap()
    });
    let path = write_splits(&dir, "strx.h5", &sx, &array![0i64, 1, 0, 1]);
    let e = load_embeddings(&path).unwrap_err();
    assert!(
        e.to_string().contains("train/x") && e.to_string().contains("float"),
        "{e}"
    );
}

#[test]
fn labels_with_an_extra_dimension_that_are_not_binary_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let x = array![[1.0f32], [2.0]];
    let path = write_splits(&dir, "y2d.h5", &x, &array![[3i64], [7]]);
    let e = load_embeddings(&path).unwrap_err();
    assert!(
        e.to_string().contains("train/y") && e.to_string().contains("0/1"),
        "{e}"
    );
    let path = write_splits(
        &dir,
        "y3d.h5",
        &x,
        &ndarray::Array3::<i64>::zeros((2, 1, 1)),
    );
    let e = load_embeddings(&path).unwrap_err();
    assert!(e.to_string().contains("[2, 1, 1]"), "{e}");
}

#[test]
fn fortran_ordered_features_are_a_length_error_naming_both_datasets() {
    // Fortran, MATLAB and Julia writers store a [N, d] matrix as [d, N]: the rows no longer
    // match the labels, and the error says so instead of loading transposed data.
    let dir = tempfile::tempdir().unwrap();
    let x = Array2::from_shape_fn((3, 5), |(r, c)| (r * 5 + c) as f32); // d = 3, N = 5
    let path = write_splits(&dir, "fortran.h5", &x, &array![0i64, 1, 0, 1, 1]);
    let e = load_embeddings(&path).unwrap_err().to_string();
    assert!(
        e.contains("train/x") && e.contains("train/y") && e.contains('3') && e.contains('5'),
        "{e}"
    );
    // The same data in row order loads.
    let rows = x.t().as_standard_layout().into_owned();
    let path = write_splits(&dir, "c.h5", &rows, &array![0i64, 1, 0, 1, 1]);
    assert_eq!(load_embeddings(&path).unwrap().train.x, x.t());
}

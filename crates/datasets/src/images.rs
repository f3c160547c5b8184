//! Image datasets from IDX files (raw Fashion-MNIST, or MNIST laid out the same way): the
//! pixels as features, one row per image.
//!
//! A directory holds `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
//! `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`, each gzipped (`.gz`, preferred when
//! both exist) or plain; the default is where Debian's `dataset-fashion-mnist` puts them
//! ([`DEFAULT_IMAGE_DIR`]). Images are `[N, H, W]` (one channel) or `[N, C, H, W]` unsigned
//! bytes; each becomes a row of `x: [N, C·H·W]` with pixel / 255 in `[0, 1]`, flattened in
//! `C, H, W` order, so [`Dataset::train_images`] gives `[N, C, H, W]` without copying and
//! [`Dataset::image_shape`] records `(C, H, W)`. Labels are class ids below the number of class
//! names (Fashion-MNIST's ten by default).
//!
//! Checks (each naming the file): everything the IDX reader checks ([`crate::read_idx`]), as
//! many labels as images in each split, every kept label below the class count, and the same
//! image shape in both splits. Processing order, as for embeddings: row cap (the first
//! `max_train` / `max_test` images of each split) → standardisation with train statistics.

use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use crate::dataset::{Dataset, ImageShape, Provenance, Split, Targets};
use crate::error::{Error, Result};
use crate::idx::{IdxArray, read_idx_with};
use crate::memory::{MemoryBudget, Read};
use crate::preprocess::standardize;

/// Where Debian's `dataset-fashion-mnist` installs the Fashion-MNIST IDX files.
pub const DEFAULT_IMAGE_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// The class names of Fashion-MNIST, in label order.
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// The IDX files of a directory, without `.gz`: train images, train labels, test images, test
/// labels.
pub const IDX_FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// How to load an image dataset from a directory of IDX files.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageConfig {
    /// Directory of the four IDX files.
    #[serde(default = "default_dir")]
    pub path: PathBuf,
    /// Subtract the train mean and divide by the train standard deviation, per pixel.
    #[serde(default)]
    pub standardize: bool,
    /// Keep at most this many training images (the first ones).
    #[serde(default)]
    pub max_train: Option<usize>,
    /// Keep at most this many test images (the first ones).
    #[serde(default)]
    pub max_test: Option<usize>,
    /// Class names in label order; their count is the number of classes. Absent: Fashion-MNIST's
    /// ten ([`FASHION_MNIST_CLASSES`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_names: Option<Vec<String>>,
}

fn default_dir() -> PathBuf {
    PathBuf::from(DEFAULT_IMAGE_DIR)
}

impl Default for ImageConfig {
    fn default() -> Self {
        ImageConfig::new(DEFAULT_IMAGE_DIR)
    }
}

impl ImageConfig {
    /// All images of the directory at `path`, Fashion-MNIST's classes, no processing.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        ImageConfig {
            path: path.into(),
            standardize: false,
            max_train: None,
            max_test: None,
            class_names: None,
        }
    }

    /// The class names: as configured, else Fashion-MNIST's.
    pub fn classes(&self) -> Vec<String> {
        self.class_names.clone().unwrap_or_else(|| {
            FASHION_MNIST_CLASSES
                .iter()
                .map(|c| c.to_string())
                .collect()
        })
    }

    /// The four files read, in [`IDX_FILES`] order: `NAME.gz` where it exists, else `NAME` where
    /// that exists, else `NAME.gz` (which then fails to load as not found). A result that depends
    /// on the data should hash these.
    pub fn files(&self) -> [PathBuf; 4] {
        IDX_FILES.map(|name| {
            let gz = self.path.join(format!("{name}.gz"));
            let plain = self.path.join(name);
            if !gz.exists() && plain.exists() {
                plain
            } else {
                gz
            }
        })
    }

    /// Checks the fields that can be checked without reading a file.
    ///
    /// # Errors
    /// [`Error::Config`] for a zero row cap or no, repeated or more than 256 class names (labels
    /// are bytes).
    pub fn validate(&self) -> Result<()> {
        for (field, cap) in [("max_train", self.max_train), ("max_test", self.max_test)] {
            if cap == Some(0) {
                return Err(Error::config(field, 0, "must be at least 1 (or absent)"));
            }
        }
        if let Some(names) = &self.class_names {
            if names.is_empty() || names.len() > 256 {
                return Err(Error::config(
                    "class_names",
                    format!("{} names", names.len()),
                    "give 1 to 256 names, one per label value (or omit it for Fashion-MNIST's)",
                ));
            }
            for (i, n) in names.iter().enumerate() {
                if names[..i].contains(n) {
                    return Err(Error::config("class_names", n, "name listed twice"));
                }
            }
        }
        Ok(())
    }

    /// Loads and processes the dataset.
    ///
    /// # Errors
    /// A typed [`Error`] naming the file: a missing or non-regular file, a malformed IDX file
    /// ([`Error::BadIdx`]: magic, type, dimensions, payload length), images that are not
    /// `[N, H, W]` or `[N, C, H, W]`, labels that are not `[N]`, image and label counts that
    /// differ, a kept label at or above the class count, train and test images of different
    /// shapes, an empty split; [`Error::TooLarge`] before allocating more than the memory
    /// available. Only the kept images are stored; the rest of each file is read and counted.
    pub fn load(&self) -> Result<Dataset> {
        self.validate()?;
        let names = self.classes();
        let [train_x, train_y, test_x, test_y] = self.files();
        let mut budget = MemoryBudget::available();
        let (train, shape) = self.split(&train_x, &train_y, self.max_train, &mut budget)?;
        let (test, test_shape) = self.split(&test_x, &test_y, self.max_test, &mut budget)?;
        if shape != test_shape {
            return Err(Error::BadIdx {
                path: test_x,
                field: "dims",
                message: format!(
                    "test images are {} but the training images ({}) are {}",
                    describe(test_shape),
                    train_x.display(),
                    describe(shape)
                ),
            });
        }
        let (mut train, mut test) = (train, test);
        if self.standardize {
            standardize(&mut train.x, &mut test.x);
        }
        let mut provenance = Provenance::new();
        provenance.insert("directory".into(), self.path.display().to_string());
        let files: Vec<String> = [&train_x, &train_y, &test_x, &test_y]
            .iter()
            .map(|p| {
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        provenance.insert("files".into(), files.join(","));
        provenance.insert(
            "format".into(),
            "IDX unsigned bytes; x = pixel / 255, rows flattened C, H, W".into(),
        );
        provenance.insert(
            "loader".into(),
            serde_json::to_string(self).unwrap_or_default(),
        );
        let name = self
            .path
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "images".into());
        Ok(Dataset {
            name,
            train,
            test,
            class_names: names,
            clauses: None,
            image_shape: Some(shape),
            provenance,
        })
    }

    /// One split: its images and labels, checked against each other and the class names.
    fn split(
        &self,
        images: &Path,
        labels: &Path,
        cap: Option<usize>,
        budget: &mut MemoryBudget,
    ) -> Result<(Split, ImageShape)> {
        let x = read_idx_with(images, None, cap, budget)?;
        let shape = image_shape(images, &x)?;
        let y = read_idx_with(labels, Some(1), cap, budget)?;
        let bad = |path: &Path, field, message| Error::BadIdx {
            path: path.to_path_buf(),
            field,
            message,
        };
        if x.declared_items() != y.declared_items() {
            return Err(bad(
                labels,
                "count",
                format!(
                    "{} labels but {} holds {} images",
                    y.declared_items(),
                    images.display(),
                    x.declared_items()
                ),
            ));
        }
        if x.declared_items() == 0 {
            return Err(bad(images, "count", "no images: the split is empty".into()));
        }
        let n_classes = self.classes().len();
        if let Some((i, &v)) = y
            .data()
            .iter()
            .enumerate()
            .find(|&(_, &v)| usize::from(v) >= n_classes)
        {
            return Err(bad(
                labels,
                "label",
                format!(
                    "label {v} at item {i} is out of range: there are {n_classes} classes (0 to \
                     {}); name them in `class_names` if the data has more",
                    n_classes - 1
                ),
            ));
        }
        let (rows, cols) = (x.shape()[0], x.item_len());
        budget.reserve(&Read {
            file: images,
            dataset: "images as f32",
            shape: x.shape().to_vec(),
            rows,
            bytes: crate::memory::read_bytes(rows, cols, 4),
        })?;
        let pixels: Vec<f32> = x
            .into_data()
            .into_iter()
            .map(|p| f32::from(p) / 255.0)
            .collect();
        let x = Array2::from_shape_vec((rows, cols), pixels).expect("rows × item length");
        let labels = Array1::from_iter(y.into_data().into_iter().map(u32::from));
        let split = Split {
            x,
            y: Targets::Classes { labels, n_classes },
        };
        Ok((split, shape))
    }
}

/// `(C, H, W)` of images stored `[N, H, W]` (one channel) or `[N, C, H, W]`.
fn image_shape(path: &Path, a: &IdxArray) -> Result<ImageShape> {
    match *a.shape() {
        [_, height, width] => Ok(ImageShape {
            channels: 1,
            height,
            width,
        }),
        [_, channels, height, width] => Ok(ImageShape {
            channels,
            height,
            width,
        }),
        ref s => Err(Error::BadIdx {
            path: path.to_path_buf(),
            field: "dims",
            message: format!(
                "images have {} dimension(s); expected 3 ([N, H, W]) or 4 ([N, C, H, W])",
                s.len()
            ),
        }),
    }
}

/// `28×28` or `3×32×32`.
fn describe(s: ImageShape) -> String {
    if s.channels == 1 {
        format!("{}×{}", s.height, s.width)
    } else {
        format!("{}×{}×{}", s.channels, s.height, s.width)
    }
}

/// Shorthand: all of raw Fashion-MNIST from `dir` (or [`DEFAULT_IMAGE_DIR`] when `None`), no
/// processing.
///
/// # Errors
/// As [`ImageConfig::load`].
pub fn load_images(dir: Option<&Path>) -> Result<Dataset> {
    ImageConfig::new(dir.unwrap_or(Path::new(DEFAULT_IMAGE_DIR))).load()
}

//! The one dataset type shared by Boolean-code tasks, embedding datasets and image datasets.

use std::collections::BTreeMap;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayView4, Axis, ShapeError};
use serde::{Deserialize, Serialize};

use crate::clauses::ClauseStructure;

/// Targets of one split.
///
/// Boolean tasks use [`Targets::Binary`] (sigmoid + BCE, one column per output bit); embedding
/// datasets use [`Targets::Classes`] (softmax + cross-entropy).
#[derive(Clone, Debug, PartialEq)]
pub enum Targets {
    /// One class id per sample, each `< n_classes`.
    Classes {
        /// `[N]` class ids.
        labels: Array1<u32>,
        /// Number of classes (the width of the output layer).
        n_classes: usize,
    },
    /// `[N, C]` 0/1 targets, one column per output bit (multi-label when `C > 1`).
    Binary(Array2<f32>),
}

impl Targets {
    /// Number of samples.
    pub fn len(&self) -> usize {
        match self {
            Targets::Classes { labels, .. } => labels.len(),
            Targets::Binary(y) => y.nrows(),
        }
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Width of the output layer these targets need: the class count, or the number of bits.
    pub fn n_outputs(&self) -> usize {
        match self {
            Targets::Classes { n_classes, .. } => *n_classes,
            Targets::Binary(y) => y.ncols(),
        }
    }

    /// The targets of the given sample indices, in that order.
    ///
    /// # Shapes
    /// `idx`: `[n]` row indices → `n` targets (`[n]` class ids or `[n, C]` bits).
    ///
    /// # Panics
    /// If an index is out of range.
    pub fn select(&self, idx: &[usize]) -> Targets {
        match self {
            Targets::Classes { labels, n_classes } => Targets::Classes {
                labels: labels.select(Axis(0), idx),
                n_classes: *n_classes,
            },
            Targets::Binary(y) => Targets::Binary(y.select(Axis(0), idx)),
        }
    }

    /// Class ids `[N]`, if these are class targets.
    pub fn labels(&self) -> Option<ArrayView1<'_, u32>> {
        match self {
            Targets::Classes { labels, .. } => Some(labels.view()),
            Targets::Binary(_) => None,
        }
    }

    /// 0/1 targets `[N, C]`, if these are binary targets.
    pub fn binary(&self) -> Option<ArrayView2<'_, f32>> {
        match self {
            Targets::Classes { .. } => None,
            Targets::Binary(y) => Some(y.view()),
        }
    }
}

/// Features and targets of one split (train or test).
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    /// `[N, d]` features.
    pub x: Array2<f32>,
    /// Targets of the same `N` samples.
    pub y: Targets,
}

impl Split {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.x.nrows()
    }

    /// True when the split has no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The samples at `idx`, in that order.
    ///
    /// # Shapes
    /// `idx`: `[n]` row indices → a split with `x: [n, d]` and `n` targets.
    ///
    /// # Panics
    /// If an index is out of range.
    pub fn select(&self, idx: &[usize]) -> Split {
        Split {
            x: self.x.select(Axis(0), idx),
            y: self.y.select(idx),
        }
    }
}

/// The shape `(C, H, W)` of one image of an image dataset, whose feature rows are the images
/// flattened in `C, H, W` order (row-major): reshaping `x: [N, C·H·W]` to `[N, C, H, W]` (NCHW)
/// gives the images back without copying.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImageShape {
    /// Channels `C` (1 for greyscale).
    pub channels: usize,
    /// Height `H` in pixels.
    pub height: usize,
    /// Width `W` in pixels.
    pub width: usize,
}

impl ImageShape {
    /// Values per image, `C·H·W`: the width of the feature rows.
    pub fn len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// True when an image has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows of `x` as images, without copying.
    ///
    /// # Shapes
    /// `x`: `[N, C·H·W]`, standard (row-major) layout → `[N, C, H, W]`.
    ///
    /// # Errors
    /// A [`ShapeError`] when `x` has another width or is not in standard layout (a batch made
    /// by [`Split::select`] or `select(Axis(0), …)` is).
    pub fn view<'a>(&self, x: ArrayView2<'a, f32>) -> Result<ArrayView4<'a, f32>, ShapeError> {
        let n = x.nrows();
        x.into_shape_with_order((n, self.channels, self.height, self.width))
    }
}

/// Free-form facts about where a dataset came from (file, generator, seed, attributes).
pub type Provenance = BTreeMap<String, String>;

/// A dataset: train and test splits plus what downstream code needs to interpret them.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Short name, e.g. `boolean_codes` or the HDF5 file stem.
    pub name: String,
    /// Training split.
    pub train: Split,
    /// Test split.
    pub test: Split,
    /// Names of the classes or output bits, one per output (may be empty when unknown).
    pub class_names: Vec<String>,
    /// Clause structure of a Boolean-code task; `None` for embedding and image datasets.
    pub clauses: Option<ClauseStructure>,
    /// Shape of one image of an image dataset (its rows are the flattened images, see
    /// [`ImageShape`]); `None` for other datasets.
    pub image_shape: Option<ImageShape>,
    /// Where the data came from and how it was processed.
    pub provenance: Provenance,
}

impl Dataset {
    /// Input dimension `d`.
    pub fn d_in(&self) -> usize {
        self.train.x.ncols()
    }

    /// Class ids that occur in the test split but never in the training split (a model cannot
    /// learn them; callers should warn). Empty for binary targets.
    pub fn test_only_classes(&self) -> Vec<u32> {
        let (Some(train), Some(test)) = (self.train.y.labels(), self.test.y.labels()) else {
            return Vec::new();
        };
        let seen: std::collections::BTreeSet<u32> = train.iter().copied().collect();
        let only: std::collections::BTreeSet<u32> =
            test.iter().copied().filter(|c| !seen.contains(c)).collect();
        only.into_iter().collect()
    }

    /// Output dimension: number of classes or of output bits.
    pub fn n_outputs(&self) -> usize {
        self.train.y.n_outputs()
    }

    /// The training images `[N, C, H, W]` (a view of `train.x`); `None` unless this is an image
    /// dataset whose rows have the image's width.
    pub fn train_images(&self) -> Option<ArrayView4<'_, f32>> {
        self.image_shape?.view(self.train.x.view()).ok()
    }

    /// The test images `[N, C, H, W]` (a view of `test.x`); `None` as for
    /// [`Dataset::train_images`].
    pub fn test_images(&self) -> Option<ArrayView4<'_, f32>> {
        self.image_shape?.view(self.test.x.view()).ok()
    }
}

/// Summary of a dataset for logs and run directories.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetSummary {
    /// Dataset name.
    pub name: String,
    /// Input dimension.
    pub d_in: usize,
    /// Output dimension.
    pub n_outputs: usize,
    /// Training samples.
    pub n_train: usize,
    /// Test samples.
    pub n_test: usize,
    /// Shape of one image, for image datasets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_shape: Option<ImageShape>,
    /// Provenance facts.
    pub provenance: Provenance,
}

impl From<&Dataset> for DatasetSummary {
    fn from(d: &Dataset) -> Self {
        DatasetSummary {
            name: d.name.clone(),
            d_in: d.d_in(),
            n_outputs: d.n_outputs(),
            n_train: d.train.len(),
            n_test: d.test.len(),
            image_shape: d.image_shape,
            provenance: d.provenance.clone(),
        }
    }
}

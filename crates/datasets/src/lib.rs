//! Datasets for Fixed Parameter Expansion experiments, usable from any ndarray trainer.
//!
//! Two families of tasks share one [`Dataset`] type: a train and a test [`Split`], each with
//! features `x: [N, d]` (`f32` [`ndarray::Array2`]) and [`Targets`] (`[N]` class ids or `[N, C]`
//! 0/1 bits), plus class names, the clause structure of Boolean tasks and provenance.
//!
//! - **Boolean-code (DNF) tasks** ([`BooleanCodeConfig`], SPEC §2): read-once clauses of `k`
//!   literals over `n` variables, `raw`/`literal` encodings ([`Encoding`]), `balanced`/`uniform`
//!   sampling ([`Sampling`]), `or`/`per_clause` outputs ([`OutputKind`]); the
//!   [`ClauseStructure`] travels with the data, and [`ClauseStructure::clause_inputs`] gives it
//!   in the form the `fpe` clause strategies and the `fpe-metrics` collision metrics take.
//! - **Embedding datasets** ([`EmbeddingConfig`], [`load_embeddings`], SPEC §3): frozen image
//!   embeddings stored in HDF5 (`/train/x`, `/train/y`, `/test/x`, `/test/y`), with L2
//!   normalisation, standardisation, class subsets and row caps; [`write_hdf5`] writes any
//!   [`Dataset`] in the same layout. Only the rows kept are read; a read larger than the memory
//!   available is refused before allocating ([`Error::TooLarge`]), and so is data stored outside
//!   the opened file, which its hash would not cover ([`Error::StoredElsewhere`]).
//! - **Image datasets** ([`ImageConfig`], [`load_images`]): raw images from IDX files (the
//!   MNIST format, plain or gzipped; [`read_idx`]), by default Fashion-MNIST as Debian's
//!   `dataset-fashion-mnist` installs it ([`DEFAULT_IMAGE_DIR`]). Rows are the flattened images
//!   (pixel / 255), [`Dataset::image_shape`] records `(C, H, W)`, and
//!   [`Dataset::train_images`] views the rows as `[N, C, H, W]`.
//!
//! Randomness: one seed, one independent ChaCha stream per purpose ([`rng_for`], [`Stream`]).
//! Mini-batches: [`EpochOrder`]. Errors: [`Error`], which names the field, file or dataset at
//! fault.
//!
//! The crate depends on no other workspace crate. `cargo run -p fpe-datasets --example
//! dnf_task` prints a task's clauses and samples, then loads the shipped embeddings.
//!
//! Features: `hdf5` (default) — reading and writing HDF5 files, which needs the libhdf5 C
//! library. With `default-features = false` the Boolean tasks, datasets and batches build
//! without it, and [`load_embeddings`] / [`write_hdf5`] return [`Error::Hdf5NotCompiled`].
//!
//! # Example
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use fpe_datasets::{BooleanCodeConfig, Encoding, EpochOrder, Stream, rng_for};
//!
//! // 4 read-once clauses of 3 literals over 64 variables, literal encoding [x, 1 − x].
//! let cfg = BooleanCodeConfig { clauses: 4, encoding: Encoding::Literal, train_size: 512, ..Default::default() };
//! let data = cfg.generate(42)?;
//! assert_eq!(data.train.x.dim(), (512, 128)); // x: [N, d], an ndarray::Array2<f32>
//! let clauses = data.clauses.as_ref().expect("Boolean tasks carry their clauses");
//! println!("{}", clauses.to_formula()); // (x3 ∧ ¬x17 ∧ x40) ∨ …
//! let inputs: Vec<Vec<usize>> = clauses.clause_inputs(); // for fpe and fpe-metrics
//! assert_eq!(inputs.len(), 4);
//!
//! // Shuffled mini-batches from the seed's batch stream.
//! let order = EpochOrder::shuffled(data.train.len(), 256, &mut rng_for(42, Stream::Batches));
//! for batch in order.iter_split(&data.train) {
//!     assert!(batch.len() <= 256);
//! }
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]
#![warn(rustdoc::broken_intra_doc_links)]

mod batches;
mod boolean;
mod clauses;
mod dataset;
mod embeddings;
#[cfg(feature = "hdf5")]
mod embeddings_hdf5;
mod error;
#[cfg(feature = "hdf5")]
mod hdf5_guard;
#[cfg(feature = "hdf5")]
mod hdf5_labels;
#[cfg(feature = "hdf5")]
mod hdf5_read;
mod hdf5_write;
mod idx;
mod images;
mod memory;
mod preprocess;
mod seeds;

pub use batches::EpochOrder;
pub use boolean::{BooleanCodeConfig, OutputKind, Sampling};
pub use clauses::{Clause, ClauseStructure, Encoding, Literal, clause_string};
pub use dataset::{Dataset, DatasetSummary, ImageShape, Provenance, Split, Targets};
pub use embeddings::{ClassRef, EmbeddingConfig, MAX_CLASSES, load_embeddings};
pub use error::{Error, Result};
pub use hdf5_write::{FloatStorage, write_hdf5};
pub use idx::{IdxArray, read_idx};
pub use images::{DEFAULT_IMAGE_DIR, FASHION_MNIST_CLASSES, IDX_FILES, ImageConfig, load_images};
pub use preprocess::{column_stats, l2_normalize_rows, standardize};
pub use seeds::{Stream, rng_for};

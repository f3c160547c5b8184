//! Datasets for Fixed Parameter Expansion experiments.
//!
//! Two families share one [`Dataset`] type (features `[N, d]` f32, targets, class names or clause
//! structure, provenance):
//!
//! - **Boolean-code (DNF) tasks** ([`BooleanCodeConfig`], SPEC §2): read-once clauses of `k`
//!   literals over `n` variables, `raw`/`literal` encodings, `balanced`/`uniform` sampling,
//!   `or`/`per_clause` outputs; the [`ClauseStructure`] travels with the data.
//! - **Embedding datasets** ([`EmbeddingConfig`], SPEC §3): frozen image embeddings stored in HDF5
//!   (`/train/x`, `/train/y`, `/test/x`, `/test/y`), with L2 normalisation, standardisation, class
//!   subsets and row caps.
//!
//! Randomness: one seed, one independent ChaCha stream per purpose ([`rng_for`], [`Stream`]).
//! Mini-batches: [`EpochOrder`].
//!
//! ```
//! use fpe_datasets::{BooleanCodeConfig, Encoding, EpochOrder, Stream, rng_for};
//!
//! let cfg = BooleanCodeConfig { clauses: 4, encoding: Encoding::Literal, train_size: 512, ..Default::default() };
//! let data = cfg.generate(42)?;
//! assert_eq!(data.d_in(), 128); // literal encoding: [x, 1 − x]
//! let clauses = data.clauses.as_ref().expect("Boolean tasks carry their clauses");
//! println!("{}", clauses.to_formula());
//!
//! let order = EpochOrder::shuffled(data.train.len(), 256, &mut rng_for(42, Stream::Batches));
//! for batch in order.iter_split(&data.train) {
//!     assert!(batch.len() <= 256);
//! }
//! # Ok::<(), fpe_datasets::Error>(())
//! ```

mod batches;
mod boolean;
mod clauses;
mod dataset;
mod embeddings;
mod error;
mod hdf5_read;
mod hdf5_write;
mod preprocess;
mod seeds;

pub use batches::EpochOrder;
pub use boolean::{BooleanCodeConfig, OutputKind, Sampling};
pub use clauses::{Clause, ClauseStructure, Encoding, Literal, clause_string};
pub use dataset::{Dataset, DatasetSummary, Provenance, Split, Targets};
pub use embeddings::{ClassRef, EmbeddingConfig, load_embeddings};
pub use error::{Error, Result};
pub use hdf5_write::{FloatStorage, write_hdf5};
pub use preprocess::{column_stats, l2_normalize_rows, standardize};
pub use seeds::{Stream, rng_for};

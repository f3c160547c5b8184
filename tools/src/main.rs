//! The `fpe` command-line program.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use fpe_datasets::{BooleanCodeConfig, Encoding, FloatStorage, OutputKind, Sampling};

/// Fixed Parameter Expansion: expand neurons, not parameters.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate or inspect datasets.
    #[command(subcommand)]
    Data(DataCommand),
    /// Reproduce the paper's experiments (arrives with issue #6).
    Reproduce {
        /// Fewer seeds and epochs.
        #[arg(long)]
        quick: bool,
        /// Output directory.
        #[arg(long, default_value = "results")]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum DataCommand {
    /// Write a Boolean-code (DNF) task in the embedding HDF5 layout, clause structure included.
    ///
    /// Example: `fpe data boolean --clauses 8 --seed 0 --out dnf.h5`
    Boolean {
        /// Number of Boolean variables n.
        #[arg(long, default_value_t = 64)]
        n_vars: usize,
        /// Number of clauses m.
        #[arg(long, default_value_t = 8)]
        clauses: usize,
        /// Literals per clause k.
        #[arg(long, default_value_t = 3)]
        literals: usize,
        /// Training samples.
        #[arg(long, default_value_t = 4096)]
        train_size: usize,
        /// Test samples.
        #[arg(long, default_value_t = 4096)]
        test_size: usize,
        /// Use the literal encoding [x, 1 − x] (d = 2n) instead of raw bits.
        #[arg(long)]
        literal_encoding: bool,
        /// Draw i.i.d. uniform bits instead of balanced positives/negatives.
        #[arg(long)]
        uniform: bool,
        /// One output per clause instead of their OR.
        #[arg(long)]
        per_clause: bool,
        /// Seed of the formula and data streams.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output HDF5 file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the shape, classes and provenance of an HDF5 embedding file.
    ///
    /// Example: `fpe data info data/fashion_mnist_effnetlite0_pca256_f16.h5`
    Info {
        /// HDF5 file in the embedding layout.
        file: PathBuf,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Data(DataCommand::Boolean {
            n_vars,
            clauses,
            literals,
            train_size,
            test_size,
            literal_encoding,
            uniform,
            per_clause,
            seed,
            out,
        }) => {
            let cfg = BooleanCodeConfig {
                n_vars,
                clauses,
                literals,
                train_size,
                test_size,
                encoding: if literal_encoding {
                    Encoding::Literal
                } else {
                    Encoding::Raw
                },
                sampling: if uniform {
                    Sampling::Uniform
                } else {
                    Sampling::Balanced
                },
                output: if per_clause {
                    OutputKind::PerClause
                } else {
                    OutputKind::Or
                },
            };
            let data = cfg.generate(seed)?;
            fpe_datasets::write_hdf5(&data, &out, FloatStorage::F32)
                .with_context(|| format!("writing {}", out.display()))?;
            eprintln!(
                "wrote {}: {}",
                out.display(),
                data.clauses
                    .as_ref()
                    .map(|c| c.to_formula())
                    .unwrap_or_default()
            );
        }
        Command::Reproduce { .. } => {
            anyhow::bail!(
                "`fpe reproduce` is not built yet: it needs the model (#3), the expansion (#4), \
                 the metrics (#5) and the experiment pipeline (#6)"
            );
        }
        Command::Data(DataCommand::Info { file }) => {
            let data = fpe_datasets::load_embeddings(&file)?;
            let summary = fpe_datasets::DatasetSummary::from(&data);
            println!("{}", serde_json::to_string_pretty(&summary)?);
            println!("classes: {:?}", data.class_names);
        }
    }
    Ok(())
}

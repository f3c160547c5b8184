//! `fpe data` and `fpe inspect`: dataset generation/inspection and checkpoint inspection.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use fpe_datasets::{BooleanCodeConfig, Encoding, FloatStorage, OutputKind, Sampling};
use fpe_model::Checkpoint;

#[derive(Subcommand)]
pub(crate) enum DataCommand {
    /// Write a Boolean-code (DNF) task in the embedding HDF5 layout, clause structure included.
    ///
    /// Example:
    ///   fpe data boolean --clauses 8 --seed 0 --out dnf.h5
    #[command(verbatim_doc_comment)]
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
        /// Output HDF5 file (a new regular file).
        #[arg(long)]
        out: PathBuf,
        /// Overwrite an existing --out file.
        #[arg(long)]
        force: bool,
    },
    /// Print the shape, classes and provenance of an HDF5 embedding file.
    ///
    /// Example:
    ///   fpe data info data/fashion_mnist_effnetlite0_pca256_f16.h5
    #[command(verbatim_doc_comment)]
    Info {
        /// HDF5 file in the embedding layout.
        file: PathBuf,
    },
}

pub(crate) fn data(cmd: DataCommand) -> Result<()> {
    match cmd {
        DataCommand::Boolean {
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
            force,
        } => {
            fpe_experiments::results::check_output(&out, "--out", force, &[])?;
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
        DataCommand::Info { file } => {
            let data = fpe_datasets::load_embeddings(&file)?;
            fpe_experiments::sweep::warn_test_only_classes(&data, &file);
            println!(
                "{}",
                serde_json::to_string_pretty(&fpe_datasets::DatasetSummary::from(&data))?
            );
            println!("classes: {:?}", data.class_names);
        }
    }
    Ok(())
}

pub(crate) fn inspect(path: &PathBuf, json: bool) -> Result<()> {
    let ck = Checkpoint::load(path)?;
    let mlp = &ck.mlp;
    let alpha: usize = ck
        .meta
        .get("alpha")
        .and_then(|a| a.parse().ok())
        .unwrap_or(1);
    let w = mlp.layers()[0].weight();
    let alpha = if alpha > 0 && w.nrows() % alpha == 0 {
        alpha
    } else {
        1
    };
    let report =
        fpe_metrics::MetricReport::compute(&fpe_metrics::ReportInput::new(w).alpha(alpha))?;
    let info = serde_json::json!({
        "file": path.display().to_string(),
        "widths": mlp.widths(),
        "nnz_per_layer": mlp.nnz_per_layer(),
        "nnz": mlp.nnz(),
        "biases": mlp.n_biases(),
        "density_per_layer": mlp.layers().iter().map(|l| l.density()).collect::<Vec<_>>(),
        "backbone": mlp.backbone().map(|b| serde_json::json!({
            "input": b.config().input,
            "stages": b.config().stages,
            "nnz_per_layer": b.layers().iter().map(|l| l.nnz()).collect::<Vec<_>>(),
        })),
        "epoch": ck.epoch,
        "step": ck.step,
        "meta": ck.meta,
        "metrics": report,
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&info)?);
    } else {
        println!("{}", printable(&path.display().to_string()));
        println!("  widths      {:?}", mlp.widths());
        println!(
            "  nnz/layer   {:?} (total {}, biases {})",
            mlp.nnz_per_layer(),
            mlp.nnz(),
            mlp.n_biases()
        );
        if let Some(b) = mlp.backbone() {
            let stages: Vec<String> = b.config().stages.iter().map(|s| s.to_string()).collect();
            println!(
                "  backbone    input {:?}: {}",
                b.config().input,
                stages.join(", ")
            );
            let nnz: Vec<usize> = b.layers().iter().map(|l| l.nnz()).collect();
            println!("  backbone nnz/layer {nnz:?}");
        }
        println!("  trained     {} epochs, {} steps", ck.epoch, ck.step);
        for (k, v) in &ck.meta {
            println!("  {:<11} {}", printable(k), printable(v));
        }
        println!(
            "  capacity    mean {:.4}, sum {:.3}",
            report.capacity.mean, report.capacity.sum
        );
        println!(
            "  cosine      |cos| {:.4}, signed {:.4}, cross-parent {:.4}",
            report.cosine.mean_abs, report.cosine.mean_signed, report.cosine.mean_abs_cross_parent
        );
    }
    Ok(())
}

/// `text` with every control character escaped (`\u{1b}`, `\n`): checkpoint metadata is
/// written by whoever made the file, and printed raw it could retitle the terminal or forge
/// lines of this output.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            super::printable("a\u{1b}]0;owned\u{7}\nseed 3\té"),
            "a\\u{1b}]0;owned\\u{7}\\nseed 3\\té"
        );
    }
}

//! Generate a Boolean-code (DNF) task, print its clauses and a few samples, then load the
//! shipped embedding dataset (or the HDF5 file given as the first argument).
//!
//! ```text
//! cargo run -p fpe-datasets --example dnf_task [-- path/to/embeddings.h5]
//! ```

use std::path::PathBuf;

use fpe_datasets::{BooleanCodeConfig, DatasetSummary, EmbeddingConfig, Encoding, OutputKind};

/// The embeddings that ship with the repository (`data/README.md`).
const SHIPPED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/fashion_mnist_effnetlite0_pca256_f16.h5"
);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. A small DNF task: 4 read-once clauses of 3 literals over 16 variables, one output
    //    bit per clause, raw encoding (one input column per variable).
    let cfg = BooleanCodeConfig {
        n_vars: 16,
        clauses: 4,
        literals: 3,
        train_size: 1024,
        test_size: 256,
        encoding: Encoding::Raw,
        output: OutputKind::PerClause,
        ..Default::default()
    };
    let seed = 7;
    let data = cfg.generate(seed)?;
    let clauses = data
        .clauses
        .as_ref()
        .expect("Boolean tasks carry their clauses");
    println!("formula: {}", clauses.to_formula());
    for (c, inputs) in clauses.clause_inputs().iter().enumerate() {
        println!(
            "  clause {c}: {}  reads input columns {inputs:?}",
            data.class_names[c]
        );
    }
    let y = data
        .train
        .y
        .binary()
        .expect("Boolean tasks have binary targets");
    println!(
        "train x {:?}, y {:?}; test x {:?}",
        data.train.x.dim(),
        y.dim(),
        data.test.x.dim()
    );

    // 2. The first training samples (already shuffled): the bits, which clauses hold, the targets.
    for i in 0..5 {
        let row = data.train.x.row(i);
        let bits: Vec<bool> = row.iter().map(|&v| v > 0.5).collect();
        let shown: String = bits.iter().map(|&b| if b { '1' } else { '0' }).collect();
        let holds = clauses.satisfied(&bits);
        println!(
            "  sample {i:4}: x = {shown}  clauses hold {holds:?}  y = {}",
            y.row(i)
        );
    }

    // 3. An embedding dataset from HDF5: the shipped Fashion-MNIST embeddings by default.
    let (path, explicit) = match std::env::args_os().nth(1) {
        Some(p) => (PathBuf::from(p), true),
        None => (PathBuf::from(SHIPPED), false),
    };
    if !explicit && !path.exists() {
        println!(
            "no embedding file at {}; pass one as the first argument",
            path.display()
        );
        return Ok(());
    }
    let emb = EmbeddingConfig {
        l2_normalize: true,
        max_train: Some(2000),
        max_test: Some(500),
        ..EmbeddingConfig::new(&path)
    }
    .load()?;
    let summary = DatasetSummary::from(&emb);
    println!(
        "{}: {} train / {} test rows, d = {}, {} classes: {}",
        summary.name,
        summary.n_train,
        summary.n_test,
        summary.d_in,
        summary.n_outputs,
        emb.class_names.join(", ")
    );
    let labels = emb
        .train
        .y
        .labels()
        .expect("embedding datasets have class targets");
    let norm: f32 = emb.train.x.row(0).iter().map(|v| v * v).sum::<f32>().sqrt();
    println!("first training row: class {}, L2 norm {norm:.3}", labels[0]);
    Ok(())
}

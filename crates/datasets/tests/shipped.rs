//! The two real data sets shipped in `data/`: their bytes are the ones their data cards
//! describe (sha256), and they load with the shapes, classes and balance the cards state.

#![cfg(feature = "hdf5")]

use std::path::PathBuf;

use fpe_datasets::load_embeddings;
use sha2::{Digest, Sha256};

fn shipped(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data")
        .join(name)
}

fn sha256_hex(path: &PathBuf) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn shipped_files_match_their_data_cards() {
    for (file, sum) in [
        (
            "fashion_mnist_effnetlite0_pca256_f16.h5",
            "4c0bf1433aebceb5ee5f7f7ca2176ae6a7aa5e383c70e089cba7e86fdd9e0461",
        ),
        (
            "wordnet30_supersense40_minilm384_f16.h5",
            "3eae6d507bc390738a34fab1b10d93a3fb85ccf2cd179508633433dd91d083c2",
        ),
    ] {
        let path = shipped(file);
        assert_eq!(
            sha256_hex(&path),
            sum,
            "{file}: sha256 differs from data/README.md"
        );
        let card = std::fs::read_to_string(shipped("README.md")).unwrap();
        assert!(
            card.contains(sum),
            "data/README.md does not list the sha256 of {file}"
        );
    }
}

#[test]
fn loads_the_shipped_wordnet_supersense_embeddings() {
    let data = load_embeddings(shipped("wordnet30_supersense40_minilm384_f16.h5")).unwrap();
    assert_eq!(data.train.x.dim(), (38_990, 384));
    assert_eq!(data.test.x.dim(), (6_881, 384));
    assert_eq!(data.n_outputs(), 40);
    assert_eq!(data.class_names.len(), 40);
    assert_eq!(data.class_names[0], "adj.all");
    assert_eq!(data.class_names[4], "noun.animal");
    assert_eq!(data.class_names[39], "verb.stative");
    assert_eq!(
        data.provenance.get("is_clip").map(String::as_str),
        Some("0")
    );
    // 341 to 1,500 examples per class over both splits (85/15 stratified).
    let (tr, te) = (
        data.train.y.labels().unwrap(),
        data.test.y.labels().unwrap(),
    );
    for c in 0..40u32 {
        let n = tr.iter().chain(te.iter()).filter(|&&l| l == c).count();
        assert!((341..=1500).contains(&n), "class {c}: {n} examples");
    }
    // Rows are L2-normalised (float16 rounding apart).
    for row in data.train.x.rows().into_iter().take(100) {
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 2e-3, "row norm {norm}");
    }
}

//! Relative data paths resolve from the config's directory upwards, so the shipped configs work
//! from any working directory (`cargo test` runs in `crates/experiments`, where the configs'
//! `data/…` paths do not exist).

use std::path::Path;

use fpe_experiments::config::{TaskConfig, resolve_data_path};
use fpe_experiments::sweep::Experiment;

#[test]
fn a_path_resolves_against_the_nearest_directory_above_the_config_that_has_it() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("data/experiments");
    std::fs::create_dir_all(&base).unwrap();
    std::fs::create_dir_all(dir.path().join("data/data")).unwrap();
    std::fs::write(dir.path().join("data/x.h5"), b"").unwrap();
    let rel = Path::new("data/x.h5");
    assert_eq!(
        resolve_data_path(rel, &base),
        Some(dir.path().join("data/x.h5"))
    );
    // A closer match wins.
    std::fs::write(dir.path().join("data/data/x.h5"), b"").unwrap();
    assert_eq!(
        resolve_data_path(rel, &base),
        Some(dir.path().join("data/data/x.h5"))
    );
    // Absolute paths and paths found nowhere are left alone.
    assert_eq!(resolve_data_path(&dir.path().join("nope.h5"), &base), None);
    assert_eq!(resolve_data_path(Path::new("data/nope.h5"), &base), None);
}

#[test]
fn the_shipped_embedding_configs_find_their_data_from_another_directory() {
    let experiments = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/experiments");
    assert!(!Path::new("data/wordnet30_supersense40_minilm384_f16.h5").exists());
    for name in ["e8_embeddings.toml", "e8_fashion_mnist.toml"] {
        let exp = Experiment::load(&experiments.join(name), true, &toml::Table::new()).unwrap();
        for setting in &exp.settings {
            let TaskConfig::Embeddings(e) = &setting.cfg.task else {
                panic!("{name}: not an embeddings task");
            };
            assert!(e.path.is_file(), "{name}: {} not found", e.path.display());
        }
    }
}

#[test]
fn the_raw_image_config_reads_the_apt_directory_and_caps_its_rows() {
    let experiments = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/experiments");
    let path = experiments.join("e8_fashion_mnist_raw.toml");
    for (quick, cap, settings) in [(false, 10_000, 10), (true, 2_000, 6)] {
        let exp = Experiment::load(&path, quick, &toml::Table::new()).unwrap();
        assert_eq!(exp.settings.len(), settings);
        for setting in &exp.settings {
            let TaskConfig::Images(i) = &setting.cfg.task else {
                panic!("not an images task");
            };
            assert_eq!(i.path, Path::new(fpe_datasets::DEFAULT_IMAGE_DIR));
            assert_eq!(i.max_train, Some(cap));
            assert!(!i.standardize);
        }
    }
}

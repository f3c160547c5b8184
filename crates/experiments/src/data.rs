//! The data a unit trains on: Boolean tasks generated per seed, embedding files and image
//! directories loaded once per distinct loader config and shared between units.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::{Context, Result};
use fpe_datasets::{Dataset, EmbeddingConfig, ImageConfig};

use crate::config::{ExperimentConfig, TaskConfig};

/// Loads embedding and image datasets once per distinct loader config.
#[derive(Default)]
pub struct DataCache(Mutex<HashMap<String, Arc<Dataset>>>);

impl DataCache {
    fn embeddings(&self, e: &EmbeddingConfig) -> Result<Arc<Dataset>> {
        let key = serde_json::to_string(e)?;
        if let Some(d) = self.0.lock().expect("cache lock").get(&key) {
            return Ok(d.clone());
        }
        let d = Arc::new(
            e.load()
                .with_context(|| format!("loading {}", e.path.display()))?,
        );
        warn_test_only_classes(&d, &e.path);
        self.0.lock().expect("cache lock").insert(key, d.clone());
        Ok(d)
    }

    fn images(&self, i: &ImageConfig) -> Result<Arc<Dataset>> {
        let key = format!("images:{}", serde_json::to_string(i)?);
        if let Some(d) = self.0.lock().expect("cache lock").get(&key) {
            return Ok(d.clone());
        }
        let d = Arc::new(i.load().with_context(|| {
            format!(
                "loading the IDX images in {} (Debian's dataset-fashion-mnist installs \
                 Fashion-MNIST in {}; scripts/setup.sh does)",
                i.path.display(),
                fpe_datasets::DEFAULT_IMAGE_DIR
            )
        })?);
        self.0.lock().expect("cache lock").insert(key, d.clone());
        Ok(d)
    }

    /// The dataset of `cfg` for `seed`.
    ///
    /// # Errors
    /// Generation or loading errors.
    pub fn get(&self, cfg: &ExperimentConfig, seed: u64) -> Result<Arc<Dataset>> {
        match &cfg.task {
            TaskConfig::Boolean(b) => Ok(Arc::new(b.generator().generate(seed)?)),
            TaskConfig::Embeddings(e) => self.checked(cfg, self.embeddings(e)?, &e.path),
            TaskConfig::Images(i) => self.checked(cfg, self.images(i)?, &i.path),
        }
    }

    /// `d`, loaded from `path`, once its sizes pass the memory check of `cfg`: they are known
    /// only now, and training allocates more.
    fn checked(
        &self,
        cfg: &ExperimentConfig,
        d: Arc<Dataset>,
        path: &std::path::Path,
    ) -> Result<Arc<Dataset>> {
        let samples = d.train.x.nrows() + d.test.x.nrows();
        cfg.check_memory(d.d_in(), d.n_outputs(), samples)
            .with_context(|| format!("with {}", path.display()))?;
        Ok(d)
    }
}

/// Warns on stderr about classes of `data` (read from `path`) that occur only in the test split:
/// no model can learn them, and they cap the test accuracy.
pub fn warn_test_only_classes(data: &fpe_datasets::Dataset, path: &std::path::Path) {
    let only = data.test_only_classes();
    if !only.is_empty() {
        let names: Vec<String> = only
            .iter()
            .map(|&c| {
                data.class_names
                    .get(c as usize)
                    .map_or_else(|| c.to_string(), |n| format!("{c} ({n})"))
            })
            .collect();
        eprintln!(
            "warning: {}: {} class(es) occur in the test split but never in the training split: {}",
            path.display(),
            only.len(),
            names.join(", ")
        );
    }
}

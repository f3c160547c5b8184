//! E5: measured collision rates of `random` plans against the closed forms (SPEC §7, §8).
//!
//! For every literal count k and factor α: a dense layer of `P` parents over `d` inputs is planned
//! with the `random` strategy; in every parent, two fixed literal-disjoint clauses (inputs
//! `0..k` and `k..2k`) collide when all 2k inputs land in the same child. The fraction of
//! colliding parents over `trials` parents, with its standard error, sits beside the balanced
//! (hypergeometric) and independent (`α^−(2k−1)`) predictions. The `clause` strategy is measured
//! the same way (two clauses, α ≥ 2: it must never collide).

use std::path::Path;

use crate::error::{Error, Result};
use fpe::{ExpansionConfig, StrategyKind};
use fpe_datasets::{Stream, rng_for};
use fpe_model::MlpConfig;

use crate::experiment::{Experiment, ExperimentOutcome};
use crate::results::CollisionRow;

const PARENTS_PER_PLAN: usize = 1000;

/// Runs the collision experiment and writes `collisions.json` and `collisions.csv`.
///
/// # Errors
/// Invalid parameters or unwritable output.
pub(crate) fn run(exp: &Experiment, dir: &Path) -> Result<ExperimentOutcome> {
    let c = &exp.cfg.collisions;
    let seed = exp.cfg.seeds[0];
    let mut rows = Vec::new();
    for &k in &c.literals {
        for &alpha in &c.alphas {
            if 2 * k > c.inputs {
                return Err(Error::Invalid(format!(
                    "collisions: 2k = {} exceeds inputs = {}",
                    2 * k,
                    c.inputs
                )));
            }
            let mut rng = rng_for(seed ^ ((k as u64) << 32) ^ alpha as u64, Stream::Split);
            let mlp = MlpConfig {
                d_in: c.inputs,
                hidden: vec![PARENTS_PER_PLAN],
                d_out: 1,
            }
            .init(&mut rng_for(seed, Stream::Init))?;
            let clauses = vec![(0..k).collect::<Vec<_>>(), (k..2 * k).collect()];
            let count = |kind: StrategyKind,
                         rng: &mut rand_chacha::ChaCha8Rng|
             -> Result<(usize, usize)> {
                let cfg = ExpansionConfig {
                    alpha,
                    strategy: kind,
                    ..Default::default()
                };
                let (mut hits, mut n) = (0, 0);
                while n < c.trials {
                    let plan = fpe::plan(&mlp, &cfg, Some(&clauses), rng)?;
                    for groups in &plan.layers[0].splits {
                        if n == c.trials {
                            break;
                        }
                        n += 1;
                        hits +=
                            usize::from(groups.iter().any(|g| (0..2 * k).all(|j| g.contains(&j))));
                    }
                }
                Ok((hits, n))
            };
            let (hits, n) = count(StrategyKind::Random, &mut rng)?;
            let (clause_hits, _) = count(StrategyKind::Clause, &mut rng)?;
            let p = hits as f64 / n as f64;
            let balanced = fpe_metrics::collision_prob_balanced(c.inputs, alpha, k)?;
            let independent = fpe_metrics::collision_prob_independent(alpha, k)?;
            // Standard error of the prediction (the measured p can be 0 for rare events).
            let se = (balanced * (1.0 - balanced) / n as f64).sqrt();
            let z = if se > 0.0 {
                (p - balanced).abs() / se
            } else {
                0.0
            };
            rows.push(CollisionRow {
                k,
                alpha,
                inputs: c.inputs,
                trials: n,
                measured: p,
                stderr: se,
                theory_balanced: balanced,
                theory_independent: independent,
                z,
                clause_measured: clause_hits as f64 / n as f64,
            });
        }
    }
    let json = serde_json::to_string_pretty(&rows)?;
    fpe_io::write_atomic(&dir.join("collisions.json"), json.as_bytes())?;
    let csv = crate::results::csv_text(
        &[
            "k",
            "alpha",
            "inputs",
            "trials",
            "measured",
            "stderr",
            "theory_balanced",
            "theory_independent",
            "z",
            "clause_measured",
        ],
        rows.iter().map(|r| {
            [
                r.k.to_string(),
                r.alpha.to_string(),
                r.inputs.to_string(),
                r.trials.to_string(),
                r.measured.to_string(),
                r.stderr.to_string(),
                r.theory_balanced.to_string(),
                r.theory_independent.to_string(),
                r.z.to_string(),
                r.clause_measured.to_string(),
            ]
        }),
    );
    fpe_io::write_atomic(&dir.join("collisions.csv"), csv.as_bytes())?;
    Ok(ExperimentOutcome {
        dir: dir.to_path_buf(),
        ran: 1,
        skipped: 0,
        rows: Vec::new(),
    })
}

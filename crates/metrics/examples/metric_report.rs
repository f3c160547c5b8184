//! Compute and print the metric report of a first-layer weight matrix.
//!
//! ```text
//! cargo run -p fpe-metrics --example metric_report                      # random FPE-shaped layers
//! cargo run -p fpe-metrics --example metric_report -- model.npz [alpha]  # an exported model
//! ```
//!
//! With a path, reads `weight_0` (`[h, d]`, `<f4` or `<f8`) from an uncompressed `.npz` file, as
//! written by `fpe export`, by the `fpe-model` example `train_masked` or by `numpy.savez`, and
//! reports capacity and cosine with parents of `alpha` children (default 1).
//!
//! Without one, builds two random layers of 8 parents split into α = 2 children over 48 inputs,
//! one split at random and one keeping each clause's literals in one child, and reports every
//! metric of both, including activation polysemanticity on random 0/1 inputs.

use std::error::Error;
use std::path::Path;

use fpe_metrics::{MetricReport, ReportInput};
use ndarray::Array2;
use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;

const D: usize = 48;
const PARENTS: usize = 8;
const ALPHA: usize = 2;

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    if let Some(path) = args.next() {
        let alpha = args.next().map_or(Ok(1), |a| a.parse())?;
        let w = read_npz_f32(Path::new(&path), "weight_0")?;
        let report = MetricReport::compute(&ReportInput::new(w.view()).alpha(alpha))?;
        print_report(&format!("{path}: weight_0 {:?}", w.dim()), &report);
        return Ok(());
    }

    let mut rng = ChaCha8Rng::seed_from_u64(0);
    // 8 clauses of 3 positive literals on inputs 0..24; inputs 24..48 are noise.
    let clauses: Vec<Vec<usize>> = (0..8).map(|c| (3 * c..3 * c + 3).collect()).collect();
    // Random 0/1 inputs [N, d] and which clauses hold on each sample [N, m].
    let x = Array2::from_shape_simple_fn((1024, D), || f32::from(u8::from(rng.random_bool(0.5))));
    let satisfied = Array2::from_shape_fn((1024, clauses.len()), |(s, c)| {
        clauses[c].iter().all(|&i| x[[s, i]] == 1.0)
    });
    for by_clause in [false, true] {
        let w = split_layer(&clauses, by_clause, &mut rng);
        let acts = x.dot(&w.t()).mapv(|z| z.max(0.0)); // ReLU activations [N, h]
        let input = ReportInput::new(w.view())
            .clauses(&clauses)
            .alpha(ALPHA)
            .activations(acts.view())
            .satisfied(satisfied.view());
        let report = MetricReport::compute(&input)?;
        let split = if by_clause { "clause" } else { "random" };
        print_report(&format!("{split} split, weights {:?}", w.dim()), &report);
    }
    Ok(())
}

/// Weights `[PARENTS · ALPHA, D]`: each parent's `D` inputs dealt to its `ALPHA` children, at
/// random or with every clause's literals kept together; values uniform in `±1/√D`.
fn split_layer(clauses: &[Vec<usize>], by_clause: bool, rng: &mut ChaCha8Rng) -> Array2<f32> {
    let bound = 1.0 / (D as f32).sqrt();
    let mut w = Array2::zeros((PARENTS * ALPHA, D));
    for parent in 0..PARENTS {
        // Units that go to one child together: whole clauses, or single inputs.
        let mut units: Vec<Vec<usize>> = if by_clause {
            let rest = (clauses.len() * 3..D).map(|i| vec![i]);
            clauses.iter().cloned().chain(rest).collect()
        } else {
            (0..D).map(|i| vec![i]).collect()
        };
        units.shuffle(rng);
        for (k, unit) in units.iter().enumerate() {
            for &i in unit {
                w[[parent * ALPHA + k % ALPHA, i]] = rng.random_range(-bound..bound);
            }
        }
    }
    w
}

fn print_report(title: &str, r: &MetricReport) {
    println!(
        "== {title}: h = {}, d = {}, alpha = {}",
        r.neurons, r.inputs, r.alpha
    );
    let c = &r.capacity;
    print!("  capacity: mean {:.3}, sum {:.2}", c.mean, c.sum);
    match c.mean_literals {
        Some(m) => println!(", mean over clause literals {m:.3}"),
        None => println!(),
    }
    let cos = &r.cosine;
    println!(
        "  |cosine|: all pairs {:.3}, across parents {:.3}, siblings {:.3}",
        cos.mean_abs, cos.mean_abs_cross_parent, cos.mean_abs_siblings
    );
    if let (Some(m), Some(t)) = (&r.collisions, &r.collision_theory) {
        println!(
            "  per parent: collisions {:.3}, coverage {:.3} (random-split theory: {:.3}, {:.3})",
            m.collision_rate_per_parent,
            m.coverage_per_parent,
            t.collision_balanced,
            t.coverage_balanced
        );
    }
    if let Some(p) = &r.polysemanticity {
        println!(
            "  polysemanticity: {:.2} clauses per responsive neuron ({} responsive, tau {})",
            p.mean_clauses_per_responsive, p.responsive_neurons, p.tau
        );
    }
    if let Some(dim) = r.dimension {
        println!("  participation-ratio dimension of the activations {dim:.2}");
    }
}

/// Reads the 2-D array `name` (`<f4` or `<f8`, C order) from an uncompressed `.npz` file.
fn read_npz_f32(path: &Path, name: &str) -> Result<Array2<f32>, Box<dyn Error>> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let u16_at = |i: usize| usize::from(u16::from_le_bytes([bytes[i], bytes[i + 1]]));
    let u32_at = |i: usize| {
        u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]) as usize
    };
    // The end-of-central-directory record is the last "PK\x05\x06".
    let eocd = (0..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| bytes[i..i + 4] == *b"PK\x05\x06")
        .ok_or_else(|| format!("{}: not a zip (.npz) file", path.display()))?;
    let (entries, mut p) = (u16_at(eocd + 10), u32_at(eocd + 16));
    for _ in 0..entries {
        let (method, size, local) = (u16_at(p + 10), u32_at(p + 20), u32_at(p + 42));
        let name_len = u16_at(p + 28);
        let entry = &bytes[p + 46..p + 46 + name_len];
        p += 46 + name_len + u16_at(p + 30) + u16_at(p + 32);
        if entry != format!("{name}.npy").as_bytes() {
            continue;
        }
        if method != 0 {
            return Err(format!("{name}.npy is compressed; write the file with np.savez").into());
        }
        let start = local + 30 + u16_at(local + 26) + u16_at(local + 28);
        return parse_npy(&bytes[start..start + size]);
    }
    Err(format!("{}: no array `{name}`", path.display()).into())
}

/// Parses a `.npy` file holding a 2-D little-endian float array in C order.
fn parse_npy(npy: &[u8]) -> Result<Array2<f32>, Box<dyn Error>> {
    if !npy.starts_with(b"\x93NUMPY") || npy.len() < 12 {
        return Err("not a .npy array".into());
    }
    let (len, start) = match npy[6] {
        1 => (usize::from(u16::from_le_bytes([npy[8], npy[9]])), 10),
        _ => (
            u32::from_le_bytes([npy[8], npy[9], npy[10], npy[11]]) as usize,
            12,
        ),
    };
    let header = std::str::from_utf8(&npy[start..start + len])?;
    let after = |key: &str| {
        header
            .split(key)
            .nth(1)
            .unwrap_or("")
            .trim_start_matches([':', ' '])
    };
    let descr = after("'descr'").split('\'').nth(1).unwrap_or("");
    if !after("'fortran_order'").starts_with("False") {
        return Err("Fortran-ordered arrays are not supported".into());
    }
    let shape: Vec<usize> = after("'shape'")
        .trim_start_matches('(')
        .split(')')
        .next()
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse())
        .collect::<Result<_, _>>()?;
    let data = &npy[start + len..];
    let values: Vec<f32> = match descr {
        "<f4" => data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect(),
        "<f8" => data
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()) as f32)
            .collect(),
        other => return Err(format!("dtype {other:?}: expected <f4 or <f8").into()),
    };
    match shape[..] {
        [h, d] => Ok(Array2::from_shape_vec((h, d), values)?),
        _ => Err(format!("expected a 2-D array, got shape {shape:?}").into()),
    }
}

//! `fpe bench`: training throughput (forward + backward + Adam step) of dense and expanded
//! models, per kernel, with an optional numpy reference measured in the same invocation.
//!
//! Configurations come from [`fpe_model::fixtures::step_cases`] (issue #7): Boolean 64→256→16 dense and
//! its FPE shapes at α ∈ {2, 4, 8, 16} with the same nnz, embedding 256→32→10 dense and α = 4,
//! and a 5-layer embedding MLP. Every configuration runs `--rounds` interleaved rounds of
//! `--seconds / --rounds` seconds on a rayon pool of `--threads` threads; the best round counts,
//! which makes ratios robust to other load on a shared machine. `ratio_to_dense` divides by the
//! dense base of the same family measured in the same run with the same threads.
//!
//! `--reference` runs `benches/reference/masked_step.py` (numpy, masked dense matrices) on the
//! same configurations, with its BLAS limited to the same number of threads, and adds
//! `ours / numpy`.
//!
//! `--device gpu` (a build with `--features gpu`) measures the same configurations with
//! [`fpe_model::gpu::GpuTrainer`]: the batch stays on the device and steps are submitted in
//! groups, waiting for the device at the end of each group, so the time includes the device's
//! work. The rayon thread count does not apply (`threads` is `-`); the adapter is printed to
//! stderr.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use fpe_model::fixtures::StepCase;
use fpe_model::{Device, Grads, KernelPolicy, Optimizer, OptimizerConfig, Workspace};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use serde::Serialize;

/// Options of `fpe bench`.
#[derive(clap::Args, Clone, Debug)]
pub(crate) struct BenchOptions {
    /// Print a JSON list of rows instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
    /// Also time the numpy reference (benches/reference/masked_step.py; needs python3 + numpy).
    #[arg(long)]
    pub(crate) reference: bool,
    /// Thread counts to measure, e.g. 1,2 (rayon threads; numpy BLAS threads for --reference).
    #[arg(long, value_delimiter = ',', default_value = "1")]
    pub(crate) threads: Vec<usize>,
    /// Measurement seconds per configuration and thread count.
    #[arg(long, default_value_t = 1.0)]
    pub(crate) seconds: f64,
    /// Interleaved rounds the seconds are split into; the best round counts.
    #[arg(long, default_value_t = 5)]
    pub(crate) rounds: usize,
    /// Only these configurations (comma-separated names; a trailing * matches a prefix).
    #[arg(long, value_delimiter = ',')]
    pub(crate) only: Vec<String>,
    /// Kernel policy of the expanded configurations: auto, gathered or dense (dense bases
    /// always use dense kernels).
    #[arg(long, default_value = "auto")]
    pub(crate) kernel: String,
    /// Measure the paper's training runs end to end instead of single steps: e1 (64→8→1,
    /// α = 2, dense/random/clause), e8 (384→16→40, α = 4, dense/random/feature) and/or e11
    /// (the E11 CNN on raw Fashion-MNIST, α = 2, dense/random/channel_random), each arm alone
    /// and as a population of `--seeds` seeds × 3 arms, in µs per model-step.
    #[arg(long, value_delimiter = ',')]
    pub(crate) workload: Vec<String>,
    /// Seeds of the population measurement of `--workload`.
    #[arg(long, default_value_t = 10)]
    pub(crate) seeds: usize,
}

/// One measured configuration.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct BenchRow {
    /// Configuration id, e.g. `boolean_64_256_16_a4`.
    pub(crate) config: String,
    /// Expansion factor (1 = dense base).
    pub(crate) alpha: usize,
    /// Device: `cpu` or `gpu`.
    pub(crate) device: String,
    /// Rayon threads (0 on the GPU, where they do not apply).
    pub(crate) threads: usize,
    /// Kernel of each layer, input first.
    pub(crate) kernels: Vec<String>,
    /// Active weights (biases excluded).
    pub(crate) nnz: usize,
    /// Training samples per second (best round).
    pub(crate) samples_per_sec: f64,
    /// `samples_per_sec` over the dense base of the same family (same run, same threads).
    pub(crate) ratio_to_dense: Option<f64>,
    /// numpy reference, samples per second (with `--reference`).
    pub(crate) numpy_samples_per_sec: Option<f64>,
    /// `samples_per_sec / numpy_samples_per_sec`.
    pub(crate) ours_over_numpy: Option<f64>,
    /// Microseconds per model-step (one optimiser step of one model on a batch of 256).
    pub(crate) us_per_model_step: f64,
}

/// Batch size of every measured step.
const BATCH: usize = 256;

fn policy(name: &str) -> Result<KernelPolicy> {
    Ok(match name {
        "auto" => KernelPolicy::Auto,
        "gathered" => KernelPolicy::Gathered,
        "dense" => KernelPolicy::Dense,
        other => bail!("--kernel {other}: allowed values are auto, gathered, dense"),
    })
}

fn selected(opts: &BenchOptions) -> Vec<StepCase> {
    let keep = |name: &str| {
        opts.only.is_empty()
            || opts.only.iter().any(|o| match o.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == o,
            })
    };
    fpe_model::fixtures::step_cases()
        .into_iter()
        .filter(|c| keep(&c.name))
        .collect()
}

/// CPU buffers, optimiser and the fixed batch.
struct CpuEngine {
    workspace: Workspace,
    grads: Grads,
    opt: Optimizer,
    x: ndarray::Array2<f32>,
    y: fpe_model::fixtures::Targets,
}

/// What runs the steps of a configuration.
enum Engine {
    Cpu(Box<CpuEngine>),
    #[cfg(feature = "gpu")]
    Gpu {
        trainer: Box<fpe_model::gpu::GpuTrainer>,
        /// Steps per submission and wait, sized from the warm-up to about a tenth of a round.
        group: usize,
    },
}

/// A configuration ready to step: model, optimiser, buffers and one fixed batch.
struct Prepared {
    case: StepCase,
    mlp: fpe_model::Mlp,
    engine: Engine,
    best: f64,
}

impl Prepared {
    fn new(case: StepCase, kernel: KernelPolicy, device: Device) -> Result<Self> {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mlp = case.build(&mut rng)?;
        let (x, y) = case.batch(BATCH, &mut rng);
        let policy = if case.alpha == 1 {
            KernelPolicy::Dense
        } else {
            kernel
        };
        let opt = Optimizer::new(OptimizerConfig::default(), &mlp)?;
        let engine = match device {
            Device::Cpu => Engine::Cpu(Box::new(CpuEngine {
                workspace: Workspace::new(&mlp, policy),
                grads: Grads::zeros_like(&mlp),
                opt,
                x,
                y,
            })),
            #[cfg(feature = "gpu")]
            Device::Gpu => {
                let ctx = fpe_model::gpu::GpuContext::shared()?;
                let mut trainer = fpe_model::gpu::GpuTrainer::new(&ctx, mlp.clone(), &opt, policy)?;
                trainer.set_batch(x.view(), y.view())?;
                Engine::Gpu {
                    trainer: Box::new(trainer),
                    group: 1,
                }
            }
            #[cfg(not(feature = "gpu"))]
            Device::Gpu => return Err(fpe_model::GpuError::NotCompiled.into()),
        };
        Ok(Prepared {
            mlp,
            engine,
            case,
            best: 0.0,
        })
    }

    fn kernel_names(&self) -> Vec<String> {
        let names = match &self.engine {
            Engine::Cpu(cpu) => cpu.workspace.kernel_names(),
            #[cfg(feature = "gpu")]
            Engine::Gpu { trainer, .. } => trainer.kernel_names(),
        };
        names.into_iter().map(String::from).collect()
    }

    /// Runs some steps (one on the CPU, a group on the GPU, waiting for the device); returns
    /// how many.
    fn steps(&mut self) -> Result<u64> {
        match &mut self.engine {
            Engine::Cpu(cpu) => {
                let CpuEngine {
                    workspace,
                    grads,
                    opt,
                    x,
                    y,
                } = &mut **cpu;
                let loss = workspace.loss_grad(&self.mlp, x.view(), y.view(), grads);
                opt.step(&mut self.mlp, grads);
                std::hint::black_box(loss);
                Ok(1)
            }
            #[cfg(feature = "gpu")]
            Engine::Gpu { trainer, group } => {
                trainer.train_steps(*group)?;
                Ok(*group as u64)
            }
        }
    }

    /// Warm-up; on the GPU also sizes the step groups to about a tenth of a round.
    fn warm_up(&mut self, round_seconds: f64) -> Result<()> {
        for _ in 0..3 {
            self.steps()?;
        }
        #[cfg(feature = "gpu")]
        if let Engine::Gpu { trainer, group } = &mut self.engine {
            let start = Instant::now();
            trainer.train_steps(4)?;
            let per_step = start.elapsed().as_secs_f64() / 4.0;
            *group = ((round_seconds / 10.0 / per_step.max(1e-9)) as usize).clamp(1, 256);
        }
        let _ = round_seconds;
        Ok(())
    }

    /// Steps for `seconds`; keeps the best samples/s seen.
    fn round(&mut self, seconds: f64) -> Result<()> {
        let start = Instant::now();
        let mut steps = 0u64;
        loop {
            steps += self.steps()?;
            let elapsed = start.elapsed().as_secs_f64();
            if elapsed >= seconds {
                self.best = self.best.max(steps as f64 * BATCH as f64 / elapsed);
                return Ok(());
            }
        }
    }
}

/// Measures every selected configuration for every thread count (once on the GPU), prints a
/// table (or JSON with `--json`) to stdout and returns the rows.
///
/// # Errors
/// A bad `--kernel`, `--threads 0`, a GPU that cannot be used (not compiled in, no adapter),
/// or (with `--reference`) a missing python3/numpy or a failing reference script.
pub(crate) fn run(
    opts: &BenchOptions,
    device: Device,
    data_dir: Option<&std::path::Path>,
) -> Result<Vec<BenchRow>> {
    let kernel = policy(&opts.kernel)?;
    device.check()?;
    if opts.threads.contains(&0) {
        bail!("--threads: thread counts must be at least 1");
    }
    let max = crate::limits::max_threads();
    if let Some(n) = opts.threads.iter().find(|&&n| n > max) {
        bail!(
            "--threads {n}: at most {max} ({} per CPU this process may use); a benchmark does not \
             cap it silently, since its rows are labelled by thread count",
            crate::limits::THREADS_PER_CPU
        );
    }
    if opts.seconds.is_nan() || opts.seconds <= 0.0 || opts.rounds == 0 {
        bail!("--seconds must be positive and --rounds at least 1");
    }
    if !opts.workload.is_empty() {
        if opts.seeds == 0 {
            bail!("--seeds must be at least 1");
        }
        let rows = crate::workload::run(
            &opts.workload,
            &opts.threads,
            opts.seeds,
            opts.rounds,
            device,
            data_dir,
        )?;
        if opts.json {
            println!("{}", serde_json::to_string_pretty(&rows)?);
        } else {
            print!("{}", crate::workload::table(&rows));
        }
        return Ok(Vec::new());
    }
    let cases = selected(opts);
    if cases.is_empty() {
        bail!("--only {:?} matches no configuration", opts.only);
    }
    #[cfg(feature = "gpu")]
    if device == Device::Gpu {
        let ctx = fpe_model::gpu::GpuContext::shared()?;
        eprintln!("device: gpu, adapter {}", ctx.adapter());
    }
    // The GPU is measured once: the rayon thread count does not apply to it.
    let thread_counts = match device {
        Device::Cpu => opts.threads.clone(),
        Device::Gpu => vec![opts.threads.first().copied().unwrap_or(1)],
    };
    let round_seconds = opts.seconds / opts.rounds as f64;
    let mut rows = Vec::new();
    for &threads in &thread_counts {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .context("building the rayon pool")?;
        let mut prepared = cases
            .iter()
            .map(|c| Prepared::new(c.clone(), kernel, device))
            .collect::<Result<Vec<_>>>()?;
        pool.install(|| -> Result<()> {
            for p in &mut prepared {
                p.warm_up(round_seconds)?;
            }
            for _ in 0..opts.rounds {
                for p in &mut prepared {
                    p.round(round_seconds)?;
                }
            }
            Ok(())
        })?;
        let numpy = if opts.reference {
            reference(&cases, opts, threads)?
        } else {
            BTreeMap::new()
        };
        let base: BTreeMap<String, f64> = prepared
            .iter()
            .filter(|p| p.case.alpha == 1)
            .map(|p| (p.case.family.clone(), p.best))
            .collect();
        for p in &prepared {
            let np = numpy.get(&p.case.name).copied();
            rows.push(BenchRow {
                config: p.case.name.clone(),
                alpha: p.case.alpha,
                device: device.name().to_string(),
                threads: if device == Device::Gpu { 0 } else { threads },
                kernels: p.kernel_names(),
                nnz: p.mlp.nnz(),
                samples_per_sec: p.best,
                ratio_to_dense: base.get(&p.case.family).map(|b| p.best / b),
                numpy_samples_per_sec: np,
                ours_over_numpy: np.map(|n| p.best / n),
                us_per_model_step: 1e6 * BATCH as f64 / p.best,
            });
        }
    }
    if opts.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!("{}", table(&rows));
    }
    Ok(rows)
}

/// The rows as an aligned text table.
pub(crate) fn table(rows: &[BenchRow]) -> String {
    let reference = rows.iter().any(|r| r.numpy_samples_per_sec.is_some());
    let opt = |v: Option<f64>, prec: usize| v.map_or("-".to_string(), |v| format!("{v:.prec$}"));
    let kernels: Vec<String> = rows.iter().map(|r| r.kernels.join(",")).collect();
    let kw = kernels.iter().map(String::len).max().unwrap_or(0).max(7);
    let cw = rows
        .iter()
        .map(|r| r.config.len())
        .max()
        .unwrap_or(0)
        .max(6);
    let mut out = format!(
        "{:<cw$} {:>5} {:>7} {:<kw$} {:>15} {:>17} {:>14}",
        "config",
        "alpha",
        "threads",
        "kernels",
        "samples_per_sec",
        "us_per_model_step",
        "ratio_to_dense"
    );
    if reference {
        out += &format!(" {:>13} {:>12}", "numpy_per_sec", "ours / numpy");
    }
    out.push('\n');
    for (r, k) in rows.iter().zip(&kernels) {
        let threads = if r.threads == 0 {
            "-".to_string()
        } else {
            r.threads.to_string()
        };
        out += &format!(
            "{:<cw$} {:>5} {:>7} {:<kw$} {:>15.0} {:>17.2} {:>14}",
            r.config,
            r.alpha,
            threads,
            k,
            r.samples_per_sec,
            r.us_per_model_step,
            opt(r.ratio_to_dense, 2)
        );
        if reference {
            out += &format!(
                " {:>13} {:>12}",
                opt(r.numpy_samples_per_sec, 0),
                opt(r.ours_over_numpy, 2)
            );
        }
        out.push('\n');
    }
    out
}

/// The numpy reference script (`benches/reference/masked_step.py`), compiled into `fpe`.
const SCRIPT: &str = include_str!("../../benches/reference/masked_step.py");

/// Runs the numpy reference on `cases` with `threads` BLAS threads: config name → samples/s.
fn reference(
    cases: &[StepCase],
    opts: &BenchOptions,
    threads: usize,
) -> Result<BTreeMap<String, f64>> {
    let configs: Vec<serde_json::Value> = cases
        .iter()
        .map(|c| {
            serde_json::json!({
                "name": c.name, "widths": c.widths, "alpha": c.alpha, "classes": c.classes,
            })
        })
        .collect();
    let n = threads.to_string();
    let output = Command::new("python3")
        .args(["-c", SCRIPT])
        .args(["--json", "--seconds", &opts.seconds.to_string()])
        .args(["--rounds", &opts.rounds.to_string()])
        .arg("--configs")
        .arg(serde_json::to_string(&configs)?)
        .env("OPENBLAS_NUM_THREADS", &n)
        .env("OMP_NUM_THREADS", &n)
        .env("MKL_NUM_THREADS", &n)
        .output()
        .context("--reference needs python3 on PATH (with numpy); could not start python3")?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.code() == Some(3) || stderr.contains("No module named") {
            bail!(
                "--reference needs numpy for python3 (pip install numpy): {}",
                stderr.trim()
            );
        }
        bail!(
            "{} failed ({}): {}",
            "benches/reference/masked_step.py",
            output.status,
            stderr.trim()
        );
    }
    #[derive(serde::Deserialize)]
    struct Row {
        config: String,
        samples_per_sec: f64,
    }
    let rows: Vec<Row> = serde_json::from_slice(&output.stdout).with_context(|| {
        "reading the JSON printed by benches/reference/masked_step.py".to_string()
    })?;
    Ok(rows
        .into_iter()
        .map(|r| (r.config, r.samples_per_sec))
        .collect())
}

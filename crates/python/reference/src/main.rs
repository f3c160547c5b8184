//! Rust-side reference outputs for the Python bindings' cross-language tests
//! (`crates/python/tests/test_cross_language.py`).
//!
//! Calls the workspace crates directly — no Python, no binding code — on inputs pytest wrote, and
//! writes the results as `.npz` (arrays, bit for bit) and JSON on stdout (floats printed as the
//! shortest text that reads back as the same `f64`; `f32` fields are widened to `f64` first, so
//! they compare exactly too). Commands:
//!
//! ```text
//! fpe-python-reference expand SPEC.json IN.npz OUT.npz  # fpe::expand; report JSON on stdout
//! fpe-python-reference metrics SPEC.json IN.npz         # MetricReport JSON on stdout
//! fpe-python-reference boolean SPEC.json OUT.npz        # generate the task; clauses JSON
//! fpe-python-reference checkpoint OUT.ckpt OUT.npz      # a trained checkpoint and its arrays,
//!                                                       # OUT.carry.npz its carry expansion
//! ```
//!
//! `expand` SPEC: `{"config": <fpe::ExpansionConfig as in configs>, "seed": u64, "clauses":
//! [[usize]] | null}`; IN holds `weight_l`, `bias_l`, `mask_l` for every layer `l` (float32,
//! float32, bool). `metrics` SPEC: `{"clauses": .. | null, "alpha": usize, "tau": f32}`; IN holds
//! `weights` and optionally `activations` and `satisfied`. `boolean` SPEC: `{"config":
//! <BooleanCodeConfig>, "seed": u64}`.

use std::error::Error;
use std::fs::File;
use std::path::Path;

use fpe::{ExpansionConfig, ExpansionReport};
use fpe_datasets::{BooleanCodeConfig, Stream, rng_for};
use fpe_metrics::{MetricReport, ReportInput};
use fpe_model::{
    KernelPolicy, Layer, Mlp, MlpConfig, NoHooks, OptimizerConfig, TargetsRef, Trainer,
};
use ndarray::{Array1, Array2};
use ndarray_npy::{NpzReader, NpzWriter};
use serde_json::Value;

type Res<T> = Result<T, Box<dyn Error>>;

fn main() {
    if let Err(e) = run() {
        eprintln!("fpe-python-reference: {e}");
        std::process::exit(1);
    }
}

fn run() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["expand", spec, inp, out] => expand(&read_json(spec)?, Path::new(inp), Path::new(out)),
        ["metrics", spec, inp] => metrics(&read_json(spec)?, Path::new(inp)),
        ["boolean", spec, out] => boolean(&read_json(spec)?, Path::new(out)),
        ["checkpoint", ckpt, out] => checkpoint(Path::new(ckpt), Path::new(out)),
        _ => Err(
            "usage: fpe-python-reference expand|metrics|boolean|checkpoint ARGS (see the source)"
                .into(),
        ),
    }
}

fn read_json(path: &str) -> Res<Value> {
    Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
}

/// JSON with every float as an exact `f64` (serde_json writes an `f32` field with `f32`
/// precision; going through `Value` widens it first).
fn print_json<T: serde::Serialize>(value: &T) -> Res<()> {
    println!("{}", serde_json::to_string(&serde_json::to_value(value)?)?);
    Ok(())
}

fn clauses_of(spec: &Value) -> Res<Option<Vec<Vec<usize>>>> {
    Ok(match spec.get("clauses") {
        None | Some(Value::Null) => None,
        Some(c) => Some(serde_json::from_value(c.clone())?),
    })
}

fn read_mlp(npz: &mut NpzReader<File>) -> Res<Mlp> {
    let names = npz.names()?;
    let depth = names.iter().filter(|n| n.starts_with("weight_")).count();
    let mut layers = Vec::with_capacity(depth);
    for l in 0..depth {
        let w: Array2<f32> = npz.by_name(&format!("weight_{l}"))?;
        let b: Array1<f32> = npz.by_name(&format!("bias_{l}"))?;
        let m: Array2<bool> = npz.by_name(&format!("mask_{l}"))?;
        layers.push(Layer::new(w, b, m)?);
    }
    Ok(Mlp::from_layers(layers)?)
}

fn write_mlp(npz: &mut NpzWriter<File>, mlp: &Mlp, prefix: &str) -> Res<()> {
    for (l, layer) in mlp.layers().iter().enumerate() {
        npz.add_array(format!("{prefix}weight_{l}"), &layer.weight())?;
        npz.add_array(format!("{prefix}bias_{l}"), &layer.bias())?;
        npz.add_array(format!("{prefix}mask_{l}"), &layer.mask())?;
    }
    Ok(())
}

fn expand(spec: &Value, inp: &Path, out: &Path) -> Res<()> {
    let cfg: ExpansionConfig = serde_json::from_value(spec["config"].clone())?;
    let seed = spec["seed"]
        .as_u64()
        .ok_or("spec.seed: expected an unsigned integer")?;
    let clauses = clauses_of(spec)?;
    let mlp = read_mlp(&mut NpzReader::new(File::open(inp)?)?)?;
    let mut rng = rng_for(seed, Stream::Split);
    let expanded = fpe::expand(&mlp, &cfg, clauses.as_deref(), None, &mut rng)?;
    let mut npz = NpzWriter::new(File::create(out)?);
    write_mlp(&mut npz, &expanded.mlp, "")?;
    npz.finish()?;
    print_json(&expanded.report)
}

fn metrics(spec: &Value, inp: &Path) -> Res<()> {
    let mut npz = NpzReader::new(File::open(inp)?)?;
    let names = npz.names()?;
    let w: Array2<f32> = npz.by_name("weights")?;
    let acts: Option<Array2<f32>> = if names.iter().any(|n| n == "activations") {
        Some(npz.by_name("activations")?)
    } else {
        None
    };
    let sat: Option<Array2<bool>> = if names.iter().any(|n| n == "satisfied") {
        Some(npz.by_name("satisfied")?)
    } else {
        None
    };
    let clauses = clauses_of(spec)?;
    let alpha = spec["alpha"]
        .as_u64()
        .ok_or("spec.alpha: expected an unsigned integer")?;
    let tau = spec["tau"].as_f64().ok_or("spec.tau: expected a number")? as f32;
    let mut input = ReportInput::new(w.view()).alpha(alpha as usize).tau(tau);
    if let Some(c) = &clauses {
        input = input.clauses(c);
    }
    if let Some(a) = &acts {
        input = input.activations(a.view());
    }
    if let Some(s) = &sat {
        input = input.satisfied(s.view());
    }
    print_json(&MetricReport::compute(&input)?)
}

fn boolean(spec: &Value, out: &Path) -> Res<()> {
    let cfg: BooleanCodeConfig = serde_json::from_value(spec["config"].clone())?;
    let seed = spec["seed"]
        .as_u64()
        .ok_or("spec.seed: expected an unsigned integer")?;
    let data = cfg.generate(seed)?;
    let mut npz = NpzWriter::new(File::create(out)?);
    npz.add_array("x_train", &data.train.x)?;
    npz.add_array("x_test", &data.test.x)?;
    let (Some(ytr), Some(yte)) = (data.train.y.binary(), data.test.y.binary()) else {
        return Err("a Boolean task has binary targets".into());
    };
    npz.add_array("y_train", &ytr)?;
    npz.add_array("y_test", &yte)?;
    npz.finish()?;
    let clauses = data.clauses.ok_or("a Boolean task has clauses")?;
    print_json(&serde_json::json!({
        "clauses": clauses.clause_inputs(),
        "formula": clauses.to_formula(),
    }))
}

/// A 6 → 5 → 4 → 3 model with a sparse middle layer, trained 3 epochs with Adam on random
/// binary targets, saved with its optimiser state; `out` gets its arrays and state, and
/// `out.carry.npz` the `carry` expansion (α = 2, layers 0 and 1, seed 5) of model and state.
fn checkpoint(ckpt: &Path, out: &Path) -> Res<()> {
    let mut rng = rng_for(7, Stream::Init);
    let mut mlp = MlpConfig {
        d_in: 6,
        hidden: vec![5, 4],
        d_out: 3,
    }
    .init(&mut rng)?;
    mlp.layer_mut(1)
        .set_mask(Array2::from_shape_fn((4, 5), |(r, c)| (r + c) % 3 != 0))?;
    let x = Array2::from_shape_fn((32, 6), |(i, j)| ((i * 7 + j * 3) % 5) as f32 / 4.0);
    let y = Array2::from_shape_fn((32, 3), |(i, j)| ((i + j) % 2) as f32);
    let mut trainer = Trainer::new(mlp, OptimizerConfig::default(), KernelPolicy::Auto)?;
    let mut batches = rng_for(7, Stream::Batches);
    trainer.fit(
        x.view(),
        TargetsRef::Binary(y.view()),
        3,
        8,
        &mut batches,
        &mut NoHooks,
    )?;
    let mut ck = trainer.checkpoint();
    ck.meta.insert("arm".into(), "reference".into());
    ck.meta.insert("seed".into(), "7".into());
    ck.save(ckpt)?;

    let mut npz = NpzWriter::new(File::create(out)?);
    write_mlp(&mut npz, trainer.mlp(), "")?;
    write_state(&mut npz, trainer.optimizer().state(), "opt_")?;
    npz.finish()?;

    let cfg = ExpansionConfig {
        alpha: 2,
        layers: vec![0, 1],
        optimizer_state: fpe::OptimizerStatePolicy::Carry,
        ..Default::default()
    };
    let mut split = rng_for(5, Stream::Split);
    let expanded = fpe::expand(
        trainer.mlp(),
        &cfg,
        None,
        Some(trainer.optimizer()),
        &mut split,
    )?;
    let state = expanded
        .optimizer
        .ok_or("carry returns an optimiser")?
        .into_state();
    let mut npz = NpzWriter::new(File::create(out.with_extension("carry.npz"))?);
    write_mlp(&mut npz, &expanded.mlp, "")?;
    write_state(&mut npz, &state, "opt_")?;
    npz.finish()?;
    let report: &ExpansionReport = &expanded.report;
    print_json(&serde_json::json!({
        "epoch": ck.epoch,
        "step": ck.step,
        "state_step": state.step,
        "report": report,
    }))
}

fn write_state(
    npz: &mut NpzWriter<File>,
    state: &fpe_model::OptimizerState,
    prefix: &str,
) -> Res<()> {
    for (l, slots) in state.layers.iter().enumerate() {
        for (s, a) in slots.w.iter().enumerate() {
            npz.add_array(format!("{prefix}w_{l}_{s}"), a)?;
        }
        for (s, a) in slots.b.iter().enumerate() {
            npz.add_array(format!("{prefix}b_{l}_{s}"), a)?;
        }
    }
    Ok(())
}

//! The wgpu backend against the CPU: the same seed trained on both devices agrees to 1e-4
//! relative, two GPU runs are bit-identical, masked weights stay exactly zero, and errors name
//! their cause.
//!
//! These tests need a GPU adapter; in CI that is Mesa's lavapipe (`mesa-vulkan-drivers`). When
//! no adapter is found they FAIL, unless `FPE_GPU_TESTS=skip` is set explicitly.
#![cfg(feature = "gpu")]

mod common;

use common::*;
use fpe_model::gpu::{GpuContext, GpuOptions, GpuTrainer};
use fpe_model::{
    Device, Error, GpuError, KernelPolicy, Mlp, NoHooks, Optimizer, OptimizerConfig, TargetsRef,
    Trainer, Workspace,
};
use ndarray::{Array1, Array2};

/// The shared context, or `None` when the tests are skipped with `FPE_GPU_TESTS=skip`.
fn gpu() -> Option<GpuContext> {
    if std::env::var("FPE_GPU_TESTS").is_ok_and(|v| v == "skip") {
        eprintln!("FPE_GPU_TESTS=skip: GPU test skipped");
        return None;
    }
    match GpuContext::shared() {
        Ok(ctx) => Some(ctx),
        Err(e) => panic!(
            "no GPU for the GPU tests: {e}\n(install mesa-vulkan-drivers for lavapipe, or set \
             FPE_GPU_TESTS=skip to skip them explicitly)"
        ),
    }
}

enum Y {
    Classes(Array1<u32>),
    Bits(Array2<f32>),
}

impl Y {
    fn view(&self) -> TargetsRef<'_> {
        match self {
            Y::Classes(y) => TargetsRef::Classes(y.view()),
            Y::Bits(y) => TargetsRef::Binary(y.view()),
        }
    }
}

struct Case {
    mlp: Mlp,
    x: Array2<f32>,
    y: Y,
    opt: OptimizerConfig,
    policy: KernelPolicy,
    epochs: usize,
    batch: usize,
}

/// 64 → 32 → 10 dense, softmax, Adam (lr 1e-2); 600 samples in batches of 64 (the last one
/// smaller), 8 epochs.
fn dense_classes(policy: KernelPolicy) -> Case {
    let mut r = rng(11);
    let mlp = fpe_model::MlpConfig {
        d_in: 64,
        hidden: vec![32],
        d_out: 10,
    }
    .init(&mut r)
    .unwrap();
    Case {
        mlp,
        x: random_x(600, 64, &mut r),
        y: Y::Classes(random_classes(600, 10, &mut r)),
        opt: OptimizerConfig::Adam {
            lr: 1e-2,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        },
        policy,
        epochs: 8,
        batch: 64,
    }
}

/// An FPE-shaped expansion (32 → 16·α=2 → 8, constant fan-in 16), BCE on 8 bits, AdamW,
/// 8 epochs.
fn expanded_bits(policy: KernelPolicy) -> Case {
    let mut r = rng(12);
    let mlp = fpe_model::fixtures::expanded_like(32, 16, 8, 2, &mut r).unwrap();
    let x = Array2::from_shape_simple_fn((500, 32), || {
        f32::from(u8::from(rand::Rng::random_bool(&mut r, 0.5)))
    });
    Case {
        mlp,
        x,
        y: Y::Bits(random_bits(500, 8, &mut r)),
        opt: OptimizerConfig::Adam {
            lr: 1e-2,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 1e-2,
        },
        policy,
        epochs: 8,
        batch: 128,
    }
}

/// A deeper randomly masked network (density 0.4) with momentum SGD and weight decay, 8 epochs.
fn masked_sgd(policy: KernelPolicy) -> Case {
    let mut r = rng(13);
    let mlp = random_masked(&[24, 40, 20, 5], 0.4, &mut r);
    Case {
        mlp,
        x: random_x(300, 24, &mut r),
        y: Y::Classes(random_classes(300, 5, &mut r)),
        opt: OptimizerConfig::Sgd {
            lr: 0.1,
            momentum: 0.9,
            weight_decay: 1e-3,
        },
        policy,
        epochs: 8,
        batch: 50,
    }
}

struct Run {
    mlp: Mlp,
    opt: Optimizer,
    losses: Vec<f64>,
    step: u64,
    epoch: usize,
}

fn run_cpu(c: &Case) -> Run {
    let mut t = Trainer::new(c.mlp.clone(), c.opt, c.policy).unwrap();
    let reports = t
        .fit(
            c.x.view(),
            c.y.view(),
            c.epochs,
            c.batch,
            &mut rng(99),
            &mut NoHooks,
        )
        .unwrap();
    let (step, epoch) = (t.step(), t.epoch());
    let (mlp, opt) = t.into_parts();
    Run {
        losses: reports.iter().map(|r| r.train_loss).collect(),
        step,
        epoch,
        mlp,
        opt,
    }
}

fn run_gpu(ctx: &GpuContext, c: &Case) -> Run {
    let opt = Optimizer::new(c.opt, &c.mlp).unwrap();
    let mut g = GpuTrainer::new(ctx, c.mlp.clone(), &opt, c.policy).unwrap();
    let reports = g
        .fit(c.x.view(), c.y.view(), c.epochs, c.batch, &mut rng(99))
        .unwrap();
    Run {
        losses: reports.iter().map(|r| r.train_loss).collect(),
        step: g.step,
        epoch: g.epoch,
        mlp: g.mlp().unwrap(),
        opt: g.optimizer().unwrap(),
    }
}

/// `max |a − b| ≤ tol · max(|b|)`, per array.
fn assert_close<'a>(
    what: &str,
    a: impl IntoIterator<Item = &'a f32>,
    b: impl IntoIterator<Item = &'a f32>,
    tol: f32,
) {
    let (mut diff, mut scale) = (0.0f32, 0.0f32);
    for (x, y) in a.into_iter().zip(b) {
        assert!(x.is_finite() && y.is_finite(), "{what}: non-finite");
        diff = diff.max((x - y).abs());
        scale = scale.max(y.abs());
    }
    assert!(
        diff <= tol * scale,
        "{what}: max difference {diff:e} is more than {tol:e} × max |value| {scale:e}"
    );
}

fn assert_runs_agree(name: &str, cpu: &Run, gpu: &Run) {
    assert_eq!(
        (cpu.step, cpu.epoch),
        (gpu.step, gpu.epoch),
        "{name}: counters"
    );
    assert_eq!(
        cpu.opt.state().step,
        gpu.opt.state().step,
        "{name}: opt step"
    );
    for (e, (a, b)) in cpu.losses.iter().zip(&gpu.losses).enumerate() {
        assert!(
            (a - b).abs() <= 1e-4 * a.abs(),
            "{name}: epoch {e} loss cpu {a} gpu {b}"
        );
    }
    for (l, (a, b)) in cpu.mlp.layers().iter().zip(gpu.mlp.layers()).enumerate() {
        assert_eq!(a.mask(), b.mask(), "{name}: layer {l} mask");
        assert_close(
            &format!("{name}: layer {l} weights"),
            b.weight(),
            a.weight(),
            1e-4,
        );
        assert_close(
            &format!("{name}: layer {l} biases"),
            b.bias(),
            a.bias(),
            1e-4,
        );
    }
    // Moments follow the gradients, which agree less tightly than the weights they move.
    for (l, (a, b)) in cpu
        .opt
        .state()
        .layers
        .iter()
        .zip(&gpu.opt.state().layers)
        .enumerate()
    {
        for (s, (sa, sb)) in a.w.iter().zip(&b.w).enumerate() {
            assert_close(&format!("{name}: layer {l} slot {s}"), sb, sa, 1e-2);
        }
    }
}

fn assert_bit_identical(name: &str, a: &Run, b: &Run) {
    let bits = |m: &Mlp| -> Vec<u32> {
        m.layers()
            .iter()
            .flat_map(|l| {
                l.weight()
                    .iter()
                    .chain(l.bias().iter())
                    .map(|v| v.to_bits())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    assert_eq!(
        bits(&a.mlp),
        bits(&b.mlp),
        "{name}: weights differ between GPU runs"
    );
    assert_eq!(
        a.losses.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        b.losses.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        "{name}: losses differ between GPU runs"
    );
    assert_eq!(
        a.opt, b.opt,
        "{name}: optimiser state differs between GPU runs"
    );
}

fn assert_masks_hold(name: &str, r: &Run) {
    r.mlp
        .check_masks()
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let n_slots = r.opt.config().n_slots();
    r.opt
        .state()
        .check(&r.mlp, n_slots)
        .unwrap_or_else(|e| panic!("{name}: optimiser state: {e}"));
}

#[test]
fn cpu_and_gpu_agree_on_full_runs_and_gpu_runs_are_bit_identical() {
    let Some(ctx) = gpu() else { return };
    eprintln!("GPU adapter: {}", ctx.adapter());
    let cases = [
        (
            "dense softmax, dense kernels",
            dense_classes(KernelPolicy::Dense),
        ),
        (
            "dense softmax, gathered kernels",
            dense_classes(KernelPolicy::Gathered),
        ),
        (
            "expanded BCE, gathered kernels",
            expanded_bits(KernelPolicy::Gathered),
        ),
        (
            "expanded BCE, auto kernels",
            expanded_bits(KernelPolicy::Auto),
        ),
        ("masked SGD, dense kernels", masked_sgd(KernelPolicy::Dense)),
        ("masked SGD, auto kernels", masked_sgd(KernelPolicy::Auto)),
    ];
    for (name, case) in &cases {
        let cpu = run_cpu(case);
        let gpu1 = run_gpu(&ctx, case);
        let gpu2 = run_gpu(&ctx, case);
        assert_runs_agree(name, &cpu, &gpu1);
        assert_bit_identical(name, &gpu1, &gpu2);
        assert_masks_hold(name, &gpu1);
        assert!(
            cpu.losses.last() < cpu.losses.first(),
            "{name}: training should lower the loss"
        );
    }
}

#[test]
fn kernel_choice_follows_the_policy() {
    let Some(ctx) = gpu() else { return };
    let case = expanded_bits(KernelPolicy::Auto);
    let opt = Optimizer::new(case.opt, &case.mlp).unwrap();
    let cpu = Trainer::new(case.mlp.clone(), case.opt, KernelPolicy::Auto).unwrap();
    let g = GpuTrainer::new(&ctx, case.mlp.clone(), &opt, KernelPolicy::Auto).unwrap();
    assert_eq!(g.kernel_names(), cpu.kernel_names());
    assert_eq!(g.kernel_names(), vec!["gathered", "gathered"]);
    let g = GpuTrainer::new(&ctx, case.mlp.clone(), &opt, KernelPolicy::Dense).unwrap();
    assert_eq!(g.kernel_names(), vec!["dense", "dense"]);
}

#[test]
fn gradients_match_the_cpu_and_are_zero_where_masked() {
    let Some(ctx) = gpu() else { return };
    for case in [
        dense_classes(KernelPolicy::Dense),
        expanded_bits(KernelPolicy::Gathered),
        masked_sgd(KernelPolicy::Auto),
    ] {
        // A batch that is not a multiple of the workgroup size.
        let rows = 77;
        let x = case.x.slice(ndarray::s![..rows, ..]);
        let y = case.y.view().slice(0, rows);
        let mut ws = Workspace::new(&case.mlp, case.policy);
        let mut cpu = fpe_model::Grads::zeros_like(&case.mlp);
        let cpu_loss = ws.loss_grad(&case.mlp, x, y, &mut cpu);
        let opt = Optimizer::new(case.opt, &case.mlp).unwrap();
        let mut g = GpuTrainer::new(&ctx, case.mlp.clone(), &opt, case.policy).unwrap();
        let (gpu_loss, grads) = g.loss_grad(x, y).unwrap();
        assert!(
            (gpu_loss - cpu_loss).abs() <= 1e-5 * cpu_loss.abs(),
            "loss cpu {cpu_loss} gpu {gpu_loss}"
        );
        for (l, layer) in case.mlp.layers().iter().enumerate() {
            assert_close(&format!("layer {l} dW"), &grads.w[l], &cpu.w[l], 1e-4);
            assert_close(&format!("layer {l} db"), &grads.b[l], &cpu.b[l], 1e-4);
            for (g, &on) in grads.w[l].iter().zip(layer.mask()) {
                assert!(
                    on || *g == 0.0,
                    "layer {l}: gradient {g} at a masked weight"
                );
            }
        }
        // The model is unchanged by loss_grad.
        assert_eq!(g.mlp().unwrap(), case.mlp);
    }
}

#[test]
fn a_gpu_run_continues_on_the_cpu() {
    let Some(ctx) = gpu() else { return };
    let case = masked_sgd(KernelPolicy::Auto);
    // CPU: 2 + 3 epochs. GPU for 2 epochs, written back, then 3 more on the CPU.
    let mut r = rng(5);
    let mut cpu = Trainer::new(case.mlp.clone(), case.opt, case.policy).unwrap();
    let (x, y) = (case.x.view(), case.y.view());
    cpu.fit(x, y, 2, case.batch, &mut r, &mut NoHooks).unwrap();
    cpu.fit(x, y, 3, case.batch, &mut r, &mut NoHooks).unwrap();

    let mut r = rng(5);
    let mut mixed = Trainer::new(case.mlp.clone(), case.opt, case.policy).unwrap();
    let mut g = GpuTrainer::from_trainer(&ctx, &mixed, case.policy).unwrap();
    g.fit(x, y, 2, case.batch, &mut r).unwrap();
    g.write_back(&mut mixed).unwrap();
    assert_eq!((mixed.epoch(), mixed.step()), (2, 12));
    mixed
        .fit(x, y, 3, case.batch, &mut r, &mut NoHooks)
        .unwrap();
    assert_eq!((mixed.epoch(), mixed.step()), (cpu.epoch(), cpu.step()));
    for (a, b) in cpu.mlp().layers().iter().zip(mixed.mlp().layers()) {
        assert_close("continued weights", b.weight(), a.weight(), 1e-4);
    }
    let back = g.into_trainer(case.policy).unwrap();
    assert_eq!(back.step(), 12);
    back.mlp().check_masks().unwrap();
}

#[test]
fn divergence_is_reported_like_the_cpu() {
    let Some(ctx) = gpu() else { return };
    let mut case = dense_classes(KernelPolicy::Dense);
    case.opt = OptimizerConfig::Sgd {
        lr: 1e30,
        momentum: 0.0,
        weight_decay: 0.0,
    };
    let mut t = Trainer::new(case.mlp.clone(), case.opt, case.policy).unwrap();
    let cpu = t
        .fit(
            case.x.view(),
            case.y.view(),
            3,
            case.batch,
            &mut rng(1),
            &mut NoHooks,
        )
        .unwrap_err();
    let opt = Optimizer::new(case.opt, &case.mlp).unwrap();
    let mut g = GpuTrainer::new(&ctx, case.mlp.clone(), &opt, case.policy).unwrap();
    let gpu = g
        .fit(case.x.view(), case.y.view(), 3, case.batch, &mut rng(1))
        .unwrap_err();
    let GpuError::Model(gpu) = gpu else {
        panic!("expected a model error, got {gpu}")
    };
    assert!(matches!(gpu, Error::NonFinite { .. }), "{gpu}");
    assert_eq!(gpu.to_string(), cpu.to_string());
}

#[test]
fn bad_inputs_and_missing_adapters_are_clear_errors() {
    let Some(ctx) = gpu() else { return };
    let case = dense_classes(KernelPolicy::Dense);
    let opt = Optimizer::new(case.opt, &case.mlp).unwrap();
    let mut g = GpuTrainer::new(&ctx, case.mlp.clone(), &opt, case.policy).unwrap();
    let err = g
        .fit(case.x.view(), case.y.view(), 1, 0, &mut rng(0))
        .unwrap_err();
    assert!(
        matches!(
            err,
            GpuError::Model(Error::Config {
                field: "batch_size",
                ..
            })
        ),
        "{err}"
    );
    let narrow = Array2::<f32>::zeros((600, 3));
    let err = g
        .fit(narrow.view(), case.y.view(), 1, 8, &mut rng(0))
        .unwrap_err();
    assert!(matches!(err, GpuError::Model(Error::Shape { .. })), "{err}");
    let bad = Array1::from_elem(600, 10u32);
    let err = g
        .fit(
            case.x.view(),
            TargetsRef::Classes(bad.view()),
            1,
            8,
            &mut rng(0),
        )
        .unwrap_err();
    assert!(matches!(err, GpuError::Model(Error::Targets(_))), "{err}");

    let err = GpuContext::new(&GpuOptions {
        adapter: Some("no such adapter, surely".into()),
    })
    .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, GpuError::NoAdapter { .. }), "{msg}");
    assert!(
        msg.contains("adapters seen") && msg.contains(&ctx.adapter().name),
        "{msg}"
    );

    assert!(Device::Gpu.check().is_ok());
    assert_eq!("gpu".parse::<Device>().unwrap(), Device::Gpu);
    const { assert!(Device::GPU_COMPILED) };
}

//! Speed of every `fpe-metrics` metric on a 256-input, 1,024-neuron layer (α = 4, 8 clauses of
//! 3 literals, 2,048 activation samples). Target: each metric and the full report < 50 ms on
//! one core.

use criterion::{Criterion, criterion_group, criterion_main};
use fpe_metrics::{
    MetricReport, ReportInput, activation_polysemanticity, capacity_stats, collision_prob_balanced,
    collisions, cosine_stats, linear_regression, literal_inputs, participation_ratio,
    predict_collisions,
};
use ndarray::{Array2, Axis};
use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::{ChaCha8Rng, rand_core::SeedableRng};
use std::hint::black_box;

const INPUTS: usize = 256;
const NEURONS: usize = 1_024;
const ALPHA: usize = 4;
const CLAUSES: usize = 8;
const LITERALS: usize = 3;
const SAMPLES: usize = 2_048;

/// A seeded layer expanded like the `random` strategy: each parent's inputs are split into α
/// balanced random groups, one per child; plus clauses, activations and satisfaction.
struct Fixture {
    w: Array2<f32>,
    clauses: Vec<Vec<usize>>,
    acts: Array2<f32>,
    sat: Array2<bool>,
}

fn fixture() -> Fixture {
    let mut rng = ChaCha8Rng::seed_from_u64(4500);
    let mut w = Array2::<f32>::zeros((NEURONS, INPUTS));
    let mut inputs: Vec<usize> = (0..INPUTS).collect();
    for mut parent in w.axis_chunks_iter_mut(Axis(0), ALPHA) {
        inputs.shuffle(&mut rng);
        for (slot, &i) in inputs.iter().enumerate() {
            parent[[slot % ALPHA, i]] = rng.random_range(-1.0f32..1.0);
        }
    }
    // Read-once clauses over the first CLAUSES·LITERALS inputs, in random order.
    inputs.shuffle(&mut rng);
    let clauses: Vec<Vec<usize>> = inputs[..CLAUSES * LITERALS]
        .chunks(LITERALS)
        .map(<[usize]>::to_vec)
        .collect();
    let x = Array2::from_shape_fn((SAMPLES, INPUTS), |_| rng.random_bool(0.5));
    let sat = Array2::from_shape_fn((SAMPLES, CLAUSES), |(s, c)| {
        clauses[c].iter().all(|&i| x[[s, i]])
    });
    let xf = x.mapv(|b| if b { 1.0f32 } else { 0.0 });
    let acts = xf.dot(&w.t()).mapv(|a| a.max(0.0));
    Fixture {
        w,
        clauses,
        acts,
        sat,
    }
}

fn bench_metrics(c: &mut Criterion) {
    let f = fixture();
    let literals = literal_inputs(&f.clauses);
    let mut g = c.benchmark_group("metrics_256x1024");
    g.bench_function("capacity", |b| {
        b.iter(|| capacity_stats(black_box(f.w.view()), Some(&literals)))
    });
    g.bench_function("cosine", |b| {
        b.iter(|| cosine_stats(black_box(f.w.view()), ALPHA))
    });
    g.bench_function("collisions", |b| {
        b.iter(|| collisions(black_box(f.w.view()), &f.clauses, ALPHA))
    });
    g.bench_function("collision_theory", |b| {
        b.iter(|| {
            (
                predict_collisions(black_box(&f.clauses), INPUTS, ALPHA),
                collision_prob_balanced(INPUTS, ALPHA, LITERALS),
            )
        })
    });
    g.bench_function("polysemanticity", |b| {
        b.iter(|| activation_polysemanticity(black_box(f.acts.view()), f.sat.view(), 0.5))
    });
    g.bench_function("participation_ratio", |b| {
        b.iter(|| participation_ratio(black_box(f.acts.view())))
    });
    let xs: Vec<f64> = (0..64).map(f64::from).collect();
    let ys: Vec<f64> = xs.iter().map(|x| 0.3 * x + (x * 1.7).sin()).collect();
    g.bench_function("regression", |b| {
        b.iter(|| linear_regression(black_box(&xs), &ys))
    });
    let input = ReportInput::new(f.w.view())
        .clauses(&f.clauses)
        .alpha(ALPHA)
        .activations(f.acts.view())
        .satisfied(f.sat.view());
    g.bench_function("report", |b| {
        b.iter(|| MetricReport::compute(black_box(&input)))
    });
    g.finish();
}

criterion_group!(benches, bench_metrics);
criterion_main!(benches);

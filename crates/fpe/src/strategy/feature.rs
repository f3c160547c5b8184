//! `feature` [paper: cluster the rows of `G = W_inᵀ W_in` into balanced groups; choice: the
//! algorithm]: inputs that the layer already treats alike (correlated columns of `W_in`) go to
//! the same child.
//!
//! Algorithm [choice]: rows of G are L2-normalised (zero rows stay zero); α centroids are seeded
//! with k-means++ from the caller's RNG; then Lloyd iterations with a *balanced* assignment
//! (capacities ⌈d/α⌉ for the first `d mod α` clusters, ⌊d/α⌋ for the rest): inputs are placed in
//! order of regret (distance to their second-best minus best centroid, largest first, ties by
//! index), each into its nearest cluster with room. Stops when the assignment repeats or after
//! `feature_iters` iterations. Group g → child g for every parent (intersected with the parent's
//! active inputs; an empty child takes one input from the largest).

use ndarray::{Array1, Array2, Axis};
use rand::{Rng, RngCore};

use super::groups::ensure_nonempty;
use super::view::{LayerView, ParentSplit};

pub(super) fn plan(view: &LayerView<'_>, rng: &mut dyn RngCore) -> Vec<ParentSplit> {
    let groups = balanced_clusters(view, rng);
    (0..view.mask.nrows())
        .map(|i| {
            let mut split: ParentSplit = vec![Vec::new(); view.alpha];
            for j in view.active(i) {
                split[groups[j]].push(j);
            }
            ensure_nonempty(&mut split);
            for g in &mut split {
                g.sort_unstable();
            }
            split
        })
        .collect()
}

/// Cluster id (0..α) of every input.
fn balanced_clusters(view: &LayerView<'_>, rng: &mut dyn RngCore) -> Vec<usize> {
    let w = view.weight.mapv(f64::from);
    let mut g: Array2<f64> = w.t().dot(&w);
    for mut row in g.axis_iter_mut(Axis(0)) {
        let n = row.dot(&row).sqrt();
        if n > 0.0 {
            row /= n;
        }
    }
    let (d, a) = (g.nrows(), view.alpha);
    let mut centroids = kmeans_pp(&g, a, rng);
    let capacity: Vec<usize> = (0..a).map(|c| d / a + usize::from(c < d % a)).collect();
    let mut assign = vec![usize::MAX; d];
    for _ in 0..view.feature_iters {
        let dist = Array2::from_shape_fn((d, a), |(p, c)| sq_dist(g.row(p), centroids.row(c)));
        let mut order: Vec<(f64, usize)> = (0..d)
            .map(|p| {
                let mut row: Vec<f64> = dist.row(p).to_vec();
                row.sort_by(f64::total_cmp);
                (row.get(1).copied().unwrap_or(0.0) - row[0], p)
            })
            .collect();
        order.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
        let mut fill = vec![0usize; a];
        let mut next = vec![0usize; d];
        for &(_, p) in &order {
            let c = (0..a)
                .filter(|&c| fill[c] < capacity[c])
                .min_by(|&x, &y| dist[[p, x]].total_cmp(&dist[[p, y]]).then(x.cmp(&y)))
                .expect("total capacity is d");
            fill[c] += 1;
            next[p] = c;
        }
        if next == assign {
            break;
        }
        assign = next;
        for c in 0..a {
            let members: Vec<usize> = (0..d).filter(|&p| assign[p] == c).collect();
            let mut mean = Array1::<f64>::zeros(d);
            for &p in &members {
                mean += &g.row(p);
            }
            centroids
                .row_mut(c)
                .assign(&(mean / members.len().max(1) as f64));
        }
    }
    assign
}

fn sq_dist(a: ndarray::ArrayView1<'_, f64>, b: ndarray::ArrayView1<'_, f64>) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// k-means++ seeding: first centroid uniform, then proportional to squared distance.
fn kmeans_pp(g: &Array2<f64>, k: usize, rng: &mut dyn RngCore) -> Array2<f64> {
    let d = g.nrows();
    let mut centroids = Array2::<f64>::zeros((k, g.ncols()));
    let first = rng.random_range(0..d);
    centroids.row_mut(0).assign(&g.row(first));
    let mut best: Vec<f64> = (0..d).map(|p| sq_dist(g.row(p), g.row(first))).collect();
    for c in 1..k {
        let total: f64 = best.iter().sum();
        let pick = if total > 0.0 {
            let mut u = rng.random_range(0.0..total);
            let mut chosen = d - 1;
            for (p, &b) in best.iter().enumerate() {
                if u < b {
                    chosen = p;
                    break;
                }
                u -= b;
            }
            chosen
        } else {
            rng.random_range(0..d)
        };
        centroids.row_mut(c).assign(&g.row(pick));
        for (p, b) in best.iter_mut().enumerate() {
            *b = b.min(sq_dist(g.row(p), g.row(pick)));
        }
    }
    centroids
}

//! Per-weight updates whose cost follows the active weights, not the layer's size.
//!
//! An optimiser step visits every weight of a layer with the same update rule. For an expanded
//! layer most weights are inactive, so [`update_sparse`] walks a cached list of the active
//! weights ([`ActiveIndex`]) when the layer is sparse; dense layers keep the vectorised visit of
//! every weight in the optimiser. The list is rebuilt, and every inactive weight and optimiser
//! slot zeroed, whenever the layer's mask id ([`crate::Layer::mask_id`]: a new one for every mask
//! a layer is given, so comparing ids costs nothing per step) differs from the one the list was
//! built from; between mask changes nothing can write an inactive entry (the layer and optimiser
//! state keep that invariant), so skipping them is exact. Each weight gets the same arithmetic on either path, so the paths
//! give bit-identical results.

use ndarray::{Array2, Zip};

/// Below this fraction of active weights, updates walk the index list.
const SPARSE_BELOW: f64 = 0.5;

/// The active weights of one layer, by row-major position, and the id of the mask they came from.
#[derive(Clone, Debug, Default)]
pub(crate) struct ActiveIndex {
    mask_id: Option<u64>,
    len: usize,
    idx: Vec<u32>,
}

impl ActiveIndex {
    /// Rebuilds the list if mask `mask_id` is not the one it was built from; returns whether it
    /// did.
    fn refresh(&mut self, mask_id: u64, mask: &[bool]) -> bool {
        if self.mask_id == Some(mask_id) && self.len == mask.len() {
            return false;
        }
        self.mask_id = Some(mask_id);
        self.len = mask.len();
        self.idx.clear();
        self.idx.extend(
            mask.iter()
                .enumerate()
                .filter(|&(_, &on)| on)
                .map(|(k, _)| k as u32),
        );
        true
    }

    fn sparse(&self) -> bool {
        (self.idx.len() as f64) < SPARSE_BELOW * self.len as f64
    }
}

/// One [`ActiveIndex`] per layer. Derived data: two caches always compare equal, so optimisers
/// compare by configuration and state alone.
#[derive(Clone, Debug, Default)]
pub(crate) struct ActiveCache(pub(crate) Vec<ActiveIndex>);

impl PartialEq for ActiveCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Applies `rule(w, g, slots)` to every active weight of a *sparse* layer (mask `mask` with id
/// `mask_id`; fewer than half its weights active) by walking its cached index list, and returns
/// `true`; returns `false`, doing nothing, for a dense layer or arrays not in standard layout (the
/// caller then visits every weight). Inactive weights and their `S` optimiser slots are, and stay, exactly zero.
///
/// # Shapes
/// `w`, `g`, `mask` and every slot: `[out, in]`.
///
/// # Panics
/// If shapes disagree.
pub(crate) fn update_sparse<const S: usize>(
    w: &mut Array2<f32>,
    g: &Array2<f32>,
    mut slots: [&mut Array2<f32>; S],
    mask: &Array2<bool>,
    mask_id: u64,
    cache: &mut ActiveIndex,
    rule: impl Fn(&mut f32, f32, [&mut f32; S]),
) -> bool {
    assert_eq!(w.dim(), g.dim(), "optimizer: gradient shape");
    assert_eq!(w.dim(), mask.dim(), "optimizer: mask shape");
    for s in &slots {
        assert_eq!(w.dim(), s.dim(), "optimizer: state shape");
    }
    let flat = w.is_standard_layout()
        && g.is_standard_layout()
        && slots.iter().all(|s| s.is_standard_layout())
        && u32::try_from(w.len()).is_ok();
    let Some(mask) = mask.as_slice().filter(|_| flat) else {
        return false;
    };
    if cache.refresh(mask_id, mask) {
        zero_inactive(w, mask);
        for s in slots.iter_mut() {
            zero_inactive(s, mask);
        }
    }
    if !cache.sparse() {
        return false;
    }
    let ws = w.as_slice_mut().expect("standard layout");
    let gs = g.as_slice().expect("standard layout");
    let mut ss = slots.map(|s| s.as_slice_mut().expect("standard layout"));
    for &k in &cache.idx {
        let k = k as usize;
        rule(&mut ws[k], gs[k], ss.each_mut().map(|s| &mut s[k]));
    }
    true
}

fn zero_inactive(a: &mut Array2<f32>, mask: &[bool]) {
    let a = a.as_slice_mut().expect("standard layout");
    Zip::from(a).and(mask).for_each(|v, &on| {
        if !on {
            *v = 0.0;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ShapeBuilder, array};

    fn rule(w: &mut f32, g: f32, [m]: [&mut f32; 1]) {
        *m = 0.5 * *m + g;
        *w -= 0.1 * *m;
    }

    /// Runs a few updates, sparse path or reference loop, and returns (w, m).
    fn run(mask: &Array2<bool>, sparse: bool, steps: usize) -> (Array2<f32>, Array2<f32>) {
        let mut w = Array2::from_shape_fn(mask.dim(), |(r, c)| {
            if mask[[r, c]] {
                (r * 7 + c) as f32 * 0.1
            } else {
                0.0
            }
        });
        let g = Array2::from_shape_fn(mask.dim(), |(r, c)| (r as f32 - c as f32) * 0.3 + 1.0);
        let mut m = Array2::from_elem(mask.dim(), 9.0);
        let mut cache = ActiveIndex::default();
        for _ in 0..steps {
            if sparse {
                assert!(update_sparse(
                    &mut w,
                    &g,
                    [&mut m],
                    mask,
                    1,
                    &mut cache,
                    rule
                ));
            } else {
                Zip::from(&mut w)
                    .and(&g)
                    .and(&mut m)
                    .and(mask)
                    .for_each(|w, &g, m, &on| {
                        if on {
                            rule(w, g, [m]);
                        } else {
                            (*w, *m) = (0.0, 0.0);
                        }
                    });
            }
        }
        (w, m)
    }

    #[test]
    fn the_sparse_path_matches_visiting_every_weight_bit_for_bit() {
        let mask = array![[true, false, false, false], [false, false, true, false]];
        assert_eq!(run(&mask, true, 5), run(&mask, false, 5));
    }

    #[test]
    fn dense_layers_and_other_layouts_are_left_to_the_caller() {
        let dense = array![[true, true, false, true], [true, false, true, true]];
        let (mut w, g, mut m) = (
            Array2::zeros((2, 4)),
            Array2::zeros((2, 4)),
            Array2::zeros((2, 4)),
        );
        let mut cache = ActiveIndex::default();
        assert!(!update_sparse(
            &mut w,
            &g,
            [&mut m],
            &dense,
            1,
            &mut cache,
            rule
        ));
        let sparse = array![[true, false, false, false], [false, false, false, false]];
        let mut wf = Array2::zeros((2, 4).f());
        assert!(!update_sparse(
            &mut wf,
            &g,
            [&mut m],
            &sparse,
            2,
            &mut cache,
            rule
        ));
    }

    #[test]
    fn a_mask_change_zeroes_the_newly_inactive_state() {
        let mut mask = array![[true, true, false, false], [false, false, false, false]];
        let mut w = array![[1.0f32, 2.0, 0.0, 0.0], [0.0; 4]];
        let g = Array2::from_elem((2, 4), 1.0f32);
        let mut m = Array2::zeros((2, 4));
        let mut cache = ActiveIndex::default();
        let mut step = |w: &mut Array2<f32>, m: &mut Array2<f32>, mask: &Array2<bool>, id| {
            assert!(update_sparse(w, &g, [m], mask, id, &mut cache, rule));
        };
        step(&mut w, &mut m, &mask, 1);
        assert_eq!(m[[0, 1]], 1.0);
        mask[[0, 1]] = false;
        w[[0, 1]] = 0.0; // as Layer::set_mask does, with a new mask id
        step(&mut w, &mut m, &mask, 2);
        assert_eq!(m[[0, 1]], 0.0, "momentum of a dropped weight is cleared");
        mask[[0, 1]] = true;
        step(&mut w, &mut m, &mask, 3);
        assert_eq!(m[[0, 1]], 1.0, "a regrown weight starts from zero momentum");
    }
}

//! No allocation inside a training step: a fit of 6 epochs allocates exactly as often as a fit
//! of 1 epoch (the per-fit buffers: order, batch, reports), for dense and gathered kernels, both
//! losses, and models trained in lockstep. Counted with a global allocator wrapper; the test
//! binary runs this one test so no other thread allocates meanwhile.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use fpe_model::{KernelPolicy, NoHooks, OptimizerConfig, TargetsRef, Trainer, fit_lockstep};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_of(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    f();
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

#[test]
fn steps_do_not_allocate() {
    // One thread: rayon's own bookkeeping is not ours to count.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    pool.install(|| {
        let mut r = rng(2);
        let x = random_x(300, 24, &mut r);
        let bits = random_bits(300, 3, &mut r);
        let classes = random_classes(300, 3, &mut r);
        for (policy, density) in [(KernelPolicy::Dense, 1.0), (KernelPolicy::Gathered, 0.5)] {
            for y in [
                TargetsRef::Binary(bits.view()),
                TargetsRef::Classes(classes.view()),
            ] {
                let mlp = random_masked(&[24, 16, 8, 3], density, &mut r);
                let mut t = Trainer::new(mlp, OptimizerConfig::default(), policy).unwrap();
                // Buffers are sized on the first step.
                t.fit(x.view(), y, 1, 128, &mut r, &mut NoHooks).unwrap();
                let one = allocations_of(|| {
                    t.fit(x.view(), y, 1, 128, &mut r, &mut NoHooks).unwrap();
                });
                let six = allocations_of(|| {
                    t.fit(x.view(), y, 6, 128, &mut r, &mut NoHooks).unwrap();
                });
                assert_eq!(one, six, "{policy:?}: 5 more epochs (15 steps) allocated");

                let mut u =
                    Trainer::new(t.mlp().clone(), OptimizerConfig::default(), policy).unwrap();
                fit_lockstep(&mut [&mut t, &mut u], x.view(), y, 1, 128, &mut r);
                let one = allocations_of(|| {
                    fit_lockstep(&mut [&mut t, &mut u], x.view(), y, 1, 128, &mut r);
                });
                let six = allocations_of(|| {
                    fit_lockstep(&mut [&mut t, &mut u], x.view(), y, 6, 128, &mut r);
                });
                assert_eq!(one, six, "{policy:?}: lockstep steps allocated");
            }
        }
    });
}

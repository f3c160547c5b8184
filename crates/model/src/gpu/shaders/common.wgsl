// Declarations shared by every kernel; prepended to each shader file.
//
// Layout: activations and deltas are feature-major, `[width, stride]`: feature `j` of sample `b`
// of the batch is at `j * stride + b`, with `stride` the batch capacity. Weights are dense
// row-major `[d_out, d_in]`; gradients and optimiser slots are packed, one value per active
// weight in row-major order (index `k < nnz`), then one per bias (`nnz + o`).
//
// Determinism: no float atomics; every sum runs in one invocation in a fixed order.

// Per-step parameters (group 0, bound with a dynamic offset: one slot per step).
struct Step {
    // Samples in this batch (at most `stride`).
    rows: u32,
    // Position of the batch's first sample in `perm` and `losses`.
    offset: u32,
    // 1 / the number of loss terms of the batch (samples, or samples x outputs for BCE).
    scale: f32,
    // Step index within this `fit` call, recorded by the non-finite flags.
    t: u32,
    // Adam's bias corrections 1 - beta1^t and 1 - beta2^t (computed in f64 on the host).
    bc1: f32,
    bc2: f32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> step: Step;

// Per-layer constants.
struct Dims {
    d_in: u32,
    d_out: u32,
    // Batch capacity: the row stride of activations and deltas.
    stride: u32,
    // Active weights of the layer.
    nnz: u32,
    // Layer index (for the non-finite flags).
    layer: u32,
    // 1 for hidden layers (ReLU after the affine map), 0 for the output layer.
    relu: u32,
    pad0: u32,
    pad1: u32,
}

// Workgroup size of every kernel (x dimension).
const WG: u32 = 64u;

// Linear invocation index of a 1-D range dispatched as a 2-D grid (to pass 65535 workgroups).
fn linear_id(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return gid.x + gid.y * groups.x * WG;
}

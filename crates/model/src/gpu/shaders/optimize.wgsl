// One optimiser update of the active weights and the biases of a layer, as optim.rs: decoupled
// weight decay on weights (w <- w * (1 - lr * lambda)), then Adam with bias correction or
// momentum SGD. Inactive weights have no slot and are never written: they stay exactly zero.
// A parameter that becomes NaN or infinite records the step in `flags` (integer atomicMin:
// the result does not depend on the order).

struct Hyper {
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    // 1 - lr * weight_decay.
    decay: f32,
    momentum: f32,
    // 0 = Adam, 1 = SGD.
    kind: u32,
    pad0: u32,
}

@group(1) @binding(0) var<uniform> dims: Dims;
@group(1) @binding(1) var<uniform> hyper: Hyper;
@group(1) @binding(2) var<storage, read_write> w: array<f32>;
@group(1) @binding(3) var<storage, read_write> bias: array<f32>;
@group(1) @binding(4) var<storage, read> grad: array<f32>;
// Adam's first moment, or SGD's velocity (packed like `grad`).
@group(1) @binding(5) var<storage, read_write> s0: array<f32>;
// Adam's second moment (unused by SGD).
@group(1) @binding(6) var<storage, read_write> s1: array<f32>;
@group(1) @binding(7) var<storage, read> row_of: array<u32>;
@group(1) @binding(8) var<storage, read> cols: array<u32>;
// [2 * layers]: first step with a non-finite weight, bias of each layer (u32 max = none).
@group(1) @binding(9) var<storage, read_write> flags: array<atomic<u32>>;

fn is_finite(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u;
}

// 1-D over nnz + d_out.
@compute @workgroup_size(64)
fn optimize(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let k = linear_id(gid, groups);
    let nnz = dims.nnz;
    if (k >= nnz + dims.d_out) {
        return;
    }
    let is_weight = k < nnz;
    let g = grad[k];
    var at = 0u;
    var p: f32;
    if (is_weight) {
        at = row_of[k] * dims.d_in + cols[k];
        p = w[at] * hyper.decay;
    } else {
        at = k - nnz;
        p = bias[at];
    }
    if (hyper.kind == 0u) {
        let m = hyper.beta1 * s0[k] + (1.0 - hyper.beta1) * g;
        let v = hyper.beta2 * s1[k] + (1.0 - hyper.beta2) * g * g;
        s0[k] = m;
        s1[k] = v;
        p -= hyper.lr * (m / step.bc1) / (sqrt(v / step.bc2) + hyper.eps);
    } else {
        let vel = hyper.momentum * s0[k] + g;
        s0[k] = vel;
        p -= hyper.lr * vel;
    }
    if (is_weight) {
        w[at] = p;
        if (!is_finite(p)) {
            atomicMin(&flags[2u * dims.layer], step.t);
        }
    } else {
        bias[at] = p;
        if (!is_finite(p)) {
            atomicMin(&flags[2u * dims.layer + 1u], step.t);
        }
    }
}

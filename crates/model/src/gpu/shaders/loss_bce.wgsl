// BCE with logits (stable form, as loss.rs): per sample, the sum over outputs of
// max(z, 0) - z y + log(1 + exp(-|z|)) into `losses` and (sigmoid(z) - y) * scale into `delta`.

@group(1) @binding(0) var<uniform> dims: Dims;
@group(1) @binding(1) var<storage, read> logits: array<f32>;
@group(1) @binding(2) var<storage, read> perm: array<u32>;
// [N, d_out] row-major 0/1 targets.
@group(1) @binding(3) var<storage, read> targets: array<f32>;
@group(1) @binding(4) var<storage, read_write> delta: array<f32>;
@group(1) @binding(5) var<storage, read_write> losses: array<f32>;

// log(1 + x) for x >= 0, accurate for small x (WGSL has no log1p).
fn log1p(x: f32) -> f32 {
    let u = 1.0 + x;
    if (u == 1.0) {
        return x;
    }
    return log(u) * (x / (u - 1.0));
}

fn sigmoid(z: f32) -> f32 {
    if (z >= 0.0) {
        return 1.0 / (1.0 + exp(-z));
    }
    let e = exp(z);
    return e / (1.0 + e);
}

// x: sample.
@compute @workgroup_size(64)
fn loss_bce(@builtin(global_invocation_id) gid: vec3<u32>) {
    let b = gid.x;
    if (b >= step.rows) {
        return;
    }
    let s = dims.stride;
    let r = perm[step.offset + b];
    var total = 0.0;
    for (var j = 0u; j < dims.d_out; j++) {
        let z = logits[j * s + b];
        let y = targets[r * dims.d_out + j];
        total += max(z, 0.0) - z * y + log1p(exp(-abs(z)));
        delta[j * s + b] = (sigmoid(z) - y) * step.scale;
    }
    losses[step.offset + b] = total;
}

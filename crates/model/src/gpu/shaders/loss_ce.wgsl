// Softmax cross-entropy on the logits (log-sum-exp form, as loss.rs): per sample, the loss term
// lse - z[label] into `losses` and the gradient (softmax - onehot) * scale into `delta`.

@group(1) @binding(0) var<uniform> dims: Dims;
@group(1) @binding(1) var<storage, read> logits: array<f32>;
@group(1) @binding(2) var<storage, read> perm: array<u32>;
@group(1) @binding(3) var<storage, read> labels: array<u32>;
@group(1) @binding(4) var<storage, read_write> delta: array<f32>;
@group(1) @binding(5) var<storage, read_write> losses: array<f32>;

// x: sample.
@compute @workgroup_size(64)
fn loss_ce(@builtin(global_invocation_id) gid: vec3<u32>) {
    let b = gid.x;
    if (b >= step.rows) {
        return;
    }
    let s = dims.stride;
    let c = labels[perm[step.offset + b]];
    var mx = logits[b];
    for (var j = 1u; j < dims.d_out; j++) {
        mx = max(mx, logits[j * s + b]);
    }
    var sum = 0.0;
    for (var j = 0u; j < dims.d_out; j++) {
        sum += exp(logits[j * s + b] - mx);
    }
    let lse = mx + log(sum);
    losses[step.offset + b] = lse - logits[c * s + b];
    for (var j = 0u; j < dims.d_out; j++) {
        delta[j * s + b] = exp(logits[j * s + b] - lse) * step.scale;
    }
    delta[c * s + b] -= step.scale;
}

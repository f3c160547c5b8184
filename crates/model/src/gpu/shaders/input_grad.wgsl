// Input gradient of one layer with the ReLU derivative of the layer below fused in:
// gx[i, b] = (act[i, b] <= 0) ? 0 : sum_o W[o, i] gz[o, b]  (a NaN activation passes, as on the
// CPU). The sum runs over outputs in increasing order: all (dense) or the column's active ones.

@group(1) @binding(0) var<uniform> dims: Dims;
@group(1) @binding(1) var<storage, read> w: array<f32>;
@group(1) @binding(2) var<storage, read> gz: array<f32>;
@group(1) @binding(3) var<storage, read> act: array<f32>;
@group(1) @binding(4) var<storage, read_write> gx: array<f32>;
// Column-wise index lists: the neurons reading input i are rows[col_ptr[i] .. col_ptr[i + 1]].
@group(1) @binding(5) var<storage, read> col_ptr: array<u32>;
@group(1) @binding(6) var<storage, read> rows: array<u32>;

fn finish(i: u32, b: u32, acc: f32) {
    let at = i * dims.stride + b;
    gx[at] = select(acc, 0.0, act[at] <= 0.0);
}

// x: sample, y: input feature.
@compute @workgroup_size(64)
fn input_grad_dense(@builtin(global_invocation_id) gid: vec3<u32>) {
    let b = gid.x;
    let i = gid.y;
    if (b >= step.rows) {
        return;
    }
    let s = dims.stride;
    var acc = 0.0;
    for (var o = 0u; o < dims.d_out; o++) {
        acc += w[o * dims.d_in + i] * gz[o * s + b];
    }
    finish(i, b, acc);
}

// x: sample, y: input feature.
@compute @workgroup_size(64)
fn input_grad_gathered(@builtin(global_invocation_id) gid: vec3<u32>) {
    let b = gid.x;
    let i = gid.y;
    if (b >= step.rows) {
        return;
    }
    let s = dims.stride;
    var acc = 0.0;
    let end = col_ptr[i + 1u];
    for (var k = col_ptr[i]; k < end; k++) {
        let o = rows[k];
        acc += w[o * dims.d_in + i] * gz[o * s + b];
    }
    finish(i, b, acc);
}

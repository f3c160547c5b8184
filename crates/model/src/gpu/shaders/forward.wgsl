// Forward pass of one layer: z[o, b] = act(bias[o] + sum_i W[o, i] x[i, b]), with ReLU for hidden
// layers (NaN passes, as on the CPU). The sum runs over inputs in increasing order: all of them
// (dense) or the row's active ones from the index lists (gathered).

@group(1) @binding(0) var<uniform> dims: Dims;
@group(1) @binding(1) var<storage, read> w: array<f32>;
@group(1) @binding(2) var<storage, read> bias: array<f32>;
@group(1) @binding(3) var<storage, read> x: array<f32>;
@group(1) @binding(4) var<storage, read_write> z: array<f32>;
// Row-wise index lists: the active inputs of row o are cols[row_ptr[o] .. row_ptr[o + 1]].
@group(1) @binding(5) var<storage, read> row_ptr: array<u32>;
@group(1) @binding(6) var<storage, read> cols: array<u32>;

fn finish(o: u32, b: u32, acc: f32) {
    var v = acc + bias[o];
    if (dims.relu != 0u && v < 0.0) {
        v = 0.0;
    }
    z[o * dims.stride + b] = v;
}

// x: sample, y: output neuron.
@compute @workgroup_size(64)
fn forward_dense(@builtin(global_invocation_id) gid: vec3<u32>) {
    let b = gid.x;
    let o = gid.y;
    if (b >= step.rows) {
        return;
    }
    let s = dims.stride;
    let row = o * dims.d_in;
    var acc = 0.0;
    for (var i = 0u; i < dims.d_in; i++) {
        acc += w[row + i] * x[i * s + b];
    }
    finish(o, b, acc);
}

// x: sample, y: output neuron.
@compute @workgroup_size(64)
fn forward_gathered(@builtin(global_invocation_id) gid: vec3<u32>) {
    let b = gid.x;
    let o = gid.y;
    if (b >= step.rows) {
        return;
    }
    let s = dims.stride;
    let row = o * dims.d_in;
    var acc = 0.0;
    let end = row_ptr[o + 1u];
    for (var k = row_ptr[o]; k < end; k++) {
        let i = cols[k];
        acc += w[row + i] * x[i * s + b];
    }
    finish(o, b, acc);
}

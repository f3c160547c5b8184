// Masked weight gradient, packed: grad[k] = sum_b gz[o, b] x[i, b] for the k-th active weight
// (o, i) (inactive weights have no slot, so their gradient is exactly zero), then the bias
// gradient grad[nnz + o] = sum_b gz[o, b]. Each sum runs over the batch in increasing order.

@group(1) @binding(0) var<uniform> dims: Dims;
@group(1) @binding(1) var<storage, read> x: array<f32>;
@group(1) @binding(2) var<storage, read> gz: array<f32>;
@group(1) @binding(3) var<storage, read_write> grad: array<f32>;
// Row and column of each active weight, in row-major order.
@group(1) @binding(4) var<storage, read> row_of: array<u32>;
@group(1) @binding(5) var<storage, read> cols: array<u32>;

// 1-D over nnz + d_out.
@compute @workgroup_size(64)
fn weight_grad(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let k = linear_id(gid, groups);
    let s = dims.stride;
    let n = step.rows;
    if (k < dims.nnz) {
        let go = row_of[k] * s;
        let xi = cols[k] * s;
        var acc = 0.0;
        for (var b = 0u; b < n; b++) {
            acc += gz[go + b] * x[xi + b];
        }
        grad[k] = acc;
    } else if (k < dims.nnz + dims.d_out) {
        let go = (k - dims.nnz) * s;
        var acc = 0.0;
        for (var b = 0u; b < n; b++) {
            acc += gz[go + b];
        }
        grad[k] = acc;
    }
}

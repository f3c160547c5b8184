// The batch's inputs, gathered from the resident training set through the shuffled index list
// and stored feature-major: xb[i * stride + b] = data_x[perm[offset + b] * d_in + i].

@group(1) @binding(0) var<uniform> dims: Dims;
@group(1) @binding(1) var<storage, read> data_x: array<f32>;
@group(1) @binding(2) var<storage, read> perm: array<u32>;
@group(1) @binding(3) var<storage, read_write> xb: array<f32>;

// x: sample, y: input feature.
@compute @workgroup_size(64)
fn gather(@builtin(global_invocation_id) gid: vec3<u32>) {
    let b = gid.x;
    let i = gid.y;
    if (b >= step.rows) {
        return;
    }
    let r = perm[step.offset + b];
    xb[i * dims.stride + b] = data_x[r * dims.d_in + i];
}

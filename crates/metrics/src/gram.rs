//! Symmetric Gram products `AᵀA` computed one strip at a time, upper triangle only.
//!
//! Every metric that needs all pairwise dot products (capacity over inputs, cosine over
//! neurons, the covariance Frobenius norm) uses this, so only about half of the `O(n²·k)`
//! multiply-adds are spent and the full `[n, n]` matrix is never held.

use ndarray::{Array2, ArrayView2, Axis, LinalgScalar, Slice};

/// Columns per strip: large enough for an efficient matrix product, small enough that the
/// wasted lower half of each diagonal block stays small (measured best of 64, 128, 192, 256
/// for `[2048, 1024]` activations).
const STRIP: usize = 128;

/// Extra elements at the end of every row of [`padded_rows`]'s storage.
const PAD: usize = 16;

/// A `[rows, cols]` array stored with rows `PAD` elements further apart than needed; row `i` is
/// whatever `push_row(i, buf)` appends to `buf` (exactly `cols` elements).
///
/// Widths like 256 or 1024 give row strides of a power of two bytes, so walking down a column
/// (as the matrix product's packing does) lands every element in the same cache set; the
/// padding avoids that. The result has a non-standard row stride.
///
/// # Panics
/// If `push_row` appends a number of elements other than `cols` (a bug in this crate).
pub(crate) fn padded_rows<A: Clone + Default>(
    rows: usize,
    cols: usize,
    mut push_row: impl FnMut(usize, &mut Vec<A>),
) -> Array2<A> {
    let stride = cols + PAD;
    let mut data = Vec::with_capacity(rows * stride);
    for i in 0..rows {
        let start = data.len();
        push_row(i, &mut data);
        assert_eq!(
            data.len() - start,
            cols,
            "padded_rows: row {i} has the wrong length"
        );
        data.resize(start + stride, A::default());
    }
    let mut out = Array2::from_shape_vec((rows, stride), data).expect("length is rows · stride");
    out.slice_axis_inplace(Axis(1), Slice::from(0..cols));
    out
}

/// `src` mapped by `f`, in [`padded_rows`] storage.
pub(crate) fn padded_map<A: Clone + Default, B: Copy>(
    src: ArrayView2<'_, B>,
    f: impl Fn(B) -> A,
) -> Array2<A> {
    padded_rows(src.nrows(), src.ncols(), |i, buf| {
        buf.extend(src.row(i).iter().map(|&x| f(x)))
    })
}

/// Calls `f(i, row)` for every row `i` of the Gram matrix `G = AᵀA`, where `row = G[i, i..]`
/// (from the diagonal on; `row[0]` is `G[i, i]`).
///
/// Rows are computed a strip of `STRIP` at a time by one matrix product each, so only the upper
/// triangle (plus the lower half of each diagonal block) is ever multiplied out.
///
/// # Shapes
/// - `a`: `[k, n]` (the Gram matrix is `[n, n]`)
pub(crate) fn upper_gram_rows<A: LinalgScalar>(
    a: ArrayView2<'_, A>,
    mut f: impl FnMut(usize, &[A]),
) {
    let n = a.ncols();
    for i0 in (0..n).step_by(STRIP) {
        let rows = a.slice_axis(Axis(1), Slice::from(i0..(i0 + STRIP).min(n)));
        let rest = a.slice_axis(Axis(1), Slice::from(i0..n));
        let strip = rows.t().dot(&rest);
        let strip = strip.as_standard_layout();
        let data = strip
            .as_slice()
            .expect("a standard-layout array is one slice");
        for (r, row) in data.chunks_exact(n - i0).enumerate() {
            f(i0 + r, &row[r..]);
        }
    }
}

/// `Σ f(x)` over `xs` in f64, with eight independent accumulators (vectorisable; the summation
/// order is fixed, so results are reproducible).
pub(crate) fn lane_sum(xs: &[f32], f: impl Fn(f64) -> f64) -> f64 {
    let mut acc = [0.0f64; 8];
    let chunks = xs.chunks_exact(8);
    let tail: f64 = chunks.remainder().iter().map(|&x| f(f64::from(x))).sum();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += f(f64::from(x));
        }
    }
    acc.iter().sum::<f64>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn rows_cover_the_upper_triangle_once() {
        // n = 300 spans three strips (128, 128, 44); compare with the full product.
        let a = Array2::from_shape_fn((7, 300), |(i, j)| ((i * 13 + j * 7) % 11) as f64 - 5.0);
        let full = a.t().dot(&a);
        let mut seen = Array2::<u32>::zeros((300, 300));
        upper_gram_rows(a.view(), |i, row| {
            assert_eq!(row.len(), 300 - i);
            for (c, &v) in row.iter().enumerate() {
                assert_eq!(v, full[[i, i + c]]);
                seen[[i, i + c]] += 1;
            }
        });
        for ((i, j), &n) in seen.indexed_iter() {
            assert_eq!(n, u32::from(j >= i), "({i}, {j})");
        }
    }

    #[test]
    fn lane_sum_matches_plain_sum() {
        let xs: Vec<f32> = (0..21).map(|i| i as f32 - 7.5).collect();
        let plain: f64 = xs.iter().map(|&x| f64::from(x).abs()).sum();
        assert_eq!(lane_sum(&xs, f64::abs), plain);
        assert_eq!(lane_sum(&[], f64::abs), 0.0);
    }

    #[test]
    fn padded_copy_keeps_values() {
        let a = Array2::from_shape_fn((3, 5), |(i, j)| (i * 5 + j) as f32);
        let p = padded_map(a.view(), f64::from);
        assert_eq!(p.dim(), (3, 5));
        assert_eq!(p.strides(), &[5 + PAD as isize, 1]);
        assert_eq!(p, a.mapv(f64::from));
    }
}

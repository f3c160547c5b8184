//! Numerical kernels of convolutional layers (issue #29): 2-D convolution (stride 1, zero
//! padding, any kernel size), 2 × 2 max and average pooling, ReLU's derivative. Pure,
//! single-threaded functions over one chunk of samples; the caller parallelises over chunks, so
//! results never depend on the number of threads.
//!
//! # Layout
//!
//! - Activations of a chunk are sample-major NCHW: a `[rows, C·H·W]` row-major `f32` slice,
//!   sample `b` at `b·C·H·W`, channel `c` at `c·H·W`, pixel `(y, x)` at `y·W + x` (PyTorch's
//!   contiguous NCHW, flattened per sample).
//! - A conv weight is a masked matrix `[out_ch, in_ch·kh·kw]`, column `(ci·kh + ky)·kw + kx`
//!   (PyTorch's `[out, in, kh, kw]` flattened); inactive weights are exactly 0; bias `[out_ch]`.
//! - [`ConvGeom`] holds the shape; [`ConvKernel`] (built from the mask) holds the index lists of
//!   the active weights and the path; [`ConvScratch`] holds the im2col buffers (made once per
//!   chunk buffer; the hot functions do not allocate).
//!
//! # Paths
//!
//! - *Dense* (`conv2d`): per sample, im2col and [`crate::gemm::mat_mul`] for the forward
//!   product, the weight gradient and the input gradient (col2im); the weight gradient is masked
//!   afterwards.
//! - *Gathered* (`gathered`): loops over the active weights only, so the cost follows the
//!   non-zeros; kernel positions (and whole input channels) that no active weight reads are
//!   never im2col'd. [`ConvPath::Auto`] picks it below density [`CONV_GATHER_BELOW`] (e.g.
//!   after channel expansion, where each output channel keeps `1/α` of its inputs).
//!
//! Both paths agree to about 1e-5 and each is deterministic; sums run in fixed orders.
//!
//! # Modules
//!
//! | module | content |
//! |---|---|
//! | `geom` | [`ConvGeom`], im2col / col2im |
//! | `index` | [`ConvKernel`], [`ConvPath`]: active-weight index lists, path choice |
//! | `conv2d` | [`conv2d_forward`], [`conv2d_backward`], [`ConvScratch`], the dense path |
//! | `gathered` | the gathered path's loops |
//! | `simd` | runtime AVX2 dispatch of the gathered loops |
//! | `pool` | [`maxpool2_forward`] / [`maxpool2_backward`], [`avgpool2_forward`] / [`avgpool2_backward`], [`relu_backward`] |
//! | `tests` | finite-difference checks against an independent f64 forward, path agreement, pooling, a speed test |

// Until the model integration calls these kernels.

mod conv2d;
mod gathered;
mod geom;
mod index;
mod pool;
mod simd;
#[cfg(test)]
mod tests;

pub(crate) use conv2d::{ConvScratch, conv2d_backward, conv2d_forward};
pub(crate) use geom::ConvGeom;
pub(crate) use index::{ConvKernel, ConvPath};
pub(crate) use pool::{
    avgpool2_backward, avgpool2_forward, maxpool2_backward, maxpool2_forward, pool2_out,
    relu_backward,
};

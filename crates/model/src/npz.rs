//! Export of a model to numpy's `.npz` format (an uncompressed zip of `.npy` files), written by
//! the `ndarray-npy` crate (zip64 where needed, so no size is truncated).
//!
//! Arrays, for every layer `l` (0 = the layer reading the input):
//!
//! | name | dtype | shape |
//! |---|---|---|
//! | `weight_{l}` | `<f4` | `[out, in]` (inactive entries are 0) |
//! | `bias_{l}` | `<f4` | `[out]` |
//! | `mask_{l}` | `|u1` | `[out, in]`, 1 = active |
//!
//! `np.load("model.npz")["weight_0"]` reads them; in PyTorch, `torch.from_numpy(...)` gives a
//! `nn.Linear` weight directly (same `[out, in]` convention). The forward pass is
//! `h = relu(x @ weight_0.T + bias_0)`, …, logits from the last layer without ReLU.
//!
//! A network with a backbone adds, for its `j`-th convolution or linear stage:
//!
//! | name | dtype | shape |
//! |---|---|---|
//! | `backbone_weight_{j}` | `<f4` | `[out, in, kh, kw]` (a `nn.Conv2d` weight) or `[out, in]` |
//! | `backbone_bias_{j}` | `<f4` | `[out]` |
//! | `backbone_mask_{j}` | `|u1` | the weight's shape |
//! | `backbone_stages` | `|u1` | the stage list as UTF-8 text, one stage per line |
//! | `backbone_input` | `<u8` | `[C, H, W]` |
//!
//! The head then reads the backbone's features (`nn.Flatten` of the last map, as PyTorch's).

use std::io::Cursor;
use std::path::Path;

use ndarray::{Array1, Array2, IxDyn};
use ndarray_npy::NpzWriter;

use crate::backbone::Stage;

use crate::error::{Error, Result};
use crate::mlp::Mlp;

/// Writes every layer's weight, bias and mask to `path` atomically.
///
/// # Errors
/// [`crate::Error::Io`] naming the path.
pub fn export_npz(mlp: &Mlp, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let io = |e: ndarray_npy::WriteNpzError| Error::io(path, std::io::Error::other(e));
    let mut buf = Cursor::new(Vec::new());
    {
        let mut npz = NpzWriter::new(&mut buf);
        for (l, layer) in mlp.layers().iter().enumerate() {
            let mask: Array2<u8> = layer.mask().mapv(u8::from);
            npz.add_array(format!("weight_{l}"), &layer.weight())
                .map_err(io)?;
            npz.add_array(format!("bias_{l}"), &layer.bias())
                .map_err(io)?;
            npz.add_array(format!("mask_{l}"), &mask).map_err(io)?;
        }
        if let Some(b) = mlp.backbone() {
            let cfg = b.config();
            let mut in_ch = cfg.input[0];
            let mut j = 0;
            for stage in &cfg.stages {
                let shape: Vec<usize> = match *stage {
                    Stage::Conv2d { out_ch, kh, kw, .. } => {
                        let s = vec![out_ch, in_ch, kh, kw];
                        in_ch = out_ch;
                        s
                    }
                    Stage::Linear { out } => vec![out, b.layers()[j].d_in()],
                    _ => continue,
                };
                let layer = &b.layers()[j];
                let reshape = |a: Array2<f32>| a.into_shape_with_order(IxDyn(&shape));
                let w = reshape(layer.weight().to_owned()).expect("checked by Backbone::new");
                let m = layer
                    .mask()
                    .mapv(u8::from)
                    .into_shape_with_order(IxDyn(&shape))
                    .expect("checked by Backbone::new");
                npz.add_array(format!("backbone_weight_{j}"), &w)
                    .map_err(io)?;
                npz.add_array(format!("backbone_bias_{j}"), &layer.bias())
                    .map_err(io)?;
                npz.add_array(format!("backbone_mask_{j}"), &m)
                    .map_err(io)?;
                j += 1;
            }
            let text: String = cfg.stages.iter().map(|s| format!("{s}\n")).collect();
            npz.add_array("backbone_stages", &Array1::from(text.into_bytes()))
                .map_err(io)?;
            let input: Array1<u64> = cfg.input.iter().map(|&v| v as u64).collect();
            npz.add_array("backbone_input", &input).map_err(io)?;
        }
        npz.finish().map_err(io)?;
    }
    Ok(fpe_io::write_atomic(path, &buf.into_inner())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MlpConfig;
    use ndarray::Array1;
    use ndarray_npy::NpzReader;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn every_array_reads_back_with_its_name_shape_and_values() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let mut mlp = MlpConfig {
            d_in: 5,
            hidden: vec![4],
            d_out: 3,
        }
        .init(&mut rng)
        .unwrap();
        mlp.layer_mut(0)
            .set_mask(Array2::from_shape_fn((4, 5), |(o, i)| (o + i) % 2 == 0))
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.npz");
        export_npz(&mlp, &path).unwrap();
        let mut npz = NpzReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        let mut names = npz.names().unwrap();
        names.sort();
        assert_eq!(
            names,
            [
                "bias_0", "bias_1", "mask_0", "mask_1", "weight_0", "weight_1"
            ]
        );
        for (l, layer) in mlp.layers().iter().enumerate() {
            let w: Array2<f32> = npz.by_name(&format!("weight_{l}")).unwrap();
            let b: Array1<f32> = npz.by_name(&format!("bias_{l}")).unwrap();
            let m: Array2<u8> = npz.by_name(&format!("mask_{l}")).unwrap();
            assert_eq!(w, layer.weight());
            assert_eq!(b, layer.bias());
            assert_eq!(m, layer.mask().mapv(u8::from));
        }
    }
}

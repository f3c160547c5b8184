//! Export of a model to numpy's `.npz` format (an uncompressed zip of `.npy` files).
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

use std::path::Path;

use crate::checkpoint::write_atomic;
use crate::error::Result;
use crate::mlp::Mlp;

/// Writes every layer's weight, bias and mask to `path` atomically.
///
/// # Errors
/// [`crate::Error::Io`] naming the path.
pub fn export_npz(mlp: &Mlp, path: impl AsRef<Path>) -> Result<()> {
    let mut zip = ZipWriter::default();
    for (l, layer) in mlp.layers().iter().enumerate() {
        let (o, i) = layer.weight().dim();
        let w: Vec<u8> = layer
            .weight()
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let b: Vec<u8> = layer.bias().iter().flat_map(|v| v.to_le_bytes()).collect();
        let m: Vec<u8> = layer.mask().iter().map(|&on| u8::from(on)).collect();
        zip.add(&format!("weight_{l}.npy"), &npy("<f4", &[o, i], &w));
        zip.add(&format!("bias_{l}.npy"), &npy("<f4", &[o], &b));
        zip.add(&format!("mask_{l}.npy"), &npy("|u1", &[o, i], &m));
    }
    write_atomic(path.as_ref(), &zip.finish())
}

/// A `.npy` version 1.0 file of C-ordered data.
fn npy(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // Magic (6) + version (2) + length (2) + header + newline must be a multiple of 64.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// A minimal zip writer: stored (uncompressed) entries, CRC-32, central directory.
#[derive(Default)]
struct ZipWriter {
    body: Vec<u8>,
    central: Vec<u8>,
    entries: u16,
}

impl ZipWriter {
    fn add(&mut self, name: &str, data: &[u8]) {
        let offset = self.body.len() as u32;
        let crc = crc32(data);
        let size = data.len() as u32;
        let fixed = |buf: &mut Vec<u8>| {
            buf.extend_from_slice(&20u16.to_le_bytes()); // version needed
            buf.extend_from_slice(&0u16.to_le_bytes()); // flags
            buf.extend_from_slice(&0u16.to_le_bytes()); // method: stored
            buf.extend_from_slice(&0u16.to_le_bytes()); // mod time
            buf.extend_from_slice(&0x21u16.to_le_bytes()); // mod date: 1980-01-01
            buf.extend_from_slice(&crc.to_le_bytes());
            buf.extend_from_slice(&size.to_le_bytes()); // compressed
            buf.extend_from_slice(&size.to_le_bytes()); // uncompressed
            buf.extend_from_slice(&(name.len() as u16).to_le_bytes());
            buf.extend_from_slice(&0u16.to_le_bytes()); // extra length
        };
        self.body.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        fixed(&mut self.body);
        self.body.extend_from_slice(name.as_bytes());
        self.body.extend_from_slice(data);

        self.central
            .extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        self.central.extend_from_slice(&20u16.to_le_bytes()); // version made by
        fixed(&mut self.central);
        self.central.extend_from_slice(&0u16.to_le_bytes()); // comment length
        self.central.extend_from_slice(&0u16.to_le_bytes()); // disk number
        self.central.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        self.central.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        self.central.extend_from_slice(&offset.to_le_bytes());
        self.central.extend_from_slice(name.as_bytes());
        self.entries += 1;
    }

    fn finish(mut self) -> Vec<u8> {
        let cd_offset = self.body.len() as u32;
        let cd_size = self.central.len() as u32;
        self.body.extend_from_slice(&self.central);
        self.body.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        self.body.extend_from_slice(&0u16.to_le_bytes()); // this disk
        self.body.extend_from_slice(&0u16.to_le_bytes()); // disk with central directory
        self.body.extend_from_slice(&self.entries.to_le_bytes());
        self.body.extend_from_slice(&self.entries.to_le_bytes());
        self.body.extend_from_slice(&cd_size.to_le_bytes());
        self.body.extend_from_slice(&cd_offset.to_le_bytes());
        self.body.extend_from_slice(&0u16.to_le_bytes()); // comment length
        self.body
    }
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320).
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_of_known_string() {
        // The standard check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn npy_header_is_64_byte_aligned() {
        let f = npy("<f4", &[3, 5], &[0u8; 60]);
        let hlen = u16::from_le_bytes([f[8], f[9]]) as usize;
        assert_eq!((10 + hlen) % 64, 0);
        assert_eq!(f[10 + hlen - 1], b'\n');
    }
}

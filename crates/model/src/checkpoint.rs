//! Checkpoints: model, masks, optimiser state, counters and the caller's RNG state.
//!
//! File layout (little-endian), format version 3 ([`FORMAT_VERSION`]):
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `FPECKPT\0` |
//! | 4 | format version ([`FORMAT_VERSION`]) |
//! | 8 | payload length in bytes |
//! | 32 | SHA-256 of the payload |
//! | … | payload: bincode 1 (fixed-width integers) of [`Checkpoint`] |
//!
//! Version 2 files (written before issue #29) have the same header and a payload without the
//! model's backbone field; version 1 files (before issue #17) differ from version 2 only in the
//! checksum: 8 bytes of FNV-1a 64 in place of the SHA-256 (a 28-byte header). Both are still
//! read, each checked with its own checksum, as networks without a backbone; every other version
//! is refused with [`Error::CheckpointVersion`], naming the file and the versions. Only version 3
//! is written.
//!
//! Writes go to a temporary file in the same directory, are flushed with `fsync`, then renamed
//! over the destination, so a crash never leaves a half-written checkpoint. Reading distinguishes
//! a foreign file, another format version, a truncated file, a corrupt payload and an
//! inconsistent model, each with its own [`Error`] variant.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use bincode::Options;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::mlp::Mlp;
use crate::optim::{Optimizer, OptimizerConfig, OptimizerState};

/// First bytes of every checkpoint file.
pub const MAGIC: &[u8; 8] = b"FPECKPT\0";
/// Format version written by this build; it reads this one and versions 1 and 2.
pub const FORMAT_VERSION: u32 = 3;
/// The version before backbones: the same header, a payload without the backbone field.
const V2: u32 = 2;
/// Magic, version, payload length, SHA-256 of the payload.
const HEADER_LEN: usize = 8 + 4 + 8 + 32;
/// The version before SHA-256: an FNV-1a 64 checksum, still read.
const V1: u32 = 1;
/// Magic, version, payload length, FNV-1a 64 of the payload.
const V1_HEADER_LEN: usize = 8 + 4 + 8 + 8;

/// Everything needed to resume training bit-identically.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The model with its masks.
    pub mlp: Mlp,
    /// Optimiser hyper-parameters and state, if training is to resume.
    #[serde(with = "optimizer_repr")]
    pub optimizer: Option<(OptimizerConfig, OptimizerState)>,
    /// Epochs completed.
    pub epoch: usize,
    /// Optimiser steps taken.
    pub step: u64,
    /// The caller's serialised batch-RNG state (opaque bytes), if any.
    pub rng: Option<Vec<u8>>,
    /// Free-form facts (arm, seed, config hash…).
    pub meta: BTreeMap<String, String>,
}

impl Checkpoint {
    /// A checkpoint of a model alone.
    pub fn of_model(mlp: Mlp) -> Self {
        Checkpoint {
            mlp,
            optimizer: None,
            epoch: 0,
            step: 0,
            rng: None,
            meta: BTreeMap::new(),
        }
    }

    /// The optimiser, rebuilt and checked against the model.
    ///
    /// # Errors
    /// As [`Optimizer::with_state`]; `Ok(None)` when the checkpoint has no optimiser.
    pub fn optimizer(&self) -> Result<Option<Optimizer>> {
        self.optimizer
            .as_ref()
            .map(|(c, s)| Optimizer::with_state(*c, s.clone(), &self.mlp))
            .transpose()
    }

    /// Serialises to bytes (header + payload).
    pub fn to_bytes(&self) -> Vec<u8> {
        let payload = options()
            .serialize(self)
            .expect("a checkpoint always serialises");
        let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&sha256(&payload));
        out.extend_from_slice(&payload);
        out
    }

    /// Parses bytes; `path` only names the source in errors.
    ///
    /// # Errors
    /// [`Error::NotCheckpoint`], [`Error::CheckpointVersion`], [`Error::CheckpointTruncated`],
    /// [`Error::CheckpointChecksum`] or [`Error::CheckpointPayload`].
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let p = || path.to_path_buf();
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(Error::NotCheckpoint {
                path: p(),
                reason: "magic bytes `FPECKPT` missing".into(),
            });
        }
        if bytes.len() < 12 {
            return Err(Error::CheckpointHeaderTruncated {
                path: p(),
                header: HEADER_LEN as u64,
                found: bytes.len() as u64,
            });
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
        let header_len = match version {
            FORMAT_VERSION | V2 => HEADER_LEN,
            V1 => V1_HEADER_LEN,
            _ => {
                return Err(Error::CheckpointVersion {
                    path: p(),
                    found: version,
                    supported: FORMAT_VERSION,
                });
            }
        };
        if bytes.len() < header_len {
            return Err(Error::CheckpointHeaderTruncated {
                path: p(),
                header: header_len as u64,
                found: bytes.len() as u64,
            });
        }
        let len = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
        let sum = &bytes[20..header_len];
        let payload = &bytes[header_len..];
        if (payload.len() as u64) < len {
            return Err(Error::CheckpointTruncated {
                path: p(),
                expected: len,
                found: payload.len() as u64,
            });
        }
        if payload.len() as u64 > len {
            return Err(Error::CheckpointPayload {
                path: p(),
                reason: format!(
                    "{} trailing bytes after the payload",
                    payload.len() as u64 - len
                ),
            });
        }
        let found = if version == V1 {
            fnv1a(payload).to_le_bytes().to_vec()
        } else {
            sha256(payload).to_vec()
        };
        if found != sum {
            return Err(Error::CheckpointChecksum {
                path: p(),
                expected: hex(sum),
                found: hex(&found),
            });
        }
        let payload_error = |e: bincode::Error| Error::CheckpointPayload {
            path: p(),
            reason: decode_failure(&e),
        };
        let ck: Checkpoint = if version == FORMAT_VERSION {
            options()
                .with_limit(len)
                .deserialize(payload)
                .map_err(payload_error)?
        } else {
            options()
                .with_limit(len)
                .deserialize::<LegacyCheckpoint>(payload)
                .map_err(payload_error)?
                .into_current()
                .map_err(|e| Error::CheckpointPayload {
                    path: p(),
                    reason: e.to_string(),
                })?
        };
        ck.validate().map_err(|e| Error::CheckpointPayload {
            path: p(),
            reason: e.to_string(),
        })?;
        Ok(ck)
    }

    /// Checks the model's shapes, the mask invariant and the optimiser state.
    fn validate(&self) -> Result<()> {
        for (l, layer) in self.mlp.layers().iter().enumerate() {
            if layer.mask().dim() != layer.weight().dim() || layer.bias().len() != layer.d_out() {
                return Err(Error::shape(
                    format!("layer {l}"),
                    layer.weight().shape(),
                    layer.mask().shape(),
                ));
            }
        }
        let head = Mlp::from_layers(self.mlp.layers().to_vec())?;
        if let Some(b) = self.mlp.backbone() {
            head.with_backbone(b.clone())?;
        }
        self.mlp.check_masks()?;
        self.optimizer()?;
        Ok(())
    }

    /// Writes atomically: temporary file, `fsync`, rename.
    ///
    /// # Errors
    /// [`Error::Io`] naming the path.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        Ok(fpe_io::write_atomic(path.as_ref(), &self.to_bytes())?)
    }

    /// Reads a checkpoint file: a regular file only (a FIFO or device is refused before a byte
    /// is read), and no more bytes than its header promises.
    ///
    /// # Errors
    /// [`Error::Io`] if it cannot be read, [`Error::NotRegularFile`] for a FIFO, device or
    /// directory, otherwise as [`Checkpoint::from_bytes`].
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        Checkpoint::from_bytes(&read_bounded(path)?, path)
    }
}

/// The payload of format versions 1 and 2: a model without a backbone field.
#[derive(Deserialize)]
struct LegacyCheckpoint {
    mlp: LegacyMlp,
    #[serde(with = "optimizer_repr")]
    optimizer: Option<(OptimizerConfig, OptimizerState)>,
    epoch: usize,
    step: u64,
    rng: Option<Vec<u8>>,
    meta: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct LegacyMlp {
    layers: Vec<crate::Layer>,
}

impl LegacyCheckpoint {
    fn into_current(self) -> Result<Checkpoint> {
        Ok(Checkpoint {
            mlp: Mlp::from_layers(self.mlp.layers)?,
            optimizer: self.optimizer,
            epoch: self.epoch,
            step: self.step,
            rng: self.rng,
            meta: self.meta,
        })
    }
}

/// The optimiser config is an internally tagged enum (for readable TOML), which bincode cannot
/// decode; inside a checkpoint it travels as an externally tagged mirror.
mod optimizer_repr {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::optim::{OptimizerConfig, OptimizerState};

    #[derive(Serialize, Deserialize)]
    enum Repr {
        Adam {
            lr: f32,
            beta1: f32,
            beta2: f32,
            eps: f32,
            weight_decay: f32,
        },
        Sgd {
            lr: f32,
            momentum: f32,
            weight_decay: f32,
        },
    }

    type Pair = Option<(OptimizerConfig, OptimizerState)>;

    pub(super) fn serialize<S: Serializer>(v: &Pair, s: S) -> Result<S::Ok, S::Error> {
        let repr = v.as_ref().map(|(c, st)| {
            let r = match *c {
                OptimizerConfig::Adam {
                    lr,
                    beta1,
                    beta2,
                    eps,
                    weight_decay,
                } => Repr::Adam {
                    lr,
                    beta1,
                    beta2,
                    eps,
                    weight_decay,
                },
                OptimizerConfig::Sgd {
                    lr,
                    momentum,
                    weight_decay,
                } => Repr::Sgd {
                    lr,
                    momentum,
                    weight_decay,
                },
            };
            (r, st)
        });
        repr.serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Pair, D::Error> {
        let repr: Option<(Repr, OptimizerState)> = Option::deserialize(d)?;
        Ok(repr.map(|(r, st)| {
            let c = match r {
                Repr::Adam {
                    lr,
                    beta1,
                    beta2,
                    eps,
                    weight_decay,
                } => OptimizerConfig::Adam {
                    lr,
                    beta1,
                    beta2,
                    eps,
                    weight_decay,
                },
                Repr::Sgd {
                    lr,
                    momentum,
                    weight_decay,
                } => OptimizerConfig::Sgd {
                    lr,
                    momentum,
                    weight_decay,
                },
            };
            (c, st)
        }))
    }
}

/// The bytes of the checkpoint file at `path`: the header, then at most the payload length it
/// promises, plus one byte so that trailing bytes are still reported.
fn read_bounded(path: &Path) -> Result<Vec<u8>> {
    let mut file = fpe_io::open_regular(path)?;
    let io = |e| Error::io(path, e);
    let mut bytes = Vec::with_capacity(HEADER_LEN);
    (&mut file)
        .take(HEADER_LEN as u64)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() < 20 || &bytes[..MAGIC.len()] != MAGIC {
        return Ok(bytes);
    }
    let header_len = match u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) {
        V1 => V1_HEADER_LEN,
        _ => HEADER_LEN,
    };
    let promised = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
    let len = file.metadata().map_err(io)?.len();
    let rest = (header_len as u64)
        .saturating_add(promised)
        .saturating_add(1);
    // Read what is there up to the promise; a shorter file is reported as truncated.
    let want = rest
        .min(len.saturating_add(1))
        .saturating_sub(bytes.len() as u64);
    bytes.reserve(usize::try_from(want).unwrap_or(0));
    file.take(want).read_to_end(&mut bytes).map_err(io)?;
    Ok(bytes)
}

/// A payload decoding failure in words. bincode reports a length field that points past the
/// end of the payload as an I/O error with an empty message.
fn decode_failure(e: &bincode::Error) -> String {
    match e.as_ref() {
        bincode::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the payload ends inside a value: a length field promises more bytes than the \
             payload holds (corrupt, or written by another program)"
                .into()
        }
        bincode::ErrorKind::SizeLimit => {
            "a length field promises more bytes than the payload holds (corrupt, or written \
             by another program)"
                .into()
        }
        other => other.to_string(),
    }
}

fn options() -> impl Options {
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_little_endian()
}

/// SHA-256 of `bytes` (the checksum of format version 2).
fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// 64-bit FNV-1a hash (the checksum of format version 1, read only).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Lowercase hexadecimal of `bytes`, in order.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

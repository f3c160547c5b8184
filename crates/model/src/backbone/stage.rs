//! The stages a backbone is described by, as values: `conv 16 3x3 pad 1`, `relu`, `maxpool2`,
//! `avgpool2`, `flatten`, `linear 256`. A config names them as strings; [`Stage`] parses and prints the same
//! text, so a stage list round-trips through TOML, JSON and a unit's identity hash unchanged.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One stage of a backbone (PyTorch's `nn.Conv2d`, `nn.ReLU`, `nn.MaxPool2d(2)`, `nn.Flatten`,
/// `nn.Linear`), in the order the input flows through them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Stage {
    /// Convolution with stride 1 and zero padding: `conv OUT KHxKW pad P` (`conv 16 3` is a
    /// 3×3 kernel without padding).
    Conv2d {
        /// Output channels.
        out_ch: usize,
        /// Kernel height.
        kh: usize,
        /// Kernel width.
        kw: usize,
        /// Zero padding on every side.
        pad: usize,
    },
    /// Elementwise `max(x, 0)`.
    Relu,
    /// 2×2 max pooling with stride 2 (odd sizes round down, as PyTorch's).
    MaxPool2,
    /// 2×2 average pooling with stride 2 (odd sizes round down, as PyTorch's).
    AvgPool2,
    /// `[C, H, W]` → `[C·H·W]` (the layout already is; marks where linear stages may start).
    Flatten,
    /// Fully connected: `linear OUT`.
    Linear {
        /// Output features.
        out: usize,
    },
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Stage::Conv2d {
                out_ch,
                kh,
                kw,
                pad,
            } => write!(f, "conv {out_ch} {kh}x{kw} pad {pad}"),
            Stage::Relu => f.write_str("relu"),
            Stage::MaxPool2 => f.write_str("maxpool2"),
            Stage::AvgPool2 => f.write_str("avgpool2"),
            Stage::Flatten => f.write_str("flatten"),
            Stage::Linear { out } => write!(f, "linear {out}"),
        }
    }
}

impl From<Stage> for String {
    fn from(s: Stage) -> String {
        s.to_string()
    }
}

impl TryFrom<String> for Stage {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

const SYNTAX: &str = "expected `conv OUT K` / `conv OUT KHxKW pad P`, `relu`, `maxpool2`, \
                      `avgpool2`, `flatten` or `linear OUT`";

fn positive(text: &str, what: &str, stage: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(v) if v > 0 => Ok(v),
        _ => Err(format!(
            "backbone stage `{stage}`: {what} `{text}` is not a positive integer"
        )),
    }
}

impl FromStr for Stage {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let words: Vec<&str> = s.split_whitespace().collect();
        match words.as_slice() {
            ["relu"] => Ok(Stage::Relu),
            ["maxpool2"] => Ok(Stage::MaxPool2),
            ["avgpool2"] => Ok(Stage::AvgPool2),
            ["flatten"] => Ok(Stage::Flatten),
            ["linear", out] => Ok(Stage::Linear {
                out: positive(out, "output width", s)?,
            }),
            ["conv", out, kernel, rest @ ..] => {
                let out_ch = positive(out, "output channels", s)?;
                let (kh, kw) = match kernel.split_once('x') {
                    Some((h, w)) => (
                        positive(h, "kernel height", s)?,
                        positive(w, "kernel width", s)?,
                    ),
                    None => {
                        let k = positive(kernel, "kernel size", s)?;
                        (k, k)
                    }
                };
                let pad = match rest {
                    [] => 0,
                    ["pad", p] => p.parse::<usize>().map_err(|_| {
                        format!("backbone stage `{s}`: padding `{p}` is not an integer")
                    })?,
                    _ => return Err(format!("backbone stage `{s}`: {SYNTAX}")),
                };
                Ok(Stage::Conv2d {
                    out_ch,
                    kh,
                    kw,
                    pad,
                })
            }
            _ => Err(format!("backbone stage `{s}`: {SYNTAX}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_print_as_they_parse() {
        for text in [
            "conv 16 3x3 pad 1",
            "conv 8 5x3 pad 0",
            "relu",
            "maxpool2",
            "avgpool2",
            "flatten",
            "linear 256",
        ] {
            let s: Stage = text.parse().unwrap();
            assert_eq!(s.to_string(), text);
        }
        assert_eq!(
            "conv 4 3".parse::<Stage>().unwrap(),
            Stage::Conv2d {
                out_ch: 4,
                kh: 3,
                kw: 3,
                pad: 0
            }
        );
    }

    #[test]
    fn bad_stages_say_what_is_wrong() {
        for (text, needle) in [
            ("conv 0 3", "output channels `0`"),
            ("conv 8 3 stride 2", "expected"),
            ("linear -1", "output width `-1`"),
            ("maxpool3", "expected"),
            ("conv 8 3x0", "kernel width `0`"),
        ] {
            let e = text.parse::<Stage>().unwrap_err();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }
}

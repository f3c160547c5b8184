//! IDX files, the format of MNIST and Fashion-MNIST (LeCun et al.): unsigned-byte arrays with a
//! big-endian header, read plain or gzipped.
//!
//! Layout: two zero bytes, a type byte (`0x08` = unsigned byte, the only type read here; `0x09`
//! i8, `0x0B` i16, `0x0C` i32, `0x0D` f32 and `0x0E` f64 are refused by name), the number of
//! dimensions, then one big-endian `u32` size per dimension, then the items in row-major order.
//! A file that starts with the gzip magic (`1f 8b`) is decompressed on the fly, whatever its
//! name.
//!
//! Checks, each an [`Error::BadIdx`] naming the file, the field and the value: the magic, the
//! type, the number of dimensions (the caller says how many it wants), the declared size, and a
//! payload of exactly the declared length (a truncated file and trailing bytes are both errors,
//! with the expected and found sizes). Nothing is allocated from the header alone: the kept
//! items are reserved from the [`MemoryBudget`] first (a header claiming 2^32 items is refused
//! with [`Error::TooLarge`]), and they are read through a limit, so the buffer grows only with
//! bytes the file really holds. Items past `max_items` are streamed and counted, not stored.
//! Only regular files are opened (a FIFO or device is refused without blocking on it).

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::memory::{self, MemoryBudget};

/// The two bytes every gzip stream starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// The type byte of unsigned-byte data, the one element type read.
const TYPE_U8: u8 = 0x08;
/// Most dimensions an IDX header may declare here (the format allows 255; images need 4).
const MAX_DIMS: usize = 8;
/// Most bytes a buffer is given up front; beyond it, it grows with the bytes actually read.
const PREALLOC_CAP: u64 = 64 << 20;
/// Trailing bytes counted (not stored) past the declared payload before a message says "more".
const TRAILING_COUNT_CAP: u64 = 1 << 20;

/// An unsigned-byte IDX array, or its first items.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxArray {
    /// `[kept items, dims 1..]`.
    shape: Vec<usize>,
    /// Items in the file (the declared first dimension).
    declared_items: usize,
    /// The kept items' bytes, row-major.
    data: Vec<u8>,
}

impl IdxArray {
    /// Shape of what was kept: the first dimension is the number of items kept, the others are
    /// as declared (`[N, 28, 28]` for MNIST images, `[N]` for labels).
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Items (first-dimension entries) the file declares and holds.
    pub fn declared_items(&self) -> usize {
        self.declared_items
    }

    /// Bytes of one item (the product of the dimensions after the first; 1 for labels).
    pub fn item_len(&self) -> usize {
        self.shape[1..].iter().product()
    }

    /// The kept bytes, row-major.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The kept bytes, row-major, without copying.
    pub fn into_data(self) -> Vec<u8> {
        self.data
    }
}

/// Reads the unsigned-byte IDX file at `path` (plain or gzipped), keeping its first `max_items`
/// items (all when `None`); the rest of the payload is still read and its length checked.
///
/// # Errors
/// [`Error::FileNotFound`], [`Error::NotRegularFile`], [`Error::Io`] (including a corrupt gzip
/// stream), [`Error::BadIdx`] for a bad magic, an element type other than unsigned byte, no or
/// too many dimensions, or a payload shorter or longer than declared, and [`Error::TooLarge`]
/// when the kept items would not fit in the memory available.
///
/// # Example
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("labels-idx1-ubyte");
/// // Magic 00 00, type 0x08 (u8), 1 dimension of size 3, then 3 labels.
/// std::fs::write(&path, [0, 0, 0x08, 1, 0, 0, 0, 3, 7, 2, 9])?;
/// let a = fpe_datasets::read_idx(&path, Some(2))?;
/// assert_eq!((a.shape(), a.declared_items(), a.data()), (&[2][..], 3, &[7, 2][..]));
/// # Ok(())
/// # }
/// ```
pub fn read_idx(path: &Path, max_items: Option<usize>) -> Result<IdxArray> {
    read_idx_with(path, None, max_items, &mut MemoryBudget::available())
}

/// As [`read_idx`], requiring `ndims` dimensions (any when `None`) and reserving the kept bytes
/// from `budget`.
pub(crate) fn read_idx_with(
    path: &Path,
    ndims: Option<usize>,
    max_items: Option<usize>,
    budget: &mut MemoryBudget,
) -> Result<IdxArray> {
    let bad = |field, message: String| Error::BadIdx {
        path: path.to_path_buf(),
        field,
        message,
    };
    let mut r = open(path)?;
    let mut head = [0u8; 4];
    let got = read_full(&mut r, &mut head, path)?;
    if got < head.len() {
        return Err(bad(
            "header",
            format!("the file ends after {got} byte(s); an IDX header has at least 4"),
        ));
    }
    if head[..2] != [0, 0] {
        return Err(bad(
            "magic",
            format!(
                "starts with {:02x} {:02x} {:02x} {:02x}; an IDX file starts with 00 00, its \
                 type byte and its number of dimensions",
                head[0], head[1], head[2], head[3]
            ),
        ));
    }
    if head[2] != TYPE_U8 {
        return Err(bad(
            "type",
            format!(
                "element type 0x{:02x} ({}) is not read: only 0x08 (unsigned byte) is",
                head[2],
                type_name(head[2])
            ),
        ));
    }
    let n_dims = usize::from(head[3]);
    if n_dims == 0 || n_dims > MAX_DIMS || ndims.is_some_and(|want| want != n_dims) {
        let want = ndims.map_or(format!("1 to {MAX_DIMS}"), |w| w.to_string());
        return Err(bad(
            "dims",
            format!("declares {n_dims} dimension(s); expected {want}"),
        ));
    }
    let mut raw = vec![0u8; 4 * n_dims];
    let got = read_full(&mut r, &mut raw, path)?;
    if got < raw.len() {
        return Err(bad(
            "dims",
            format!(
                "the header declares {n_dims} dimension sizes ({} bytes) but the file ends after \
                 {got} of those bytes",
                raw.len()
            ),
        ));
    }
    let dims: Vec<usize> = raw
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let item_len = dims[1..]
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d as u64));
    let total = item_len.and_then(|l| l.checked_mul(dims[0] as u64));
    let (Some(item_len), Some(total)) = (item_len, total) else {
        return Err(bad("size", format!("dimensions {dims:?} overflow 64 bits")));
    };
    let keep = max_items.map_or(dims[0], |m| m.min(dims[0]));
    let kept_bytes = item_len * keep as u64;
    budget.reserve(&memory::Read {
        file: path,
        dataset: "IDX payload",
        shape: dims.clone(),
        rows: keep,
        bytes: Some(kept_bytes),
    })?;
    let mut data = Vec::with_capacity(kept_bytes.min(PREALLOC_CAP) as usize);
    (&mut r)
        .take(kept_bytes)
        .read_to_end(&mut data)
        .map_err(|e| io(path, e))?;
    // The rest is counted, not stored; one byte past the end (or more, to say how many) shows
    // trailing data, and reading to the end makes the gzip decoder check its CRC and length.
    let rest = total - data.len() as u64;
    let past = std::io::copy(
        &mut (&mut r).take(rest.saturating_add(TRAILING_COUNT_CAP)),
        &mut std::io::sink(),
    )
    .map_err(|e| io(path, e))?;
    let found = data.len() as u64 + past;
    if found != total {
        let (what, found) = if found < total {
            ("truncated", found.to_string())
        } else if past >= rest.saturating_add(TRAILING_COUNT_CAP) {
            (
                "trailing bytes after the data",
                format!("more than {}", found - 1),
            )
        } else {
            ("trailing bytes after the data", found.to_string())
        };
        return Err(bad(
            "payload",
            format!(
                "{what}: dimensions {dims:?} declare {total} payload byte(s), found {found} (after \
                 the {}-byte header{})",
                4 + raw.len(),
                if r.gzip { ", decompressed" } else { "" }
            ),
        ));
    }
    let mut shape = dims.clone();
    shape[0] = keep;
    Ok(IdxArray {
        shape,
        declared_items: dims[0],
        data,
    })
}

/// The name of an IDX type byte, for messages.
fn type_name(t: u8) -> &'static str {
    match t {
        0x08 => "unsigned byte",
        0x09 => "signed byte",
        0x0B => "16-bit integer",
        0x0C => "32-bit integer",
        0x0D => "32-bit float",
        0x0E => "64-bit float",
        _ => "not an IDX type",
    }
}

/// A file's bytes, decompressed when it starts with the gzip magic.
struct Source {
    inner: Box<dyn Read>,
    gzip: bool,
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf)
    }
}

fn io(path: &Path, cause: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        cause,
    }
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8], path: &Path) -> Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io(path, e)),
        }
    }
    Ok(n)
}

/// Opens the regular file at `path`, decompressing it if it starts with the gzip magic.
fn open(path: &Path) -> Result<Source> {
    let file = open_regular(path)?;
    let mut buf = BufReader::new(file);
    let gzip = buf
        .fill_buf()
        .map_err(|e| io(path, e))?
        .starts_with(&GZIP_MAGIC);
    let inner: Box<dyn Read> = if gzip {
        Box::new(flate2::bufread::MultiGzDecoder::new(buf))
    } else {
        Box::new(buf)
    };
    Ok(Source { inner, gzip })
}

/// Opens `path` when it is (or a symbolic link leads to) a regular file: opened without
/// blocking, then checked on the open descriptor, as `fpe-io` does.
fn open_regular(path: &Path) -> Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::FileNotFound {
            path: path.to_path_buf(),
        },
        _ => io(path, e),
    })?;
    let meta = file.metadata().map_err(|e| io(path, e))?;
    if !meta.is_file() {
        return Err(Error::NotRegularFile {
            path: PathBuf::from(path),
            kind: kind_of(meta.file_type()),
        });
    }
    Ok(file)
}

/// What a file type is, in words.
fn kind_of(t: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "FIFO";
        }
        if t.is_char_device() {
            return "character device";
        }
        if t.is_block_device() {
            return "block device";
        }
        if t.is_socket() {
            return "socket";
        }
    }
    if t.is_dir() {
        "directory"
    } else {
        "special file"
    }
}

#[cfg(test)]
#[path = "idx_tests.rs"]
mod tests;

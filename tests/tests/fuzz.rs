//! Mutation fuzzing of the two parsers that read files from elsewhere: checkpoint decoding and
//! experiment configs. Neither may panic, whatever the bytes.
//!
//! `cargo fuzz` needs a nightly toolchain and libFuzzer, which CI does not install, so this is a
//! seeded mutation fuzzer on stable: inputs start from the committed corpus
//! (`tests/fuzz/corpus/{checkpoint,config}/`), get one to four mutations each (bit flips,
//! interesting integers at aligned offsets, insertions, deletions, duplications, truncation,
//! splices with other corpus entries; for configs also line and token edits), and go through
//! the parser under `catch_unwind`. Checkpoints are fuzzed twice: raw (mostly caught by the
//! header and checksum) and *payload-aware* (header and checksum recomputed after mutating the
//! payload, so the mutation reaches bincode decoding and model validation).
//!
//! Every input that panics is written to `target/fuzz-crashes/` and fails the test; inputs under
//! `tests/fuzz/regressions/` are replayed first. `FPE_FUZZ_SECONDS` (default 15) bounds each
//! target's time, `FPE_FUZZ_SEED` (default 0) picks the mutation stream. A found panic
//! reproduces from its saved file, not from the seed (the time budget varies the count).
//! `FPE_FUZZ_WRITE_CORPUS=1` rewrites the checkpoint corpus from code.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fpe_model::{Checkpoint, FORMAT_VERSION, Layer, MAGIC, Mlp, Optimizer, OptimizerConfig};
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

/// Header length of a checkpoint: magic, version, payload length, then the checksum (SHA-256 in
/// format version 2; FNV-1a 64 in version 1, which the committed corpus may still be).
fn header_len(checkpoint: &[u8]) -> usize {
    let version = u32::from_le_bytes(checkpoint[8..12].try_into().unwrap());
    if version == 1 {
        8 + 4 + 8 + 8
    } else {
        8 + 4 + 8 + 32
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn corpus(kind: &str) -> Vec<Vec<u8>> {
    let dir = root().join("tests/fuzz/corpus").join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "empty corpus {}", dir.display());
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

fn regressions(kind: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = root().join("tests/fuzz/regressions").join(kind);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    entries
        .map(|e| {
            let p = e.unwrap().path();
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect()
}

fn budget() -> Duration {
    let s: f64 = std::env::var("FPE_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15.0);
    Duration::from_secs_f64(s)
}

fn seed() -> u64 {
    std::env::var("FPE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

const INTERESTING: [u64; 12] = [
    0,
    1,
    2,
    0x7f,
    0x80,
    0xff,
    0xffff,
    0x7fff_ffff,
    0xffff_ffff,
    0x1_0000_0000,
    i64::MAX as u64,
    u64::MAX,
];

/// One to four byte-level mutations of `input`.
fn mutate_bytes(rng: &mut ChaCha8Rng, input: &[u8], others: &[Vec<u8>]) -> Vec<u8> {
    let mut b = input.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        let len = b.len();
        match rng.random_range(0..8) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                b[i] ^= 1 << rng.random_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.random_range(0..len);
                b[i] = rng.random();
            }
            2 if len >= 8 => {
                // An interesting integer, 1/2/4/8 bytes wide, at an aligned offset: hits
                // lengths, dimensions and enum tags.
                let width = [1usize, 2, 4, 8][rng.random_range(0..4)];
                let slots = len / width;
                let at = rng.random_range(0..slots) * width;
                let v = INTERESTING[rng.random_range(0..INTERESTING.len())];
                b[at..at + width].copy_from_slice(&v.to_le_bytes()[..width]);
            }
            3 => {
                let i = rng.random_range(0..=len);
                let n = rng.random_range(1..=16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                b.splice(i..i, bytes);
            }
            4 if len > 0 => {
                let i = rng.random_range(0..len);
                let n = rng.random_range(1..=(len - i).min(64));
                b.drain(i..i + n);
            }
            5 if len > 0 => {
                let i = rng.random_range(0..len);
                let n = rng.random_range(1..=(len - i).min(64));
                let chunk = b[i..i + n].to_vec();
                let at = rng.random_range(0..=len);
                b.splice(at..at, chunk);
            }
            6 if len > 0 => b.truncate(rng.random_range(0..len)),
            7 if !others.is_empty() => {
                let o = &others[rng.random_range(0..others.len())];
                if !o.is_empty() && len > 0 {
                    let cut = rng.random_range(0..len);
                    let from = rng.random_range(0..o.len());
                    b.truncate(cut);
                    b.extend_from_slice(&o[from..]);
                }
            }
            _ => {}
        }
    }
    b
}

const TOKENS: [&str; 16] = [
    "0",
    "-1",
    "1",
    "18446744073709551615",
    "9223372036854775807",
    "1e308",
    "nan",
    "-inf",
    "\"\"",
    "\"x\"",
    "[]",
    "[0]",
    "{}",
    "true",
    "4294967296",
    "1000000000000",
];

/// Line and token edits of a TOML text, then maybe byte mutations.
fn mutate_text(rng: &mut ChaCha8Rng, input: &[u8], others: &[Vec<u8>]) -> Vec<u8> {
    let text = String::from_utf8_lossy(input);
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for _ in 0..rng.random_range(1..=3) {
        if lines.is_empty() {
            break;
        }
        let i = rng.random_range(0..lines.len());
        match rng.random_range(0..5) {
            0 => {
                // Replace a value.
                if let Some(eq) = lines[i].find('=') {
                    let key = lines[i][..eq].to_string();
                    lines[i] = format!("{key}= {}", TOKENS[rng.random_range(0..TOKENS.len())]);
                }
            }
            1 => {
                lines.remove(i);
            }
            2 => {
                let l = lines[i].clone();
                let at = rng.random_range(0..=lines.len());
                lines.insert(at, l);
            }
            3 => {
                // A line from another config (a key where it may not belong).
                let o = String::from_utf8_lossy(&others[rng.random_range(0..others.len())])
                    .into_owned();
                let ol: Vec<&str> = o.lines().collect();
                if !ol.is_empty() {
                    lines.insert(i, ol[rng.random_range(0..ol.len())].to_string());
                }
            }
            _ => {
                let j = rng.random_range(0..lines.len());
                lines.swap(i, j);
            }
        }
    }
    let out = lines.join("\n").into_bytes();
    if rng.random_bool(0.3) {
        mutate_bytes(rng, &out, &[])
    } else {
        out
    }
}

/// A current-format header (magic, version, length, SHA-256) around `payload`.
fn wrap(payload: &[u8]) -> Vec<u8> {
    let mut b = MAGIC.to_vec();
    b.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    b.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    b.extend_from_slice(&Sha256::digest(payload));
    b.extend_from_slice(payload);
    b
}

/// A 64-bit key of `name` (the first eight bytes of its SHA-256).
fn key(name: &str) -> u64 {
    u64::from_le_bytes(Sha256::digest(name.as_bytes())[..8].try_into().unwrap())
}

fn decode_checkpoint(bytes: &[u8]) {
    if let Ok(ck) = Checkpoint::from_bytes(bytes, Path::new("fuzz.ckpt")) {
        // A checkpoint that decodes must be usable: optimiser state, forward pass, re-encoding.
        let _ = ck.optimizer();
        let x = Array2::<f32>::zeros((2, ck.mlp.d_in()));
        let _ = ck.mlp.forward(x.view());
        // Re-encoding gives a valid checkpoint with the same bytes (compared as bytes: a
        // NaN parameter is legal and not equal to itself).
        let bytes = ck.to_bytes();
        let again = Checkpoint::from_bytes(&bytes, Path::new("again.ckpt"))
            .expect("a decoded checkpoint re-encodes to a valid one");
        assert!(
            again.to_bytes() == bytes,
            "re-encoding changed the checkpoint"
        );
    }
}

fn parse_config(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let Ok(table) = text.parse::<toml::Table>() else {
        return;
    };
    for quick in [false, true] {
        if let Ok(exp) = fpe_experiments::sweep::Experiment::from_table(
            table.clone(),
            quick,
            &toml::Table::new(),
            Path::new("."),
        ) {
            let _ = exp.units();
        }
    }
}

/// Runs `target` on the regressions, then on mutations for the time budget; returns
/// (executions, crash files).
fn fuzz(
    name: &str,
    seeds: &[Vec<u8>],
    regress: &[(PathBuf, Vec<u8>)],
    mutate: impl Fn(&mut ChaCha8Rng, &[u8], &[Vec<u8>]) -> Vec<u8>,
    target: impl Fn(&[u8]),
) -> (u64, Vec<PathBuf>) {
    let crash_dir = root().join("target/fuzz-crashes");
    let mut crashes = Vec::new();
    let mut run = |input: &[u8], label: String| {
        if catch_unwind(AssertUnwindSafe(|| target(input))).is_err() {
            std::fs::create_dir_all(&crash_dir).unwrap();
            let path = crash_dir.join(format!("{name}-{label}.bin"));
            std::fs::write(&path, input).unwrap();
            crashes.push(path);
        }
    };
    for (path, input) in regress {
        run(
            input,
            format!("regression-{}", path.display()).replace('/', "_"),
        );
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed() ^ key(name));
    let (start, limit) = (Instant::now(), budget());
    let mut execs = 0u64;
    while start.elapsed() < limit {
        for _ in 0..64 {
            let base = &seeds[rng.random_range(0..seeds.len())];
            let input = mutate(&mut rng, base, seeds);
            run(&input, execs.to_string());
            execs += 1;
        }
    }
    eprintln!(
        "fuzz {name}: {execs} executions in {:.1} s, {} panic(s)",
        start.elapsed().as_secs_f64(),
        crashes.len()
    );
    (execs, crashes)
}

fn corpus_checkpoints() -> Vec<(&'static str, Checkpoint)> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut layer = |o: usize, i: usize, density: f64| {
        let w = Array2::from_shape_fn((o, i), |_| rng.random_range(-1.0..1.0f32));
        let m = Array2::from_shape_fn((o, i), |_| rng.random_bool(density));
        Layer::new(w, Array1::zeros(o), m).unwrap()
    };
    let small = Mlp::from_layers(vec![layer(4, 6, 0.5), layer(2, 4, 1.0)]).unwrap();
    let deep =
        Mlp::from_layers(vec![layer(5, 3, 0.7), layer(5, 5, 0.4), layer(1, 5, 1.0)]).unwrap();
    let mut with_adam = Checkpoint::of_model(small.clone());
    let opt = Optimizer::new(OptimizerConfig::default(), &small).unwrap();
    with_adam.optimizer = Some((*opt.config(), opt.into_state()));
    with_adam.epoch = 3;
    with_adam.step = 12;
    with_adam.rng = Some(vec![1, 2, 3, 4]);
    with_adam.meta.insert("arm".into(), "random".into());
    let mut with_sgd = Checkpoint::of_model(deep.clone());
    let sgd = OptimizerConfig::Sgd {
        lr: 0.1,
        momentum: 0.9,
        weight_decay: 0.0,
    };
    let opt = Optimizer::new(sgd, &deep).unwrap();
    with_sgd.optimizer = Some((sgd, opt.into_state()));
    vec![
        ("model_only.ckpt", Checkpoint::of_model(small)),
        ("adam_state.ckpt", with_adam),
        ("sgd_deep.ckpt", with_sgd),
    ]
}

#[test]
fn the_committed_corpus_is_valid() {
    let dir = root().join("tests/fuzz/corpus/checkpoint");
    if std::env::var_os("FPE_FUZZ_WRITE_CORPUS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, ck) in corpus_checkpoints() {
            ck.save(dir.join(name)).unwrap();
        }
    }
    for (name, ck) in corpus_checkpoints() {
        let loaded = Checkpoint::load(dir.join(name))
            .unwrap_or_else(|e| panic!("corpus {name}: {e} (FPE_FUZZ_WRITE_CORPUS=1 rewrites)"));
        assert_eq!(loaded, ck, "corpus {name} is what the code writes");
    }
    for (i, c) in corpus("config").iter().enumerate() {
        let table: toml::Table = std::str::from_utf8(c).unwrap().parse().unwrap();
        fpe_experiments::sweep::Experiment::from_table(table, false, &toml::Table::new(), &root())
            .unwrap_or_else(|e| panic!("config corpus entry {i}: {e:#}"));
    }
}

#[test]
fn checkpoint_decoding_never_panics() {
    let files = corpus("checkpoint");
    let payloads: Vec<Vec<u8>> = files.iter().map(|s| s[header_len(s)..].to_vec()).collect();
    // Raw mutations start from the committed files and from their payloads in the current
    // format, so both header versions a build reads are exercised.
    let mut seeds = files.clone();
    seeds.extend(payloads.iter().map(|p| wrap(p)));
    let (raw, mut crashes) = fuzz(
        "checkpoint_raw",
        &seeds,
        &regressions("checkpoint"),
        mutate_bytes,
        decode_checkpoint,
    );
    let (aware, more) = fuzz(
        "checkpoint_payload",
        &payloads,
        &[],
        mutate_bytes,
        |payload| decode_checkpoint(&wrap(payload)),
    );
    crashes.extend(more);
    assert!(raw > 0 && aware > 0);
    assert!(crashes.is_empty(), "inputs that panicked: {crashes:?}");
}

#[test]
fn config_parsing_never_panics() {
    let seeds = corpus("config");
    let (execs, crashes) = fuzz(
        "config",
        &seeds,
        &regressions("config"),
        mutate_text,
        parse_config,
    );
    assert!(execs > 0);
    assert!(crashes.is_empty(), "inputs that panicked: {crashes:?}");
}

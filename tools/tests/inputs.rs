//! Inputs a hostile or careless user gives (issue #27, items 7, 11 and 12): absurd thread counts,
//! names that a spreadsheet would run as formulas, and checkpoint metadata that would drive the
//! terminal.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::*;

#[test]
fn an_absurd_thread_count_is_capped_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tiny(tmp.path(), "threads", None);
    let out = tmp.path().join("out");
    let t0 = Instant::now();
    let o = ok(run_in(
        tmp.path(),
        &[
            "--threads",
            "100000",
            "run",
            cfg.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    ));
    assert!(
        stderr(&o).contains("warning: --threads 100000 is more than 4"),
        "{}",
        stderr(&o)
    );
    assert!(t0.elapsed() < Duration::from_secs(60));
    let o = run_in(tmp.path(), &["bench", "--threads", "100000"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--threads 100000: at most"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn names_a_spreadsheet_would_run_are_refused_and_control_characters_named() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, why) in [
        ("=1+1", "starts with `=`"),
        ("+cmd", "starts with `+`"),
        ("@SUM", "starts with `@`"),
        ("-x", "starts with `-`"),
        ("a\u{1b}]0;x", "control character '\\u{1b}'"),
        ("a\nb", "control character '\\n'"),
    ] {
        let cfg = tmp.path().join("c.toml");
        let text = std::fs::read_to_string(tiny(tmp.path(), "ok_name", None)).unwrap();
        let quoted = toml::Value::String(name.to_string()).to_string();
        std::fs::write(&cfg, text.replace("\"ok_name\"", &quoted)).unwrap();
        let o = run_in(tmp.path(), &["run", cfg.to_str().unwrap(), "--out", "out"]);
        assert!(!o.status.success(), "{name:?} accepted");
        let err = stderr(&o);
        assert!(
            err.contains(why) && err.contains("no control characters"),
            "{err}"
        );
    }
}

#[test]
fn inspect_escapes_control_characters_in_checkpoint_metadata() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tiny(tmp.path(), "meta", None);
    let out = tmp.path().join("out");
    ok(run_in(
        tmp.path(),
        &[
            "run",
            cfg.to_str().unwrap(),
            "--seeds",
            "0",
            "--out",
            out.to_str().unwrap(),
        ],
    ));
    let ckpt = std::fs::read_dir(out.join("meta/checkpoints"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut ck = fpe_model::Checkpoint::load(&ckpt).unwrap();
    ck.meta = BTreeMap::from([(
        "arm".to_string(),
        "dense\u{1b}]0;owned\u{7}\n  forged      line".to_string(),
    )]);
    ck.save(&ckpt).unwrap();
    let o = ok(run_in(tmp.path(), &["inspect", ckpt.to_str().unwrap()]));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
    assert!(
        text.contains("dense\\u{1b}]0;owned\\u{7}\\n  forged"),
        "{text}"
    );
    assert!(!text.lines().any(|l| l.starts_with("  forged")), "{text}");
}

#[test]
fn inspect_shows_a_backbone_and_export_writes_its_convolutions() {
    use rand_chacha::{ChaCha8Rng, rand_core::SeedableRng};
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let cfg = fpe_model::BackboneConfig {
        input: [1, 8, 8],
        stages: [
            "conv 4 3x3 pad 1",
            "relu",
            "maxpool2",
            "flatten",
            "linear 6",
            "relu",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect(),
    };
    let bb = cfg.init(&mut rng).unwrap();
    let mlp = fpe_model::MlpConfig {
        d_in: 6,
        hidden: vec![3],
        d_out: 2,
    }
    .init(&mut rng)
    .unwrap()
    .with_backbone(bb)
    .unwrap();
    let ckpt = tmp.path().join("cnn.ckpt");
    fpe_model::Checkpoint::of_model(mlp).save(&ckpt).unwrap();
    let o = ok(run_in(tmp.path(), &["inspect", ckpt.to_str().unwrap()]));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains(
            "backbone    input [1, 8, 8]: conv 4 3x3 pad 1, relu, maxpool2, flatten, linear 6, relu"
        ),
        "{text}"
    );
    assert!(text.contains("backbone nnz/layer [36, 384]"), "{text}");
    let npz = tmp.path().join("cnn.npz");
    let args = [
        "export",
        ckpt.to_str().unwrap(),
        "--npz",
        npz.to_str().unwrap(),
    ];
    ok(run_in(tmp.path(), &args));
    // A zip whose member names include the convolution's 4-D weight.
    let bytes = std::fs::read(&npz).unwrap();
    let has = |name: &str| bytes.windows(name.len()).any(|w| w == name.as_bytes());
    assert!(has("backbone_weight_0.npy") && has("backbone_stages.npy"));
}

//! Reliability, round two (issue #20): writes stay inside --out, special files survive, sizes are
//! bounded before anything is allocated, exit codes and statuses tell the truth, duplicates are
//! refused or merged, and a few things a user meets (notes on the terminal, truncated CSVs,
//! symlinked configs, the default data outside the repository, optimiser defaults).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

use common::{fpe, write_config};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn fpe_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(fpe())
        .current_dir(cwd)
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap()
}

/// A tiny Boolean config without a grid.
fn tiny(dir: &Path, name_line: &str, extra: &str) -> PathBuf {
    let path = dir.join("tiny.toml");
    std::fs::write(
        &path,
        format!(
            "{name_line}\nseeds = [0]\narms = [\"dense\", \"random\"]\n[task]\nkind = \"boolean\"\n\
             n_vars = 16\nclauses = 4\nliterals = 2\ntrain_size = 128\ntest_size = 64\n[model]\n\
             hidden = [4]\n[train]\nwarmup_epochs = 2\nafter_epochs = 2\nbatch_size = 64\n{extra}"
        ),
    )
    .unwrap();
    path
}

#[test]
fn a_config_name_cannot_leave_the_output_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for name in ["..", "/abs/path", "", ".", "a/b", "..\\\\x"] {
        let cfg = tiny(dir.path(), &format!("name = {name:?}"), "");
        let o = fpe_in(
            dir.path(),
            &["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()],
        );
        assert!(!o.status.success(), "name {name:?} was accepted");
        assert!(stderr(&o).contains("`name` = "), "{name:?}: {}", stderr(&o));
    }
    // Nothing was written in or above --out.
    assert!(!out.exists());
    assert!(!dir.path().join("results.csv").exists());
    assert!(!dir.path().join("config.toml").exists());
}

/// A character device like /dev/null (mknod, as root) or else a FIFO; true for a device.
fn special_node(path: &Path) -> bool {
    let dev = Command::new("mknod")
        .arg(path)
        .args(["c", "1", "3"])
        .status()
        .is_ok_and(|s| s.success());
    if !dev {
        assert!(Command::new("mkfifo").arg(path).status().unwrap().success());
    }
    dev
}

#[test]
fn export_and_data_outputs_never_replace_special_files_inputs_or_existing_files() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ck = d.join("m.ckpt");
    let mlp = fpe_model::MlpConfig {
        d_in: 4,
        hidden: vec![3],
        d_out: 1,
    }
    .init(&mut <rand_chacha::ChaCha8Rng as rand_chacha::rand_core::SeedableRng>::seed_from_u64(0))
    .unwrap();
    fpe_model::Checkpoint::of_model(mlp).save(&ck).unwrap();
    let ck_bytes = std::fs::read(&ck).unwrap();
    let run = |args: &[&str]| fpe_in(d, args);

    // A device node (or FIFO) stays what it is.
    let node = d.join("null");
    let is_dev = special_node(&node);
    let o = run(&["export", "m.ckpt", "--npz", "null", "--force"]);
    assert!(!o.status.success());
    let kind = if is_dev { "character device" } else { "FIFO" };
    assert!(
        stderr(&o).contains(&format!("refusing to replace a {kind}")),
        "{}",
        stderr(&o)
    );
    let t = std::fs::symlink_metadata(&node).unwrap().file_type();
    assert!(if is_dev {
        t.is_char_device()
    } else {
        t.is_fifo()
    });

    // The input checkpoint itself (also through another spelling of its path).
    for same in ["m.ckpt", "./m.ckpt"] {
        let o = run(&["export", "m.ckpt", "--npz", same, "--force"]);
        assert!(!o.status.success());
        assert!(
            stderr(&o).contains("this is the input file"),
            "{}",
            stderr(&o)
        );
    }
    assert_eq!(
        std::fs::read(&ck).unwrap(),
        ck_bytes,
        "the checkpoint is intact"
    );

    // A symbolic link is refused (not written through).
    std::fs::write(d.join("target.npz"), b"keep").unwrap();
    std::os::unix::fs::symlink(d.join("target.npz"), d.join("link.npz")).unwrap();
    let o = run(&["export", "m.ckpt", "--npz", "link.npz", "--force"]);
    assert!(
        stderr(&o).contains("refusing to replace a symbolic link"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(d.join("target.npz")).unwrap(), b"keep");

    // A new file is written; an existing one only with --force.
    assert!(
        run(&["export", "m.ckpt", "--npz", "w.npz"])
            .status
            .success()
    );
    let o = run(&["export", "m.ckpt", "--npz", "w.npz"]);
    assert!(
        stderr(&o).contains("the file exists; pass --force"),
        "{}",
        stderr(&o)
    );
    assert!(
        run(&["export", "m.ckpt", "--npz", "w.npz", "--force"])
            .status
            .success()
    );

    // `fpe data boolean --out` follows the same rules.
    let generate = [
        "data",
        "boolean",
        "--clauses",
        "2",
        "--train-size",
        "8",
        "--test-size",
        "8",
    ];
    let with = |extra: &[&'static str]| -> Vec<&'static str> { [&generate[..], extra].concat() };
    assert!(run(&with(&["--out", "d.h5"])).status.success());
    let o = run(&with(&["--out", "d.h5"]));
    assert!(
        stderr(&o).contains("--out d.h5: the file exists"),
        "{}",
        stderr(&o)
    );
    assert!(run(&with(&["--out", "d.h5", "--force"])).status.success());
    let o = run(&with(&["--out", "null", "--force"]));
    assert!(stderr(&o).contains("refusing to replace"), "{}", stderr(&o));
}

#[test]
fn a_grid_times_seeds_beyond_the_cap_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let seeds: Vec<String> = (0..1000).map(|s| s.to_string()).collect();
    let values: Vec<String> = (2..2002).map(|m| m.to_string()).collect();
    let cfg = write_config(
        dir.path(),
        "huge",
        &format!("[{}]", seeds.join(", ")),
        &format!("[{}]", values.join(", ")),
        1,
    );
    let t0 = std::time::Instant::now();
    let o = fpe_in(
        dir.path(),
        &["sweep", cfg.to_str().unwrap(), "--out", "out", "--plan"],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("2000000 units"), "{}", stderr(&o));
    assert!(t0.elapsed().as_secs() < 30, "refused before planning");
}

#[test]
fn diverged_and_failed_runs_give_a_nonzero_exit_and_a_status() {
    let dir = tempfile::tempdir().unwrap();
    // Only `lr` is given: the other Adam fields take their defaults.
    let cfg = tiny(dir.path(), "name = \"lr\"", "[train.optimizer]\nlr = 1e6\n");
    let o = fpe_in(
        dir.path(),
        &[
            "run",
            cfg.to_str().unwrap(),
            "--out",
            "out",
            "--no-checkpoints",
        ],
    );
    assert!(!o.status.success(), "a diverged run must not exit 0");
    assert!(
        stderr(&o).contains("run(s) failed or diverged"),
        "{}",
        stderr(&o)
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("DIVERGED") || stdout.contains("FAILED"),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(dir.path().join("out/lr/results.csv")).unwrap();
    assert!(
        csv.contains(",diverged,") || csv.contains(",failed,"),
        "{csv}"
    );
    assert!(!csv.contains(",ok,"), "no arm learns at lr 1e6: {csv}");
    // The resolved config holds every Adam default beside the given lr.
    let resolved = std::fs::read_to_string(dir.path().join("out/lr/config.toml")).unwrap();
    assert!(resolved.contains("beta2 = 0.999"), "{resolved}");
    // A field of the other optimiser is refused with the reason.
    let cfg = tiny(
        dir.path(),
        "name = \"m\"",
        "[train.optimizer]\nmomentum = 0.5\n",
    );
    let o = fpe_in(dir.path(), &["run", cfg.to_str().unwrap(), "--out", "out"]);
    assert!(
        stderr(&o).contains("`momentum` is a field of sgd, not adam"),
        "{}",
        stderr(&o)
    );
    // SGD with only its kind: lr 0.01, momentum 0.9.
    let cfg = tiny(
        dir.path(),
        "name = \"sgd\"",
        "[train.optimizer]\nkind = \"sgd\"\n",
    );
    let o = fpe_in(
        dir.path(),
        &[
            "run",
            cfg.to_str().unwrap(),
            "--out",
            "out",
            "--no-checkpoints",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let resolved = std::fs::read_to_string(dir.path().join("out/sgd/config.toml")).unwrap();
    assert!(resolved.contains("momentum = 0.9"), "{resolved}");
}

#[test]
fn duplicate_arms_are_refused_and_duplicate_seeds_and_grid_values_merged() {
    let dir = tempfile::tempdir().unwrap();
    let o = fpe_in(
        dir.path(),
        &[
            "run",
            "--arms",
            "dense,dense,random",
            "--epochs",
            "1,1",
            "--out",
            "out",
        ],
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("`arms` names `dense` twice"),
        "{}",
        stderr(&o)
    );
    // seeds [0, 0, 1] and clauses [2, 2, 3]: 2 × 2 units, each once, with warnings.
    let cfg = write_config(dir.path(), "dup", "[0, 0, 1]", "[2, 2, 3]", 1);
    let o = fpe_in(
        dir.path(),
        &[
            "sweep",
            cfg.to_str().unwrap(),
            "--out",
            "out",
            "--no-checkpoints",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("`seeds` lists 0 more than once"), "{err}");
    assert!(
        err.contains("`grid.\"task.clauses\"` lists 2 more than once"),
        "{err}"
    );
    assert!(err.contains("4 units run"), "{err}");
}

#[test]
fn collect_refuses_while_a_shard_runs() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "c", "[0]", "[2, 3]", 1);
    let cfg = cfg.to_str().unwrap();
    let o = fpe_in(
        dir.path(),
        &[
            "sweep",
            cfg,
            "--out",
            "out",
            "--shard",
            "0/2",
            "--no-checkpoints",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // A live holder (this test process, on this host) of shard 1's lock.
    let lock = dir.path().join("out/c/.lock-shard-1-of-2");
    std::fs::write(
        &lock,
        format!(
            "{} {}\n",
            std::process::id(),
            fpe_experiments::sweep::hostname()
        ),
    )
    .unwrap();
    let o = fpe_in(dir.path(), &["sweep", cfg, "--out", "out", "--collect"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("in use by a sharded sweep (shard 1/2"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn report_notes_reach_the_terminal_and_a_truncated_csv_hides_no_unit() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "t", "[0, 1]", "[2, 3]", 1);
    let o = fpe_in(
        dir.path(),
        &[
            "sweep",
            cfg.to_str().unwrap(),
            "--out",
            "out",
            "--no-checkpoints",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // Truncate results.csv to its header and one row, newer than every unit file.
    let csv = dir.path().join("out/t/results.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let kept: Vec<&str> = text.lines().take(2).collect();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&csv, kept.join("\n") + "\n").unwrap();
    // And a file in units/ that is no unit of the plan (and cannot be read): counted, not read.
    std::fs::write(dir.path().join("out/t/units/garbage.json"), b"{ not json").unwrap();
    let o = fpe_in(dir.path(), &["report", "out"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("note: t: 1 unit file(s) in units/ belong to other configs"),
        "{}",
        stderr(&o)
    );
    let report = std::fs::read_to_string(dir.path().join("out/REPORT.md")).unwrap();
    assert!(
        !report.contains("stale unit file"),
        "valid units counted as stale"
    );
    let summary = std::fs::read_to_string(dir.path().join("out/t/summary.csv")).unwrap();
    // Every (setting, arm) still has both seeds.
    for line in summary.lines().skip(1) {
        assert_eq!(line.split(',').nth(4), Some("2"), "{line}");
    }
}

#[test]
fn a_symlinked_config_finds_its_data_beside_the_real_file() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&real).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    // An embeddings file and a config naming it relatively, both in real/.
    let o = fpe_in(
        &real,
        &[
            "data",
            "boolean",
            "--clauses",
            "2",
            "--n-vars",
            "8",
            "--train-size",
            "64",
            "--test-size",
            "32",
            "--out",
            "emb.h5",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::write(
        real.join("cfg.toml"),
        "name = \"sym\"\nseeds = [0]\narms = [\"dense\"]\n[task]\nkind = \"embeddings\"\npath = \"emb.h5\"\n\
         [model]\nhidden = [2]\n[train]\nwarmup_epochs = 1\nafter_epochs = 1\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(real.join("cfg.toml"), elsewhere.join("link.toml")).unwrap();
    let o = fpe_in(
        dir.path(),
        &[
            "run",
            "elsewhere/link.toml",
            "--out",
            "out",
            "--no-checkpoints",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn the_default_embeddings_are_found_outside_the_repository() {
    let dir = tempfile::tempdir().unwrap();
    let o = fpe_in(
        dir.path(),
        &[
            "run",
            "--task",
            "embeddings",
            "--neurons",
            "2",
            "--arms",
            "dense",
            "--epochs",
            "1,0",
            "--no-checkpoints",
            "--out",
            "out",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let resolved = std::fs::read_to_string(dir.path().join("out/run/config.toml")).unwrap();
    assert!(
        resolved.contains("wordnet30_supersense40_minilm384_f16.h5"),
        "{resolved}"
    );
}

#[test]
fn data_info_warns_about_classes_only_in_the_test_split() {
    let dir = tempfile::tempdir().unwrap();
    let x = ndarray::Array2::<f32>::zeros((4, 2));
    let split = |labels: Vec<u32>| fpe_datasets::Split {
        x: x.clone(),
        y: fpe_datasets::Targets::Classes {
            labels: ndarray::Array1::from(labels),
            n_classes: 3,
        },
    };
    let data = fpe_datasets::Dataset {
        name: "t".into(),
        train: split(vec![0, 1, 1, 0]),
        test: split(vec![0, 2, 1, 2]),
        class_names: vec!["a".into(), "b".into(), "c".into()],
        clauses: None,
        image_shape: None,
        provenance: Default::default(),
    };
    let path = dir.path().join("t.h5");
    fpe_datasets::write_hdf5(&data, &path, fpe_datasets::FloatStorage::F32).unwrap();
    // This process wrote the file through the HDF5 library, which may still hold its file lock;
    // the reader is another process, so it skips HDF5's advisory locking.
    let o = Command::new(fpe())
        .current_dir(dir.path())
        .args(["data", "info", "t.h5"])
        .env("HDF5_USE_FILE_LOCKING", "FALSE")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o)
            .contains("1 class(es) occur in the test split but never in the training split: 2 (c)"),
        "{}",
        stderr(&o)
    );
}

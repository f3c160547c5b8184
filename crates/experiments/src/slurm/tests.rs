//! Slurm scripts and job-id parsing, without a cluster.

use super::*;

fn job() -> SlurmJob {
    SlurmJob {
        fpe: "/opt/fpe/bin/fpe".into(),
        config: "/home/me/sweep's.toml".into(),
        out: "/shared/results".into(),
        workdir: "/home/me".into(),
        name: "e2".into(),
        units: 10,
        array_size: 3,
        cpus: 4,
        partition: Some("cpu".into()),
        time: Some("2:00:00".into()),
        quick: true,
        no_checkpoints: false,
        sbatch_options: vec!["--mem=4G".into()],
        device: None,
    }
}

#[test]
fn the_array_script_runs_one_shard_per_task_with_the_absolute_binary() {
    let s = job().array_script();
    assert!(
        s.starts_with("#!/bin/bash\n#SBATCH --job-name=fpe-e2\n"),
        "{s}"
    );
    for line in [
        "#SBATCH --array=0-2",
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --partition=cpu",
        "#SBATCH --time=2:00:00",
        "#SBATCH --mem=4G",
        "#SBATCH --output=/shared/results/e2/slurm/logs/%x-%A_%a.out",
        "set -euo pipefail",
        "cd /home/me",
        "exec /opt/fpe/bin/fpe --threads \"${SLURM_CPUS_PER_TASK:-4}\" sweep \
         '/home/me/sweep'\\''s.toml' --out /shared/results --shard \
         \"${SLURM_ARRAY_TASK_ID}/3\" --quick",
    ] {
        assert!(s.lines().any(|l| l == line), "missing `{line}` in\n{s}");
    }
    // Every #SBATCH line comes before the first command (sbatch stops reading them there).
    let first_cmd = s.lines().position(|l| l == "set -euo pipefail").unwrap();
    let lines: Vec<&str> = s.lines().collect();
    let last_sbatch = lines
        .iter()
        .rposition(|l| l.starts_with("#SBATCH"))
        .unwrap();
    assert!(last_sbatch < first_cmd);
    let mut j = job();
    j.no_checkpoints = true;
    j.quick = false;
    j.partition = None;
    j.time = None;
    j.device = Some("gpu".into());
    let s = j.array_script();
    assert!(s.trim_end().ends_with("/3\" --no-checkpoints"), "{s}");
    assert!(s.contains("--threads \"${SLURM_CPUS_PER_TASK:-4}\" --device gpu sweep "));
    assert!(!j.collect_script().contains("--device"));
    assert!(!s.contains("--partition") && !s.contains("--time") && !s.contains("--quick"));
}

#[test]
fn the_collect_script_collects_with_the_same_config_and_output() {
    let s = job().collect_script();
    for line in [
        "#SBATCH --job-name=fpe-e2-collect",
        "#SBATCH --cpus-per-task=1",
        "#SBATCH --output=/shared/results/e2/slurm/logs/%x-%j.out",
        "exec /opt/fpe/bin/fpe --threads 1 sweep '/home/me/sweep'\\''s.toml' --out \
         /shared/results --collect --quick",
    ] {
        assert!(s.lines().any(|l| l == line), "missing `{line}` in\n{s}");
    }
    assert!(!s.contains("--array"));
}

#[test]
fn bad_values_are_refused_naming_the_flag() {
    let err = |f: fn(&mut SlurmJob)| {
        let mut j = job();
        f(&mut j);
        j.validate().unwrap_err().to_string()
    };
    assert!(job().validate().is_ok());
    assert!(err(|j| j.array_size = 11).contains("--array-size 11: the sweep `e2` has only 10"));
    assert!(err(|j| j.array_size = 0).contains("--array-size 0"));
    assert!(err(|j| j.cpus = 0).contains("--cpus 0"));
    assert!(err(|j| j.time = Some("2 hours".into())).contains("--time `2 hours`"));
    assert!(err(|j| j.time = Some("2h".into())).contains("Slurm's format"));
    assert!(err(|j| j.partition = Some("a b".into())).contains("--partition `a b`"));
    assert!(err(|j| j.sbatch_options = vec!["mem=4G".into()]).contains("--sbatch-option"));
    assert!(err(|j| j.out = "/my results".into()).contains("--out"));
}

#[test]
fn scripts_are_written_executable_next_to_a_log_directory() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = job();
    j.out = dir.path().to_path_buf();
    let s = j.write().unwrap();
    assert_eq!(s.array, dir.path().join("e2/slurm/array.sbatch"));
    assert_eq!(
        std::fs::read_to_string(&s.collect).unwrap(),
        j.collect_script()
    );
    assert!(dir.path().join("e2/slurm/logs").is_dir());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&s.array).unwrap().permissions().mode();
        assert_eq!(mode & 0o111, 0o111);
    }
}

#[test]
fn job_ids_are_read_from_parsable_output() {
    assert_eq!(parse_job_id("1234\n").unwrap(), "1234");
    assert_eq!(parse_job_id("77;cluster\n").unwrap(), "77");
    assert!(parse_job_id("").is_err());
    assert!(parse_job_id("Submitted batch job 5").is_err());
}

#[test]
fn quoting_leaves_plain_words_and_wraps_the_rest() {
    assert_eq!(shell_quote("/a/b-c_d.toml"), "/a/b-c_d.toml");
    assert_eq!(shell_quote("a b"), "'a b'");
    assert_eq!(shell_quote("it's"), r"'it'\''s'");
    assert_eq!(shell_quote(""), "''");
}

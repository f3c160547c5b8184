//! `fpe slurm`: a sweep as a Slurm job array (one shard per task) and a dependent collect job.
//!
//! The scripts go to `OUT/NAME/slurm/array.sbatch` and `OUT/NAME/slurm/collect.sbatch`, the jobs'
//! logs to `OUT/NAME/slurm/logs/`. Array task `I` of `N` runs
//! `fpe --threads $SLURM_CPUS_PER_TASK sweep CONFIG --out OUT --shard I/N` with the absolute
//! path of the `fpe` binary that wrote the script; the collect job runs `fpe sweep CONFIG --out
//! OUT --collect`, after the array whatever its outcome (`afterany`), and fails listing the units
//! still missing. Everything assumes one filesystem shared by the submitting machine and every
//! node: the binary, the config, its data and the output directory.
//!
//! `N` is written into the array script rather than read from `$SLURM_ARRAY_TASK_COUNT`, so that
//! resubmitting some tasks (`sbatch --array=2,5 array.sbatch`, where that count would be 2) runs
//! the same shards.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Context, Error, Result, invalid};

use crate::experiment::Experiment;
use crate::units::plan;

/// Slurm's default `MaxArraySize` is 1001: task ids 0 to 1000.
pub const MAX_ARRAY_SIZE: usize = 1000;

/// `fpe slurm` flags.
#[derive(clap::Args, Clone, Debug)]
pub struct SlurmArgs {
    /// Experiment config (TOML) of the sweep.
    pub config: PathBuf,
    /// Output directory; it must be on a filesystem every node shares.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// Slurm partition (default: the cluster's default partition).
    #[arg(long)]
    pub partition: Option<String>,
    /// Time limit of each array task and of the collect job, in Slurm's format (30, 2:00:00,
    /// 1-00:00:00). Default: the partition's.
    #[arg(long)]
    pub time: Option<String>,
    /// CPUs per array task; each task runs `fpe --threads` with as many.
    #[arg(long, default_value_t = 1)]
    pub cpus: usize,
    /// Array tasks, i.e. shards (default: one per unit, at most 1000).
    #[arg(long)]
    pub array_size: Option<usize>,
    /// Use the config's `[quick]` overrides.
    #[arg(long)]
    pub quick: bool,
    /// Do not keep a checkpoint per arm and seed.
    #[arg(long)]
    pub no_checkpoints: bool,
    /// Another `#SBATCH` option for both jobs, repeatable: --sbatch-option=--mem=4G
    #[arg(
        long = "sbatch-option",
        value_name = "OPTION",
        allow_hyphen_values = true
    )]
    pub sbatch_options: Vec<String>,
    /// Submit both jobs with `sbatch` and print their ids.
    #[arg(long)]
    pub submit: bool,
}

/// Everything the two scripts say, with absolute paths.
#[derive(Clone, Debug, PartialEq)]
pub struct SlurmJob {
    /// The `fpe` binary the tasks run.
    pub fpe: PathBuf,
    /// The sweep's config file.
    pub config: PathBuf,
    /// Output root (`--out`).
    pub out: PathBuf,
    /// Working directory of the jobs (relative data paths in the config resolve against it).
    pub workdir: PathBuf,
    /// Experiment name (the output subdirectory).
    pub name: String,
    /// Units of the sweep.
    pub units: usize,
    /// Array tasks (shards).
    pub array_size: usize,
    /// CPUs per task.
    pub cpus: usize,
    /// `--partition`.
    pub partition: Option<String>,
    /// `--time`.
    pub time: Option<String>,
    /// `--quick`.
    pub quick: bool,
    /// `--no-checkpoints`.
    pub no_checkpoints: bool,
    /// Extra `#SBATCH` options.
    pub sbatch_options: Vec<String>,
    /// `--device` of the array tasks when not the CPU (e.g. `gpu`; request the GPU itself with
    /// an `--sbatch-option` such as `--gres=gpu:1`).
    pub device: Option<String>,
}

/// The written scripts.
#[derive(Clone, Debug, PartialEq)]
pub struct Scripts {
    /// The job array.
    pub array: PathBuf,
    /// The collect job.
    pub collect: PathBuf,
}

/// `s` quoted for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn path_text(p: &Path) -> String {
    p.display().to_string()
}

impl SlurmJob {
    /// Checks values that end up in `#SBATCH` lines (which allow no quoting).
    ///
    /// # Errors
    /// A zero count, more tasks than units, or a value with whitespace, naming the flag.
    pub fn validate(&self) -> Result<()> {
        if self.cpus == 0 {
            invalid!("--cpus 0: each task needs at least 1 CPU");
        }
        if self.array_size == 0 {
            invalid!("--array-size 0: give at least 1 task");
        }
        if self.array_size > self.units {
            invalid!(
                "--array-size {}: the sweep `{}` has only {} unit(s), so at most {} task(s) have \
                 work",
                self.array_size,
                self.name,
                self.units,
                self.units
            );
        }
        if self.array_size > MAX_ARRAY_SIZE {
            invalid!(
                "--array-size {}: Slurm's default MaxArraySize allows at most {MAX_ARRAY_SIZE} \
                 tasks; give fewer (each task runs several units)",
                self.array_size
            );
        }
        let plain = |flag: &str, v: &str| -> Result<()> {
            if v.is_empty() || v.chars().any(|c| c.is_whitespace() || c == '%') {
                invalid!("{flag} `{v}`: must be non-empty, without spaces or `%`");
            }
            Ok(())
        };
        if let Some(p) = &self.partition {
            plain("--partition", p)?;
        }
        if let Some(t) = &self.time {
            plain("--time", t)?;
            if !t
                .chars()
                .all(|c| c.is_ascii_digit() || c == ':' || c == '-')
            {
                invalid!("--time `{t}`: use Slurm's format, e.g. 30, 2:00:00 or 1-00:00:00");
            }
        }
        for o in &self.sbatch_options {
            if !o.starts_with('-') || o.contains(['\n', '\r']) {
                invalid!("--sbatch-option `{o}`: give one sbatch option, e.g. --mem=4G");
            }
        }
        plain("--out", &path_text(&self.log_dir()))
            .context("the log directory appears in #SBATCH --output")?;
        Ok(())
    }

    /// `OUT/NAME/slurm`.
    pub fn script_dir(&self) -> PathBuf {
        self.out.join(&self.name).join("slurm")
    }

    /// `OUT/NAME/slurm/logs`.
    pub fn log_dir(&self) -> PathBuf {
        self.script_dir().join("logs")
    }

    fn header(&self, job_name: &str, cpus: usize, output: &str) -> String {
        let mut s = format!("#!/bin/bash\n#SBATCH --job-name={job_name}\n");
        s += &format!("#SBATCH --cpus-per-task={cpus}\n");
        if let Some(p) = &self.partition {
            s += &format!("#SBATCH --partition={p}\n");
        }
        if let Some(t) = &self.time {
            s += &format!("#SBATCH --time={t}\n");
        }
        s += &format!("#SBATCH --output={}/{output}\n", path_text(&self.log_dir()));
        for o in &self.sbatch_options {
            s += &format!("#SBATCH {o}\n");
        }
        s
    }

    fn sweep_command(&self, threads: &str, device: Option<&str>, last: &str) -> String {
        let device = device.map_or(String::new(), |d| format!(" --device {}", shell_quote(d)));
        let mut cmd = format!(
            "exec {} --threads {threads}{device} sweep {} --out {} {last}",
            shell_quote(&path_text(&self.fpe)),
            shell_quote(&path_text(&self.config)),
            shell_quote(&path_text(&self.out)),
        );
        if self.quick {
            cmd += " --quick";
        }
        cmd
    }

    /// The job-array script: task `I` runs shard `I/N`.
    pub fn array_script(&self) -> String {
        let n = self.array_size;
        let mut s = self.header(&format!("fpe-{}", self.name), self.cpus, "%x-%A_%a.out");
        s += &format!("#SBATCH --array=0-{}\n", n - 1);
        s += &format!(
            "# Written by `fpe slurm`: the sweep `{name}` ({units} units) as {n} array tasks; task I \
             runs shard I/{n}.\n\
             # Resubmit failed or timed-out tasks with `sbatch --array=I,J {this}`: a rerun shard \
             skips its finished units.\n\
             # N is fixed here, not $SLURM_ARRAY_TASK_COUNT, so that such a resubmission runs the \
             same shards.\n",
            name = self.name,
            units = self.units,
            this = path_text(&self.script_dir().join("array.sbatch")),
        );
        s += "set -euo pipefail\n";
        s += &format!("cd {}\n", shell_quote(&path_text(&self.workdir)));
        let mut cmd = self.sweep_command(
            &format!("\"${{SLURM_CPUS_PER_TASK:-{}}}\"", self.cpus),
            self.device.as_deref(),
            &format!("--shard \"${{SLURM_ARRAY_TASK_ID}}/{n}\""),
        );
        if self.no_checkpoints {
            cmd += " --no-checkpoints";
        }
        s + &cmd + "\n"
    }

    /// The collect script: results.csv, tables, plots and REPORT.md from the unit files; fails
    /// listing missing units.
    pub fn collect_script(&self) -> String {
        let mut s = self.header(&format!("fpe-{}-collect", self.name), 1, "%x-%j.out");
        s += "# Written by `fpe slurm`: gathers the shards' unit files into results.csv, tables, \
              plots and REPORT.md;\n\
              # exits nonzero listing the units still missing and the array tasks to resubmit.\n";
        s += "set -euo pipefail\n";
        s += &format!("cd {}\n", shell_quote(&path_text(&self.workdir)));
        s + &self.sweep_command("1", None, "--collect") + "\n"
    }

    /// Writes both scripts (executable) and creates the log directory.
    ///
    /// # Errors
    /// Invalid values ([`SlurmJob::validate`]) or unwritable output.
    pub fn write(&self) -> Result<Scripts> {
        self.validate()?;
        let logs = self.log_dir();
        std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
        let scripts = Scripts {
            array: self.script_dir().join("array.sbatch"),
            collect: self.script_dir().join("collect.sbatch"),
        };
        for (path, text) in [
            (&scripts.array, self.array_script()),
            (&scripts.collect, self.collect_script()),
        ] {
            fpe_io::write_atomic(path, text.as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
                    .with_context(|| format!("making {} executable", path.display()))?;
            }
        }
        Ok(scripts)
    }
}

/// The job id in `sbatch --parsable` output (`ID` or `ID;CLUSTER`).
///
/// # Errors
/// Output that holds no numeric id.
pub fn parse_job_id(stdout: &str) -> Result<String> {
    let id = stdout
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .and_then(|l| l.split(';').next())
        .unwrap_or_default();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::Slurm(format!(
            "sbatch --parsable printed `{}`, not a job id",
            stdout.trim()
        )));
    }
    Ok(id.to_string())
}

fn sbatch(args: &[String]) -> Result<String> {
    let out = Command::new("sbatch").args(args).output().map_err(|e| {
        Error::Slurm(format!(
            "running sbatch: {e}; run `fpe slurm --submit` where Slurm's client commands are \
             installed (a login node), or submit the written scripts yourself"
        ))
    })?;
    if !out.status.success() {
        return Err(Error::Slurm(format!(
            "sbatch {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    parse_job_id(&String::from_utf8_lossy(&out.stdout))
}

/// Submits the array, then the collect job after it (`afterany`); returns both job ids.
///
/// # Errors
/// `sbatch` missing or refusing a script (its message included).
pub fn submit(scripts: &Scripts) -> Result<(String, String)> {
    let array = sbatch(&["--parsable".into(), path_text(&scripts.array)])?;
    let collect = sbatch(&[
        "--parsable".into(),
        format!("--dependency=afterany:{array}"),
        path_text(&scripts.collect),
    ])
    .with_context(|| format!("the array job {array} is submitted; the collect job is not"))?;
    Ok((array, collect))
}

fn absolute(p: &Path) -> Result<PathBuf> {
    let cwd = std::env::current_dir().context("reading the working directory")?;
    Ok(if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    })
}

/// `fpe slurm`: writes the scripts, and with `--submit` submits them. `device` is the global
/// `--device` the array tasks pass on (`cpu`, the default, is left out).
///
/// # Errors
/// Config errors, invalid flags, unwritable output or a failed submission.
pub fn run(args: &SlurmArgs, device: &str) -> Result<()> {
    let exp = Experiment::load(&args.config, args.quick, &toml::Table::new())?;
    let units = plan(&exp, None)?.len();
    let config = absolute(&args.config)?;
    let config = config.canonicalize().unwrap_or(config);
    let out = absolute(&args.out)?;
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let out = out.canonicalize().unwrap_or(out);
    let job = SlurmJob {
        fpe: std::env::current_exe().context("locating the fpe binary")?,
        config,
        out,
        workdir: std::env::current_dir().context("reading the working directory")?,
        name: exp.cfg.name.clone(),
        units,
        array_size: args.array_size.unwrap_or(units.min(MAX_ARRAY_SIZE)),
        cpus: args.cpus,
        partition: args.partition.clone(),
        time: args.time.clone(),
        quick: args.quick,
        no_checkpoints: args.no_checkpoints,
        sbatch_options: args.sbatch_options.clone(),
        device: (device != "cpu").then(|| device.to_string()),
    };
    let scripts = job.write()?;
    eprintln!(
        "wrote {} ({} tasks over {} units) and {}",
        scripts.array.display(),
        job.array_size,
        units,
        scripts.collect.display()
    );
    if args.submit {
        let (array, collect) = submit(&scripts)?;
        println!("array job: {array}");
        println!("collect job: {collect}");
        eprintln!(
            "logs: {}; results: {} once the collect job ends",
            job.log_dir().display(),
            job.out.join(&job.name).join("results.csv").display()
        );
    } else {
        eprintln!(
            "submit with `fpe slurm … --submit`, or:\n  jid=$(sbatch --parsable {}) && sbatch \
             --dependency=afterany:$jid {}",
            shell_quote(&path_text(&scripts.array)),
            shell_quote(&path_text(&scripts.collect))
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests;

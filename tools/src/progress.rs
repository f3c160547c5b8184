//! Progress of a sweep: an indicatif bar on a terminal, plain log lines otherwise. [`Terminal`]
//! is the `fpe` program's [`Observer`].

use std::io::IsTerminal;
use std::sync::Mutex;

use fpe_experiments::progress::{Observer, SweepProgress};
use indicatif::{ProgressBar, ProgressStyle};

/// Draws progress on stderr (a bar on a terminal, log lines otherwise), or nothing when not
/// `enabled`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Terminal {
    /// Show progress at all.
    pub(crate) enabled: bool,
}

impl Observer for Terminal {
    fn start(&self, name: &str, total: u64, done: u64) -> Box<dyn SweepProgress + '_> {
        Box::new(Progress::new(name, total, done, self.enabled))
    }

    fn note(&self, line: &str) {
        eprintln!("{line}");
    }
}

/// Reports finished units, the ETA and the best test accuracy so far.
struct Progress {
    name: String,
    bar: Option<ProgressBar>,
    log: bool,
    state: Mutex<(u64, u64, f64)>,
}

impl Progress {
    /// `total` units of which `done` were already finished.
    fn new(name: &str, total: u64, done: u64, enabled: bool) -> Self {
        let tty = std::io::stderr().is_terminal();
        let bar = (enabled && tty).then(|| {
            let b = ProgressBar::new(total);
            b.set_style(
                ProgressStyle::with_template(
                    "{prefix:>12} [{bar:30}] {pos}/{len} units, ETA {eta} {msg}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            b.set_prefix(name.to_string());
            b.set_position(done);
            b
        });
        if enabled && !tty {
            eprintln!("[{name}] {total} units, {done} already finished");
        }
        Progress {
            name: name.to_string(),
            bar,
            log: enabled && !tty,
            state: Mutex::new((done, total, f64::NAN)),
        }
    }
}

impl SweepProgress for Progress {
    /// One more unit finished; `best` is its best test accuracy.
    fn unit_done(&self, setting: &str, seed: u64, best: f64) {
        let mut s = self.state.lock().expect("progress lock");
        s.0 += 1;
        if best > s.2 || s.2.is_nan() {
            s.2 = best;
        }
        let msg = if s.2.is_nan() {
            "no run has succeeded yet".to_string()
        } else {
            format!("best {:.2}%", 100.0 * s.2)
        };
        if let Some(b) = &self.bar {
            b.set_message(msg);
            b.inc(1);
        } else if self.log {
            let label = if setting.is_empty() {
                String::new()
            } else {
                format!("{setting}, ")
            };
            eprintln!(
                "[{}] {}/{} done ({label}seed {seed}), {msg}",
                self.name, s.0, s.1
            );
        }
    }

    /// The sweep finished after `seconds`.
    fn finish(&self, seconds: f64) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
        let s = self.state.lock().expect("progress lock");
        if self.bar.is_some() || self.log {
            eprintln!(
                "[{}] {}/{} units finished in {:.1}s",
                self.name, s.0, s.1, seconds
            );
        }
    }
}

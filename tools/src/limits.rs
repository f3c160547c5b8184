//! Process-wide limits: how many worker threads a run may start, and what happens when a write
//! passes the file-size limit (`ulimit -f`).

/// Worker threads per CPU this process may use, at most. More only adds scheduling overhead (a
/// run's results never depend on the thread count), and a typo such as `--threads 100000` would
/// otherwise start that many threads.
pub(crate) const THREADS_PER_CPU: usize = 4;

/// The most worker threads `--threads` may ask for: [`THREADS_PER_CPU`] × the CPUs this process
/// may run on (its affinity mask and cgroup quota, as `std::thread::available_parallelism` sees
/// them).
pub(crate) fn max_threads() -> usize {
    THREADS_PER_CPU * std::thread::available_parallelism().map_or(1, usize::from)
}

/// `requested` worker threads, capped at [`max_threads`] with a warning on stderr.
pub(crate) fn capped_threads(requested: usize) -> usize {
    let max = max_threads();
    if requested > max {
        eprintln!(
            "warning: --threads {requested} is more than {THREADS_PER_CPU} × the {} CPU(s) this \
             process may use; using {max} (results do not depend on the thread count)",
            max / THREADS_PER_CPU
        );
        max
    } else {
        requested
    }
}

/// Makes a write past the file-size limit (`ulimit -f`) fail with an error (`EFBIG`, "File too
/// large") instead of killing the process with `SIGXFSZ`: the atomic writer then removes its
/// temporary file and the command says which file it could not write. Python does the same at
/// start-up.
#[cfg(unix)]
#[allow(unsafe_code)]
pub(crate) fn ignore_file_size_signal() {
    // SAFETY: setting the disposition of SIGXFSZ to SIG_IGN at start-up, before any thread is
    // started, installs no handler code; it only changes what the kernel does on that signal.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// Nothing to do where there is no `SIGXFSZ`.
#[cfg(not(unix))]
pub(crate) fn ignore_file_size_signal() {}

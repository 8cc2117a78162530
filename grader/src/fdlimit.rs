//! The limit on open files (`RLIMIT_NOFILE`), which caps how many sockets a
//! process may hold at once.
//!
//! Every socket is a file descriptor. A process has a *soft* limit, which
//! `open`, `socket` and `accept` enforce (they fail with EMFILE beyond it),
//! and a *hard* limit, the ceiling up to which the process may raise its soft
//! limit itself without privileges. Desktops often start programs with a soft
//! limit of 1024 and a hard limit far higher. Children inherit both limits, so
//! raising the grader's soft limit before starting a program raises the
//! program's too.

/// Makes sure this process may open at least `wanted` files, raising the soft
/// limit towards the hard one if needed. Returns the soft limit now in force,
/// or why `wanted` cannot be reached here.
#[cfg(unix)]
pub fn ensure_open_files(wanted: u64) -> Result<u64, String> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(|e| format!("cannot read RLIMIT_NOFILE: {e}"))?;
    // rlim_t is u64 on Linux and macOS but not on every Unix.
    #[allow(clippy::unnecessary_cast)]
    let (soft, hard) = (soft as u64, hard as u64);
    if soft >= wanted {
        return Ok(soft);
    }
    if hard < wanted {
        return Err(format!(
            "needs {wanted} open files, but this machine's hard limit (RLIMIT_NOFILE, `ulimit -Hn`) is {hard}; raise it (for example in /etc/security/limits.conf) to run this test"
        ));
    }
    // Ask for a comfortable margin when the hard limit allows it, not for the
    // hard limit itself, which may be enormous.
    let new_soft = hard.min(wanted.max(4096));
    setrlimit(Resource::RLIMIT_NOFILE, new_soft as _, hard as _)
        .map_err(|e| format!("cannot raise the soft limit on open files from {soft} to {new_soft}: {e}"))?;
    Ok(new_soft)
}

#[cfg(not(unix))]
pub fn ensure_open_files(wanted: u64) -> Result<u64, String> {
    Err(format!(
        "needs {wanted} open files, and raising the limit is only implemented on Unix"
    ))
}

/// The soft limit on open files of process `pid`, from `/proc/PID/limits`
/// (Linux); `None` where that cannot be read.
pub fn open_files_limit_of(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line.trim_start_matches("Max open files").split_whitespace().next()?;
    if soft == "unlimited" { Some(u64::MAX) } else { soft.parse().ok() }
}

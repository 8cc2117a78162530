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

/// Sets the soft limit on open files of the running program `pid` to `soft`
/// (capped at its hard limit, which stays), and returns the soft limit it had:
/// what `prlimit --pid PID --nofile=SOFT:` does. Tests use it to make the
/// program's next `accept` fail with EMFILE.
///
/// `prlimit(2)` on another process needs the same user, or CAP_SYS_RESOURCE,
/// which containers (Docker's default set) drop even for root. When the
/// program runs as the sandbox user, the call is made from a short-lived child
/// that first becomes that user (`setgid`, `setuid` in the forked child, then
/// `prlimit`, before it would exec `true`).
#[cfg(target_os = "linux")]
pub fn set_program_open_files(pid: u32, soft: u64) -> std::io::Result<u64> {
    use nix::libc;
    use std::io;
    // The limits as /proc shows them to anyone (reading them with prlimit
    // needs the same permission as changing them).
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits"))?;
    let numbers: Vec<u64> = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .map(|l| l.split_whitespace().filter_map(|w| w.parse().ok()).collect())
        .unwrap_or_default();
    let [soft_now, hard_now] = numbers[..] else {
        return Err(io::Error::other(format!("no \"Max open files\" in /proc/{pid}/limits")));
    };
    let old = libc::rlimit {
        rlim_cur: soft_now,
        rlim_max: hard_now,
    };
    let new = libc::rlimit {
        rlim_cur: soft.min(old.rlim_max),
        rlim_max: old.rlim_max,
    };
    // SAFETY: prlimit reads `new` and writes nothing (null).
    if unsafe { libc::prlimit(pid as libc::pid_t, libc::RLIMIT_NOFILE, &new, std::ptr::null_mut()) } == 0 {
        return Ok(old.rlim_cur);
    }
    let direct = io::Error::last_os_error();
    if direct.raw_os_error() != Some(libc::EPERM) {
        return Err(direct);
    }
    // Not allowed from here: try as the program's own user.
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let id = |key: &str| -> Option<u32> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse().ok())
    };
    let (Some(uid), Some(gid)) = (id("Uid:"), id("Gid:")) else {
        return Err(direct);
    };
    use std::os::unix::process::CommandExt;
    let mut child = std::process::Command::new("true");
    child.uid(uid).gid(gid).stdin(std::process::Stdio::null());
    // SAFETY: between fork and exec the closure makes one system call.
    unsafe {
        child.pre_exec(move || {
            if libc::prlimit(pid as libc::pid_t, libc::RLIMIT_NOFILE, &new, std::ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    child
        .status()
        .map_err(|e| io::Error::new(e.kind(), format!("{e} (tried as uid {uid}, gid {gid}, after {direct})")))?;
    Ok(old.rlim_cur)
}

/// `prlimit(2)` is Linux only.
#[cfg(not(target_os = "linux"))]
pub fn set_program_open_files(_pid: u32, _soft: u64) -> std::io::Result<u64> {
    Err(std::io::Error::new(std::io::ErrorKind::Unsupported, "prlimit(2) is Linux only"))
}

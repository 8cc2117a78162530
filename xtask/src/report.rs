//! How `grade` puts its reports on disk so that they are always complete and
//! true: each is replaced atomically, rewritten after every test, and written
//! once more, saying "cut short", when a signal stops the grade.
//!
//! A report file is never written in place. The new text goes to a temporary
//! file in the same folder, is flushed to the disk (`fsync(2)`), and is then
//! moved over the old report with `rename(2)`, which replaces it in one step:
//! a reader sees the old report or the new one, never half of one, even if
//! the grader is killed mid-write or the machine loses power.
//!
//! A signal that asks the grader to stop (SIGTERM from a CI runner's timeout,
//! SIGINT from Ctrl-C, SIGHUP from a closed terminal) is turned into a byte
//! on a pipe by a handler that does nothing else (only a few system calls,
//! `write(2)` among them, are safe in a signal handler). A thread waiting on
//! that pipe then kills every process of the grade and writes the last report.

use crate::formats::{self, Format};
use crate::grade::Grade;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

/// One report to write: a format and the file that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub format: Format,
    pub path: PathBuf,
}

/// Renders `grade` in every format asked for and replaces each file
/// atomically. Stops at the first file that cannot be written.
pub fn write_all(outputs: &[Output], grade: &Grade) -> Result<(), String> {
    for output in outputs {
        let text = formats::render(output.format, grade);
        write_atomic(&output.path, text.as_bytes()).map_err(|e| format!("cannot write {}: {e}", output.path.display()))?;
    }
    Ok(())
}

/// Replaces `path` with `bytes` in one step: a temporary file in the same
/// folder (a rename is atomic only within one file system), flushed, then
/// renamed over `path`, and the folder flushed so that the rename itself
/// survives a crash.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    // A file left at that name by an earlier grader with the same pid is
    // removed (a symbolic link as a link, never followed); `create_new` then
    // refuses anything that appears there in between.
    let _ = std::fs::remove_file(&temporary);
    let written = (|| {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if let Err(e) = written.and_then(|()| std::fs::rename(&temporary, path)) {
        let _ = std::fs::remove_file(&temporary);
        return Err(e);
    }
    std::fs::File::open(&dir)?.sync_all()
}

/// The signals that ask the grader to stop, and the names reports use.
#[cfg(unix)]
const STOP_SIGNALS: [(nix::sys::signal::Signal, &str); 3] = [
    (nix::sys::signal::Signal::SIGTERM, "SIGTERM"),
    (nix::sys::signal::Signal::SIGINT, "SIGINT"),
    (nix::sys::signal::Signal::SIGHUP, "SIGHUP"),
];

/// The write end of the signal pipe, for the handler (-1 before `on_stop`).
static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);

#[cfg(unix)]
extern "C" fn note_signal(signal: nix::libc::c_int) {
    let fd = SIGNAL_PIPE.load(Ordering::Relaxed);
    if fd >= 0 {
        // SAFETY: the descriptor is the pipe's write end, which `on_stop`
        // leaks so that it stays open for the life of the process.
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        let _ = nix::unistd::write(fd, &[signal as u8]);
    }
}

/// A signal that stopped the grade: its number and its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stop {
    pub number: i32,
    pub name: &'static str,
}

/// Calls `stop` on a thread of its own when SIGTERM, SIGINT or SIGHUP
/// arrives. `stop` is expected to end the process.
///
/// The handler is replaced by the default action in every program the
/// grader starts (`execve(2)` resets caught signals), so learners' programs
/// and cargo are not affected.
pub fn on_stop(stop: impl FnOnce(Stop) + Send + 'static) -> Result<(), String> {
    #[cfg(unix)]
    {
        use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, sigaction};
        use std::os::fd::IntoRawFd;
        let (mut reader, writer) = std::io::pipe().map_err(|e| format!("cannot make the signal pipe: {e}"))?;
        SIGNAL_PIPE.store(writer.into_raw_fd(), Ordering::Relaxed);
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                let mut byte = [0u8; 1];
                if reader.read_exact(&mut byte).is_ok() {
                    let number = i32::from(byte[0]);
                    let name = STOP_SIGNALS
                        .iter()
                        .find(|(s, _)| *s as i32 == number)
                        .map_or("a signal", |(_, name)| name);
                    stop(Stop { number, name });
                }
            })
            .map_err(|e| format!("cannot start the signal thread: {e}"))?;
        // SA_RESTART: a system call the grader is in when the signal lands
        // is resumed rather than failing with EINTR.
        let action = SigAction::new(SigHandler::Handler(note_signal), SaFlags::SA_RESTART, SigSet::empty());
        for (signal, name) in STOP_SIGNALS {
            // SAFETY: the handler only loads an atomic and calls write(2),
            // both async-signal-safe.
            unsafe { sigaction(signal, &action) }.map_err(|e| format!("cannot handle {name}: {e}"))?;
        }
    }
    #[cfg(not(unix))]
    let _ = stop;
    Ok(())
}

/// Kills every process this grader started that is still alive: its
/// descendants (learners' programs, cargo and compilers), and, on Linux,
/// every process carrying the mark of one of its tests (a daemon that
/// double-forked away from the family). Returns once none is left, or after
/// two seconds of trying.
///
/// The runner already kills each test's processes when the test ends; this
/// is for a grade stopped in the middle of a test, and a last sweep before
/// the final report is written, so that no learner process outlives it.
pub fn kill_everything_started() {
    #[cfg(unix)]
    {
        use nix::sys::signal::{Signal, kill};
        use nix::unistd::Pid;
        let me = std::process::id() as i32;
        let mark = format!("{}={me}-", grader::process::TAG_VAR);
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let mut alive = grader::process::descendants_of(me);
            alive.extend(marked(&mark));
            if alive.is_empty() || Instant::now() > deadline {
                return;
            }
            for pid in alive {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
            // A killed process leaves the lists once the kernel has reaped
            // its threads; look again shortly (the deadline bounds this).
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Live processes whose environment has an entry starting with `prefix`
/// (from `/proc/PID/environ`; other users' processes cannot be read, and are
/// then found as descendants instead).
#[cfg(unix)]
fn marked(prefix: &str) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut found = Vec::new();
    for entry in dir.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit_once(')').map(|(_, after)| after.trim_start().starts_with(['Z', 'X'])))
            .unwrap_or(true);
        if !zombie && environ.split(|&b| b == 0).any(|e| e.starts_with(prefix.as_bytes())) {
            found.push(pid);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rewrite replaces the file whole and leaves no temporary file behind.
    #[test]
    fn write_atomic_replaces_the_file_and_leaves_nothing_else() {
        let dir = std::env::temp_dir().join(format!("socklings-report-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("deep").join("report.json");
        write_atomic(&path, b"first, and longer").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["report.json"], "only the report is left in its folder");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! The learner's program as a child process that the grader fully controls.
//!
//! Every program starts in its own process group (`setpgid(0, 0)`, as
//! CodeCrafters' testers do), so that the grader can signal the program and
//! everything it forked at once with `killpg`. When a test ends, or its time
//! is up, the whole group is killed with SIGKILL, and on Linux the grader also
//! walks `/proc` for descendants that left the group (with `setsid`). A
//! daemon that also lost its parent (it double-forked) is no descendant any
//! more, so every program also carries an environment variable naming its
//! test (`SOCKLINGS_TEST`), which children inherit through fork, `setsid` and
//! exec; at the end the grader kills every process that carries it. That is
//! the fallback: where the grader is root, `sandbox` also gives each program
//! a PID namespace and the test a cgroup, from which nothing escapes.
//! **Invariant:** no test leaves a process running.
//!
//! Output is read in chunks on two threads, split into lines (each cut at
//! `MAX_LINE_BYTES`, the rest counted) and copied into the transcript with a
//! `[your program]` prefix; the transcript itself keeps at most
//! `transcript::MAX_PROGRAM_BYTES` of a test's output. A `todo!()` panic is recognised here so the
//! runner can say "not started" instead of "crashed".

use crate::ctx::Failure;
pub use crate::sandbox::Joins;
use crate::transcript::Transcript;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A panic the program reported on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panic {
    /// `src/main.rs:40:5`
    pub location: String,
    /// The panic message, such as `not yet implemented`.
    pub message: String,
}

impl Panic {
    /// Whether this panic is an untouched `todo!()` or `unimplemented!()`.
    pub fn is_todo(&self) -> bool {
        self.message.starts_with("not yet implemented") || self.message.starts_with("not implemented")
    }
}

/// Things the program's output threads learn, shared with the test.
#[derive(Default)]
pub struct Seen {
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
    pub panic: Option<Panic>,
    /// Both pipes reached end of file.
    pub closed: u8,
    awaiting_panic_message: Option<String>,
}

/// Process groups alive in one test, so the runner can kill them on timeout.
pub type Groups = Arc<Mutex<Vec<i32>>>;

/// Every panic the programs of one test reported, for the runner's verdict.
pub type Panics = Arc<Mutex<Vec<Panic>>>;

pub struct Program {
    child: Child,
    pub(crate) pid: u32,
    name: String,
    seen: Arc<(Mutex<Seen>, Condvar)>,
    transcript: Transcript,
    groups: Groups,
    exit: Option<ExitStatus>,
}

impl Program {
    /// Starts `command` in a new process group, with stdout and stderr
    /// captured, through the sandbox (see `sandbox::spawn_program`): the one
    /// door through which a learner's program starts.
    pub(crate) fn start(mut command: Command, name: String, ctx: &crate::Ctx, joins: Joins) -> std::io::Result<Program> {
        let (transcript, groups, panics) = (ctx.transcript.clone(), ctx.groups.clone(), ctx.panics.clone());
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        // Short panic reports: the location and message are what the learner needs.
        command.env("RUST_BACKTRACE", "0");
        command.env(TAG_VAR, tag(&groups));
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            command.process_group(0);
        }
        let mut child = crate::sandbox::spawn_program(&mut command, &ctx.cell, joins)?;
        let pid = child.id();
        groups.lock().unwrap_or_else(|p| p.into_inner()).push(pid as i32);
        let seen = Arc::new((Mutex::new(Seen::default()), Condvar::new()));
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        spawn_reader(stdout, "stdout", name.clone(), seen.clone(), transcript.clone(), panics.clone());
        spawn_reader(stderr, "stderr", name.clone(), seen.clone(), transcript.clone(), panics);
        Ok(Program {
            child,
            pid,
            name,
            seen,
            transcript,
            groups,
            exit: None,
        })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Waits until a line of stdout satisfies `parse`, the program exits, or
    /// `timeout` passes. `what` describes the awaited line for the failure message.
    pub fn wait_for_stdout<T>(&mut self, what: &str, timeout: Duration, parse: impl Fn(&str) -> Option<T>) -> Result<T, Failure> {
        let deadline = Instant::now() + timeout;
        let mut checked = 0;
        loop {
            {
                let (lock, _) = &*self.seen;
                let seen = lock.lock().unwrap_or_else(|p| p.into_inner());
                for line in &seen.stdout[checked..] {
                    if let Some(value) = parse(line) {
                        return Ok(value);
                    }
                }
                checked = seen.stdout.len();
            }
            if let Some(status) = self.poll_exit() {
                // Give the reader threads a moment to copy the last lines.
                self.wait_output_closed(Duration::from_millis(500));
                let seen_line = {
                    let seen = self.seen.0.lock().unwrap_or_else(|p| p.into_inner());
                    seen.stdout[checked..].iter().find_map(|l| parse(l))
                };
                if let Some(value) = seen_line {
                    return Ok(value);
                }
                return Err(Failure::new(format!(
                    "expected {what}, but {} exited ({}) without printing it",
                    self.name,
                    describe_status(status)
                ))
                .with_panic(self.panic()));
            }
            if Instant::now() >= deadline {
                return Err(Failure::new(format!(
                    "expected {what} within {:.1} s, but {} printed nothing like it",
                    timeout.as_secs_f64(),
                    self.name
                )));
            }
            let (lock, cvar) = &*self.seen;
            let guard = lock.lock().unwrap_or_else(|p| p.into_inner());
            let _ = cvar.wait_timeout(guard, Duration::from_millis(20));
        }
    }

    /// Waits up to `timeout` for the program to exit; `None` if it is still running.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.poll_exit() {
                self.wait_output_closed(Duration::from_millis(500));
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The exit status if the program has exited, recording it in the transcript once.
    pub fn poll_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none()
            && let Ok(Some(status)) = self.child.try_wait()
        {
            self.exit = Some(status);
            self.transcript.step(format!("{} exited: {}", self.name, describe_status(status)));
        }
        self.exit
    }

    /// The program's role in transcripts: `your program`, `your client`, ...
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Every line the program wrote to stdout so far (up to the first 10,000).
    pub fn stdout_lines(&self) -> Vec<String> {
        self.seen.0.lock().unwrap_or_else(|p| p.into_inner()).stdout.clone()
    }

    /// Everything the program wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.seen.0.lock().unwrap_or_else(|p| p.into_inner()).stderr.join("\n")
    }

    /// The panic the program reported, if any.
    pub fn panic(&self) -> Option<Panic> {
        self.seen.0.lock().unwrap_or_else(|p| p.into_inner()).panic.clone()
    }

    /// Kills the program and everything it started, and reaps it.
    pub fn kill(&mut self) {
        kill_tree(self.pid as i32);
        let _ = self.child.wait();
        self.wait_output_closed(Duration::from_millis(200));
        self.groups
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|&g| g != self.pid as i32);
    }

    fn wait_output_closed(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let (lock, cvar) = &*self.seen;
        let mut seen = lock.lock().unwrap_or_else(|p| p.into_inner());
        while seen.closed < 2 && Instant::now() < deadline {
            seen = cvar
                .wait_timeout(seen, Duration::from_millis(10))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Describes an exit status in words ("exit status 1", "killed by signal 9").
pub fn describe_status(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            let name = match signal {
                6 => " (SIGABRT)",
                9 => " (SIGKILL)",
                11 => " (SIGSEGV)",
                13 => " (SIGPIPE)",
                15 => " (SIGTERM)",
                _ => "",
            };
            return format!("killed by signal {signal}{name}");
        }
    }
    match status.code() {
        Some(101) => "exit status 101, which is what a Rust panic exits with".into(),
        Some(code) => format!("exit status {code}"),
        None => format!("{status}"),
    }
}

fn spawn_reader(
    mut pipe: impl Read + Send + 'static,
    stream: &'static str,
    who: String,
    seen: Arc<(Mutex<Seen>, Condvar)>,
    transcript: Transcript,
    panics: Panics,
) {
    std::thread::spawn(move || {
        // Read in chunks, never a whole line at once: a line is only as long
        // as the program makes it, and one of 512 MiB without a newline must
        // not become 512 MiB of the grader's memory. Each line keeps its
        // first MAX_LINE_BYTES; the rest is counted and said.
        let mut chunk = [0u8; 8192];
        let mut line: Vec<u8> = Vec::new();
        let mut cut = 0usize;
        let mut kept = 0usize;
        let mut deliver = |line: &mut Vec<u8>, cut: &mut usize| {
            let mut text = String::from_utf8_lossy(line).trim_end_matches(['\n', '\r']).to_string();
            if *cut > 0 {
                text.push_str(&format!(
                    " [... {} more bytes of this line not kept: lines are cut at {MAX_LINE_BYTES} bytes]",
                    *cut
                ));
            }
            line.clear();
            *cut = 0;
            if text.trim().is_empty() {
                return;
            }
            transcript.program_line(&who, stream, text.clone());
            let (lock, cvar) = &*seen;
            let mut s = lock.lock().unwrap_or_else(|p| p.into_inner());
            // Keep a bounded amount for the test: a flood must not exhaust memory.
            let keep = kept + text.len() <= MAX_KEPT_BYTES;
            if stream == "stderr" {
                let had_panic = s.panic.is_some();
                note_panic(&mut s, &text);
                if let (false, Some(panic)) = (had_panic, &s.panic) {
                    panics.lock().unwrap_or_else(|p| p.into_inner()).push(panic.clone());
                }
                if keep && s.stderr.len() < 10_000 {
                    kept += text.len();
                    s.stderr.push(text);
                }
            } else if keep && s.stdout.len() < 10_000 {
                kept += text.len();
                s.stdout.push(text);
            }
            cvar.notify_all();
        };
        loop {
            let n = match pipe.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            for piece in chunk[..n].split_inclusive(|&b| b == b'\n') {
                let ends = piece.last() == Some(&b'\n');
                let body = if ends { &piece[..piece.len() - 1] } else { piece };
                let take = body.len().min(MAX_LINE_BYTES.saturating_sub(line.len()));
                line.extend_from_slice(&body[..take]);
                cut += body.len() - take;
                if ends {
                    deliver(&mut line, &mut cut);
                }
            }
        }
        if !line.is_empty() || cut > 0 {
            deliver(&mut line, &mut cut);
        }
        let (lock, cvar) = &*seen;
        lock.lock().unwrap_or_else(|p| p.into_inner()).closed += 1;
        cvar.notify_all();
    });
}

/// The longest line of a program's output that is kept, in bytes.
pub const MAX_LINE_BYTES: usize = 4096;

/// The most bytes of one program's stream kept for the test to read.
const MAX_KEPT_BYTES: usize = 1 << 20;

/// Recognises Rust's panic report: `thread 'main' panicked at src/main.rs:4:5:`
/// followed by the message on the next line.
fn note_panic(seen: &mut Seen, line: &str) {
    if let Some(location) = seen.awaiting_panic_message.take() {
        if seen.panic.is_none() {
            seen.panic = Some(Panic {
                location,
                message: line.to_string(),
            });
        }
        return;
    }
    if let Some((_, rest)) = line.split_once(" panicked at ") {
        // Older formats put the message on the same line: `panicked at 'msg', src/x.rs:1:2`.
        let rest = rest.trim_end_matches(':');
        if let Some(stripped) = rest.strip_prefix('\'')
            && let Some((message, location)) = stripped.rsplit_once("', ")
        {
            seen.panic = Some(Panic {
                location: location.into(),
                message: message.into(),
            });
            return;
        }
        seen.awaiting_panic_message = Some(rest.to_string());
    }
}

/// Starts the program at `path` with `args`, as a `Command` the caller may add to.
pub fn command(path: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(path);
    c.args(args);
    c
}

/// The environment variable that marks every process started for a test.
pub const TAG_VAR: &str = "SOCKLINGS_TEST";

/// The mark of one test's processes: this grader's pid and the address of
/// the test's group list, unique while the test runs.
fn tag(groups: &Groups) -> String {
    format!("{}-{:x}", std::process::id(), Arc::as_ptr(groups) as *const () as usize)
}

/// Kills everything a test started: each process group it registered (with
/// their descendants), then, on Linux, any process still carrying the test's
/// mark, such as a double-forked daemon that left both group and family.
pub fn kill_test(groups: &Groups) {
    let pgids: Vec<i32> = groups.lock().unwrap_or_else(|p| p.into_inner()).drain(..).collect();
    for pgid in pgids {
        kill_tree(pgid);
    }
    kill_tagged(&tag(groups));
}

/// Kills, until none is left, the processes whose environment holds
/// `SOCKLINGS_TEST=<tag>` (Linux, from `/proc/PID/environ`; elsewhere nothing).
fn kill_tagged(tag: &str) {
    #[cfg(unix)]
    {
        let needle = format!("{TAG_VAR}={tag}");
        for _ in 0..50 {
            let mut found = false;
            for pid in tagged(&needle) {
                found = true;
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            }
            if !found {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    #[cfg(not(unix))]
    let _ = tag;
}

/// Live processes whose environment contains the entry `needle`.
fn tagged(needle: &str) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut found = Vec::new();
    for entry in dir.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        // Other users' processes cannot be read, and cannot be ours.
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        if environ.split(|&b| b == 0).any(|entry| entry == needle.as_bytes()) {
            found.push(pid);
        }
    }
    found
}

/// Kills the process group `pgid` and, on Linux, every descendant of its
/// leader, repeating until none is left (a fork bomb may race with us).
pub fn kill_tree(pgid: i32) {
    #[cfg(unix)]
    {
        use nix::sys::signal::{Signal, killpg};
        use nix::unistd::Pid;
        for _ in 0..50 {
            let descendants = descendants_of(pgid);
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
            for pid in &descendants {
                let _ = nix::sys::signal::kill(Pid::from_raw(*pid), Signal::SIGKILL);
            }
            if descendants.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    #[cfg(not(unix))]
    let _ = pgid;
}

/// Live descendants of `root` (Linux, from `/proc/*/stat`; elsewhere empty).
/// Zombies are left out: they are already dead and only wait to be reaped.
pub fn descendants_of(root: i32) -> Vec<i32> {
    let mut parents: Vec<(i32, i32)> = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    for entry in dir.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The command name is in parentheses and may contain spaces: split after it.
        let Some((_, after)) = stat.rsplit_once(')') else { continue };
        let mut fields = after.split_whitespace();
        let state = fields.next().unwrap_or("");
        let ppid = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if state != "Z" && state != "X" {
            parents.push((pid, ppid));
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(parents.iter().filter(|(_, pp)| *pp == parent).map(|(p, _)| *p));
        i += 1;
    }
    found.remove(0);
    found
}

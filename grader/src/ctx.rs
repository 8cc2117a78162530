//! What a hidden test works with: the program under test, loopback clients
//! that log every byte, and the `Failure` a test returns when an expectation
//! is not met.
//!
//! Every wait here has a deadline. Nothing sleeps and hopes: a test waits for
//! a condition (a line printed, bytes received, a file-descriptor count) and
//! fails with a message when the deadline passes first.

use crate::Target;
use crate::oserror;
use crate::process::{self, Groups, Panic, Panics, Program};
use crate::transcript::{self, Transcript};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a single grader-side read or write may block.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a test did not pass.
#[derive(Debug, Clone, Default)]
pub struct Failure {
    /// The expectation that failed, in one or two sentences.
    pub summary: String,
    /// A hint more specific than the test's own.
    pub hint: Option<String>,
    /// The program panicked; shown after the transcript.
    pub panic: Option<Panic>,
    /// Set when the test could not run here (see `platform::Need`).
    pub skipped: bool,
}

impl Failure {
    pub fn new(summary: impl Into<String>) -> Failure {
        Failure {
            summary: summary.into(),
            ..Failure::default()
        }
    }

    /// The test cannot run on this machine; `reason` says why.
    pub fn skip(reason: impl Into<String>) -> Failure {
        Failure {
            summary: reason.into(),
            skipped: true,
            ..Failure::default()
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Failure {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_panic(mut self, panic: Option<Panic>) -> Failure {
        if self.panic.is_none() {
            self.panic = panic;
        }
        self
    }

    /// A failed system call, explained as a socket concept.
    pub fn io(action: &str, err: &io::Error) -> Failure {
        Failure::new(oserror::explain(action, err))
    }
}

/// The result type of a hidden test.
pub type Outcome = Result<(), Failure>;

/// The context handed to each hidden test.
pub struct Ctx {
    pub transcript: Transcript,
    pub(crate) target: Target,
    pub(crate) groups: Groups,
    pub(crate) panics: Panics,
    /// The test's sandbox: scratch folder, cgroup, PID namespaces.
    pub(crate) cell: Arc<crate::sandbox::Cell>,
    /// The seed for anything random in this test, printed in the transcript
    /// so that a failure can be replayed exactly.
    pub seed: u64,
    started: Instant,
    limit: Duration,
    clients: usize,
}

impl Ctx {
    pub(crate) fn new(target: Target, seed: u64, limit: Duration) -> Ctx {
        Ctx {
            transcript: Transcript::default(),
            target,
            groups: Arc::default(),
            panics: Arc::default(),
            cell: Arc::default(),
            seed,
            started: Instant::now(),
            limit,
            clients: 0,
        }
    }

    /// Records a numbered step in the transcript.
    pub fn step(&self, text: impl Into<String>) {
        self.transcript.step(text);
    }

    /// Time left before the test's limit.
    pub fn remaining(&self) -> Duration {
        self.limit.saturating_sub(self.started.elapsed())
    }

    /// The folder every program of this test runs in (its scratch folder),
    /// created now if none has started yet: the place for files a program
    /// must read, since the sandbox hides the workspace. The programs can
    /// write there too, so read nothing back from it.
    pub fn scratch(&self) -> Result<std::path::PathBuf, Failure> {
        self.cell
            .scratch_dir()
            .map_err(|e| Failure::io("creating the test's scratch folder", &e))
    }

    /// Starts the exercise's main program with `args`.
    pub fn spawn(&self, args: &[&str]) -> Result<Program, Failure> {
        self.spawn_with(args, &[])
    }

    /// Starts the exercise's main program with `args` and extra environment variables.
    pub fn spawn_with(&self, args: &[&str], env: &[(&str, &str)]) -> Result<Program, Failure> {
        self.start(self.target.program(), self.target.package.clone(), "your program", args, env)
    }

    /// Starts another copy of the exercise's main program with `args`, named
    /// `name` in the transcript (`your second copy`), so that its output is
    /// not mistaken for the first copy's.
    pub fn spawn_copy(&self, name: &str, args: &[&str]) -> Result<Program, Failure> {
        self.start(self.target.program(), self.target.package.clone(), name, args, &[])
    }

    /// Starts another program of the exercise crate by role (see `Target::bin`).
    pub fn spawn_bin(&self, role: &str, args: &[&str], env: &[(&str, &str)]) -> Result<Program, Failure> {
        let name = format!("your {role}");
        self.start(self.target.bin(role), format!("{}-{role}", self.target.package), &name, args, env)
    }

    fn start(&self, path: std::path::PathBuf, shown: String, name: &str, args: &[&str], env: &[(&str, &str)]) -> Result<Program, Failure> {
        let mut command = process::command(&path, args);
        for (k, v) in env {
            command.env(k, v);
        }
        self.step(format!("started {name}: {shown} {}", args.join(" ")));
        Program::start(command, name.to_string(), self, process::Joins::Nothing)
            .map_err(|e| Failure::io(&format!("starting {}", path.display()), &e))
    }

    /// The environment that loads the short-writes library (see
    /// `grader/short-writes`) into a program, so that each send() on its
    /// stream sockets accepts 1 to `max` bytes, sizes drawn from this test's
    /// seed. Records the step; skips the test where the library is missing.
    pub fn short_writes_env(&self, max: usize) -> Result<ShortWrites, Failure> {
        let Some(library) = self.target.short_writes.as_deref() else {
            return Err(Failure::skip(
                "the short-writes library (grader/short-writes) was not built on this machine",
            ));
        };
        let library = library.display().to_string();
        self.step(format!(
            "the grader loads {library} into your program (LD_PRELOAD): each send() on a socket accepts 1 to {max} bytes, sizes from seed {}",
            self.seed
        ));
        Ok(ShortWrites {
            vars: vec![
                ("LD_PRELOAD", library),
                ("SOCKLINGS_SHORT_WRITES", max.to_string()),
                ("SOCKLINGS_SHORT_WRITES_SEED", self.seed.to_string()),
            ],
        })
    }

    /// The environment that loads the short-writes library (see
    /// `grader/short-writes`) with `SOCKLINGS_WRITE_EINTR`: every other send
    /// that could block (on a blocking socket) fails with EINTR before
    /// sending anything, as when a signal arrives; sends are not shortened.
    /// Records the step; skips the test where the library is missing.
    pub fn interrupted_writes_env(&self) -> Result<ShortWrites, Failure> {
        let Some(library) = self.target.short_writes.as_deref() else {
            return Err(Failure::skip(
                "the short-writes library (grader/short-writes) was not built on this machine",
            ));
        };
        let library = library.display().to_string();
        self.step(format!(
            "the grader loads {library} into your program (LD_PRELOAD) with SOCKLINGS_WRITE_EINTR=1: every other send() on a blocking socket (the 1st, 3rd, 5th, ...) fails with EINTR (ErrorKind::Interrupted) and sends nothing, as when a signal interrupts it"
        ));
        Ok(ShortWrites {
            vars: vec![("LD_PRELOAD", library), ("SOCKLINGS_WRITE_EINTR", "1".to_string())],
        })
    }

    /// The environment that loads the short-writes library (see
    /// `grader/short-writes`) with `SOCKLINGS_READ_EINTR`: every other read
    /// (`recv`, `read`, ...) on a blocking stream socket fails with EINTR
    /// before reading anything, as when a signal arrives while it waits;
    /// sends are left alone. Records the step; skips the test where the
    /// library is missing.
    pub fn interrupted_reads_env(&self) -> Result<ShortWrites, Failure> {
        let Some(library) = self.target.short_writes.as_deref() else {
            return Err(Failure::skip(
                "the short-writes library (grader/short-writes) was not built on this machine",
            ));
        };
        let library = library.display().to_string();
        self.step(format!(
            "the grader loads {library} into your program (LD_PRELOAD) with SOCKLINGS_READ_EINTR=1: every other read (recv, read) on a blocking socket (the 1st, 3rd, 5th, ...) fails with EINTR (ErrorKind::Interrupted) and reads nothing, as when a signal interrupts it"
        ));
        Ok(ShortWrites {
            vars: vec![("LD_PRELOAD", library), ("SOCKLINGS_READ_EINTR", "1".to_string())],
        })
    }

    /// Waits for the documented `listening on ADDR` line and returns ADDR.
    pub fn wait_listening(&self, program: &mut Program) -> Result<SocketAddr, Failure> {
        let timeout = Duration::from_secs(5).min(self.remaining());
        let addr = program
            .wait_for_stdout("a line `listening on ADDR`", timeout, |line| {
                line.trim()
                    .strip_prefix("listening on ")
                    .and_then(|a| a.trim().parse::<SocketAddr>().ok())
            })
            .map_err(|f| self.with_program_panic(f, program))?;
        self.step(format!("{} said it is listening on {addr}", program.name()));
        Ok(addr)
    }

    /// Connects a new logged client to `addr`.
    pub fn connect(&mut self, addr: SocketAddr) -> Result<Client, Failure> {
        self.clients += 1;
        let name = format!("client {}", self.clients);
        let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).map_err(|e| Failure::io(&format!("{name} connecting to {addr}"), &e))?;
        stream.set_read_timeout(Some(IO_TIMEOUT)).ok();
        stream.set_write_timeout(Some(IO_TIMEOUT)).ok();
        let local = stream.local_addr().map_err(|e| Failure::io("reading the client's address", &e))?;
        self.step(format!("{name} connected to {addr} from {local}"));
        Ok(Client {
            stream,
            name,
            transcript: self.transcript.clone(),
            local,
            pending: Vec::new(),
        })
    }

    /// Wraps a stream the test connected some other way (accepted by a
    /// grader-side server, or connected from inside a network namespace, see
    /// `fixtures::vanish`) as a logged `Client`. `name` says who it is in the
    /// transcript; `None` numbers it like `connect` does ("client 2").
    pub fn adopt(&mut self, stream: TcpStream, name: Option<&str>) -> Result<Client, Failure> {
        let name = match name {
            Some(name) => name.to_string(),
            None => {
                self.clients += 1;
                format!("client {}", self.clients)
            }
        };
        stream.set_read_timeout(Some(IO_TIMEOUT)).ok();
        stream.set_write_timeout(Some(IO_TIMEOUT)).ok();
        let local = stream.local_addr().map_err(|e| Failure::io("reading the socket's address", &e))?;
        let peer = stream
            .peer_addr()
            .map_err(|e| Failure::io("reading the socket's peer address", &e))?;
        self.step(format!("{name} is connected: {local} (grader) to {peer}"));
        Ok(Client {
            stream,
            name,
            transcript: self.transcript.clone(),
            local,
            pending: Vec::new(),
        })
    }

    /// Adds the program's panic, if it had one, to a failure.
    pub fn with_program_panic(&self, failure: Failure, program: &Program) -> Failure {
        failure.with_panic(program.panic())
    }

    /// Called by the runner when the test ends: kills every process the test
    /// started (see `process::kill_test`), then proves that none is left
    /// (see `sandbox::Cell::finish`); `Err` names the survivors.
    pub(crate) fn finish(&self) -> Result<(), String> {
        process::kill_test(&self.groups);
        self.cell.finish()
    }
}

/// Deterministic bytes from a seed (xorshift), so payloads follow the test's
/// seed and a failure replays with the same bytes.
pub fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Environment variables for [`Ctx::spawn_with`] that make writes short.
pub struct ShortWrites {
    vars: Vec<(&'static str, String)>,
}

impl ShortWrites {
    pub fn env(&self) -> Vec<(&str, &str)> {
        self.vars.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }
}

/// A loopback TCP client whose every byte goes into the transcript.
pub struct Client {
    pub stream: TcpStream,
    pub name: String,
    pub local: SocketAddr,
    transcript: Transcript,
    /// Bytes read past the end of a line, handed to the next read.
    pending: Vec<u8>,
}

impl Client {
    /// Sends all of `bytes`.
    pub fn send(&mut self, bytes: &[u8]) -> Outcome {
        self.stream
            .write_all(bytes)
            .map_err(|e| Failure::io(&format!("{} sending {} bytes", self.name, bytes.len()), &e))?;
        self.transcript
            .step(format!("{} sent {} bytes: {}", self.name, bytes.len(), transcript::escape(bytes)));
        Ok(())
    }

    /// Reads exactly `n` bytes, failing with what did arrive if the
    /// connection closes or `timeout` passes first.
    pub fn recv_exact(&mut self, n: usize, timeout: Duration, what: &str) -> Result<Vec<u8>, Failure> {
        let deadline = Instant::now() + timeout;
        let mut got = std::mem::take(&mut self.pending);
        let mut buf = vec![0u8; 64 * 1024];
        while got.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.short(what, n, &got, "nothing more arrived before the deadline"));
            }
            self.stream.set_read_timeout(Some(left.min(IO_TIMEOUT))).ok();
            let want = (n - got.len()).min(buf.len());
            match self.stream.read(&mut buf[..want]) {
                Ok(0) => return Err(self.short(what, n, &got, "the connection was closed (a read returned 0 bytes)")),
                Ok(k) => got.extend_from_slice(&buf[..k]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
                Err(e) => return Err(self.short(what, n, &got, &oserror::explain("reading", &e))),
            }
        }
        self.pending = got.split_off(n);
        self.transcript
            .step(format!("{} received {} bytes: {}", self.name, got.len(), transcript::escape(&got)));
        Ok(got)
    }

    /// Reads one line, up to and including `\n` (at most `max` bytes).
    pub fn recv_line(&mut self, max: usize, timeout: Duration, what: &str) -> Result<Vec<u8>, Failure> {
        let deadline = Instant::now() + timeout;
        let mut got = std::mem::take(&mut self.pending);
        let mut buf = [0u8; 4096];
        loop {
            if let Some(end) = got.iter().position(|&b| b == b'\n') {
                self.pending = got.split_off(end + 1);
                self.transcript
                    .step(format!("{} received {} bytes: {}", self.name, got.len(), transcript::escape(&got)));
                return Ok(got);
            }
            if got.len() > max {
                self.log_received(&got);
                return Err(Failure::new(format!(
                    "expected {what}, a line of at most {max} bytes, but {} bytes came without a \\n",
                    got.len()
                )));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                self.log_received(&got);
                let why = if got.is_empty() {
                    "nothing arrived".to_string()
                } else {
                    "no \\n arrived".to_string()
                };
                return Err(Failure::new(format!(
                    "expected {what} within {:.1} s, but {why}",
                    timeout.as_secs_f64()
                )));
            }
            self.stream.set_read_timeout(Some(left.min(IO_TIMEOUT))).ok();
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    self.log_received(&got);
                    return Err(Failure::new(format!(
                        "expected {what}, but the connection was closed (a read returned 0 bytes) after {} bytes",
                        got.len()
                    )));
                }
                Ok(k) => got.extend_from_slice(&buf[..k]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => {
                    self.log_received(&got);
                    return Err(Failure::io(&format!("{} reading {what}", self.name), &e));
                }
            }
        }
    }

    /// Reads until the other side closes; fails if it does not within `timeout`.
    pub fn recv_to_end(&mut self, timeout: Duration, what: &str) -> Result<Vec<u8>, Failure> {
        let deadline = Instant::now() + timeout;
        let mut got = std::mem::take(&mut self.pending);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                self.log_received(&got);
                return Err(Failure::new(format!(
                    "expected {what} and then the end of the connection (a read returning 0 bytes), but after {:.1} s the connection was still open",
                    timeout.as_secs_f64()
                )));
            }
            self.stream.set_read_timeout(Some(left.min(IO_TIMEOUT))).ok();
            match self.stream.read(&mut buf) {
                Ok(0) => break,
                Ok(k) => got.extend_from_slice(&buf[..k]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => {
                    self.log_received(&got);
                    return Err(Failure::io(&format!("{} reading {what}", self.name), &e));
                }
            }
        }
        self.log_received(&got);
        self.transcript
            .step(format!("{} saw the connection close (a read returned 0 bytes)", self.name));
        Ok(got)
    }

    /// Closes the sending direction (`shutdown(SHUT_WR)`): the server's next
    /// read returns 0, while this client can still read the reply.
    pub fn shutdown_write(&mut self) -> Outcome {
        self.stream
            .shutdown(Shutdown::Write)
            .map_err(|e| Failure::io("shutting down the write side", &e))?;
        self.transcript.step(format!(
            "{} closed its sending side (shutdown(SHUT_WR): the server's next read returns 0)",
            self.name
        ));
        Ok(())
    }

    fn log_received(&self, got: &[u8]) {
        if !got.is_empty() {
            self.transcript
                .step(format!("{} received {} bytes: {}", self.name, got.len(), transcript::escape(got)));
        }
    }

    fn short(&self, what: &str, n: usize, got: &[u8], why: &str) -> Failure {
        self.log_received(got);
        Failure::new(format!("expected {what} ({n} bytes), but {why} after {} bytes", got.len()))
    }
}

/// Accepts one connection on the grader's `listener` within `timeout` and
/// adopts it as the logged client `name`; fails at once if `program` exits
/// instead of connecting. (Exercises 04 and 05, where the program connects to
/// the grader.)
pub fn accept_within(
    ctx: &mut Ctx,
    listener: &std::net::TcpListener,
    program: &mut Program,
    timeout: Duration,
    name: &str,
) -> Result<Client, Failure> {
    listener
        .set_nonblocking(true)
        .map_err(|e| Failure::io("making the grader's listener non-blocking", &e))?;
    let deadline = Instant::now() + timeout;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).ok();
                return ctx.adopt(stream, Some(name));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(Failure::io(&format!("the grader accepting a connection ({name})"), &e)),
        }
        if program.poll_exit().is_some() {
            return Err(
                Failure::new(format!("expected {} to connect ({name}), but it exited first", program.name())).with_panic(program.panic()),
            );
        }
        if Instant::now() >= deadline {
            return Err(Failure::new(format!(
                "expected {} to connect ({name}) within {:.1} s, but no connection came",
                program.name(),
                timeout.as_secs_f64()
            )));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

//! Hidden tests for exercise 07: timeouts and retries.
//!
//! The program is a client: `timeouts-and-retries ADDRESS KEY
//! --connect-timeout MS --read-timeout MS --attempts N --base MS --cap MS
//! --deadline MS`. Each attempt opens a connection, sends `GET KEY\n` and
//! reads one answer line (`VALUE text`, `BUSY` or `ERR text`); between
//! attempts it waits a random delay in [d/2, d], d = min(cap, base ×
//! 2^(K−1)). Its contract is the numbered list under "The task" in
//! docs/src/07-timeouts-and-retries.md; each test names the clauses it checks.
//!
//! The grader is the service, and it misbehaves for real: a listener with a
//! drop-all socket filter (`fixtures::vanish`) never completes a handshake,
//! so `connect` hangs as towards a machine that is gone; a port that is bound
//! but not listening refuses (`ECONNREFUSED`); a connection is accepted and
//! never answered, answered slowly, answered one byte at a time, closed,
//! reset, or answered `BUSY` or `ERR`.
//!
//! Times are measured where they can be trusted. A backoff delay is measured
//! by the service, from the moment its failure left (before the program can
//! know it) to the moment the next connection is accepted (after the program
//! connected): the program's delay can only be shorter than that, so the
//! lower end of each window (d/2) is exact, and only the upper end needs a
//! margin for a loaded machine (`LATE`). Every other check is one-sided
//! the same way, or has a margin (`SLACK`) far larger than any loaded
//! machine's lateness and far smaller than the error it catches: a test must
//! never fail a correct program because the machine is busy (a load average
//! of 17 on 2 cores, as when several crates build at once, delays a process
//! by a few hundred milliseconds). A connect that hangs is also watched in
//! `/proc/net/tcp` (state SYN-SENT), which can only undercount it.

use crate::ctx::{Ctx, Failure, Outcome};
use crate::fixtures::vanish::vanish;
use crate::platform::Need;
use crate::process::Program;
use crate::registry::{Sharing, TestCase};
use crate::transcript::{self, Transcript};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitStatus;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const MS: Duration = Duration::from_millis(1);
/// How much longer than the end of its window a backoff delay may look,
/// measured by the service, on a loaded machine. Every wrong delay the tests
/// must catch is longer by more than this (see each test).
const LATE: Duration = Duration::from_millis(250);
/// How much later than its bound an event may come when the error it
/// catches is far larger: an attempt that never ends, a fetch that runs
/// seconds past its deadline. Includes the program's start-up (the sandbox
/// builds namespaces) and its exit on a loaded machine.
const SLACK: Duration = Duration::from_millis(1500);
/// How much later than the read timeout a program may give up on a trickled
/// answer (`trickled-answer`), which takes 1.7 s in all.
const TRICKLE_LATE: Duration = Duration::from_millis(600);
/// How long a program may take to exit after its final line (see `final_by`).
const EXIT_WAIT: Duration = Duration::from_secs(5);
/// How long the grader waits for a connection it expects.
const CONNECT_WAIT: Duration = Duration::from_secs(3);
/// How soon after its only attempt failed the program must exit, in
/// `gives-up-after-attempts` (clause 8): a wrong program waits a delay of at
/// least 1000 ms there.
const PROMPT: Duration = Duration::from_millis(800);
/// A jittered delay counts as "below the full backoff" under this fraction
/// of it: a delay without jitter never is (it lasts d, and the service
/// measures it a little longer still).
const BELOW_FULL: f64 = 0.97;

pub const TESTS: &[TestCase] = &[
    TestCase {
        id: "first-try-value",
        scenario: "The service answers the first attempt at once with `VALUE <text with spaces>`: the request must be `GET <key>\\n` byte for byte, the program must print `attempt 1: value` and `value: <text>`, exit with status 0 and open no second connection.",
        clauses: &[1, 2, 3],
        points: 5,
        limit: Duration::from_secs(10),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "One attempt is one connection, one request line, one answer line; an answer is final, so the client stops there.",
        hint: "Connect, write format!(\"GET {key}\\n\"), read up to the first \\n; print `attempt 1: value`, then let main print `value: TEXT`.",
        docs_anchor: "a-value-at-the-first-attempt",
        run: first_try_value,
    },
    TestCase {
        id: "connect-timeout",
        scenario: "The service's listener drops every SYN (a socket filter), so connect hangs; with --connect-timeout 150 --attempts 3 --base 50 --cap 50 the program must print `attempt K: connect timeout` three times and `gave up: no attempts left`, exit with status 1, and take at least 3 × 150 + 2 × 25 ms (at most that + 1.5 s); the grader also watches its connects in /proc/net/tcp (SYN-SENT): no more than 3.",
        clauses: &[3, 4, 6, 8],
        points: 10,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "Towards a machine that is gone, connect waits for a SYN-ACK that never comes; the kernel retries the SYN for about two minutes. Only a connect timeout ends it sooner.",
        hint: "Use TcpStream::connect_timeout(&addr, connect_timeout); ErrorKind::TimedOut means `connect timeout`, which is worth another attempt.",
        docs_anchor: "a-connect-that-hangs",
        run: connect_timeout,
    },
    TestCase {
        id: "read-timeout",
        scenario: "The service accepts attempt 1, reads the request and never answers; with --read-timeout 200 the program must close that connection no sooner than 200 ms after it started (and within 200 ms + 1.5 s of the request), print `attempt 1: read timeout`, and get the value at attempt 2.",
        clauses: &[3, 5, 6],
        points: 10,
        limit: Duration::from_secs(10),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "A server that accepted and stalls keeps the connection open and silent: without a read timeout the client waits for ever.",
        hint: "Before each read, set_read_timeout(Some(time left until sent + read_timeout)); WouldBlock or TimedOut from read means the time is up.",
        docs_anchor: "an-answer-that-never-comes",
        run: read_timeout,
    },
    TestCase {
        id: "slow-answer-kept",
        scenario: "With --read-timeout 600 (and --connect-timeout 100) the service answers 200 ms after reading the request: the program must wait for it and print `attempt 1: value` and the value, over one connection.",
        clauses: &[5],
        points: 10,
        limit: Duration::from_secs(10),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "A timeout is a limit, not an expectation: an answer that comes within it is a success, and abandoning it wastes the work the server did.",
        hint: "Count the read timeout from the moment the request was sent, with the value of --read-timeout (not the connect timeout, not a fraction of it).",
        docs_anchor: "a-slow-answer-within-the-timeout",
        run: slow_answer_kept,
    },
    TestCase {
        id: "trickled-answer",
        scenario: "With --read-timeout 300 the service sends its answer one byte every 50 ms (1.7 s in all): the program must give up on it no sooner than 300 ms after it started and within 300 + 600 ms of the request, print `attempt 1: read timeout`, and get the value at attempt 2.",
        clauses: &[5],
        points: 5,
        limit: Duration::from_secs(10),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "set_read_timeout limits each read; a server that sends a byte before each read times out never trips it (slowloris). A read timeout for the answer is a deadline for the whole line.",
        hint: "Compute the answer's deadline once (sent + read_timeout) and give each read only the time left until it.",
        docs_anchor: "an-answer-one-byte-at-a-time",
        run: trickled_answer,
    },
    TestCase {
        id: "refused",
        scenario: "Nothing listens on the service's port (it is bound, not listening), so every connect fails with ECONNREFUSED; with --attempts 4 --base 40 --cap 1000 the program must print `attempt K: refused` four times and `gave up: no attempts left`, exit with status 1, after waiting its three delays (at least 140 ms in all).",
        clauses: &[3, 6, 7, 8],
        points: 5,
        limit: Duration::from_secs(10),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "ECONNREFUSED means nobody listens on that port right now; a server that restarts listens again soon, so a refusal is worth another attempt, after a delay.",
        hint: "ErrorKind::ConnectionRefused is `refused`, a failure that can pass: retry it like a timeout.",
        docs_anchor: "a-port-that-refuses",
        run: refused,
    },
    TestCase {
        id: "retries-then-value",
        scenario: "The service closes attempt 1 without answering (FIN), resets attempt 2 (RST), answers attempt 3 `BUSY` and attempt 4 `VALUE ...`; with --attempts 4 --base 100 the delays it measures must lie in [50, 100], [100, 200] and [200, 400] ms (+250 ms for a loaded machine), and the program must print the four attempt lines and the value.",
        clauses: &[2, 3, 6, 7, 8],
        points: 15,
        limit: Duration::from_secs(10),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "A closed or reset connection and a busy server are failures that pass; exponential backoff waits twice as long after each one, so a struggling server gets room to recover.",
        hint: "The delay before attempt K+1 is random in [d/2, d] with d = min(cap, base × 2^(K−1)); a FIN, an RST and BUSY are all retried, and attempt N (here 4) is still made.",
        docs_anchor: "failures-that-pass-then-a-value",
        run: retries_then_value,
    },
    TestCase {
        id: "gives-up-after-attempts",
        scenario: "The service answers `BUSY`; with --attempts 1 --base 2000 --cap 2000 the program must make exactly 1 attempt, then print `gave up: no attempts left` and exit with status 1 within 800 ms, with no delay (which would last 1000 to 2000 ms) and no second connection.",
        clauses: &[8],
        points: 5,
        limit: Duration::from_secs(10),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "Retries must end: N attempts means N connections, and after the last one there is nothing to wait for.",
        hint: "Loop for K in 1..=attempts; wait only between two attempts, never after the last one (with --attempts 1 there is no delay at all).",
        docs_anchor: "at-most-n-attempts",
        run: gives_up_after_attempts,
    },
    TestCase {
        id: "permanent-error",
        scenario: "The service answers the first attempt `ERR <reason>`: the program must print `attempt 1: error` and `gave up: ERR <reason>`, exit with status 1, and never connect again.",
        clauses: &[6],
        points: 10,
        limit: Duration::from_secs(10),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "An answer is final, even a negative one: asking again gets the same `ERR` and only adds load. Retry only failures that can pass.",
        hint: "Make the ERR outcome not retryable, and give up with the server's whole line as the reason.",
        docs_anchor: "a-definite-no-is-not-retried",
        run: permanent_error,
    },
    TestCase {
        id: "backoff-capped",
        scenario: "The service answers `BUSY` to every attempt; with --attempts 6 --base 50 --cap 100 the five delays it measures must lie in [25, 50], then [50, 100] four times (+250 ms for a loaded machine): the doubling stops at the cap.",
        clauses: &[7],
        points: 5,
        limit: Duration::from_secs(10),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "Without a cap, exponential backoff soon waits minutes, then hours; the cap keeps the wait useful.",
        hint: "d = min(cap, base × 2^(K−1)): apply the cap to d before drawing the random delay.",
        docs_anchor: "the-cap",
        run: backoff_capped,
    },
    TestCase {
        id: "jitter",
        scenario: "Three copies of the program run at once against services that answer `BUSY` to everything, with --attempts 7 --base 200 --cap 200: each of the 18 delays must lie in [100, 200] ms (+250 ms), and they must be random: at least one must be shorter than 97 % of 200 ms.",
        clauses: &[7],
        points: 10,
        limit: Duration::from_secs(10),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "Clients that fail together and back off by the same delays come back together (a thundering herd); a random part in each delay spreads them out.",
        hint: "Draw each delay with backoff::random_between(d / 2, d), a new draw for every delay.",
        docs_anchor: "jitter",
        run: jitter,
    },
    TestCase {
        id: "deadline",
        scenario: "Three copies run with --deadline 300: one against a listener that drops SYNs (--connect-timeout 5000), one against a listener that never answers (--read-timeout 5000), one against a service that answers `BUSY` (--base 5000 --cap 5000); each must print `gave up: deadline` and exit with status 1 no sooner than 300 ms after it was started, and within 300 ms + 1.5 s.",
        clauses: &[9],
        points: 10,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "A deadline bounds the whole task: a connect, a read or a backoff delay under way when it passes is cut short, so the caller waits no longer than it asked for.",
        hint: "Keep one Instant for the deadline; give every connect, read and sleep at most the time left until it, and check it after each.",
        docs_anchor: "the-deadline-bounds-everything",
        run: deadline,
    },
];

/// The options a test passes, in milliseconds.
#[derive(Clone, Copy)]
struct Params {
    connect_timeout: u64,
    read_timeout: u64,
    attempts: u32,
    base: u64,
    cap: u64,
    deadline: u64,
}

impl Params {
    fn args(self, addr: SocketAddr, key: &str) -> Vec<String> {
        vec![
            addr.to_string(),
            key.to_string(),
            "--connect-timeout".into(),
            self.connect_timeout.to_string(),
            "--read-timeout".into(),
            self.read_timeout.to_string(),
            "--attempts".into(),
            self.attempts.to_string(),
            "--base".into(),
            self.base.to_string(),
            "--cap".into(),
            self.cap.to_string(),
            "--deadline".into(),
            self.deadline.to_string(),
        ]
    }

    /// The backoff before retry `k` (1 before attempt 2), before jitter.
    fn backoff(self, k: u32) -> Duration {
        let doubled = self.base.saturating_mul(1u64 << (k - 1).min(40));
        Duration::from_millis(doubled.min(self.cap))
    }
}

/// Settings for tests that are not about the timeouts: long enough never to fire.
const CALM: Params = Params {
    connect_timeout: 2000,
    read_timeout: 2000,
    attempts: 3,
    base: 100,
    cap: 100,
    deadline: 8000,
};

fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// A key and a value drawn from the test's seed, so no answer can be hard-coded.
fn key_and_value(ctx: &Ctx, salt: u64) -> (String, String) {
    let b = crate::ctx::random_bytes(ctx.seed ^ salt, 6);
    (
        format!("key-{:02x}{:02x}", b[0], b[1]),
        format!("the value {:02x}{:02x} is \u{e9}t\u{e9} {:02x}", b[2], b[3], b[4]),
    )
}

/// Starts a copy of the program; returns it with the instant just before it
/// started, which is earlier than anything the program does.
fn start(ctx: &Ctx, name: &str, addr: SocketAddr, key: &str, params: Params) -> Result<(Program, Instant), Failure> {
    let args = params.args(addr, key);
    let t0 = Instant::now();
    let program = ctx.spawn_copy(name, &strs(&args))?;
    Ok((program, t0))
}

fn listener() -> Result<(TcpListener, SocketAddr), Failure> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| Failure::io("the grader binding its service to 127.0.0.1:0", &e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::io("reading the service's address", &e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| Failure::io("making the service's listener non-blocking", &e))?;
    Ok((listener, addr))
}

/// What the service does with one attempt, after reading its request.
#[derive(Clone)]
enum Act {
    /// Answers `VALUE text` at once.
    Value(String),
    /// Answers `BUSY` and closes.
    Busy,
    /// Answers `ERR text` and closes.
    Err(String),
    /// Closes without answering (a FIN).
    Close,
    /// Resets the connection (SO_LINGER 0, then close: an RST).
    Reset,
    /// Never answers; waits at most this long for the program to close.
    Silent(Duration),
    /// Answers `VALUE text` this long after the request arrived.
    Slow(Duration, String),
    /// Sends `VALUE text\n` one byte at a time, this long apart.
    Trickle(Duration, String),
}

/// `BUSY` to `n` attempts.
fn busy(n: usize) -> Vec<Act> {
    (0..n).map(|_| Act::Busy).collect()
}

/// What the service saw of one attempt.
struct Seen {
    accepted: Instant,
    request: Instant,
    /// When the service's failure (a `BUSY`, a FIN, an RST) left: earlier
    /// than the program can know of it.
    failed: Option<Instant>,
    /// When the service saw the program close the connection (for `Silent`
    /// and `Trickle`), if it did.
    closed: Option<Instant>,
}

/// The grader's service for one program: logs into the transcript as `who`.
struct Service<'a> {
    log: Transcript,
    who: &'a str,
    listener: TcpListener,
    key: String,
}

impl<'a> Service<'a> {
    /// The service `who`, on `listener`, that knows `key`, writing to the test's transcript.
    fn new(ctx: &Ctx, who: &'a str, listener: TcpListener, key: String) -> Service<'a> {
        Service {
            log: ctx.transcript.clone(),
            who,
            listener,
            key,
        }
    }

    /// Accepts the program's attempt `n`, failing if the program exits first
    /// or no connection comes within `CONNECT_WAIT`.
    fn accept(&self, program: &mut Program, n: u32) -> Result<(TcpStream, Instant), Failure> {
        let deadline = Instant::now() + CONNECT_WAIT;
        loop {
            match self.listener.accept() {
                Ok((stream, peer)) => {
                    let at = Instant::now();
                    stream.set_nonblocking(false).ok();
                    stream.set_nodelay(true).ok();
                    self.log
                        .step(format!("{}: accepted attempt {n}, a connection from {peer}", self.who));
                    return Ok((stream, at));
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return Err(Failure::io(&format!("{} accepting a connection", self.who), &e)),
            }
            if let Some(status) = program.poll_exit() {
                return Err(Failure::new(format!(
                    "{}: expected attempt {n} to connect, but {} exited first ({})",
                    self.who,
                    program.name(),
                    crate::process::describe_status(status)
                ))
                .with_panic(program.panic()));
            }
            if Instant::now() >= deadline {
                return Err(Failure::new(format!(
                    "{}: expected attempt {n} to connect within {}, but no connection came",
                    self.who,
                    ms(CONNECT_WAIT)
                )));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Reads the request line of attempt `n` and checks it is `GET KEY\n`.
    fn request(&self, stream: &mut TcpStream, n: u32) -> Result<Instant, Failure> {
        let expected = format!("GET {}\n", self.key);
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        while !got.contains(&b'\n') && got.len() < 1024 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            stream.set_read_timeout(Some(left)).ok();
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(k) => got.extend_from_slice(&buf[..k]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {}
                Err(e) => {
                    return Err(Failure::io(&format!("{} reading the request of attempt {n}", self.who), &e));
                }
            }
        }
        let at = Instant::now();
        self.log.step(format!(
            "{}: received {} bytes on attempt {n}: {}",
            self.who,
            got.len(),
            transcript::escape(&got)
        ));
        match transcript::diff(expected.as_bytes(), &got) {
            None => Ok(at),
            Some(diff) => Err(Failure::new(format!(
                "{}: expected the request {} on attempt {n} (within 2 s of connecting); {diff}",
                self.who,
                transcript::escape(expected.as_bytes())
            ))),
        }
    }

    fn send(&self, stream: &mut TcpStream, bytes: &[u8], n: u32) -> Result<(), Failure> {
        stream
            .write_all(bytes)
            .map_err(|e| Failure::io(&format!("{} answering attempt {n}", self.who), &e))?;
        self.log
            .step(format!("{}: sent on attempt {n}: {}", self.who, transcript::escape(bytes)));
        Ok(())
    }

    /// Plays `acts`, one per attempt, and returns what it saw of each.
    fn serve(&self, program: &mut Program, acts: &[Act]) -> Result<Vec<Seen>, Failure> {
        let mut seen = Vec::new();
        for (i, act) in acts.iter().enumerate() {
            let n = i as u32 + 1;
            let (mut stream, accepted) = self.accept(program, n)?;
            let request = self.request(&mut stream, n)?;
            let mut this = Seen {
                accepted,
                request,
                failed: None,
                closed: None,
            };
            match act {
                Act::Value(text) => self.send(&mut stream, format!("VALUE {text}\n").as_bytes(), n)?,
                Act::Err(text) => self.send(&mut stream, format!("ERR {text}\n").as_bytes(), n)?,
                Act::Busy => {
                    this.failed = Some(Instant::now());
                    self.send(&mut stream, b"BUSY\n", n)?;
                }
                Act::Close => {
                    this.failed = Some(Instant::now());
                    let _ = stream.shutdown(Shutdown::Both);
                    self.log.step(format!("{}: closed attempt {n} without answering (a FIN)", self.who));
                }
                Act::Reset => {
                    socket2::SockRef::from(&stream)
                        .set_linger(Some(Duration::ZERO))
                        .map_err(|e| Failure::io("the grader setting SO_LINGER 0", &e))?;
                    this.failed = Some(Instant::now());
                    drop(stream);
                    self.log.step(format!(
                        "{}: reset attempt {n} without answering (SO_LINGER 0, then close: an RST)",
                        self.who
                    ));
                    seen.push(this);
                    continue;
                }
                Act::Silent(max) => {
                    self.log.step(format!("{}: says nothing on attempt {n}", self.who));
                    this.closed = closed_by(&mut stream, request + *max);
                    match this.closed {
                        Some(at) => self.log.step(format!(
                            "{}: your program closed attempt {n} {} after its request arrived",
                            self.who,
                            ms(at - request)
                        )),
                        None => {
                            return Err(Failure::new(format!(
                                "{}: the service never answered attempt {n}, and {} after the request your program was still waiting on that connection; the read timeout should have ended the attempt",
                                self.who,
                                ms(*max)
                            )));
                        }
                    }
                }
                Act::Slow(after, text) => {
                    self.log.step(format!(
                        "{}: takes {} to answer attempt {n} (slow, but within the read timeout)",
                        self.who,
                        ms(*after)
                    ));
                    if let Some(at) = closed_by(&mut stream, request + *after) {
                        return Err(Failure::new(format!(
                            "{}: your program closed attempt {n} {} after sending its request, before the slow answer came at {}; an answer within the read timeout must be waited for",
                            self.who,
                            ms(at - request),
                            ms(*after)
                        )));
                    }
                    self.send(&mut stream, format!("VALUE {text}\n").as_bytes(), n)?;
                }
                Act::Trickle(every, text) => {
                    let answer = format!("VALUE {text}\n");
                    self.log.step(format!(
                        "{}: sends the answer {} to attempt {n} one byte every {}",
                        self.who,
                        transcript::escape(answer.as_bytes()),
                        ms(*every)
                    ));
                    for (i, byte) in answer.bytes().enumerate() {
                        if stream.write_all(&[byte]).is_err() {
                            this.closed = Some(Instant::now());
                            break;
                        }
                        if i + 1 == answer.len() {
                            break;
                        }
                        if let Some(at) = closed_by(&mut stream, Instant::now() + *every) {
                            this.closed = Some(at);
                            break;
                        }
                    }
                    match this.closed {
                        Some(at) => self.log.step(format!(
                            "{}: your program closed attempt {n} {} after its request arrived",
                            self.who,
                            ms(at - request)
                        )),
                        None => self.log.step(format!(
                            "{}: sent the whole answer, {} after the request arrived",
                            self.who,
                            ms(request.elapsed())
                        )),
                    }
                }
            }
            seen.push(this);
        }
        Ok(seen)
    }

    /// Whether a connection comes within `wait`, before the program ends
    /// (prints its final line or exits); for "no more attempts".
    fn another_within(&self, program: &mut Program, wait: Duration) -> Option<Instant> {
        let deadline = Instant::now() + wait;
        loop {
            if self.listener.accept().is_ok() {
                return Some(Instant::now());
            }
            if program.poll_exit().is_some() || printed_final(program) || Instant::now() >= deadline {
                // One last look: a connection made just before the exit.
                return self.listener.accept().ok().map(|_| Instant::now());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Waits until `until` for the peer to close `stream` (a read of 0 bytes or
/// a reset); returns when the grader saw it, `None` if it did not close.
fn closed_by(stream: &mut TcpStream, until: Instant) -> Option<Instant> {
    let mut buf = [0u8; 256];
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        stream.set_read_timeout(Some(left)).ok();
        match stream.read(&mut buf) {
            Ok(0) => return Some(Instant::now()),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {}
            Err(_) => return Some(Instant::now()),
        }
    }
}

/// Whether the program printed its final line, `value: ...` or `gave up: ...`.
fn printed_final(program: &Program) -> bool {
    program
        .stdout_lines()
        .iter()
        .any(|l| l.starts_with("value: ") || l.starts_with("gave up: "))
}

/// Waits until `until` for the program to end: returns when the grader saw
/// its final line (or its exit, if it exited without one), and its exit
/// status. Times are taken from the final line, printed just before the
/// exit: on a loaded machine the end of a process (its namespaces torn down,
/// its parent told) can come more than a second after its last line, and
/// the grader must not count that against the program. `Ok(None)`: still
/// running at `until`, without a final line.
fn final_by(program: &mut Program, until: Instant) -> Result<Option<(ExitStatus, Instant)>, Failure> {
    loop {
        if printed_final(program) {
            let at = Instant::now();
            let status = program.wait_exit(EXIT_WAIT).ok_or_else(|| {
                Failure::new(format!(
                    "{} printed its final line but was still running {} later; it should exit",
                    program.name(),
                    ms(EXIT_WAIT)
                ))
            })?;
            return Ok(Some((status, at)));
        }
        if let Some(status) = program.poll_exit() {
            let at = Instant::now();
            // Let the output threads copy the last lines.
            program.wait_exit(Duration::ZERO);
            return Ok(Some((status, at)));
        }
        if Instant::now() >= until {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A line the contract fixes.
enum Line {
    /// `attempt K: WORD` (alone, or followed by `: ` and a detail).
    Attempt(u32, &'static str),
    /// `value: TEXT` or `gave up: WHY`, exactly.
    Exact(String),
}

impl Line {
    fn matches(&self, line: &str) -> bool {
        match self {
            Line::Attempt(k, word) => {
                let fixed = format!("attempt {k}: {word}");
                line == fixed || line.starts_with(&format!("{fixed}: "))
            }
            Line::Exact(text) => line == text,
        }
    }

    fn show(&self) -> String {
        match self {
            Line::Attempt(k, word) => format!("attempt {k}: {word}"),
            Line::Exact(text) => text.clone(),
        }
    }
}

fn value_line(text: &str) -> Line {
    Line::Exact(format!("value: {text}"))
}

fn gave_up(why: &str) -> Line {
    Line::Exact(format!("gave up: {why}"))
}

/// Checks that the program's stdout is exactly the `expected` lines.
fn expect_lines(program: &Program, expected: &[Line]) -> Outcome {
    let printed = program.stdout_lines();
    let printed: Vec<&str> = printed.iter().map(|l| l.trim_end_matches('\r')).collect();
    let wanted: Vec<String> = expected.iter().map(Line::show).collect();
    for (i, line) in expected.iter().enumerate() {
        match printed.get(i) {
            Some(got) if line.matches(got) => {}
            Some(got) => {
                return Err(Failure::new(format!(
                    "{} printed {got:?} as line {} of its stdout, where the contract's line is {:?}. Expected the lines {wanted:?}; attempt lines may end with `: ` and a detail, nothing else may be added (debug output goes to stderr)",
                    program.name(),
                    i + 1,
                    line.show()
                )));
            }
            None => {
                return Err(Failure::new(format!(
                    "{} printed {} lines on stdout ({printed:?}); expected {wanted:?}",
                    program.name(),
                    printed.len()
                )));
            }
        }
    }
    if printed.len() > expected.len() {
        return Err(Failure::new(format!(
            "{} printed {:?} on stdout after the expected lines {wanted:?}; nothing may follow the final line (debug output goes to stderr)",
            program.name(),
            &printed[expected.len()..]
        )));
    }
    Ok(())
}

/// Checks the exit status.
fn expect_status(program: &Program, status: ExitStatus, code: i32, why: &str) -> Outcome {
    if status.code() == Some(code) {
        return Ok(());
    }
    Err(Failure::new(format!(
        "{} exited with {}; expected status {code} ({why})",
        program.name(),
        crate::process::describe_status(status)
    ))
    .with_panic(program.panic()))
}

/// Waits for the program to end within `wait` (see `final_by`), failing if it does not.
fn must_exit(program: &mut Program, wait: Duration, after: &str) -> Result<(ExitStatus, Instant), Failure> {
    final_by(program, Instant::now() + wait)?.ok_or_else(|| {
        Failure::new(format!(
            "{} was still running {} after {after}, without its final line; it should have printed it and exited",
            program.name(),
            ms(wait)
        ))
    })
}

/// Checks each measured delay against its window [d/2, d + LATE]: `failed`
/// of attempt K to `accepted` of attempt K+1. Returns the delays.
fn check_windows(log: &Transcript, who: &str, seen: &[Seen], params: Params) -> Result<Vec<Duration>, Failure> {
    let mut gaps = Vec::new();
    for k in 1..seen.len() {
        let Some(failed) = seen[k - 1].failed else { continue };
        let gap = seen[k].accepted.saturating_duration_since(failed);
        let d = params.backoff(k as u32);
        log.step(format!(
            "{who}: delay before attempt {}: {} (window {} to {}, from d = min({}, {} × 2^{}) = {})",
            k + 1,
            ms(gap),
            ms(d / 2),
            ms(d),
            params.cap,
            params.base,
            k - 1,
            ms(d)
        ));
        if gap < d / 2 {
            return Err(Failure::new(format!(
                "{who}: attempt {} came {} after attempt {k} failed, less than d/2 = {}: the delay before it must be at least half of d = min(cap, base × 2^(K−1)) = {}",
                k + 1,
                ms(gap),
                ms(d / 2),
                ms(d)
            )));
        }
        if gap > d + LATE {
            return Err(Failure::new(format!(
                "{who}: attempt {} came {} after attempt {k} failed; the delay must be at most d = min(cap, base × 2^(K−1)) = {} (the grader allows {} more for a loaded machine)",
                k + 1,
                ms(gap),
                ms(d),
                ms(LATE)
            )));
        }
        gaps.push(gap);
    }
    Ok(gaps)
}

fn first_try_value(ctx: &mut Ctx) -> Outcome {
    let (listener, addr) = listener()?;
    let (key, value) = key_and_value(ctx, 1);
    let (mut program, _) = start(ctx, "your program", addr, &key, CALM)?;
    let service = Service::new(ctx, "the service", listener, key);
    service.serve(&mut program, &[Act::Value(value.clone())])?;
    let (status, _) = must_exit(&mut program, EXIT_WAIT, "it got the value")?;
    if service.another_within(&mut program, Duration::ZERO).is_some() {
        return Err(Failure::new(
            "your program connected again after it got the value; an answer is final, one attempt was enough",
        ));
    }
    expect_lines(&program, &[Line::Attempt(1, "value"), value_line(&value)])?;
    expect_status(&program, status, 0, "it got the value")
}

/// Connects that the kernel shows in state SYN-SENT towards one address,
/// watched from a thread: when each was first and last seen.
struct SynWatch {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<(Instant, Instant)>>,
}

impl SynWatch {
    fn start(addr: SocketAddr) -> SynWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut seen: Vec<(u64, Instant, Instant)> = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                let now = Instant::now();
                for inode in crate::sockdiag::syn_sent_to(addr) {
                    match seen.iter_mut().find(|(i, _, _)| *i == inode) {
                        Some(entry) => entry.2 = now,
                        None => seen.push((inode, now, now)),
                    }
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            let mut spans: Vec<(Instant, Instant)> = seen.into_iter().map(|(_, a, b)| (a, b)).collect();
            spans.sort();
            spans
        });
        SynWatch { stop, thread }
    }

    fn finish(self) -> Vec<(Instant, Instant)> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

/// A listener whose socket filter drops every SYN: connect to it hangs.
fn vanished_listener(ctx: &Ctx) -> Result<(TcpListener, SocketAddr), Failure> {
    let (listener, addr) = listener()?;
    vanish(&listener).map_err(|e| {
        Failure::new(format!(
            "the grader could not attach a socket filter to its listener (SO_ATTACH_FILTER: {e}); this is the grader's problem, not your program's"
        ))
    })?;
    ctx.step(format!(
        "the service at {addr} has vanished: a socket filter on its listener drops every SYN, so a connect gets no answer at all, as towards a machine that is gone"
    ));
    Ok((listener, addr))
}

fn connect_timeout(ctx: &mut Ctx) -> Outcome {
    let (_listener, addr) = vanished_listener(ctx)?;
    let params = Params {
        connect_timeout: 150,
        read_timeout: 5000,
        attempts: 3,
        base: 50,
        cap: 50,
        deadline: 8000,
    };
    let (key, _) = key_and_value(ctx, 2);
    let watch = SynWatch::start(addr);
    let (mut program, t0) = start(ctx, "your program", addr, &key, params)?;
    let ct = Duration::from_millis(params.connect_timeout);
    // Three connects and two delays of 25 to 50 ms.
    let earliest = 3 * ct + 2 * 25 * MS;
    // A program without a connect timeout waits about two minutes; one that
    // uses the read timeout waits 3 × 5 s.
    let latest = 3 * ct + 2 * 50 * MS + SLACK;
    let exited = final_by(&mut program, t0 + latest)?;
    let spans = watch.finish();
    for (i, (first, last)) in spans.iter().enumerate() {
        ctx.step(format!(
            "/proc/net/tcp: connect {} towards {addr} in SYN-SENT from {} to {} after the start",
            i + 1,
            ms(first.saturating_duration_since(t0)),
            ms(last.saturating_duration_since(t0))
        ));
    }
    let Some((status, at)) = exited else {
        let hung = spans
            .last()
            .map(|(first, _)| {
                format!(
                    " Its connect {} has been waiting since {} after the start.",
                    spans.len(),
                    ms(first.saturating_duration_since(t0))
                )
            })
            .unwrap_or_default();
        return Err(Failure::new(format!(
            "{} after it started, your program was still running; three connects of 150 ms (--connect-timeout) and two delays of at most 50 ms take about {}.{hung} Without a connect timeout, the kernel resends the SYN for about two minutes",
            ms(latest),
            ms(3 * ct + 100 * MS)
        )));
    };
    ctx.step(format!("your program ended (its final line) {} after it was started", ms(at - t0)));
    // The watch looks every few milliseconds, and a loaded machine may
    // delay a look: it can miss a connect, never invent one, and a connect's
    // span it sees is never longer than the real one.
    if spans.len() > 3 {
        return Err(Failure::new(format!(
            "the grader saw {} connects towards the vanished service in /proc/net/tcp; with --attempts 3 there may be 3 at most",
            spans.len()
        )));
    }
    for (i, (first, last)) in spans.iter().enumerate() {
        if *last - *first > ct + SLACK {
            return Err(Failure::new(format!(
                "connect {} towards the vanished service stayed in SYN-SENT for {}; with --connect-timeout 150 it must be abandoned after 150 ms",
                i + 1,
                ms(*last - *first)
            )));
        }
    }
    if at - t0 < earliest {
        return Err(Failure::new(format!(
            "your program exited {} after it started; three connects that each wait the full 150 ms and two delays of at least 25 ms take {} at least",
            ms(at - t0),
            ms(earliest)
        )));
    }
    expect_lines(
        &program,
        &[
            Line::Attempt(1, "connect timeout"),
            Line::Attempt(2, "connect timeout"),
            Line::Attempt(3, "connect timeout"),
            gave_up("no attempts left"),
        ],
    )?;
    expect_status(&program, status, 1, "it gave up")
}

fn read_timeout(ctx: &mut Ctx) -> Outcome {
    let (listener, addr) = listener()?;
    let (key, value) = key_and_value(ctx, 3);
    let params = Params {
        read_timeout: 200,
        attempts: 2,
        base: 50,
        cap: 50,
        ..CALM
    };
    let rt = Duration::from_millis(params.read_timeout);
    let (mut program, t0) = start(ctx, "your program", addr, &key, params)?;
    let service = Service::new(ctx, "the service", listener, key);
    let seen = service.serve(&mut program, &[Act::Silent(rt + SLACK), Act::Value(value.clone())])?;
    let closed = seen[0].closed.expect("Silent records the close");
    if closed - t0 < rt {
        return Err(Failure::new(format!(
            "your program closed attempt 1 only {} after it was started, before the read timeout of {} could pass",
            ms(closed - t0),
            ms(rt)
        )));
    }
    let (status, _) = must_exit(&mut program, EXIT_WAIT, "it got the value")?;
    expect_lines(
        &program,
        &[Line::Attempt(1, "read timeout"), Line::Attempt(2, "value"), value_line(&value)],
    )?;
    expect_status(&program, status, 0, "it got the value at attempt 2")
}

fn slow_answer_kept(ctx: &mut Ctx) -> Outcome {
    let (listener, addr) = listener()?;
    let (key, value) = key_and_value(ctx, 4);
    let params = Params {
        connect_timeout: 100,
        read_timeout: 600,
        ..CALM
    };
    let (mut program, _) = start(ctx, "your program", addr, &key, params)?;
    let service = Service::new(ctx, "the slow service", listener, key);
    service.serve(&mut program, &[Act::Slow(200 * MS, value.clone())])?;
    let (status, _) = must_exit(&mut program, EXIT_WAIT, "it got the value")?;
    if service.another_within(&mut program, Duration::ZERO).is_some() {
        return Err(Failure::new(
            "your program connected again after the slow answer came; that answer was within the read timeout",
        ));
    }
    expect_lines(&program, &[Line::Attempt(1, "value"), value_line(&value)])?;
    expect_status(&program, status, 0, "it got the value")
}

fn trickled_answer(ctx: &mut Ctx) -> Outcome {
    let (listener, addr) = listener()?;
    let (key, value) = key_and_value(ctx, 5);
    let params = Params {
        read_timeout: 300,
        attempts: 2,
        base: 50,
        cap: 50,
        ..CALM
    };
    let rt = Duration::from_millis(params.read_timeout);
    let (mut program, t0) = start(ctx, "your program", addr, &key, params)?;
    let service = Service::new(ctx, "the trickling service", listener, key);
    let slow_text = "arriving one byte at a time";
    let seen = service.serve(&mut program, &[Act::Trickle(50 * MS, slow_text.into()), Act::Value(value.clone())])?;
    let Some(closed) = seen[0].closed else {
        return Err(Failure::new(format!(
            "your program took the whole trickled answer, {} after the request, although --read-timeout is {}: each read got a byte within its timeout, but the answer line as a whole came too late",
            ms(seen[1].accepted.saturating_duration_since(seen[0].request)),
            ms(rt)
        )));
    };
    if closed - t0 < rt {
        return Err(Failure::new(format!(
            "your program closed attempt 1 only {} after it was started, before the read timeout of {} could pass",
            ms(closed - t0),
            ms(rt)
        )));
    }
    // The whole answer takes 34 × 50 ms = 1.7 s; a program that gives each
    // read its own timeout takes all of it.
    if closed - seen[0].request > rt + TRICKLE_LATE {
        return Err(Failure::new(format!(
            "your program closed attempt 1 {} after its request, although --read-timeout is {} (the grader allows {} more): each read got a byte within its timeout, but the answer line as a whole must come within the read timeout",
            ms(closed - seen[0].request),
            ms(rt),
            ms(TRICKLE_LATE)
        )));
    }
    let (status, _) = must_exit(&mut program, EXIT_WAIT, "it got the value")?;
    expect_lines(
        &program,
        &[Line::Attempt(1, "read timeout"), Line::Attempt(2, "value"), value_line(&value)],
    )?;
    expect_status(&program, status, 0, "it got the value at attempt 2")
}

fn refused(ctx: &mut Ctx) -> Outcome {
    // A port that is bound but not listening: the kernel answers every SYN
    // with an RST, and nobody else can take the port meanwhile.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
        .map_err(|e| Failure::io("the grader creating a socket", &e))?;
    socket
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .map_err(|e| Failure::io("the grader binding 127.0.0.1:0", &e))?;
    let addr = socket
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .ok_or_else(|| Failure::new("the grader could not read its socket's address"))?;
    ctx.step(format!(
        "the service's port {addr} is bound but not listening: every connect is refused (ECONNREFUSED)"
    ));
    let params = Params {
        attempts: 4,
        base: 40,
        cap: 1000,
        ..CALM
    };
    let (key, _) = key_and_value(ctx, 6);
    let (mut program, t0) = start(ctx, "your program", addr, &key, params)?;
    // Delays of [20, 40], [40, 80] and [80, 160] ms.
    let earliest = 140 * MS;
    let latest = 280 * MS + SLACK;
    let Some((status, at)) = final_by(&mut program, t0 + latest)? else {
        return Err(Failure::new(format!(
            "your program was still running {} after it started; four refused connects and three delays of at most 40, 80 and 160 ms take under 300 ms: it retried too slowly, or hung",
            ms(latest)
        )));
    };
    ctx.step(format!("your program ended (its final line) {} after it was started", ms(at - t0)));
    expect_lines(
        &program,
        &[
            Line::Attempt(1, "refused"),
            Line::Attempt(2, "refused"),
            Line::Attempt(3, "refused"),
            Line::Attempt(4, "refused"),
            gave_up("no attempts left"),
        ],
    )?;
    if at - t0 < earliest {
        return Err(Failure::new(format!(
            "your program made its four attempts and exited {} after it started; the three delays between them (at least 20, 40 and 80 ms with --base 40) take {} at least",
            ms(at - t0),
            ms(earliest)
        )));
    }
    expect_status(&program, status, 1, "it gave up")
}

fn retries_then_value(ctx: &mut Ctx) -> Outcome {
    let (listener, addr) = listener()?;
    let (key, value) = key_and_value(ctx, 7);
    let params = Params {
        attempts: 4,
        base: 100,
        cap: 10_000,
        ..CALM
    };
    let (mut program, _) = start(ctx, "your program", addr, &key, params)?;
    let service = Service::new(ctx, "the flaky service", listener, key);
    let seen = service.serve(&mut program, &[Act::Close, Act::Reset, Act::Busy, Act::Value(value.clone())])?;
    let (status, _) = must_exit(&mut program, EXIT_WAIT, "it got the value")?;
    check_windows(&ctx.transcript, "the flaky service", &seen, params)?;
    expect_lines(
        &program,
        &[
            Line::Attempt(1, "closed"),
            Line::Attempt(2, "closed"),
            Line::Attempt(3, "busy"),
            Line::Attempt(4, "value"),
            value_line(&value),
        ],
    )?;
    expect_status(&program, status, 0, "it got the value at attempt 4")
}

fn gives_up_after_attempts(ctx: &mut Ctx) -> Outcome {
    let (listener, addr) = listener()?;
    let (key, _) = key_and_value(ctx, 8);
    // One attempt: the limit at its smallest. A program that made a second
    // one, or waited a delay before giving up, would wait 1000 to 2000 ms.
    let params = Params {
        attempts: 1,
        base: 2000,
        cap: 2000,
        ..CALM
    };
    let (mut program, _) = start(ctx, "your program", addr, &key, params)?;
    let service = Service::new(ctx, "the busy service", listener, key);
    let seen = service.serve(&mut program, &[Act::Busy])?;
    let last = seen[0].failed.expect("Busy records its time");
    if let Some(at) = service.another_within(&mut program, PROMPT) {
        return Err(Failure::new(format!(
            "your program made a second attempt {} after the first failed, with --attempts 1: N attempts means N connections, the first included",
            ms(at - last)
        )));
    }
    let Some((status, at)) = final_by(&mut program, Instant::now())? else {
        return Err(Failure::new(format!(
            "your program was still running {} after its only allowed attempt failed (--attempts 1); it should print `gave up: no attempts left` and exit at once, without a delay or another attempt",
            ms(last.elapsed())
        )));
    };
    ctx.step(format!(
        "your program ended (its final line) {} after its attempt was answered BUSY",
        ms(at - last)
    ));
    expect_lines(&program, &[Line::Attempt(1, "busy"), gave_up("no attempts left")])?;
    expect_status(&program, status, 1, "it gave up")
}

fn permanent_error(ctx: &mut Ctx) -> Outcome {
    let (listener, addr) = listener()?;
    let (key, _) = key_and_value(ctx, 9);
    let reason = format!("no such key {key}");
    let (mut program, _) = start(ctx, "your program", addr, &key, CALM)?;
    let service = Service::new(ctx, "the service", listener, key);
    service.serve(&mut program, &[Act::Err(reason.clone())])?;
    let answered = Instant::now();
    // A retry would come within the first delay (50 to 100 ms here); a
    // correct program ends the wait by exiting.
    if let Some(at) = service.another_within(&mut program, Duration::from_secs(2)) {
        return Err(Failure::new(format!(
            "your program connected again {} after the service answered `ERR {reason}`; an ERR answer is final and must not be retried",
            ms(at - answered)
        )));
    }
    let (status, _) = must_exit(&mut program, EXIT_WAIT, "the ERR answer")?;
    expect_lines(&program, &[Line::Attempt(1, "error"), gave_up(&format!("ERR {reason}"))])?;
    expect_status(&program, status, 1, "it gave up")
}

fn backoff_capped(ctx: &mut Ctx) -> Outcome {
    let (listener, addr) = listener()?;
    let (key, _) = key_and_value(ctx, 10);
    let params = Params {
        attempts: 6,
        base: 50,
        cap: 100,
        ..CALM
    };
    let (mut program, _) = start(ctx, "your program", addr, &key, params)?;
    let service = Service::new(ctx, "the busy service", listener, key);
    let seen = service.serve(&mut program, &busy(6))?;
    check_windows(&ctx.transcript, "the busy service", &seen, params)?;
    let (status, _) = must_exit(&mut program, EXIT_WAIT, "its last attempt")?;
    let mut lines: Vec<Line> = (1..=6).map(|k| Line::Attempt(k, "busy")).collect();
    lines.push(gave_up("no attempts left"));
    expect_lines(&program, &lines)?;
    expect_status(&program, status, 1, "it gave up")
}

fn jitter(ctx: &mut Ctx) -> Outcome {
    const COPIES: usize = 3;
    let params = Params {
        attempts: 7,
        base: 200,
        cap: 200,
        ..CALM
    };
    let mut runs = Vec::new();
    for i in 0..COPIES {
        let (listener, addr) = listener()?;
        let (key, _) = key_and_value(ctx, 11 + i as u64);
        let name = format!("your copy {}", i + 1);
        let (program, _) = start(ctx, &name, addr, &key, params)?;
        runs.push((program, listener, key, format!("service {}", i + 1)));
    }
    let log = ctx.transcript.clone();
    let results: Vec<Result<Vec<Duration>, Failure>> = std::thread::scope(|scope| {
        let handles: Vec<_> = runs
            .iter_mut()
            .map(|(program, listener, key, who)| {
                let log = log.clone();
                let listener = listener.try_clone();
                let key = key.clone();
                let who = who.as_str();
                scope.spawn(move || {
                    let listener = listener.map_err(|e| Failure::io("the grader copying its listener", &e))?;
                    let service = Service { log, who, listener, key };
                    let seen = service.serve(program, &busy(7))?;
                    let gaps = check_windows(&service.log, who, &seen, params)?;
                    let (status, _) = must_exit(program, EXIT_WAIT, "its last attempt")?;
                    expect_status(program, status, 1, "it gave up")?;
                    Ok(gaps)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Failure::new("a service thread of the grader panicked")))
            })
            .collect()
    });
    let mut gaps = Vec::new();
    for result in results {
        gaps.extend(result?);
    }
    let d = params.backoff(1);
    let below = gaps.iter().filter(|g| g.as_secs_f64() < BELOW_FULL * d.as_secs_f64()).count();
    ctx.step(format!(
        "{below} of the {} delays were shorter than {:.0} % of d = {}",
        gaps.len(),
        BELOW_FULL * 100.0,
        ms(d)
    ));
    if below == 0 {
        return Err(Failure::new(format!(
            "all {} delays of the three copies were at least {:.0} % of d = {} ({:?} ms): the delays are not random. Each delay must be drawn anew, uniformly between d/2 and d, so that clients that failed together do not come back together",
            gaps.len(),
            BELOW_FULL * 100.0,
            ms(d),
            gaps.iter().map(|g| g.as_millis()).collect::<Vec<_>>()
        )));
    }
    Ok(())
}

fn deadline(ctx: &mut Ctx) -> Outcome {
    let deadline = Duration::from_millis(300);
    let (_gone, gone_addr) = vanished_listener(ctx)?;
    // A listener that never accepts: the kernel completes the handshake
    // (the connection waits in the backlog), but nobody reads or answers.
    let (_mute, mute_addr) = listener()?;
    ctx.step(format!(
        "the mute service at {mute_addr} completes handshakes but never reads or answers"
    ));
    let (busy, busy_addr) = listener()?;
    let base = Params {
        connect_timeout: 5000,
        read_timeout: 5000,
        attempts: 5,
        base: 50,
        cap: 50,
        deadline: deadline.as_millis() as u64,
    };
    let (key, _) = key_and_value(ctx, 20);
    let mut copies = [
        (
            start(ctx, "your copy 1 (vanished service)", gone_addr, &key, base)?,
            "its connect hangs",
        ),
        (
            start(ctx, "your copy 2 (mute service)", mute_addr, &key, base)?,
            "its answer never comes",
        ),
        (
            start(
                ctx,
                "your copy 3 (busy service)",
                busy_addr,
                &key,
                Params {
                    base: 5000,
                    cap: 5000,
                    ..base
                },
            )?,
            "its service answered BUSY and its next delay is 2500 to 5000 ms",
        ),
    ];
    let service = Service {
        log: ctx.transcript.clone(),
        who: "the busy service",
        listener: busy,
        key: key.clone(),
    };
    service.serve(&mut copies[2].0.0, &[Act::Busy])?;
    // Watch the three at once, so that each end is timed when it happens
    // (from the final line, see `final_by`).
    // Wrong programs run seconds past it (a connect, a read, a delay of 5 s).
    let latest = deadline + SLACK;
    let mut exits: Vec<Option<Instant>> = vec![None; copies.len()];
    let watch_until = copies.iter().map(|((_, t0), _)| *t0).max().unwrap_or_else(Instant::now) + latest;
    while exits.iter().any(Option::is_none) && Instant::now() < watch_until {
        for (exit, ((program, _), _)) in exits.iter_mut().zip(copies.iter_mut()) {
            if exit.is_none() && (printed_final(program) || program.poll_exit().is_some()) {
                *exit = Some(Instant::now());
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    for (exit, ((program, t0), situation)) in exits.into_iter().zip(copies.iter_mut()) {
        let at = match exit {
            Some(at) if at - *t0 <= latest => at,
            _ => {
                return Err(Failure::new(format!(
                    "{} was still running {} after it started, with --deadline {} ({situation}); a connect, read or delay under way must be cut short when the deadline passes",
                    program.name(),
                    ms(latest),
                    ms(deadline)
                )));
            }
        };
        let Some(status) = program.wait_exit(EXIT_WAIT) else {
            return Err(Failure::new(format!(
                "{} printed its final line but was still running {} later; it should exit",
                program.name(),
                ms(EXIT_WAIT)
            )));
        };
        ctx.step(format!(
            "{} ended (its final line) {} after it was started",
            program.name(),
            ms(at - *t0)
        ));
        if at - *t0 < deadline {
            return Err(Failure::new(format!(
                "{} gave up {} after it started, before its --deadline of {} ({situation}); the deadline ends the fetch when it passes, not before",
                program.name(),
                ms(at - *t0),
                ms(deadline)
            )));
        }
        let printed = program.stdout_lines();
        if printed.last().map(|l| l.trim_end_matches('\r')) != Some("gave up: deadline") {
            return Err(Failure::new(format!(
                "{} printed {printed:?} on stdout; its last line must be `gave up: deadline`",
                program.name()
            )));
        }
        expect_status(program, status, 1, "it gave up")?;
    }
    Ok(())
}

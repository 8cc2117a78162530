//! Hidden tests for exercise 05: how a connection ended, and a heartbeat.
//!
//! The program under test, `disconnect-detection ADDRESS [--heartbeat MS]
//! [--misses K]`, connects to a peer the grader plays, counts the bytes it
//! receives, answers the peer's FIN with `received <N> bytes\n`, floods
//! `tick <i>\n` lines after a `flood` line, pings after each silent heartbeat
//! interval, and finally prints `ended: closed|reset|broken pipe|timed out`.
//!
//! Every ending is produced for real: `close`, `shutdown(SHUT_WR)`,
//! `SO_LINGER` 0, `kill -9` of a peer process that holds the connection
//! (with and without unread data), a cut cable between two network
//! namespaces (`fixtures::netns`), and writes after the peer closed.
//!
//! Heartbeat timings (stated in docs/src/05-disconnect-detection.md): with
//! interval I and K misses, a silent peer is declared dead (K + 1) × I after
//! the last byte from it; tests allow `LATE` more on a loaded machine, and the
//! slow peer answers every ping 1.2 s late while death needs 2.5 s of silence.

use super::e04_keepalive::{accept_within, flush_ack};
use crate::ctx::{Client, Ctx, Failure, Outcome};
use crate::fixtures::netns::{NetPair, YOUR_ADDR};
use crate::platform::Need;
use crate::process::Program;
use crate::registry::TestCase;
use crate::transcript;
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const S: Duration = Duration::from_secs(1);
/// How long after the event a watcher may take to report it on a loaded machine.
const REPORT: Duration = Duration::from_secs(5);
/// Extra time allowed beyond the heartbeat's own bound.
const LATE: Duration = Duration::from_secs(3);

pub const TESTS: &[TestCase] = &[
    TestCase {
        id: "closed",
        scenario: "The peer sends a line and closes the connection (FIN); the watcher must report `ended: closed`.",
        clauses: &[],
        points: 10,
        limit: Duration::from_secs(15),
        needs: &[],
        exclusive: false,
        concept: "read() returning 0 bytes is the peer's FIN: the end of its data, not an empty message.",
        hint: "Match Ok(0) before Ok(n): it ends the watch (after sending what you owe).",
        docs_anchor: "orderly-close",
        run: closed,
    },
    TestCase {
        id: "half-close",
        scenario: "The peer sends three lines, shuts down its sending side and keeps reading: the reply `received <N> bytes` must arrive, then the watcher's own close.",
        clauses: &[],
        points: 15,
        limit: Duration::from_secs(15),
        needs: &[],
        exclusive: false,
        concept: "A FIN closes one direction only (shutdown(SHUT_WR)); the other direction still works, so the side that reads 0 must still send what it owes.",
        hint: "On Ok(0), write `received {N} bytes\\n` before you shut down or drop the stream.",
        docs_anchor: "half-close",
        run: half_close,
    },
    TestCase {
        id: "reset-linger",
        scenario: "The peer sets SO_LINGER to 0 and closes, which sends an RST; the watcher must report `ended: reset` without crashing.",
        clauses: &[],
        points: 10,
        limit: Duration::from_secs(15),
        needs: &[],
        exclusive: false,
        concept: "An RST aborts the connection; the next read fails with ECONNRESET, something the peer did that a program must handle, not a bug to unwrap().",
        hint: "Map ErrorKind::ConnectionReset to Ending::Reset instead of panicking or returning it as an unexpected error.",
        docs_anchor: "reset",
        run: reset_linger,
    },
    TestCase {
        id: "killed-peer-unread",
        scenario: "A peer process holding the connection is killed with SIGKILL while the watcher's ping lies unread in it; the kernel resets the connection and the watcher must report `ended: reset`.",
        clauses: &[],
        points: 10,
        limit: Duration::from_secs(15),
        needs: &[Need::Linux],
        exclusive: false,
        concept: "When a process dies the kernel closes its sockets; a socket closed with unread data sends an RST, not a FIN.",
        hint: "ECONNRESET is a reset, whatever caused it: report `ended: reset`.",
        docs_anchor: "a-killed-peer",
        run: killed_peer_unread,
    },
    TestCase {
        id: "killed-peer-quiet",
        scenario: "A peer process holding the connection, with nothing unread, is killed with SIGKILL; the kernel closes it with a FIN and the watcher must report `ended: closed`.",
        clauses: &[],
        points: 10,
        limit: Duration::from_secs(15),
        needs: &[Need::Linux],
        exclusive: false,
        concept: "A killed process's sockets are closed by the kernel like any close: with nothing unread, that is an orderly FIN.",
        hint: "A 0-byte read is `closed`, whoever closed: the program or the kernel after it died.",
        docs_anchor: "a-killed-peer",
        run: killed_peer_quiet,
    },
    TestCase {
        id: "broken-pipe",
        scenario: "The peer sends `flood`, shuts down its side, reads 1 KiB of ticks and closes; the watcher's writes must end with `ended: broken pipe`, and the program must exit normally.",
        clauses: &[],
        points: 10,
        limit: Duration::from_secs(15),
        needs: &[],
        exclusive: false,
        concept: "Writing after the peer closed: the first writes succeed, then the peer's RST makes the next write fail with EPIPE (SIGPIPE in C; Rust ignores the signal).",
        hint: "Return from the flood loop on the first failed write, and map ErrorKind::BrokenPipe to Ending::BrokenPipe.",
        docs_anchor: "writing-after-the-peer-closed",
        run: broken_pipe,
    },
    TestCase {
        id: "silent-peer-heartbeat",
        scenario: "With --heartbeat 300 --misses 3 the peer answers two pings, then its program hangs (its kernel still acknowledges); the watcher must report `ended: timed out` 1.2 s after the last pong (+3 s), not before 0.9 s.",
        clauses: &[],
        points: 10,
        limit: Duration::from_secs(15),
        needs: &[],
        exclusive: false,
        concept: "A read timeout turns silence into an event: each silent interval sends a ping, and several unanswered in a row mean the peer is dead, even when TCP sees nothing wrong.",
        hint: "Call stream.set_read_timeout(Some(interval)); a read that fails with WouldBlock is a silent interval.",
        docs_anchor: "heartbeat",
        run: silent_peer_heartbeat,
    },
    TestCase {
        id: "vanished-peer-heartbeat",
        scenario: "With --heartbeat 300 --misses 3 and keepalive off, the peer in another network namespace answers two pings, then its cable is cut; the watcher must report `ended: timed out` within 1.2 s + 3 s.",
        clauses: &[],
        points: 10,
        limit: Duration::from_secs(30),
        needs: &[Need::Linux, Need::UserNamespaces],
        exclusive: false,
        concept: "A vanished peer sends nothing at all; only a timer on our side (heartbeat, keepalive or TCP_USER_TIMEOUT) can notice it.",
        hint: "After heartbeat.misses unanswered pings, the next silent interval returns Ending::TimedOut.",
        docs_anchor: "a-peer-that-vanished",
        run: vanished_peer_heartbeat,
    },
    TestCase {
        id: "slow-peer-alive",
        scenario: "With --heartbeat 500 --misses 4 the peer answers every ping 1.2 s late (later than two intervals) for 6 s, then closes; the watcher must never report it dead and end with `ended: closed`.",
        clauses: &[],
        points: 15,
        limit: Duration::from_secs(20),
        needs: &[],
        exclusive: false,
        concept: "One missed heartbeat is not death: a busy peer or a slow network answers late. Only several silent intervals in a row mean the peer is gone.",
        hint: "Count unanswered pings, reset the count whenever any bytes arrive, and give up only when the count reaches heartbeat.misses.",
        docs_anchor: "a-slow-peer-is-not-dead",
        run: slow_peer_alive,
    },
];

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// Starts the watcher against a grader-side peer on loopback and accepts its connection.
fn start(ctx: &mut Ctx, extra: &[&str]) -> Result<(Program, Client), Failure> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| Failure::io("binding the grader's peer", &e))?;
    let addr = listener.local_addr().map_err(|e| Failure::io("reading the grader's address", &e))?;
    ctx.step(format!("the grader's peer listens on {addr}"));
    let addr = addr.to_string();
    let mut args = vec![addr.as_str()];
    args.extend_from_slice(extra);
    let mut program = ctx.spawn(&args)?;
    let conn = accept_within(ctx, &listener, &mut program, 5 * S, "the grader's peer")?;
    Ok((program, conn))
}

/// Waits for `ended: WORD` and checks WORD; returns when it was seen.
fn expect_ended(program: &mut Program, expected: &str, timeout: Duration, why: &str) -> Result<Instant, Failure> {
    let word = program
        .wait_for_stdout(&format!("the line `ended: {expected}` ({why})"), timeout, |l| {
            l.strip_prefix("ended: ").map(|w| w.trim().to_string())
        })
        .map_err(|f| f.with_panic(program.panic()))?;
    let seen = Instant::now();
    if word != expected {
        return Err(Failure::new(format!(
            "your watcher reported `ended: {word}`, but the connection ended by {why}: expected `ended: {expected}`"
        )));
    }
    Ok(seen)
}

/// A peer *process* that holds the grader's end of a connection, so that a
/// test can kill it with SIGKILL and let the kernel close the socket.
struct PeerProcess {
    child: Child,
}

impl PeerProcess {
    /// Hands `stream` to `sleep 600` as its standard input: it holds the
    /// socket and reads nothing. The grader must drop its own copy before the
    /// kill, or the socket would stay open.
    #[cfg(unix)]
    fn hold(ctx: &Ctx, stream: &TcpStream) -> Result<PeerProcess, Failure> {
        let copy = stream.try_clone().map_err(|e| Failure::io("duplicating the peer's socket", &e))?;
        let mut command = Command::new("sleep");
        command
            .arg("600")
            .stdin(Stdio::from(std::os::fd::OwnedFd::from(copy)))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        {
            use std::os::unix::process::CommandExt;
            command.process_group(0);
        }
        let child = command.spawn().map_err(|e| Failure::io("starting the peer process (sleep)", &e))?;
        ctx.groups.lock().unwrap_or_else(|p| p.into_inner()).push(child.id() as i32);
        ctx.step(format!(
            "the grader hands its end of the connection to a peer process (`sleep 600`, pid {}), which holds the socket and reads nothing",
            child.id()
        ));
        Ok(PeerProcess { child })
    }

    #[cfg(not(unix))]
    fn hold(_: &Ctx, _: &TcpStream) -> Result<PeerProcess, Failure> {
        Err(Failure::skip("needs a Unix peer process that can hold a socket"))
    }

    fn kill9(mut self, ctx: &Ctx) {
        let pid = self.child.id();
        // Child::kill sends SIGKILL on Unix: the process gets no chance to close anything itself.
        let _ = self.child.kill();
        let _ = self.child.wait();
        ctx.step(format!(
            "the grader killed the peer process (kill -9 {pid}); the kernel closes its socket"
        ));
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn closed(ctx: &mut Ctx) -> Outcome {
    let (mut program, mut conn) = start(ctx, &[])?;
    conn.send(b"hello\n")?;
    drop(conn);
    ctx.step("the grader's peer closes the connection (close(): a FIN, nothing left unread)");
    expect_ended(&mut program, "closed", REPORT, "an orderly close (FIN)")?;
    Ok(())
}

fn half_close(ctx: &mut Ctx) -> Outcome {
    let (mut program, mut conn) = start(ctx, &[])?;
    let bytes = crate::ctx::random_bytes(ctx.seed, 3);
    let payload = format!("alpha {}\nbeta {}\ngamma {}\n", bytes[0], bytes[1], bytes[2]);
    conn.send(payload.as_bytes())?;
    conn.shutdown_write()?;
    let expected = format!("received {} bytes\n", payload.len());
    let got = conn
        .recv_line(256, REPORT, &format!("the reply {}", transcript::escape(expected.as_bytes())))
        .map_err(|f| {
            Failure::new(format!(
                "{}. The peer only shut down its sending side and is still reading: a 0-byte read means the peer will send no more, not that it cannot receive",
                f.summary
            ))
        })?;
    if let Some(diff) = transcript::diff(expected.as_bytes(), &got) {
        return Err(Failure::new(format!("the reply to the half-close is wrong; {diff}")));
    }
    conn.recv_to_end(REPORT, "nothing more")?;
    expect_ended(&mut program, "closed", REPORT, "the peer's half-close, after your reply")?;
    Ok(())
}

fn reset_linger(ctx: &mut Ctx) -> Outcome {
    let (mut program, mut conn) = start(ctx, &[])?;
    conn.send(b"hello\n")?;
    socket2::SockRef::from(&conn.stream)
        .set_linger(Some(Duration::ZERO))
        .map_err(|e| Failure::io("setting SO_LINGER to 0", &e))?;
    drop(conn);
    ctx.step("the grader's peer set SO_LINGER to 0 and closed: the kernel sends an RST instead of a FIN");
    expect_ended(&mut program, "reset", REPORT, "a reset (RST)")?;
    Ok(())
}

fn killed_peer_unread(ctx: &mut Ctx) -> Outcome {
    let (mut program, conn) = start(ctx, &["--heartbeat", "300", "--misses", "10"])?;
    let peer = PeerProcess::hold(ctx, &conn.stream)?;
    // Wait (with a deadline) until the watcher's first ping is queued unread.
    conn.stream.set_read_timeout(Some(5 * S)).ok();
    match conn.stream.peek(&mut [0u8; 16]) {
        Ok(n) if n > 0 => ctx.step(format!(
            "{n} bytes from your watcher (its ping) now wait unread in the peer's socket"
        )),
        Ok(_) => {
            return Err(Failure::new(
                "your watcher closed the connection before the test could kill the peer",
            ));
        }
        Err(e) => {
            return Err(Failure::new(format!(
                "expected your watcher to send `ping\\n` after 300 ms of silence (--heartbeat 300), but nothing arrived: {}",
                crate::oserror::explain("waiting for it", &e)
            )));
        }
    }
    drop(conn);
    peer.kill9(ctx);
    expect_ended(&mut program, "reset", REPORT, "a reset: the killed peer's socket held unread data")?;
    Ok(())
}

fn killed_peer_quiet(ctx: &mut Ctx) -> Outcome {
    let (mut program, mut conn) = start(ctx, &[])?;
    conn.send(b"hello\n")?;
    let peer = PeerProcess::hold(ctx, &conn.stream)?;
    drop(conn);
    peer.kill9(ctx);
    expect_ended(&mut program, "closed", REPORT, "a FIN: the killed peer's socket had nothing unread")?;
    Ok(())
}

fn broken_pipe(ctx: &mut Ctx) -> Outcome {
    let (mut program, mut conn) = start(ctx, &[])?;
    conn.send(b"flood\n")?;
    conn.shutdown_write()?;
    let mut got = vec![0u8; 1024];
    conn.stream.set_read_timeout(Some(REPORT)).ok();
    conn.stream.read_exact(&mut got).map_err(|e| {
        Failure::new(format!(
            "expected `tick 1\\n`, `tick 2\\n`, ... after `flood`, but 1024 bytes did not arrive: {}",
            crate::oserror::explain("reading", &e)
        ))
    })?;
    if !got.starts_with(b"tick 1\n") {
        return Err(Failure::new(format!(
            "after `flood` the ticks should start with `tick 1\\n`; {}",
            transcript::diff(b"tick 1\n", &got[..7]).unwrap_or_default()
        )));
    }
    ctx.step("the grader's peer read 1024 bytes of ticks");
    drop(conn);
    ctx.step("the grader's peer closes with ticks still unread: its kernel answers further ticks with an RST");
    expect_ended(&mut program, "broken pipe", REPORT, "writes after the peer closed (EPIPE)")?;
    match program.wait_exit(REPORT) {
        Some(status) if status.success() => Ok(()),
        Some(status) => Err(Failure::new(format!(
            "your watcher reported the broken pipe but then exited with {}",
            crate::process::describe_status(status)
        ))),
        None => Err(Failure::new(
            "your watcher reported the broken pipe but was still running 5 s later",
        )),
    }
}

/// Answers `count` pings with pongs, on time.
fn answer_pings(conn: &mut Client, count: usize, interval_ms: u64) -> Outcome {
    for _ in 0..count {
        let got = conn.recv_line(64, 5 * S, "`ping\\n`").map_err(|f| {
            Failure::new(format!(
                "{} (--heartbeat {interval_ms}: after {interval_ms} ms without data your watcher should send `ping\\n`)",
                f.summary
            ))
        })?;
        if got != b"ping\n" {
            return Err(Failure::new(format!(
                "expected `ping\\n`; {}",
                transcript::diff(b"ping\n", &got).unwrap_or_default()
            )));
        }
        conn.send(b"pong\n")?;
    }
    Ok(())
}

fn silent_peer_heartbeat(ctx: &mut Ctx) -> Outcome {
    let (mut program, mut conn) = start(ctx, &["--heartbeat", "300", "--misses", "3"])?;
    answer_pings(&mut conn, 2, 300)?;
    let last = Instant::now();
    ctx.step(
        "the grader's peer stops answering, as a hung program would; its kernel still acknowledges every byte, so TCP sees nothing wrong",
    );
    let bound = Duration::from_millis(1200);
    let seen = expect_ended(&mut program, "timed out", bound + LATE, "a peer that stopped answering")?;
    let took = seen - last;
    ctx.step(format!("your watcher declared the peer dead {} after its last pong", secs(took)));
    if took < Duration::from_millis(900) {
        return Err(Failure::new(format!(
            "your watcher declared the peer dead only {} after its last pong; with --heartbeat 300 --misses 3 it may do so only after 3 pings went unanswered (1.2 s)",
            secs(took)
        )));
    }
    let _keep = conn;
    Ok(())
}

fn vanished_peer_heartbeat(ctx: &mut Ctx) -> Outcome {
    let pair = NetPair::create(ctx)?;
    let listener = pair.listen_in_peer()?;
    let addr: SocketAddr = listener.local_addr().map_err(|e| Failure::io("reading the grader's address", &e))?;
    ctx.step(format!(
        "the grader's peer listens on {addr} in the namespace \"peer\"; your watcher runs at {YOUR_ADDR}"
    ));
    let addr = addr.to_string();
    let mut program = pair.spawn_yours(ctx, None, &[&addr, "--heartbeat", "300", "--misses", "3"])?;
    let mut conn = accept_within(ctx, &listener, &mut program, 10 * S, "the grader's peer")?;
    answer_pings(&mut conn, 2, 300)?;
    flush_ack(&conn);
    pair.cut_peer_link()?;
    let cut = Instant::now();
    let bound = Duration::from_millis(1200);
    let seen = expect_ended(&mut program, "timed out", bound + LATE, "a peer whose cable was cut")?;
    ctx.step(format!("your watcher declared the peer dead {} after the cut", secs(seen - cut)));
    Ok(())
}

fn slow_peer_alive(ctx: &mut Ctx) -> Outcome {
    let (mut program, conn) = start(ctx, &["--heartbeat", "500", "--misses", "4"])?;
    let delay = Duration::from_millis(1200);
    let duration = 6 * S;
    ctx.step(format!(
        "for {} the grader's peer answers each ping {} after it arrives: later than two heartbeat intervals, sooner than the 2.5 s of silence that mean death",
        secs(duration),
        secs(delay)
    ));
    let mut reader = conn.stream.try_clone().map_err(|e| Failure::io("cloning the peer's socket", &e))?;
    let (tx, rx) = std::sync::mpsc::channel::<Instant>();
    let pings = std::thread::spawn(move || {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        reader.set_read_timeout(Some(20 * S)).ok();
        while let Ok(1) = reader.read(&mut byte) {
            if byte[0] == b'\n' {
                if line == b"ping" && tx.send(Instant::now()).is_err() {
                    break;
                }
                line.clear();
            } else if line.len() < 64 {
                line.push(byte[0]);
            }
        }
    });
    let started = Instant::now();
    let mut writer = &conn.stream;
    let mut answered = 0;
    while started.elapsed() < duration {
        let Ok(arrived) = rx.recv_timeout(duration.saturating_sub(started.elapsed()).max(Duration::from_millis(1))) else {
            continue;
        };
        // A deliberate delay: the pong is due `delay` after its ping arrived.
        std::thread::sleep((arrived + delay).saturating_duration_since(Instant::now()));
        if let Some(word) = ended_already(&mut program) {
            return Err(Failure::new(format!(
                "your watcher reported `ended: {word}` while the peer was alive and answering every ping {} late; with --heartbeat 500 --misses 4 only 2.5 s without any byte mean death",
                secs(delay)
            )));
        }
        use std::io::Write;
        if writer.write_all(b"pong\n").is_err() {
            break;
        }
        answered += 1;
    }
    ctx.step(format!("the grader's peer answered {answered} pings, each {} late", secs(delay)));
    if answered < 3 {
        return Err(Failure::new(format!(
            "expected your watcher to keep pinging the slow peer, but only {answered} pings came in {}",
            secs(duration)
        ))
        .with_panic(program.panic()));
    }
    conn.stream.shutdown(std::net::Shutdown::Write).ok();
    ctx.step("the grader's peer closes its sending side (FIN)");
    let result = expect_ended(&mut program, "closed", REPORT, "an orderly close after a slow but live exchange");
    conn.stream.shutdown(std::net::Shutdown::Both).ok();
    let _ = pings.join();
    result.map(|_| ())
}

/// The `ended:` word the program printed so far, if any (without waiting).
fn ended_already(program: &mut Program) -> Option<String> {
    program
        .wait_for_stdout("an `ended:` line", Duration::ZERO, |l| {
            l.strip_prefix("ended: ").map(|w| w.trim().to_string())
        })
        .ok()
}

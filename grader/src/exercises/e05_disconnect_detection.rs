//! Hidden tests for exercise 05: how a connection ended, and a heartbeat.
//!
//! The program under test, `disconnect-detection ADDRESS [--heartbeat MS]
//! [--misses K]`, connects to a peer the grader plays, counts the bytes it
//! receives, answers the peer's FIN with `received <N> bytes\n`, floods
//! `tick <i>\n` lines after a `flood` line, pings after each silent heartbeat
//! interval, and finally prints `ended: closed|reset|broken pipe|timed out`.
//! Its contract is the numbered list under "The contract" in
//! docs/src/05-disconnect-detection.md; each test names the clauses it checks.
//!
//! Every ending is produced for real, on loopback and without any privilege:
//! `close`, `shutdown(SHUT_WR)`, `SO_LINGER` 0, `kill -9` of a peer process
//! that holds the connection (with and without unread data), writes after the
//! peer closed, a peer that vanishes (a drop-all socket filter on the
//! grader's own end, `fixtures::vanish`), and a kernel that gives up on the
//! connection (`TCP_USER_TIMEOUT` on the watcher's socket, then a vanished
//! peer: `ETIMEDOUT`).
//!
//! Heartbeat timings: with interval MS and K misses, a correct watcher sends
//! exactly K pings into a silence and declares the peer dead (K + 1) × MS
//! after the last byte it received. Timers only ever fire late, so the
//! grader's lower bound, (K + ½) × MS after it *sent* its last byte, can never
//! fail a correct watcher, and tells K × MS (death at the K-th ping) from
//! (K + 1) × MS; the ping count tells K pings from K + 1. Upper bounds allow
//! `LATE` more on a loaded machine.

use crate::ctx::{Client, Ctx, Failure, Outcome};
use crate::fixtures::sockets;
use crate::fixtures::vanish::vanish;
use crate::platform::Need;
use crate::process::{Program, describe_status};
use crate::registry::{Sharing, TestCase};
use crate::transcript;
use std::io::{ErrorKind, Read};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const S: Duration = Duration::from_secs(1);
/// How long after the event a watcher may take to report it on a loaded machine.
const REPORT: Duration = Duration::from_secs(5);
/// Extra time allowed beyond the heartbeat's own bound.
const LATE: Duration = Duration::from_secs(3);
/// How many bytes of ticks the flood tests read (thousands of tick lines).
const FLOOD_READ: usize = 64 * 1024;

pub const TESTS: &[TestCase] = &[
    TestCase {
        id: "closed",
        scenario: "The peer sends a line and closes the connection (FIN, nothing unread); the watcher must report `ended: closed` (or `ended: broken pipe` if its reply met the peer's RST) and exit with status 0.",
        clauses: &[2, 11],
        points: 5,
        limit: Duration::from_secs(15),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "read() returning 0 bytes is the peer's FIN: the end of its data, not an empty message.",
        hint: "Match Ok(0) before Ok(n): it ends the watch (after sending what you owe).",
        docs_anchor: "orderly-close",
        run: closed,
    },
    TestCase {
        id: "half-close",
        scenario: "The peer sends three lines, shuts down its sending side and keeps reading: the reply `received <N> bytes` must arrive, then the watcher's own close and `ended: closed`.",
        clauses: &[1, 2],
        points: 10,
        limit: Duration::from_secs(15),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "A FIN closes one direction only (shutdown(SHUT_WR)); the other direction still works, so the side that reads 0 must still send what it owes.",
        hint: "On Ok(0), write `received {N} bytes\\n` before you shut down or drop the stream.",
        docs_anchor: "half-close",
        run: half_close,
    },
    TestCase {
        id: "count-every-byte",
        scenario: "The peer sends over 64 KiB in pieces of varied sizes, each read by the watcher before the next is sent, then half-closes: the reply must count every byte.",
        clauses: &[1],
        points: 5,
        limit: Duration::from_secs(15),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "A stream arrives in reads of any size; a count of bytes must add up every read, whatever its size.",
        hint: "Add n to the count after every read that returned n > 0 bytes, and keep the count in a u64.",
        docs_anchor: "counting-every-byte",
        run: count_every_byte,
    },
    TestCase {
        id: "reset-linger",
        scenario: "The peer sets SO_LINGER to 0 and closes, which sends an RST; the watcher must report `ended: reset` without crashing.",
        clauses: &[3],
        points: 5,
        limit: Duration::from_secs(15),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "An RST aborts the connection; the next read fails with ECONNRESET, something the peer did that a program must handle, not a bug to unwrap().",
        hint: "Map ErrorKind::ConnectionReset to Ending::Reset instead of panicking or returning it as an unexpected error.",
        docs_anchor: "reset",
        run: reset_linger,
    },
    TestCase {
        id: "killed-peer-unread",
        scenario: "A peer process holding the connection is killed with SIGKILL while the watcher's ping lies unread in it; the kernel resets the connection and the watcher must report `ended: reset`.",
        clauses: &[3],
        points: 5,
        limit: Duration::from_secs(15),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "When a process dies the kernel closes its sockets; a socket closed with unread data sends an RST, not a FIN.",
        hint: "ECONNRESET is a reset, whatever caused it: report `ended: reset`.",
        docs_anchor: "a-killed-peer",
        run: killed_peer_unread,
    },
    TestCase {
        id: "killed-peer-quiet",
        scenario: "A peer process holding the connection, with nothing unread, is killed with SIGKILL; the kernel closes it with a FIN and the watcher must report `ended: closed` (or `ended: broken pipe` if its reply met the RST that follows).",
        clauses: &[2],
        points: 5,
        limit: Duration::from_secs(15),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "A killed process's sockets are closed by the kernel like any close: with nothing unread, that is an orderly FIN.",
        hint: "A 0-byte read is `closed`, whoever closed: the program or the kernel after it died.",
        docs_anchor: "a-killed-peer",
        run: killed_peer_quiet,
    },
    TestCase {
        id: "broken-pipe",
        scenario: "The peer sends `flood`, shuts down its side, reads 1 KiB of ticks (numbered from 1) and closes; the watcher's writes must end with `ended: broken pipe`, and the program must exit with status 0.",
        clauses: &[4, 5, 11],
        points: 5,
        limit: Duration::from_secs(15),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "Writing after the peer closed: the first writes succeed, then the peer's RST makes the next write fail with EPIPE (SIGPIPE in C; Rust ignores the signal).",
        hint: "Return from the flood loop on the first failed write, and map ErrorKind::BrokenPipe to Ending::BrokenPipe.",
        docs_anchor: "writing-after-the-peer-closed",
        run: broken_pipe,
    },
    TestCase {
        id: "flood-in-pieces",
        scenario: "Twice: `flood` arrives in the same read as other bytes (`hello\\nflood\\nmore`), then split over several reads (`hel`, `lo\\nfl`, `ood`, `\\n`); each time 64 KiB of ticks must follow, numbered 1, 2, 3, ... without a gap.",
        clauses: &[4],
        points: 5,
        limit: Duration::from_secs(15),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "TCP keeps no message boundaries: a line can share a read with others or be split over several, so lines are found by collecting bytes up to each \\n.",
        hint: "Keep the bytes of the unfinished line between reads, and look at each complete line, wherever the reads cut the stream.",
        docs_anchor: "flood",
        run: flood_in_pieces,
    },
    TestCase {
        id: "almost-flood",
        scenario: "The peer sends the lines `flooding`, `no flood` and `Flood`, then half-closes: none of them is the line `flood`, so no tick may come, only the reply `received 24 bytes`, then `ended: closed`.",
        clauses: &[4],
        points: 5,
        limit: Duration::from_secs(15),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "A command in a line protocol is the whole line, byte for byte: a line that merely starts with, ends with or contains the word is another line.",
        hint: "Compare the whole line (the bytes before its \\n) with b\"flood\": line == b\"flood\", not starts_with, ends_with or contains, and without changing case.",
        docs_anchor: "flood",
        run: almost_flood,
    },
    TestCase {
        id: "reset-during-flood",
        scenario: "The peer sends `flood`, reads 64 KiB of ticks, then resets the connection (SO_LINGER 0, no FIN before); the watcher's failed write must end with `ended: reset` or `ended: broken pipe` and status 0.",
        clauses: &[5, 11],
        points: 5,
        limit: Duration::from_secs(15),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "A write can fail with ECONNRESET as well as EPIPE: the first write after an RST reports the reset, later ones a broken pipe.",
        hint: "Classify every failed write with the same function as failed reads: ConnectionReset is an ending too.",
        docs_anchor: "a-reset-during-a-flood",
        run: reset_during_flood,
    },
    TestCase {
        id: "no-heartbeat-no-ping",
        scenario: "Without --heartbeat the peer sends a line and stays silent for 1.5 s: the watcher must send nothing and report nothing; then the peer half-closes and gets its reply.",
        clauses: &[6],
        points: 5,
        limit: Duration::from_secs(15),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "A heartbeat is a choice of the application: without one, a silent peer is simply a peer with nothing to say.",
        hint: "Set a read timeout only when --heartbeat is given; with no heartbeat the read blocks until data, a FIN or an error.",
        docs_anchor: "no-heartbeat-no-ping",
        run: no_heartbeat_no_ping,
    },
    TestCase {
        id: "silent-peer-heartbeat",
        scenario: "With --heartbeat 250 (default --misses 3) the peer answers two pings, then its program hangs (its kernel still acknowledges); exactly 3 pings must follow, then `ended: timed out`, not before 0.875 s after the last pong.",
        clauses: &[7, 9],
        points: 10,
        limit: Duration::from_secs(15),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "A read timeout turns silence into an event: each silent interval sends a ping, and K unanswered in a row mean the peer is dead, even when TCP sees nothing wrong.",
        hint: "Call stream.set_read_timeout(Some(interval)); a read that fails with WouldBlock is a silent interval: ping while fewer than K pings are unanswered, otherwise give up.",
        docs_anchor: "heartbeat",
        run: silent_peer_heartbeat,
    },
    TestCase {
        id: "vanished-peer-heartbeat",
        scenario: "With --heartbeat 200 --misses 2 the peer answers two pings, then vanishes (its kernel drops everything: no ACK, no RST); the watcher must report `ended: timed out` between 0.5 s and 0.6 s + 3 s after the last pong.",
        clauses: &[9],
        points: 10,
        limit: Duration::from_secs(15),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "A vanished peer sends nothing at all; only a timer on our side (heartbeat, keepalive or TCP_USER_TIMEOUT) can notice it.",
        hint: "After heartbeat.misses unanswered pings, the next silent interval returns Ending::TimedOut.",
        docs_anchor: "a-peer-that-vanished",
        run: vanished_peer_heartbeat,
    },
    TestCase {
        id: "chatty-peer-not-pinged",
        scenario: "With --heartbeat 400 the peer answers the first ping, then sends a byte every 100 ms for 1 s: the watcher must send no ping while bytes keep coming, then reply to the half-close with the right count and end with `ended: closed`.",
        clauses: &[7],
        points: 5,
        limit: Duration::from_secs(15),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "A heartbeat asks \"are you there?\" only after a silence: every byte from the peer already answers it, so the interval counts from the peer's last byte, not from the last ping.",
        hint: "Restart the interval whenever bytes arrive: with set_read_timeout each read waits a whole interval again; with a deadline, move it to now + interval after every read that returned bytes.",
        docs_anchor: "heartbeat",
        run: chatty_peer_not_pinged,
    },
    TestCase {
        id: "slow-peer-alive",
        scenario: "With --heartbeat 200 --misses 4 the peer answers only the 4th ping of each silence, three times (with `pong\\n`, `still here\\n` and a bare `.`), then half-closes: the watcher must never report it dead, count every byte in its reply and end with `ended: closed`.",
        clauses: &[1, 8, 9],
        points: 5,
        limit: Duration::from_secs(20),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "One missed heartbeat is not death: a busy peer or a slow network answers late, and any bytes at all prove it alive. Only K silent intervals in a row mean the peer is gone.",
        hint: "Count unanswered pings, reset the count whenever any bytes arrive (not only `pong`), and give up only when heartbeat.misses pings went unanswered.",
        docs_anchor: "a-slow-peer-is-not-dead",
        run: slow_peer_alive,
    },
    TestCase {
        id: "tcp-gave-up",
        scenario: "With --heartbeat 200 --misses 50 the grader sets TCP_USER_TIMEOUT 500 ms on the watcher's socket and vanishes; the watcher's kernel gives up on the unacknowledged ping with ETIMEDOUT, and the watcher must report `ended: timed out` within 5 s (its heartbeat alone would need 10 s).",
        clauses: &[10],
        points: 5,
        limit: Duration::from_secs(20),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "TCP itself can give up on a peer (keepalive probes or TCP_USER_TIMEOUT unanswered): reads and writes then fail with ETIMEDOUT, an ending like any other.",
        hint: "Map ErrorKind::TimedOut (ETIMEDOUT) to Ending::TimedOut; it is not a read timeout (that is WouldBlock).",
        docs_anchor: "tcp-gives-up-etimedout",
        run: tcp_gave_up,
    },
    TestCase {
        id: "interrupted-reads",
        scenario: "With --heartbeat 300, every other read on the watcher's blocking socket fails with EINTR (the first included), as when a signal interrupts it; the peer sends a line, answers two pings, each due only after 300 ms of silence, then half-closes: the reply must count every byte, then `ended: closed` and status 0.",
        clauses: &[7, 12],
        points: 5,
        limit: Duration::from_secs(15),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "A blocking read interrupted by a signal fails with EINTR (ErrorKind::Interrupted): nothing happened on the connection, so it is neither an ending nor a silent interval; the read is simply made again.",
        hint: "Match ErrorKind::Interrupted before the catch-all error arm and loop to read again, without pinging and without touching the count of unanswered pings.",
        docs_anchor: "a-signal-interrupts-a-read",
        run: interrupted_reads,
    },
];

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// Starts the watcher against a grader-side peer on loopback and accepts its connection.
fn start(ctx: &mut Ctx, extra: &[&str]) -> Result<(Program, Client), Failure> {
    start_with(ctx, extra, &[])
}

/// [`start`] with extra environment variables for the watcher.
fn start_with(ctx: &mut Ctx, extra: &[&str], env: &[(&str, &str)]) -> Result<(Program, Client), Failure> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| Failure::io("binding the grader's peer", &e))?;
    let addr = listener.local_addr().map_err(|e| Failure::io("reading the grader's address", &e))?;
    ctx.step(format!("the grader's peer listens on {addr}"));
    let addr = addr.to_string();
    let mut args = vec![addr.as_str()];
    args.extend_from_slice(extra);
    let mut program = ctx.spawn_with(&args, env)?;
    let conn = crate::ctx::accept_within(ctx, &listener, &mut program, 5 * S, "the grader's peer")?;
    // Small writes go out at once (no Nagle delay), so pieces stay pieces.
    conn.stream.set_nodelay(true).ok();
    Ok((program, conn))
}

/// Waits for `ended: WORD` with WORD one of `accepted`; returns when it was
/// seen and the word. `why` says how the connection ended, for the message.
fn expect_ended(program: &mut Program, accepted: &[&str], timeout: Duration, why: &str) -> Result<(Instant, String), Failure> {
    let shown: Vec<String> = accepted.iter().map(|w| format!("`ended: {w}`")).collect();
    let shown = shown.join(" or ");
    let word = program
        .wait_for_stdout(&format!("the line {shown} ({why})"), timeout, |l| {
            l.strip_prefix("ended: ").map(|w| w.trim().to_string())
        })
        .map_err(|f| f.with_panic(program.panic()))?;
    let seen = Instant::now();
    if !accepted.contains(&word.as_str()) {
        return Err(Failure::new(format!(
            "your watcher reported `ended: {word}`, but the connection ended by {why}: expected {shown}"
        )));
    }
    Ok((seen, word))
}

/// After the `ended:` line the watcher must exit with status 0, and that line
/// must be its only `ended:` line and the last on stdout (clause 11).
fn expect_exit_0(program: &mut Program, printed: &str) -> Outcome {
    match program.wait_exit(REPORT) {
        Some(status) if status.success() => {}
        Some(status) => {
            return Err(Failure::new(format!(
                "your watcher printed `ended: {printed}` but then exited with {}; after its `ended:` line it must exit with status 0",
                describe_status(status)
            )));
        }
        None => {
            return Err(Failure::new(format!(
                "your watcher printed `ended: {printed}` but was still running {} later; after its `ended:` line it must exit with status 0",
                secs(REPORT)
            )));
        }
    }
    let lines = program.stdout_lines();
    let endings = lines.iter().filter(|l| l.starts_with("ended: ")).count();
    if endings != 1 {
        return Err(Failure::new(format!(
            "your watcher printed {endings} `ended:` lines; it must print exactly one, the last line of its output"
        )));
    }
    if let Some(last) = lines.last().filter(|l| !l.starts_with("ended: ")) {
        return Err(Failure::new(format!(
            "your watcher printed `{last}` after its `ended:` line; the `ended:` line must be the last line of its output"
        )));
    }
    Ok(())
}

/// The `ended:` word the program printed so far, if any (without waiting).
fn ended_already(program: &mut Program) -> Option<String> {
    program
        .wait_for_stdout("an `ended:` line", Duration::ZERO, |l| {
            l.strip_prefix("ended: ").map(|w| w.trim().to_string())
        })
        .ok()
}

/// What the watcher's stdout says about how it ended, for a failure message.
/// Only called once something failed: a watcher that just closed the
/// connection may still be writing its last line, so give it a moment (up to
/// 0.5 s) to exit and its output to be read.
fn ended_note(program: &mut Program) -> String {
    if ended_already(program).is_none() {
        let _ = program.wait_exit(Duration::from_millis(500));
    }
    match ended_already(program) {
        Some(word) => format!("; your watcher printed `ended: {word}`"),
        None => String::new(),
    }
}

/// Waits until the watcher has read every byte the peer sent (its socket's
/// receive queue is empty, see `sockdiag`), so that the next piece
/// arrives in a read of its own. False if it had not after `timeout`.
fn wait_until_read(conn: &Client, timeout: Duration) -> bool {
    let Ok(theirs) = conn.stream.peer_addr() else { return false };
    let deadline = Instant::now() + timeout;
    loop {
        if crate::sockdiag::tcp_queues(theirs, conn.local).is_none_or(|q| q.unread == 0) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Sends `pieces` one by one, each read by the watcher before the next.
fn send_in_pieces(ctx: &Ctx, conn: &mut Client, pieces: &[&[u8]]) -> Outcome {
    for (i, piece) in pieces.iter().enumerate() {
        conn.send(piece)?;
        if i + 1 < pieces.len() && !wait_until_read(conn, 2 * S) {
            ctx.step("your watcher had not read these bytes after 2 s; the grader sends the next piece anyway");
        }
    }
    Ok(())
}

/// Reads the reply `received <N> bytes\n` after the peer's half-close, skipping
/// pings, and compares it with the bytes the peer sent.
fn expect_reply(conn: &mut Client, program: &mut Program, sent: usize) -> Outcome {
    let expected = format!("received {sent} bytes\n");
    loop {
        let got = conn
            .recv_line(256, REPORT, &format!("the reply {}", transcript::escape(expected.as_bytes())))
            .map_err(|f| {
                Failure::new(format!(
                    "{} after the peer shut down its sending side (it is still reading){}",
                    f.summary,
                    ended_note(program)
                ))
                .with_panic(program.panic())
            })?;
        if got == b"ping\n" {
            continue;
        }
        if let Some(diff) = transcript::diff(expected.as_bytes(), &got) {
            return Err(Failure::new(format!(
                "the peer sent {sent} bytes in all, then shut down its sending side; the reply is wrong: {diff}"
            )));
        }
        return Ok(());
    }
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

/// The endings a full close (FIN, nothing unread) may read as: `closed`, or
/// `broken pipe` when the watcher's reply, written in several writes, met the
/// RST the peer's kernel sends for data arriving after its close (clause 2).
const AFTER_FULL_CLOSE: &[&str] = &["closed", "broken pipe"];

fn closed(ctx: &mut Ctx) -> Outcome {
    let (mut program, mut conn) = start(ctx, &[])?;
    conn.send(b"hello\n")?;
    drop(conn);
    ctx.step("the grader's peer closes the connection (close(): a FIN, nothing left unread)");
    let (_, word) = expect_ended(&mut program, AFTER_FULL_CLOSE, REPORT, "an orderly close (FIN)")?;
    expect_exit_0(&mut program, &word)
}

fn almost_flood(ctx: &mut Ctx) -> Outcome {
    let (mut program, mut conn) = start(ctx, &[])?;
    let payload = b"flooding\nno flood\nFlood\n";
    conn.send(payload)?;
    conn.shutdown_write()?;
    expect_reply(&mut conn, &mut program, payload.len()).map_err(|f| {
        if f.summary.contains("tick") {
            Failure::new(format!(
                "{}; the peer sent `flooding`, `no flood` and `Flood`, and none of them is the line `flood`",
                f.summary
            ))
        } else {
            f
        }
    })?;
    conn.recv_to_end(REPORT, "nothing more")?;
    let (_, word) = expect_ended(&mut program, &["closed"], REPORT, "the peer's half-close, after your reply")?;
    expect_exit_0(&mut program, &word)
}

fn half_close(ctx: &mut Ctx) -> Outcome {
    let (mut program, mut conn) = start(ctx, &[])?;
    let bytes = crate::ctx::random_bytes(ctx.seed, 3);
    let payload = format!("alpha {}\nbeta {}\ngamma {}\n", bytes[0], bytes[1], bytes[2]);
    conn.send(payload.as_bytes())?;
    conn.shutdown_write()?;
    expect_reply(&mut conn, &mut program, payload.len())?;
    conn.recv_to_end(REPORT, "nothing more")?;
    // The peer read the whole reply, so no write of it can have failed: only `closed` fits.
    expect_ended(&mut program, &["closed"], REPORT, "the peer's half-close, after your reply")?;
    Ok(())
}

fn count_every_byte(ctx: &mut Ctx) -> Outcome {
    let (mut program, mut conn) = start(ctx, &[])?;
    // Text lines (hex digits cannot spell `flood`), cut into pieces of sizes
    // drawn from the seed: one of a single byte, pieces ending mid-line, and
    // more than 65,535 bytes in all, so a 16-bit count would wrap.
    let random = crate::ctx::random_bytes(ctx.seed, 4096);
    let mut payload = Vec::new();
    let mut i = 0;
    while payload.len() < 70_000 {
        let r = &random[(i * 4) % 4092..][..4];
        payload.extend_from_slice(format!("data {i} {:02x}{:02x}{:02x}{:02x}\n", r[0], r[1], r[2], r[3]).as_bytes());
        i += 1;
    }
    let mut cuts = vec![1usize];
    let mut at = 1;
    let mut k = 0;
    while at < payload.len() {
        let size = 1 + (usize::from(random[k % random.len()]) << 6) + usize::from(random[(k + 1) % random.len()]);
        at = (at + size).min(payload.len());
        cuts.push(at);
        k += 2;
    }
    let mut pieces: Vec<&[u8]> = Vec::new();
    let mut from = 0;
    for &to in &cuts {
        pieces.push(&payload[from..to]);
        from = to;
    }
    ctx.step(format!(
        "the grader's peer sends {} bytes in {} pieces, each read by your watcher before the next is sent",
        payload.len(),
        pieces.len()
    ));
    send_in_pieces(ctx, &mut conn, &pieces)?;
    conn.shutdown_write()?;
    expect_reply(&mut conn, &mut program, payload.len())
}

fn reset_linger(ctx: &mut Ctx) -> Outcome {
    let (mut program, mut conn) = start(ctx, &[])?;
    conn.send(b"hello\n")?;
    // Once the watcher has read the bytes, its connect has returned. A
    // reset that came sooner could reach it inside connect (SO_ERROR is
    // ECONNRESET there): a correct watcher, scheduled late on a loaded
    // machine, then fails to connect, and the test would blame it.
    if !wait_until_read(&conn, 2 * S) {
        ctx.step("your watcher had not read these bytes after 2 s; the grader resets the connection anyway");
    }
    socket2::SockRef::from(&conn.stream)
        .set_linger(Some(Duration::ZERO))
        .map_err(|e| Failure::io("setting SO_LINGER to 0", &e))?;
    drop(conn);
    ctx.step("the grader's peer set SO_LINGER to 0 and closed: the kernel sends an RST instead of a FIN");
    expect_ended(&mut program, &["reset"], REPORT, "a reset (RST)")?;
    Ok(())
}

fn killed_peer_unread(ctx: &mut Ctx) -> Outcome {
    let (mut program, conn) = start(ctx, &["--heartbeat", "200", "--misses", "10"])?;
    let peer = PeerProcess::hold(ctx, &conn.stream)?;
    // Wait (with a deadline) until the watcher's first ping is queued unread.
    let deadline = Instant::now() + REPORT;
    let mut peeked = [0u8; 16];
    let n = loop {
        conn.stream.set_read_timeout(Some(Duration::from_millis(100))).ok();
        match conn.stream.peek(&mut peeked) {
            Ok(n) => break n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {}
            Err(e) => return Err(Failure::io("the grader's peer waiting for your watcher's ping", &e)),
        }
        if Instant::now() >= deadline {
            return Err(Failure::new(format!(
                "expected your watcher to send `ping\\n` after 200 ms of silence (--heartbeat 200), but nothing arrived within {}{}",
                secs(REPORT),
                ended_note(&mut program)
            )));
        }
    };
    if n == 0 {
        return Err(Failure::new(format!(
            "your watcher closed the connection before sending a ping{}",
            ended_note(&mut program)
        )));
    }
    ctx.step(format!(
        "{n} bytes from your watcher ({}) now wait unread in the peer's socket",
        transcript::escape(&peeked[..n])
    ));
    drop(conn);
    peer.kill9(ctx);
    expect_ended(
        &mut program,
        &["reset"],
        REPORT,
        "a reset: the killed peer's socket held unread data",
    )?;
    Ok(())
}

fn killed_peer_quiet(ctx: &mut Ctx) -> Outcome {
    let (mut program, mut conn) = start(ctx, &[])?;
    conn.send(b"hello\n")?;
    let peer = PeerProcess::hold(ctx, &conn.stream)?;
    drop(conn);
    peer.kill9(ctx);
    expect_ended(
        &mut program,
        AFTER_FULL_CLOSE,
        REPORT,
        "a FIN: the killed peer's socket had nothing unread",
    )?;
    Ok(())
}

/// `tick 1\ntick 2\n...`, at least `len` bytes of it.
fn ticks(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 16);
    let mut i = 1u64;
    while out.len() < len {
        out.extend_from_slice(format!("tick {i}\n").as_bytes());
        i += 1;
    }
    out
}

/// Reads `len` bytes of ticks and checks that they are `tick 1\n`, `tick 2\n`,
/// ... without a gap (the last line may be cut by the read).
fn read_ticks(conn: &mut Client, program: &mut Program, len: usize) -> Outcome {
    let got = conn
        .recv_exact(len, REPORT, "`tick 1\\n`, `tick 2\\n`, ... after `flood`")
        .map_err(|f| Failure::new(format!("{}{}", f.summary, ended_note(program))).with_panic(program.panic()))?;
    let expected = ticks(len);
    if let Some(diff) = transcript::diff(&expected[..len], &got) {
        let line = got[..got.iter().zip(&expected).take_while(|(a, b)| a == b).count()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        return Err(Failure::new(format!(
            "after `flood` the ticks must be numbered 1, 2, 3, ... without a gap; line {} is not `tick {}`: {diff}",
            line + 1,
            line + 1
        )));
    }
    Ok(())
}

fn broken_pipe(ctx: &mut Ctx) -> Outcome {
    let (mut program, mut conn) = start(ctx, &[])?;
    conn.send(b"flood\n")?;
    conn.shutdown_write()?;
    read_ticks(&mut conn, &mut program, 1024)?;
    drop(conn);
    ctx.step("the grader's peer closes with ticks still unread: its kernel answers further ticks with an RST");
    let (_, word) = expect_ended(&mut program, &["broken pipe"], REPORT, "writes after the peer closed (EPIPE)")?;
    expect_exit_0(&mut program, &word)
}

fn flood_in_pieces(ctx: &mut Ctx) -> Outcome {
    let runs: [(&str, &[&[u8]]); 2] = [
        ("in the same read as other lines", &[b"hello\nflood\nmore"]),
        ("split over several reads", &[b"hel", b"lo\nfl", b"ood", b"\n"]),
    ];
    for (how, pieces) in runs {
        ctx.step(format!("`flood` {how}"));
        let (mut program, mut conn) = start(ctx, &[])?;
        send_in_pieces(ctx, &mut conn, pieces)?;
        read_ticks(&mut conn, &mut program, FLOOD_READ)
            .map_err(|f| Failure::new(format!("with `flood` sent {how}: {}", f.summary)).with_panic(f.panic))?;
        program.kill();
    }
    Ok(())
}

fn reset_during_flood(ctx: &mut Ctx) -> Outcome {
    let (mut program, mut conn) = start(ctx, &[])?;
    conn.send(b"flood\n")?;
    read_ticks(&mut conn, &mut program, FLOOD_READ)?;
    socket2::SockRef::from(&conn.stream)
        .set_linger(Some(Duration::ZERO))
        .map_err(|e| Failure::io("setting SO_LINGER to 0", &e))?;
    drop(conn);
    ctx.step("the grader's peer set SO_LINGER to 0 and closed in the middle of the flood: an RST, with no FIN before it");
    let (_, word) = expect_ended(
        &mut program,
        &["reset", "broken pipe"],
        REPORT,
        "a reset (RST) while your watcher was writing",
    )?;
    expect_exit_0(&mut program, &word)
}

fn no_heartbeat_no_ping(ctx: &mut Ctx) -> Outcome {
    let (mut program, mut conn) = start(ctx, &[])?;
    conn.send(b"hello\n")?;
    let quiet = Duration::from_millis(1500);
    ctx.step(format!(
        "the grader's peer stays silent for {}; without --heartbeat your watcher must send nothing and end nothing",
        secs(quiet)
    ));
    let until = Instant::now() + quiet;
    let mut buf = [0u8; 256];
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        conn.stream.set_read_timeout(Some(left)).ok();
        match conn.stream.read(&mut buf) {
            Ok(0) => {
                return Err(Failure::new(format!(
                    "your watcher closed the connection while the peer was silent, although it was started without --heartbeat{}",
                    ended_note(&mut program)
                )));
            }
            Ok(n) => {
                return Err(Failure::new(format!(
                    "your watcher sent {} while the peer was silent, although it was started without --heartbeat: without it, it must send nothing of its own",
                    transcript::escape(&buf[..n])
                )));
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {}
            Err(e) => return Err(Failure::io("the grader's peer reading", &e)),
        }
    }
    if let Some(word) = ended_already(&mut program) {
        return Err(Failure::new(format!(
            "your watcher printed `ended: {word}` while the connection was open and the peer silent, although it was started without --heartbeat"
        )));
    }
    conn.stream.set_read_timeout(Some(crate::ctx::IO_TIMEOUT)).ok();
    ctx.step("nothing came in 1.50 s; the grader's peer now half-closes");
    conn.shutdown_write()?;
    expect_reply(&mut conn, &mut program, 6)
}

/// Reads the next line within one interval (plus `LATE`) and expects
/// `ping\n`. A failure says what came instead and what the watcher printed.
fn next_ping(conn: &mut Client, program: &mut Program, interval_ms: u64) -> Outcome {
    let got = conn
        .recv_line(64, Duration::from_millis(interval_ms) + LATE, "`ping\\n`")
        .map_err(|f| Failure::new(format!("{}{}", f.summary, ended_note(program))).with_panic(program.panic()))?;
    if got != b"ping\n" {
        return Err(Failure::new(format!(
            "expected `ping\\n`; {}",
            transcript::diff(b"ping\n", &got).unwrap_or_default()
        )));
    }
    Ok(())
}

/// Answers `count` pings with pongs, on time; returns when the last pong was sent.
fn answer_pings(conn: &mut Client, program: &mut Program, count: u32, interval_ms: u64) -> Result<Instant, Failure> {
    let mut last = Instant::now();
    for nth in 1..=count {
        next_ping(conn, program, interval_ms).map_err(|f| {
            Failure::new(format!(
                "with --heartbeat {interval_ms} your watcher must send `ping\\n` after {interval_ms} ms without a byte, and the peer answers each at once; ping {nth}: {}",
                f.summary
            ))
            .with_panic(f.panic)
        })?;
        conn.send(b"pong\n")?;
        last = Instant::now();
    }
    Ok(last)
}

/// Checks the moment of death against (K + ½) × MS after the last pong (never
/// early for a correct watcher, see the module's documentation).
fn not_too_early(ctx: &Ctx, took: Duration, misses: u32, interval_ms: u64, flags: &str) -> Outcome {
    let due = Duration::from_millis((misses as u64 + 1) * interval_ms);
    let bound = Duration::from_millis((2 * misses as u64 + 1) * interval_ms / 2);
    ctx.step(format!(
        "your watcher declared the peer dead {} after the last pong (due {}: (K + 1) × MS)",
        secs(took),
        secs(due)
    ));
    if took < bound {
        return Err(Failure::new(format!(
            "your watcher declared the peer dead {} after the last pong; with {flags} that is due {} after it: after {misses} unanswered pings one more interval must pass in silence",
            secs(took),
            secs(due)
        )));
    }
    Ok(())
}

fn silent_peer_heartbeat(ctx: &mut Ctx) -> Outcome {
    let (interval_ms, misses) = (250, 3);
    let (mut program, mut conn) = start(ctx, &["--heartbeat", "250"])?;
    let last = answer_pings(&mut conn, &mut program, 2, interval_ms)?;
    ctx.step(
        "the grader's peer stops answering, as a hung program would; its kernel still acknowledges every byte, so TCP sees nothing wrong",
    );
    let due = Duration::from_millis((misses as u64 + 1) * interval_ms);
    let (seen, _) = expect_ended(&mut program, &["timed out"], due + LATE, "a peer that stopped answering")?;
    // Every ping came before the `ended:` line; once the watcher is gone the
    // connection's end tells the grader it has them all.
    program.kill();
    let after = conn.recv_to_end(REPORT, "the pings sent into the silence")?;
    let pings = after.len() / 5;
    if after != b"ping\n".repeat(pings) {
        return Err(Failure::new(format!(
            "after the last pong your watcher should send only `ping\\n` lines, but sent {}",
            transcript::escape(&after)
        )));
    }
    ctx.step(format!("your watcher sent {pings} pings after the last pong, then gave up"));
    if pings != misses as usize {
        return Err(Failure::new(format!(
            "after the peer's last byte your watcher sent {pings} pings before printing `ended: timed out`; with --heartbeat 250 and no --misses (K = 3) it must send exactly 3, one per silent interval, and give up at the next"
        )));
    }
    not_too_early(ctx, seen - last, misses, interval_ms, "--heartbeat 250 (K = 3 by default)")
}

fn vanished_peer_heartbeat(ctx: &mut Ctx) -> Outcome {
    let (interval_ms, misses) = (200, 2);
    let (mut program, mut conn) = start(ctx, &["--heartbeat", "200", "--misses", "2"])?;
    let last = answer_pings(&mut conn, &mut program, 2, interval_ms)?;
    vanish(&conn.stream).map_err(|e| Failure::io("attaching a drop-all socket filter to the grader's peer", &e))?;
    ctx.step(
        "the grader's peer vanishes: a drop-all socket filter on its end means its kernel sends nothing any more (no ACK, no RST), as if its cable were cut",
    );
    let due = Duration::from_millis((misses as u64 + 1) * interval_ms);
    let (seen, _) = expect_ended(&mut program, &["timed out"], due + LATE, "a peer that vanished")?;
    not_too_early(ctx, seen - last, misses, interval_ms, "--heartbeat 200 --misses 2")?;
    // Closing the vanished end would send a FIN, a sign of life: keep it to the end.
    drop(conn);
    Ok(())
}

/// The last answer sent so far, for a failure message.
fn answers_so_far<'a>(answers: &[&'a [u8]], sent: usize) -> &'a [u8] {
    let mut total = 0;
    for answer in answers {
        total += answer.len();
        if total >= sent {
            return answer;
        }
    }
    b""
}

fn slow_peer_alive(ctx: &mut Ctx) -> Outcome {
    let (interval_ms, misses) = (200, 4);
    let (mut program, mut conn) = start(ctx, &["--heartbeat", "200", "--misses", "4"])?;
    ctx.step(
        "the grader's peer answers only the 4th ping of each silence, as a busy peer would: late, but before the next interval would declare it dead",
    );
    let answers: [&[u8]; 3] = [b"pong\n", b"still here\n", b"."];
    let mut sent = 0;
    let mut last = Instant::now();
    for answer in answers {
        for nth in 1..=misses {
            next_ping(&mut conn, &mut program, interval_ms).map_err(|f| {
                let answered = if sent == 0 {
                    String::new()
                } else {
                    format!(", and its last bytes were {}", transcript::escape(answers_so_far(&answers, sent)))
                };
                Failure::new(format!(
                    "with --heartbeat 200 --misses 4 the peer is alive until 4 pings in a row go unanswered; it answers the 4th ping of each silence{answered}. Expected ping {nth} of this silence: {}",
                    f.summary
                ))
                .with_panic(f.panic)
            })?;
        }
        ctx.step(format!(
            "ping {misses} came {} after the peer's last bytes; the peer answers it at once",
            secs(last.elapsed())
        ));
        // A watcher that gives up at the K-th ping itself (one interval
        // early) is gone by now: the answer meets a closed connection, or the
        // next silence brings no ping.
        conn.send(answer).map_err(|f| {
            Failure::new(format!(
                "{}{}, right after ping {misses}; with --misses {misses} one more interval must pass in silence before the peer is dead, and the peer answered at once",
                f.summary,
                ended_note(&mut program)
            ))
        })?;
        last = Instant::now();
        sent += answer.len();
    }
    // A reset here (ENOTCONN) means the watcher closed the connection with
    // the peer's last answer unread: it gave up on a live peer.
    conn.shutdown_write().map_err(|f| {
        Failure::new(format!(
            "{}: the connection was reset after the peer's last answer ({}), so your watcher had closed it with that answer unread{}; the peer answered ping {misses} of every silence, so it was never dead",
            f.summary,
            transcript::escape(answers[answers.len() - 1]),
            ended_note(&mut program)
        ))
    })?;
    expect_reply(&mut conn, &mut program, sent)?;
    expect_ended(
        &mut program,
        &["closed"],
        REPORT,
        "an orderly half-close after a slow but live exchange",
    )?;
    Ok(())
}

/// `TCP_USER_TIMEOUT` (Linux): how long sent data may stay unacknowledged
/// before the kernel gives up on the connection with ETIMEDOUT.
#[cfg(target_os = "linux")]
fn set_user_timeout(socket: &socket2::Socket, timeout: Duration) -> std::io::Result<()> {
    socket.set_tcp_user_timeout(Some(timeout))
}

#[cfg(not(target_os = "linux"))]
fn set_user_timeout(_: &socket2::Socket, _: Duration) -> std::io::Result<()> {
    Err(std::io::Error::new(ErrorKind::Unsupported, "TCP_USER_TIMEOUT is Linux only"))
}

fn tcp_gave_up(ctx: &mut Ctx) -> Outcome {
    let (mut program, mut conn) = start(ctx, &["--heartbeat", "200", "--misses", "50"])?;
    answer_pings(&mut conn, &mut program, 1, 200)?;
    if program.poll_exit().is_some() {
        return Err(Failure::new("your watcher exited although the peer answered its ping").with_panic(program.panic()));
    }
    let theirs = match sockets::connected_to(program.pid(), conn.local) {
        Ok(Some(socket)) => socket,
        Ok(None) => {
            return Err(Failure::new(format!(
                "your watcher's socket connected to {} was not found among its open descriptors, although it had just pinged",
                conn.local
            )));
        }
        Err(e) if matches!(e.raw_os_error(), Some(1) | Some(38)) => {
            return Err(Failure::skip(format!(
                "the grader may not reach your watcher's socket on this machine (pidfd_getfd: {e})"
            )));
        }
        Err(e) => return Err(Failure::io("taking a copy of your watcher's socket with pidfd_getfd", &e)),
    };
    set_user_timeout(&theirs, Duration::from_millis(500))
        .map_err(|e| Failure::io("setting TCP_USER_TIMEOUT on your watcher's socket", &e))?;
    // The copy is the same socket; holding it would keep the connection open.
    drop(theirs);
    ctx.step(
        "the grader set TCP_USER_TIMEOUT to 500 ms on your watcher's socket (through a pidfd_getfd copy): its kernel gives up on data unacknowledged for 0.5 s",
    );
    vanish(&conn.stream).map_err(|e| Failure::io("attaching a drop-all socket filter to the grader's peer", &e))?;
    let gone = Instant::now();
    ctx.step(
        "the grader's peer vanishes (a drop-all socket filter on its end): your watcher's next ping is never acknowledged, so its kernel ends the connection with ETIMEDOUT",
    );
    let (seen, _) = expect_ended(
        &mut program,
        &["timed out"],
        REPORT,
        "its kernel giving up (ETIMEDOUT); your heartbeat alone would wait 51 × 200 ms",
    )?;
    ctx.step(format!("your watcher reported it {} after the peer vanished", secs(seen - gone)));
    drop(conn);
    Ok(())
}

fn interrupted_reads(ctx: &mut Ctx) -> Outcome {
    let interval_ms = 300;
    let eintr = ctx.interrupted_reads_env()?;
    let env = eintr.env();
    let (mut program, mut conn) = start_with(ctx, &["--heartbeat", "300"], &env)?;
    conn.send(b"hello\n")?;
    let mut sent = 6;
    let mut last = Instant::now();
    for nth in 1..=2 {
        next_ping(&mut conn, &mut program, interval_ms).map_err(|f| {
            Failure::new(format!(
                "with every other read interrupted (EINTR), your watcher must go on watching and send `ping\\n` after {interval_ms} ms without a byte; ping {nth}: {}",
                f.summary
            ))
            .with_panic(f.panic)
        })?;
        let took = last.elapsed();
        ctx.step(format!("ping {nth} came {} after the peer's last byte", secs(took)));
        // A timer fires late, never early: 250 ms leaves room for how the
        // grader measures, and still tells an interrupted read (a ping at
        // once) from 300 ms of silence, even when the watcher is slow to wake.
        if took < Duration::from_millis(250) {
            return Err(Failure::new(format!(
                "your watcher sent ping {nth} {} after the peer's last byte; with --heartbeat 300 a ping is due only after 300 ms of silence. A read that fails with EINTR (ErrorKind::Interrupted) is not a read timeout (WouldBlock): read again, without pinging",
                secs(took)
            )));
        }
        conn.send(b"pong\n")?;
        sent += 5;
        last = Instant::now();
    }
    conn.shutdown_write()?;
    expect_reply(&mut conn, &mut program, sent)?;
    conn.recv_to_end(REPORT, "nothing more")?;
    let (_, word) = expect_ended(&mut program, &["closed"], REPORT, "the peer's half-close, after your reply")?;
    expect_exit_0(&mut program, &word)
}

fn chatty_peer_not_pinged(ctx: &mut Ctx) -> Outcome {
    let interval_ms = 400;
    let (mut program, mut conn) = start(ctx, &["--heartbeat", "400"])?;
    // One ping and its pong first: from then on the watcher's silence is
    // timed from bytes the grader sent, at moments it knows.
    answer_pings(&mut conn, &mut program, 1, interval_ms)?;
    let mut sent = 5;
    let mut last_send = Instant::now();
    let mut longest_gap = Duration::ZERO;
    let mut pinged: Vec<u8> = Vec::new();
    let mut buf = [0u8; 256];
    for _ in 0..10 {
        let due = last_send + Duration::from_millis(100);
        while let Some(left) = due.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()) {
            conn.stream.set_read_timeout(Some(left)).ok();
            match conn.stream.read(&mut buf) {
                Ok(0) => {
                    return Err(Failure::new(format!(
                        "your watcher closed the connection while the peer sent a byte every 100 ms{}",
                        ended_note(&mut program)
                    ))
                    .with_panic(program.panic()));
                }
                Ok(n) => pinged.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {}
                Err(e) => return Err(Failure::io("reading from the watcher", &e)),
            }
        }
        conn.send(b".")?;
        let now = Instant::now();
        longest_gap = longest_gap.max(now - last_send);
        last_send = now;
        sent += 1;
    }
    ctx.step(format!(
        "the peer sent `.` 10 times, at most {} apart; the watcher sent {} meanwhile",
        secs(longest_gap),
        transcript::escape(&pinged)
    ));
    // A correct watcher pings only after 400 ms in which no byte arrived:
    // with every gap shorter than that (a margin of 20 ms for how the
    // grader measures), it cannot have pinged. A longer gap (the grader
    // itself was late on a busy machine) leaves nothing to judge.
    if !pinged.is_empty() && longest_gap < Duration::from_millis(380) {
        return Err(Failure::new(format!(
            "your watcher sent {} while the peer sent a byte at least every {}; with --heartbeat 400 a ping is due only after 400 ms without a byte from the peer",
            transcript::escape(&pinged),
            secs(longest_gap)
        )));
    }
    conn.shutdown_write()?;
    expect_reply(&mut conn, &mut program, sent)?;
    conn.recv_to_end(REPORT, "nothing more")?;
    let (_, word) = expect_ended(&mut program, &["closed"], REPORT, "the peer's half-close, after your reply")?;
    expect_exit_0(&mut program, &word)
}

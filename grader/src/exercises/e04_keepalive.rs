//! Hidden tests for exercise 04: TCP keepalive and connection reuse.
//!
//! The program is one binary with two roles: `keepalive server ADDRESS
//! [--idle S] [--interval S] [--count N]`, a line echo server that turns
//! keepalive on for each accepted socket, and `keepalive client ADDRESS
//! [same options] [--pause MS] REQUEST...`, which sends each request as a
//! line over one connection, prints each reply line, reconnects and resends
//! once when the server closed the connection, and exits with status 1 when
//! the server vanished. Its contract is the numbered list under "The task" in
//! docs/src/04-keepalive.md; each test names the clauses it checks.
//!
//! Options are read from the program's real socket by the grader itself
//! (`fixtures::sockets`, `pidfd_getfd(2)`): a program cannot print one thing
//! and do another. Vanished peers are made with `fixtures::vanish`: a
//! drop-all socket filter on the grader's own end of a loopback connection,
//! so no ACK, FIN or RST ever comes back, and on the grader's listener, so a
//! reconnect hangs as it would towards a host that is gone. No privilege and
//! no namespaces are needed.
//!
//! Timings (stated in docs/src/04-keepalive.md): with idle 1 s, interval 1 s
//! and 1 probe, the kernel gives up `DEAD` = 2 s after the last segment from
//! the peer (measured 1.98 to 2.06 s, also under load). A test accepts
//! detection from `DEAD - EARLY` after the last exchange up to `DEAD + LATE`
//! after the peer vanished.

use crate::ctx::{Client, Ctx, Failure, Outcome, accept_within};
use crate::fixtures::sockets;
use crate::fixtures::vanish::vanish;
use crate::platform::Need;
use crate::process::Program;
use crate::procfs;
use crate::registry::{Sharing, TestCase};
use crate::transcript;
use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

const S: Duration = Duration::from_secs(1);
/// The keepalive settings of the timing tests: the smallest the kernel
/// accepts, idle 1 s, interval 1 s, 1 probe.
const QUICK: Asked = Asked {
    idle: 1,
    interval: 1,
    count: 1,
};
/// idle + interval × count for `QUICK`.
const DEAD: Duration = Duration::from_secs(2);
/// How much earlier than `DEAD` a detection may come (timer granularity).
const EARLY: Duration = Duration::from_millis(500);
/// How much later than `DEAD` a detection may come on a loaded machine.
const LATE: Duration = Duration::from_secs(3);
/// How long a live client stays idle in `server-releases-vanished-client`,
/// and a live server stays silent in `client-waits-for-slow-server`.
const LIVE_SILENCE: Duration = Duration::from_millis(3500);
/// How soon a server must close the socket of a client that closed or reset.
const RELEASE: Duration = Duration::from_secs(2);
/// The pause asked for in `pauses-between-requests`, and what a measured
/// gap may be: from the pause minus the reply's trip, to the pause plus a
/// loaded machine's lateness.
const PAUSE: Duration = Duration::from_millis(400);
const PAUSE_MIN: Duration = Duration::from_millis(380);
const PAUSE_MAX: Duration = Duration::from_millis(750);
/// How many clients `serves-clients-at-once` holds at once: more than the
/// threads of any plausible fixed pool.
const CLIENTS_AT_ONCE: usize = 10;
/// The fixed lines of the contract (clauses 11 and 12).
const NO_ANSWER: &str = "error: no answer to ";
const VANISHED: &str = "error: server vanished";

pub const TESTS: &[TestCase] = &[
    TestCase {
        id: "server-options",
        scenario: "The server runs with --idle 7 --interval 3 --count 4; two clients connect, and the grader reads SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT from each socket the server accepted.",
        clauses: &[1, 3],
        points: 10,
        limit: Duration::from_secs(15),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "Keepalive is off on a new socket, and turning it on alone uses the system defaults (two hours idle, 75 s between probes, 9 probes); each timing is a per-socket option of its own.",
        hint: "On each accepted stream call SockRef::from(&stream).set_tcp_keepalive(&TcpKeepalive::new().with_time(idle).with_interval(interval).with_retries(count)).",
        docs_anchor: "keepalive-options-read-back-from-your-socket",
        run: server_options,
    },
    TestCase {
        id: "serves-clients-at-once",
        scenario: "Ten clients connect one after another and stay connected; each must get its line echoed while the others are connected and silent, two lines sent in one write (spaces, a tab, UTF-8 and a CR in them) must both come back byte for byte, and client 1 is echoed again at the end.",
        clauses: &[1, 2],
        points: 10,
        limit: Duration::from_secs(15),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "A thread per client: while one thread is blocked reading a silent client, the others keep serving theirs, and the main thread keeps accepting.",
        hint: "Accept in a loop and move each accepted stream into a thread of its own (std::thread::spawn); never serve a client on the accepting thread.",
        docs_anchor: "every-client-at-once",
        run: serves_clients_at_once,
    },
    TestCase {
        id: "server-releases-closed-clients",
        scenario: "Three clients connect; client 1 closes its connection (FIN) and client 2 resets it (SO_LINGER 0, an RST): the server must close both sockets within 2 s, stay idle on the CPU, and still echo client 3 and a new client 4.",
        clauses: &[1, 4],
        points: 10,
        limit: Duration::from_secs(15),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "A read of 0 bytes is the client's FIN and ECONNRESET is its RST: either way that client is gone, its socket must be closed, and the server goes on serving everyone else.",
        hint: "End the client's thread (dropping its stream) when a read returns 0 or fails; never exit the process because of one client, and never read again after 0.",
        docs_anchor: "a-client-that-closed-or-reset-is-released",
        run: server_releases_closed_clients,
    },
    TestCase {
        id: "server-releases-vanished-client",
        scenario: "Two clients exchange a line with the server (keepalive 1 s, 1 s, 1 probe); then client 2 vanishes (no FIN, no RST) while client 1 stays alive and idle: the server must close client 2's socket within 2 s + 3 s and not before 1.5 s, keep running, keep client 1 through 3.5 s of silence and echo its next line.",
        clauses: &[1, 5, 6],
        points: 20,
        limit: Duration::from_secs(20),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "A peer that vanishes sends nothing, not even a FIN or RST; only keepalive probes that go unanswered make the blocked read fail (ETIMEDOUT), after idle + interval × count. A live peer's kernel answers the probes, so a quiet client is never dropped; a read timeout would drop it.",
        hint: "Set all three keepalive timings on the accepted socket, let the thread end (closing the socket) when the read fails, and do not use set_read_timeout: it cannot tell a quiet client from a dead one.",
        docs_anchor: "a-client-that-vanished-is-released-a-quiet-one-stays",
        run: server_releases_vanished_client,
    },
    TestCase {
        id: "client-options",
        scenario: "The client runs with --idle 5 --interval 2 --count 6; the grader closes its first connection before answering, and reads the four keepalive options from the client's first and its reconnected socket.",
        clauses: &[8],
        points: 10,
        limit: Duration::from_secs(15),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "A client's connection needs keepalive as much as a server's: a client blocked waiting for a reply from a vanished server waits forever without it, and a new connection is a new socket with keepalive off.",
        hint: "Turn keepalive on, with all three timings, for every connection the client opens, including the ones it opens to reconnect.",
        docs_anchor: "keepalive-options-read-back-from-your-socket",
        run: client_options,
    },
    TestCase {
        id: "one-connection",
        scenario: "The client sends 8 requests to the grader's server, which counts connections: all 8 must travel over one connection, every reply must be printed as a line, in order and as it came (the 4th has spaces and a tab at its ends), and the client must exit with status 0.",
        clauses: &[7],
        points: 5,
        limit: Duration::from_secs(15),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "Connection reuse (HTTP's keep-alive): one TCP connection carries request after request, saving a handshake per request.",
        hint: "Open the connection once, before the loop over requests, and write every request on it.",
        docs_anchor: "one-connection-for-many-requests",
        run: one_connection,
    },
    TestCase {
        id: "pauses-between-requests",
        scenario: "The client runs with --pause 400 and 3 requests; the grader's server measures how long after each reply the next request arrives: between 380 and 750 ms.",
        clauses: &[9],
        points: 5,
        limit: Duration::from_secs(15),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "A pause between requests is the client's think time; during it the connection is idle, which is when servers close reused connections.",
        hint: "After printing a reply, std::thread::sleep(Duration::from_millis(pause)) before sending the next request.",
        docs_anchor: "one-connection-for-many-requests",
        run: pauses_between_requests,
    },
    TestCase {
        id: "reconnects-after-close",
        scenario: "The grader's server answers two requests, then closes the connection (FIN) while the client pauses (--pause 100); the client must reconnect, send request 3 on the new connection and get all 4 replies.",
        clauses: &[10],
        points: 5,
        limit: Duration::from_secs(15),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "A server may close a reused connection between requests; the client learns it only when its next read returns 0 bytes (or ECONNRESET), and must reconnect.",
        hint: "When the reply read returns 0 bytes (or fails with ConnectionReset/BrokenPipe), open a new connection and send the same request again.",
        docs_anchor: "reconnecting-when-the-server-closed",
        run: reconnects_after_close,
    },
    TestCase {
        id: "reconnects-after-reset",
        scenario: "The grader's server resets the connection (SO_LINGER 0, an RST) once while the client waits for reply 2, and once while it pauses after reply 2; the client must reconnect each time, resend the request, and get all 4 replies over 3 connections.",
        clauses: &[10],
        points: 5,
        limit: Duration::from_secs(15),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "An RST instead of a FIN: the blocked read fails with ECONNRESET, or the next write with ECONNRESET or EPIPE. The server is just as gone as after a FIN, so the client reconnects.",
        hint: "Treat ErrorKind::ConnectionReset and ErrorKind::BrokenPipe, from the write as well as from the read, like a read of 0 bytes.",
        docs_anchor: "reconnecting-when-the-server-closed",
        run: reconnects_after_reset,
    },
    TestCase {
        id: "retries-unanswered",
        scenario: "The grader's server reads request 2 and closes without answering, then later drops request 4 twice (a close, then a reset); the client must resend request 2 once, send request 4 no third time, and exit with status 1 and the line `error: no answer to <request 4>`.",
        clauses: &[10, 11],
        points: 5,
        limit: Duration::from_secs(15),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "A request that got no answer was not necessarily lost or done: resend it once on a new connection, and if that fails too, report it; never drop it silently or retry forever.",
        hint: "Retry exactly once per request; if the retry fails too, return an error whose message starts with `no answer to REQUEST`, so main prints `error: no answer to REQUEST` and exits with 1.",
        docs_anchor: "retrying-an-unanswered-request-once",
        run: retries_unanswered,
    },
    TestCase {
        id: "client-tells-vanished-from-slow",
        scenario: "Two clients run at once (keepalive 1 s, 1 s, 1 probe): client A's server is alive but answers only after 3.5 s; client B's server vanishes with its listener (no FIN, no RST, no answer to a new SYN). A must wait, print both replies and exit with status 0; B must exit with status 1 and the line `error: server vanished` within 2 s + 3 s and not before 1.5 s, without trying to connect again.",
        clauses: &[12, 13],
        points: 15,
        limit: Duration::from_secs(20),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "A slow server and a vanished one both leave a read waiting; only keepalive tells them apart: a live server's kernel answers the probes, a vanished one's does not, and the blocked read fails with ETIMEDOUT. A reconnect to a vanished host would hang in connect, so the client reports it.",
        hint: "Enable keepalive on the client's socket and put no read timeout on it; when the read fails with ErrorKind::TimedOut, return an error whose message starts with `server vanished` (do not reconnect).",
        docs_anchor: "a-server-that-vanished-is-noticed-a-slow-one-is-not",
        run: client_tells_vanished_from_slow,
    },
];

/// Keepalive timings a test asks for, in seconds.
#[derive(Clone, Copy)]
struct Asked {
    idle: u64,
    interval: u64,
    count: u32,
}

impl Asked {
    fn args(self) -> Vec<String> {
        vec![
            "--idle".into(),
            self.idle.to_string(),
            "--interval".into(),
            self.interval.to_string(),
            "--count".into(),
            self.count.to_string(),
        ]
    }
}

/// Keepalive timings for tests that are not about keepalive: long enough
/// never to fire during a test.
const PLAIN: Asked = Asked {
    idle: 10,
    interval: 5,
    count: 3,
};

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn millis(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

/// The system-wide default of a keepalive sysctl, for messages.
fn system_default(name: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/sys/net/ipv4/{name}"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Takes a duplicate of the program's socket connected to `grader_end`.
fn their_socket(ctx: &Ctx, program: &Program, grader_end: SocketAddr, whose: &str) -> Result<socket2::Socket, Failure> {
    match sockets::connected_to(program.pid(), grader_end) {
        Ok(Some(socket)) => {
            ctx.step(format!(
                "the grader took a copy of {whose} (the one connected to {grader_end}) with pidfd_getfd, to read its options"
            ));
            Ok(socket)
        }
        Ok(None) => Err(Failure::new(format!(
            "{whose}, connected to the grader's {grader_end}, was not among your program's open sockets when the grader looked"
        ))),
        Err(e) if matches!(e.raw_os_error(), Some(1) | Some(38)) => Err(Failure::skip(format!(
            "the grader may not look at your program's sockets on this machine (pidfd_getfd: {e})"
        ))),
        Err(e) => Err(Failure::new(format!(
            "the grader could not look at your program's sockets (pidfd_getfd failed: {e}). This is the grader's problem, not your program's"
        ))),
    }
}

/// Compares the four keepalive options of `socket` with what was asked,
/// looking again for up to half a second: a program may set them just after
/// its first write, and the grader must not fail it for looking too soon.
fn check_options(ctx: &Ctx, socket: &socket2::Socket, asked: Asked, whose: &str) -> Outcome {
    let deadline = Instant::now() + Duration::from_millis(500);
    loop {
        let seen = read_options(socket, whose)?;
        if seen == (true, asked.idle, asked.interval, asked.count) || Instant::now() >= deadline {
            return compare_options(ctx, seen, asked, whose);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT of `socket`.
fn read_options(socket: &socket2::Socket, whose: &str) -> Result<(bool, u64, u64, u32), Failure> {
    let read = |what: &str, e: std::io::Error| Failure::io(&format!("the grader reading {what} of {whose}"), &e);
    let on = socket.keepalive().map_err(|e| read("SO_KEEPALIVE", e))?;
    let idle = socket.tcp_keepalive_time().map_err(|e| read("TCP_KEEPIDLE", e))?.as_secs();
    let interval = socket.tcp_keepalive_interval().map_err(|e| read("TCP_KEEPINTVL", e))?.as_secs();
    let count = socket.tcp_keepalive_retries().map_err(|e| read("TCP_KEEPCNT", e))?;
    Ok((on, idle, interval, count))
}

fn compare_options(ctx: &Ctx, (on, idle, interval, count): (bool, u64, u64, u32), asked: Asked, whose: &str) -> Outcome {
    ctx.step(format!(
        "{whose}: SO_KEEPALIVE={}, TCP_KEEPIDLE={idle} s, TCP_KEEPINTVL={interval} s, TCP_KEEPCNT={count}",
        on as u8
    ));
    let note = |value: u64, unit: &str, sysctl: &str| {
        if system_default(sysctl) == Some(value) {
            format!("{value}{unit} (the system default from /proc/sys/net/ipv4/{sysctl})")
        } else {
            format!("{value}{unit}")
        }
    };
    if !on {
        return Err(Failure::new(format!(
            "SO_KEEPALIVE is off on {whose}: the kernel sends no keepalive probes on it, so a peer that vanishes is never noticed"
        )));
    }
    let mut wrong = Vec::new();
    if idle != asked.idle {
        wrong.push(format!(
            "TCP_KEEPIDLE is {}, expected {} s",
            note(idle, " s", "tcp_keepalive_time"),
            asked.idle
        ));
    }
    if interval != asked.interval {
        wrong.push(format!(
            "TCP_KEEPINTVL is {}, expected {} s",
            note(interval, " s", "tcp_keepalive_intvl"),
            asked.interval
        ));
    }
    if count != asked.count {
        wrong.push(format!(
            "TCP_KEEPCNT is {}, expected {}",
            note(count as u64, "", "tcp_keepalive_probes"),
            asked.count
        ));
    }
    if wrong.is_empty() {
        return Ok(());
    }
    Err(Failure::new(format!(
        "keepalive is on for {whose}, but {}. A timing left unset keeps the system default.",
        wrong.join("; ")
    )))
}

/// Sends `line` and expects it echoed within `timeout`.
fn echo_within(client: &mut Client, line: &str, timeout: Duration) -> Outcome {
    client.send(line.as_bytes())?;
    let got = client.recv_line(1024, timeout, &format!("the echo {}", transcript::escape(line.as_bytes())))?;
    match transcript::diff(line.as_bytes(), &got) {
        None => Ok(()),
        Some(diff) => Err(Failure::new(format!("the server's echo differs from the line sent; {diff}"))),
    }
}

fn echo(client: &mut Client, line: &str) -> Outcome {
    echo_within(client, line, 5 * S)
}

/// Asks the kernel to send any delayed ACK now (`TCP_QUICKACK`), so that no
/// byte of the program's stays unacknowledged when the grader's end vanishes:
/// with unacknowledged data the kernel retransmits instead of probing.
pub(crate) fn flush_ack(client: &Client) {
    let _ = socket2::SockRef::from(&client.stream).set_tcp_quickack(true);
}

/// Closes `client` with an RST instead of a FIN: `SO_LINGER` 0, then close.
fn reset(ctx: &Ctx, client: Client, why: &str) -> Outcome {
    socket2::SockRef::from(&client.stream)
        .set_linger(Some(Duration::ZERO))
        .map_err(|e| {
            Failure::new(format!(
                "the grader could not set SO_LINGER to 0 on its socket ({e}); this is the grader's problem"
            ))
        })?;
    let name = client.name.clone();
    drop(client);
    ctx.step(format!(
        "{name} resets the connection (SO_LINGER 0, then close: an RST, not a FIN) {why}"
    ));
    Ok(())
}

/// Makes one of the grader's own sockets vanish (`fixtures::vanish`).
fn make_vanish(socket: &impl std::os::fd::AsRawFd, what: &str) -> Outcome {
    vanish(socket).map_err(|e| {
        Failure::new(format!(
            "the grader could not attach a socket filter to {what} (SO_ATTACH_FILTER: {e}); this is the grader's problem, not your program's"
        ))
    })
}

/// Whether the connection of `client` is still open from the other side:
/// `Ok(None)` if it is, `Ok(Some(what happened))` if it was closed or reset.
fn closed_by_program(client: &Client) -> Result<Option<String>, Failure> {
    client
        .stream
        .set_nonblocking(true)
        .map_err(|e| Failure::new(format!("the grader could not make its socket non-blocking ({e})")))?;
    let result = match client.stream.peek(&mut [0u8; 64]) {
        Ok(0) => Some("closed the connection (the grader's read returned 0 bytes)".to_string()),
        Ok(n) => Some(format!("sent {n} bytes nobody asked for")),
        Err(e) if e.kind() == ErrorKind::WouldBlock => None,
        Err(e) => Some(format!(
            "ended the connection ({})",
            crate::oserror::explain("the grader's read", &e)
        )),
    };
    client.stream.set_nonblocking(false).ok();
    Ok(result)
}

/// `/proc/PID/fd` of a program that must still be running. A program that
/// exited is a zombie until the grader reaps it, and a zombie lists no
/// descriptors at all, which would read as "every socket released"; so the
/// count is trusted only if the program is still running after it was read.
fn live_fds(program: &mut Program, when: &str) -> Result<usize, Failure> {
    let fds = procfs::open_fds(program.pid());
    if let Some(status) = program.wait_exit(Duration::ZERO) {
        return Err(Failure::new(format!(
            "your server had exited ({}) when the grader looked {when}; it must keep running and serving its other clients",
            crate::process::describe_status(status)
        ))
        .with_panic(program.panic()));
    }
    fds
}

/// CPU time (user + system) the program used so far.
fn cpu_time(program: &Program) -> Result<Duration, Failure> {
    let (ticks, _) = procfs::cpu_and_state(program.pid())?;
    Ok(Duration::from_millis(ticks * 1000 / procfs::TICKS_PER_SECOND))
}

/// Whether some socket on this machine is in state SYN-SENT towards `addr`
/// (a `connect` under way), as the kernel lists them (see `sockdiag`).
fn syn_sent_to(addr: SocketAddr) -> bool {
    !crate::sockdiag::syn_sent_to(addr).is_empty()
}

/// Whether `stderr` has the contract's fixed line `fixed`, alone or followed
/// by `: ` and a cause.
fn has_fixed_line(stderr: &str, fixed: &str) -> bool {
    stderr.lines().any(|line| {
        let line = line.trim_end();
        line == fixed || line.starts_with(&format!("{fixed}: "))
    })
}

/// Starts the server with `asked` and waits for its `listening on` line.
fn start_server(ctx: &mut Ctx, asked: Asked) -> Result<(Program, SocketAddr), Failure> {
    let mut args = vec!["server".to_string(), "127.0.0.1:0".into()];
    args.extend(asked.args());
    let mut program = ctx.spawn(&strs(&args))?;
    let addr = ctx.wait_listening(&mut program)?;
    Ok((program, addr))
}

/// After the client finished, checks that it did not open yet another connection.
fn no_more_connections(ctx: &Ctx, listener: &TcpListener, expected: usize) -> Outcome {
    listener.set_nonblocking(true).ok();
    match listener.accept() {
        Ok(_) => Err(Failure::new(format!(
            "your client opened connection {} although {expected} were enough",
            expected + 1
        ))),
        Err(_) => {
            ctx.step(format!("the grader's server counted {expected} connection(s) in all"));
            Ok(())
        }
    }
}

/// Reads the next request line on `conn` and checks it is `expected`.
fn expect_request(conn: &mut Client, expected: &str, context: &str) -> Outcome {
    let line = format!("{expected}\n");
    let got = conn.recv_line(
        1024,
        5 * S,
        &format!("the request {} {context}", transcript::escape(line.as_bytes())),
    )?;
    match transcript::diff(line.as_bytes(), &got) {
        None => Ok(()),
        Some(diff) => Err(Failure::new(format!("expected the request {expected:?} {context}; {diff}"))),
    }
}

fn reply_to(request: &str) -> String {
    format!("re: {request}")
}

fn answer(conn: &mut Client, request: &str) -> Outcome {
    conn.send(format!("{}\n", reply_to(request)).as_bytes())
}

/// Waits for the client to print `reply` on a line of its own.
fn expect_printed(program: &mut Program, reply: &str) -> Outcome {
    program
        .wait_for_stdout(&format!("the reply line `{reply}` printed by your client"), 5 * S, |l| {
            (l == reply).then_some(())
        })
        .map_err(|f| f.with_panic(program.panic()))
}

fn expect_success(program: &mut Program) -> Outcome {
    match program.wait_exit(5 * S) {
        None => Err(Failure::new(
            "your client got every reply but was still running 5 s later; it should exit when its requests are done",
        )),
        Some(status) if status.success() => Ok(()),
        Some(status) => Err(Failure::new(format!(
            "your client got every reply but exited with {}; expected status 0",
            crate::process::describe_status(status)
        ))
        .with_panic(program.panic())),
    }
}

fn requests(ctx: &Ctx, n: usize) -> Vec<String> {
    let bytes = crate::ctx::random_bytes(ctx.seed, n * 2);
    (0..n)
        .map(|i| format!("req-{}-{:02x}{:02x}", i + 1, bytes[2 * i], bytes[2 * i + 1]))
        .collect()
}

fn spawn_client(ctx: &Ctx, addr: SocketAddr, asked: Asked, extra: &[&str], requests: &[String]) -> Result<Program, Failure> {
    let mut args = vec!["client".to_string(), addr.to_string()];
    args.extend(asked.args());
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(requests.iter().cloned());
    ctx.spawn(&strs(&args))
}

fn grader_listener(ctx: &Ctx) -> Result<(TcpListener, SocketAddr), Failure> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| Failure::new(format!("the grader could not start its server ({e}); this is the grader's problem")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::new(format!("the grader could not read its server's address ({e})")))?;
    ctx.step(format!("the grader's server listens on {addr} and counts connections"));
    Ok((listener, addr))
}

fn server_options(ctx: &mut Ctx) -> Outcome {
    let asked = Asked {
        idle: 7,
        interval: 3,
        count: 4,
    };
    let (program, addr) = start_server(ctx, asked)?;
    let mut clients = Vec::new();
    for i in 1..=2 {
        let mut client = ctx.connect(addr)?;
        echo(&mut client, &format!("hello from client {i}\n"))?;
        clients.push(client);
    }
    for (i, client) in clients.iter().enumerate() {
        let whose = format!("your server's socket for client {}", i + 1);
        let socket = their_socket(ctx, &program, client.local, &whose)?;
        check_options(ctx, &socket, asked, &whose)?;
    }
    Ok(())
}

fn serves_clients_at_once(ctx: &mut Ctx) -> Outcome {
    let (_program, addr) = start_server(ctx, PLAIN)?;
    let bytes = crate::ctx::random_bytes(ctx.seed, CLIENTS_AT_ONCE);
    let mut clients: Vec<Client> = Vec::new();
    for i in 1..=CLIENTS_AT_ONCE {
        let mut client = ctx.connect(addr)?;
        let line = format!("hello from client {i}, {:02x}\n", bytes[i - 1]);
        echo_within(&mut client, &line, 2 * S).map_err(|f| {
            if i == 1 {
                f
            } else {
                Failure::new(format!(
                    "{}, while {} other client(s) stayed connected and silent. Every client must be served at once, each on its own thread",
                    f.summary,
                    i - 1
                ))
            }
        })?;
        clients.push(client);
    }
    let client = &mut clients[CLIENTS_AT_ONCE - 1];
    let lines = ["two lines\n", "  in one write, with spaces, a tab\t, ünïcödé and a CR\r\n"];
    client.send(lines.concat().as_bytes())?;
    for line in lines {
        let got = client.recv_line(1024, 2 * S, &format!("the echo {}", transcript::escape(line.as_bytes())))?;
        if let Some(diff) = transcript::diff(line.as_bytes(), &got) {
            return Err(Failure::new(format!(
                "two lines sent in one write should come back as the same two lines, byte for byte; {diff}"
            )));
        }
    }
    echo_within(&mut clients[0], "client 1 again\n", 2 * S)
}

fn server_releases_closed_clients(ctx: &mut Ctx) -> Outcome {
    let (mut program, addr) = start_server(ctx, PLAIN)?;
    let mut staying = ctx.connect(addr)?;
    echo(&mut staying, "I stay\n")?;
    let one = live_fds(&mut program, "while one client was connected")?;
    ctx.step(format!(
        "with client 1 connected your server has {one} open file descriptors (ls /proc/{}/fd)",
        program.pid()
    ));
    let mut closing = ctx.connect(addr)?;
    echo(&mut closing, "I will close\n")?;
    let mut resetting = ctx.connect(addr)?;
    echo(&mut resetting, "I will reset\n")?;
    let three = live_fds(&mut program, "while three clients were connected")?;
    ctx.step(format!("with clients 1, 2 and 3 connected it has {three}"));
    let cpu_before = cpu_time(&program)?;
    drop(closing);
    ctx.step("client 2 closes its connection (close: a FIN)");
    reset(ctx, resetting, "")?;
    let left = Instant::now();
    let when = "after client 2 closed and client 3 reset their connections";
    loop {
        let now = live_fds(&mut program, when)?;
        if now <= one {
            ctx.step(format!(
                "{} later your server is back to {now} open file descriptors",
                millis(left.elapsed())
            ));
            break;
        }
        if left.elapsed() >= RELEASE {
            let cpu = cpu_time(&program)?.saturating_sub(cpu_before);
            return Err(Failure::new(format!(
                "{} {when}, your server still holds {now} open file descriptors ({one} with client 1 alone, {three} with all three): it has not closed their sockets. It used {} of CPU time meanwhile",
                secs(left.elapsed()),
                secs(cpu)
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // Nobody sends anything now: every thread of a server blocked in accept
    // and read sleeps (state S). A thread that keeps running is runnable
    // (state R) at nearly every look, however loaded the machine is, while
    // its CPU time depends on how much of a core the machine gives it.
    let window = Duration::from_millis(500);
    let cpu_before = cpu_time(&program)?;
    let (busy, looks) = procfs::runnable_looks(program.pid(), window)?;
    let used = cpu_time(&program)?.saturating_sub(cpu_before);
    live_fds(&mut program, "while no client sent anything")?;
    ctx.step(format!(
        "while no client sent anything, a thread of your server was running or ready to run at {busy} of {looks} looks (every 10 ms for {}), and it used {} of CPU time",
        millis(window),
        millis(used)
    ));
    if (looks >= 10 && busy * 10 >= looks * 6) || used * 5 > window {
        return Err(Failure::new(format!(
            "while no client sent anything, a thread of your server was running or ready to run at {busy} of {looks} looks over {}, and it used {} of CPU time: something in it keeps running instead of blocking in read or accept",
            millis(window),
            millis(used)
        )));
    }
    echo(&mut staying, "still served\n")?;
    let mut newcomer = ctx.connect(addr)?;
    echo(&mut newcomer, "a new client\n")
}

fn server_releases_vanished_client(ctx: &mut Ctx) -> Outcome {
    let (mut program, addr) = start_server(ctx, QUICK)?;
    let before = live_fds(&mut program, "before any client came")?;
    ctx.step(format!(
        "your server has {before} open file descriptors (ls /proc/{}/fd)",
        program.pid()
    ));
    let mut vanishing = ctx.connect(addr)?;
    echo(&mut vanishing, "are you there?\n")?;
    flush_ack(&vanishing);
    let last = Instant::now();
    let one = live_fds(&mut program, "while one client was connected")?;
    let mut live = ctx.connect(addr)?;
    echo(&mut live, "I am alive\n")?;
    flush_ack(&live);
    let live_last = Instant::now();
    let two = live_fds(&mut program, "while two clients were connected")?;
    ctx.step(format!("with client 1 connected it has {one}, with clients 1 and 2 {two}"));
    // Released: down by what client 2 added, so back to `one` (whatever the
    // server opened for good when its first client came stays counted).
    let released = one;
    make_vanish(&vanishing.stream, "client 1")?;
    let vanished = Instant::now();
    ctx.step(
        "client 1 vanishes: a socket filter on the grader's end drops every segment for it, so it answers nothing (no ACK, no FIN, no RST), like a machine that lost power; client 2 stays alive and idle",
    );
    let deadline = vanished + DEAD + LATE;
    let when = "while one of its clients had vanished";
    loop {
        let now = live_fds(&mut program, when)?;
        if now <= released {
            let took = last.elapsed();
            ctx.step(format!(
                "{} after the last exchange with client 1, your server has {now} open file descriptors: it closed a socket",
                secs(took)
            ));
            if took < DEAD - EARLY {
                return Err(Failure::new(format!(
                    "your server closed a client's socket only {} after the last exchange with client 1 ({} after client 2's); keepalive with idle 1 s, interval 1 s and 1 probe cannot know a client is gone before {}: something other than keepalive ended the connection",
                    secs(took),
                    secs(live_last.elapsed()),
                    secs(DEAD)
                )));
            }
            if let Some(what) = closed_by_program(&live)? {
                return Err(Failure::new(format!(
                    "client 2, alive and idle, found that your server {what} {} after its last exchange: its kernel answered every keepalive probe, so nothing should have dropped it",
                    secs(live_last.elapsed())
                )));
            }
            break;
        }
        if Instant::now() >= deadline {
            return Err(Failure::new(format!(
                "{} after client 1 vanished, your server still holds {now} open file descriptors ({before} before any client, {two} with both): it has not closed client 1's socket. With idle 1 s, interval 1 s and 1 probe keepalive gives up about {} after the last exchange",
                secs(vanished.elapsed()),
                secs(DEAD)
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let quiet_until = live_last + LIVE_SILENCE;
    ctx.step(format!(
        "client 2 stays idle until {} after its last exchange: its kernel keeps answering your server's keepalive probes",
        secs(LIVE_SILENCE)
    ));
    loop {
        let left = quiet_until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        live.stream
            .set_read_timeout(Some(left))
            .map_err(|e| Failure::new(format!("the grader could not set its read timeout ({e})")))?;
        match live.stream.read(&mut [0u8; 64]) {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {}
            Ok(0) => {
                return Err(Failure::new(format!(
                    "your server closed the connection of client 2, alive and idle, {} after its last exchange: its kernel answered every keepalive probe, so nothing should have dropped it",
                    secs(live_last.elapsed())
                )));
            }
            Ok(n) => return Err(Failure::new(format!("your server sent client 2 {n} bytes nobody asked for"))),
            Err(e) => {
                return Err(Failure::new(format!(
                    "{} after client 2's last exchange its connection failed: {}. A live, idle client must not be dropped",
                    secs(live_last.elapsed()),
                    crate::oserror::explain("reading", &e)
                )));
            }
        }
    }
    live_fds(&mut program, when)?;
    echo(&mut live, "still here\n").map_err(|f| {
        Failure::new(format!(
            "after {} of silence from client 2: {} A live client whose kernel answers the probes must stay connected",
            secs(live_last.elapsed()),
            f.summary
        ))
    })?;
    drop(vanishing);
    Ok(())
}

fn client_options(ctx: &mut Ctx) -> Outcome {
    let asked = Asked {
        idle: 5,
        interval: 2,
        count: 6,
    };
    let (listener, addr) = grader_listener(ctx)?;
    let reqs = ["first".to_string(), "second".to_string()];
    let mut program = spawn_client(ctx, addr, asked, &[], &reqs)?;
    let mut conn = accept_within(ctx, &listener, &mut program, 5 * S, "the grader's server on connection 1")?;
    expect_request(&mut conn, "first", "on connection 1")?;
    let whose = "your client's socket of connection 1";
    let socket = their_socket(ctx, &program, conn.local, whose)?;
    check_options(ctx, &socket, asked, whose)?;
    drop(socket);
    answer(&mut conn, "first")?;
    expect_request(&mut conn, "second", "on connection 1")?;
    drop(conn);
    ctx.step("the grader's server closes connection 1 without answering \"second\", so your client has to open a new connection");
    let mut conn = accept_within(ctx, &listener, &mut program, 5 * S, "the grader's server on connection 2")?;
    expect_request(&mut conn, "second", "again on connection 2")?;
    let whose = "your client's socket of connection 2 (its reconnection)";
    let socket = their_socket(ctx, &program, conn.local, whose)?;
    check_options(ctx, &socket, asked, whose)?;
    drop(socket);
    answer(&mut conn, "second")?;
    expect_printed(&mut program, &reply_to("first"))?;
    expect_printed(&mut program, &reply_to("second"))?;
    expect_success(&mut program)
}

fn one_connection(ctx: &mut Ctx) -> Outcome {
    let (listener, addr) = grader_listener(ctx)?;
    let reqs = requests(ctx, 8);
    let mut program = spawn_client(ctx, addr, PLAIN, &[], &reqs)?;
    let mut conn = accept_within(ctx, &listener, &mut program, 5 * S, "the grader's server on connection 1")?;
    // The 4th reply has spaces and a tab at its ends: a reply is printed as
    // it came, without its `\n` and nothing else removed.
    let replies: Vec<String> = reqs
        .iter()
        .enumerate()
        .map(|(i, r)| if i == 3 { format!("  {}\t ", reply_to(r)) } else { reply_to(r) })
        .collect();
    for (i, (request, reply)) in reqs.iter().zip(&replies).enumerate() {
        expect_request(&mut conn, request, "on connection 1").map_err(|f| {
            Failure::new(format!(
                "{} (after {i} answered requests). Send every request over the one connection you opened first",
                f.summary
            ))
        })?;
        conn.send(format!("{reply}\n").as_bytes())?;
    }
    for reply in &replies {
        expect_printed(&mut program, reply).map_err(|f| {
            if reply.starts_with(' ') {
                Failure::new(format!(
                    "{}; print the reply as it came, without its \\n only: trim() also removes the spaces and the tab at its ends",
                    f.summary
                ))
                .with_panic(f.panic)
            } else {
                f
            }
        })?;
    }
    expect_success(&mut program)?;
    let printed: Vec<String> = program.stdout_lines().into_iter().filter(|l| replies.contains(l)).collect();
    if printed != replies {
        return Err(Failure::new(format!(
            "your client printed the replies in the order {printed:?}; expected {replies:?}, one line per reply, in the order of the requests"
        )));
    }
    no_more_connections(ctx, &listener, 1)
}

fn pauses_between_requests(ctx: &mut Ctx) -> Outcome {
    let (listener, addr) = grader_listener(ctx)?;
    let reqs = requests(ctx, 3);
    let pause = PAUSE.as_millis().to_string();
    let mut program = spawn_client(ctx, addr, PLAIN, &["--pause", &pause], &reqs)?;
    let mut conn = accept_within(ctx, &listener, &mut program, 5 * S, "the grader's server on connection 1")?;
    expect_request(&mut conn, &reqs[0], "on connection 1")?;
    answer(&mut conn, &reqs[0])?;
    let mut answered = Instant::now();
    for (i, request) in reqs.iter().enumerate().skip(1) {
        expect_request(&mut conn, request, "on connection 1")?;
        let gap = answered.elapsed();
        ctx.step(format!("request {} arrived {} after reply {i} was sent", i + 1, millis(gap)));
        if gap < PAUSE_MIN {
            return Err(Failure::new(format!(
                "request {} arrived only {} after the reply to request {i} was sent; with --pause {pause} your client should wait {pause} ms after each reply before sending the next request",
                i + 1,
                millis(gap)
            )));
        }
        if gap > PAUSE_MAX {
            return Err(Failure::new(format!(
                "request {} arrived {} after the reply to request {i} was sent; with --pause {pause} the gap should be {pause} ms (up to {} on a loaded machine)",
                i + 1,
                millis(gap),
                millis(PAUSE_MAX)
            )));
        }
        answer(&mut conn, request)?;
        answered = Instant::now();
    }
    for request in &reqs {
        expect_printed(&mut program, &reply_to(request))?;
    }
    expect_success(&mut program)
}

fn reconnects_after_close(ctx: &mut Ctx) -> Outcome {
    let (listener, addr) = grader_listener(ctx)?;
    let reqs = requests(ctx, 4);
    let mut program = spawn_client(ctx, addr, PLAIN, &["--pause", "100"], &reqs)?;
    let mut conn = accept_within(ctx, &listener, &mut program, 5 * S, "the grader's server on connection 1")?;
    for request in &reqs[..2] {
        expect_request(&mut conn, request, "on connection 1")?;
        answer(&mut conn, request)?;
    }
    drop(conn);
    ctx.step(format!(
        "the grader's server closes connection 1 (a FIN) right after answering {:?}, as a server does with an idle keep-alive connection (your client was asked to pause 100 ms before its next request)",
        reqs[1]
    ));
    let mut conn = accept_within(ctx, &listener, &mut program, 5 * S, "the grader's server on connection 2").map_err(|f| {
        Failure::new(format!(
            "{}. Connection 1 was closed (a FIN): your client's next read there returns 0 bytes, and it should then reconnect",
            f.summary
        ))
    })?;
    for request in &reqs[2..] {
        expect_request(&mut conn, request, "on connection 2")?;
        answer(&mut conn, request)?;
    }
    for request in &reqs {
        expect_printed(&mut program, &reply_to(request))?;
    }
    expect_success(&mut program)?;
    no_more_connections(ctx, &listener, 2)
}

fn reconnects_after_reset(ctx: &mut Ctx) -> Outcome {
    let (listener, addr) = grader_listener(ctx)?;
    let reqs = requests(ctx, 4);
    let mut program = spawn_client(ctx, addr, PLAIN, &["--pause", "100"], &reqs)?;
    let mut conn = accept_within(ctx, &listener, &mut program, 5 * S, "the grader's server on connection 1")?;
    expect_request(&mut conn, &reqs[0], "on connection 1")?;
    answer(&mut conn, &reqs[0])?;
    expect_request(&mut conn, &reqs[1], "on connection 1")?;
    reset(ctx, conn, &format!("without answering {:?}", reqs[1]))?;
    let mut conn = accept_within(ctx, &listener, &mut program, 5 * S, "the grader's server on connection 2").map_err(|f| {
        Failure::new(format!(
            "{}. Connection 1 was reset (an RST): your client's read of the reply fails with ECONNRESET, and it should then reconnect",
            f.summary
        ))
    })?;
    expect_request(&mut conn, &reqs[1], "again on connection 2 (it got no answer on connection 1)")?;
    answer(&mut conn, &reqs[1])?;
    expect_printed(&mut program, &reply_to(&reqs[1]))?;
    reset(
        ctx,
        conn,
        "right after your client printed reply 2 (it was asked to pause 100 ms before request 3)",
    )?;
    let mut conn = accept_within(ctx, &listener, &mut program, 5 * S, "the grader's server on connection 3").map_err(|f| {
        Failure::new(format!(
            "{}. Connection 2 was reset (an RST): your client's next write or read there fails (ECONNRESET or EPIPE), and it should then reconnect",
            f.summary
        ))
    })?;
    for request in &reqs[2..] {
        expect_request(&mut conn, request, "on connection 3")?;
        answer(&mut conn, request)?;
    }
    for request in &reqs {
        expect_printed(&mut program, &reply_to(request))?;
    }
    expect_success(&mut program)?;
    no_more_connections(ctx, &listener, 3)
}

fn retries_unanswered(ctx: &mut Ctx) -> Outcome {
    let (listener, addr) = grader_listener(ctx)?;
    let reqs = requests(ctx, 5);
    let mut program = spawn_client(ctx, addr, PLAIN, &[], &reqs)?;
    let mut conn = accept_within(ctx, &listener, &mut program, 5 * S, "the grader's server on connection 1")?;
    expect_request(&mut conn, &reqs[0], "on connection 1")?;
    answer(&mut conn, &reqs[0])?;
    expect_request(&mut conn, &reqs[1], "on connection 1")?;
    drop(conn);
    ctx.step(format!(
        "the grader's server closes connection 1 without answering {:?}, as a crashing or restarting server would",
        reqs[1]
    ));
    let mut conn = accept_within(ctx, &listener, &mut program, 5 * S, "the grader's server on connection 2")?;
    expect_request(&mut conn, &reqs[1], "again on connection 2 (it got no answer on connection 1)")?;
    answer(&mut conn, &reqs[1])?;
    expect_request(&mut conn, &reqs[2], "on connection 2")?;
    answer(&mut conn, &reqs[2])?;
    expect_request(&mut conn, &reqs[3], "on connection 2")?;
    drop(conn);
    ctx.step(format!("the grader's server closes connection 2 without answering {:?}", reqs[3]));
    let mut conn = accept_within(ctx, &listener, &mut program, 5 * S, "the grader's server on connection 3")?;
    expect_request(&mut conn, &reqs[3], "again on connection 3 (it got no answer on connection 2)")?;
    // An RST this time, not a FIN: the second failure of a request is the
    // end of that request whichever way the server ends the connection.
    reset(
        ctx,
        conn,
        &format!("without answering {:?} again: that request has now failed twice", reqs[3]),
    )?;
    listener
        .set_nonblocking(true)
        .map_err(|e| Failure::new(format!("the grader could not make its listener non-blocking ({e})")))?;
    let gave_up = Instant::now();
    let status = loop {
        if let Some(status) = program.wait_exit(Duration::ZERO) {
            break status;
        }
        if listener.accept().is_ok() {
            return Err(Failure::new(format!(
                "after the request {:?} went unanswered twice, your client opened a fourth connection; a request is sent at most twice, then the client exits with status 1",
                reqs[3]
            )));
        }
        if gave_up.elapsed() >= 5 * S {
            return Err(Failure::new(format!(
                "the request {:?} went unanswered twice, but 5 s later your client was still running; after one retry it should exit with status 1",
                reqs[3]
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    if let Some(panic) = program.panic() {
        return Err(Failure::new(format!("your client panicked ({})", panic.message)).with_panic(Some(panic)));
    }
    if status.code() != Some(1) {
        return Err(Failure::new(format!(
            "your client exited with {} although {:?} never got an answer; expected status 1",
            crate::process::describe_status(status),
            reqs[3]
        )));
    }
    let fixed = format!("{NO_ANSWER}{}", reqs[3]);
    if !has_fixed_line(&program.stderr(), &fixed) {
        return Err(Failure::new(format!(
            "your client exited with status 1, but its stderr has no line `{fixed}` (alone, or followed by `: ` and a cause), the line the task asks for when a request fails twice"
        )));
    }
    for request in &reqs[..3] {
        expect_printed(&mut program, &reply_to(request))?;
    }
    no_more_connections(ctx, &listener, 3)
}

fn client_tells_vanished_from_slow(ctx: &mut Ctx) -> Outcome {
    let (slow_listener, slow_addr) = grader_listener(ctx)?;
    let (gone_listener, gone_addr) = grader_listener(ctx)?;
    let reqs = requests(ctx, 2);
    let gone_reqs = ["first".to_string(), "second".to_string()];
    let client_args = |addr: SocketAddr, requests: &[String]| {
        let mut args = vec!["client".to_string(), addr.to_string()];
        args.extend(QUICK.args());
        args.extend(requests.iter().cloned());
        args
    };
    let mut a = ctx.spawn_copy("your client A", &strs(&client_args(slow_addr, &reqs)))?;
    let mut b = ctx.spawn_copy("your client B", &strs(&client_args(gone_addr, &gone_reqs)))?;
    let a_fails = |f: Failure| Failure {
        summary: format!("Client A (its server is slow but alive): {}", f.summary),
        ..f
    };
    let b_fails = |f: Failure| Failure {
        summary: format!("Client B (its server vanished): {}", f.summary),
        ..f
    };

    // Client A's server reads the request and says nothing for a while.
    let mut slow = accept_within(ctx, &slow_listener, &mut a, 5 * S, "the slow server on client A's connection 1").map_err(a_fails)?;
    expect_request(&mut slow, &reqs[0], "on client A's connection 1").map_err(a_fails)?;
    flush_ack(&slow);
    let asked = Instant::now();
    ctx.step(format!(
        "the slow server, alive, takes {} to answer {:?}; its kernel answers client A's keepalive probes meanwhile",
        secs(LIVE_SILENCE),
        reqs[0]
    ));

    // Client B's server answers `first`, reads `second` and vanishes.
    let mut gone = accept_within(
        ctx,
        &gone_listener,
        &mut b,
        5 * S,
        "the vanishing server on client B's connection 1",
    )
    .map_err(b_fails)?;
    expect_request(&mut gone, "first", "on client B's connection 1").map_err(b_fails)?;
    answer(&mut gone, "first").map_err(b_fails)?;
    expect_request(&mut gone, "second", "on client B's connection 1").map_err(b_fails)?;
    flush_ack(&gone);
    let last = Instant::now();
    make_vanish(&gone.stream, "its connection")?;
    make_vanish(&gone_listener, "its listener")?;
    let vanished = Instant::now();
    ctx.step(format!(
        "the vanishing server vanishes without answering `second`: socket filters drop every segment for client B's connection and every new SYN to {gone_addr}, like a machine that lost power"
    ));

    slow_listener
        .set_nonblocking(true)
        .map_err(|e| Failure::new(format!("the grader could not make its listener non-blocking ({e})")))?;
    let mut b_done = false;
    while !b_done || asked.elapsed() < LIVE_SILENCE {
        if !b_done {
            if let Some(status) = b.wait_exit(Duration::ZERO) {
                judge_vanished_exit(ctx, &b, status, last.elapsed()).map_err(b_fails)?;
                b_done = true;
            } else if syn_sent_to(gone_addr) {
                return Err(b_fails(Failure::new(format!(
                    "{} after the server vanished, your client was opening a new connection to {gone_addr} (one of its sockets is in state SYN-SENT in /proc/net/tcp). A server that vanished answers no SYN: that connect can only hang. After ETIMEDOUT, exit with status 1 instead",
                    secs(vanished.elapsed())
                ))));
            } else if vanished.elapsed() >= DEAD + LATE {
                return Err(b_fails(Failure::new(format!(
                    "{} after the server vanished your client was still running; with keepalive idle 1 s, interval 1 s and 1 probe its read should fail with ETIMEDOUT about {} after the last exchange",
                    secs(vanished.elapsed()),
                    secs(DEAD)
                ))));
            }
        }
        if asked.elapsed() < LIVE_SILENCE {
            still_waiting(&mut a, &slow_listener, &slow, asked).map_err(a_fails)?;
        }
        std::thread::sleep(Duration::from_millis(10));
    }

    answer(&mut slow, &reqs[0]).map_err(a_fails)?;
    expect_request(&mut slow, &reqs[1], "on client A's connection 1").map_err(a_fails)?;
    answer(&mut slow, &reqs[1]).map_err(a_fails)?;
    for request in &reqs {
        expect_printed(&mut a, &reply_to(request)).map_err(a_fails)?;
    }
    expect_success(&mut a).map_err(a_fails)?;
    no_more_connections(ctx, &slow_listener, 1).map_err(a_fails)?;
    drop(gone);
    Ok(())
}

/// Checks how a client left after its server vanished: not sooner than
/// keepalive can know, with status 1 and the contract's line.
fn judge_vanished_exit(ctx: &Ctx, program: &Program, status: std::process::ExitStatus, took: Duration) -> Outcome {
    ctx.step(format!("{} exited {} after the last exchange", program.name(), secs(took)));
    if let Some(panic) = program.panic() {
        return Err(Failure::new(format!(
            "your client panicked ({}) instead of reporting that the server vanished",
            panic.message
        ))
        .with_panic(Some(panic)));
    }
    if took < DEAD - EARLY {
        return Err(Failure::new(format!(
            "your client gave up only {} after the last exchange; keepalive with these settings cannot know before {}: something other than keepalive ended the wait",
            secs(took),
            secs(DEAD)
        )));
    }
    if status.code() != Some(1) {
        return Err(Failure::new(format!(
            "your client exited with {} although its request got no answer; expected status 1",
            crate::process::describe_status(status)
        )));
    }
    if !has_fixed_line(&program.stderr(), VANISHED) {
        return Err(Failure::new(format!(
            "your client exited with status 1, but its stderr has no line `{VANISHED}` (alone, or followed by `: ` and a cause), the line the task asks for when a read fails with ETIMEDOUT"
        )));
    }
    Ok(())
}

/// While its server is slow but alive, a client must keep waiting on its
/// connection: not exit, not connect again, not close or reset.
fn still_waiting(program: &mut Program, listener: &TcpListener, conn: &Client, asked: Instant) -> Outcome {
    let while_slow = "while its server was slow but alive (its kernel answered every keepalive probe); it should wait for the reply";
    if let Some(status) = program.wait_exit(Duration::ZERO) {
        return Err(Failure::new(format!(
            "your client exited ({}) {} after sending its request, {while_slow}",
            crate::process::describe_status(status),
            secs(asked.elapsed())
        ))
        .with_panic(program.panic()));
    }
    match listener.accept() {
        Ok(_) => {
            return Err(Failure::new(format!(
                "your client opened a second connection {} after sending its request, {while_slow} on connection 1",
                secs(asked.elapsed())
            )));
        }
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        Err(e) => return Err(Failure::io("the grader accepting a connection from your client", &e)),
    }
    if let Some(what) = closed_by_program(conn)? {
        return Err(Failure::new(format!(
            "on connection 1, your client {what} {} after sending its request, {while_slow}",
            secs(asked.elapsed())
        )));
    }
    Ok(())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use socket2::{SockRef, TcpKeepalive};
    use std::net::TcpStream;

    /// The bound the timing tests rest on (docs/src/04-keepalive.md): with
    /// keepalive 1 s / 1 s / 1 probe a blocked read on a connection whose
    /// peer vanished fails with ETIMEDOUT about `DEAD` after the last
    /// segment: not before `DEAD - EARLY`, and well within `DEAD + LATE`.
    #[test]
    fn quick_keepalive_gives_up_after_dead() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let peer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut watcher, _) = listener.accept().unwrap();
        let keepalive = TcpKeepalive::new()
            .with_time(Duration::from_secs(QUICK.idle))
            .with_interval(Duration::from_secs(QUICK.interval))
            .with_retries(QUICK.count);
        SockRef::from(&watcher).set_tcp_keepalive(&keepalive).unwrap();
        let last = Instant::now();
        vanish(&peer).unwrap();
        watcher.set_read_timeout(Some(DEAD + LATE)).unwrap();
        let err = watcher.read(&mut [0; 16]).unwrap_err();
        let took = last.elapsed();
        assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
        assert!(
            took >= DEAD - EARLY && took < DEAD + S,
            "ETIMEDOUT after {took:?}, expected about {DEAD:?}"
        );
        drop(peer);
    }

    /// A connect under way towards a vanished listener shows in
    /// `/proc/net/tcp` as SYN-SENT, which is how a reconnect is caught.
    #[test]
    fn sees_a_connect_under_way() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        vanish(&listener).unwrap();
        assert!(!syn_sent_to(addr));
        let connecting = std::thread::spawn(move || TcpStream::connect_timeout(&addr, Duration::from_millis(1500)));
        let deadline = Instant::now() + S;
        while !syn_sent_to(addr) {
            assert!(Instant::now() < deadline, "no SYN-SENT socket towards {addr} in /proc/net/tcp");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(connecting.join().unwrap().is_err());
        // The same through an IPv6 socket and a v4-mapped address.
        let v6 = socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::STREAM, None).unwrap();
        let std::net::IpAddr::V4(ip) = addr.ip() else {
            unreachable!("bound to 127.0.0.1")
        };
        let mapped = SocketAddr::new(ip.to_ipv6_mapped().into(), addr.port());
        v6.set_nonblocking(true).unwrap();
        let _ = v6.connect(&mapped.into());
        let deadline = Instant::now() + S;
        while !syn_sent_to(addr) {
            assert!(Instant::now() < deadline, "no SYN-SENT socket towards {mapped} in /proc/net/tcp6");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The contract's fixed lines: alone, or followed by `: ` and a cause.
    #[test]
    fn fixed_lines_alone_or_with_a_cause() {
        assert!(has_fixed_line("error: server vanished\n", VANISHED));
        assert!(has_fixed_line(
            "reconnecting\nerror: server vanished: Connection timed out (os error 110)",
            VANISHED
        ));
        assert!(!has_fixed_line("error: the server vanished", VANISHED));
        assert!(!has_fixed_line("error: server vanishedx", VANISHED));
        let line = format!("{NO_ANSWER}req-4-ab");
        assert!(has_fixed_line(
            "error: no answer to req-4-ab: the server closed the connection",
            &line
        ));
        assert!(!has_fixed_line("error: no answer to req-4-abc", &line));
    }
}

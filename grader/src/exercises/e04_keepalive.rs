//! Hidden tests for exercise 04: TCP keepalive and connection reuse.
//!
//! The program is one binary with two roles: `keepalive server ADDRESS
//! [--idle S] [--interval S] [--count N]`, a line echo server that turns
//! keepalive on for each accepted socket, and `keepalive client ADDRESS
//! [same options] [--pause MS] REQUEST...`, which sends each request as a
//! line over one connection, prints each reply line, reconnects and resends
//! once when the server closed the connection, and exits non-zero when the
//! server vanished.
//!
//! Options are read from the program's real socket by the grader itself
//! (`fixtures::sockets`, `pidfd_getfd(2)`): a program cannot print one thing
//! and do another. Vanished peers are made with `fixtures::netns`: the
//! grader's end of the connection lives in another network namespace whose
//! cable it cuts, so no FIN or RST is ever sent.
//!
//! Timings (stated in docs/src/04-keepalive.md): with idle 1 s, interval 1 s
//! and 2 probes, the kernel gives up `DEAD` = 3 s after the last packet from
//! the peer (measured 3.05 to 3.09 s, also under load). A test accepts
//! detection from `DEAD - EARLY` after the last exchange up to `DEAD + LATE`
//! after the cut.

use crate::ctx::{Client, Ctx, Failure, Outcome};
use crate::fixtures::netns::{NetPair, YOUR_ADDR};
use crate::fixtures::sockets;
use crate::platform::Need;
use crate::process::Program;
use crate::procfs;
use crate::registry::TestCase;
use crate::transcript;
use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

const S: Duration = Duration::from_secs(1);
/// The keepalive settings of the timing tests: idle 1 s, interval 1 s, 2 probes.
const FAST: [&str; 6] = ["--idle", "1", "--interval", "1", "--count", "2"];
/// idle + interval × count for `FAST`.
const DEAD: Duration = Duration::from_secs(3);
/// How much earlier than `DEAD` a detection may come (timer granularity).
const EARLY: Duration = Duration::from_millis(500);
/// How much later than `DEAD` a detection may come on a loaded machine.
const LATE: Duration = Duration::from_secs(4);

pub const TESTS: &[TestCase] = &[
    TestCase {
        id: "server-options",
        scenario: "The server runs with --idle 7 --interval 3 --count 4; the grader reads SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT from the socket it accepted for a client.",
        clauses: &[],
        points: 10,
        limit: Duration::from_secs(15),
        needs: &[Need::Linux],
        exclusive: false,
        concept: "Keepalive is off on a new socket, and turning it on alone uses the system defaults (two hours idle, 75 s between probes, 9 probes); each timing is a per-socket option of its own.",
        hint: "On each accepted stream call SockRef::from(&stream).set_tcp_keepalive(&TcpKeepalive::new().with_time(idle).with_interval(interval).with_retries(count)).",
        docs_anchor: "keepalive-options-read-back-from-your-socket",
        run: server_options,
    },
    TestCase {
        id: "client-options",
        scenario: "The client runs with --idle 5 --interval 2 --count 6; the grader reads the four keepalive options from the client's connected socket.",
        clauses: &[],
        points: 10,
        limit: Duration::from_secs(15),
        needs: &[Need::Linux],
        exclusive: false,
        concept: "A client's connection needs keepalive as much as a server's: a client blocked waiting for a reply from a vanished server waits forever without it.",
        hint: "Turn keepalive on, with all three timings, for every connection the client opens, including the ones it opens to reconnect.",
        docs_anchor: "keepalive-options-read-back-from-your-socket",
        run: client_options,
    },
    TestCase {
        id: "server-releases-vanished-client",
        scenario: "A client in another network namespace talks to the server (keepalive 1 s, 1 s, 2 probes), then its cable is cut; the server must close that client's socket within 3 s + 4 s, and not before 2.5 s.",
        clauses: &[],
        points: 15,
        limit: Duration::from_secs(40),
        needs: &[Need::Linux, Need::UserNamespaces],
        exclusive: false,
        concept: "A peer that vanishes sends nothing, not even a FIN or RST; only keepalive probes that go unanswered make the blocked read fail (ETIMEDOUT), after idle + interval × count.",
        hint: "Set all three keepalive timings on the accepted socket, and let the thread end (closing the socket) when the read fails.",
        docs_anchor: "a-client-that-vanished-is-released",
        run: server_releases_vanished_client,
    },
    TestCase {
        id: "idle-client-survives",
        scenario: "A live client stays idle for 8 s, more than twice what keepalive 1 s, 1 s, 2 probes needs to declare a dead peer; its next line must still be echoed.",
        clauses: &[],
        points: 15,
        limit: Duration::from_secs(25),
        needs: &[],
        exclusive: false,
        concept: "A live peer's kernel answers keepalive probes even when the program there is idle, so keepalive never drops a quiet connection; a read timeout would.",
        hint: "Detect dead peers with keepalive, not with set_read_timeout: a timeout cannot tell a quiet client from a dead one.",
        docs_anchor: "an-idle-client-that-is-alive-stays",
        run: idle_client_survives,
    },
    TestCase {
        id: "client-detects-vanished-server",
        scenario: "The client (keepalive 1 s, 1 s, 2 probes) waits for a reply from a server in another namespace whose cable is then cut; it must exit non-zero saying so within 3 s + 4 s, and not before 2.5 s.",
        clauses: &[],
        points: 15,
        limit: Duration::from_secs(40),
        needs: &[Need::Linux, Need::UserNamespaces],
        exclusive: false,
        concept: "Keepalive makes a client's blocked read fail with ETIMEDOUT when the server vanished; retrying would hang in connect, so the client reports it.",
        hint: "Enable keepalive on the client's socket; when the read fails with ErrorKind::TimedOut, return an error saying the server vanished (do not reconnect).",
        docs_anchor: "a-server-that-vanished-is-noticed",
        run: client_detects_vanished_server,
    },
    TestCase {
        id: "one-connection",
        scenario: "The client sends 8 requests to the grader's server, which counts connections: all 8 must travel over one connection and every reply must be printed.",
        clauses: &[],
        points: 10,
        limit: Duration::from_secs(15),
        needs: &[],
        exclusive: false,
        concept: "Connection reuse (HTTP's keep-alive): one TCP connection carries request after request, saving a handshake per request.",
        hint: "Open the connection once, before the loop over requests, and write every request on it.",
        docs_anchor: "one-connection-for-many-requests",
        run: one_connection,
    },
    TestCase {
        id: "reconnects-after-close",
        scenario: "The grader's server answers two requests, then closes the idle connection while the client pauses; the client must reconnect and still get all 4 replies.",
        clauses: &[],
        points: 15,
        limit: Duration::from_secs(15),
        needs: &[],
        exclusive: false,
        concept: "A server may close a reused connection between requests; the client learns it only when its next read returns 0 bytes (or ECONNRESET), and must reconnect.",
        hint: "When the reply read returns 0 bytes (or fails with ConnectionReset/BrokenPipe), open a new connection and send the same request again.",
        docs_anchor: "reconnecting-when-the-server-closed",
        run: reconnects_after_close,
    },
    TestCase {
        id: "retries-unanswered",
        scenario: "The grader's server reads request 2 and closes without answering, then later drops request 4 twice; the client must resend request 2 once, and give up on request 4 after one retry with an error naming it.",
        clauses: &[],
        points: 10,
        limit: Duration::from_secs(15),
        needs: &[],
        exclusive: false,
        concept: "A request that got no answer was not necessarily lost or done: resend it once on a new connection, and if that fails too, report it; never drop it silently or retry forever.",
        hint: "Retry exactly once per request; if the retry fails too, return an error that names the request, so main prints it and exits with 1.",
        docs_anchor: "retrying-an-unanswered-request-once",
        run: retries_unanswered,
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

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
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
            "{whose} connected to {grader_end} was not found among your program's open sockets; did it close the connection?"
        ))),
        Err(e) if matches!(e.raw_os_error(), Some(1) | Some(38)) => Err(Failure::skip(format!(
            "the grader may not look at your program's sockets on this machine (pidfd_getfd: {e})"
        ))),
        Err(e) => Err(Failure::io("looking at your program's sockets with pidfd_getfd", &e)),
    }
}

/// Compares the four keepalive options of `socket` with what was asked.
fn check_options(ctx: &Ctx, socket: &socket2::Socket, asked: Asked, whose: &str) -> Outcome {
    let read = |what: &str, e: std::io::Error| Failure::io(&format!("reading {what} of {whose}"), &e);
    let on = socket.keepalive().map_err(|e| read("SO_KEEPALIVE", e))?;
    let idle = socket.tcp_keepalive_time().map_err(|e| read("TCP_KEEPIDLE", e))?.as_secs();
    let interval = socket.tcp_keepalive_interval().map_err(|e| read("TCP_KEEPINTVL", e))?.as_secs();
    let count = socket.tcp_keepalive_retries().map_err(|e| read("TCP_KEEPCNT", e))?;
    ctx.step(format!(
        "{whose}: SO_KEEPALIVE={}, TCP_KEEPIDLE={idle} s, TCP_KEEPINTVL={interval} s, TCP_KEEPCNT={count}",
        on as u8
    ));
    let note = |value: u64, sysctl: &str| {
        if system_default(sysctl) == Some(value) {
            format!("{value} (the system default from /proc/sys/net/ipv4/{sysctl})")
        } else {
            value.to_string()
        }
    };
    if !on {
        return Err(Failure::new(format!(
            "SO_KEEPALIVE is off on {whose}: keepalive was never turned on, so a peer that vanishes is never noticed"
        )));
    }
    let mut wrong = Vec::new();
    if idle != asked.idle {
        wrong.push(format!(
            "TCP_KEEPIDLE is {} s, expected {} s",
            note(idle, "tcp_keepalive_time"),
            asked.idle
        ));
    }
    if interval != asked.interval {
        wrong.push(format!(
            "TCP_KEEPINTVL is {} s, expected {} s",
            note(interval, "tcp_keepalive_intvl"),
            asked.interval
        ));
    }
    if count != asked.count {
        wrong.push(format!(
            "TCP_KEEPCNT is {}, expected {}",
            note(count as u64, "tcp_keepalive_probes"),
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

/// Sends `line` and expects it echoed.
fn echo(client: &mut Client, line: &str) -> Outcome {
    client.send(line.as_bytes())?;
    let got = client.recv_line(1024, 5 * S, &format!("the echo {}", transcript::escape(line.as_bytes())))?;
    match transcript::diff(line.as_bytes(), &got) {
        None => Ok(()),
        Some(diff) => Err(Failure::new(format!("the server's echo differs from the line sent; {diff}"))),
    }
}

/// Asks the kernel to send any delayed ACK now (`TCP_QUICKACK`), so that no
/// byte of the program's stays unacknowledged when the cable is cut: with
/// unacknowledged data the kernel retransmits instead of probing.
pub(crate) fn flush_ack(client: &Client) {
    let _ = socket2::SockRef::from(&client.stream).set_tcp_quickack(true);
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn server_options(ctx: &mut Ctx) -> Outcome {
    let asked = Asked {
        idle: 7,
        interval: 3,
        count: 4,
    };
    let mut args = vec!["server".to_string(), "127.0.0.1:0".into()];
    args.extend(asked.args());
    let mut program = ctx.spawn(&strs(&args))?;
    let addr = ctx.wait_listening(&mut program)?;
    let mut client = ctx.connect(addr)?;
    echo(&mut client, "hello\n")?;
    let socket = their_socket(ctx, &program, client.local, "your server's socket for client 1")?;
    check_options(ctx, &socket, asked, "your server's socket for client 1")
}

/// Accepts one connection within `timeout`, failing if the program exits first.
pub(crate) fn accept_within(
    ctx: &mut Ctx,
    listener: &TcpListener,
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
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Err(Failure::io("accepting a connection from your client", &e)),
        }
        if program.poll_exit().is_some() {
            return Err(Failure::new(format!("expected your client to connect ({name}), but it exited first")).with_panic(program.panic()));
        }
        if Instant::now() >= deadline {
            return Err(Failure::new(format!(
                "expected your client to connect ({name}) within {}, but no connection came",
                secs(timeout)
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
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
            "your client got every reply but exited with {}",
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
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| Failure::io("binding the grader's server", &e))?;
    let addr = listener.local_addr().map_err(|e| Failure::io("reading the grader's address", &e))?;
    ctx.step(format!("the grader's server listens on {addr} and counts connections"));
    Ok((listener, addr))
}

const PLAIN: Asked = Asked {
    idle: 10,
    interval: 5,
    count: 3,
};

fn client_options(ctx: &mut Ctx) -> Outcome {
    let asked = Asked {
        idle: 5,
        interval: 2,
        count: 6,
    };
    let (listener, addr) = grader_listener(ctx)?;
    let reqs = ["first".to_string(), "second".to_string()];
    let mut program = spawn_client(ctx, addr, asked, &[], &reqs)?;
    let mut conn = accept_within(ctx, &listener, &mut program, 5 * S, "the grader's server (connection 1)")?;
    expect_request(&mut conn, "first", "on connection 1")?;
    let local = conn.local;
    let socket = their_socket(ctx, &program, local, "your client's socket")?;
    check_options(ctx, &socket, asked, "your client's socket")?;
    drop(socket);
    answer(&mut conn, "first")?;
    expect_request(&mut conn, "second", "on connection 1")?;
    answer(&mut conn, "second")?;
    expect_printed(&mut program, &reply_to("first"))?;
    expect_printed(&mut program, &reply_to("second"))?;
    expect_success(&mut program)
}

fn server_releases_vanished_client(ctx: &mut Ctx) -> Outcome {
    let pair = NetPair::create(ctx)?;
    let mut args = vec!["server".to_string(), format!("{YOUR_ADDR}:0")];
    args.extend(FAST.iter().map(|s| s.to_string()));
    let mut program = pair.spawn_yours(ctx, None, &strs(&args))?;
    let addr = ctx.wait_listening(&mut program)?;
    let pid = program.pid();
    let before = procfs::open_fds(pid)?;
    ctx.step(format!("your server has {before} open file descriptors (ls /proc/{pid}/fd)"));
    let mut client = pair.connect_from_peer(ctx, addr)?;
    echo(&mut client, "are you there?\n")?;
    flush_ack(&client);
    let during = procfs::open_fds(pid)?;
    ctx.step(format!(
        "while client 1 is connected your server has {during} open file descriptors"
    ));
    let last = Instant::now();
    pair.cut_peer_link()?;
    let cut = Instant::now();
    let deadline = cut + DEAD + LATE;
    loop {
        let now = procfs::open_fds(pid)?;
        if now <= before {
            let took = last.elapsed();
            ctx.step(format!(
                "your server closed client 1's socket {} after the last exchange ({now} open file descriptors)",
                secs(took)
            ));
            if took < DEAD - EARLY {
                return Err(Failure::new(format!(
                    "your server dropped the client only {} after its last packet; keepalive with idle 1 s, interval 1 s and 2 probes cannot know the client is gone before {}: something else (a read timeout?) dropped it",
                    secs(took),
                    secs(DEAD)
                )));
            }
            return Ok(());
        }
        if let Some(status) = program.poll_exit() {
            return Err(Failure::new(format!(
                "your server exited ({}) when one client vanished; it should release that client and keep serving others",
                crate::process::describe_status(status)
            ))
            .with_panic(program.panic()));
        }
        if Instant::now() >= deadline {
            return Err(Failure::new(format!(
                "{} after the client's cable was cut, your server still holds {now} file descriptors (it had {before} before the client came): it has not noticed that the client vanished. With idle 1 s, interval 1 s and 2 probes keepalive gives up after about {}",
                secs(cut.elapsed()),
                secs(DEAD)
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn idle_client_survives(ctx: &mut Ctx) -> Outcome {
    let mut args = vec!["server".to_string(), "127.0.0.1:0".into()];
    args.extend(FAST.iter().map(|s| s.to_string()));
    let mut program = ctx.spawn(&strs(&args))?;
    let addr = ctx.wait_listening(&mut program)?;
    let mut client = ctx.connect(addr)?;
    echo(&mut client, "first line\n")?;
    let idle = 8 * S;
    ctx.step(format!(
        "client 1 stays idle for {}: its kernel keeps answering your server's keepalive probes",
        secs(idle)
    ));
    let started = Instant::now();
    client
        .stream
        .set_read_timeout(Some(idle))
        .map_err(|e| Failure::io("setting the grader's read timeout", &e))?;
    match client.stream.read(&mut [0u8; 64]) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        Ok(0) => {
            return Err(Failure::new(format!(
                "your server closed the connection of a live, idle client after {}; keepalive probes were answered, so nothing should have dropped it (a read timeout?)",
                secs(started.elapsed())
            )));
        }
        Ok(n) => return Err(Failure::new(format!("your server sent {n} bytes nobody asked for"))),
        Err(e) => {
            return Err(Failure::new(format!(
                "after {} of idleness the connection failed: {}. A live, idle client must not be dropped",
                secs(started.elapsed()),
                crate::oserror::explain("reading", &e)
            )));
        }
    }
    echo(&mut client, "still here\n").map_err(|f| {
        Failure::new(format!(
            "after {} of idleness: {} A live client whose kernel answers the probes must stay connected",
            secs(idle),
            f.summary
        ))
    })
}

fn client_detects_vanished_server(ctx: &mut Ctx) -> Outcome {
    let pair = NetPair::create(ctx)?;
    let listener = pair.listen_in_peer()?;
    let addr = listener.local_addr().map_err(|e| Failure::io("reading the grader's address", &e))?;
    ctx.step(format!("the grader's server listens on {addr} in the namespace \"peer\""));
    let mut args = vec!["client".to_string(), addr.to_string()];
    args.extend(FAST.iter().map(|s| s.to_string()));
    args.extend(["first".to_string(), "second".to_string()]);
    let mut program = pair.spawn_yours(ctx, None, &strs(&args))?;
    let mut conn = accept_within(ctx, &listener, &mut program, 10 * S, "the grader's server (connection 1)")?;
    expect_request(&mut conn, "first", "on connection 1")?;
    answer(&mut conn, "first")?;
    expect_request(&mut conn, "second", "on connection 1")?;
    flush_ack(&conn);
    ctx.step("the grader's server does not answer `second`: your client is now blocked waiting for the reply");
    let last = Instant::now();
    pair.cut_peer_link()?;
    let cut = Instant::now();
    let Some(status) = program.wait_exit(DEAD + LATE) else {
        return Err(Failure::new(format!(
            "{} after the server's cable was cut your client was still waiting; with keepalive idle 1 s, interval 1 s and 2 probes its read should fail with ETIMEDOUT after about {}",
            secs(cut.elapsed()),
            secs(DEAD)
        )));
    };
    let took = last.elapsed();
    ctx.step(format!("your client exited {} after the last exchange", secs(took)));
    if let Some(panic) = program.panic() {
        return Err(Failure::new(format!(
            "your client panicked ({}) instead of reporting that the server vanished",
            panic.message
        ))
        .with_panic(Some(panic)));
    }
    if took < DEAD - EARLY {
        return Err(Failure::new(format!(
            "your client gave up only {} after the last exchange; keepalive with these settings cannot know before {}: something else (a read timeout?) ended the wait",
            secs(took),
            secs(DEAD)
        )));
    }
    if status.success() {
        return Err(Failure::new(
            "your client exited with status 0 although its request got no answer; report the vanished server and exit non-zero",
        ));
    }
    let stderr = program.stderr().to_lowercase();
    if !(stderr.contains("timed out") || stderr.contains("vanish")) {
        return Err(Failure::new(
            "your client exited non-zero, but its message says neither that the connection timed out nor that the server vanished",
        ));
    }
    Ok(())
}

fn one_connection(ctx: &mut Ctx) -> Outcome {
    let (listener, addr) = grader_listener(ctx)?;
    let reqs = requests(ctx, 8);
    let mut program = spawn_client(ctx, addr, PLAIN, &[], &reqs)?;
    let mut conn = accept_within(ctx, &listener, &mut program, 5 * S, "the grader's server (connection 1)")?;
    for (i, request) in reqs.iter().enumerate() {
        expect_request(&mut conn, request, "on connection 1").map_err(|f| {
            Failure::new(format!(
                "{} (after {i} answered requests). Send every request over the one connection you opened first",
                f.summary
            ))
        })?;
        answer(&mut conn, request)?;
    }
    for request in &reqs {
        expect_printed(&mut program, &reply_to(request))?;
    }
    expect_success(&mut program)?;
    no_more_connections(ctx, &listener, 1)
}

fn reconnects_after_close(ctx: &mut Ctx) -> Outcome {
    let (listener, addr) = grader_listener(ctx)?;
    let reqs = requests(ctx, 4);
    let mut program = spawn_client(ctx, addr, PLAIN, &["--pause", "300"], &reqs)?;
    let mut conn = accept_within(ctx, &listener, &mut program, 5 * S, "the grader's server (connection 1)")?;
    for request in &reqs[..2] {
        expect_request(&mut conn, request, "on connection 1")?;
        answer(&mut conn, request)?;
    }
    drop(conn);
    ctx.step("the grader's server closes connection 1 while your client pauses between requests, as a server does with an idle keep-alive connection");
    let mut conn = accept_within(ctx, &listener, &mut program, 5 * S, "the grader's server (connection 2)").map_err(|f| {
        Failure::new(format!(
            "{} Your client should notice the close (its read of the reply returns 0 bytes) and reconnect",
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

fn retries_unanswered(ctx: &mut Ctx) -> Outcome {
    let (listener, addr) = grader_listener(ctx)?;
    let reqs = requests(ctx, 5);
    let mut program = spawn_client(ctx, addr, PLAIN, &[], &reqs)?;
    let mut conn = accept_within(ctx, &listener, &mut program, 5 * S, "the grader's server (connection 1)")?;
    expect_request(&mut conn, &reqs[0], "on connection 1")?;
    answer(&mut conn, &reqs[0])?;
    expect_request(&mut conn, &reqs[1], "on connection 1")?;
    drop(conn);
    ctx.step(format!(
        "the grader's server closes connection 1 without answering {:?}, as a crashing or restarting server would",
        reqs[1]
    ));
    let mut conn = accept_within(ctx, &listener, &mut program, 5 * S, "the grader's server (connection 2)")?;
    expect_request(&mut conn, &reqs[1], "again on connection 2 (it got no answer on connection 1)")?;
    answer(&mut conn, &reqs[1])?;
    expect_request(&mut conn, &reqs[2], "on connection 2")?;
    answer(&mut conn, &reqs[2])?;
    expect_request(&mut conn, &reqs[3], "on connection 2")?;
    drop(conn);
    ctx.step(format!("the grader's server closes connection 2 without answering {:?}", reqs[3]));
    let mut conn = accept_within(ctx, &listener, &mut program, 5 * S, "the grader's server (connection 3)")?;
    expect_request(&mut conn, &reqs[3], "again on connection 3 (it got no answer on connection 2)")?;
    drop(conn);
    ctx.step(format!(
        "the grader's server closes connection 3 without answering {:?} again: your client should give up on it now",
        reqs[3]
    ));
    let Some(status) = program.wait_exit(5 * S) else {
        return Err(Failure::new(format!(
            "the request {:?} went unanswered twice, but 5 s later your client was still running; after one retry, report it and exit non-zero",
            reqs[3]
        )));
    };
    if let Some(panic) = program.panic() {
        return Err(Failure::new(format!("your client panicked ({})", panic.message)).with_panic(Some(panic)));
    }
    if status.success() {
        return Err(Failure::new(format!(
            "your client exited with status 0 although {:?} never got an answer: a request must never be dropped silently",
            reqs[3]
        )));
    }
    if !program.stderr().contains(&reqs[3]) {
        return Err(Failure::new(format!(
            "your client exited non-zero, but its error message does not name the request {:?} that got no answer",
            reqs[3]
        )));
    }
    for request in &reqs[..3] {
        expect_printed(&mut program, &reply_to(request))?;
    }
    no_more_connections(ctx, &listener, 3)
}

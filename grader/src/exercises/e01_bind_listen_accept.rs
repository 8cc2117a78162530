//! Hidden tests for exercise 01: a threaded TCP echo server.
//!
//! The program under test is started as `PROGRAM ADDRESS`, must print
//! `listening on <bound address>`, greet each client with
//! `hello <client address>\n`, echo everything until the client closes its
//! side, then close. The chapter states this as a numbered contract
//! (`docs/src/01-bind-listen-accept.md`, "The contract"); each test names the
//! clauses it checks, and `grader/tests/catalogue/` proves, for each clause,
//! that a program breaking it fails.

use crate::ctx::{Client, Ctx, Failure, IO_TIMEOUT, Outcome, random_bytes};
use crate::fdlimit;
use crate::platform::Need;
use crate::process::Program;
use crate::procfs;
use crate::registry::{Sharing, TestCase};
use crate::transcript;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

const S: Duration = Duration::from_secs(1);

/// How many silent clients `clients-at-once` holds: more than any plausible
/// fixed pool of worker threads (pools of 4 to 128 are common), fewer than
/// the 1024 descriptors a desktop allows by default.
const SILENT: usize = 200;

pub const TESTS: &[TestCase] = &[
    TestCase {
        id: "printed-address",
        scenario: "The program binds 127.0.0.1:0, prints the port the kernel chose, and a client connecting there is greeted.",
        clauses: &[1, 3],
        points: 8,
        limit: Duration::from_secs(10),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "Binding port 0 asks the kernel for any free port; only getsockname() (local_addr) can tell you which one it chose.",
        hint: "Print listener.local_addr(), not the address you were given: with port 0 they differ.",
        docs_anchor: "the-printed-address-accepts-connections",
        run: printed_address,
    },
    TestCase {
        id: "ipv6",
        scenario: "The program binds [::1]:0, the IPv6 loopback, and greets and echoes a client there.",
        clauses: &[2, 3, 4],
        points: 6,
        limit: Duration::from_secs(10),
        needs: &[Need::Ipv6],
        sharing: Sharing::Shared,
        concept: "A socket's address family (AF_INET or AF_INET6) is chosen when it is created, so it must match the address you bind.",
        hint: "Create the socket with Domain::for_address(addr) rather than Domain::IPV4.",
        docs_anchor: "ipv4-and-ipv6",
        run: ipv6,
    },
    TestCase {
        id: "echo-binary",
        scenario: "A client sends zero bytes, invalid UTF-8 and every byte value, closes its side, and must get exactly those bytes back, then the end of the connection.",
        clauses: &[3, 4, 5],
        points: 8,
        limit: Duration::from_secs(10),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "TCP carries bytes, not text: an echo must not decode, trim or re-encode anything, and read() returning 0 is the client's close.",
        hint: "Echo the bytes you read (&buf[..n]) unchanged; do not go through String. Stop when read returns Ok(0) and let the stream drop.",
        docs_anchor: "echo-is-exact-and-binary-safe",
        run: echo_binary,
    },
    TestCase {
        id: "echo-1mib",
        scenario: "A client streams 1 MiB of random bytes while reading the echo at the same time; every byte must come back in order.",
        clauses: &[4],
        points: 6,
        limit: Duration::from_secs(20),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "A large message arrives in many reads of whatever size the kernel has ready; the server must keep reading and writing until the client closes.",
        hint: "Loop: read whatever is there, write all of it back, repeat until read returns 0.",
        docs_anchor: "echo-is-exact-and-binary-safe",
        run: echo_1mib,
    },
    TestCase {
        id: "short-writes",
        scenario: "Each send() on the program's sockets accepts only 1 to 7 bytes (as the kernel may); the greeting and a 64 KiB echo must still arrive whole.",
        clauses: &[6],
        points: 8,
        limit: Duration::from_secs(20),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "send()/write() returns how many bytes it accepted, which may be fewer than you gave it; the rest is still yours to send.",
        hint: "In write_full, loop until the buffer is empty: buf = &buf[n..] after each write that accepted n bytes.",
        docs_anchor: "partial-writes",
        run: short_writes,
    },
    TestCase {
        id: "interrupted-writes",
        scenario: "Every other send() on the program's blocking sockets fails with EINTR, as when a signal interrupts it; the greeting and a 64 KiB echo must still arrive whole.",
        clauses: &[7],
        points: 4,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "A blocking send() interrupted by a signal before it sent anything fails with EINTR (ErrorKind::Interrupted): nothing went wrong with the connection, and the call is simply made again.",
        hint: "In write_full, when write fails with ErrorKind::Interrupted, loop and write the same bytes again; return only other errors.",
        docs_anchor: "partial-writes",
        run: interrupted_writes,
    },
    TestCase {
        id: "interrupted-reads",
        scenario: "Every other read (recv) on the program's blocking sockets fails with EINTR, the first one included, as when a signal interrupts it; the greeting and a 64 KiB echo must still arrive whole.",
        clauses: &[7],
        points: 4,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "A blocking read() interrupted by a signal before any data arrived fails with EINTR (ErrorKind::Interrupted): the connection is fine and the client has not left, so the call is simply made again.",
        hint: "In handle_client, when read fails with ErrorKind::Interrupted, read again; only Ok(0) (the client closed) and other errors end the client.",
        docs_anchor: "partial-writes",
        run: interrupted_reads,
    },
    TestCase {
        id: "clients-in-turn",
        scenario: "Twenty clients connect one after another; each is greeted, echoed and closed.",
        clauses: &[3, 4, 5, 8],
        points: 6,
        limit: Duration::from_secs(15),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "accept() returns a new socket per client while the listening socket keeps listening; the server loops back to accept() for the next one.",
        hint: "Call accept() in a loop; never let one client's end stop the server.",
        docs_anchor: "many-clients",
        run: clients_in_turn,
    },
    TestCase {
        id: "clients-at-once",
        scenario: "200 clients connect, are greeted, and stay connected and silent; eight more connect meanwhile, and each of them must be greeted and echoed.",
        clauses: &[9],
        points: 8,
        limit: Duration::from_secs(15),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "read() blocks its thread until data arrives. A server whose threads all wait on silent clients, whether it has one thread or a fixed pool of them, cannot serve anybody else meanwhile.",
        hint: "Serve each accepted stream on a thread of its own (std::thread::spawn with a move closure), however many clients there are.",
        docs_anchor: "many-clients",
        run: clients_at_once,
    },
    TestCase {
        id: "restart-time-wait",
        scenario: "The program is killed while a client is connected, then started again on the same port at once, while the old connection sits in TIME_WAIT.",
        clauses: &[10],
        points: 8,
        limit: Duration::from_secs(15),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "The side that closes a TCP connection first keeps it in TIME_WAIT for up to a minute; without SO_REUSEADDR, bind() refuses the port until then.",
        hint: "Call socket.set_reuse_address(true) before bind().",
        docs_anchor: "restarting-so_reuseaddr-and-time_wait",
        run: restart_time_wait,
    },
    TestCase {
        id: "port-in-use",
        scenario: "Another listener already holds the port; the program must report it clearly, naming the address, and exit with a non-zero status.",
        clauses: &[11],
        points: 6,
        limit: Duration::from_secs(10),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "bind() fails with EADDRINUSE when another live socket listens on the port; SO_REUSEADDR does not change that. A server reports such errors, it does not panic.",
        hint: "Map the bind error to one that names the address (io::Error::new(e.kind(), format!(\"cannot bind {addr}: {e}\"))) and return it; main prints it and exits with 1.",
        docs_anchor: "a-port-already-in-use",
        run: port_in_use,
    },
    TestCase {
        id: "second-copy",
        scenario: "A second copy of the program is started on the port the first one listens on; it must report the port taken and exit, and the first must still serve.",
        clauses: &[11],
        points: 6,
        limit: Duration::from_secs(10),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "Two live listening sockets may share a port only if both set SO_REUSEPORT, which spreads connections between them: a second copy of a server would then silently take half of the first one's clients.",
        hint: "Set SO_REUSEADDR only (set_reuse_address), never SO_REUSEPORT (set_reuse_port): then a second copy's bind() fails with EADDRINUSE.",
        docs_anchor: "a-port-already-in-use",
        run: second_copy,
    },
    TestCase {
        id: "closes-sockets",
        scenario: "Thirty clients come and go; afterwards the program must hold no more open file descriptors than before they came.",
        clauses: &[4, 5],
        points: 8,
        limit: Duration::from_secs(15),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "Every accepted connection is a file descriptor until it is closed. A server that forgets to close leaks one per client until accept() fails with EMFILE.",
        hint: "Let the TcpStream drop (return from handle_client) once the client has closed; do not keep it in a collection or mem::forget it.",
        docs_anchor: "closing-every-client-socket",
        run: closes_sockets,
    },
    TestCase {
        id: "accept-error",
        scenario: "The program's limit on open files is lowered until accept() fails with EMFILE, then restored; it must keep serving its clients meanwhile and greet a new one afterwards.",
        clauses: &[12],
        points: 6,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "accept() fails when the process may open no more file descriptors (EMFILE) or the system none (ENFILE). Such a failure is about this moment, not about the listening socket: a server reports it and accepts again.",
        hint: "In serve, report an accept error (eprintln!) and continue the loop; do not return, unwrap or exit. Pausing briefly before the next accept keeps the loop from spinning while no descriptor is free.",
        docs_anchor: "when-accept-fails",
        run: accept_error,
    },
    TestCase {
        id: "client-resets",
        scenario: "A client floods the program without reading the echo, then resets the connection (RST) while the program is writing to it; the program must close that socket, use no CPU for it, and serve a new client.",
        clauses: &[13],
        points: 8,
        limit: Duration::from_secs(15),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "A reset connection fails every later write (ECONNRESET, then EPIPE) and will never work again: only EINTR means \"try again\". A handler that retries other errors loops at full speed forever.",
        hint: "In write_full, retry only ErrorKind::Interrupted and return every other error; handle_client then returns it, which drops (closes) the stream.",
        docs_anchor: "when-a-client-fails",
        run: client_resets,
    },
];

/// Starts the program on `bind` and waits for its `listening on` line.
fn start(ctx: &Ctx, bind: &str) -> Result<(Program, SocketAddr), Failure> {
    start_with(ctx, bind, &[])
}

fn start_with(ctx: &Ctx, bind: &str, env: &[(&str, &str)]) -> Result<(Program, SocketAddr), Failure> {
    let mut program = ctx.spawn_with(&[bind], env)?;
    let addr = ctx.wait_listening(&mut program)?;
    let asked: SocketAddr = bind.parse().expect("tests pass valid addresses");
    if addr.port() == 0 {
        return Err(Failure::new(format!(
            "expected the address the kernel actually bound, but your program printed {addr}: port 0, as in the address it was given ({bind}), and nobody can connect to port 0"
        )));
    }
    if addr.ip() != asked.ip() || (asked.port() != 0 && addr.port() != asked.port()) {
        return Err(Failure::new(format!(
            "asked to bind {bind}, your program printed {addr}, which is not that address"
        )));
    }
    Ok((program, addr))
}

/// Reads the greeting and checks it names this client's own address.
fn expect_greeting(client: &mut Client) -> Outcome {
    let expected = format!("hello {}\n", client.local);
    let got = client.recv_line(256, 3 * S, &format!("the greeting {}", transcript::escape(expected.as_bytes())))?;
    match transcript::diff(expected.as_bytes(), &got) {
        None => Ok(()),
        Some(diff) => Err(Failure::new(format!("the greeting is not `hello <client address>\\n`; {diff}"))
            .hint("Send format!(\"hello {peer}\\n\") where peer is the address accept() returned.")),
    }
}

/// Sends `payload`, closes the sending side, and checks the echo and the close.
fn echo_once(client: &mut Client, payload: &[u8]) -> Outcome {
    client.send(payload)?;
    client.shutdown_write()?;
    let back = client.recv_to_end(5 * S, &format!("the {} bytes echoed back", payload.len()))?;
    match transcript::diff(payload, &back) {
        None => Ok(()),
        Some(diff) => Err(Failure::new(format!("the echo differs from what was sent; {diff}"))),
    }
}

fn printed_address(ctx: &mut Ctx) -> Outcome {
    let (_program, addr) = start(ctx, "127.0.0.1:0")?;
    let mut client = ctx.connect(addr)?;
    expect_greeting(&mut client)
}

fn ipv6(ctx: &mut Ctx) -> Outcome {
    let (_program, addr) = start(ctx, "[::1]:0")?;
    let mut client = ctx.connect(addr)?;
    expect_greeting(&mut client)?;
    echo_once(&mut client, b"over IPv6\n")
}

fn echo_binary(ctx: &mut Ctx) -> Outcome {
    let (_program, addr) = start(ctx, "127.0.0.1:0")?;
    let mut client = ctx.connect(addr)?;
    expect_greeting(&mut client)?;
    let mut payload = b"zero\x00bytes, invalid UTF-8 \xff\xfe\xc3(, CRLF\r\n, every byte: ".to_vec();
    payload.extend(0..=255u8);
    echo_once(&mut client, &payload)
}

/// Streams `payload` from a second thread while this one reads the echo, so
/// neither side's buffers can fill up and deadlock the exchange.
fn echo_streamed(ctx: &Ctx, client: &mut Client, payload: Vec<u8>, timeout: Duration) -> Outcome {
    let mut writer = client
        .stream
        .try_clone()
        .map_err(|e| Failure::io("cloning the client socket", &e))?;
    let len = payload.len();
    ctx.step(format!(
        "{} streams {len} random bytes (seed {}) in writes of up to 8 KiB, reading the echo at the same time",
        client.name, ctx.seed
    ));
    let sender = std::thread::spawn(move || -> std::io::Result<()> {
        for chunk in payload.chunks(8192) {
            writer.write_all(chunk)?;
        }
        writer.shutdown(std::net::Shutdown::Write)
    });
    let expected = random_bytes(ctx.seed, len);
    let deadline = Instant::now() + timeout;
    let mut back = Vec::with_capacity(len);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if Instant::now() >= deadline {
            break;
        }
        match client.stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => back.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => break,
            Err(e) => return Err(Failure::io(&format!("{} reading the echo", client.name), &e)),
        }
    }
    let sent = sender.join().unwrap_or(Ok(()));
    ctx.step(format!("{} received {} bytes back", client.name, back.len()));
    if let Err(e) = sent {
        return Err(Failure::io(&format!("{} sending", client.name), &e));
    }
    match transcript::diff(&expected, &back) {
        None => Ok(()),
        Some(diff) => Err(Failure::new(format!("the echo of {len} bytes differs from what was sent; {diff}"))),
    }
}

fn echo_1mib(ctx: &mut Ctx) -> Outcome {
    let (_program, addr) = start(ctx, "127.0.0.1:0")?;
    let mut client = ctx.connect(addr)?;
    expect_greeting(&mut client)?;
    let payload = random_bytes(ctx.seed, 1 << 20);
    echo_streamed(ctx, &mut client, payload, 15 * S)
}

fn short_writes(ctx: &mut Ctx) -> Outcome {
    let short = ctx.short_writes_env(7)?;
    let env = short.env();
    let (_program, addr) = start_with(ctx, "127.0.0.1:0", &env)?;
    let mut client = ctx.connect(addr)?;
    expect_greeting(&mut client)
        .map_err(|f| f.hint("The greeting arrived cut short: send it with your write loop, not a single write."))?;
    let payload = random_bytes(ctx.seed, 64 * 1024);
    echo_streamed(ctx, &mut client, payload, 15 * S)
        .map_err(|f| f.hint("Bytes went missing: a write accepted only part of the buffer and the rest was never sent. Loop in write_full until the buffer is empty."))
}

fn interrupted_writes(ctx: &mut Ctx) -> Outcome {
    let eintr = ctx.interrupted_writes_env()?;
    let env = eintr.env();
    let (_program, addr) = start_with(ctx, "127.0.0.1:0", &env)?;
    let mut client = ctx.connect(addr)?;
    expect_greeting(&mut client)?;
    let payload = random_bytes(ctx.seed, 64 * 1024);
    echo_streamed(ctx, &mut client, payload, 5 * S)
}

fn interrupted_reads(ctx: &mut Ctx) -> Outcome {
    let eintr = ctx.interrupted_reads_env()?;
    let env = eintr.env();
    let (_program, addr) = start_with(ctx, "127.0.0.1:0", &env)?;
    let mut client = ctx.connect(addr)?;
    expect_greeting(&mut client)?;
    let payload = random_bytes(ctx.seed, 64 * 1024);
    echo_streamed(ctx, &mut client, payload, 5 * S)
        .map_err(|f| f.hint("A read failed with EINTR (ErrorKind::Interrupted) and your program ended the client: retry the read instead."))
}

fn clients_in_turn(ctx: &mut Ctx) -> Outcome {
    let (_program, addr) = start(ctx, "127.0.0.1:0")?;
    for i in 1..=20 {
        let mut client = ctx.connect(addr)?;
        expect_greeting(&mut client)?;
        echo_once(&mut client, format!("message from client {i}\n").as_bytes())?;
    }
    Ok(())
}

/// Connects one silent client (not logged: there are hundreds) and reads
/// its greeting; `Err` says what was seen instead.
fn silent_client(addr: SocketAddr) -> Result<TcpStream, String> {
    let mut stream =
        TcpStream::connect_timeout(&addr, IO_TIMEOUT).map_err(|e| crate::oserror::explain(&format!("connecting to {addr}"), &e))?;
    let local = stream.local_addr().map_err(|e| format!("reading its address: {e}"))?;
    let expected = format!("hello {local}\n");
    let deadline = Instant::now() + 3 * S;
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while !got.ends_with(b"\n") && got.len() < expected.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let seen = if got.is_empty() {
                "nothing arrived".to_string()
            } else {
                format!("only {} arrived", transcript::escape(&got))
            };
            return Err(format!("it was not greeted within 3 s ({seen})"));
        }
        stream.set_read_timeout(Some(left)).ok();
        match stream.read(&mut buf) {
            Ok(0) => return Err(format!("the connection was closed after {}", transcript::escape(&got))),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut | std::io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(crate::oserror::explain("reading the greeting", &e)),
        }
    }
    match transcript::diff(expected.as_bytes(), &got) {
        None => Ok(stream),
        Some(diff) => Err(format!("its greeting is not `hello <client address>\\n`; {diff}")),
    }
}

fn clients_at_once(ctx: &mut Ctx) -> Outcome {
    // The grader holds one socket per client, and so does the program, which
    // inherits the grader's limit on open files.
    fdlimit::ensure_open_files((SILENT + 200) as u64).map_err(Failure::skip)?;
    let (_program, addr) = start(ctx, "127.0.0.1:0")?;
    ctx.step(format!(
        "{SILENT} clients connect one after another; each waits for its greeting and then stays connected and silent: it sends nothing and reads nothing more"
    ));
    let mut silent = Vec::with_capacity(SILENT);
    for i in 1..=SILENT {
        match silent_client(addr) {
            Ok(stream) => silent.push(stream),
            Err(why) => {
                return Err(Failure::new(format!(
                    "silent client {i} (the {} before it connected and silent): {why}",
                    i - 1
                )));
            }
        }
    }
    ctx.step(format!("all {SILENT} silent clients were greeted and are still connected"));
    let mut others = Vec::new();
    for _ in 0..8 {
        others.push(ctx.connect(addr)?);
    }
    // Served in reverse order of connection, so the test does not depend on
    // the order in which the server accepts (CodeCrafters' testers do the same).
    for client in others.iter_mut().rev() {
        expect_greeting(client)
            .and_then(|()| echo_once(client, format!("{} is here\n", client.name).as_bytes()))
            .map_err(|f| Failure::new(format!("{}, while {SILENT} other clients stayed connected and silent", f.summary)))?;
    }
    // The silent clients were served too: their connections are still open.
    for (i, stream) in silent.iter().enumerate() {
        stream.set_nonblocking(true).ok();
        let mut byte = [0u8; 1];
        match stream.peek(&mut byte) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Ok(0) => {
                return Err(Failure::new(format!(
                    "silent client {} found its connection closed by your program (a read returned 0 bytes) although it never closed its side; a server keeps a connection open until the client closes it",
                    i + 1
                )));
            }
            Ok(_) => {
                return Err(Failure::new(format!(
                    "silent client {} received bytes after its greeting although it sent nothing",
                    i + 1
                )));
            }
            Err(e) => return Err(Failure::io(&format!("silent client {} checking its connection", i + 1), &e)),
        }
    }
    ctx.step(format!("all {SILENT} silent clients are still connected"));
    Ok(())
}

fn restart_time_wait(ctx: &mut Ctx) -> Outcome {
    let port = port_below_ephemeral_range();
    let (mut program, addr) = start(ctx, &format!("127.0.0.1:{port}"))?;
    let mut client = ctx.connect(addr)?;
    expect_greeting(&mut client)?;
    program.kill();
    ctx.step(
        "the grader killed your program (SIGKILL), as a crash would: the kernel closes its sockets, so the server's side closes first",
    );
    client.recv_to_end(5 * S, "the end of the connection")?;
    drop(client);
    ctx.step(format!(
        "client 1 closed too; the server's end of that connection is now in TIME_WAIT on port {} (see `ss -tan state time-wait`)",
        addr.port()
    ));
    let (_again, _) = start(ctx, &addr.to_string()).map_err(|f| {
        Failure::new(format!(
            "restarting on {addr} while the old connection is in TIME_WAIT failed: {}",
            f.summary
        ))
        .with_panic(f.panic)
    })?;
    let mut client = ctx.connect(addr)?;
    expect_greeting(&mut client)
}

/// A free port that the kernel never hands out by itself: below the range
/// it takes ephemeral ports from (`/proc/sys/net/ipv4/ip_local_port_range`),
/// so no other test's `bind` to port 0 or `connect` can take it between
/// the kill and the restart, and this test runs beside the others. Port 0
/// (the kernel's choice) where the range cannot be read.
fn port_below_ephemeral_range() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let Some(low) = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u32>().ok())
        .filter(|&low| low > 5000)
    else {
        return 0;
    };
    // A different start in every process, then a different port for each call.
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() ^ std::process::id());
    for _ in 0..100 {
        let port = low - 1 - (start.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed)) % 4000);
        // Free means a bind without SO_REUSEADDR succeeds (no listener, no
        // TIME_WAIT there).
        let free = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .and_then(|s| s.bind(&SocketAddr::from(([127, 0, 0, 1], port as u16)).into()))
            .is_ok();
        if free {
            return port as u16;
        }
    }
    0
}

/// Expects `program`, started on `addr` while another live socket listens
/// there, to report the address on stderr and exit non-zero within 5 s,
/// without printing `listening on` and without panicking.
fn expect_bind_refused(program: &mut Program, addr: SocketAddr) -> Outcome {
    let listening = program.wait_for_stdout("", 5 * S, |line| {
        line.trim().strip_prefix("listening on ").map(|a| a.trim().to_string())
    });
    if let Ok(printed) = listening {
        return Err(Failure::new(format!(
            "{} printed `listening on {printed}` although another socket is listening on {addr}: its bind() succeeded, so two live servers share the port",
            program.name()
        )));
    }
    let Some(status) = program.wait_exit(Duration::from_millis(100)) else {
        return Err(Failure::new(format!(
            "expected {} to report that {addr} is taken and exit, but it was still running after 5 s",
            program.name()
        )));
    };
    if let Some(panic) = program.panic() {
        return Err(Failure::new(format!(
            "{} panicked ({}) instead of reporting that {addr} is in use",
            program.name(),
            panic.message
        ))
        .with_panic(Some(panic)));
    }
    if status.success() {
        return Err(Failure::new(format!(
            "{} exited with status 0, which tells scripts and supervisors it succeeded; exit with a non-zero status when bind fails",
            program.name()
        )));
    }
    let stderr = program.stderr();
    if !stderr.contains(&addr.to_string()) && !stderr.contains(&addr.port().to_string()) {
        return Err(Failure::new(format!(
            "{} exited with an error, but nothing it wrote on stderr names the address {addr} or its port; a user cannot tell which port is taken",
            program.name()
        )));
    }
    Ok(())
}

fn port_in_use(ctx: &mut Ctx) -> Outcome {
    let holder = TcpListener::bind("127.0.0.1:0").expect("the grader binds a listener of its own on 127.0.0.1:0");
    let addr = holder.local_addr().expect("the grader reads its own listener's address");
    ctx.step(format!("the grader listens on {addr} itself, so that port is taken"));
    let mut program = ctx.spawn(&[&addr.to_string()])?;
    expect_bind_refused(&mut program, addr)?;
    ctx.step("your program named the address and exited with a non-zero status");
    Ok(())
}

fn second_copy(ctx: &mut Ctx) -> Outcome {
    let (_first, addr) = start(ctx, "127.0.0.1:0")?;
    ctx.step(format!(
        "the grader starts a second copy of your program on {addr}, where the first copy is listening"
    ));
    let mut second = ctx.spawn_copy("your second copy", &[&addr.to_string()])?;
    expect_bind_refused(&mut second, addr)?;
    ctx.step("the second copy named the address and exited with a non-zero status");
    let mut client = ctx.connect(addr)?;
    expect_greeting(&mut client)?;
    echo_once(&mut client, b"the first copy still serves\n")
}

/// Fails if the program has exited: a zombie's `/proc` figures (no open
/// descriptors, no CPU time) would otherwise read as a tidy, idle server.
fn expect_alive(program: &mut Program, when: &str) -> Outcome {
    match program.poll_exit() {
        None => Ok(()),
        Some(status) => Err(Failure::new(format!(
            "your program exited ({}) {when}; a server keeps running",
            crate::process::describe_status(status)
        ))
        .with_panic(program.panic())),
    }
}

/// A connection failed: if the program exits within 0.5 s (its sockets
/// close a moment before it can be reaped), that exit is what to report.
fn or_exited(program: &mut Program, failure: Failure, when: &str) -> Failure {
    match program.wait_exit(Duration::from_millis(500)) {
        None => failure,
        Some(status) => Failure::new(format!(
            "your program exited ({}) {when}; a server keeps running",
            crate::process::describe_status(status)
        ))
        .with_panic(program.panic()),
    }
}

fn closes_sockets(ctx: &mut Ctx) -> Outcome {
    let (mut program, addr) = start(ctx, "127.0.0.1:0")?;
    let pid = program.pid();
    let before = procfs::open_fds(pid)?;
    ctx.step(format!("your program has {before} open file descriptors (ls /proc/{pid}/fd)"));
    for i in 1..=30 {
        let mut client = ctx.connect(addr)?;
        expect_greeting(&mut client)?;
        // Every other message has no newline: an echo comes back as soon as
        // the bytes are read, not when a line is complete.
        let message = if i % 2 == 0 {
            format!("client {i}\n")
        } else {
            format!("client {i}")
        };
        client.send(message.as_bytes())?;
        // The client waits for its echo before closing: an echo held back
        // until the client closes fails here, with advice about the echo.
        let back = client.recv_exact(message.len(), 3 * S, "the echo").map_err(|f| {
            f.hint("Write back what each read returns as soon as it arrives, newline or not; the client reads its echo before it closes.")
        })?;
        if back != message.as_bytes() {
            return Err(Failure::new(format!(
                "the echo differs: {}",
                transcript::diff(message.as_bytes(), &back).unwrap_or_default()
            )));
        }
        drop(client);
    }
    ctx.step("30 clients connected, were echoed, and closed their connections");
    let (now, released) = wait_fds_at_most(&mut program, before, 5 * S, "after 30 clients came and went")?;
    if released {
        ctx.step(format!("your program is back to {now} open file descriptors"));
        return Ok(());
    }
    Err(Failure::new(format!(
        "5 s after 30 clients came and went, your program holds {now} file descriptors, {} more than the {before} it had before they came",
        now - before
    )))
}

/// Waits up to `timeout` for the program to hold at most `at_most` open
/// descriptors, checking first, each time, that it is still running.
/// Returns the last count and whether it got there.
fn wait_fds_at_most(program: &mut Program, at_most: usize, timeout: Duration, when: &str) -> Result<(usize, bool), Failure> {
    let deadline = Instant::now() + timeout;
    loop {
        expect_alive(program, when)?;
        let now = procfs::open_fds(program.pid())?;
        // Counted before the check for exit: a count read from a program that
        // exited meanwhile is not trusted.
        expect_alive(program, when)?;
        if now <= at_most {
            return Ok((now, true));
        }
        if Instant::now() >= deadline {
            return Ok((now, false));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The lowest descriptor number the program does not have open (`/proc/PID/fd`).
fn lowest_free_fd(pid: u32) -> Result<u64, Failure> {
    let open: std::collections::BTreeSet<u64> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map_err(|e| Failure::io(&format!("listing /proc/{pid}/fd"), &e))?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    Ok((0..).find(|n| !open.contains(n)).unwrap_or(0))
}

/// Waits up to `timeout` until no thread of the program is running or
/// runnable (state `R` or `D` in `/proc/PID/task/*/stat`), or it has exited.
/// `false` if it was still busy when time ran out.
fn wait_settled(pid: u32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        let busy = std::fs::read_dir(format!("/proc/{pid}/task"))
            .map(|tasks| {
                tasks.flatten().any(|task| {
                    let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
                    let after = stat.rsplit_once(')').map(|(_, a)| a).unwrap_or("");
                    // R: running or runnable; D: waiting inside the kernel
                    // (page faults, memory maps), about to run again.
                    matches!(after.split_whitespace().next(), Some("R" | "D"))
                })
            })
            .unwrap_or(false);
        if !busy {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn accept_error(ctx: &mut Ctx) -> Outcome {
    const HELD: usize = 3;
    let (mut program, addr) = start(ctx, "127.0.0.1:0")?;
    let pid = program.pid();
    let mut held = Vec::new();
    for _ in 0..HELD {
        let mut client = ctx.connect(addr)?;
        expect_greeting(&mut client)?;
        held.push(client);
    }
    expect_alive(&mut program, "while 3 clients were connected")?;
    // With every descriptor number below the limit in use, the kernel can
    // create no new descriptor, so accept() fails with EMFILE. (A thread
    // already blocked in accept() took its number when it began waiting, so
    // one more connection may still be accepted; the one after cannot.)
    let limit = lowest_free_fd(pid)?;
    let old = match crate::fdlimit::set_program_open_files(pid, limit) {
        Ok(old) => old,
        Err(e) => {
            return Err(Failure::skip(format!(
                "the grader cannot change your program's limit on open files here (prlimit: {e})"
            )));
        }
    };
    ctx.step(format!(
        "the grader lowers your program's limit on open files (RLIMIT_NOFILE, as `prlimit --pid {pid} --nofile={limit}:` would) from {old} to {limit}: every descriptor number below it is in use, so no new descriptor can be created and accept() fails with EMFILE (\"Too many open files\")"
    ));
    let mut waiting = Vec::new();
    for _ in 0..2 {
        waiting.push(ctx.connect(addr)?);
    }
    ctx.step(format!(
        "{} and {} connected: the kernel completed their handshakes, and they wait in the accept queue (at most one of them can be accepted)",
        waiting[0].name, waiting[1].name
    ));
    // Let the program meet the failure before the limit comes back: wait
    // until none of its threads is running (or it exited). A program that
    // retries accept() without pausing stays busy; it is given 1 s.
    if !wait_settled(pid, S) {
        ctx.step("your program was still busy (a thread in state R) 1 s later");
    }
    for client in held.iter_mut() {
        let message = format!("{} while accept() fails\n", client.name);
        client.send(message.as_bytes())?;
        let back = client.recv_exact(message.len(), 3 * S, "the echo").map_err(|f| {
            let f = Failure::new(format!(
                "{}, while the grader held your program's limit on open files down (every accept() then fails with EMFILE)",
                f.summary
            ));
            or_exited(
                &mut program,
                f,
                "while the grader held its limit on open files down (every accept() then fails with EMFILE)",
            )
        })?;
        if back != message.as_bytes() {
            return Err(Failure::new(format!(
                "the echo differs: {}",
                transcript::diff(message.as_bytes(), &back).unwrap_or_default()
            )));
        }
    }
    expect_alive(
        &mut program,
        "while the grader held its limit on open files down (every accept() then fails with EMFILE)",
    )?;
    if let Err(e) = crate::fdlimit::set_program_open_files(pid, old) {
        expect_alive(&mut program, "while the grader held its limit on open files down")?;
        panic!("the grader could not restore the limit on open files it lowered (prlimit: {e})");
    }
    ctx.step(format!("the grader restores your program's limit on open files to {old}"));
    let mut client = ctx.connect(addr)?;
    let greeted = expect_greeting(&mut client).and_then(|()| echo_once(&mut client, b"descriptors are back\n"));
    if let Err(f) = greeted {
        let f = Failure::new(format!(
            "{}, although your program may open files again (its limit was restored)",
            f.summary
        ));
        return Err(or_exited(&mut program, f, "after the grader had held its limit on open files down"));
    }
    expect_alive(&mut program, "after the grader had held its limit on open files down")?;
    drop(waiting);
    Ok(())
}

/// Connects a client with a small receive buffer (`SO_RCVBUF`), set before
/// connecting so that the kernel never enlarges it: an echo it does not read
/// backs up after a few KiB.
fn connect_small_window(ctx: &mut Ctx, addr: SocketAddr) -> Result<Client, Failure> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None).expect("the grader creates a client socket");
    socket.set_recv_buffer_size(4096).expect("the grader sets SO_RCVBUF on its client");
    socket
        .connect_timeout(&addr.into(), IO_TIMEOUT)
        .map_err(|e| Failure::io(&format!("connecting to {addr}"), &e))?;
    ctx.adopt(socket.into(), None)
}

fn client_resets(ctx: &mut Ctx) -> Outcome {
    let (mut program, addr) = start(ctx, "127.0.0.1:0")?;
    let pid = program.pid();
    let mut client = connect_small_window(ctx, addr)?;
    expect_greeting(&mut client)?;
    // Counted while the client is connected, so that descriptors a program
    // opens once, at its first client, are not mistaken for a leak.
    expect_alive(&mut program, "while a client was connected")?;
    let with_client = procfs::open_fds(pid)?;
    ctx.step(format!(
        "your program has {with_client} open file descriptors, at least one of them for this client's connection (ls /proc/{pid}/fd)"
    ));
    // Send without reading the echo until a send makes no progress for
    // 200 ms: the echo fills this client's small receive buffer and the
    // program's send buffer, the program stops reading, and what this client
    // sent waits in the program's receive queue. Those bytes stay readable
    // after a reset, so the program still has echo to write when it comes.
    let chunk = random_bytes(ctx.seed, 64 * 1024);
    let deadline = Instant::now() + 5 * S;
    let mut sent = 0usize;
    client.stream.set_write_timeout(Some(Duration::from_millis(200))).ok();
    let stalled = loop {
        if Instant::now() >= deadline || sent >= 64 << 20 {
            break false;
        }
        match client.stream.write(&chunk) {
            Ok(n) => sent += n,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                if sent > 0 {
                    break true;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Failure::io(&format!("{} sending without reading the echo", client.name), &e)),
        }
    };
    ctx.step(format!(
        "{} sent {sent} random bytes (seed {}) without reading the echo; {}",
        client.name,
        ctx.seed,
        if stalled {
            "then a send made no progress for 0.2 s: the echo is backed up"
        } else {
            "its sends never stopped making progress"
        }
    ));
    socket2::SockRef::from(&client.stream)
        .set_linger(Some(Duration::ZERO))
        .expect("the grader sets SO_LINGER on its client");
    let name = client.name.clone();
    drop(client);
    ctx.step(format!(
        "{name} closed with SO_LINGER 0: its kernel sent a reset (RST) instead of a FIN, and every later send of your program on that connection fails (ECONNRESET, then EPIPE)"
    ));
    let (cpu_at_reset, _) = procfs::cpu_and_state(pid)?;
    let reset_at = Instant::now();
    let (now, released) = wait_fds_at_most(
        &mut program,
        with_client.saturating_sub(1),
        3 * S,
        &format!("after {name} reset its connection"),
    )?;
    let waited = reset_at.elapsed();
    let (cpu_then, _) = procfs::cpu_and_state(pid)?;
    expect_alive(&mut program, &format!("after {name} reset its connection"))?;
    if !released {
        let cpu = (cpu_then - cpu_at_reset) as f64 / procfs::TICKS_PER_SECOND as f64;
        return Err(Failure::new(format!(
            "{:.1} s after {name} reset its connection, your program still holds {now} file descriptors ({with_client} while {name} was connected), and used {cpu:.1} s of CPU time meanwhile",
            waited.as_secs_f64()
        )));
    }
    ctx.step(format!(
        "your program is down to {now} open file descriptors {:.2} s after the reset",
        waited.as_secs_f64()
    ));
    // Idle now: it should use no CPU time. Tick accounting gives a sleeping
    // program none at all, and its threads sleep (state S) at every look. A
    // thread that loops takes ticks in proportion to the share of a core the
    // machine gives it, but is running or ready to run (R) at nearly every
    // look however busy the machine is: so this holds beside other tests.
    let window = Duration::from_millis(500);
    let (cpu_start, _) = procfs::cpu_and_state(pid)?;
    let (busy, looks) = procfs::runnable_looks(pid, window)?;
    let (cpu_end, _) = procfs::cpu_and_state(pid)?;
    expect_alive(&mut program, &format!("after {name} reset its connection"))?;
    let used = cpu_end - cpu_start;
    let observed = format!(
        "over the next {:.1} s, with no client connected, your program used {:.2} s of CPU time, and a thread of it was running or ready to run at {busy} of {looks} looks (every 10 ms, /proc/{pid}/task/TID/stat)",
        window.as_secs_f64(),
        used as f64 / procfs::TICKS_PER_SECOND as f64
    );
    ctx.step(observed.clone());
    if used >= 10 || (looks >= 10 && busy * 10 >= looks * 6) {
        return Err(Failure::new(format!(
            "after {name}'s reset, {observed}; an idle server uses no CPU time and its threads sleep in accept or read (under 0.1 s, and under 60% of the looks)"
        )));
    }
    let mut client = ctx
        .connect(addr)
        .map_err(|f| or_exited(&mut program, f, &format!("after {name} reset its connection")))?;
    expect_greeting(&mut client)
        .and_then(|()| echo_once(&mut client, b"after the reset\n"))
        .map_err(|f| or_exited(&mut program, f, &format!("after {name} reset its connection")))
}

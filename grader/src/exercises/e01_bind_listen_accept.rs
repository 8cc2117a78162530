//! Hidden tests for exercise 01: a threaded TCP echo server.
//!
//! The program under test is started as `PROGRAM ADDRESS`, must print
//! `listening on <bound address>`, greet each client with
//! `hello <client address>\n`, echo everything until the client closes its
//! side, then close. Each test below names the known-wrong program that it
//! catches; `grader/tests/catalogue.rs` proves it.

use crate::ctx::{Client, Ctx, Failure, Outcome, random_bytes};
use crate::platform::Need;
use crate::process::Program;
use crate::procfs;
use crate::registry::TestCase;
use crate::transcript;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

const S: Duration = Duration::from_secs(1);

pub const TESTS: &[TestCase] = &[
    TestCase {
        id: "printed-address",
        scenario: "The program binds 127.0.0.1:0, prints the port the kernel chose, and a client connecting there is greeted.",
        clauses: &[],
        points: 10,
        limit: Duration::from_secs(10),
        needs: &[],
        exclusive: false,
        concept: "Binding port 0 asks the kernel for any free port; only getsockname() (local_addr) can tell you which one it chose.",
        hint: "Print listener.local_addr(), not the address you were given: with port 0 they differ.",
        docs_anchor: "the-printed-address-accepts-connections",
        run: printed_address,
    },
    TestCase {
        id: "ipv6",
        scenario: "The program binds [::1]:0, the IPv6 loopback, and greets a client there.",
        clauses: &[],
        points: 10,
        limit: Duration::from_secs(10),
        needs: &[Need::Ipv6],
        exclusive: false,
        concept: "A socket's address family (AF_INET or AF_INET6) is chosen when it is created, so it must match the address you bind.",
        hint: "Create the socket with Domain::for_address(addr) rather than Domain::IPV4.",
        docs_anchor: "ipv4-and-ipv6",
        run: ipv6,
    },
    TestCase {
        id: "echo-binary",
        scenario: "A client sends zero bytes, invalid UTF-8 and every byte value, closes its side, and must get exactly those bytes back, then the end of the connection.",
        clauses: &[],
        points: 10,
        limit: Duration::from_secs(10),
        needs: &[],
        exclusive: false,
        concept: "TCP carries bytes, not text: an echo must not decode, trim or re-encode anything, and read() returning 0 is the client's close.",
        hint: "Echo the bytes you read (&buf[..n]) unchanged; do not go through String. Stop when read returns Ok(0) and let the stream drop.",
        docs_anchor: "echo-is-exact-and-binary-safe",
        run: echo_binary,
    },
    TestCase {
        id: "echo-1mib",
        scenario: "A client streams 1 MiB of random bytes while reading the echo at the same time; every byte must come back in order.",
        clauses: &[],
        points: 10,
        limit: Duration::from_secs(20),
        needs: &[],
        exclusive: false,
        concept: "A large message arrives in many reads of whatever size the kernel has ready; the server must keep reading and writing until the client closes.",
        hint: "Loop: read whatever is there, write all of it back, repeat until read returns 0.",
        docs_anchor: "echo-is-exact-and-binary-safe",
        run: echo_1mib,
    },
    TestCase {
        id: "short-writes",
        scenario: "Each send() on the program's sockets accepts only 1 to 7 bytes (as the kernel may); the greeting and a 64 KiB echo must still arrive whole.",
        clauses: &[],
        points: 10,
        limit: Duration::from_secs(20),
        needs: &[Need::Linux],
        exclusive: false,
        concept: "send()/write() returns how many bytes it accepted, which may be fewer than you gave it; the rest is still yours to send.",
        hint: "In write_full, loop until the buffer is empty: buf = &buf[n..] after each write that accepted n bytes.",
        docs_anchor: "partial-writes",
        run: short_writes,
    },
    TestCase {
        id: "clients-in-turn",
        scenario: "Twenty clients connect one after another; each is greeted, echoed and closed.",
        clauses: &[],
        points: 10,
        limit: Duration::from_secs(15),
        needs: &[],
        exclusive: false,
        concept: "accept() returns a new socket per client while the listening socket keeps listening; the server loops back to accept() for the next one.",
        hint: "Call accept() in a loop; never let one client's end stop the server.",
        docs_anchor: "many-clients",
        run: clients_in_turn,
    },
    TestCase {
        id: "clients-at-once",
        scenario: "A client connects and stays silent; eight more connect while it waits, and each of them must be served.",
        clauses: &[],
        points: 10,
        limit: Duration::from_secs(15),
        needs: &[],
        exclusive: false,
        concept: "read() blocks its thread until data arrives. A server that reads one client on its only thread cannot accept or serve anybody else meanwhile.",
        hint: "Serve each accepted stream on its own thread (std::thread::spawn with a move closure).",
        docs_anchor: "many-clients",
        run: clients_at_once,
    },
    TestCase {
        id: "restart-time-wait",
        scenario: "The program is killed while a client is connected, then started again on the same port at once, while the old connection sits in TIME_WAIT.",
        clauses: &[],
        points: 10,
        limit: Duration::from_secs(15),
        needs: &[],
        exclusive: false,
        concept: "The side that closes a TCP connection first keeps it in TIME_WAIT for up to a minute; without SO_REUSEADDR, bind() refuses the port until then.",
        hint: "Call socket.set_reuse_address(true) before bind().",
        docs_anchor: "restarting-so_reuseaddr-and-time_wait",
        run: restart_time_wait,
    },
    TestCase {
        id: "port-in-use",
        scenario: "Another listener already holds the port; the program must report it clearly, naming the address, and exit with a non-zero status.",
        clauses: &[],
        points: 10,
        limit: Duration::from_secs(10),
        needs: &[],
        exclusive: false,
        concept: "bind() fails with EADDRINUSE when another live socket listens on the port; SO_REUSEADDR does not change that. A server reports such errors, it does not panic.",
        hint: "Map the bind error to one that names the address (io::Error::new(e.kind(), format!(\"cannot bind {addr}: {e}\"))) and return it; main prints it and exits with 1.",
        docs_anchor: "a-port-already-in-use",
        run: port_in_use,
    },
    TestCase {
        id: "closes-sockets",
        scenario: "Thirty clients come and go; afterwards the program must hold no more open file descriptors than before they came.",
        clauses: &[],
        points: 10,
        limit: Duration::from_secs(15),
        needs: &[Need::Linux],
        exclusive: false,
        concept: "Every accepted connection is a file descriptor until it is closed. A server that forgets to close leaks one per client until accept() fails with EMFILE.",
        hint: "Let the TcpStream drop (return from handle_client) once the client has closed; do not keep it in a collection or mem::forget it.",
        docs_anchor: "closing-every-client-socket",
        run: closes_sockets,
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
            "expected the address the kernel actually bound, but your program printed port 0: it printed the address it was given ({bind}), and nobody can connect to port 0"
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

fn clients_in_turn(ctx: &mut Ctx) -> Outcome {
    let (_program, addr) = start(ctx, "127.0.0.1:0")?;
    for i in 1..=20 {
        let mut client = ctx.connect(addr)?;
        expect_greeting(&mut client)?;
        echo_once(&mut client, format!("message from client {i}\n").as_bytes())?;
    }
    Ok(())
}

fn clients_at_once(ctx: &mut Ctx) -> Outcome {
    let (_program, addr) = start(ctx, "127.0.0.1:0")?;
    let _silent = ctx.connect(addr)?;
    ctx.step("client 1 stays connected and silent from now on: it sends nothing and reads nothing");
    let mut others = Vec::new();
    for _ in 0..8 {
        others.push(ctx.connect(addr)?);
    }
    // Served in reverse order of connection, so the test does not depend on
    // the order in which the server accepts (CodeCrafters' testers do the same).
    for client in others.iter_mut().rev() {
        expect_greeting(client).map_err(|f| {
            Failure::new(format!(
                "{}, while client 1 stayed silent: your server seems to be busy with one client and unable to serve another",
                f.summary
            ))
        })?;
        echo_once(client, format!("{} is here\n", client.name).as_bytes())?;
    }
    Ok(())
}

fn restart_time_wait(ctx: &mut Ctx) -> Outcome {
    let (mut program, addr) = start(ctx, "127.0.0.1:0")?;
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

fn port_in_use(ctx: &mut Ctx) -> Outcome {
    let holder = TcpListener::bind("127.0.0.1:0").map_err(|e| Failure::io("binding the grader's own listener", &e))?;
    let addr = holder
        .local_addr()
        .map_err(|e| Failure::io("reading the grader's listener address", &e))?;
    ctx.step(format!("the grader listens on {addr} itself, so that port is taken"));
    let mut program = ctx.spawn(&[&addr.to_string()])?;
    let Some(status) = program.wait_exit(5 * S) else {
        return Err(Failure::new(format!(
            "expected your program to report that {addr} is taken and exit, but it was still running after 5 s"
        )));
    };
    if let Some(panic) = program.panic() {
        return Err(Failure::new(format!(
            "your program panicked ({}) instead of reporting that {addr} is in use",
            panic.message
        ))
        .with_panic(Some(panic)));
    }
    if status.success() {
        return Err(Failure::new(
            "your program exited with status 0, which tells scripts and supervisors it succeeded; exit with a non-zero status when bind fails",
        ));
    }
    let stderr = program.stderr();
    if !stderr.contains(&addr.to_string()) && !stderr.contains(&addr.port().to_string()) {
        return Err(Failure::new(format!(
            "your program exited with an error, but its message does not name the address {addr}; a user cannot tell which port is taken"
        )));
    }
    ctx.step("your program named the address and exited with a non-zero status");
    Ok(())
}

fn closes_sockets(ctx: &mut Ctx) -> Outcome {
    let (program, addr) = start(ctx, "127.0.0.1:0")?;
    let pid = program.pid();
    let before = procfs::open_fds(pid)?;
    ctx.step(format!("your program has {before} open file descriptors (ls /proc/{pid}/fd)"));
    for i in 1..=30 {
        let mut client = ctx.connect(addr)?;
        expect_greeting(&mut client)?;
        let message = format!("client {i}\n");
        client.send(message.as_bytes())?;
        let back = client.recv_exact(message.len(), 3 * S, "the echo")?;
        if back != message.as_bytes() {
            return Err(Failure::new(format!(
                "the echo differs: {}",
                transcript::diff(message.as_bytes(), &back).unwrap_or_default()
            )));
        }
        drop(client);
    }
    ctx.step("30 clients connected, were echoed, and closed their connections");
    match procfs::wait_fds_at_most(pid, before, 5 * S)? {
        Ok(now) => {
            ctx.step(format!("your program is back to {now} open file descriptors"));
            Ok(())
        }
        Err(now) => Err(Failure::new(format!(
            "5 s after 30 clients came and went, your program holds {now} file descriptors, {} more than the {before} it had before; each leaked one is a client socket never closed",
            now - before
        ))),
    }
}

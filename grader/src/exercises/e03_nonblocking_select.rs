//! Hidden tests for exercise 03: a chat room served by one thread.
//!
//! The program under test is started as `PROGRAM ADDRESS`, must print
//! `listening on <bound address>`, greet each client with
//! `hello <client address>\n`, and deliver each line a client sends to every
//! other client as `<sender address>: <line>`. Each test below names the
//! known-wrong program that it catches; `grader/tests/catalogue/` proves it.
//!
//! The tests that look inside the process (threads, CPU time, open file
//! descriptors) read Linux's `/proc/PID/...` files and are skipped elsewhere.

use crate::ctx::{Client, Ctx, Failure, Outcome};
use crate::fdlimit;
use crate::platform::Need;
use crate::process::Program;
use crate::procfs;
use crate::registry::TestCase;
use crate::transcript;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const S: Duration = Duration::from_secs(1);

/// How long a message may take to reach a client. Generous: the machine may
/// be loaded, and a correct server delivers in well under a millisecond.
const DELIVERY: Duration = Duration::from_secs(5);

/// Clients in `many-clients`: more than FD_SETSIZE (1024), the most
/// descriptors `select(2)` can watch.
const CROWD: usize = 1100;

pub const TESTS: &[TestCase] = &[
    TestCase {
        id: "broadcast",
        scenario: "Three clients join; each line one of them sends reaches the other two as `<sender address>: <line>`, and never comes back to its sender.",
        clauses: &[],
        points: 10,
        limit: Duration::from_secs(15),
        needs: &[],
        exclusive: false,
        concept: "A chat server's input from one socket becomes output on the others: the server keeps every client and writes the line to each one but the sender.",
        hint: "For each complete line, queue `<sender peer address>: <line>` in the outbox of every client except the sender.",
        docs_anchor: "every-line-reaches-every-other-client",
        run: broadcast,
    },
    TestCase {
        id: "framing",
        scenario: "A client sends lines cut into pieces across several writes, and several lines (one of them binary) in a single write; each must be delivered as one whole line.",
        clauses: &[],
        points: 10,
        limit: Duration::from_secs(20),
        needs: &[],
        exclusive: false,
        concept: "TCP is a byte stream: one read may hold half a line or several lines. Only a `\\n` ends a line, so the server keeps each client's unfinished line until the rest arrives.",
        hint: "Append what you read to the client's inbox, then take off every complete line (up to and including \\n); leave the rest in the inbox for the next read.",
        docs_anchor: "lines-split-across-reads-and-several-lines-in-one-read",
        run: framing,
    },
    TestCase {
        id: "many-clients",
        scenario: "1,100 clients join (more than select's FD_SETSIZE of 1,024); five of them each send a line, and every other client must receive all of those lines.",
        clauses: &[],
        points: 15,
        limit: Duration::from_secs(90),
        needs: &[Need::Linux],
        exclusive: false,
        concept: "One thread can serve any number of clients when it waits for all of them at once; select(2) cannot watch descriptors numbered 1024 or more, poll(2) has no such limit.",
        hint: "Use poll (nix::poll::poll) with one PollFd per client, not select: nix's FdSet panics on a descriptor >= FD_SETSIZE.",
        docs_anchor: "a-thousand-clients",
        run: many_clients,
    },
    TestCase {
        id: "silent-client",
        scenario: "A client connects and never sends anything; meanwhile two others talk, and a fourth joins, and all of that must work.",
        clauses: &[],
        points: 10,
        limit: Duration::from_secs(20),
        needs: &[],
        exclusive: false,
        concept: "On a blocking socket, read() waits until data arrives. A single-threaded server that reads a socket with nothing to say stops serving everybody.",
        hint: "Call set_nonblocking(true) on every accepted stream, and read only the clients poll reported readable; WouldBlock means \"nothing more for now\".",
        docs_anchor: "a-client-that-never-sends",
        run: silent_client,
    },
    TestCase {
        id: "slow-reader",
        scenario: "A client with a tiny receive buffer stops reading while another sends megabytes of lines; a third client must keep receiving them, and the slow one must get every byte, in order, once it reads again.",
        clauses: &[],
        points: 15,
        limit: Duration::from_secs(60),
        needs: &[],
        exclusive: false,
        concept: "A non-blocking write takes only what fits in the socket's send buffer (maybe nothing: WouldBlock). The rest must wait in a per-client queue, sent when poll reports POLLOUT, without holding up anybody else.",
        hint: "Keep an outbox per client. In flush, write from its front and remove exactly the n bytes each write accepted; on WouldBlock stop and keep the rest, and ask poll for POLLOUT while the outbox is not empty.",
        docs_anchor: "a-client-that-never-reads",
        run: slow_reader,
    },
    TestCase {
        id: "one-thread",
        scenario: "While twenty clients join, talk and leave, the program has exactly one thread (counted in /proc/PID/task).",
        clauses: &[],
        points: 10,
        limit: Duration::from_secs(20),
        needs: &[Need::Linux],
        exclusive: false,
        concept: "The event-driven model serves every client from one thread: the thread sleeps in poll(2) until some socket is ready, instead of one thread sleeping per client.",
        hint: "Do not call thread::spawn: handle every socket from the one loop around poll.",
        docs_anchor: "exactly-one-thread",
        run: one_thread,
    },
    TestCase {
        id: "no-busy-loop",
        scenario: "With twenty clients connected and idle for two seconds, the program sleeps: it uses almost no CPU time (from /proc/PID/stat) and is seldom runnable.",
        clauses: &[],
        points: 15,
        limit: Duration::from_secs(30),
        needs: &[Need::Linux],
        exclusive: false,
        concept: "poll(2) with no timeout sleeps until a socket is ready. A loop that polls with a zero timeout, asks for POLLOUT on idle sockets, or keeps a closed socket in the set wakes at once, forever, and burns a whole CPU doing nothing.",
        hint: "Use PollTimeout::NONE, ask for POLLOUT only while a client's outbox has bytes, and drop closed clients from the poll list.",
        docs_anchor: "no-busy-loop",
        run: no_busy_loop,
    },
    TestCase {
        id: "disconnects",
        scenario: "Twenty clients leave, ten with an orderly close and ten with a reset; the others are still served, and the program's open file descriptors return to their starting count.",
        clauses: &[],
        points: 15,
        limit: Duration::from_secs(30),
        needs: &[Need::Linux],
        exclusive: false,
        concept: "read() returning 0 (FIN) or failing with ECONNRESET (RST) means the client is gone: close its socket and remove it from the watch set. One client's error must not end the server.",
        hint: "On Ok(0) or a read/write error, mark the client closed and drop it from the Vec at the end of the round; dropping the TcpStream closes the descriptor.",
        docs_anchor: "disconnects-orderly-and-reset",
        run: disconnects,
    },
];

/// Starts the program on 127.0.0.1:0 and waits for its `listening on` line.
fn start(ctx: &Ctx) -> Result<(Program, SocketAddr), Failure> {
    let mut program = ctx.spawn(&["127.0.0.1:0"])?;
    let addr = ctx.wait_listening(&mut program)?;
    if addr.port() == 0 {
        return Err(Failure::new(
            "your program printed port 0; print listener.local_addr(), the address the kernel actually bound",
        ));
    }
    Ok((program, addr))
}

/// Connects a logged client and waits for its greeting, which means the
/// server has accepted it: from now on it is in the room.
fn join(ctx: &mut Ctx, addr: SocketAddr) -> Result<Client, Failure> {
    let mut client = ctx.connect(addr)?;
    let expected = format!("hello {}\n", client.local);
    expect_line(&mut client, expected.as_bytes(), "the greeting `hello <client address>\\n`")?;
    Ok(client)
}

/// Reads one line and compares it with `expected`.
fn expect_line(client: &mut Client, expected: &[u8], what: &str) -> Outcome {
    let got = client.recv_line(expected.len().max(256), DELIVERY, &format!("{} {what}", client.name))?;
    match transcript::diff(expected, &got) {
        None => Ok(()),
        Some(diff) => Err(Failure::new(format!("{} expected {what}; {diff}", client.name))),
    }
}

/// The line a chat room delivers when `from` sends `line`.
fn delivered(from: &Client, line: &[u8]) -> Vec<u8> {
    let mut message = format!("{}: ", from.local).into_bytes();
    message.extend_from_slice(line);
    message
}

fn broadcast(ctx: &mut Ctx) -> Outcome {
    let (_program, addr) = start(ctx)?;
    let mut a = join(ctx, addr)?;
    let mut b = join(ctx, addr)?;
    let mut c = join(ctx, addr)?;
    a.send(b"hello room\n")?;
    let from_a = delivered(&a, b"hello room\n");
    expect_line(&mut b, &from_a, "client 1's line, prefixed with its address")?;
    expect_line(&mut c, &from_a, "client 1's line, prefixed with its address")?;
    b.send(b"hi client 1\n")?;
    let from_b = delivered(&b, b"hi client 1\n");
    // Client 1's next line must be client 2's: if the server had sent client 1
    // its own line back, that would come first.
    expect_line(&mut a, &from_b, "client 2's line (and not its own line back)")
        .map_err(|f| f.hint("The sender must not get its own line back: skip the sender's index when you queue a line for the room."))?;
    expect_line(&mut c, &from_b, "client 2's line")?;
    Ok(())
}

fn framing(ctx: &mut Ctx) -> Outcome {
    let (_program, addr) = start(ctx)?;
    let mut a = join(ctx, addr)?;
    let mut b = join(ctx, addr)?;
    for k in 1..=3 {
        let head = format!("split line {k}, first part, ");
        a.send(head.as_bytes())?;
        // A round trip through the server: by the time client 1 gets client
        // 2's line, the server has almost certainly read the first part on
        // its own, so a server that treats each read as a line shows it.
        let sync = format!("sync {k}\n");
        b.send(sync.as_bytes())?;
        expect_line(&mut a, &delivered(&b, sync.as_bytes()), "client 2's line")?;
        a.send(b"second part\n")?;
        let whole = format!("{head}second part\n");
        expect_line(
            &mut b,
            &delivered(&a, whole.as_bytes()),
            "client 1's line, whole, although it was sent in two pieces",
        )
        .map_err(|f| {
            f.hint(
                "Keep the bytes after the last \\n in the client's inbox: they are the start of a line whose rest comes in a later read.",
            )
        })?;
    }
    let batch: &[&[u8]] = &[b"one\n", b"two\n", b"\n", b"binary \x00\xff\xfe\r end\n", b"three\n"];
    let mut together = batch.concat();
    together.extend_from_slice(b"four, to be contin");
    ctx.step("client 1 sends five lines (one empty, one with bytes that are not UTF-8) and the start of a sixth, in one write");
    a.send(&together)?;
    for line in batch {
        expect_line(&mut b, &delivered(&a, line), "each line of the batch as its own message").map_err(|f| {
            f.hint("One read can hold several lines: take every complete line out of the inbox, and deliver each with its own prefix.")
        })?;
    }
    a.send(b"ued\n")?;
    expect_line(
        &mut b,
        &delivered(&a, b"four, to be continued\n"),
        "the sixth line, completed by the next write",
    )
}

/// A grader-side member of a crowd: a plain socket, logged only in summary.
struct Member {
    stream: TcpStream,
    local: SocketAddr,
    pending: Vec<u8>,
}

impl Member {
    fn connect(addr: SocketAddr) -> io::Result<Member> {
        let stream = TcpStream::connect_timeout(&addr, 5 * S)?;
        stream.set_write_timeout(Some(5 * S))?;
        let local = stream.local_addr()?;
        Ok(Member {
            stream,
            local,
            pending: Vec::new(),
        })
    }

    /// Reads until `lines` complete lines have arrived or `deadline` passes;
    /// returns the lines (and what arrived of an unfinished one, last).
    fn read_lines(&mut self, lines: usize, deadline: Instant) -> (Vec<Vec<u8>>, bool) {
        let mut buf = [0u8; 4096];
        loop {
            if self.pending.iter().filter(|&&b| b == b'\n').count() >= lines {
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            self.stream.set_read_timeout(Some(left)).ok();
            match self.stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let mut got = Vec::new();
        while got.len() < lines {
            let Some(end) = self.pending.iter().position(|&b| b == b'\n') else {
                break;
            };
            let rest = self.pending.split_off(end + 1);
            got.push(std::mem::replace(&mut self.pending, rest));
        }
        let complete = got.len() == lines;
        if !complete && !self.pending.is_empty() {
            got.push(std::mem::take(&mut self.pending));
        }
        (got, complete)
    }
}

fn escape_lines(lines: &[Vec<u8>]) -> String {
    if lines.is_empty() {
        return "nothing".into();
    }
    lines.iter().map(|l| transcript::escape(l)).collect::<Vec<_>>().join(", ")
}

fn many_clients(ctx: &mut Ctx) -> Outcome {
    // The grader holds one socket per client, and so does the program; both
    // inherit the grader's limit on open files.
    let wanted = (CROWD + 200) as u64;
    let limit = fdlimit::ensure_open_files(wanted).map_err(Failure::skip)?;
    ctx.step(format!(
        "the grader may open {limit} files (RLIMIT_NOFILE); your program inherits that limit"
    ));
    let (program, addr) = start(ctx)?;
    // Where /proc/PID/limits cannot be read, the connections will tell.
    let theirs = fdlimit::open_files_limit_of(program.pid()).unwrap_or(u64::MAX);
    if theirs < wanted {
        return Err(Failure::skip(format!(
            "your program may open only {theirs} files (see /proc/{}/limits), fewer than the {wanted} this test needs",
            program.pid()
        )));
    }
    // Join in batches smaller than the listen backlog, waiting for each
    // batch's greetings, so that no handshake waits on a full accept queue.
    let mut crowd: Vec<Member> = Vec::with_capacity(CROWD);
    let started = Instant::now();
    while crowd.len() < CROWD {
        let first = crowd.len();
        let batch = 100.min(CROWD - first);
        for _ in 0..batch {
            let member = Member::connect(addr).map_err(|e| {
                ctx.with_program_panic(
                    Failure::io(&format!("client {} of {CROWD} connecting to {addr}", crowd.len() + 1), &e),
                    &program,
                )
            })?;
            crowd.push(member);
        }
        let deadline = Instant::now() + 10 * S;
        for (i, member) in crowd.iter_mut().enumerate().skip(first) {
            let expected = format!("hello {}\n", member.local).into_bytes();
            let (lines, _) = member.read_lines(1, deadline);
            if lines.first() != Some(&expected) {
                ctx.step(format!(
                    "clients 1 to {} connected; client {} received {}",
                    crowd.len(),
                    i + 1,
                    escape_lines(&lines)
                ));
                return Err(ctx.with_program_panic(
                    Failure::new(format!(
                        "with {} clients connected, client {} expected its greeting {} within 10 s",
                        crowd.len(),
                        i + 1,
                        transcript::escape(&expected)
                    )),
                    &program,
                ));
            }
        }
    }
    ctx.step(format!(
        "{CROWD} clients connected and were greeted in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    let senders = [0, CROWD / 4, CROWD / 2, 3 * CROWD / 4, CROWD - 1];
    let mut sent = Vec::new();
    for &s in &senders {
        let line = format!("client {} of {CROWD} says hi\n", s + 1).into_bytes();
        crowd[s]
            .stream
            .write_all(&line)
            .map_err(|e| Failure::io(&format!("client {} sending", s + 1), &e))?;
        ctx.step(format!("client {} sent {}", s + 1, transcript::escape(&line)));
        let mut message = format!("{}: ", crowd[s].local).into_bytes();
        message.extend_from_slice(&line);
        sent.push((s, message));
    }
    let deadline = Instant::now() + 30 * S;
    for (i, member) in crowd.iter_mut().enumerate() {
        let mut expected: Vec<Vec<u8>> = sent.iter().filter(|(s, _)| *s != i).map(|(_, m)| m.clone()).collect();
        expected.sort();
        let (mut lines, complete) = member.read_lines(expected.len(), deadline);
        lines.sort();
        if !complete || lines != expected {
            ctx.step(format!("client {} received {}", i + 1, escape_lines(&lines)));
            return Err(ctx.with_program_panic(
                Failure::new(format!(
                    "with {CROWD} clients in the room, client {} expected the {} lines of the other senders (in any order): {}",
                    i + 1,
                    expected.len(),
                    escape_lines(&expected)
                )),
                &program,
            ));
        }
    }
    ctx.step(format!("every one of the {CROWD} clients received the lines of the other senders"));
    Ok(())
}

fn silent_client(ctx: &mut Ctx) -> Outcome {
    let (_program, addr) = start(ctx)?;
    let _silent = join(ctx, addr)?;
    ctx.step("client 1 stays connected and silent from now on: it sends nothing and reads nothing");
    let blame = |f: Failure| {
        Failure::new(format!(
            "{}, while client 1 stayed silent: your server seems to be waiting in a read on a socket that has nothing to say",
            f.summary
        ))
        .with_panic(f.panic)
    };
    let mut a = join(ctx, addr).map_err(blame)?;
    let mut b = join(ctx, addr).map_err(blame)?;
    a.send(b"is anybody there?\n")?;
    expect_line(&mut b, &delivered(&a, b"is anybody there?\n"), "client 2's line").map_err(blame)?;
    b.send(b"yes, two of us\n")?;
    expect_line(&mut a, &delivered(&b, b"yes, two of us\n"), "client 3's line").map_err(blame)?;
    a.send(b"and again\n")?;
    expect_line(&mut b, &delivered(&a, b"and again\n"), "client 2's second line").map_err(blame)?;
    let mut d = join(ctx, addr).map_err(blame)?;
    b.send(b"welcome\n")?;
    expect_line(&mut d, &delivered(&b, b"welcome\n"), "client 3's line").map_err(blame)?;
    Ok(())
}

/// The most bytes the kernel lets one TCP socket's send buffer grow to
/// (`net.ipv4.tcp_wmem`, third field); 4 MiB where it cannot be read.
fn max_send_buffer() -> usize {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem")
        .ok()
        .and_then(|t| t.split_whitespace().nth(2).and_then(|v| v.parse().ok()))
        .unwrap_or(4 << 20)
}

/// Reads from `stream` until `expected.len()` bytes arrived, failing as soon
/// as a byte differs, or when nothing arrives for `stall`.
fn read_expecting(stream: &mut TcpStream, expected: &[u8], stall: Duration, deadline: Instant) -> Result<Vec<u8>, (Vec<u8>, String)> {
    let mut got = Vec::with_capacity(expected.len());
    let mut buf = vec![0u8; 256 * 1024];
    let mut last_progress = Instant::now();
    while got.len() < expected.len() {
        let now = Instant::now();
        if now >= deadline {
            return Err((got, "the test's deadline passed".into()));
        }
        if now - last_progress >= stall {
            return Err((got, format!("nothing more arrived for {:.0} s", stall.as_secs_f64())));
        }
        stream.set_read_timeout(Some(Duration::from_millis(200))).ok();
        let want = (expected.len() - got.len()).min(buf.len());
        match stream.read(&mut buf[..want]) {
            Ok(0) => return Err((got, "the connection was closed (a read returned 0 bytes)".into())),
            Ok(n) => {
                let from = got.len();
                got.extend_from_slice(&buf[..n]);
                if got[from..] != expected[from..got.len()] {
                    return Err((got, "a byte differs".into()));
                }
                last_progress = Instant::now();
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err((got, crate::oserror::explain("reading", &e))),
        }
    }
    Ok(got)
}

fn slow_reader(ctx: &mut Ctx) -> Outcome {
    let (program, addr) = start(ctx)?;
    let mut slow = join_with_small_window(ctx, addr)?;
    let slow_name = "the slow client";
    let mut reader = join(ctx, addr)?;
    let sender = join(ctx, addr)?;
    ctx.step(format!("{slow_name} stops reading from now on"));

    // Enough lines to fill the slow client's receive buffer and the largest
    // send buffer the kernel may give the server's socket for it: after that,
    // the server's writes to it must be partial or WouldBlock.
    let volume = max_send_buffer().clamp(1 << 20, 32 << 20) + (4 << 20);
    let mut lines = Vec::new();
    let mut total = 0;
    let mut k = 0;
    while total < volume {
        k += 1;
        let mut line = format!("line {k:06} ").into_bytes();
        let len = 200 + (k * 7919) % 1800;
        line.extend((0..len).map(|i| b'a' + ((i + k) % 26) as u8));
        line.push(b'\n');
        total += line.len();
        lines.push(line);
    }
    let expected: Vec<u8> = lines.iter().flat_map(|l| delivered(&sender, l)).collect();
    let mut writer = sender
        .stream
        .try_clone()
        .map_err(|e| Failure::io("cloning the sender's socket", &e))?;
    ctx.step(format!(
        "{} sends {} lines ({} bytes) as fast as the server takes them; {} reads them at the same time",
        sender.name,
        lines.len(),
        total,
        reader.name
    ));
    let sending = std::thread::spawn(move || -> io::Result<()> {
        writer.set_write_timeout(Some(20 * S))?;
        for line in &lines {
            writer.write_all(line)?;
        }
        Ok(())
    });
    let deadline = Instant::now() + 40 * S;
    let result = read_expecting(&mut reader.stream, &expected, 10 * S, deadline);
    // On success the sender has finished; on failure it may be stuck in a
    // write, so it is not waited for: it ends when the program is killed.
    if result.is_ok() {
        let _ = sending.join();
    }
    if let Err((got, why)) = result {
        ctx.step(format!(
            "{} received {} of the {} bytes: {why}",
            reader.name,
            got.len(),
            expected.len()
        ));
        let summary = match transcript::diff(&expected[..got.len().min(expected.len())], &got) {
            Some(diff) if why == "a byte differs" => format!("{} received different bytes than were sent; {diff}", reader.name),
            _ => format!(
                "while {} did not read, {} stopped receiving the sender's lines after {} of {} bytes: your server seems to wait until the slow client takes its bytes, instead of keeping them in its outbox",
                slow_name,
                reader.name,
                got.len(),
                expected.len()
            ),
        };
        return Err(ctx.with_program_panic(Failure::new(summary), &program));
    }
    ctx.step(format!(
        "{} received all {} bytes, in order, while {} was not reading",
        reader.name,
        expected.len(),
        slow_name
    ));
    // Let the slow client read fast now: a larger receive buffer opens its
    // window (window scaling was agreed at connect time).
    let _ = socket2::SockRef::from(&slow.stream).set_recv_buffer_size(4 << 20);
    ctx.step(format!("{slow_name} starts reading again"));
    let deadline = Instant::now() + 40 * S;
    match read_expecting(&mut slow.stream, &expected, 10 * S, deadline) {
        Ok(_) => {
            ctx.step(format!("{slow_name} received all {} bytes, in order", expected.len()));
            Ok(())
        }
        Err((got, why)) => {
            ctx.step(format!("{slow_name} received {} of the {} bytes: {why}", got.len(), expected.len()));
            let detail = transcript::diff(&expected[..got.len().min(expected.len())], &got)
                .map(|d| format!("; {d}"))
                .unwrap_or_default();
            Err(ctx.with_program_panic(
                Failure::new(format!(
                    "the slow client should get every byte it missed, in order, once it reads again; it received {} of {} bytes ({why}){detail}",
                    got.len(),
                    expected.len()
                ))
                .hint("Bytes went missing on their way to the slow reader: a non-blocking write accepted only part of the outbox (or nothing: WouldBlock) and the rest was dropped. Remove only the n bytes each write accepted and keep the rest queued."),
                &program,
            ))
        }
    }
}

/// Joins with a 4 KiB receive buffer, set before connecting so that the
/// window the client advertises is small from the first byte on.
fn join_with_small_window(ctx: &Ctx, addr: SocketAddr) -> Result<Member, Failure> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        .map_err(|e| Failure::io("creating the slow client's socket", &e))?;
    socket
        .set_recv_buffer_size(4096)
        .map_err(|e| Failure::io("setting SO_RCVBUF", &e))?;
    socket
        .connect_timeout(&addr.into(), 5 * S)
        .map_err(|e| Failure::io(&format!("the slow client connecting to {addr}"), &e))?;
    let stream: TcpStream = socket.into();
    let local = stream.local_addr().map_err(|e| Failure::io("reading the client's address", &e))?;
    ctx.step(format!(
        "the slow client connected from {local} with a 4 KiB receive buffer (SO_RCVBUF, set before connect)"
    ));
    let mut slow = Member {
        stream,
        local,
        pending: Vec::new(),
    };
    let expected = format!("hello {local}\n").into_bytes();
    let (lines, _) = slow.read_lines(1, Instant::now() + DELIVERY);
    ctx.step(format!("the slow client received {}", escape_lines(&lines)));
    if lines.first() != Some(&expected) {
        return Err(Failure::new(format!(
            "the slow client expected its greeting {}",
            transcript::escape(&expected)
        )));
    }
    Ok(slow)
}

fn one_thread(ctx: &mut Ctx) -> Outcome {
    let (program, addr) = start(ctx)?;
    let pid = program.pid();
    let check = |ctx: &Ctx, when: &str| -> Outcome {
        let n = procfs::threads(pid)?;
        ctx.step(format!(
            "{when}: your program has {n} thread{} (ls /proc/{pid}/task)",
            if n == 1 { "" } else { "s" }
        ));
        if n != 1 {
            return Err(Failure::new(format!(
                "{when}, your program had {n} threads; the event-driven server must serve every client from its one thread"
            )));
        }
        Ok(())
    };
    check(ctx, "after it started listening")?;
    let mut clients = Vec::new();
    for _ in 0..20 {
        clients.push(join(ctx, addr)?);
    }
    check(ctx, "with 20 clients connected")?;
    clients[0].send(b"one thread for all of us\n")?;
    let message = delivered(&clients[0], b"one thread for all of us\n");
    for client in clients.iter_mut().skip(1) {
        expect_line(client, &message, "client 1's line")?;
    }
    check(ctx, "after a line went to 19 clients")?;
    clients.truncate(10);
    ctx.step("clients 11 to 20 closed their connections");
    clients[1].send(b"fewer now\n")?;
    let message = delivered(&clients[1], b"fewer now\n");
    expect_line(&mut clients[0], &message, "client 2's line")?;
    check(ctx, "after 10 clients left")
}

fn no_busy_loop(ctx: &mut Ctx) -> Outcome {
    let (program, addr) = start(ctx)?;
    let pid = program.pid();
    let mut clients = Vec::new();
    for _ in 0..20 {
        clients.push(join(ctx, addr)?);
    }
    clients[0].send(b"then silence\n")?;
    let message = delivered(&clients[0], b"then silence\n");
    for client in clients.iter_mut().skip(1) {
        expect_line(client, &message, "client 1's line")?;
    }
    clients.pop();
    ctx.step("client 20 closed its connection; the other 19 stay connected and idle");
    // Give the program a moment to finish handling that close: wait (up to
    // 3 s) until it is asleep. A busy program never is; that is measured next.
    let settle = Instant::now() + 3 * S;
    while Instant::now() < settle && procfs::cpu_and_state(pid)?.1 != 'S' {
        std::thread::sleep(Duration::from_millis(10));
    }
    let window = 2 * S;
    let (cpu_before, _) = procfs::cpu_and_state(pid)?;
    let started = Instant::now();
    let (mut samples, mut runnable) = (0u32, 0u32);
    while started.elapsed() < window {
        let (_, state) = procfs::cpu_and_state(pid)?;
        samples += 1;
        if state == 'R' {
            runnable += 1;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let elapsed = started.elapsed();
    let (cpu_after, _) = procfs::cpu_and_state(pid)?;
    let cpu_ms = (cpu_after - cpu_before) * 1000 / procfs::TICKS_PER_SECOND;
    let wall_ms = elapsed.as_millis() as u64;
    ctx.step(format!(
        "over {wall_ms} ms of idleness your program used {cpu_ms} ms of CPU time (utime + stime in /proc/{pid}/stat) and was running or runnable in {runnable} of {samples} samples"
    ));
    // An idle poll loop uses no CPU and is asleep in every sample, however
    // loaded the machine is. A busy loop is runnable in nearly every sample
    // even when it rarely gets a CPU, and uses whatever CPU it gets. The
    // thresholds sit far from both.
    if cpu_ms * 10 >= wall_ms || runnable * 2 >= samples {
        return Err(Failure::new(format!(
            "while every client was idle for {:.1} s, your program used {cpu_ms} ms of CPU time and was running or runnable in {runnable} of {samples} samples; an idle event loop sleeps in poll and uses almost none (under 10% of the time, asleep in most samples)",
            elapsed.as_secs_f64()
        )));
    }
    Ok(())
}

fn disconnects(ctx: &mut Ctx) -> Outcome {
    let (program, addr) = start(ctx)?;
    let pid = program.pid();
    let before = procfs::open_fds(pid)?;
    ctx.step(format!("your program has {before} open file descriptors (ls /proc/{pid}/fd)"));
    let mut stay = join(ctx, addr)?;
    let mut witness = join(ctx, addr)?;
    let mut leaving = Vec::new();
    for _ in 0..20 {
        leaving.push(join(ctx, addr)?);
    }
    stay.send(b"goodbye, all of you\n")?;
    let message = delivered(&stay, b"goodbye, all of you\n");
    for client in leaving.iter_mut().chain(std::iter::once(&mut witness)) {
        expect_line(client, &message, "client 1's line")?;
    }
    // The first ten close in order: everything read, then close (FIN).
    // The other ten reset: SO_LINGER with a zero timeout makes close send an
    // RST, which the server's next read or write sees as ECONNRESET.
    let mut resetting = leaving.split_off(10);
    drop(leaving);
    ctx.step("clients 3 to 12 closed their connections in order (FIN)");
    // Every remaining client reads one more line, so nothing is left queued
    // for the resetting ones: the server meets their RST in a read.
    stay.send(b"still here?\n")?;
    let message = delivered(&stay, b"still here?\n");
    for client in resetting.iter_mut().chain(std::iter::once(&mut witness)) {
        expect_line(client, &message, "client 1's line")?;
    }
    for client in &resetting {
        socket2::SockRef::from(&client.stream)
            .set_linger(Some(Duration::ZERO))
            .map_err(|e| Failure::io("setting SO_LINGER", &e))?;
    }
    drop(resetting);
    ctx.step("clients 13 to 22 reset their connections (SO_LINGER 0, then close: an RST)");
    // A line for the room right after the resets: the server may still be
    // writing to the reset sockets (EPIPE or ECONNRESET) or may already have
    // dropped them; client 2 reading it shows the server handled it.
    stay.send(b"anyone?\n")?;
    expect_line(&mut witness, &delivered(&stay, b"anyone?\n"), "client 1's line")
        .map_err(|f| f.hint("One client's ECONNRESET or EPIPE is that client's end, not the server's: mark it closed and carry on."))?;
    let mut late = join(ctx, addr).map_err(|f| {
        Failure::new(format!(
            "after 10 clients closed and 10 reset their connections, a new client could not join: {}",
            f.summary
        ))
        .with_panic(f.panic)
        .hint("One client's ECONNRESET or EPIPE is that client's end, not the server's: mark it closed and carry on.")
    })?;
    stay.send(b"welcome\n")?;
    expect_line(&mut late, &delivered(&stay, b"welcome\n"), "client 1's line")?;
    expect_line(&mut witness, &delivered(&stay, b"welcome\n"), "client 1's line")?;
    let during = procfs::open_fds(pid)?;
    ctx.step(format!("with 3 clients left, your program has {during} open file descriptors"));
    drop(late);
    drop(witness);
    drop(stay);
    ctx.step("the last 3 clients closed their connections");
    match procfs::wait_fds_at_most(pid, before, 5 * S)? {
        Ok(now) => {
            ctx.step(format!("your program is back to {now} open file descriptors"));
            Ok(())
        }
        Err(now) => Err(ctx.with_program_panic(
            Failure::new(format!(
                "5 s after all 23 clients left, your program holds {now} file descriptors, {} more than the {before} it had before they came; each one is a client socket never closed",
                now - before
            )),
            &program,
        )),
    }
}

//! Hidden tests for exercise 10: exercise 03's chat room on edge-triggered
//! epoll, serving 10,000 clients from one thread.
//!
//! The protocol is exercise 03's (see `crate::chat`), and so are the
//! scenarios that carry over unchanged (relay, framing, one thread, no busy
//! loop, disconnects): they run here against this exercise's program. The
//! tests of this file check what epoll and scale add: everything that arrived
//! read after one edge, the registrations the kernel holds
//! (`/proc/PID/fdinfo`), a slow reader among thousands, and 10,000 clients.

use crate::chat::{
    DELIVERY, Member, S, alive, broadcast, crowd_says_hi, delivered, disconnects, escape_lines, framing, join, join_with_small_window,
    no_busy_loop, note_process, one_thread, or_exited, read_expecting, signal, start,
};
use crate::ctx::{Ctx, Failure, Outcome};
use crate::fdlimit;
use crate::platform::Need;
use crate::process::Program;
use crate::procfs;
use crate::registry::{Sharing, TestCase};
use crate::transcript;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Clients in `c10k`.
const CROWD: usize = 10_000;

/// Clients that read, around the one that does not, in `slow-reader-among-thousands`.
const READERS: usize = 2_000;

/// Connections the grader opens while the program is stopped, in `c10k`.
const ARRIVING_AT_ONCE: usize = 50;

/// How much one client sends in a single write in `burst`: more than any
/// socket receive buffer starts with, so it arrives in many segments and
/// takes many reads.
const BURST: usize = 2 << 20;

/// Bits of an epoll registration's `events`, as `/proc/PID/fdinfo` shows them.
const EPOLLIN: u32 = 0x001;
const EPOLLOUT: u32 = 0x004;
const EPOLLET: u32 = 1 << 31;

pub const TESTS: &[TestCase] = &[
    TestCase {
        id: "broadcast",
        scenario: "Three clients join; each line one of them sends reaches the other two as `<sender address>: <line>`, and never comes back to its sender.",
        clauses: &[1, 2, 3],
        points: 10,
        limit: Duration::from_secs(15),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "The chat room of exercise 03, the same lines on the wire: only the way the program waits changes.",
        hint: "Keep exercise 03's protocol: greet with `hello <peer>\\n`, and queue `<sender peer address>: <line>` for every client except the sender.",
        docs_anchor: "the-room-of-exercise-03",
        run: broadcast,
    },
    TestCase {
        id: "framing",
        scenario: "A client sends lines cut into pieces across several writes, and several lines (one of them binary) in a single write; each must be delivered as one whole line.",
        clauses: &[3, 4],
        points: 5,
        limit: Duration::from_secs(15),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "TCP is a byte stream: one read may hold half a line or several lines. Only a `\\n` ends a line.",
        hint: "Append what you read to the client's inbox, then take off every complete line (up to and including \\n); leave the rest for the next read.",
        docs_anchor: "the-room-of-exercise-03",
        run: framing,
    },
    TestCase {
        id: "burst",
        scenario: "A client sends 2 MiB of lines in one write and then waits; the other client must receive every line, without anybody sending anything more.",
        clauses: &[5],
        points: 15,
        limit: Duration::from_secs(20),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "Edge-triggered epoll reports a socket when new bytes arrive, once. Bytes left in the socket after that event are reported again only when more arrive: read until WouldBlock, or they wait forever.",
        hint: "After an EPOLLIN event, call read in a loop until it returns WouldBlock (or 0, the end of the stream), not once.",
        docs_anchor: "a-burst-read-to-the-end",
        run: burst,
    },
    TestCase {
        id: "edge-triggered",
        scenario: "With twenty idle clients, every client socket is registered in the program's epoll set with EPOLLIN and EPOLLET and without EPOLLOUT; once output waits for a client that stopped reading, that client's registration has EPOLLOUT (read from /proc/PID/fdinfo).",
        clauses: &[6],
        points: 15,
        limit: Duration::from_secs(20),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "epoll keeps the interest list in the kernel, and /proc/PID/fdinfo shows it: each watched descriptor with the events asked for. EPOLLET makes the registration edge-triggered; EPOLLOUT belongs there only while output waits.",
        hint: "Register each accepted stream with EpollFlags::EPOLLIN | EpollFlags::EPOLLET; when a write leaves bytes in the outbox, epoll.modify to add EPOLLOUT, and modify again to remove it once the outbox is empty.",
        docs_anchor: "the-registrations-in-proc",
        run: edge_triggered,
    },
    TestCase {
        id: "slow-reader-among-thousands",
        scenario: "Among 2,000 clients that read, one stops reading while 32 KiB of lines go round; the others receive every line without a pause, a newcomer is greeted, and the slow one gets every byte, in order, once it reads again.",
        clauses: &[7],
        points: 15,
        limit: Duration::from_secs(60),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "A non-blocking write takes only what fits; the rest waits in the client's outbox, and EPOLLOUT says when its socket has room again. One slow reader never holds up the thousands of others.",
        hint: "Keep an outbox per client; write from its front, remove exactly the bytes each write took, stop at WouldBlock, and watch that client for EPOLLOUT until the outbox is empty.",
        docs_anchor: "a-slow-reader-among-thousands",
        run: slow_reader_among_thousands,
    },
    TestCase {
        id: "disconnects",
        scenario: "Twenty clients leave, ten with an orderly close and ten with a reset; the others are still served, and the program's open file descriptors return to their starting count.",
        clauses: &[8, 9],
        points: 10,
        limit: Duration::from_secs(30),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "read() returning 0 (FIN) or failing with ECONNRESET (RST) means the client is gone: take it out of the epoll set, close its socket, and carry on.",
        hint: "On Ok(0) or a read/write error, mark the client as leaving; at the end of the round epoll.delete its stream and drop it, which closes the descriptor.",
        docs_anchor: "the-room-of-exercise-03",
        run: disconnects,
    },
    TestCase {
        id: "c10k",
        scenario: "10,000 clients join, the first 50 of them while the program is stopped (SIGSTOP), so that their connections wait together behind one edge; five of them each send a line, and every other client must receive all of those lines.",
        clauses: &[10],
        points: 15,
        limit: Duration::from_secs(60),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "One thread serves ten thousand clients when each wakeup costs only what is ready (epoll) and every descriptor fits under RLIMIT_NOFILE. An edge-triggered listener is reported once for many finished handshakes: accept until WouldBlock.",
        hint: "Accept in a loop until WouldBlock each time the listener is reported; register every client once and keep it registered while it stays.",
        docs_anchor: "ten-thousand-clients",
        run: c10k,
    },
    TestCase {
        id: "one-thread",
        scenario: "While twenty clients join in bursts, talk and leave, the program has exactly one thread at every moment (/proc/PID/stat sampled without pause).",
        clauses: &[11],
        points: 5,
        limit: Duration::from_secs(20),
        needs: &[Need::Linux],
        sharing: Sharing::Alone,
        concept: "The event loop serves every client from one thread, asleep in epoll_wait until some socket is ready.",
        hint: "Do not call thread::spawn (or thread::scope) anywhere: handle every socket from the one loop around epoll_wait.",
        docs_anchor: "the-room-of-exercise-03",
        run: one_thread,
    },
    TestCase {
        id: "no-busy-loop",
        scenario: "One client of twenty leaves and the other nineteen stay connected and idle; the program sleeps: over half a second it uses almost no CPU time, is seldom runnable, and hardly wakes up.",
        clauses: &[12],
        points: 10,
        limit: Duration::from_secs(20),
        needs: &[Need::Linux],
        sharing: Sharing::Measures,
        concept: "epoll_wait with no timeout sleeps until a registered socket is ready; a zero timeout, or EPOLLOUT on level-triggered idle sockets, wakes the loop again and again for nothing.",
        hint: "Wait with EpollTimeout::NONE, and never watch an idle socket for EPOLLOUT.",
        docs_anchor: "the-room-of-exercise-03",
        run: no_busy_loop,
    },
];

/// Writes `bytes` from a thread of its own (the program may stop reading;
/// the test must still see what arrived), with a time limit on each write.
fn send_in_background(stream: &std::net::TcpStream, bytes: Vec<u8>) -> Result<std::thread::JoinHandle<io::Result<()>>, Failure> {
    let mut writer = stream.try_clone().map_err(|e| Failure::io("cloning a client's socket", &e))?;
    Ok(std::thread::spawn(move || {
        writer.set_write_timeout(Some(20 * S))?;
        writer.write_all(&bytes)
    }))
}

/// Lines of printable bytes, seeded, each 1 to about 4,000 bytes long,
/// together at least `volume` bytes.
fn lines_of(seed: u64, volume: usize, tag: &str) -> Vec<Vec<u8>> {
    let noise = crate::ctx::random_bytes(seed, 8192);
    let (mut lines, mut total, mut k) = (Vec::new(), 0, 0usize);
    while total < volume {
        k += 1;
        let mut line = format!("{tag} {k:06} ").into_bytes();
        let len = (noise[k % noise.len()] as usize * 16 + k * 7) % 4000;
        line.extend((0..len).map(|i| b'!' + (noise[(i + k) % noise.len()] % 90)));
        line.push(b'\n');
        total += line.len();
        lines.push(line);
    }
    lines
}

fn burst(ctx: &mut Ctx) -> Outcome {
    let (mut program, addr) = start(ctx)?;
    let sender = join(ctx, addr)?;
    let mut reader = join(ctx, addr)?;
    let lines = lines_of(ctx.seed, BURST, "burst line");
    let bytes = lines.concat();
    let expected: Vec<u8> = lines.iter().flat_map(|l| delivered(&sender, l)).collect();
    ctx.step(format!(
        "{} sends {} lines ({} bytes) in one write, then waits; nobody sends anything after that",
        sender.name,
        lines.len(),
        bytes.len()
    ));
    let sending = send_in_background(&sender.stream, bytes)?;
    let stall = 5 * S;
    let result = read_expecting(&mut reader.stream, &expected, stall, Instant::now() + 15 * S);
    if result.is_ok() {
        let _ = sending.join();
    }
    match result {
        Ok(_) => {
            ctx.step(format!("{} received all {} lines, in order", reader.name, lines.len()));
            alive(ctx, &mut program, "at the end")
        }
        Err((got, why)) => {
            let whole = got.iter().filter(|&&b| b == b'\n').count();
            ctx.step(format!(
                "{} received {} of the {} bytes ({whole} of {} lines): {why}",
                reader.name,
                got.len(),
                expected.len(),
                lines.len()
            ));
            if why == "a byte differs" {
                let diff = transcript::diff(&expected[..got.len()], &got).unwrap_or_default();
                return Err(ctx.with_program_panic(
                    Failure::new(format!("{} received different bytes than were sent; {diff}", reader.name)),
                    &program,
                ));
            }
            let failure = Failure::new(format!(
                "{} sent {} lines in one write and then waited; {} received {whole} of them and then nothing for {:.0} s: the rest of the lines sat unread in your program's socket",
                sender.name,
                lines.len(),
                reader.name,
                stall.as_secs_f64()
            ))
            .hint("Edge-triggered epoll told you once that bytes arrived. If you read once (one buffer's worth) and went back to epoll_wait, the rest stays in the socket and no new event comes for it. Read until WouldBlock.");
            Err(or_exited(ctx, &mut program, failure, "after the burst"))
        }
    }
}

/// One registration in an epoll instance, from `/proc/PID/fdinfo/EPFD`:
/// the watched descriptor (`tfd`) and the events asked for.
#[derive(Debug, Clone, Copy)]
struct Registration {
    fd: u64,
    events: u32,
    /// The inode of the watched file (`ino:` in hex): for a socket, the
    /// number in its `socket:[INODE]` link.
    inode: Option<u64>,
}

/// Every registration in every epoll instance the program has open.
/// `/proc/PID/fd/N` of an epoll instance links to `anon_inode:[eventpoll]`;
/// its `fdinfo` lists `tfd: N events: HEX data: HEX ...` per watched descriptor.
fn registrations(pid: u32) -> Result<(usize, Vec<Registration>), Failure> {
    let dir = std::fs::read_dir(format!("/proc/{pid}/fd")).map_err(|e| Failure::io(&format!("listing /proc/{pid}/fd"), &e))?;
    let (mut instances, mut found) = (0, Vec::new());
    for entry in dir.flatten() {
        let Ok(link) = std::fs::read_link(entry.path()) else { continue };
        if link.to_string_lossy() != "anon_inode:[eventpoll]" {
            continue;
        }
        instances += 1;
        let name = entry.file_name();
        let path = format!("/proc/{pid}/fdinfo/{}", name.to_string_lossy());
        let text = std::fs::read_to_string(&path).map_err(|e| Failure::io(&format!("reading {path}"), &e))?;
        for line in text.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            if let ["tfd:", fd, "events:", events, ..] = words[..]
                && let (Ok(fd), Ok(events)) = (fd.parse(), u32::from_str_radix(events, 16))
            {
                let inode = words
                    .iter()
                    .find_map(|w| w.strip_prefix("ino:"))
                    .and_then(|h| u64::from_str_radix(h, 16).ok());
                found.push(Registration { fd, events, inode });
            }
        }
    }
    Ok((instances, found))
}

/// The inode of the program's socket connected to the grader's client at
/// `client`: the grader takes a copy of it (`pidfd_getfd(2)`, see
/// `fixtures::sockets`), and the copy's `/proc/self/fd` link names the
/// inode, `socket:[INODE]`, which the epoll registration's `ino:` shows.
fn program_socket(pid: u32, client: SocketAddr) -> Result<Option<(socket2::Socket, u64)>, Failure> {
    use std::os::fd::AsRawFd;
    let Some(copy) = crate::fixtures::sockets::connected_to(pid, client).map_err(|e| {
        Failure::skip(format!(
            "the grader could not take a copy of your program's socket with pidfd_getfd(2): {e}"
        ))
    })?
    else {
        return Ok(None);
    };
    let link = std::fs::read_link(format!("/proc/self/fd/{}", copy.as_raw_fd()))
        .map_err(|e| Failure::io("reading the link of the copied socket", &e))?;
    let inode = link
        .to_string_lossy()
        .strip_prefix("socket:[")
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|n| n.parse().ok());
    Ok(inode.map(|inode| (copy, inode)))
}

fn describe_events(events: u32) -> String {
    let names = [(EPOLLIN, "EPOLLIN"), (EPOLLOUT, "EPOLLOUT"), (EPOLLET, "EPOLLET")];
    let set: Vec<&str> = names.iter().filter(|(bit, _)| events & bit != 0).map(|(_, n)| *n).collect();
    format!(
        "events {events:#x} ({})",
        if set.is_empty() {
            "none of EPOLLIN, EPOLLOUT, EPOLLET".into()
        } else {
            set.join(" | ")
        }
    )
}

/// Checks the registration of the program's socket for each client:
/// EPOLLIN and EPOLLET always, EPOLLOUT exactly when `output_waits`.
fn check_registrations(ctx: &Ctx, program: &mut Program, addr: SocketAddr, clients: &[(String, SocketAddr, bool)]) -> Outcome {
    let pid = program.pid();
    // Let the program finish its round (a registration may be changing).
    let settle = Instant::now() + S;
    while Instant::now() < settle && procfs::cpu_and_state(pid)?.1 != 'S' {
        std::thread::sleep(Duration::from_millis(5));
    }
    alive(ctx, program, "when the grader read your program's epoll registrations")?;
    let (instances, regs) = registrations(pid)?;
    if instances == 0 {
        return Err(Failure::new(format!(
            "your program has no epoll instance open (no anon_inode:[eventpoll] in /proc/{pid}/fd): the task is to wait in epoll_wait"
        ))
        .hint("Create one with Epoll::new(EpollCreateFlags::empty()) and register the listener and every client with epoll.add."));
    }
    ctx.step(format!(
        "your program has {instances} epoll instance{} holding {} registrations (/proc/{pid}/fdinfo)",
        if instances == 1 { "" } else { "s" },
        regs.len()
    ));
    let _ = addr;
    for (name, local, output_waits) in clients {
        let Some((_copy, inode)) = program_socket(pid, *local)? else {
            return Err(Failure::new(format!(
                "the grader found no socket of your program connected to {name} ({local}) in /proc/{pid}/fd"
            )));
        };
        let Some(reg) = regs.iter().find(|r| r.inode == Some(inode)) else {
            return Err(Failure::new(format!(
                "your program's socket for {name} (socket:[{inode}] in /proc/{pid}/fd) is in no epoll set: epoll reports only what is registered"
            ))
            .hint("epoll.add every accepted stream, once, right after accept."));
        };
        let what = format!(
            "your program's socket for {name} (descriptor {}) is registered with {}",
            reg.fd,
            describe_events(reg.events)
        );
        ctx.step(what.clone());
        if reg.events & EPOLLIN == 0 {
            return Err(Failure::new(format!(
                "{what}; it must include EPOLLIN, or its lines are never reported"
            )));
        }
        if reg.events & EPOLLET == 0 {
            return Err(Failure::new(format!("{what}; the task asks for edge-triggered registrations: EPOLLET is missing, so epoll reports the socket for as long as it is ready (level-triggered)"))
                .hint("Add EpollFlags::EPOLLET to the flags of every client's registration, in epoll.add and in every epoll.modify."));
        }
        match (*output_waits, reg.events & EPOLLOUT != 0) {
            (false, true) => {
                return Err(Failure::new(format!(
                    "{what} although nothing waits to be written to it: EPOLLOUT belongs in a registration only while output waits"
                ))
                .hint("Register with EPOLLIN | EPOLLET; add EPOLLOUT with epoll.modify when a write leaves bytes behind, and remove it once the outbox is empty. Level-triggered, an idle socket watched for EPOLLOUT wakes the loop forever; edge-triggered, after every acknowledged write."));
            }
            (true, false) => {
                return Err(Failure::new(format!(
                    "{what} while your program holds output for it that its socket could not take: without EPOLLOUT, nothing tells your program when that socket has room again"
                ))
                .hint("When flush stops at WouldBlock with bytes left, epoll.modify the client's registration to EPOLLIN | EPOLLOUT | EPOLLET."));
            }
            _ => {}
        }
    }
    Ok(())
}

fn edge_triggered(ctx: &mut Ctx) -> Outcome {
    let (mut program, addr) = start(ctx)?;
    let mut clients = Vec::new();
    for _ in 0..20 {
        clients.push(join(ctx, addr)?);
    }
    clients[0].send(b"everybody quiet now\n")?;
    let line = delivered(&clients[0], b"everybody quiet now\n");
    for client in clients.iter_mut().skip(1) {
        crate::chat::expect_line(client, &line, "client 1's line")?;
    }
    ctx.step("the 20 clients are idle: nothing waits to be written to any of them");
    let idle: Vec<(String, SocketAddr, bool)> = clients.iter().map(|c| (c.name.clone(), c.local, false)).collect();
    check_registrations(ctx, &mut program, addr, &idle)?;

    // Now a client that stops reading, with output waiting for it.
    let slow = join_with_small_window(ctx, addr)?;
    shrink_program_send_buffer(ctx, &program, slow.local)?;
    clients.truncate(2);
    let [sender, witness] = &mut clients[..] else { unreachable!() };
    let lines = lines_of(ctx.seed, 48 * 1024, "for the slow one");
    let expected: Vec<u8> = lines.iter().flat_map(|l| delivered(sender, l)).collect();
    sender.stream.set_write_timeout(Some(10 * S)).ok();
    sender
        .stream
        .write_all(&lines.concat())
        .map_err(|e| Failure::io(&format!("{} sending {} lines", sender.name, lines.len()), &e))?;
    ctx.step(format!(
        "the slow client stops reading; {} sends {} lines ({} bytes), which {} reads",
        sender.name,
        lines.len(),
        expected.len(),
        witness.name
    ));
    if let Err((got, why)) = read_expecting(&mut witness.stream, &expected, 5 * S, Instant::now() + 15 * S) {
        let failure = Failure::new(format!(
            "while the slow client did not read, {} received {} of the {} bytes of {}'s lines ({why})",
            witness.name,
            got.len(),
            expected.len(),
            sender.name
        ));
        return Err(or_exited(ctx, &mut program, failure, "while the slow client did not read"));
    }
    holds_output_for(ctx, &mut program, addr, &slow, expected.len())?;
    let stalled = vec![
        (sender.name.clone(), sender.local, false),
        (witness.name.clone(), witness.local, false),
        ("the slow client".to_string(), slow.local, true),
    ];
    check_registrations(ctx, &mut program, addr, &stalled)
}

/// Makes the program's socket for the client at `client` take almost no
/// bytes (`SO_SNDBUF` 4 KiB, set through a copy of the program's own socket
/// taken with `pidfd_getfd(2)`), so that a few dozen KiB for a client that
/// does not read must wait in the program. Without it the kernel would
/// hold megabytes (send buffers grow up to `net.ipv4.tcp_wmem`'s maximum).
fn shrink_program_send_buffer(ctx: &Ctx, program: &Program, client: SocketAddr) -> Outcome {
    let copy = crate::fixtures::sockets::connected_to(program.pid(), client)
        .map_err(|e| {
            Failure::skip(format!(
                "the grader could not take a copy of your program's socket with pidfd_getfd(2): {e}"
            ))
        })?
        .ok_or_else(|| Failure::new(format!("the grader found no socket of your program connected to {client}")))?;
    copy.set_send_buffer_size(4096)
        .map_err(|e| Failure::io("setting SO_SNDBUF on your program's socket", &e))?;
    ctx.step(
        "the grader set SO_SNDBUF to 4 KiB on your program's socket for the slow client (through pidfd_getfd): the kernel will hold only a few KiB for it",
    );
    Ok(())
}

/// Checks, from `/proc/net/tcp`, that the kernel holds less for the slow
/// client than went to it, so that the program holds the rest itself.
fn holds_output_for(ctx: &Ctx, program: &mut Program, addr: SocketAddr, slow: &Member, sent: usize) -> Outcome {
    let settle = Instant::now() + S;
    while Instant::now() < settle && procfs::cpu_and_state(program.pid())?.1 != 'S' {
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = addr;
    let program_side = program_socket(program.pid(), slow.local)?;
    let held = program_side
        .and_then(|(copy, _)| Some(queued(&copy, QUEUE_OUT)? + queued(&slow.stream, QUEUE_IN)?))
        .map(|n| n as usize);
    match held {
        Some(held) if held < sent => {
            ctx.step(format!(
                "of the {sent} bytes for the slow client, the kernel holds {held} (your program's socket's unsent and unacknowledged bytes, SIOCOUTQ, plus the slow client's unread ones, SIOCINQ), so your program holds the other {} itself",
                sent - held
            ));
            Ok(())
        }
        Some(held) => Err(Failure::new(format!(
            "the grader expected the kernel to hold less than the {sent} bytes sent to the slow client, but it holds {held}: the test could not make output wait in your program"
        ))),
        None => Err(Failure::new(
            "the grader could not read how many bytes the kernel holds for the slow client (ioctl SIOCOUTQ and SIOCINQ)",
        )),
    }
}

#[cfg(target_os = "linux")]
#[allow(clippy::unnecessary_cast)] // the request type differs between C libraries
const QUEUE_OUT: u64 = nix::libc::TIOCOUTQ as u64;
#[cfg(target_os = "linux")]
#[allow(clippy::unnecessary_cast)]
const QUEUE_IN: u64 = nix::libc::FIONREAD as u64;
#[cfg(not(target_os = "linux"))]
const QUEUE_OUT: u64 = 0;
#[cfg(not(target_os = "linux"))]
const QUEUE_IN: u64 = 1;

/// Bytes a TCP socket holds: with `QUEUE_OUT` (`SIOCOUTQ`) those written and
/// not yet acknowledged, with `QUEUE_IN` (`SIOCINQ`) those received and not
/// yet read; what `/proc/net/tcp` shows as `tx_queue` and `rx_queue`, without
/// reading that table, which is long and slow on a machine with thousands of
/// connections.
fn queued(socket: &impl std::os::fd::AsRawFd, which: u64) -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let mut n: nix::libc::c_int = 0;
        // SAFETY: both requests write one int through the pointer.
        let rc = unsafe { nix::libc::ioctl(socket.as_raw_fd(), which as _, &mut n) };
        (rc == 0 && n >= 0).then_some(n as u64)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (socket, which);
        None
    }
}

/// Connects `n` more members in batches of 100, waiting for each batch's
/// greetings before the next, so that no more than 100 connections ever
/// wait in the listen queue.
fn fill_room(ctx: &Ctx, program: &mut Program, addr: SocketAddr, crowd: &mut Vec<Member>, n: usize) -> Outcome {
    let target = crowd.len() + n;
    while crowd.len() < target {
        let first = crowd.len();
        for _ in 0..100.min(target - first) {
            match Member::connect(addr) {
                Ok(member) => crowd.push(member),
                Err(e) => {
                    let failure = Failure::io(&format!("client {} of {target} connecting to {addr}", crowd.len() + 1), &e);
                    note_process(ctx, program);
                    return Err(or_exited(ctx, program, failure, &format!("with {} clients connected", crowd.len())));
                }
            }
        }
        greeted(ctx, program, crowd, first)?;
    }
    Ok(())
}

/// Reads the greeting of every member from `first` on, 10 s at most.
fn greeted(ctx: &Ctx, program: &mut Program, crowd: &mut [Member], first: usize) -> Outcome {
    let deadline = Instant::now() + 10 * S;
    let connected = crowd.len();
    for (i, member) in crowd.iter_mut().enumerate().skip(first) {
        let expected = format!("hello {}\n", member.local).into_bytes();
        let (lines, _) = member.read_lines(1, deadline);
        if lines.first() != Some(&expected) {
            ctx.step(format!(
                "clients 1 to {connected} connected; client {} received {}",
                i + 1,
                escape_lines(&lines)
            ));
            note_process(ctx, program);
            let failure = Failure::new(format!(
                "with {connected} clients connected, client {} expected its greeting {} within 10 s",
                i + 1,
                transcript::escape(&expected)
            ))
            .hint("Accept until WouldBlock every time the listener is reported (edge-triggered, it is reported once for many connections), and register every client.");
            return Err(or_exited(ctx, program, failure, &format!("with {connected} clients connected")));
        }
    }
    Ok(())
}

/// Closes every member's connection with a reset (`SO_LINGER` 0) instead
/// of a FIN: an orderly close leaves the grader's end in TIME_WAIT for a
/// minute, and thousands of those make `/proc/net/tcp`, which tests running
/// beside this one read, long and slow to read.
fn reset_all(crowd: Vec<Member>) {
    for member in crowd {
        let _ = socket2::SockRef::from(&member.stream).set_linger(Some(Duration::ZERO));
    }
}

/// Makes sure the grader, and so the program it starts, may hold `wanted`
/// descriptors (a skip with the reason where the hard limit is lower), and
/// reserves them among the crowds of this process.
///
/// Every descriptor the grader holds counts against one limit for the whole
/// grader process, and several crowds may run in it at once: this test
/// beside the other one, or, in the project's own tests, the same test
/// against the solution and against a mutant. Two crowds of 10,000 do not
/// fit under a hard limit of 20,000, so a crowd waits (within its test's
/// time) until the others leave room; the reservation ends when the
/// returned guard is dropped.
fn enough_files(ctx: &Ctx, wanted: u64) -> Result<FilesReserved, Failure> {
    #[cfg(unix)]
    #[allow(clippy::unnecessary_cast)]
    let hard = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map(|(_, h)| h as u64)
        .unwrap_or(wanted);
    #[cfg(not(unix))]
    let hard = wanted;
    let limit = fdlimit::ensure_open_files(wanted.max(hard.min(wanted + 6_000))).map_err(Failure::skip)?;
    ctx.step(format!(
        "the grader may open {limit} files (RLIMIT_NOFILE); your program inherits that limit"
    ));
    // What the crowds may hold together: the limit, less a margin for every
    // other test of the process (exercise 03's 1,100 clients among them).
    let budget = limit.saturating_sub(2_500).max(wanted);
    let (lock, freed) = &CROWDS;
    let mut held = lock.lock().unwrap_or_else(|e| e.into_inner());
    let give_up = Instant::now() + ctx.remaining().saturating_sub(30 * S);
    let mut waited = false;
    while *held + wanted > budget && Instant::now() < give_up {
        waited = true;
        held = freed
            .wait_timeout(held, Duration::from_millis(100))
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
    *held += wanted;
    if waited {
        ctx.step("the grader waited for another crowd of clients to leave room under its limit on open files");
    }
    Ok(FilesReserved(wanted))
}

/// Descriptors reserved by the crowds running in this grader process now.
static CROWDS: (std::sync::Mutex<u64>, std::sync::Condvar) = (std::sync::Mutex::new(0), std::sync::Condvar::new());

/// A reservation of descriptors, given back when dropped.
struct FilesReserved(u64);

impl Drop for FilesReserved {
    fn drop(&mut self) {
        let (lock, freed) = &CROWDS;
        let mut held = lock.lock().unwrap_or_else(|e| e.into_inner());
        *held = held.saturating_sub(self.0);
        freed.notify_all();
    }
}

fn c10k(ctx: &mut Ctx) -> Outcome {
    let wanted = (CROWD + 200) as u64;
    let _files = enough_files(ctx, wanted)?;
    let (mut program, addr) = start(ctx)?;
    let pid = program.pid();
    let theirs = fdlimit::open_files_limit_of(pid).unwrap_or(u64::MAX);
    if theirs < wanted {
        return Err(Failure::skip(format!(
            "your program may open only {theirs} files (see /proc/{pid}/limits), fewer than the {wanted} this test needs"
        )));
    }
    let started = Instant::now();
    let mut crowd: Vec<Member> = Vec::with_capacity(CROWD);
    // The first connections arrive while the program cannot run: the kernel
    // completes their handshakes and queues them, and the listener becomes
    // readable once, one edge for all of them.
    signal(pid, "SIGSTOP").map_err(|e| Failure::new(format!("the grader could not stop your program (SIGSTOP): {e}")))?;
    let mut arrived = Ok(());
    for _ in 0..ARRIVING_AT_ONCE {
        match Member::connect(addr) {
            Ok(member) => crowd.push(member),
            Err(e) => {
                arrived = Err(Failure::io(&format!("client {} connecting to {addr}", crowd.len() + 1), &e));
                break;
            }
        }
    }
    let _ = signal(pid, "SIGCONT");
    arrived?;
    ctx.step(format!(
        "the grader stopped your program (SIGSTOP), connected {ARRIVING_AT_ONCE} clients, which wait in the listen queue, and let it go on (SIGCONT)"
    ));
    greeted(ctx, &mut program, &mut crowd, 0)?;
    fill_room(ctx, &mut program, addr, &mut crowd, CROWD - ARRIVING_AT_ONCE)?;
    ctx.step(format!(
        "{CROWD} clients connected and were greeted in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    crowd_says_hi(ctx, &mut program, &mut crowd)?;
    ctx.step(format!(
        "every one of the {CROWD} clients received the lines of the other senders ({:.1} s in all)",
        started.elapsed().as_secs_f64()
    ));
    alive(ctx, &mut program, "at the end")?;
    reset_all(crowd);
    Ok(())
}

fn slow_reader_among_thousands(ctx: &mut Ctx) -> Outcome {
    let _files = enough_files(ctx, (READERS + 200) as u64)?;
    let (mut program, addr) = start(ctx)?;
    let mut slow = join_with_small_window(ctx, addr)?;
    shrink_program_send_buffer(ctx, &program, slow.local)?;
    let mut crowd: Vec<Member> = Vec::with_capacity(READERS + 1);
    let started = Instant::now();
    fill_room(ctx, &mut program, addr, &mut crowd, READERS)?;
    ctx.step(format!(
        "{READERS} more clients joined in {:.1} s; the slow client stops reading from now on",
        started.elapsed().as_secs_f64()
    ));
    let sender_local = crowd[0].local;
    let lines = lines_of(ctx.seed, 32 * 1024, "among thousands");
    let prefix = format!("{sender_local}: ").into_bytes();
    let with_prefix = |l: &[u8]| [prefix.as_slice(), l].concat();
    let expected: Vec<u8> = lines.iter().flat_map(|l| with_prefix(l)).collect();
    crowd[0].stream.set_write_timeout(Some(10 * S)).ok();
    crowd[0]
        .stream
        .write_all(&lines.concat())
        .map_err(|e| Failure::io(&format!("client 1 of the {READERS} sending {} lines", lines.len()), &e))?;
    ctx.step(format!(
        "client 1 of the {READERS} sent {} lines ({} bytes as delivered) in one write",
        lines.len(),
        expected.len()
    ));
    // Generous: 2,000 copies of every line leave the program one by one,
    // on a machine that may be busy with other tests.
    let stall = 10 * S;
    let deadline = Instant::now() + 30 * S;
    let sent_at = Instant::now();
    for (i, member) in crowd.iter_mut().enumerate().skip(1) {
        if let Err((got, why)) = read_expecting(&mut member.stream, &expected, stall, deadline) {
            ctx.step(format!(
                "client {} of the {READERS} received {} of the {} bytes: {why}",
                i + 1,
                got.len(),
                expected.len()
            ));
            let summary = if why == "a byte differs" {
                let diff = transcript::diff(&expected[..got.len()], &got).unwrap_or_default();
                format!("client {} of the {READERS} received different bytes than were sent; {diff}", i + 1)
            } else {
                format!(
                    "while the slow client did not read, client {} of the {READERS} received {} of the {} bytes of client 1's lines and then nothing for {:.0} s: your program seems to wait until the slow client takes its bytes, instead of keeping them in its outbox",
                    i + 1,
                    got.len(),
                    expected.len(),
                    stall.as_secs_f64()
                )
            };
            return Err(or_exited(
                ctx,
                &mut program,
                Failure::new(summary),
                "while the slow client did not read",
            ));
        }
    }
    ctx.step(format!(
        "all {} readers received every line, in order, in {:.1} s, while the slow client did not read",
        READERS - 1,
        sent_at.elapsed().as_secs_f64()
    ));
    let mut expected_slow = expected.clone();
    holds_output_for(ctx, &mut program, addr, &slow, expected_slow.len())?;
    // Service goes on while output waits: a newcomer is greeted and served.
    let mut late = Member::connect(addr).map_err(|e| Failure::io("a new client connecting", &e))?;
    if !late.greeted(Instant::now() + DELIVERY) {
        let failure = Failure::new("while output waited for the slow client, a new client received no greeting within 5 s");
        return Err(or_exited(ctx, &mut program, failure, "while the slow client did not read"));
    }
    let welcome = b"welcome, newcomer\n";
    crowd[0]
        .stream
        .write_all(welcome)
        .map_err(|e| Failure::io("client 1 sending", &e))?;
    expected_slow.extend(with_prefix(welcome));
    if !late.wait_for(&with_prefix(welcome), Instant::now() + DELIVERY) {
        let failure = Failure::new("while output waited for the slow client, a new client did not receive client 1's next line within 5 s");
        return Err(or_exited(ctx, &mut program, failure, "while the slow client did not read"));
    }
    ctx.step("a new client joined, was greeted and received client 1's next line, while the slow client still did not read");
    let _ = socket2::SockRef::from(&slow.stream).set_recv_buffer_size(1 << 20);
    reset_all(crowd);
    ctx.step("the slow client starts reading again");
    // What the slow client's greeting read may have taken beyond its line.
    let already = std::mem::take(&mut slow.pending);
    let rest = &expected_slow[already.len().min(expected_slow.len())..];
    match read_expecting(&mut slow.stream, rest, 5 * S, Instant::now() + 20 * S) {
        Ok(_) if expected_slow.starts_with(&already) => {
            ctx.step(format!("the slow client received all {} bytes, in order", expected_slow.len()));
            alive(ctx, &mut program, "at the end")
        }
        Ok(_) => Err(Failure::new(format!(
            "the slow client's first bytes after its greeting were {}, not client 1's first line",
            transcript::escape(&already)
        ))),
        Err((got, why)) => {
            let detail = transcript::diff(&rest[..got.len().min(rest.len())], &got)
                .map(|d| format!("; {d}"))
                .unwrap_or_default();
            Err(ctx.with_program_panic(
                Failure::new(format!(
                    "the slow client should get every byte it missed, in order, once it reads again; it received {} of {} bytes ({why}){detail}",
                    already.len() + got.len(),
                    expected_slow.len()
                ))
                .hint("Keep the bytes a write did not take, in order, and watch the client for EPOLLOUT: when its socket has room again, epoll says so once, and you write what waits until WouldBlock."),
                &program,
            ))
        }
    }
}

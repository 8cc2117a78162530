//! Hidden tests for exercise 03: a chat room served by one thread.
//!
//! The program under test is started as `PROGRAM ADDRESS`, must print
//! `listening on <bound address>`, greet each client with
//! `hello <client address>\n`, and deliver each line a client sends to every
//! other client as `<sender address>: <line>`. The chapter's `### The
//! contract` numbers every promise; each test names the clauses it checks,
//! and `grader/tests/catalogue/` holds a known-wrong program per clause that
//! its test fails.
//!
//! The tests that look inside the process (threads, CPU time, wakeups, open
//! file descriptors) read Linux's `/proc/PID/...` files and are skipped
//! elsewhere. Each first checks that the program is still running: a zombie's
//! `/proc` entry reads as a sleeping, single-threaded process with no
//! descriptors, which would pass them all.

use crate::chat::{
    Member, S, alive, broadcast, crowd_says_hi, delivered, disconnects, escape_lines, expect_line, framing, join, join_with_small_window,
    max_send_buffer, no_busy_loop, note_process, one_thread, or_exited, read_expecting, start, watch_idle,
};
use crate::ctx::{Client, Ctx, Failure, Outcome};
use crate::fdlimit;
use crate::platform::Need;
use crate::process::Program;
use crate::procfs;
use crate::registry::{Sharing, TestCase};
use crate::transcript;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Clients in `many-clients`: more than FD_SETSIZE (1024), the most
/// descriptors `select(2)` can watch.
const CROWD: usize = 1100;

/// In order: `check` shows the first failure, so the test that tells most
/// about a whole design (one thread) comes right after the basic relay.
pub const TESTS: &[TestCase] = &[
    TestCase {
        id: "broadcast",
        scenario: "Three clients join; each line one of them sends reaches the other two as `<sender address>: <line>`, and never comes back to its sender.",
        clauses: &[1, 2, 3, 4],
        points: 10,
        limit: Duration::from_secs(15),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "A chat server's input from one socket becomes output on the others: the server keeps every client and writes the line to each one but the sender.",
        hint: "For each complete line, queue `<sender peer address>: <line>` in the outbox of every client except the sender.",
        docs_anchor: "every-line-reaches-every-other-client",
        run: broadcast,
    },
    TestCase {
        id: "one-thread",
        scenario: "While twenty clients join in bursts, talk and leave, the program has exactly one thread at every moment (/proc/PID/stat sampled without pause).",
        clauses: &[15],
        points: 10,
        limit: Duration::from_secs(20),
        needs: &[Need::Linux],
        sharing: Sharing::Alone,
        concept: "The event-driven model serves every client from one thread: the thread sleeps in poll(2) until some socket is ready, instead of one thread sleeping per client.",
        hint: "Do not call thread::spawn (or thread::scope) anywhere: handle every socket from the one loop around poll.",
        docs_anchor: "exactly-one-thread",
        run: one_thread,
    },
    TestCase {
        id: "framing",
        scenario: "A client sends lines cut into pieces across several writes, and several lines (one of them binary) in a single write; each must be delivered as one whole line.",
        clauses: &[3, 5],
        points: 10,
        limit: Duration::from_secs(20),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "TCP is a byte stream: one read may hold half a line or several lines. Only a `\\n` ends a line, so the server keeps each client's unfinished line until the rest arrives.",
        hint: "Append what you read to the client's inbox, then take off every complete line (up to and including \\n); leave the rest in the inbox for the next read.",
        docs_anchor: "lines-split-across-reads-and-several-lines-in-one-read",
        run: framing,
    },
    TestCase {
        id: "long-line",
        scenario: "A client sends one line of 100 KiB; the other client must receive it whole, as one line with one prefix.",
        clauses: &[6],
        points: 5,
        limit: Duration::from_secs(15),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "A line ends at its `\\n`, however many reads it takes to arrive: the inbox grows until the `\\n` comes.",
        hint: "Do not cut or drop a line because it is long: keep appending to the inbox until its \\n arrives.",
        docs_anchor: "a-line-of-100-kib",
        run: long_line,
    },
    TestCase {
        id: "last-lines",
        scenario: "A client sends two complete lines and the start of a third, and closes its connection, all arriving in one read; the others must receive the two lines and nothing of the third.",
        clauses: &[7, 8],
        points: 5,
        limit: Duration::from_secs(15),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "A read can return a client's last lines and its end of file together: the lines already in the inbox are still the client's, and only the unfinished end dies with it.",
        hint: "When read returns 0, still deliver every complete line already in the client's inbox; drop only the bytes after the last \\n.",
        docs_anchor: "last-lines-and-an-unfinished-one",
        run: last_lines,
    },
    TestCase {
        id: "many-clients",
        scenario: "1,100 clients join (more than select's FD_SETSIZE of 1,024); five of them each send a line, and every other client must receive all of those lines.",
        clauses: &[14],
        points: 10,
        limit: Duration::from_secs(90),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "One thread can serve any number of clients when it waits for all of them at once; select(2) cannot watch descriptors numbered 1024 or more, poll(2) has no such limit.",
        hint: "Every client must stay in the room while more join: accept every waiting connection each time poll reports the listener, and watch every client with poll (select cannot watch descriptors of 1024 or more).",
        docs_anchor: "a-thousand-clients",
        run: many_clients,
    },
    TestCase {
        id: "silent-client",
        scenario: "A client connects and never sends anything; meanwhile two others talk, and a fourth joins, and all of that must work.",
        clauses: &[9],
        points: 5,
        limit: Duration::from_secs(20),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "On a blocking socket, read() waits until data arrives. A single-threaded server that reads a socket with nothing to say stops serving everybody.",
        hint: "Call set_nonblocking(true) on every accepted stream, and read only the clients poll reported readable; WouldBlock means \"nothing more for now\".",
        docs_anchor: "a-client-that-never-sends",
        run: silent_client,
    },
    TestCase {
        id: "slow-reader",
        scenario: "A client with a tiny receive buffer stops reading while another sends megabytes of lines; a third client must keep receiving them, and the slow one must get every byte, in order, once it reads again.",
        clauses: &[10],
        points: 5,
        limit: Duration::from_secs(60),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "A non-blocking write takes only what fits in the socket's send buffer (maybe nothing: WouldBlock). The rest must wait in a per-client queue, sent when poll reports POLLOUT, without holding up anybody else.",
        hint: "Keep an outbox per client. In flush, write from its front and remove exactly the n bytes each write accepted; on WouldBlock stop and keep the rest, and ask poll for POLLOUT while the outbox is not empty.",
        docs_anchor: "a-client-that-never-reads",
        run: slow_reader,
    },
    TestCase {
        id: "fair-turns",
        scenario: "The grader stops your program (SIGSTOP); two clients each send 256 KiB of lines, more than 96 KiB of which wait in each one's receive queue; it lets the program go on (SIGCONT), and a third client must receive every line, with at most 96 KiB of the first sender's lines before the first line of the other.",
        clauses: &[17],
        points: 5,
        limit: Duration::from_secs(30),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "A server that reads one client until WouldBlock serves it as long as it keeps sending: one busy client holds the whole loop while the others' lines wait. Reading a bounded amount per client per round of poll gives every ready client its turn.",
        hint: "In read_available, stop after a fixed amount (say 64 KiB) even if more is waiting; poll reports the socket again next round, after the other clients had their turn.",
        docs_anchor: "a-client-that-never-stops-sending",
        run: fair_turns,
    },
    TestCase {
        id: "out-of-descriptors",
        scenario: "The grader lowers your program's limit on open files (RLIMIT_NOFILE) to what it holds with two clients, and a third connects, so accept fails with EMFILE; the two must still be served, and the third greeted once one of them leaves.",
        clauses: &[13],
        points: 5,
        limit: Duration::from_secs(20),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "accept(2) needs a new descriptor; past RLIMIT_NOFILE it fails with EMFILE and the connection stays in the listen queue. That is no reason to stop: the clients in the room still need serving, and the waiting one can be accepted once a descriptor is free.",
        hint: "When accept fails with anything but WouldBlock, report it and return to the loop; do not end the program. The waiting connection stays in the queue and accept succeeds once a client has left.",
        docs_anchor: "out-of-file-descriptors",
        run: out_of_descriptors,
    },
    TestCase {
        id: "no-busy-loop",
        scenario: "One client of twenty leaves and the other nineteen stay connected and idle; the program goes on, and sleeps: over half a second it uses almost no CPU time, is seldom runnable, and hardly wakes up (from /proc/PID/stat and /proc/PID/status).",
        clauses: &[11, 16],
        points: 10,
        limit: Duration::from_secs(20),
        needs: &[Need::Linux],
        sharing: Sharing::Measures,
        concept: "poll(2) with no timeout sleeps until a socket is ready. A loop that polls with a zero timeout, asks for POLLOUT on idle sockets, keeps a closed socket in the set, or naps between zero-timeout polls wakes again and again while nothing happens.",
        hint: "Use PollTimeout::NONE, ask for POLLOUT only while a client's outbox has bytes, drop closed clients from the poll list, and never sleep in place of waiting in poll.",
        docs_anchor: "no-busy-loop",
        run: no_busy_loop,
    },
    TestCase {
        id: "asleep-while-queued",
        scenario: "A client stops reading while the program holds output for it that its socket cannot take; meanwhile nothing else happens, and the program must sleep (as in no-busy-loop).",
        clauses: &[16],
        points: 5,
        limit: Duration::from_secs(40),
        needs: &[Need::Linux],
        sharing: Sharing::Measures,
        concept: "Output waiting for a client that does not read is no work to do: poll with POLLOUT for that client sleeps until its socket has room again.",
        hint: "While an outbox is not empty, ask poll for POLLOUT on that client and wait with PollTimeout::NONE as always; do not retry the write in a loop or shorten the timeout.",
        docs_anchor: "asleep-while-output-waits",
        run: asleep_while_queued,
    },
    TestCase {
        id: "disconnects",
        scenario: "Twenty clients leave, ten with an orderly close and ten with a reset; the others are still served, and the program's open file descriptors return to their starting count.",
        clauses: &[11, 12],
        points: 10,
        limit: Duration::from_secs(30),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "read() returning 0 (FIN) or failing with ECONNRESET (RST) means the client is gone: close its socket and remove it from the watch set. One client's error must not end the server.",
        hint: "On Ok(0) or a read/write error, mark the client closed and drop it from the Vec at the end of the round; dropping the TcpStream closes the descriptor.",
        docs_anchor: "disconnects-orderly-and-reset",
        run: disconnects,
    },
    TestCase {
        id: "reset-while-queued",
        scenario: "A client stops reading until the program holds output for it, then resets its connection (RST); the program must go on serving the others and greeting new clients.",
        clauses: &[12],
        points: 5,
        limit: Duration::from_secs(40),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "Writing to a connection the peer has reset fails with ECONNRESET or EPIPE (Rust ignores SIGPIPE, so it is an error, not a signal). It ends that client, like a read error does.",
        hint: "Handle a write error in flush the way you handle a read error: mark that client closed and carry on with the others.",
        docs_anchor: "a-reset-while-output-waits",
        run: reset_while_queued,
    },
];

fn many_clients(ctx: &mut Ctx) -> Outcome {
    // The grader holds one socket per client, and so does the program; both
    // inherit the grader's limit on open files.
    let wanted = (CROWD + 200) as u64;
    let limit = fdlimit::ensure_open_files(wanted).map_err(Failure::skip)?;
    ctx.step(format!(
        "the grader may open {limit} files (RLIMIT_NOFILE); your program inherits that limit"
    ));
    let (mut program, addr) = start(ctx)?;
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
            let member = match Member::connect(addr) {
                Ok(member) => member,
                Err(e) => {
                    let failure = Failure::io(&format!("client {} of {CROWD} connecting to {addr}", crowd.len() + 1), &e);
                    note_process(ctx, &mut program);
                    return Err(or_exited(
                        ctx,
                        &mut program,
                        failure,
                        &format!("with {} clients connected", crowd.len()),
                    ));
                }
            };
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
                note_process(ctx, &mut program);
                let failure = Failure::new(format!(
                    "with {} clients connected, client {} expected its greeting {} within 10 s",
                    crowd.len(),
                    i + 1,
                    transcript::escape(&expected)
                ));
                let failure = if i < 1000 {
                    failure.hint("Every client must be greeted while the ones before it stay connected: accept every waiting connection each time poll reports the listener readable, and keep every client in the poll list.")
                } else {
                    failure
                };
                return Err(or_exited(
                    ctx,
                    &mut program,
                    failure,
                    &format!("with {} clients connected", crowd.len()),
                ));
            }
        }
    }
    ctx.step(format!(
        "{CROWD} clients connected and were greeted in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    crowd_says_hi(ctx, &mut program, &mut crowd)?;
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

/// A room in which one client has stopped reading and the program holds
/// output for it that the client's socket cannot take.
struct Stalled {
    slow: Member,
    witness: Client,
    sender: Client,
}

/// Builds a `Stalled` room: the slow client (4 KiB receive buffer) stops
/// reading, and a sender's lines go round, a witness reading each batch,
/// until more has gone to the slow client than the kernel holds for it (the
/// program's socket's unacknowledged bytes plus the slow socket's unread
/// ones, from `/proc/net/tcp`): the rest can only be in the program's own
/// outbox. Past the largest send buffer the kernel allows that is certain
/// anyway, so that volume is the upper bound.
fn stall_a_reader(ctx: &mut Ctx, program: &mut Program, addr: SocketAddr) -> Result<Stalled, Failure> {
    let slow = join_with_small_window(ctx, addr)?;
    let mut witness = join(ctx, addr)?;
    let sender = join(ctx, addr)?;
    ctx.step(format!(
        "the slow client stops reading; {} sends batches of lines, which {} reads",
        sender.name, witness.name
    ));
    let bound = max_send_buffer().clamp(1 << 20, 32 << 20) + (4 << 20);
    let mut writer = sender
        .stream
        .try_clone()
        .map_err(|e| Failure::io("cloning the sender's socket", &e))?;
    writer.set_write_timeout(Some(10 * S)).ok();
    let (mut total, mut k) = (0usize, 0usize);
    loop {
        let (mut batch, mut expected) = (Vec::new(), Vec::new());
        while batch.len() < 256 * 1024 {
            k += 1;
            let mut line = format!("line {k:06} ").into_bytes();
            line.extend((0..1000 + (k * 7919) % 1000).map(|i| b'a' + ((i + k) % 26) as u8));
            line.push(b'\n');
            expected.extend(delivered(&sender, &line));
            batch.extend(line);
        }
        if let Err(e) = writer.write_all(&batch) {
            let failure = Failure::io(&format!("{} sending a batch of {} bytes of lines", sender.name, batch.len()), &e);
            return Err(or_exited(ctx, program, failure, "while the slow client did not read"));
        }
        let deadline = Instant::now() + 20 * S;
        if let Err((got, why)) = read_expecting(&mut witness.stream, &expected, 10 * S, deadline) {
            ctx.step(format!(
                "{} received {} of the batch's {} bytes: {why}",
                witness.name,
                got.len(),
                expected.len()
            ));
            let failure = Failure::new(format!(
                "while the slow client did not read, {} received {} of the {} bytes of a batch of {}'s lines ({why})",
                witness.name,
                got.len(),
                expected.len(),
                sender.name
            ));
            return Err(or_exited(ctx, program, failure, "while the slow client did not read"));
        }
        total += expected.len();
        if total >= bound {
            ctx.step(format!(
                "{} received all {total} bytes; the slow client's share is more than any send buffer the kernel gives a socket here",
                witness.name
            ));
            break;
        }
        let in_kernel = || {
            // The program's unsent and unacknowledged bytes, and the slow
            // client's unread ones (`ss -tn`: Send-Q and Recv-Q).
            let ours = crate::sockdiag::tcp_queues(addr, slow.local)?;
            let theirs = crate::sockdiag::tcp_queues(slow.local, addr)?;
            Some(ours.unsent + theirs.unread)
        };
        if in_kernel().is_some_and(|held| (held as usize) < total) {
            // Let the program finish its round (it may still be writing to
            // the slow client), then look again.
            let settle = Instant::now() + S;
            while Instant::now() < settle && procfs::cpu_and_state(program.pid())?.1 != 'S' {
                std::thread::sleep(Duration::from_millis(5));
            }
            if let Some(held) = in_kernel().filter(|&held| (held as usize) < total) {
                ctx.step(format!(
                    "{} received all {total} bytes; the kernel holds {held} of the slow client's share (`ss -tn`: your program's unsent and unacknowledged bytes plus the slow client's unread ones), so your program holds the other {} itself",
                    witness.name,
                    total - held as usize
                ));
                break;
            }
        }
    }
    Ok(Stalled { slow, witness, sender })
}

fn asleep_while_queued(ctx: &mut Ctx) -> Outcome {
    let (mut program, addr) = start(ctx)?;
    let _stalled = stall_a_reader(ctx, &mut program, addr)?;
    watch_idle(
        ctx,
        &mut program,
        "while the slow client did not read and its socket could take no more of the output your program held for it",
    )
    .map_err(|f| {
        f.hint("Output waiting for a client that does not read is no work: ask poll for POLLOUT on that client and wait with PollTimeout::NONE; poll wakes you when its socket has room again.")
    })
}

fn reset_while_queued(ctx: &mut Ctx) -> Outcome {
    let (mut program, addr) = start(ctx)?;
    let Stalled {
        slow,
        mut witness,
        mut sender,
    } = stall_a_reader(ctx, &mut program, addr)?;
    socket2::SockRef::from(&slow.stream)
        .set_linger(Some(Duration::ZERO))
        .map_err(|e| Failure::io("setting SO_LINGER", &e))?;
    let slow_local = slow.local;
    drop(slow);
    ctx.step("the slow client reset its connection (SO_LINGER 0, then close: an RST) while your program held output for it");
    // Go on only once the RST has reached your program's socket (it leaves
    // the kernel's table of connections, as `ss -tn` shows): on a loaded
    // machine the kernel may hand the RST on late, and the next lines must
    // find your program with that socket already reset.
    let reset_by = Instant::now() + 5 * S;
    while crate::sockdiag::tcp_queues(addr, slow_local).is_some() {
        if Instant::now() >= reset_by {
            return Err(Failure::new(
                "5 s after the slow client reset its connection, your program's socket for it was still in the kernel's table of connections: the grader could not see the reset arrive",
            ));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let when = "after the slow client reset its connection while your program held output for it";
    sender.send(b"still here?\n")?;
    let line = delivered(&sender, b"still here?\n");
    expect_line(&mut witness, &line, "client 2's line").map_err(|f| or_exited(ctx, &mut program, f, when))?;
    let mut late = join(ctx, addr).map_err(|f| or_exited(ctx, &mut program, f, when))?;
    sender.send(b"welcome\n")?;
    let line = delivered(&sender, b"welcome\n");
    expect_line(&mut late, &line, "client 2's line").map_err(|f| or_exited(ctx, &mut program, f, when))?;
    expect_line(&mut witness, &line, "client 2's line").map_err(|f| or_exited(ctx, &mut program, f, when))?;
    alive(ctx, &mut program, "at the end")
}

fn long_line(ctx: &mut Ctx) -> Outcome {
    let (_program, addr) = start(ctx)?;
    let mut a = join(ctx, addr)?;
    let mut b = join(ctx, addr)?;
    let mut line: Vec<u8> = crate::ctx::random_bytes(ctx.seed, 100 * 1024)
        .into_iter()
        .map(|b| if b == b'\n' { b' ' } else { b })
        .collect();
    line.push(b'\n');
    a.send(&line)?;
    a.send(b"and a short one\n")?;
    expect_line(&mut b, &delivered(&a, &line), "client 1's line of 100 KiB, whole, as one line")?;
    expect_line(&mut b, &delivered(&a, b"and a short one\n"), "client 1's next line")
}

/// Sends `bytes` and then closes the sending side so that the bytes and the
/// FIN travel in one segment: `MSG_MORE` holds the bytes back (as `TCP_CORK`
/// does) until `shutdown(SHUT_WR)` adds the FIN and sends them. The server
/// then reads the lines and the end of file together.
fn send_then_close(stream: &TcpStream, bytes: &[u8]) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let socket = socket2::SockRef::from(stream);
        let mut sent = 0;
        while sent < bytes.len() {
            sent += socket.send_with_flags(&bytes[sent..], nix::libc::MSG_MORE)?;
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        (&*stream).write_all(bytes)?;
    }
    stream.shutdown(std::net::Shutdown::Write)
}

fn last_lines(ctx: &mut Ctx) -> Outcome {
    let (_program, addr) = start(ctx)?;
    let a = join(ctx, addr)?;
    let mut b = join(ctx, addr)?;
    let mut c = join(ctx, addr)?;
    let last: [&[u8]; 2] = [b"first of my last words\n", b"second of my last words\n"];
    let unfinished: &[u8] = b"and a third, unfinished";
    let mut bytes = last.concat();
    bytes.extend_from_slice(unfinished);
    send_then_close(&a.stream, &bytes).map_err(|e| Failure::io("client 1 sending its last bytes and closing", &e))?;
    ctx.step(format!(
        "client 1 sent {} and closed its sending side, in one segment (MSG_MORE, then shutdown(SHUT_WR)): your program reads the two lines, the unfinished third and the end of file together",
        transcript::escape(&bytes)
    ));
    for reader in [&mut b, &mut c] {
        for line in last {
            expect_line(reader, &delivered(&a, line), "client 1's last complete lines, sent with its close").map_err(|f| {
                f.hint("A read of 0 bytes ends the client, but the complete lines already in its inbox are still to be delivered: take them out of the inbox before you drop the client.")
            })?;
        }
    }
    c.send(b"anything more from client 1?\n")?;
    expect_line(
        &mut b,
        &delivered(&c, b"anything more from client 1?\n"),
        "client 3's line, and nothing of client 1's unfinished line before it",
    )
    .map_err(|f| f.hint("Bytes after a client's last \\n when it closes are no line: drop them, do not deliver them."))
}

/// The descriptor number the program's next `accept` (or `open`) would get:
/// the lowest number not in `/proc/PID/fd`.
fn lowest_free_fd(pid: u32) -> Result<u64, Failure> {
    let dir = std::fs::read_dir(format!("/proc/{pid}/fd")).map_err(|e| Failure::io(&format!("listing /proc/{pid}/fd"), &e))?;
    let mut taken: Vec<u64> = dir.flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).collect();
    taken.sort_unstable();
    Ok(taken
        .iter()
        .enumerate()
        .find(|&(i, &fd)| fd != i as u64)
        .map_or(taken.len(), |(i, _)| i) as u64)
}

fn out_of_descriptors(ctx: &mut Ctx) -> Outcome {
    let (mut program, addr) = start(ctx)?;
    let pid = program.pid();
    let mut a = join(ctx, addr)?;
    let mut b = join(ctx, addr)?;
    alive(ctx, &mut program, "with 2 clients in the room")?;
    // A new descriptor takes the lowest free number; a soft limit of exactly
    // that number makes the next accept fail with EMFILE, whatever the
    // program holds above it.
    let limit = lowest_free_fd(pid)?;
    crate::fdlimit::set_program_open_files(pid, limit).map_err(|e| {
        Failure::skip(format!(
            "the grader could not lower your program's limit on open files with prlimit(2): {e}"
        ))
    })?;
    ctx.step(format!(
        "the grader lowered your program's limit on open files (RLIMIT_NOFILE, with prlimit) to {limit}, the lowest descriptor number it has free: accepting one more connection fails with EMFILE"
    ));
    let mut waiting = ctx.connect(addr)?;
    ctx.step(format!(
        "{} connected: the kernel completed its handshake, and it waits in the listen queue until your program can accept it",
        waiting.name
    ));
    let when = format!("after {} connected while your program could open no more files", waiting.name);
    for round in 0..2 {
        let text = format!("still talking, round {}\n", round + 1);
        a.send(text.as_bytes())?;
        expect_line(&mut b, &delivered(&a, text.as_bytes()), "client 1's line").map_err(|f| or_exited(ctx, &mut program, f, &when))?;
        let text = format!("yes, still here, round {}\n", round + 1);
        b.send(text.as_bytes())?;
        expect_line(&mut a, &delivered(&b, text.as_bytes()), "client 2's line").map_err(|f| or_exited(ctx, &mut program, f, &when))?;
    }
    alive(ctx, &mut program, &when)?;
    drop(a);
    ctx.step("client 1 closed its connection: once your program closes its socket, a descriptor is free again");
    let greeting = format!("hello {}\n", waiting.local);
    expect_line(
        &mut waiting,
        greeting.as_bytes(),
        "its greeting, within 5 s of a descriptor coming free",
    )
    .map_err(|f| {
        or_exited(ctx, &mut program, f, "after a descriptor came free").hint(
            "The waiting connection is still in the listen queue: keep watching the listener (or watch it again soon after EMFILE) and accept it once a client has left.",
        )
    })?;
    b.send(b"welcome\n")?;
    expect_line(&mut waiting, &delivered(&b, b"welcome\n"), "client 2's line")
        .map_err(|f| or_exited(ctx, &mut program, f, "at the end"))?;
    alive(ctx, &mut program, "at the end")
}

/// The bytes of its lines one client in `fair-turns` sends while the program
/// is stopped: far more than any fair turn, and within the sender's send
/// buffer so that the writes finish at once: what the program's receive
/// queue does not take (128 KiB by default) fits in the sender's send buffer
/// even where `net.core.wmem_max` caps SO_SNDBUF at its default of 208 KiB.
const FAIR_SENT: usize = 256 * 1024;
/// Each line of `fair-turns`, `\n` included.
const FAIR_LINE: usize = 1024;
/// The most bytes of one sender's lines clause 17 lets come before the
/// first line of another sender whose lines were waiting too.
const FAIR_TURN: usize = 96 * 1024;
/// SO_SNDBUF asked for the two senders (the kernel doubles it, and caps it
/// at twice `net.core.wmem_max`).
const FAIR_SNDBUF: usize = 1024 * 1024;

/// A sender of `fair-turns`: a large send buffer, set before connecting, and
/// its greeting read.
fn fair_sender(ctx: &Ctx, addr: SocketAddr, name: &str) -> Result<Member, Failure> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        .map_err(|e| Failure::io(&format!("creating {name}'s socket"), &e))?;
    socket
        .set_send_buffer_size(FAIR_SNDBUF)
        .map_err(|e| Failure::io("setting SO_SNDBUF", &e))?;
    socket
        .connect_timeout(&addr.into(), 5 * S)
        .map_err(|e| Failure::io(&format!("{name} connecting to {addr}"), &e))?;
    let stream: TcpStream = socket.into();
    stream.set_write_timeout(Some(5 * S)).ok();
    let local = stream.local_addr().map_err(|e| Failure::io("reading the client's address", &e))?;
    let mut member = Member {
        stream,
        local,
        pending: Vec::new(),
    };
    let (got, _) = member.read_lines(1, Instant::now() + crate::chat::DELIVERY);
    let hello = format!("hello {local}\n").into_bytes();
    if got.first() != Some(&hello) {
        return Err(Failure::new(format!(
            "{name} ({local}) expected the greeting {}; got {}",
            transcript::escape(&hello),
            escape_lines(&got)
        )));
    }
    ctx.step(format!("{name} joined from {local} (SO_SNDBUF {} KiB asked)", FAIR_SNDBUF / 1024));
    Ok(member)
}

/// The lines `fair-turns` has one sender send: numbered, `tag` first.
fn fair_lines(tag: u8) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(FAIR_SENT);
    for i in 0..FAIR_SENT / FAIR_LINE {
        let mut line = format!("{}{i:06} ", tag as char).into_bytes();
        line.resize(FAIR_LINE - 1, tag);
        line.push(b'\n');
        bytes.extend_from_slice(&line);
    }
    bytes
}

fn fair_turns(ctx: &mut Ctx) -> Outcome {
    let (mut program, addr) = start(ctx)?;
    let pid = program.pid();
    let mut watcher = Member::connect(addr).map_err(|e| Failure::io(&format!("the watcher connecting to {addr}"), &e))?;
    let (got, _) = watcher.read_lines(1, Instant::now() + crate::chat::DELIVERY);
    if got.first().map(|l| l.starts_with(b"hello ")) != Some(true) {
        return Err(or_exited(
            ctx,
            &mut program,
            Failure::new(format!("the watcher expected its greeting; got {}", escape_lines(&got))),
            "greeting the watcher",
        ));
    }
    let mut a = fair_sender(ctx, addr, "sender A")?;
    let mut b = fair_sender(ctx, addr, "sender B")?;
    let lines_a = fair_lines(b'a');
    let lines_b = fair_lines(b'b');
    crate::chat::signal(pid, "SIGSTOP").map_err(|e| Failure::new(format!("the grader could not stop your program (SIGSTOP): {e}")))?;
    // kill(2) returns before the program stops: a program on its way into
    // poll would still see readable sockets there, and act on that list
    // after SIGCONT. So no byte is sent until the kernel shows it stopped
    // (state `T` in /proc/PID/stat).
    let stopping = Instant::now() + 5 * S;
    loop {
        let state = match procfs::cpu_and_state(pid) {
            Ok((_, state)) => state,
            Err(e) => {
                let _ = crate::chat::signal(pid, "SIGCONT");
                return Err(e);
            }
        };
        if state == 'T' {
            break;
        }
        if Instant::now() >= stopping {
            let _ = crate::chat::signal(pid, "SIGCONT");
            return Err(or_exited(
                ctx,
                &mut program,
                Failure::new(format!("your program did not stop within 5 s of SIGSTOP (its state: {state})")),
                "stopping it",
            ));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let written = a.stream.write_all(&lines_a).and_then(|()| b.stream.write_all(&lines_b));
    // Wait until the kernel has moved more than a turn's worth of each
    // sender's lines into the program's receive queues (Recv-Q in `ss -tn`),
    // from where a program that reads a client until WouldBlock must take
    // them all before it reads the other. If a queue holds less (a receive
    // buffer smaller than Linux's default 128 KiB), go on once the queues
    // stop growing: a fair program passes either way.
    let queued = |m: &Member| crate::sockdiag::tcp_queues(addr, m.local).map_or(0, |q| q.unread as usize);
    let enough = FAIR_TURN + FAIR_LINE;
    let until = Instant::now() + S;
    let mut last = (0, 0);
    let mut still = 0;
    loop {
        let now = (queued(&a), queued(&b));
        if (now.0 > enough && now.1 > enough) || Instant::now() >= until || still >= 50 {
            last = now;
            break;
        }
        still = if now == last && now.0 > 0 && now.1 > 0 { still + 1 } else { 0 };
        last = now;
        std::thread::sleep(Duration::from_millis(1));
    }
    let _ = crate::chat::signal(pid, "SIGCONT");
    written.map_err(|e| Failure::io("the senders writing their lines while your program was stopped", &e))?;
    ctx.step(format!(
        "the grader stopped your program (SIGSTOP); senders A and B each wrote {} KiB of {FAIR_LINE}-byte lines; its receive queues held {} and {} bytes; it was let go on (SIGCONT)",
        FAIR_SENT / 1024, last.0, last.1
    ));
    let total = 2 * FAIR_SENT / FAIR_LINE;
    let (got, complete) = watcher.read_lines(total, Instant::now() + 20 * S);
    let prefix_a = format!("{}: ", a.local).into_bytes();
    let prefix_b = format!("{}: ", b.local).into_bytes();
    let mut runs: Vec<(u8, usize)> = Vec::new();
    for line in &got {
        let tag = if line.starts_with(&prefix_a) {
            b'a'
        } else if line.starts_with(&prefix_b) {
            b'b'
        } else {
            return Err(Failure::new(format!(
                "the watcher received {}, which is neither `{}: ...` nor `{}: ...` (clause 3)",
                transcript::escape(&line[..line.len().min(80)]),
                a.local,
                b.local
            )));
        };
        match runs.last_mut() {
            Some((t, n)) if *t == tag => *n += FAIR_LINE,
            _ => runs.push((tag, FAIR_LINE)),
        }
    }
    if !complete {
        return Err(or_exited(
            ctx,
            &mut program,
            Failure::new(format!(
                "the watcher received {} of the {total} lines the two senders sent (clause 3)",
                got.len()
            )),
            "relaying the senders' lines",
        ));
    }
    let (first, run) = runs[0];
    let name = |t: u8| if t == b'a' { "A" } else { "B" };
    if run > FAIR_TURN {
        let other = if first == b'a' { "B" } else { "A" };
        return Err(Failure::new(format!(
            "the watcher received {} KiB of sender {}'s lines ({} lines) before the first line of sender {other}, \
             although both senders' lines were waiting in your program's receive queues when it went on; \
             at most {} KiB of one client may come first. Your program reads one client for as long as it has \
             bytes waiting, so a client that never stops sending would hold up everybody else.",
            run / 1024,
            name(first),
            run / FAIR_LINE,
            FAIR_TURN / 1024
        )));
    }
    ctx.step(format!(
        "the watcher received {} KiB of sender {}'s lines before the first of the other's, and every line of both",
        run / 1024,
        name(first)
    ));
    Ok(())
}

//! Hidden tests for exercise 06: ordered, then reliable, delivery over UDP.
//!
//! The exercise has four programs (`Target::bin` roles): `sender` and
//! `receiver` (part 1, ordering), `reliable-sender` and `reliable-receiver`
//! (part 2, acknowledgements and retransmission). Between a sender and its
//! receiver the grader puts a faulty network, `fixtures::udp_proxy`, whose
//! schedule of drops, duplicates and reorderings is drawn from the test's
//! seed and printed, so a failure replays exactly with `--seed`.
//!
//! Receivers print `listening on ADDR`, then `deliver <seq> <len> <fnv>`,
//! `lost <seq>` and `malformed <len> <total>` lines (the stub's `common.rs`
//! prints them); the grader checks them against what the sender sent:
//! message i has sequence number `first + i` (mod 65 536) and the bytes of
//! `payload(i, size)`, the same function as the stub's.

use crate::ctx::{Ctx, Failure, Outcome};
use crate::fixtures::udp_proxy::{Fault, FaultPlan, Log, UdpProxy};
use crate::platform::Need;
use crate::process::{Program, describe_status};
use crate::procfs;
use crate::registry::TestCase;
use std::cell::RefCell;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

const S: Duration = Duration::from_secs(1);

/// Part 2's time bound for 200 messages at 20% loss each way (stated in the chapter).
const RELIABLE_BOUND: Duration = Duration::from_secs(30);

pub const TESTS: &[TestCase] = &[
    TestCase {
        id: "in-order",
        scenario: "The network reorders and duplicates 200 datagrams but drops none; the receiver must deliver all 200 once each, in sending order, and report nothing lost.",
        clauses: &[],
        points: 15,
        limit: Duration::from_secs(30),
        needs: &[],
        exclusive: false,
        concept: "UDP may deliver datagrams in any order and more than once; a sequence number per message lets the receiver hold early ones and drop copies.",
        hint: "Deliver only the message numbered `next`; hold messages ahead of it in the window; drop anything behind it or already held.",
        docs_anchor: "in-order-delivery-with-nothing-lost",
        run: in_order,
    },
    TestCase {
        id: "losses",
        scenario: "The network drops about 10% of 200 datagrams and reorders and duplicates others; every message must be delivered in order or reported lost after the loss timeout, never both, never skipped.",
        clauses: &[],
        points: 15,
        limit: Duration::from_secs(30),
        needs: &[],
        exclusive: false,
        concept: "A lost datagram never arrives, so a receiver that waits for it waits forever; after a timeout it must declare the message lost and move on.",
        hint: "When a gap appears, remember when; once the loss timeout has passed, report the missing messages lost, advance `next` past them and deliver what was held.",
        docs_anchor: "losses-are-reported-not-waited-for",
        run: losses,
    },
    TestCase {
        id: "wraparound",
        scenario: "Sequence numbers start at 65 436 and wrap from 65 535 to 0 in the middle of the run, with datagrams reordered across the wrap; all 200 must be delivered in order, none lost.",
        clauses: &[],
        points: 10,
        limit: Duration::from_secs(30),
        needs: &[],
        exclusive: false,
        concept: "A 16-bit sequence number wraps around; comparing numbers with < breaks at the wrap, serial number arithmetic (RFC 1982) does not.",
        hint: "Compare sequence numbers by their wrapping difference read as a signed 16-bit number, and advance them with wrapping_add.",
        docs_anchor: "sequence-numbers-wrap-around",
        run: wraparound,
    },
    TestCase {
        id: "flood",
        scenario: "1 200 datagrams of 60 000 bytes with sequence numbers far beyond the window arrive; the receiver must drop them, grow by at most 24 MiB (VmHWM in /proc/PID/status), and still deliver the next message.",
        clauses: &[],
        points: 10,
        limit: Duration::from_secs(40),
        needs: &[Need::Linux],
        exclusive: false,
        concept: "A reorder buffer must be bounded: anybody can send datagrams with any sequence number, and storing every early one lets them exhaust the receiver's memory.",
        hint: "Hold only sequence numbers from `next` to `next + window - 1`; drop anything further ahead without copying it.",
        docs_anchor: "a-flood-outside-the-window",
        run: flood,
    },
    TestCase {
        id: "max-size",
        scenario: "Ten messages of 65 504 bytes, each filling the largest UDP datagram IPv4 carries (65 507 bytes), go straight to the receiver; each must be delivered whole.",
        clauses: &[],
        points: 10,
        limit: Duration::from_secs(20),
        needs: &[],
        exclusive: false,
        concept: "recvfrom returns one whole datagram, but only as much of it as fits in your buffer: the rest is silently discarded.",
        hint: "Receive into a buffer of at least 65 507 bytes (64 KiB is a good size), not a small fixed array.",
        docs_anchor: "datagram-boundaries-and-the-largest-datagram",
        run: max_size,
    },
    TestCase {
        id: "malformed",
        scenario: "Datagrams that are not messages (empty, 1 byte, 2 bytes, an unknown kind byte) arrive between two valid ones; the receiver must count each as malformed, keep running, and deliver the valid ones.",
        clauses: &[],
        points: 10,
        limit: Duration::from_secs(15),
        needs: &[],
        exclusive: false,
        concept: "Anybody can send anything to a UDP port; a receiver checks lengths before it reads a header, and skips what does not parse.",
        hint: "In decode, return None when the datagram is shorter than the 3-byte header or its first byte is unknown, before indexing into it.",
        docs_anchor: "malformed-datagrams",
        run: malformed,
    },
    TestCase {
        id: "reliable",
        scenario: "Over a network that drops 20% of datagrams in each direction and reorders and duplicates others, 200 messages (numbers wrapping past 65 535) must all be delivered exactly once, in order, within 30 s.",
        clauses: &[],
        points: 20,
        limit: Duration::from_secs(60),
        needs: &[],
        exclusive: false,
        concept: "Reliability over UDP is the application's job: acknowledge what arrived, retransmit on a timer what was not acknowledged, and let the receiver drop the copies.",
        hint: "Keep a window of unacknowledged messages, each with the time it was last sent; wait for acks no longer than the earliest timer; retransmit those whose timer ran out.",
        docs_anchor: "part-2-every-message-exactly-once",
        run: reliable,
    },
    TestCase {
        id: "gives-up",
        scenario: "Nothing ever acknowledges (the receiver is gone); the sender must retransmit on a 100 ms timer, give up after 4 retransmissions, and exit with a non-zero status and an error.",
        clauses: &[],
        points: 10,
        limit: Duration::from_secs(25),
        needs: &[],
        exclusive: false,
        concept: "The sender cannot tell a lost datagram from a dead peer; it retransmits at a timer's pace and, after a bounded number of tries, gives up and says so.",
        hint: "Count retransmissions per message; when one reaches --max-retries, return an error (main exits with status 1). Retransmit only when the message's timer has run out.",
        docs_anchor: "giving-up",
        run: gives_up,
    },
];

// ---------------------------------------------------------------------------
// The protocol, as the grader sees it (the same as the stub's wire.rs and common.rs).

/// The bytes of message `index`: `common::payload` in the exercise.
fn payload(index: u64, size: usize) -> Vec<u8> {
    let mut bytes = format!("message {index} ").into_bytes();
    bytes.truncate(size);
    let mut x = index.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    while bytes.len() < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.push(b'a' + (x % 26) as u8);
    }
    bytes
}

/// `common::fingerprint`: 32-bit FNV-1a.
fn fingerprint(bytes: &[u8]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for &b in bytes {
        hash ^= b as u32;
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

/// A data datagram: `'D'`, the sequence number big-endian, the payload.
fn data(seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut bytes = vec![b'D'];
    bytes.extend_from_slice(&seq.to_be_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// One line a receiver printed, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Line {
    Deliver { seq: u16, len: usize, fingerprint: u32 },
    Lost(u16),
    Malformed { total: u64 },
}

fn parse_line(line: &str) -> Option<Line> {
    let mut words = line.split_whitespace();
    match words.next()? {
        "deliver" => Some(Line::Deliver {
            seq: words.next()?.parse().ok()?,
            len: words.next()?.parse().ok()?,
            fingerprint: u32::from_str_radix(words.next()?, 16).ok()?,
        }),
        "lost" => Some(Line::Lost(words.next()?.parse().ok()?)),
        "malformed" => {
            let _len: usize = words.next()?.parse().ok()?;
            Some(Line::Malformed {
                total: words.next()?.parse().ok()?,
            })
        }
        _ => None,
    }
}

/// The receiver's event lines read so far.
#[derive(Default)]
struct Lines {
    lines: Vec<Line>,
    /// Position within the current pass over stdout, and how far earlier
    /// passes got: `wait_for_stdout` hands over every line from the first on
    /// each call, and each must be taken once.
    pos: usize,
    taken: usize,
}

/// Collects the receiver's new lines for up to `slice`. Fails if it exited.
fn poll_lines(ctx: &Ctx, receiver: &mut Program, lines: &RefCell<Lines>, slice: Duration) -> Outcome {
    lines.borrow_mut().pos = 0;
    let _ = receiver.wait_for_stdout("more lines", slice, |text| {
        let mut l = lines.borrow_mut();
        l.pos += 1;
        if l.pos > l.taken {
            l.taken = l.pos;
            if let Some(line) = parse_line(text) {
                l.lines.push(line);
            }
        }
        None::<()>
    });
    if let Some(status) = receiver.poll_exit() {
        return Err(ctx.with_program_panic(
            Failure::new(format!(
                "your receiver exited ({}) while the test still expected lines from it; a receiver runs until it is stopped.",
                describe_status(status)
            )),
            receiver,
        ));
    }
    Ok(())
}

/// What a receiver's lines say about a stream of `count` messages numbered
/// from `first`, each `size` bytes.
#[derive(Debug, Default)]
struct Verdict {
    /// Messages accounted for (delivered or reported lost), all in order.
    next_index: u64,
    delivered: u64,
    lost: Vec<u16>,
    malformed_total: u64,
    malformed_lines: u64,
    /// The first rule the lines broke, with a hint.
    violation: Option<(String, &'static str)>,
}

impl Verdict {
    fn complete(&self, count: u64) -> bool {
        self.next_index == count
    }
}

fn judge(lines: &[Line], first: u16, count: u64, size: usize) -> Verdict {
    let mut v = Verdict::default();
    let seq_of = |index: u64| first.wrapping_add(index as u16);
    for line in lines {
        let (seq, delivered) = match *line {
            Line::Malformed { total } => {
                v.malformed_total = total;
                v.malformed_lines += 1;
                continue;
            }
            Line::Deliver { seq, .. } => (seq, true),
            Line::Lost(seq) => (seq, false),
        };
        let index = seq.wrapping_sub(first) as u64;
        let what = if delivered { "delivered" } else { "reported lost" };
        if index >= count {
            v.violation = Some((
                format!(
                    "your receiver {what} sequence number {seq}, but the sender only sent {} to {} (messages 0 to {})",
                    first,
                    seq_of(count - 1),
                    count - 1
                ),
                "Start `next` at --first-seq, and report only numbers between `next` and the newest held message.",
            ));
            return v;
        }
        if index < v.next_index {
            v.violation = Some((
                format!(
                    "your receiver {what} sequence number {seq} (message {index}) after it had already delivered or reported every message up to {}: each message must come out once, as a delivery or a loss",
                    seq_of(v.next_index - 1)
                ),
                "Drop a datagram whose number is behind `next` (wrapping difference below 0): it is a duplicate or arrived after you gave up on it.",
            ));
            return v;
        }
        if index > v.next_index {
            v.violation = Some((
                format!(
                    "your receiver {what} sequence number {seq} (message {index}) while sequence number {} (message {}) had been neither delivered nor reported lost: messages must come out in sending order",
                    seq_of(v.next_index),
                    v.next_index
                ),
                "Deliver only the message numbered `next`; hold later ones until the gap before them is filled or declared lost.",
            ));
            return v;
        }
        if let Line::Deliver { len, fingerprint: got, .. } = *line {
            let expected = payload(index, size);
            if len != size || got != fingerprint(&expected) {
                let cut = if len < size {
                    " It is shorter: the datagram was cut to fit your receive buffer (recvfrom discards the rest)."
                } else {
                    ""
                };
                v.violation = Some((
                    format!(
                        "your receiver delivered message {index} (sequence number {seq}) as {len} bytes with fingerprint {got:08x}, but the sender sent {size} bytes with fingerprint {:08x}.{cut}",
                        fingerprint(&expected)
                    ),
                    "Deliver the payload exactly: the bytes after the 3-byte header of one whole datagram, received into a buffer of at least 65 507 bytes.",
                ));
                return v;
            }
            v.delivered += 1;
        } else {
            v.lost.push(seq);
        }
        v.next_index = index + 1;
    }
    v
}

/// The kernel's counters for the UDP socket bound to `port` on this machine:
/// (bytes queued for reading, datagrams dropped because its buffer was full).
/// From /proc/net/udp and udp6; `None` where they cannot be read.
fn udp_socket_counters(port: u16) -> Option<(u64, u64)> {
    for table in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(text) = std::fs::read_to_string(table) else { continue };
        for row in text.lines().skip(1) {
            let fields: Vec<&str> = row.split_whitespace().collect();
            let Some(local) = fields.get(1) else { continue };
            let Some(port_hex) = local.rsplit(':').next() else { continue };
            if u16::from_str_radix(port_hex, 16).ok() != Some(port) {
                continue;
            }
            let rx = fields
                .get(4)
                .and_then(|q| q.split(':').nth(1))
                .and_then(|h| u64::from_str_radix(h, 16).ok())
                .unwrap_or(0);
            let drops = fields.last().and_then(|d| d.parse().ok()).unwrap_or(0);
            return Some((rx, drops));
        }
    }
    None
}

fn kernel_drops(port: u16) -> u64 {
    udp_socket_counters(port).map_or(0, |(_, drops)| drops)
}

// ---------------------------------------------------------------------------
// Part 1: a sender, the faulty network, a receiver.

struct Part1 {
    count: u64,
    first: u16,
    size: usize,
    interval_ms: u64,
    loss_timeout_ms: u64,
    /// `None`: the sender sends straight to the receiver.
    plan: Option<FaultPlan>,
    /// Faults that replace the drawn ones for these message indices.
    forced: &'static [(usize, Fault)],
}

/// What a part-1 run produced.
struct Run1 {
    verdict: Verdict,
    log: Log,
    /// Datagrams the kernel dropped at the receiver's socket (buffer full).
    kernel_drops: u64,
}

fn run_part1(ctx: &mut Ctx, p: &Part1) -> Result<Run1, Failure> {
    let first = p.first.to_string();
    let timeout = p.loss_timeout_ms.to_string();
    let mut receiver = ctx.spawn_bin(
        "receiver",
        &[
            "--bind",
            "127.0.0.1:0",
            "--first-seq",
            &first,
            "--window",
            "256",
            "--loss-timeout-ms",
            &timeout,
        ],
        &[],
    )?;
    let receiver_addr = ctx.wait_listening(&mut receiver)?;
    let proxy = match p.plan {
        Some(plan) => {
            let mut schedule = plan.schedule(ctx.seed, p.count as usize);
            for &(index, fault) in p.forced {
                schedule[index] = fault;
            }
            ctx.step(format!(
                "the grader's faulty network draws its schedule from this test's seed {} (drop {}%, duplicate {}%, hold back {}% by up to {} datagrams or {} ms); `cargo xtask check 06 --seed <the run's seed>` replays it",
                ctx.seed,
                plan.drop_percent,
                plan.duplicate_percent,
                plan.reorder_percent,
                plan.max_distance,
                crate::fixtures::udp_proxy::HOLD_LIMIT.as_millis()
            ));
            let proxy =
                UdpProxy::start(receiver_addr, schedule, Vec::new()).map_err(|e| Failure::io("starting the grader's UDP proxy", &e))?;
            ctx.step(format!(
                "the faulty network listens on {} and forwards to your receiver at {receiver_addr}",
                proxy.addr()
            ));
            Some(proxy)
        }
        None => None,
    };
    let to = proxy.as_ref().map_or(receiver_addr, |proxy| proxy.addr()).to_string();
    let (count, size, interval) = (p.count.to_string(), p.size.to_string(), p.interval_ms.to_string());
    let mut sender = ctx.spawn_bin(
        "sender",
        &[
            "--to",
            &to,
            "--count",
            &count,
            "--first-seq",
            &first,
            "--size",
            &size,
            "--interval-ms",
            &interval,
        ],
        &[],
    )?;

    let lines = RefCell::new(Lines::default());
    let slice = Duration::from_millis(100);
    // Until the sender has sent everything.
    let sent_by = Instant::now() + ctx.remaining().saturating_sub(5 * S);
    let status = loop {
        poll_lines(ctx, &mut receiver, &lines, slice)?;
        if let Some(status) = sender.poll_exit() {
            break status;
        }
        if Instant::now() >= sent_by {
            return Err(Failure::new(format!(
                "your sender was still running {:.0} s after it started, though {} messages at one every {} ms take well under that",
                ctx.transcript.elapsed_secs(),
                p.count,
                p.interval_ms
            )));
        }
    };
    if !status.success() {
        return Err(ctx.with_program_panic(
            Failure::new(format!(
                "your sender exited with {}; it must send every message and exit with status 0",
                describe_status(status)
            )),
            &sender,
        ));
    }
    // Then until every message is accounted for: held-back datagrams arrive
    // within the proxy's hold limit, and losses within the loss timeout.
    let settle = Duration::from_millis(2 * p.loss_timeout_ms) + 5 * S;
    let settled_by = Instant::now() + settle.min(ctx.remaining().saturating_sub(2 * S));
    let mut verdict;
    loop {
        verdict = judge(&lines.borrow().lines, p.first, p.count, p.size);
        if verdict.violation.is_some() || verdict.complete(p.count) || Instant::now() >= settled_by {
            break;
        }
        poll_lines(ctx, &mut receiver, &lines, slice)?;
    }
    let log = proxy.as_ref().map(|proxy| proxy.log()).unwrap_or_default();
    if proxy.is_some() {
        ctx.step(format!("the faulty network did this:\n{}", log.describe()));
    }
    let kernel_drops = kernel_drops(receiver_addr.port());
    ctx.step(format!(
        "your receiver delivered {} messages and reported {} lost{}",
        verdict.delivered,
        verdict.lost.len(),
        if kernel_drops > 0 {
            format!("; the kernel dropped {kernel_drops} datagrams at its socket (receive buffer full)")
        } else {
            String::new()
        }
    ));
    if let Some((summary, hint)) = verdict.violation.take() {
        return Err(Failure::new(summary).hint(hint));
    }
    // If the kernel itself dropped the last datagrams at the receiver's full
    // socket buffer (a very busy machine), nothing can reveal their loss.
    let unaccounted = p.count - verdict.next_index;
    if !verdict.complete(p.count) && unaccounted > kernel_drops {
        let missing = p.first.wrapping_add(verdict.next_index as u16);
        return Err(Failure::new(format!(
            "{:.1} s after the sender finished, message {} (sequence number {missing}) was still neither delivered nor reported lost; with a loss timeout of {} ms your receiver should have given up on it long before",
            settle.as_secs_f64(),
            verdict.next_index,
            p.loss_timeout_ms
        ))
        .hint("Do not wait for a missing message forever: bound each recv_from by the gap's deadline (set_read_timeout) and report the message lost when the deadline passes."));
    }
    Ok(Run1 {
        verdict,
        log,
        kernel_drops,
    })
}

/// Fails if messages were reported lost though nothing was dropped.
fn expect_no_losses(run: &Run1) -> Outcome {
    let dropped_by_network = run.log.forward.iter().filter(|r| r.fault.drop).count();
    if run.verdict.lost.is_empty() || dropped_by_network > 0 {
        return Ok(());
    }
    if run.verdict.lost.len() as u64 <= run.kernel_drops {
        // The machine was so busy that the kernel itself dropped datagrams at
        // the receiver's full socket buffer: those losses are real.
        return Ok(());
    }
    let shown: Vec<String> = run.verdict.lost.iter().take(10).map(|s| s.to_string()).collect();
    Err(Failure::new(format!(
        "your receiver reported sequence numbers {} lost, but in this test the network never dropped a datagram (it only reordered and duplicated) and the kernel dropped none at your socket",
        shown.join(", ")
    ))
    .hint("A message that is late is not lost: hold early arrivals in the window and declare a loss only after the loss timeout has passed. Check the comparison of sequence numbers too."))
}

const REORDER_ONLY: FaultPlan = FaultPlan {
    drop_percent: 0,
    duplicate_percent: 15,
    reorder_percent: 25,
    max_distance: 6,
};

fn in_order(ctx: &mut Ctx) -> Outcome {
    let run = run_part1(
        ctx,
        &Part1 {
            count: 200,
            first: 0,
            size: 100,
            interval_ms: 2,
            // Far longer than any hold-back, so a busy machine cannot turn
            // a late datagram into a "loss".
            loss_timeout_ms: 5000,
            plan: Some(REORDER_ONLY),
            forced: &[],
        },
    )?;
    expect_no_losses(&run)
}

fn losses(ctx: &mut Ctx) -> Outcome {
    // The last message always gets through: a receiver cannot notice the
    // loss of a message after which nothing more arrives.
    const LAST_GETS_THROUGH: &[(usize, Fault)] = &[(
        199,
        Fault {
            drop: false,
            hold: 0,
            duplicate: None,
        },
    )];
    run_part1(
        ctx,
        &Part1 {
            count: 200,
            first: 0,
            size: 100,
            interval_ms: 2,
            loss_timeout_ms: 300,
            plan: Some(FaultPlan {
                drop_percent: 10,
                duplicate_percent: 10,
                reorder_percent: 20,
                max_distance: 6,
            }),
            forced: LAST_GETS_THROUGH,
        },
    )
    .map(|_| ())
}

fn wraparound(ctx: &mut Ctx) -> Outcome {
    // Messages 98 and 99 (sequence numbers 65 534 and 65 535) are held back,
    // so 0, 1, 2, ... arrive while the receiver still waits for 65 534; a
    // copy of 65 535 comes again after the wrap.
    const ACROSS_THE_WRAP: &[(usize, Fault)] = &[
        (
            98,
            Fault {
                drop: false,
                hold: 3,
                duplicate: None,
            },
        ),
        (
            99,
            Fault {
                drop: false,
                hold: 5,
                duplicate: Some(4),
            },
        ),
    ];
    let run = run_part1(
        ctx,
        &Part1 {
            count: 200,
            first: 65_436,
            size: 100,
            interval_ms: 2,
            loss_timeout_ms: 2000,
            plan: Some(REORDER_ONLY),
            forced: ACROSS_THE_WRAP,
        },
    )?;
    expect_no_losses(&run)
}

fn max_size(ctx: &mut Ctx) -> Outcome {
    let run = run_part1(
        ctx,
        &Part1 {
            count: 10,
            first: 0,
            size: 65_504,
            interval_ms: 30,
            loss_timeout_ms: 2000,
            plan: None,
            forced: &[],
        },
    )?;
    expect_no_losses(&run)
}

// ---------------------------------------------------------------------------
// The receiver alone, with the grader sending.

/// Starts part 1's receiver and a grader socket to send to it from.
fn receiver_alone(ctx: &mut Ctx) -> Result<(Program, SocketAddr, UdpSocket), Failure> {
    let mut receiver = ctx.spawn_bin(
        "receiver",
        &[
            "--bind",
            "127.0.0.1:0",
            "--first-seq",
            "0",
            "--window",
            "256",
            "--loss-timeout-ms",
            "1000",
        ],
        &[],
    )?;
    let addr = ctx.wait_listening(&mut receiver)?;
    let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| Failure::io("binding the grader's UDP socket", &e))?;
    Ok((receiver, addr, socket))
}

fn send(socket: &UdpSocket, to: SocketAddr, bytes: &[u8]) -> Outcome {
    socket
        .send_to(bytes, to)
        .map(|_| ())
        .map_err(|e| Failure::io(&format!("sending a datagram of {} bytes to {to}", bytes.len()), &e))
}

/// Waits until the receiver's lines satisfy `done`.
fn wait_lines(
    ctx: &Ctx,
    receiver: &mut Program,
    lines: &RefCell<Lines>,
    timeout: Duration,
    done: impl Fn(&[Line]) -> bool,
) -> Result<bool, Failure> {
    let deadline = Instant::now() + timeout;
    loop {
        if done(&lines.borrow().lines) {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        poll_lines(ctx, receiver, lines, Duration::from_millis(50))?;
    }
}

fn delivered(lines: &[Line], seq: u16) -> bool {
    lines.iter().any(|l| matches!(l, Line::Deliver { seq: s, .. } if *s == seq))
}

fn flood(ctx: &mut Ctx) -> Outcome {
    const FLOOD: u64 = 1200;
    const FLOOD_SIZE: usize = 60_000;
    const ALLOWED_KIB: u64 = 24 * 1024;
    let (mut receiver, addr, socket) = receiver_alone(ctx)?;
    let lines = RefCell::new(Lines::default());
    send(&socket, addr, &data(0, &payload(0, 100)))?;
    ctx.step("the grader sent message 0 (sequence number 0, 100 bytes) straight to your receiver");
    if !wait_lines(ctx, &mut receiver, &lines, 5 * S, |l| delivered(l, 0))? {
        return Err(Failure::new(
            "expected `deliver 0 ...` within 5 s of sending sequence number 0, the first expected message, but none came",
        ));
    }
    let pid = receiver.pid();
    let before = procfs::status_kib(pid, "VmRSS")?;
    ctx.step(format!(
        "your receiver delivered it; its resident memory is now {before} KiB (VmRSS in /proc/{pid}/status)"
    ));
    ctx.step(format!(
        "the grader sends {FLOOD} datagrams of {FLOOD_SIZE} bytes with sequence numbers 1000 to {}, all far beyond a window of 256 (about {} MiB if stored), waiting whenever your socket's queue is full so that none is lost on the way",
        1000 + FLOOD - 1,
        (FLOOD * FLOOD_SIZE as u64) >> 20
    ));
    let filler = payload(7, FLOOD_SIZE);
    let flood_by = Instant::now() + ctx.remaining().saturating_sub(12 * S);
    for k in 0..FLOOD {
        // Wait for the receiver to drain its socket (the rx_queue column of
        // /proc/net/udp) so the kernel does not drop the flood for it.
        while udp_socket_counters(addr.port()).is_some_and(|(rx, _)| rx > 100_000) && Instant::now() < flood_by {
            if receiver.poll_exit().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        send(&socket, addr, &data(1000 + k as u16, &filler))?;
    }
    send(&socket, addr, &data(1, &payload(1, 100)))?;
    ctx.step("the grader sent message 1 (sequence number 1), the next one your receiver expects");
    if !wait_lines(ctx, &mut receiver, &lines, 10 * S, |l| delivered(l, 1))? {
        return Err(Failure::new(
            "expected `deliver 1 ...` within 10 s of sending sequence number 1 after the flood, but none came",
        ));
    }
    let peak = procfs::status_kib(pid, "VmHWM")?;
    ctx.step(format!(
        "your receiver delivered message 1; its peak resident memory was {peak} KiB (VmHWM)"
    ));
    if let Some(line) = lines
        .borrow()
        .lines
        .iter()
        .find(|l| matches!(l, Line::Deliver { seq, .. } | Line::Lost(seq) if *seq >= 1000))
    {
        return Err(Failure::new(format!(
            "your receiver printed {line:?} for a sequence number of the flood, which lies far outside its window and must be dropped"
        )));
    }
    let grew = peak.saturating_sub(before);
    if grew > ALLOWED_KIB {
        return Err(Failure::new(format!(
            "your receiver's memory grew by {} MiB (from {before} KiB resident to a peak of {peak} KiB) while datagrams far outside its window arrived; at most {} MiB is allowed. It seems to store them",
            grew >> 10,
            ALLOWED_KIB >> 10
        )));
    }
    Ok(())
}

fn malformed(ctx: &mut Ctx) -> Outcome {
    let (mut receiver, addr, socket) = receiver_alone(ctx)?;
    let lines = RefCell::new(Lines::default());
    let bad: [(&[u8], &str); 5] = [
        (b"", "an empty datagram"),
        (b"D", "1 byte"),
        (b"D\x00", "2 bytes"),
        (b"X\x00\x00hello", "the unknown kind byte 'X'"),
        (b"\xff\xff\xff\xff\xff", "the kind byte 0xff"),
    ];
    for (i, (bytes, what)) in bad.iter().enumerate() {
        if i == 3 {
            send(&socket, addr, &data(0, &payload(0, 50)))?;
            ctx.step("the grader sent message 0 (sequence number 0, 50 bytes)");
        }
        send(&socket, addr, bytes)?;
        ctx.step(format!("the grader sent {what}: {}", crate::transcript::escape(bytes)));
    }
    send(&socket, addr, &data(1, &payload(1, 50)))?;
    ctx.step("the grader sent message 1 (sequence number 1, 50 bytes)");
    let all = |l: &[Line]| delivered(l, 1) && l.iter().filter(|x| matches!(x, Line::Malformed { .. })).count() >= bad.len();
    let finished = wait_lines(ctx, &mut receiver, &lines, 5 * S, all).map_err(|f| {
        Failure::new(format!("{} A receiver must survive anything that arrives on its port.", f.summary))
            .with_panic(f.panic)
            .hint("Check the length before indexing: a datagram may be empty or shorter than the 3-byte header.")
    })?;
    let l = lines.borrow();
    let verdict = judge(&l.lines, 0, 2, 50);
    if let Some((summary, hint)) = verdict.violation {
        return Err(Failure::new(summary).hint(hint));
    }
    if !finished {
        return Err(Failure::new(format!(
            "after 5 s your receiver had delivered {} of the 2 valid messages and printed {} `malformed` lines for the {} malformed datagrams",
            verdict.delivered,
            verdict.malformed_lines,
            bad.len()
        ))
        .hint("Count every datagram that does not parse and print it with common::print_malformed; deliver the valid ones."));
    }
    if verdict.malformed_total != bad.len() as u64 {
        return Err(Failure::new(format!(
            "your receiver's last `malformed` line gives a total of {}, but {} malformed datagrams were sent",
            verdict.malformed_total,
            bad.len()
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Part 2: the reliable sender and receiver.

fn reliable(ctx: &mut Ctx) -> Outcome {
    const COUNT: u64 = 200;
    const FIRST: u16 = 65_436;
    const SIZE: usize = 200;
    let plan = FaultPlan {
        drop_percent: 20,
        duplicate_percent: 10,
        reorder_percent: 20,
        max_distance: 4,
    };
    let mut receiver = ctx.spawn_bin(
        "reliable-receiver",
        &["--bind", "127.0.0.1:0", "--first-seq", &FIRST.to_string(), "--window", "256"],
        &[],
    )?;
    let receiver_addr = ctx.wait_listening(&mut receiver)?;
    let stray = UdpSocket::bind("127.0.0.1:0").map_err(|e| Failure::io("binding the grader's UDP socket", &e))?;
    send(&stray, receiver_addr, b"")?;
    send(&stray, receiver_addr, b"Z\x00\x01junk")?;
    ctx.step("the grader sent your receiver two malformed datagrams first: \"\" and \"Z\\x00\\x01junk\"");
    ctx.step(format!(
        "the grader's faulty network draws its schedules from this test's seed {}: drop {}%, duplicate {}%, hold back {}% by up to {} datagrams, in each direction",
        ctx.seed, plan.drop_percent, plan.duplicate_percent, plan.reorder_percent, plan.max_distance
    ));
    let proxy = UdpProxy::start(receiver_addr, plan.schedule(ctx.seed, 8000), plan.schedule(ctx.seed ^ 0xacc, 8000))
        .map_err(|e| Failure::io("starting the grader's UDP proxy", &e))?;
    ctx.step(format!(
        "the faulty network listens on {} and forwards to your receiver at {receiver_addr}",
        proxy.addr()
    ));
    let to = proxy.addr().to_string();
    let started = Instant::now();
    let mut sender = ctx.spawn_bin(
        "reliable-sender",
        &[
            "--to",
            &to,
            "--count",
            &COUNT.to_string(),
            "--first-seq",
            &FIRST.to_string(),
            "--size",
            &SIZE.to_string(),
            "--window",
            "16",
            "--rto-ms",
            "150",
            "--max-retries",
            "40",
        ],
        &[],
    )?;
    let lines = RefCell::new(Lines::default());
    let status = loop {
        poll_lines(ctx, &mut receiver, &lines, Duration::from_millis(100))?;
        if let Some(status) = sender.poll_exit() {
            break Some(status);
        }
        if started.elapsed() >= RELIABLE_BOUND {
            break None;
        }
    };
    let elapsed = started.elapsed();
    // The sender may finish a moment before the receiver's last lines are read.
    let _ = wait_lines(ctx, &mut receiver, &lines, 3 * S, |l| judge(l, FIRST, COUNT, SIZE).complete(COUNT));
    let log = proxy.log();
    ctx.step(format!("the faulty network did this:\n{}", log.describe()));
    let verdict = judge(&lines.borrow().lines, FIRST, COUNT, SIZE);
    ctx.step(format!(
        "after {:.1} s your receiver had delivered {} of {COUNT} messages in order",
        elapsed.as_secs_f64(),
        verdict.delivered
    ));
    if let Some((summary, hint)) = verdict.violation {
        return Err(Failure::new(summary).hint(hint));
    }
    if let Some(seq) = verdict.lost.first() {
        return Err(Failure::new(format!(
            "your reliable receiver reported sequence number {seq} lost; in part 2 nothing may be lost: the sender retransmits until it is acknowledged"
        )));
    }
    let Some(status) = status else {
        return Err(Failure::new(format!(
            "your sender had not finished after {} s (the bound for {COUNT} messages at 20% loss; the reference takes a few seconds); {} of {COUNT} messages had been delivered",
            RELIABLE_BOUND.as_secs(),
            verdict.delivered
        ))
        .hint("Retransmit every unacknowledged message whose timer has run out, and never block in recv_from longer than the earliest timer."));
    };
    if !status.success() {
        return Err(ctx.with_program_panic(
            Failure::new(format!(
                "your sender exited with {} before every message was acknowledged; with --max-retries 40 at 20% loss it should not give up",
                describe_status(status)
            )),
            &sender,
        ));
    }
    if !verdict.complete(COUNT) {
        return Err(Failure::new(format!(
            "your sender exited with status 0, but your receiver delivered only {} of {COUNT} messages: the sender must not finish before every message is acknowledged",
            verdict.delivered
        )));
    }
    let sent = log.forward.len() as u64;
    if sent > 10 * COUNT {
        return Err(Failure::new(format!(
            "your sender sent {sent} datagrams for {COUNT} messages (at 20% loss a few hundred are needed, and at most {} are allowed); it retransmits far too eagerly, flooding the network",
            10 * COUNT
        ))
        .hint("Retransmit a message only when its own timer (--rto-ms) has run out, not on every turn of the loop."));
    }
    if verdict.malformed_total != 2 {
        return Err(Failure::new(format!(
            "the grader sent your reliable receiver 2 malformed datagrams, but its last `malformed` line counts {}",
            verdict.malformed_total
        )));
    }
    Ok(())
}

fn gives_up(ctx: &mut Ctx) -> Outcome {
    const COUNT: u64 = 5;
    const RTO_MS: u64 = 100;
    const RETRIES: u64 = 4;
    let sink = UdpSocket::bind("127.0.0.1:0").map_err(|e| Failure::io("binding the grader's UDP socket", &e))?;
    sink.set_read_timeout(Some(Duration::from_millis(20))).ok();
    let to = sink
        .local_addr()
        .map_err(|e| Failure::io("reading the grader's socket address", &e))?;
    ctx.step(format!(
        "the grader receives on {to} and never acknowledges anything, as if the receiver were gone"
    ));
    let started = Instant::now();
    let mut sender = ctx.spawn_bin(
        "reliable-sender",
        &[
            "--to",
            &to.to_string(),
            "--count",
            &COUNT.to_string(),
            "--rto-ms",
            &RTO_MS.to_string(),
            "--max-retries",
            &RETRIES.to_string(),
            "--window",
            "32",
        ],
        &[],
    )?;
    let mut received = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    let wait = 15 * S;
    let status = loop {
        if let Ok((_, _)) = sink.recv_from(&mut buf) {
            received += 1;
        }
        if let Some(status) = sender.poll_exit() {
            break status;
        }
        if started.elapsed() >= wait {
            return Err(Failure::new(format!(
                "your sender was still running {} s after it started, having sent {received} datagrams to a peer that never answers; after --max-retries {RETRIES} retransmissions of one message it must give up",
                wait.as_secs()
            )));
        }
    };
    let elapsed = started.elapsed();
    while sink.recv_from(&mut buf).is_ok() {
        received += 1;
    }
    ctx.step(format!(
        "your sender exited after {:.2} s ({}), having sent {received} datagrams",
        elapsed.as_secs_f64(),
        describe_status(status)
    ));
    if let Some(panic) = sender.panic() {
        return Err(Failure::new(format!(
            "your sender panicked ({}) instead of reporting that it gave up",
            panic.message
        ))
        .with_panic(Some(panic)));
    }
    let least = Duration::from_millis(RTO_MS * RETRIES);
    if elapsed < least {
        return Err(Failure::new(format!(
            "your sender gave up after {} ms, but {RETRIES} retransmissions each {RTO_MS} ms after the last take at least {} ms: it does not wait for its timer",
            elapsed.as_millis(),
            least.as_millis()
        ))
        .hint("Retransmit a message only when --rto-ms has passed since it was last sent; in between, wait in recv_from with that deadline as the read timeout."));
    }
    if status.success() {
        return Err(Failure::new(
            "your sender exited with status 0, which says every message was acknowledged, though nothing ever was; exit with a non-zero status when giving up",
        ));
    }
    if sender.stderr().trim().is_empty() {
        return Err(Failure::new(
            "your sender gave up without saying so on stderr; report which message was never acknowledged",
        ));
    }
    let most = COUNT * (RETRIES + 1) * 2;
    if received > most {
        return Err(Failure::new(format!(
            "your sender sent {received} datagrams for {COUNT} messages with {RETRIES} retransmissions each (at most {} are needed); it retransmits too often",
            COUNT * (RETRIES + 1)
        )));
    }
    if received < COUNT + RETRIES {
        return Err(Failure::new(format!(
            "your sender sent only {received} datagrams for {COUNT} messages before giving up; it should have retransmitted unacknowledged messages {RETRIES} times"
        )));
    }
    Ok(())
}

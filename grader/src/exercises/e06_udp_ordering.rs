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
use crate::registry::{Sharing, TestCase};
use std::cell::RefCell;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

const S: Duration = Duration::from_secs(1);

/// Part 2's time bound for 200 messages at 20% loss each way (stated in the chapter).
const RELIABLE_BOUND: Duration = Duration::from_secs(30);

/// How long part 2's sender may send nothing while it runs. A sender that
/// still has a message unacknowledged retransmits it every --rto-ms (100 ms
/// there), and one that has none left exits: either way it is never quiet
/// for long. Fifty timers of silence decide the test then and there instead
/// of at the 30 s bound (a sender without timers stalls after its first
/// loss), unless every message has been delivered.
const RELIABLE_SILENCE: Duration = Duration::from_secs(5);

pub const TESTS: &[TestCase] = &[
    TestCase {
        id: "sender",
        scenario: "The grader receives from your part-1 sender itself: 12 messages numbered from 65 530 (wrapping) one every 40 ms, then 2 empty messages; each datagram must be 'D', the number big-endian and the payload, and none may leave early.",
        clauses: &[1, 2],
        points: 6,
        limit: Duration::from_secs(20),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "A datagram's header is a contract between two programs: the kind byte, then the sequence number in network byte order (big-endian), whatever CPU either end runs on.",
        hint: "Build each datagram with wire::encode_data (seq.to_be_bytes()), send it with one send_to, and sleep --interval-ms after each.",
        docs_anchor: "your-sender-on-the-wire",
        run: sender,
    },
    TestCase {
        id: "in-order",
        scenario: "The network reorders and duplicates 200 datagrams but drops none; the receiver must deliver all 200 once each, in sending order, and report nothing lost.",
        clauses: &[3, 4],
        points: 8,
        limit: Duration::from_secs(30),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "UDP may deliver datagrams in any order and more than once; a sequence number per message lets the receiver hold early ones and drop copies.",
        hint: "Deliver only the message numbered `next`; hold messages ahead of it in the window; drop anything behind it or already held.",
        docs_anchor: "in-order-delivery-with-nothing-lost",
        run: in_order,
    },
    TestCase {
        id: "losses",
        scenario: "The network drops about 10% of 200 datagrams and reorders and duplicates others; every message must be delivered in order or reported lost after the loss timeout, never both, never skipped.",
        clauses: &[4, 8],
        points: 8,
        limit: Duration::from_secs(30),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "A lost datagram never arrives, so a receiver that waits for it waits forever; after a timeout it must declare the message lost and move on.",
        hint: "When a gap appears, remember when; once the loss timeout has passed, report the missing messages lost, advance `next` past them and deliver what was held.",
        docs_anchor: "losses-are-reported-not-waited-for",
        run: losses,
    },
    TestCase {
        id: "loss-timing",
        scenario: "The grader sends your receiver 0, waits, then 4 (a gap of three), 1 and a duplicate of 4 after 350 ms and 6 after 400 ms, with a loss timeout of 600 ms; 1 must be delivered, 2 and 3 reported lost 600 ms after 4 arrived, 5 600 ms after 6 arrived.",
        clauses: &[8],
        points: 8,
        limit: Duration::from_secs(20),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "A loss timer measures how late a message is: it starts when a later message shows that the missing one should have come, and runs out after the loss timeout, whatever else arrives meanwhile.",
        hint: "Remember when the first message behind the gap arrived; give up on the whole gap at that time plus the loss timeout, and wait in recv_from no longer than that.",
        docs_anchor: "when-a-loss-is-declared",
        run: loss_timing,
    },
    TestCase {
        id: "wraparound",
        scenario: "Sequence numbers start at 65 436 and wrap from 65 535 to 0 in the middle of the run, with datagrams reordered across the wrap; all 200 must be delivered in order, none lost.",
        clauses: &[6],
        points: 6,
        limit: Duration::from_secs(30),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "A 16-bit sequence number wraps around; comparing numbers with < breaks at the wrap, serial number arithmetic (RFC 1982) does not.",
        hint: "Compare sequence numbers by their wrapping difference read as a signed 16-bit number, and advance them with wrapping_add.",
        docs_anchor: "sequence-numbers-wrap-around",
        run: wraparound,
    },
    TestCase {
        id: "window-edge",
        scenario: "With --window 8 and next at 65 531, the grader sends next + 8 (outside) and next + 7 (inside), then fills the gap; next + 7 must be delivered with the rest and next + 8 not until it is sent again.",
        clauses: &[7],
        points: 6,
        limit: Duration::from_secs(20),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "A window of W holds the numbers next to next + W - 1: both edges count, and the one just past them does not.",
        hint: "Hold a datagram whose distance from next (seq_distance) is at least 0 and less than the window; drop the others without storing them.",
        docs_anchor: "the-edges-of-the-window",
        run: window_edge,
    },
    TestCase {
        id: "flood",
        scenario: "1 200 datagrams of 60 000 bytes with sequence numbers far beyond the window arrive; the receiver must drop them, grow by at most 24 MiB (VmHWM in /proc/PID/status), and still deliver the next message.",
        clauses: &[3, 7],
        points: 6,
        limit: Duration::from_secs(40),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "A reorder buffer must be bounded: anybody can send datagrams with any sequence number, and storing every early one lets them exhaust the receiver's memory.",
        hint: "Hold only sequence numbers from `next` to `next + window - 1`; drop anything further ahead without copying it.",
        docs_anchor: "a-flood-outside-the-window",
        run: flood,
    },
    TestCase {
        id: "max-size",
        scenario: "Ten messages of 65 504 bytes, each filling the largest UDP datagram IPv4 carries (65 507 bytes), go straight to the receiver; each must be delivered whole.",
        clauses: &[5],
        points: 6,
        limit: Duration::from_secs(20),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "recvfrom returns one whole datagram, but only as much of it as fits in your buffer: the rest is silently discarded.",
        hint: "Receive into a buffer of at least 65 507 bytes (64 KiB is a good size), not a small fixed array.",
        docs_anchor: "datagram-boundaries-and-the-largest-datagram",
        run: max_size,
    },
    TestCase {
        id: "malformed",
        scenario: "Datagrams that are not messages (empty, 1 byte, 2 bytes, an unknown kind byte) arrive between two valid ones; the receiver must count each as malformed, keep running, and deliver the valid ones.",
        clauses: &[3, 5, 9],
        points: 6,
        limit: Duration::from_secs(15),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "Anybody can send anything to a UDP port; a receiver checks lengths before it reads a header, and skips what does not parse.",
        hint: "In decode, return None when the datagram is shorter than the 3-byte header or its first byte is unknown, before indexing into it.",
        docs_anchor: "malformed-datagrams",
        run: malformed,
    },
    TestCase {
        id: "acks",
        scenario: "The grader sends your reliable receiver data from two sockets, a duplicate, and numbers at next + W - 1 and next + W (window 4); each acknowledgement must go to the socket its datagram came from, duplicates must be acknowledged again, and next + W never.",
        clauses: &[10, 11],
        points: 8,
        limit: Duration::from_secs(20),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "A UDP socket has no peer: each datagram arrives with its source address, and the reply goes to that address. An acknowledgement promises the message is kept, so only what was stored may be acknowledged.",
        hint: "Reply with send_to to the address recv_from returned with the datagram; acknowledge duplicates again, and nothing beyond the window.",
        docs_anchor: "acknowledgements",
        run: acks,
    },
    TestCase {
        id: "in-flight",
        scenario: "The grader plays the receiver for your reliable sender (window 4, 10 messages, timer 200 ms): the first 4 must come at once and no more; datagrams that acknowledge nothing must change nothing while every timer still runs out; acknowledged one by one, the window slides and the sender exits with 0.",
        clauses: &[1, 12, 13, 14, 16],
        points: 10,
        limit: Duration::from_secs(25),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "A sliding window keeps W messages in flight, and each acknowledgement lets one more go; a sender trusts only well-formed acknowledgements of messages in its window, and its timers run whatever else arrives.",
        hint: "Keep --window messages in flight; take only 'A' plus exactly two bytes for a number in the window as an acknowledgement; after every wake-up, retransmit each message whose timer ran out.",
        docs_anchor: "the-window-in-flight",
        run: in_flight,
    },
    TestCase {
        id: "reliable",
        scenario: "Over a network that drops 20% of datagrams in each direction and reorders and duplicates others, 200 messages (numbers wrapping past 65 535) must all be delivered exactly once, in order, within 30 s.",
        clauses: &[10, 14, 16],
        points: 14,
        limit: Duration::from_secs(60),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "Reliability over UDP is the application's job: acknowledge what arrived, retransmit on a timer what was not acknowledged, and let the receiver drop the copies.",
        hint: "Keep a window of unacknowledged messages, each with the time it was last sent; wait for acks no longer than the earliest timer; retransmit those whose timer ran out.",
        docs_anchor: "part-2-every-message-exactly-once",
        run: reliable,
    },
    TestCase {
        id: "gives-up",
        scenario: "Nothing ever acknowledges one message (the receiver is gone); the sender must send it exactly 4 times, each copy when a 60 ms timer runs out, then give up after its 3 retransmissions with a non-zero status and an error.",
        clauses: &[14, 15],
        points: 8,
        limit: Duration::from_secs(15),
        needs: &[],
        sharing: Sharing::Shared,
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
    /// When the grader read each of `lines`.
    at: Vec<Instant>,
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
                l.at.push(Instant::now());
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
    judge_sized(lines, first, count, &|_| size)
}

/// What the number `seq` looks like to the grader when it is not the one
/// expected: if its two bytes, swapped, give `expected`, say so (an
/// observation about the bytes, not a guess about the code).
fn swapped_note(seq: u16, expected: u16) -> String {
    if seq != expected && seq.swap_bytes() == expected {
        format!(
            " {seq} is {expected} with its two bytes in the other order: the sequence number travels big-endian (network byte order), {:02x} {:02x} for {expected}.",
            expected.to_be_bytes()[0],
            expected.to_be_bytes()[1]
        )
    } else {
        String::new()
    }
}

/// Like `judge`, with message `index` of `size_of(index)` bytes.
fn judge_sized(lines: &[Line], first: u16, count: u64, size_of: &dyn Fn(u64) -> usize) -> Verdict {
    let mut v = judge_in_order(lines, first, count, size_of);
    if let Some((summary, _)) = v.violation.as_mut() {
        summary.push_str(&byte_order_note(lines, first, count));
    }
    v
}

/// If the receiver printed a number that was never sent but is a sent one
/// with its two bytes swapped, says so: what was observed, for the learner
/// to compare with how they read the header.
fn byte_order_note(lines: &[Line], first: u16, count: u64) -> String {
    let sent = |seq: u16| (seq.wrapping_sub(first) as u64) < count;
    lines
        .iter()
        .find_map(|line| {
            let (Line::Deliver { seq, .. } | Line::Lost(seq)) = *line else { return None };
            (!sent(seq) && sent(seq.swap_bytes())).then(|| {
                let word = if matches!(line, Line::Lost(_)) { "lost" } else { "deliver" };
                let [hi, lo] = seq.swap_bytes().to_be_bytes();
                format!(
                    " Among its lines is `{word} {seq}`: no message has that number, but {seq} is {} with its two bytes in the other order; on the wire {} is the bytes {hi:02x} {lo:02x} (big-endian, network byte order).",
                    seq.swap_bytes(),
                    seq.swap_bytes()
                )
            })
        })
        .unwrap_or_default()
}

fn judge_in_order(lines: &[Line], first: u16, count: u64, size_of: &dyn Fn(u64) -> usize) -> Verdict {
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
        let expected_seq = seq_of(v.next_index);
        if index >= count {
            v.violation = Some((
                format!(
                    "your receiver {what} sequence number {seq}, but the sender only sent {} to {} (messages 0 to {}).{}",
                    first,
                    seq_of(count - 1),
                    count - 1,
                    swapped_note(seq, expected_seq)
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
                    "your receiver {what} sequence number {seq} (message {index}) while sequence number {} (message {}) had been neither delivered nor reported lost: messages must come out in sending order.{}",
                    seq_of(v.next_index),
                    v.next_index,
                    swapped_note(seq, expected_seq)
                ),
                "Deliver only the message numbered `next`; hold later ones until the gap before them is filled or declared lost.",
            ));
            return v;
        }
        if let Line::Deliver { len, fingerprint: got, .. } = *line {
            let size = size_of(index);
            let expected = payload(index, size);
            if len != size || got != fingerprint(&expected) {
                // Say what the delivered bytes are, as far as the fingerprint tells.
                let cut = if len < size && got == fingerprint(&expected[..len]) {
                    format!(
                        " The {len} bytes delivered are the first {len} of the message: the rest of the datagram is missing (recvfrom copies at most the buffer's length and discards the rest)."
                    )
                } else if len < size {
                    format!(" The {len} bytes delivered are not the start of the message.")
                } else {
                    String::new()
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
    /// The receiver's lines, and when the grader read each.
    lines: Vec<Line>,
    at: Vec<Instant>,
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
            "{:.1} s after the sender finished, message {} (sequence number {missing}) was still neither delivered nor reported lost; with a loss timeout of {} ms your receiver should have given up on it long before.{}",
            settle.as_secs_f64(),
            verdict.next_index,
            p.loss_timeout_ms,
            byte_order_note(&lines.borrow().lines, p.first, p.count)
        ))
        .hint("Do not wait for a missing message forever: bound each recv_from by the gap's deadline (set_read_timeout) and report the message lost when the deadline passes."));
    }
    let (lines, at) = {
        let l = lines.borrow();
        (l.lines.clone(), l.at.clone())
    };
    Ok(Run1 {
        verdict,
        log,
        kernel_drops,
        lines,
        at,
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

/// Whatever the seed draws, some datagram arrives after later ones and some
/// arrives twice, so the test always exercises holding and dropping copies.
const REORDERED_AND_DUPLICATED: &[(usize, Fault)] = &[
    (
        40,
        Fault {
            drop: false,
            hold: 4,
            duplicate: None,
        },
    ),
    (
        41,
        Fault {
            drop: false,
            hold: 0,
            duplicate: Some(3),
        },
    ),
];

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
            forced: REORDERED_AND_DUPLICATED,
        },
    )?;
    expect_no_losses(&run)
}

/// The faults `losses` always has, whatever the seed draws: two consecutive
/// messages dropped (a gap of two), one held back behind four later ones (late,
/// not lost), one duplicated, and the last one delivered (nothing could reveal
/// the loss of a message after which nothing more arrives).
const LOSSES_GUARANTEED: &[(usize, Fault)] = &[
    (
        60,
        Fault {
            drop: true,
            hold: 0,
            duplicate: None,
        },
    ),
    (
        61,
        Fault {
            drop: true,
            hold: 0,
            duplicate: None,
        },
    ),
    (
        100,
        Fault {
            drop: false,
            hold: 4,
            duplicate: None,
        },
    ),
    (
        130,
        Fault {
            drop: false,
            hold: 0,
            duplicate: Some(2),
        },
    ),
    (
        199,
        Fault {
            drop: false,
            hold: 0,
            duplicate: None,
        },
    ),
];

fn losses(ctx: &mut Ctx) -> Outcome {
    const T_MS: u64 = 300;
    let run = run_part1(
        ctx,
        &Part1 {
            count: 200,
            first: 0,
            size: 100,
            interval_ms: 2,
            loss_timeout_ms: T_MS,
            plan: Some(FaultPlan {
                drop_percent: 10,
                duplicate_percent: 10,
                reorder_percent: 20,
                max_distance: 6,
            }),
            forced: LOSSES_GUARANTEED,
        },
    )?;
    // The network's log is the oracle: each `lost` line must name a message
    // the network never delivered, and come no sooner than the loss timeout
    // after a later message reached the network (no copy of a later message
    // reached the receiver before that).
    let mut unexplained = 0u64;
    for (line, at) in run.lines.iter().zip(&run.at) {
        let Line::Lost(seq) = *line else { continue };
        let copies: Vec<&crate::fixtures::udp_proxy::Record> = run.log.forward.iter().filter(|r| r.seq == Some(seq)).collect();
        if let Some(delivered) = copies.iter().find(|r| !r.fault.drop) {
            unexplained += 1;
            if unexplained > run.kernel_drops {
                let how = if delivered.fault.hold > 0 {
                    format!(
                        "held back behind {} later datagrams (at most {} ms)",
                        delivered.fault.hold,
                        crate::fixtures::udp_proxy::HOLD_LIMIT.as_millis()
                    )
                } else {
                    "at once".to_string()
                };
                return Err(Failure::new(format!(
                    "your receiver reported sequence number {seq} lost, but the network delivered it ({how}), well within the loss timeout of {T_MS} ms: a late message is not a lost one"
                ))
                .hint("Declare a gap lost only when the loss timeout has passed since the first message after it arrived; deliver a missing message that arrives before then."));
            }
            continue;
        }
        let later_arrived = run
            .log
            .forward
            .iter()
            .filter(|r| !r.fault.drop && r.seq.is_some_and(|s| (1..256).contains(&(s.wrapping_sub(seq) as i16))))
            .map(|r| r.at)
            .min();
        if let Some(first_later) = later_arrived {
            let after = at.saturating_duration_since(first_later);
            if *at + EARLY_TOLERANCE < first_later + Duration::from_millis(T_MS) {
                return Err(Failure::new(format!(
                    "your receiver printed `lost {seq}` {} ms after the first later message reached the network; with --loss-timeout-ms {T_MS} it must wait {T_MS} ms after the first message behind the gap arrived",
                    after.as_millis()
                ))
                .hint("Start the loss timer when the first message behind the gap arrives, and declare the gap lost only when the full timeout has passed."));
            }
        }
    }
    Ok(())
}

/// How much sooner than a deadline the grader accepts an event: clock and
/// timer granularity, never a whole timeout.
const EARLY_TOLERANCE: Duration = Duration::from_millis(20);

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
    alive_for_proc(ctx, &mut receiver)?;
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
    alive_for_proc(ctx, &mut receiver)?;
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

/// Fails if the receiver has exited: the figures /proc gives for a process
/// that has exited (a zombie) say nothing about what it did.
fn alive_for_proc(ctx: &Ctx, receiver: &mut Program) -> Outcome {
    match receiver.poll_exit() {
        Some(status) => Err(ctx.with_program_panic(
            Failure::new(format!(
                "your receiver exited ({}) while datagrams were still arriving; a receiver runs until it is stopped",
                describe_status(status)
            )),
            receiver,
        )),
        None => Ok(()),
    }
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
    send(&socket, addr, &data(1, b""))?;
    ctx.step("the grader sent message 1 (sequence number 1), an empty message: the 3-byte header alone");
    send(&socket, addr, &data(2, &payload(2, 50)))?;
    ctx.step("the grader sent message 2 (sequence number 2, 50 bytes)");
    let all = |l: &[Line]| delivered(l, 2) && l.iter().filter(|x| matches!(x, Line::Malformed { .. })).count() >= bad.len();
    let finished = wait_lines(ctx, &mut receiver, &lines, 5 * S, all).map_err(|f| {
        Failure::new(format!("{} A receiver must survive anything that arrives on its port.", f.summary))
            .with_panic(f.panic)
            .hint("Check the length before indexing: a datagram may be empty or shorter than the 3-byte header.")
    })?;
    let l = lines.borrow();
    let size_of = |index: u64| if index == 1 { 0 } else { 50 };
    let verdict = judge_sized(&l.lines, 0, 3, &size_of);
    if let Some((summary, hint)) = verdict.violation {
        return Err(Failure::new(summary).hint(hint));
    }
    if !finished {
        return Err(Failure::new(format!(
            "after 5 s your receiver had delivered {} of the 3 valid messages (one of them empty) and printed {} `malformed` lines for the {} malformed datagrams.{}",
            verdict.delivered,
            verdict.malformed_lines,
            bad.len(),
            byte_order_note(&l.lines, 0, 3)
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
    // Whatever the seed draws, a data datagram and an acknowledgement are
    // lost early on (so the timer and re-acknowledging a duplicate are
    // always needed), and a datagram overtakes another.
    let mut forward = plan.schedule(ctx.seed, 8000);
    let mut backward = plan.schedule(ctx.seed ^ 0xacc, 8000);
    forward[3] = Fault {
        drop: true,
        hold: 0,
        duplicate: None,
    };
    forward[6] = Fault {
        drop: false,
        hold: 2,
        duplicate: None,
    };
    backward[4] = Fault {
        drop: true,
        hold: 0,
        duplicate: None,
    };
    let proxy = UdpProxy::start(receiver_addr, forward, backward).map_err(|e| Failure::io("starting the grader's UDP proxy", &e))?;
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
            "100",
            "--max-retries",
            "40",
        ],
        &[],
    )?;
    let lines = RefCell::new(Lines::default());
    let mut silent = None;
    let status = loop {
        poll_lines(ctx, &mut receiver, &lines, Duration::from_millis(100))?;
        if let Some(status) = sender.poll_exit() {
            break Some(status);
        }
        if started.elapsed() >= RELIABLE_BOUND {
            break None;
        }
        // Once every message is delivered, a quiet sender may only be slow
        // to exit (a process's exit can lag its last datagram by seconds on
        // a loaded machine): that one has until the bound.
        let last = proxy.last_forward().unwrap_or(started).max(started);
        if last.elapsed() >= RELIABLE_SILENCE && !judge(&lines.borrow().lines, FIRST, COUNT, SIZE).complete(COUNT) {
            silent = Some(last.elapsed());
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
    if let (None, Some(quiet)) = (status, silent) {
        return Err(Failure::new(format!(
            "your sender was still running but had sent nothing for {:.1} s, while {} of {COUNT} messages had been delivered; with --rto-ms 100 a message not yet acknowledged is sent again every 100 ms, and a sender with nothing left to send exits",
            quiet.as_secs_f64(),
            verdict.delivered
        ))
        .hint("Give every message in flight a timer: wait for acknowledgements no longer than the earliest timer, retransmit each message whose timer has run out, and exit once every message is acknowledged."));
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
    // Measured here: selective repeat sends about 300, go-back-N with a
    // single timer about 1 400.
    if sent > 15 * COUNT {
        return Err(Failure::new(format!(
            "your sender sent {sent} datagrams for {COUNT} messages, {:.0} per message; at most {} are allowed (at this loss rate selective repeat needs about 300 in all, go-back-N about 1 400)",
            sent as f64 / COUNT as f64,
            15 * COUNT
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
    // One message, so every datagram is a copy of it: exactly 1 + R of them.
    // A timer far from the default (200 ms), so that ignoring --rto-ms shows.
    const RTO_MS: u64 = 60;
    // How late the last copy, and then the exit, may come: the sender's own
    // delays add up over its retransmissions (measured: the reference is at
    // most 45 ms late per event with the load average at 17 on 2 cores).
    const LATE: Duration = Duration::from_millis(300);
    const RETRIES: u64 = 3;
    const FIRST: u16 = 7;
    const SIZE: usize = 10;
    let rto = Duration::from_millis(RTO_MS);
    let sink = grader_socket()?;
    let to = sink
        .local_addr()
        .map_err(|e| Failure::io("reading the grader's socket address", &e))?;
    ctx.step(format!(
        "the grader receives on {to} and never acknowledges anything, as if the receiver were gone; your sender runs with --count 1 --rto-ms {RTO_MS} --max-retries {RETRIES}"
    ));
    let started = Instant::now();
    let mut sender = ctx.spawn_bin(
        "reliable-sender",
        &[
            "--to",
            &to.to_string(),
            "--count",
            "1",
            "--first-seq",
            &FIRST.to_string(),
            "--size",
            &SIZE.to_string(),
            "--rto-ms",
            &RTO_MS.to_string(),
            "--max-retries",
            &RETRIES.to_string(),
            "--window",
            "4",
        ],
        &[],
    )?;
    let mut copies: Vec<Instant> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let wait = 10 * S;
    let mut take = |copies: &mut Vec<Instant>| -> Outcome {
        while let Some((bytes, _, at)) = try_recv(&sink, &mut buf) {
            check_data(&bytes, FIRST, 1, SIZE)
                .map_err(|what| Failure::new(format!("datagram {} from your sender is {what}", copies.len() + 1)))?;
            copies.push(at);
            // Copy k cannot leave before k timers have run out since the start.
            let k = copies.len() as u64 - 1;
            if at.duration_since(started) + EARLY_TOLERANCE < rto * k as u32 {
                return Err(Failure::new(format!(
                    "your sender sent copy {} of the message {} ms after it started; retransmitting each time a {RTO_MS} ms timer runs out, copy {} cannot come before {} ms",
                    k + 1,
                    at.duration_since(started).as_millis(),
                    k + 1,
                    RTO_MS * k
                ))
                .hint("Retransmit a message only when --rto-ms has passed since it was last sent; in between, wait in recv_from with that deadline as the read timeout."));
            }
        }
        Ok(())
    };
    // When the sender last wrote to stderr: its error says it gave up, and
    // on a loaded machine the end of a process (its namespaces torn down,
    // its parent told) can come a second after its last line, which must
    // not count against it.
    let (mut said, mut said_at) = (0usize, None::<Instant>);
    let status = loop {
        take(&mut copies)?;
        let stderr = sender.stderr().len();
        if stderr > said {
            (said, said_at) = (stderr, Some(Instant::now()));
        }
        if let Some(status) = sender.poll_exit() {
            break status;
        }
        // A copy beyond the last retransmission decides it now.
        if copies.len() as u64 > RETRIES + 1 {
            return Err(Failure::new(format!(
                "your sender had sent the one message {} times to a peer that never answers; with --max-retries {RETRIES} it sends it {} times at most (once, then {RETRIES} retransmissions) and then gives up",
                copies.len(),
                RETRIES + 1
            ))
            .hint("Count retransmissions per message; give up when a message that has been retransmitted --max-retries times is still unacknowledged when its timer runs out."));
        }
        if started.elapsed() >= wait {
            return Err(Failure::new(format!(
                "your sender was still running {} s after it started, having sent the one message {} times to a peer that never answers; after --max-retries {RETRIES} retransmissions it must give up",
                wait.as_secs(),
                copies.len()
            )));
        }
    };
    let exited_at = Instant::now();
    let elapsed = started.elapsed();
    let _ = sender.wait_exit(S); // Its last lines, copied from the pipe.
    take(&mut copies)?;
    ctx.step(format!(
        "your sender exited after {:.2} s ({}), having sent the message {} times",
        elapsed.as_secs_f64(),
        describe_status(status),
        copies.len()
    ));
    if let Some(panic) = sender.panic() {
        return Err(Failure::new(format!(
            "your sender panicked ({}) instead of reporting that it gave up",
            panic.message
        ))
        .with_panic(Some(panic)));
    }
    if status.success() {
        return Err(Failure::new(
            "your sender exited with status 0, which says every message was acknowledged, though nothing ever was; exit with a non-zero status when giving up",
        ));
    }
    if copies.len() as u64 == RETRIES + 1 {
        // The R-th retransmission leaves R timers after the first copy; the
        // sender gives up at the latest when its timer runs out once more.
        let last = copies[RETRIES as usize].duration_since(copies[0]);
        if last > rto * RETRIES as u32 + LATE {
            return Err(Failure::new(format!(
                "your sender sent its last retransmission {} ms after the first copy; with --rto-ms {RTO_MS}, {RETRIES} retransmissions take {} ms (the grader allows {} ms more): it does not retransmit when its {RTO_MS} ms timer runs out",
                last.as_millis(),
                RTO_MS * RETRIES,
                LATE.as_millis()
            ))
            .hint("Use --rto-ms as the retransmission timeout: retransmit a message as soon as that much time has passed since it was last sent."));
        }
        // It gave up when it said so after its last copy, or else when it exited.
        let last_copy = copies[RETRIES as usize];
        let gave_up_at = said_at.filter(|&at| at > last_copy).unwrap_or(exited_at).min(exited_at);
        let gave_up = gave_up_at.duration_since(last_copy);
        if gave_up > rto + LATE {
            return Err(Failure::new(format!(
                "your sender gave up (its error, or else its exit) {} ms after its last retransmission; it gives up when that retransmission's {RTO_MS} ms timer runs out (the grader allows {} ms more)",
                gave_up.as_millis(),
                LATE.as_millis()
            )));
        }
    }
    if copies.len() as u64 != RETRIES + 1 {
        return Err(Failure::new(format!(
            "your sender sent the message {} times ({} retransmissions) before giving up; with --max-retries {RETRIES} it must send it exactly {} times: once, then {RETRIES} retransmissions",
            copies.len(),
            copies.len().saturating_sub(1),
            RETRIES + 1
        ))
        .hint("Count retransmissions per message; give up when a message that has been retransmitted --max-retries times is still unacknowledged when its timer runs out."));
    }
    if sender.stderr().trim().is_empty() {
        return Err(Failure::new(
            "your sender gave up without saying so on stderr; report which message was never acknowledged",
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The grader at one end: it plays the receiver for the senders, and the
// sender for the receivers, so every datagram and every moment is its own
// choice, whatever the seed.

/// What a datagram from a sender should be: message `index` of `size` bytes
/// numbered from `first`. Describes the difference, or `None` if it is right.
fn check_data(bytes: &[u8], first: u16, count: u64, size: usize) -> Result<u64, String> {
    if bytes.len() < 3 || bytes[0] != b'D' {
        return Err(format!(
            "a datagram of {} bytes that is not a data datagram ({}): a data datagram starts with 'D' and a 2-byte sequence number",
            bytes.len(),
            crate::transcript::escape(&bytes[..bytes.len().min(16)])
        ));
    }
    let seq = u16::from_be_bytes([bytes[1], bytes[2]]);
    let index = seq.wrapping_sub(first) as u64;
    if index >= count {
        let swapped = seq.swap_bytes().wrapping_sub(first) as u64;
        let note = if swapped < count {
            format!(
                " Its bytes 1-2 are {:02x} {:02x}: read big-endian (network byte order) that is {seq}, read little-endian it would be {}, message {swapped}; send the number with to_be_bytes.",
                bytes[1],
                bytes[2],
                seq.swap_bytes()
            )
        } else {
            String::new()
        };
        return Err(format!(
            "a data datagram with sequence number {seq}, but the messages are numbered {first} to {} (--first-seq {first}, --count {count}).{note}",
            first.wrapping_add(count as u16 - 1)
        ));
    }
    let expected = payload(index, size);
    if bytes[3..] != expected[..] {
        return Err(format!(
            "message {index} (sequence number {seq}) with a payload of {} bytes beginning {}, but it is the {size} bytes of common::payload({index}, {size}), beginning {}",
            bytes.len() - 3,
            crate::transcript::escape(&bytes[3..bytes.len().min(23)]),
            crate::transcript::escape(&expected[..expected.len().min(20)])
        ));
    }
    Ok(index)
}

/// A grader socket on 127.0.0.1 with a short read timeout, for polling.
fn grader_socket() -> Result<UdpSocket, Failure> {
    let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| Failure::io("binding the grader's UDP socket", &e))?;
    socket
        .set_read_timeout(Some(Duration::from_millis(5)))
        .map_err(|e| Failure::io("setting the grader's socket timeout", &e))?;
    Ok(socket)
}

/// One datagram if one arrives within the socket's short timeout.
fn try_recv(socket: &UdpSocket, buf: &mut [u8]) -> Option<(Vec<u8>, SocketAddr, Instant)> {
    match socket.recv_from(buf) {
        Ok((len, from)) => Some((buf[..len].to_vec(), from, Instant::now())),
        Err(_) => None,
    }
}

fn sender(ctx: &mut Ctx) -> Outcome {
    const COUNT: u64 = 12;
    const FIRST: u16 = 65_530;
    const SIZE: usize = 25;
    const INTERVAL_MS: u64 = 40;
    let socket = grader_socket()?;
    let to = socket
        .local_addr()
        .map_err(|e| Failure::io("reading the grader's socket address", &e))?
        .to_string();
    ctx.step(format!(
        "the grader receives on {to} itself and runs your sender with --count {COUNT} --first-seq {FIRST} --size {SIZE} --interval-ms {INTERVAL_MS}"
    ));
    let started = Instant::now();
    let mut sender = ctx.spawn_bin(
        "sender",
        &[
            "--to",
            &to,
            "--count",
            &COUNT.to_string(),
            "--first-seq",
            &FIRST.to_string(),
            "--size",
            &SIZE.to_string(),
            "--interval-ms",
            &INTERVAL_MS.to_string(),
        ],
        &[],
    )?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut got: Vec<(Vec<u8>, Instant)> = Vec::new();
    // Accepted: pauses longer than MS, up to 2 x N x MS + 1 s in all.
    let most = Duration::from_millis(2 * COUNT * INTERVAL_MS) + S;
    let status = loop {
        if let Some((bytes, _, at)) = try_recv(&socket, &mut buf) {
            got.push((bytes, at));
        }
        if let Some(status) = sender.poll_exit() {
            break status;
        }
        if started.elapsed() > most + 2 * S {
            return Err(Failure::new(format!(
                "your sender was still running {:.1} s after it started, having sent {} datagrams; {COUNT} messages one every {INTERVAL_MS} ms take {:.2} s",
                started.elapsed().as_secs_f64(),
                got.len(),
                (COUNT * INTERVAL_MS) as f64 / 1000.0
            )));
        }
    };
    let elapsed = started.elapsed();
    while let Some((bytes, _, at)) = try_recv(&socket, &mut buf) {
        got.push((bytes, at));
    }
    ctx.step(format!(
        "your sender exited after {:.2} s ({}), having sent {} datagrams",
        elapsed.as_secs_f64(),
        describe_status(status),
        got.len()
    ));
    if !status.success() {
        return Err(ctx.with_program_panic(
            Failure::new(format!(
                "your sender exited with {}; it must send every message and exit with status 0",
                describe_status(status)
            )),
            &sender,
        ));
    }
    for (k, (bytes, at)) in got.iter().enumerate() {
        match check_data(bytes, FIRST, COUNT, SIZE) {
            Ok(index) if index == k as u64 => {}
            Ok(index) => {
                return Err(Failure::new(format!(
                    "datagram {k} from your sender was message {index} (sequence number {}); each message must be sent once, in order",
                    FIRST.wrapping_add(index as u16)
                )));
            }
            Err(what) => {
                return Err(Failure::new(format!("datagram {k} from your sender is {what}"))
                    .hint("Build each datagram with wire::encode_data: 'D', the sequence number with to_be_bytes, then common::payload(index, size)."));
            }
        }
        // The sender started after `started`, so datagram k cannot leave
        // before started + k x MS; the grader only ever sees it later.
        let least = Duration::from_millis(k as u64 * INTERVAL_MS);
        if at.duration_since(started) < least {
            return Err(Failure::new(format!(
                "datagram {k} from your sender arrived {} ms after the sender started; one every {INTERVAL_MS} ms, it cannot leave before {} ms",
                at.duration_since(started).as_millis(),
                least.as_millis()
            ))
            .hint("Wait --interval-ms milliseconds after each datagram (thread::sleep) before sending the next."));
        }
    }
    if got.len() as u64 != COUNT {
        return Err(Failure::new(format!(
            "your sender sent {} datagrams; with --count {COUNT} it must send exactly {COUNT}, one per message",
            got.len()
        )));
    }
    if elapsed > most {
        return Err(Failure::new(format!(
            "your sender took {:.2} s for {COUNT} messages one every {INTERVAL_MS} ms; at most {:.2} s is allowed",
            elapsed.as_secs_f64(),
            most.as_secs_f64()
        )));
    }
    let _ = sender.wait_exit(S); // Its last lines, copied from the pipe.
    let said = format!("sent {COUNT} messages");
    if !sender.stdout_lines().iter().any(|l| l.trim() == said) {
        return Err(Failure::new(format!("your sender did not print `{said}` before exiting")));
    }
    // An empty message: a datagram of the 3-byte header alone.
    ctx.step("the grader runs your sender again with --count 2 --size 0: two empty messages");
    let mut empty = ctx.spawn_bin("sender", &["--to", &to, "--count", "2", "--size", "0", "--interval-ms", "1"], &[])?;
    let status = empty.wait_exit(10 * S);
    let mut got = Vec::new();
    while let Some((bytes, _, _)) = try_recv(&socket, &mut buf) {
        got.push(bytes);
    }
    if !status.is_some_and(|s| s.success()) {
        return Err(ctx.with_program_panic(
            Failure::new("with --size 0 your sender did not exit with status 0 within 10 s; an empty message is a valid message"),
            &empty,
        ));
    }
    let expected: Vec<Vec<u8>> = vec![b"D\x00\x00".to_vec(), b"D\x00\x01".to_vec()];
    if got != expected {
        let shown: Vec<String> = got.iter().map(|b| crate::transcript::escape(b)).collect();
        return Err(Failure::new(format!(
            "with --count 2 --size 0 your sender sent [{}]; expected two 3-byte datagrams, \"D\\x00\\x00\" and \"D\\x00\\x01\"",
            shown.join(", ")
        )));
    }
    Ok(())
}

/// Collects the receiver's lines until `until`.
fn poll_until(ctx: &Ctx, receiver: &mut Program, lines: &RefCell<Lines>, until: Instant) -> Outcome {
    loop {
        let now = Instant::now();
        if now >= until {
            return Ok(());
        }
        poll_lines(ctx, receiver, lines, (until - now).min(Duration::from_millis(10)))?;
    }
}

fn window_edge(ctx: &mut Ctx) -> Outcome {
    const FIRST: u16 = 65_530;
    const W: u16 = 8;
    const SIZE: usize = 30;
    let mut receiver = ctx.spawn_bin(
        "receiver",
        &[
            "--first-seq",
            &FIRST.to_string(),
            "--window",
            &W.to_string(),
            "--loss-timeout-ms",
            "5000",
        ],
        &[],
    )?;
    let addr = ctx.wait_listening(&mut receiver)?;
    let socket = grader_socket()?;
    let lines = RefCell::new(Lines::default());
    let seq = |i: u64| FIRST.wrapping_add(i as u16);
    let msg = |i: u64| data(seq(i), &payload(i, SIZE));
    send(&socket, addr, &msg(0))?;
    ctx.step(format!(
        "the grader sent message 0 (sequence number {FIRST}) to your receiver, started with --window {W}"
    ));
    if !wait_lines(ctx, &mut receiver, &lines, 5 * S, |l| delivered(l, FIRST))? {
        return Err(Failure::new(format!(
            "expected `deliver {FIRST} ...` within 5 s of sending it, but none came"
        )));
    }
    // next = message 1; the window holds messages 1 to 8, message 9 is outside.
    let next = seq(1);
    send(&socket, addr, &msg(1 + W as u64))?;
    send(&socket, addr, &msg(W as u64))?;
    ctx.step(format!(
        "with next = {next}, the grader sent {} (next + {W}: outside the window) and then {} (next + {}: the last number inside it)",
        seq(1 + W as u64),
        seq(W as u64),
        W - 1
    ));
    for i in 1..W as u64 {
        send(&socket, addr, &msg(i))?;
    }
    send(&socket, addr, b"?")?;
    ctx.step(format!(
        "then messages 1 to {} (sequence numbers {next} to {}), filling the gap, and a 1-byte datagram as a marker",
        W - 1,
        seq(W as u64 - 1)
    ));
    // The receiver handles datagrams in order: a stored next + W would be
    // printed right after next + W - 1, before the marker's `malformed` line.
    let last_inside = seq(W as u64);
    let marked = wait_lines(ctx, &mut receiver, &lines, 5 * S, |l| {
        delivered(l, last_inside) && l.iter().any(|x| matches!(x, Line::Malformed { .. }))
    })?;
    let verdict = judge(&lines.borrow().lines, FIRST, 2 + W as u64, SIZE);
    if let Some((summary, hint)) = verdict.violation {
        return Err(Failure::new(summary).hint(hint));
    }
    if verdict.next_index > W as u64 + 1 {
        return Err(Failure::new(format!(
            "your receiver delivered {} as soon as the gap before it was filled, so it had stored it; it arrived when next was {next}, and {next} + {W} = {} lies outside a window of {W} (next to next + {})",
            seq(1 + W as u64),
            seq(1 + W as u64),
            W - 1
        ))
        .hint("Hold only numbers whose distance from next is 0 to window - 1; drop one at distance window or more."));
    }
    if !marked && verdict.next_index == W as u64 {
        return Err(Failure::new(format!(
            "5 s after the gap was filled your receiver had delivered up to {} but not {last_inside}, which arrived when next was {next}: next + {} is the last number inside a window of {W} and must be held",
            seq(W as u64 - 1),
            W - 1
        ))
        .hint("Hold numbers whose distance from next is 0 to window - 1: window - 1 is inside."));
    }
    if !marked {
        return Err(Failure::new(format!(
            "5 s after the gap was filled your receiver had delivered {} of messages 0 to {W} ({FIRST} to {last_inside}) and printed {} `malformed` line(s) for the 1-byte marker",
            verdict.delivered, verdict.malformed_lines
        )));
    }
    send(&socket, addr, &msg(1 + W as u64))?;
    ctx.step(format!("the grader sent {} again, now next itself", seq(1 + W as u64)));
    if !wait_lines(ctx, &mut receiver, &lines, 5 * S, |l| delivered(l, seq(1 + W as u64)))? {
        return Err(Failure::new(format!(
            "expected `deliver {} ...` within 5 s: sent again when it was next, it must be delivered",
            seq(1 + W as u64)
        )));
    }
    let verdict = judge(&lines.borrow().lines, FIRST, 2 + W as u64, SIZE);
    if let Some((summary, hint)) = verdict.violation {
        return Err(Failure::new(summary).hint(hint));
    }
    Ok(())
}

fn loss_timing(ctx: &mut Ctx) -> Outcome {
    const T_MS: u64 = 600;
    // When the grader sends 1 (filling the front of the gap) and 6 (after a
    // new gap at 5), in ms after 4.
    const ONE_MS: u64 = 350;
    const SIX_MS: u64 = 400;
    // How late the grader accepts a `lost` line: a busy machine (measured:
    // at most 45 ms late with the load average at 17 on 2 cores), never the
    // 350 ms or more by which a timer started from a wrong event is late here.
    const LATE: Duration = Duration::from_millis(300);
    const SIZE: usize = 40;
    let t = Duration::from_millis(T_MS);
    let mut receiver = ctx.spawn_bin(
        "receiver",
        &["--first-seq", "0", "--window", "16", "--loss-timeout-ms", &T_MS.to_string()],
        &[],
    )?;
    let addr = ctx.wait_listening(&mut receiver)?;
    let socket = grader_socket()?;
    let lines = RefCell::new(Lines::default());
    let msg = |i: u16| data(i, &payload(i as u64, SIZE));
    send(&socket, addr, &msg(0))?;
    ctx.step(format!("the grader sent message 0 to your receiver (--loss-timeout-ms {T_MS})"));
    if !wait_lines(ctx, &mut receiver, &lines, 5 * S, |l| delivered(l, 0))? {
        return Err(Failure::new("expected `deliver 0 ...` within 5 s of sending it, but none came"));
    }
    // Quiet for longer than T: a timer counted from anything before the gap
    // (the last delivery, the first datagram) would run out at once below.
    poll_until(ctx, &mut receiver, &lines, Instant::now() + t + Duration::from_millis(100))?;
    let t_a = Instant::now();
    send(&socket, addr, &msg(4))?;
    ctx.step("+0 ms: the grader sent 4 (1, 2 and 3 are missing: the gap is late from now)");
    poll_until(ctx, &mut receiver, &lines, t_a + Duration::from_millis(ONE_MS))?;
    send(&socket, addr, &msg(1))?;
    // A second copy of 4, still held: a duplicate changes nothing, so the
    // timer of the gap 2-3 still counts from 4's first copy (a receiver that
    // stores the copy over the first, as a map's insert does, restarts it
    // and is late by 350 ms).
    send(&socket, addr, &msg(4))?;
    ctx.step(format!(
        "+{ONE_MS} ms: the grader sent 1 (late, but before the loss timeout: it must be delivered), then 4 again (held already: a duplicate)"
    ));
    poll_until(ctx, &mut receiver, &lines, t_a + Duration::from_millis(SIX_MS))?;
    let t_6 = Instant::now();
    send(&socket, addr, &msg(6))?;
    ctx.step(format!("+{SIX_MS} ms: the grader sent 6 (5 is missing: late from now)"));
    let expect_done = |l: &[Line]| delivered(l, 6);
    let done = wait_lines(ctx, &mut receiver, &lines, t + t + 3 * S, expect_done)?;
    // When each `lost` line may come: T after the first message behind its gap.
    let timer_start = |seq: u16| match seq {
        2 | 3 => Some(t_a),
        5 => Some(t_6),
        _ => None,
    };
    {
        let l = lines.borrow();
        let verdict = judge(&l.lines, 0, 7, SIZE);
        if let Some((summary, hint)) = verdict.violation {
            return Err(Failure::new(summary).hint(hint));
        }
        for (line, at) in l.lines.iter().zip(&l.at) {
            let Line::Lost(seq) = *line else { continue };
            let Some(start) = timer_start(seq) else {
                return Err(Failure::new(format!(
                    "your receiver printed `lost {seq}`, but {seq} arrived {} before the loss timeout ran out: a late message is not a lost one",
                    if seq == 1 { format!("{ONE_MS} ms after 4 came, {} ms", T_MS - ONE_MS) } else { "in time".to_string() }
                ))
                .hint("Deliver a missing message that arrives before its gap's deadline; declare it lost only once the deadline has passed."));
            };
            let since = at.saturating_duration_since(start).as_millis();
            let since_a = at.saturating_duration_since(t_a).as_millis();
            if *at + EARLY_TOLERANCE < start + t {
                return Err(Failure::new(format!(
                    "your receiver printed `lost {seq}` at +{since_a} ms, {since} ms after the first message behind its gap arrived; with --loss-timeout-ms {T_MS} it must wait {T_MS} ms"
                ))
                .hint("Start the loss timer when the first message behind the gap arrives (not at the last delivery, not at start), and wait the whole timeout."));
            }
            if *at > start + t + LATE {
                return Err(Failure::new(format!(
                    "your receiver printed `lost {seq}` at +{since_a} ms, {since} ms after the first message behind its gap arrived; with --loss-timeout-ms {T_MS} it should come at {T_MS} ms (the grader allows {} ms more)",
                    LATE.as_millis()
                ))
                .hint("Time a gap from the arrival of the first message behind it, not from the latest arrival or from when the gap reached next, and give up on every missing message before the first held one at once."));
            }
        }
        if !done {
            return Err(Failure::new(format!(
                "{:.1} s after the grader sent 6, your receiver had delivered up to message {} and printed nothing more; 2 and 3 should be lost at +{T_MS} ms, 5 at +{} ms",
                t_6.elapsed().as_secs_f64(),
                verdict.next_index.saturating_sub(1),
                SIX_MS + T_MS
            ))
            .hint("Wait in recv_from no longer than the current gap's deadline (set_read_timeout), so a loss is declared even when nothing more arrives."));
        }
    }
    // A message already given up is behind next: it must print nothing.
    send(&socket, addr, &msg(2))?;
    send(&socket, addr, &msg(7))?;
    ctx.step("the grader sent 2 (already reported lost) and then 7");
    if !wait_lines(ctx, &mut receiver, &lines, 5 * S, |l| delivered(l, 7))? {
        return Err(Failure::new("expected `deliver 7 ...` within 5 s of sending it, but none came"));
    }
    let verdict = judge(&lines.borrow().lines, 0, 8, SIZE);
    if let Some((summary, hint)) = verdict.violation {
        return Err(Failure::new(summary).hint(hint));
    }
    Ok(())
}

/// An acknowledgement as the grader reads it: `Some(seq)` for exactly `'A'`
/// and two bytes, `None` for anything else.
fn ack_of(bytes: &[u8]) -> Option<u16> {
    (bytes.len() == 3 && bytes[0] == b'A').then(|| u16::from_be_bytes([bytes[1], bytes[2]]))
}

/// Every datagram that reaches `socket` within `wait`.
fn gather(socket: &UdpSocket, wait: Duration) -> Vec<Vec<u8>> {
    let mut buf = [0u8; 2048];
    let until = Instant::now() + wait;
    let mut got = Vec::new();
    while Instant::now() < until {
        if let Some((bytes, _, _)) = try_recv(socket, &mut buf) {
            got.push(bytes);
        }
    }
    got
}

/// Waits up to `wait` for a datagram on `socket` that `good` accepts; returns
/// it, or everything that came instead.
fn await_datagram(socket: &UdpSocket, wait: Duration, good: impl Fn(&[u8]) -> bool) -> Result<Vec<u8>, Vec<Vec<u8>>> {
    let mut buf = [0u8; 2048];
    let until = Instant::now() + wait;
    let mut other = Vec::new();
    while Instant::now() < until {
        if let Some((bytes, _, _)) = try_recv(socket, &mut buf) {
            if good(&bytes) {
                return Ok(bytes);
            }
            other.push(bytes);
        }
    }
    Err(other)
}

fn show_all(datagrams: &[Vec<u8>]) -> String {
    if datagrams.is_empty() {
        return "nothing".to_string();
    }
    let shown: Vec<String> = datagrams.iter().take(8).map(|d| crate::transcript::escape(d)).collect();
    shown.join(", ")
}

fn acks(ctx: &mut Ctx) -> Outcome {
    const FIRST: u16 = 65_534;
    const W: u16 = 4;
    const SIZE: usize = 30;
    let mut receiver = ctx.spawn_bin(
        "reliable-receiver",
        &["--first-seq", &FIRST.to_string(), "--window", &W.to_string()],
        &[],
    )?;
    let addr = ctx.wait_listening(&mut receiver)?;
    let a = grader_socket()?;
    let b = grader_socket()?;
    let name = |s: &UdpSocket| s.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let (a_name, b_name) = (name(&a), name(&b));
    let seq = |i: u64| FIRST.wrapping_add(i as u16);
    let msg = |i: u64| data(seq(i), &payload(i, SIZE));
    let wait = 2 * S;
    let no_ack = |what: String, to: &str, got: Vec<Vec<u8>>, other: Vec<Vec<u8>>| {
        let swapped = got.iter().any(|d| d.len() == 3 && d[0] == b'A');
        Failure::new(format!(
            "{what}, but within {} s the grader's socket {to} received {}{}",
            wait.as_secs(),
            show_all(&got),
            if other.is_empty() {
                String::new()
            } else {
                format!(" (and its other socket received {})", show_all(&other))
            }
        ))
        .hint(if swapped {
            "An acknowledgement is 'A' and the sequence number in big-endian order (wire::encode_ack)."
        } else {
            "Send each acknowledgement with send_to to the address recv_from returned with that datagram."
        })
    };

    send(&a, addr, &msg(0))?;
    ctx.step(format!("the grader sent message 0 (sequence number {}) from {a_name}", seq(0)));
    let want = ack_of_is(seq(0), None);
    if let Err(got) = await_datagram(&a, wait, &want) {
        return Err(no_ack(
            format!("expected the acknowledgement \"A\" {} at {a_name}", seq(0)),
            &a_name,
            got,
            gather(&b, Duration::ZERO),
        ));
    }
    send(&b, addr, &msg(1))?;
    ctx.step(format!(
        "the grader sent message 1 (sequence number {}) from another socket, {b_name}",
        seq(1)
    ));
    if let Err(got) = await_datagram(&b, wait, ack_of_is(seq(1), None)) {
        let at_a = gather(&a, Duration::from_millis(50));
        return Err(no_ack(
            format!(
                "expected the acknowledgement of {} at {b_name}, the address that datagram came from",
                seq(1)
            ),
            &b_name,
            got,
            at_a,
        ));
    }
    // A duplicate is acknowledged again: its earlier ack may have been lost.
    send(&a, addr, &msg(0))?;
    ctx.step(format!("the grader sent message 0 ({}) again, from {a_name}: a duplicate", seq(0)));
    if let Err(got) = await_datagram(&a, wait, ack_of_is(seq(0), Some(seq(1)))) {
        return Err(no_ack(
            format!(
                "expected an acknowledgement of the duplicate at {a_name}: \"A\" {} (its own number) or \"A\" {} (the last delivered, go-back-N)",
                seq(0),
                seq(1)
            ),
            &a_name,
            got,
            Vec::new(),
        )
        .hint("Acknowledge duplicates too: when an acknowledgement is lost, the retransmitted copy is the only chance to acknowledge again."));
    }
    // next = message 2; the window holds messages 2 to 5; message 6 is outside.
    send(&a, addr, &msg(2 + W as u64))?;
    send(&a, addr, &msg(1 + W as u64))?;
    ctx.step(format!(
        "with next = {}, the grader sent {} (next + {W}: outside the window of {W}) and {} (next + {}: inside), from {a_name}",
        seq(2),
        seq(2 + W as u64),
        seq(1 + W as u64),
        W - 1
    ));
    // The receiver answers in order: once the marker's ack is at b, any ack
    // for the two datagrams before it has been sent to a.
    send(&b, addr, &msg(1))?;
    if let Err(got) = await_datagram(&b, wait, ack_of_is(seq(1), None)) {
        return Err(no_ack(
            format!("expected the acknowledgement of {} sent again from {b_name}", seq(1)),
            &b_name,
            got,
            Vec::new(),
        ));
    }
    let at_a = gather(&a, Duration::from_millis(100));
    let out = seq(2 + W as u64);
    if at_a.iter().any(|d| ack_of(d) == Some(out)) {
        return Err(Failure::new(format!(
            "your receiver acknowledged {out}, which arrived when next was {} and lies outside a window of {W}: it was not stored, so the acknowledgement tells the sender a message arrived that never will be delivered",
            seq(2)
        ))
        .hint("Acknowledge only data you delivered or hold; drop a datagram at next + window or beyond without acknowledging it."));
    }
    let inside = seq(1 + W as u64);
    if !at_a.iter().any(|d| ack_of(d) == Some(inside) || ack_of(d) == Some(seq(1))) {
        return Err(Failure::new(format!(
            "after {inside} (inside the window) arrived from {a_name}, that socket received {}: expected \"A\" {inside} (selective repeat) or \"A\" {} (go-back-N, the last delivered)",
            show_all(&at_a),
            seq(1)
        )));
    }
    // Fill the gap: everything is delivered once, in order.
    for i in 2..=(2 + W as u64) {
        send(&a, addr, &msg(i))?;
    }
    ctx.step(format!("the grader sent messages 2 to {} ({} to {out})", 2 + W, seq(2)));
    let lines = RefCell::new(Lines::default());
    let all = |l: &[Line]| delivered(l, out);
    let finished = wait_lines(ctx, &mut receiver, &lines, 5 * S, all)?;
    let verdict = judge(&lines.borrow().lines, FIRST, 3 + W as u64, SIZE);
    if let Some((summary, hint)) = verdict.violation {
        return Err(Failure::new(summary).hint(hint));
    }
    if !finished {
        return Err(Failure::new(format!(
            "expected `deliver {out} ...` within 5 s of the gap being filled; your receiver delivered {} of {} messages",
            verdict.delivered,
            3 + W
        )));
    }
    Ok(())
}

/// Accepts an acknowledgement of `seq`, or of `or` when given.
fn ack_of_is(seq: u16, or: Option<u16>) -> impl Fn(&[u8]) -> bool {
    move |d: &[u8]| ack_of(d).is_some_and(|s| s == seq || Some(s) == or)
}

/// The grader's view of a reliable sender it plays the receiver for: which
/// messages came, how often, and how many the grader has acknowledged (always
/// in order, one by one, so selective repeat and go-back-N read them alike).
struct Flight {
    first: u16,
    count: u64,
    size: usize,
    window: u64,
    started: Instant,
    rto: Duration,
    /// Copies of each message received so far.
    copies: Vec<u64>,
    /// Messages 0 to acked - 1 are acknowledged.
    acked: u64,
    from: Option<SocketAddr>,
    received: u64,
}

impl Flight {
    /// Takes every datagram that arrives within `wait`, checking each.
    fn take(&mut self, socket: &UdpSocket, wait: Duration) -> Outcome {
        let mut buf = vec![0u8; 64 * 1024];
        let until = Instant::now() + wait;
        loop {
            if let Some((bytes, from, at)) = try_recv(socket, &mut buf) {
                self.from = Some(from);
                self.received += 1;
                let index = check_data(&bytes, self.first, self.count, self.size).map_err(|what| {
                    Failure::new(format!("datagram {} from your sender is {what}", self.received))
                        .hint("Build each datagram with wire::encode_data: 'D', the sequence number with to_be_bytes, then common::payload(index, size).")
                })?;
                if index >= self.acked + self.window {
                    return Err(Failure::new(format!(
                        "your sender sent message {index} (sequence number {}) while only messages 0 to {} were acknowledged: that makes {} messages unacknowledged, more than --window {}",
                        self.first.wrapping_add(index as u16),
                        self.acked as i64 - 1,
                        index - self.acked + 1,
                        self.window
                    ))
                    .hint("Send a new message only while fewer than --window messages are sent and unacknowledged."));
                }
                self.copies[index as usize] += 1;
                // Copies are observed no sooner than sent; the sender started
                // after `started`, so by time `at` at most 1 + elapsed / rto
                // copies of one message can have left (plus one for rounding).
                let most = 2 + (at.duration_since(self.started).as_millis() / self.rto.as_millis()) as u64;
                if self.copies[index as usize] > most {
                    return Err(Failure::new(format!(
                        "your sender had sent message {index} {} times {} ms after it started; retransmitting only when a {} ms timer runs out allows at most {most}",
                        self.copies[index as usize],
                        at.duration_since(self.started).as_millis(),
                        self.rto.as_millis()
                    ))
                    .hint("Retransmit a message only when --rto-ms has passed since it was last sent, not on every turn of the loop."));
                }
            }
            if Instant::now() >= until {
                return Ok(());
            }
        }
    }

    fn distinct(&self) -> Vec<u64> {
        (0..self.count).filter(|&i| self.copies[i as usize] > 0).collect()
    }
}

fn in_flight(ctx: &mut Ctx) -> Outcome {
    const COUNT: u64 = 10;
    const FIRST: u16 = 65_534;
    const SIZE: usize = 20;
    const W: u64 = 4;
    const RTO_MS: u64 = 200;
    let socket = grader_socket()?;
    let to = socket
        .local_addr()
        .map_err(|e| Failure::io("reading the grader's socket address", &e))?
        .to_string();
    ctx.step(format!(
        "the grader receives on {to} itself and runs your reliable sender with --count {COUNT} --first-seq {FIRST} --size {SIZE} --window {W} --rto-ms {RTO_MS} --max-retries 10"
    ));
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
            &W.to_string(),
            "--rto-ms",
            &RTO_MS.to_string(),
            "--max-retries",
            "10",
        ],
        &[],
    )?;
    let mut f = Flight {
        first: FIRST,
        count: COUNT,
        size: SIZE,
        window: W,
        started,
        rto: Duration::from_millis(RTO_MS),
        copies: vec![0; COUNT as usize],
        acked: 0,
        from: None,
        received: 0,
    };
    let exited_early = |sender: &mut Program, f: &Flight| -> Outcome {
        match sender.poll_exit() {
            Some(status) => Err(ctx.with_program_panic(
                Failure::new(format!(
                    "your sender exited ({}) when the grader had acknowledged {} of {COUNT} messages; it must run until every message is acknowledged (or one has been retransmitted --max-retries times)",
                    describe_status(status),
                    f.acked
                )),
                sender,
            )),
            None => Ok(()),
        }
    };
    // 1. Nothing acknowledged yet: the window fills, and no further.
    let fill_by = started + S;
    while f.distinct().len() < W as usize && Instant::now() < fill_by {
        f.take(&socket, Duration::from_millis(10))?;
        exited_early(&mut sender, &f)?;
    }
    if f.distinct().len() < W as usize {
        let seen: Vec<String> = f.distinct().iter().map(|i| i.to_string()).collect();
        return Err(Failure::new(format!(
            "in the first second, with nothing acknowledged, your sender sent only message(s) {} ({} datagrams in all); with --window {W} it must have {W} messages in flight",
            seen.join(", "),
            f.received
        ))
        .hint("Fill the window first: send new messages while fewer than --window are unacknowledged, then wait for acknowledgements. Stop-and-wait (one at a time) is not a sliding window."));
    }
    ctx.step(format!(
        "your sender sent messages 0 to {} ({} datagrams) before any acknowledgement",
        W - 1,
        f.received
    ));
    let Some(back) = f.from else {
        return Err(Failure::new(
            "the grader received datagrams but could not read where they came from",
        ));
    };
    // 2. Datagrams that acknowledge nothing: not acknowledgements, or
    // acknowledgements of numbers outside the window.
    let seq = |i: u64| FIRST.wrapping_add(i as u16);
    let mut junk: Vec<(Vec<u8>, String)> = vec![
        (
            vec![b'A', seq(0).to_be_bytes()[0], seq(0).to_be_bytes()[1], b'x'],
            format!("\"A\" {} with an extra byte", seq(0)),
        ),
        (vec![b'A', seq(0).to_be_bytes()[0]], "2 bytes".to_string()),
        (data(seq(0), b""), format!("a data datagram numbered {}", seq(0))),
        (
            vec![b'a', seq(0).to_be_bytes()[0], seq(0).to_be_bytes()[1]],
            "a lowercase 'a'".to_string(),
        ),
    ];
    let beyond = seq(W + 4);
    let behind = FIRST.wrapping_sub(1);
    junk.push((
        vec![b'A', beyond.to_be_bytes()[0], beyond.to_be_bytes()[1]],
        format!("\"A\" {beyond}, not yet sent"),
    ));
    junk.push((
        vec![b'A', behind.to_be_bytes()[0], behind.to_be_bytes()[1]],
        format!("\"A\" {behind}, never sent"),
    ));
    for (bytes, _) in &junk {
        send(&socket, back, bytes)?;
    }
    let names: Vec<&str> = junk.iter().map(|(_, n)| n.as_str()).collect();
    ctx.step(format!(
        "the grader sent your sender datagrams that acknowledge nothing: {}",
        names.join("; ")
    ));
    // 3. For a while, only such datagrams keep coming: every unacknowledged
    // message must still be retransmitted when its timer runs out.
    let before: Vec<u64> = f.copies.clone();
    let phase = Duration::from_millis(3 * RTO_MS + 400);
    let phase_end = Instant::now() + phase;
    let mut k = 0;
    while Instant::now() < phase_end {
        f.take(&socket, Duration::from_millis(50)).map_err(|e| {
            if e.summary.contains("more than --window") {
                Failure::new(format!(
                    "{} The grader had sent only datagrams that acknowledge nothing (a malformed acknowledgement, or one for a number outside the window), so your sender took one of them for an acknowledgement.",
                    e.summary
                ))
                .hint("Take only 'A' plus exactly two bytes as an acknowledgement, and only for a number in the window; ignore everything else.")
            } else {
                e
            }
        })?;
        exited_early(&mut sender, &f)?;
        send(&socket, back, &junk[k % junk.len()].0)?;
        k += 1;
    }
    ctx.step(format!(
        "for {} ms the grader sent one of those every 50 ms and acknowledged nothing; your sender retransmitted messages 0 to {}: {:?} times",
        phase.as_millis(),
        W - 1,
        (0..W as usize).map(|i| f.copies[i] - before[i]).collect::<Vec<_>>()
    ));
    if let Some(i) = (0..W as usize).find(|&i| f.copies[i] == before[i]) {
        return Err(Failure::new(format!(
            "in {} ms without an acknowledgement, while the grader sent a datagram that acknowledges nothing every 50 ms, your sender never retransmitted message {i} (sequence number {}); its timer of {RTO_MS} ms ran out at least twice",
            phase.as_millis(),
            seq(i as u64)
        ))
        .hint("Check every timer after each wake-up, whatever woke you (an acknowledgement, junk, or the timeout), and retransmit each message whose --rto-ms has passed since it was last sent."));
    }
    // 4. Acknowledge in order, one by one: the window slides, never past W.
    for i in 0..COUNT {
        let by = Instant::now() + S;
        while f.copies[i as usize] == 0 && Instant::now() < by {
            f.take(&socket, Duration::from_millis(10))?;
            exited_early(&mut sender, &f)?;
        }
        if f.copies[i as usize] == 0 {
            return Err(Failure::new(format!(
                "the grader had acknowledged messages 0 to {} (fewer than {W} unacknowledged), but within 1 s your sender did not send message {i}; it must keep its window full",
                i as i64 - 1
            ))
            .hint("After each acknowledgement that slides the window, send the next new messages at once."));
        }
        f.acked = i + 1;
        send(&socket, back, &[b'A', seq(i).to_be_bytes()[0], seq(i).to_be_bytes()[1]])?;
    }
    ctx.step(format!("the grader acknowledged messages 0 to {} in order, one by one", COUNT - 1));
    // 5. Everything acknowledged: the sender says so and exits with 0.
    let exit_by = Instant::now() + 3 * S;
    let status = loop {
        f.take(&socket, Duration::from_millis(10))?;
        if let Some(status) = sender.poll_exit() {
            break Some(status);
        }
        if Instant::now() >= exit_by {
            break None;
        }
    };
    let Some(status) = status else {
        return Err(Failure::new(format!(
            "every message was acknowledged, but your sender was still running {:.1} s after it started",
            started.elapsed().as_secs_f64()
        )));
    };
    if !status.success() {
        return Err(ctx.with_program_panic(
            Failure::new(format!(
                "every message was acknowledged, but your sender exited with {}",
                describe_status(status)
            )),
            &sender,
        ));
    }
    let _ = sender.wait_exit(S); // Its last lines, copied from the pipe.
    let said = format!("acknowledged {COUNT} messages");
    if !sender.stdout_lines().iter().any(|l| l.trim_start().starts_with(&said)) {
        return Err(Failure::new(format!(
            "your sender exited with status 0 without printing `{said} (...)`"
        )));
    }
    Ok(())
}

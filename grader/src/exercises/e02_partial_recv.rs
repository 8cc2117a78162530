//! Hidden tests for exercise 02: receive and send loops, length-prefixed frames.
//!
//! The program under test is started as `PROGRAM 127.0.0.1:0` and prints
//! `listening on ADDR`. A frame is a 4-byte big-endian length and that many
//! bytes of payload; the program answers each frame with a frame holding the
//! payload reversed, in order, and closes a connection when the client closes
//! its side between frames. A connection whose frame is cut off by a close, or
//! announces more than 1 MiB, is dropped and reported on stderr.
//!
//! The read side is tested through a re-slicing proxy (`fixtures::proxy`)
//! whose segment schedules proptest generates from the test's seed and
//! shrinks when one fails; the write side with the short-writes library and a
//! slow reader; the loops themselves in-process through the probe
//! `grader/probes/e02.rs`. `grader/tests/catalogue/e02_partial_recv.rs` holds
//! a known-wrong program for each test.

use crate::ctx::{Client, Ctx, Failure, IO_TIMEOUT, Outcome, random_bytes};
use crate::extras::PROBE_ROLE;
use crate::fixtures::proxy::{Proxy, Segment};
use crate::platform::Need;
use crate::process::Program;
use crate::procfs;
use crate::registry::{Sharing, TestCase};
use crate::transcript;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use std::cell::{Cell, RefCell};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const S: Duration = Duration::from_secs(1);

/// How long a reply may take once the proxy has forwarded the last byte of
/// the request. A correct server answers in milliseconds; the margin is for
/// a machine busy with other work.
const REPLY_WAIT: Duration = Duration::from_secs(3);

/// The server's maximum payload, as the exercise defines it (`MAX_FRAME`).
const MAX_FRAME: u64 = 1 << 20;

pub const TESTS: &[TestCase] = &[
    TestCase {
        id: "one-byte-segments",
        scenario: "Through the grader's proxy, every byte of a few frames reaches the server in its own TCP segment; each frame must be answered with its payload reversed.",
        clauses: &[1, 2, 3, 6],
        points: 9,
        limit: Duration::from_secs(60),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "recv() returns whatever has arrived, possibly a single byte; a reader must loop until it has the whole header and the whole payload.",
        hint: "In read_full, keep calling read on the part of the buffer still empty (&mut buf[filled..]) until it is full.",
        docs_anchor: "every-byte-in-its-own-segment",
        run: one_byte_segments,
    },
    TestCase {
        id: "split-header",
        scenario: "Through the proxy, each frame's 4-byte header is cut in two at a random byte, with a pause between the pieces.",
        clauses: &[1, 2, 3, 6],
        points: 9,
        limit: Duration::from_secs(60),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "The header is read from a stream like everything else: its 4 bytes may arrive in two or more reads.",
        hint: "Read the header with your receive loop too (read_full), not with a single read.",
        docs_anchor: "a-header-split-across-segments",
        run: split_header,
    },
    TestCase {
        id: "random-segments",
        scenario: "Through the proxy, frames of up to 200 bytes arrive cut at random places with random pauses; proptest generates the schedules and shrinks any that fails.",
        clauses: &[1, 2, 3, 6],
        points: 9,
        limit: Duration::from_secs(60),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "TCP keeps no message boundaries: the receiver sees the same bytes in the same order, cut wherever the network and the kernel cut them.",
        hint: "Never assume one read returns one whole frame, or one whole payload: loop until you have the bytes the header announced.",
        docs_anchor: "random-segments-and-pauses",
        run: random_segments,
    },
    TestCase {
        id: "coalesced-frames",
        scenario: "Through the proxy, several frames arrive together in one segment (or two); every one of them must be answered, in order.",
        clauses: &[1, 2, 3, 6],
        points: 9,
        limit: Duration::from_secs(60),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "One read may return the end of one frame and the start of the next; bytes already read belong to the next frame and must not be thrown away.",
        hint: "Keep one BufReader (or your own buffer) for the whole connection; a new one per frame loses the bytes the old one had buffered.",
        docs_anchor: "several-frames-in-one-segment",
        run: coalesced_frames,
    },
    TestCase {
        id: "pipelined-replies",
        scenario: "A client sends one frame and waits for its reply without closing, then sends four frames (1, 300, 0 and 70000 bytes) in one write and waits for the four replies in order.",
        clauses: &[1, 2, 4, 6],
        points: 9,
        limit: Duration::from_secs(20),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "A BufWriter sends nothing until it is full or flushed; a client waiting for a reply that sits in the buffer waits forever. Lengths are big-endian (network byte order).",
        hint: "Call flush() on the BufWriter after writing each reply.",
        docs_anchor: "pipelined-frames-and-flushing",
        run: pipelined_replies,
    },
    TestCase {
        id: "large-reply",
        scenario: "Each send() of the server accepts at most 1024 bytes (LD_PRELOAD), and a client with a 4 KiB receive buffer (SO_RCVBUF) reads a 256 KiB reply slowly; every byte must arrive.",
        clauses: &[1, 2, 5, 6],
        points: 9,
        limit: Duration::from_secs(40),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "send() returns how many bytes it accepted, which may be fewer than offered, especially when the receiver is slow and the buffers are full.",
        hint: "In write_full, loop until every byte has been accepted: buf = &buf[n..] after a write that took n bytes.",
        docs_anchor: "partial-writes-of-a-large-reply",
        run: large_reply,
    },
    TestCase {
        id: "close-mid-header",
        scenario: "A client sends a frame and 2 bytes of the next header, then closes; the server must answer the frame, report the cut-off header, close, and go on serving a new client.",
        clauses: &[1, 2, 6, 7, 10, 11],
        points: 8,
        limit: Duration::from_secs(20),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "A 0-byte read means the peer closed. Between frames that is a clean goodbye; inside a frame it is an error (UnexpectedEof), never a shorter or an empty frame.",
        hint: "Return Ok(None) only when read returns 0 before the first header byte; after that, a 0-byte read is ErrorKind::UnexpectedEof.",
        docs_anchor: "a-peer-that-closes-mid-frame",
        run: close_mid_header,
    },
    TestCase {
        id: "close-mid-payload",
        scenario: "While another client waits connected, a client announces 100 bytes, sends 40 and closes; the server must send nothing back, report it, drop that connection, and still serve the other client.",
        clauses: &[1, 7, 10, 11],
        points: 8,
        limit: Duration::from_secs(20),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "A close in the middle of a payload is an error for that connection only: report it, drop the connection, and keep serving everyone else.",
        hint: "In read_full, a 0-byte read before the buffer is full is ErrorKind::UnexpectedEof; in the server, print the error and return from that client's thread only.",
        docs_anchor: "a-peer-that-closes-mid-frame",
        run: close_mid_payload,
    },
    TestCase {
        id: "oversized-frame",
        scenario: "A client sends only a header announcing a 4294967040-byte frame; the server must reject it without allocating it (its VmPeak in /proc/PID/status must not jump), close that connection, and serve the next client.",
        clauses: &[1, 8, 9, 10, 11],
        points: 8,
        limit: Duration::from_secs(20),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "A length read from the network is untrusted input: check it against a maximum before allocating, or four bytes can make you reserve gigabytes.",
        hint: "In read_frame, compare the length with max and return ErrorKind::InvalidData before vec![0; len].",
        docs_anchor: "a-frame-above-the-maximum",
        run: oversized_frame,
    },
    TestCase {
        id: "frame-size-limits",
        scenario: "One client sends a frame of exactly 1 MiB, the maximum, and must get its reply; then one announces 1 MiB + 1 bytes (00 10 00 01) and one the header 01 00 00 05 (16 MiB + 5) with 5 bytes: both must be refused, closed and reported on stderr with their address and length.",
        clauses: &[1, 2, 8, 10],
        points: 8,
        limit: Duration::from_secs(25),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "The maximum is a boundary: exactly MAX_FRAME bytes is a frame, one byte more is refused; and the length is all four header bytes, the most significant first.",
        hint: "In read_frame, refuse only `len > max` (after u32::from_be_bytes of the whole header), and let the error's message say the length, so the line `client ADDR: ...` names it.",
        docs_anchor: "frames-at-and-above-the-maximum",
        run: frame_size_limits,
    },
    TestCase {
        id: "read-loop-in-process",
        scenario: "The grader calls read_full and read_frame directly with a reader that returns one byte per call and Interrupted before every other byte, then ends early; and with a reader that fails with ConnectionReset on every call.",
        clauses: &[12, 13],
        points: 5,
        limit: Duration::from_secs(15),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "read() may fail with Interrupted (EINTR) when a signal arrives before any byte did; nothing was lost and the call should simply be repeated.",
        hint: "In read_full, match Err(e) if e.kind() == ErrorKind::Interrupted and loop again instead of returning the error.",
        docs_anchor: "the-loops-called-directly",
        run: read_loop_in_process,
    },
    TestCase {
        id: "write-loop-in-process",
        scenario: "The grader calls write_full and write_frame directly with a writer that accepts one byte per call and returns Interrupted before every other byte, one that accepts nothing, and one that fails with BrokenPipe on every call.",
        clauses: &[14],
        points: 5,
        limit: Duration::from_secs(15),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "write() may accept only part of the buffer, or fail with Interrupted (EINTR) before accepting anything; both mean: write the rest again.",
        hint: "In write_full, retry on ErrorKind::Interrupted and advance past the n bytes each write accepted.",
        docs_anchor: "the-loops-called-directly",
        run: write_loop_in_process,
    },
    TestCase {
        id: "read-frame-max-in-process",
        scenario: "The grader calls read_frame directly with small values of max: a frame of exactly max bytes must be returned, one of max + 1 refused with InvalidData, the header 01 00 00 05 refused, and an announced 4 GiB never allocated.",
        clauses: &[8, 9],
        points: 4,
        limit: Duration::from_secs(15),
        needs: &[],
        sharing: Sharing::Shared,
        concept: "read_frame's max is its caller's limit: the function must honour the value it is given, at the boundary exactly, and check it before allocating.",
        hint: "Compare the length with the max argument, `if len > max`, before vec![0; len].",
        docs_anchor: "the-loops-called-directly",
        run: read_frame_max_in_process,
    },
];

/// A frame on the wire: the payload's length as a big-endian u32, then the payload.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut bytes = (payload.len() as u32).to_be_bytes().to_vec();
    bytes.extend_from_slice(payload);
    bytes
}

/// The server's answer to a frame: a frame holding the payload reversed.
pub fn reply_to(payload: &[u8]) -> Vec<u8> {
    let reversed: Vec<u8> = payload.iter().rev().copied().collect();
    frame(&reversed)
}

fn start(ctx: &Ctx, env: &[(&str, &str)]) -> Result<(Program, SocketAddr), Failure> {
    let mut program = ctx.spawn_with(&["127.0.0.1:0"], env)?;
    let addr = ctx.wait_listening(&mut program)?;
    if addr.port() == 0 {
        // Clause 1: BOUND is the address the listener is bound to; port 0
        // only asks the kernel to choose one, and nobody can connect to it.
        return Err(Failure::new(format!(
            "your program printed `listening on {addr}`: port 0 is what it was asked for, not the port the kernel chose, so no client can connect to it"
        ))
        .hint("Print the address the listener is bound to: listener.local_addr()."));
    }
    Ok((program, addr))
}

// ---------------------------------------------------------------------------
// The read side, through the re-slicing proxy, with proptest schedules.

/// One generated scenario: the frames a client sends, and where the proxy
/// cuts the resulting stream (position, and pause in ms after that segment).
#[derive(Clone, Debug)]
struct Case {
    frames: Vec<Vec<u8>>,
    cuts: Vec<(usize, u8)>,
}

impl Case {
    fn stream(&self) -> Vec<u8> {
        self.frames.iter().flat_map(|p| frame(p)).collect()
    }

    fn replies(&self) -> Vec<u8> {
        self.frames.iter().flat_map(|p| reply_to(p)).collect()
    }

    /// The segments the proxy writes: cut positions sorted, duplicates and
    /// positions outside the stream dropped.
    fn segments(&self) -> Vec<Segment> {
        let len = self.stream().len();
        let mut cuts: Vec<(usize, u8)> = self.cuts.iter().copied().filter(|&(p, _)| p > 0 && p < len).collect();
        cuts.sort_by_key(|&(p, _)| p);
        cuts.dedup_by_key(|&mut (p, _)| p);
        let mut segments = Vec::new();
        let mut at = 0;
        for (p, pause) in cuts {
            segments.push(Segment {
                len: p - at,
                pause: Duration::from_millis(pause as u64),
            });
            at = p;
        }
        segments.push(Segment {
            len: len - at,
            pause: Duration::ZERO,
        });
        segments
    }

    /// The schedule as the learner should see it: the frames, then the
    /// stream cut into segments.
    fn describe(&self) -> String {
        let mut out = String::new();
        for (i, payload) in self.frames.iter().enumerate() {
            out.push_str(&format!(
                "frame {}: {}-byte payload {} -> on the wire {}\n",
                i + 1,
                payload.len(),
                transcript::escape(payload),
                transcript::escape(&frame(payload))
            ));
        }
        let stream = self.stream();
        let segments = self.segments();
        out.push_str(&format!(
            "the proxy cut the {}-byte stream into {} segments:\n",
            stream.len(),
            segments.len()
        ));
        let mut at = 0;
        let mut pieces = Vec::new();
        for s in &segments {
            let mut piece = transcript::escape(&stream[at..at + s.len]);
            if !s.pause.is_zero() {
                piece.push_str(&format!(" ({} ms)", s.pause.as_millis()));
            }
            pieces.push(piece);
            at += s.len;
        }
        const SHOWN: usize = 48;
        let more = pieces.len().saturating_sub(SHOWN);
        pieces.truncate(SHOWN);
        out.push_str(&format!("  {}", pieces.join(" | ")));
        if more > 0 {
            out.push_str(&format!(" | ... ({more} more)"));
        }
        out
    }
}

fn stream_len(frames: &[Vec<u8>]) -> usize {
    frames.iter().map(|p| 4 + p.len()).sum()
}

#[derive(Clone, Copy)]
enum Shape {
    OneByte,
    SplitHeader,
    Random,
    Coalesced,
}

fn payloads(max_len: usize, frames: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Vec<Vec<u8>>> {
    vec(vec(any::<u8>(), 0..=max_len), frames)
}

/// The proptest strategy for each shape of schedule. Shrinking works on what
/// is generated here: fewer and shorter frames, fewer cuts, smaller pauses.
fn strategy(shape: Shape) -> BoxedStrategy<Case> {
    match shape {
        Shape::OneByte => payloads(20, 1..=3)
            .prop_map(|frames| {
                let cuts = (1..stream_len(&frames)).map(|p| (p, 0)).collect();
                Case { frames, cuts }
            })
            .boxed(),
        Shape::SplitHeader => (payloads(40, 1..=4), vec((1usize..=3, 0u8..=3), 1..=4))
            .prop_map(|(frames, splits)| {
                let mut cuts = Vec::new();
                let mut start = 0;
                for (payload, (k, pause)) in frames.iter().zip(splits) {
                    cuts.push((start + k, pause));
                    start += 4 + payload.len();
                }
                Case { frames, cuts }
            })
            .boxed(),
        Shape::Random => (payloads(200, 1..=4), vec((any::<u16>(), 0u8..=3), 0..=16))
            .prop_map(|(frames, cuts)| {
                let len = stream_len(&frames);
                let cuts = cuts.into_iter().map(|(p, pause)| (p as usize % len, pause)).collect();
                Case { frames, cuts }
            })
            .boxed(),
        Shape::Coalesced => (payloads(60, 2..=6), vec((any::<u16>(), 0u8..=3), 0..=1))
            .prop_map(|(frames, cuts)| {
                let len = stream_len(&frames);
                let cuts = cuts.into_iter().map(|(p, pause)| (p as usize % len, pause)).collect();
                Case { frames, cuts }
            })
            .boxed(),
    }
}

/// A proptest runner whose randomness comes only from the test's seed.
fn runner(seed: u64, cases: u32, shrink_time: Duration) -> TestRunner {
    // Every field that matters is set here, so PROPTEST_* variables in the
    // learner's environment cannot change what the grader runs.
    let config = Config {
        cases,
        max_local_rejects: 0,
        max_global_rejects: 0,
        failure_persistence: None,
        source_file: None,
        max_shrink_time: shrink_time.as_millis() as u32,
        max_shrink_iters: 256,
        verbose: 0,
        rng_algorithm: RngAlgorithm::ChaCha,
        ..Config::default()
    };
    // splitmix64 spreads the 64-bit seed over the 32 bytes ChaCha wants.
    let mut x = seed;
    let mut bytes = [0u8; 32];
    for chunk in bytes.chunks_mut(8) {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

/// Time kept back at the end of a test's limit for reporting.
const RESERVE: Duration = Duration::from_secs(8);

/// Runs `cases` generated schedules of `shape` against one server process.
fn run_schedules(ctx: &mut Ctx, shape: Shape, cases: u32, what: &str) -> Outcome {
    let (program, addr) = start(ctx, &[])?;
    ctx.step(format!(
        "the grader starts a proxy in front of your server for each of {cases} schedules ({what}); proptest generates them from seed {}",
        ctx.seed
    ));
    let ctx: &Ctx = ctx;
    let program = RefCell::new(program);
    let shrink_time = ctx.remaining().saturating_sub(RESERVE + 10 * S).min(20 * S);
    let mut runner = runner(ctx.seed, cases, shrink_time);
    let runs = Cell::new(0u32);
    let failures = Cell::new(0u32);
    let segments = Cell::new(0usize);
    let all_read = Cell::new(true);
    let result = runner.run(&strategy(shape), |case| {
        runs.set(runs.get() + 1);
        if ctx.remaining() < RESERVE {
            if failures.get() > 0 {
                // Shrinking ran out of time: report the smallest failure so far.
                return Ok(());
            }
            return Err(TestCaseError::fail(format!(
                "the test ran out of time after {} of {cases} schedules; each should take well under a second",
                runs.get() - 1
            )));
        }
        match run_case(&program, addr, &case) {
            Ok(log) => {
                segments.set(segments.get() + log.segments.len());
                all_read.set(all_read.get() && log.each_segment_read);
                Ok(())
            }
            Err(message) => {
                failures.set(failures.get() + 1);
                Err(TestCaseError::fail(message))
            }
        }
    });
    let mut program = program.into_inner();
    match result {
        Ok(()) => {
            ctx.step(format!(
                "all {cases} schedules passed: {} segments in all{}",
                segments.get(),
                if all_read.get() {
                    ", each read by your server (its Recv-Q in /proc/net/tcp back at 0) before the next was sent"
                } else {
                    ""
                }
            ));
            Ok(())
        }
        Err(TestError::Fail(reason, case)) => {
            ctx.step(format!(
                "a schedule failed; after {} runs in all, proptest shrank it to the smallest that still fails (replay with the same seed):\n{}",
                runs.get(),
                case.describe()
            ));
            let mut summary = reason.message().to_string();
            if let Some(status) = program.poll_exit() {
                summary.push_str(&format!(" (your program exited: {})", crate::process::describe_status(status)));
            }
            if let Some(note) = byte_order_note(&program, &case.frames) {
                summary.push_str(&format!("\n{note}"));
            }
            Err(ctx.with_program_panic(Failure::new(summary), &program))
        }
        Err(TestError::Abort(reason)) => Err(Failure::new(format!("the grader could not run its schedules: {reason}"))),
    }
}

/// How the replies of one case ended.
enum End {
    Closed,
    Silent,
    Wrong,
}

/// Plays one case through a fresh proxy; `Err` says what went wrong, for the learner.
fn run_case(program: &RefCell<Program>, addr: SocketAddr, case: &Case) -> Result<crate::fixtures::proxy::ProxyLog, String> {
    let proxy = Proxy::start(addr, case.segments()).map_err(|e| format!("the grader could not start its proxy: {e}"))?;
    let mut client =
        TcpStream::connect_timeout(&proxy.addr(), IO_TIMEOUT).map_err(|e| format!("the grader could not reach its proxy: {e}"))?;
    client
        .write_all(&case.stream())
        .and_then(|()| client.shutdown(Shutdown::Write))
        .map_err(|e| format!("the grader could not send to its proxy: {e}"))?;
    client.set_read_timeout(Some(Duration::from_millis(50))).ok();
    let expected = case.replies();
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let end = loop {
        match client.read(&mut buf) {
            Ok(0) => break End::Closed,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                // Stop at the first wrong byte, or when a server floods.
                if got.len() > expected.len() + 64 || got.iter().zip(&expected).any(|(a, b)| a != b) {
                    break End::Wrong;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                ) =>
            {
                let forwarded = proxy.log().forwarded_at;
                let waited = forwarded.map_or(Duration::ZERO, |t| t.elapsed());
                if waited > REPLY_WAIT || started.elapsed() > 30 * S {
                    break End::Silent;
                }
            }
            // A reset ends the connection as a close does.
            Err(_) => break End::Closed,
        }
    };
    let log = proxy.log();
    drop(proxy);
    let exited = program.borrow_mut().poll_exit().is_some();
    judge(case, &expected, &got, end, exited)?;
    Ok(log)
}

/// Compares the replies with what the frames call for.
fn judge(case: &Case, expected: &[u8], got: &[u8], end: End, exited: bool) -> Result<(), String> {
    let exited = if exited { " (your program has exited)" } else { "" };
    if let Some(at) = got.iter().zip(expected).position(|(a, b)| a != b) {
        // Which reply holds the first wrong byte?
        let mut start = 0;
        for payload in &case.frames {
            let reply = reply_to(payload);
            if at < start + reply.len() {
                let shown = &got[start..got.len().min(start + reply.len())];
                return Err(format!(
                    "the reply to the {}-byte payload {} should be {}; {}{exited}",
                    payload.len(),
                    transcript::escape(payload),
                    transcript::escape(&reply),
                    transcript::diff(&reply, shown).unwrap_or_default()
                ));
            }
            start += reply.len();
        }
    }
    if got.len() > expected.len() {
        let extra = &got[expected.len()..];
        return Err(format!(
            "after the {} expected reply bytes your server sent {} more: {}{}{exited}",
            expected.len(),
            extra.len(),
            transcript::escape(extra),
            empty_frame_note(extra)
        ));
    }
    let complete = replies_complete(case, got.len());
    match (got.len() < expected.len(), end) {
        (true, End::Silent) => Err(format!(
            "every byte had reached your server {} s ago, but only {} of the {} reply bytes came back ({complete} of {} replies complete) and the connection was still open{exited}",
            REPLY_WAIT.as_secs(),
            got.len(),
            expected.len(),
            case.frames.len()
        )),
        (true, _) => Err(format!(
            "your server closed the connection after {} of the {} reply bytes ({complete} of {} replies complete){exited}",
            got.len(),
            expected.len(),
            case.frames.len()
        )),
        (false, End::Silent) => Err(format!(
            "all replies arrived, but {} s after the client had closed its side the connection was still open: a 0-byte read means the client is done, so close the connection",
            REPLY_WAIT.as_secs()
        )),
        (false, _) => Ok(()),
    }
}

fn replies_complete(case: &Case, received: usize) -> usize {
    let mut total = 0;
    let mut complete = 0;
    for payload in &case.frames {
        total += 4 + payload.len();
        if total <= received {
            complete += 1;
        }
    }
    complete
}

fn empty_frame_note(extra: &[u8]) -> &'static str {
    if extra.starts_with(&[0, 0, 0, 0]) {
        ". That is an empty frame (length 0), which the client never sent: look at what your server does when a read returns fewer bytes than it asked for, or 0 (the client closed)"
    } else {
        ""
    }
}

/// If the program reported a frame length that is one of `frames`' lengths
/// read as little-endian, say so: it is the classic byte-order mistake.
///
/// Called only once a test has failed. A server prints its error after it
/// has dropped the connection, so the line may still be on its way to the
/// grader: it is awaited for up to `NOTE_WAIT`.
fn byte_order_note(program: &Program, frames: &[Vec<u8>]) -> Option<String> {
    const NOTE_WAIT: Duration = Duration::from_millis(500);
    let candidates: Vec<(u64, [u8; 4])> = frames
        .iter()
        .filter_map(|p| {
            let header = (p.len() as u32).to_be_bytes();
            let little = u32::from_le_bytes(header) as u64;
            (little != p.len() as u64 && little > 9999).then_some((little, header))
        })
        .collect();
    if candidates.is_empty() {
        return None;
    }
    let deadline = Instant::now() + NOTE_WAIT;
    loop {
        let stderr = program.stderr();
        if let Some((little, header)) = candidates.iter().find(|(little, _)| stderr.contains(&little.to_string())) {
            return Some(format!(
                "Your program mentions a length of {little}: that is the header {} read as little-endian. Lengths on the wire are big-endian (network byte order): u32::from_be_bytes.",
                transcript::escape(header)
            ));
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn one_byte_segments(ctx: &mut Ctx) -> Outcome {
    run_schedules(
        ctx,
        Shape::OneByte,
        6,
        "1 to 3 frames of up to 20 bytes, every byte in its own segment",
    )
}

fn split_header(ctx: &mut Ctx) -> Outcome {
    run_schedules(
        ctx,
        Shape::SplitHeader,
        12,
        "1 to 4 frames, each header cut after its 1st, 2nd or 3rd byte, pauses of 0 to 3 ms",
    )
}

fn random_segments(ctx: &mut Ctx) -> Outcome {
    run_schedules(
        ctx,
        Shape::Random,
        24,
        "1 to 4 frames of up to 200 bytes, up to 16 random cuts, pauses of 0 to 3 ms",
    )
}

fn coalesced_frames(ctx: &mut Ctx) -> Outcome {
    run_schedules(
        ctx,
        Shape::Coalesced,
        12,
        "2 to 6 frames sent in one segment, or two cut at a random place",
    )
}

// ---------------------------------------------------------------------------
// Direct clients.

/// Reads one reply and compares it with the one `payload` calls for.
fn expect_reply(client: &mut Client, program: &Program, payload: &[u8], hint: &str) -> Outcome {
    let expected = reply_to(payload);
    let what = format!("the reply {} to the {}-byte frame", transcript::escape(&expected), payload.len());
    let got = client.recv_exact(expected.len(), REPLY_WAIT, &what).map_err(|f| {
        let mut f = f.hint(hint);
        if let Some(note) = byte_order_note(program, &[payload.to_vec()]) {
            f.summary.push_str(&format!("\n{note}"));
        }
        f.with_panic(program.panic())
    })?;
    match transcript::diff(&expected, &got) {
        None => Ok(()),
        Some(diff) => Err(Failure::new(format!(
            "the reply to the {}-byte frame is wrong; {diff}",
            payload.len()
        ))),
    }
}

/// Expects the server to close the connection with nothing more to say.
fn expect_end(ctx: &Ctx, client: &mut Client, after: &str) -> Outcome {
    let deadline = Instant::now() + 5 * S;
    let mut extra = Vec::new();
    let mut buf = [0u8; 4096];
    client.stream.set_read_timeout(Some(Duration::from_millis(100))).ok();
    loop {
        match client.stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                extra.extend_from_slice(&buf[..n]);
                if extra.len() >= 64 {
                    break;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                ) =>
            {
                if Instant::now() >= deadline {
                    if extra.is_empty() {
                        return Err(Failure::new(format!(
                            "expected your server to close the connection {after}, but 5 s later it was still open"
                        )));
                    }
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break,
            Err(e) => return Err(Failure::io(&format!("{} waiting for the connection to close", client.name), &e)),
        }
    }
    if !extra.is_empty() {
        ctx.step(format!(
            "{} received {} bytes: {}",
            client.name,
            extra.len(),
            transcript::escape(&extra)
        ));
        return Err(Failure::new(format!(
            "expected your server to close the connection {after} without sending anything more, but it sent {}{}",
            transcript::escape(&extra),
            empty_frame_note(&extra)
        )));
    }
    ctx.step(format!("{} saw the connection close", client.name));
    Ok(())
}

/// How long the program has to print its report once a connection is dropped.
const REPORT_WAIT: Duration = Duration::from_secs(3);

/// Waits for the report line of clause 10: a line on stderr, among those
/// after the first `before`, that names `client` (as `IP:PORT`) and, for a
/// refused frame, the `announced` length. Any other lines are allowed.
fn expect_report(ctx: &Ctx, program: &mut Program, before: usize, event: &str, client: SocketAddr, announced: Option<u64>) -> Outcome {
    let deadline = Instant::now() + REPORT_WAIT;
    let address = client.to_string();
    let wanted = match announced {
        None => format!("the client's address {address}"),
        Some(n) => format!("the client's address {address} and the announced length {n}"),
    };
    loop {
        let lines: Vec<String> = program.stderr().lines().skip(before).map(str::to_string).collect();
        if lines
            .iter()
            .any(|l| l.contains(&address) && announced.is_none_or(|n| names_number(l, n)))
        {
            ctx.step(format!("your program reported it on stderr in a line naming {wanted}"));
            return Ok(());
        }
        if let Some(status) = program.poll_exit() {
            return Err(Failure::new(format!(
                "your program exited ({}) after {event}; one client's broken frame must end only that client's connection",
                crate::process::describe_status(status)
            ))
            .with_panic(program.panic()));
        }
        if Instant::now() >= deadline {
            let seen = if lines.is_empty() {
                "printed nothing on stderr".to_string()
            } else {
                let shown: Vec<String> = lines.iter().take(5).map(|l| format!("`{l}`")).collect();
                format!(
                    "printed {} line(s) on stderr, none naming {wanted}: {}",
                    lines.len(),
                    shown.join(", ")
                )
            };
            return Err(Failure::new(format!(
                "after {event}, your server dropped the connection, but within {} s it {seen}",
                REPORT_WAIT.as_secs()
            ))
            .hint(match announced {
                None => "Report each dropped connection on stderr in one line that starts with the client's address, as the given accept loop does: `client ADDR: ERROR`.".to_string(),
                Some(n) => format!(
                    "Report a refused frame on stderr in one line naming the client's address and the announced length, for example `client {address}: a frame of {n} bytes is larger than the maximum of {MAX_FRAME}`: let read_frame's InvalidData error say the length."
                ),
            }));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether `line` names the number `n`: in decimal (digit groups separated by
/// `,`, `_`, `.`, `'` or a space are accepted), or in hexadecimal after `0x`.
pub fn names_number(line: &str, n: u64) -> bool {
    fn decimal(text: &str, n: u64) -> bool {
        text.split(|c: char| !c.is_ascii_digit())
            .any(|run| !run.is_empty() && run.parse::<u64>() == Ok(n))
    }
    let chars: Vec<char> = line.chars().collect();
    let grouped: String = chars
        .iter()
        .enumerate()
        .filter(|&(i, c)| {
            let separator = matches!(c, ',' | '_' | '.' | '\'' | ' ' | '\u{a0}' | '\u{202f}');
            let between_digits = i > 0 && chars[i - 1].is_ascii_digit() && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit());
            !(separator && between_digits)
        })
        .map(|(_, c)| *c)
        .collect();
    let lower = line.to_ascii_lowercase();
    let hex = lower.match_indices("0x").any(|(i, _)| {
        let digits: String = lower[i + 2..].chars().take_while(|c| c.is_ascii_hexdigit()).collect();
        !digits.is_empty() && u64::from_str_radix(&digits, 16) == Ok(n)
    });
    decimal(line, n) || decimal(&grouped, n) || hex
}

fn pipelined_replies(ctx: &mut Ctx) -> Outcome {
    let (program, addr) = start(ctx, &[])?;
    let mut client = ctx.connect(addr)?;
    client.send(&frame(b"ping"))?;
    ctx.step("client 1 keeps its connection open and waits for the reply");
    expect_reply(
        &mut client,
        &program,
        b"ping",
        "The reply never left your server: a BufWriter holds what you write until it is full or flushed. Call flush() after each reply.",
    )?;
    let big = random_bytes(ctx.seed, 70_000);
    let medium = random_bytes(ctx.seed ^ 0x5555, 300);
    let payloads: [&[u8]; 4] = [b"a", &medium, b"", &big];
    let burst: Vec<u8> = payloads.iter().flat_map(|p| frame(p)).collect();
    ctx.step(
        "client 1 sends four frames in one write (payloads of 1, 300, 0 and 70000 bytes; headers 00 00 00 01, 00 00 01 2c, 00 00 00 00, 00 01 11 70), still without closing",
    );
    client.send(&burst)?;
    for payload in payloads {
        expect_reply(
            &mut client,
            &program,
            payload,
            "Answer every frame, in the order they came, and flush after each reply.",
        )?;
    }
    client.shutdown_write()?;
    expect_end(ctx, &mut client, "after the client closed its side between frames")
}

fn large_reply(ctx: &mut Ctx) -> Outcome {
    let short = ctx.short_writes_env(1024)?;
    let env = short.env();
    let (program, addr) = start(ctx, &env)?;
    // A small receive buffer, set before connect so the kernel advertises a
    // small window from the start: the server's sends soon fill it and block.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, Some(socket2::Protocol::TCP))
        .map_err(|e| Failure::io("creating the slow client's socket", &e))?;
    socket
        .set_recv_buffer_size(4096)
        .map_err(|e| Failure::io("setting SO_RCVBUF", &e))?;
    socket
        .connect_timeout(&addr.into(), IO_TIMEOUT)
        .map_err(|e| Failure::io(&format!("the slow client connecting to {addr}"), &e))?;
    let rcvbuf = socket.recv_buffer_size().unwrap_or(0);
    let mut stream: TcpStream = socket.into();
    stream.set_write_timeout(Some(IO_TIMEOUT)).ok();
    let payload = random_bytes(ctx.seed, 256 * 1024);
    ctx.step(format!(
        "a client with a receive buffer of {rcvbuf} bytes (SO_RCVBUF 4096, which Linux doubles) sends one frame of {} bytes and closes its sending side",
        payload.len()
    ));
    stream
        .write_all(&frame(&payload))
        .and_then(|()| stream.shutdown(Shutdown::Write))
        .map_err(|e| Failure::io("the slow client sending its frame", &e))?;
    ctx.step("the client reads the reply slowly: at most 2 KiB per read, 2 ms apart, until the server closes");
    let expected = reply_to(&payload);
    let deadline = Instant::now() + 25 * S;
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    stream.set_read_timeout(Some(Duration::from_millis(200))).ok();
    let mut closed = false;
    while Instant::now() < deadline && got.len() <= expected.len() {
        match stream.read(&mut buf) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                // The client's pace, part of the scenario: a slow reader.
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                ) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                closed = true;
                break;
            }
            Err(e) => return Err(Failure::io("the slow client reading the reply", &e)),
        }
    }
    ctx.step(format!(
        "the client received {} of {} reply bytes{}",
        got.len(),
        expected.len(),
        if closed { ", then the connection closed" } else { "" }
    ));
    if let Some(diff) = transcript::diff(&expected, &got) {
        return Err(ctx.with_program_panic(
            Failure::new(format!("the reply to the {}-byte frame is not what was expected; {diff}", payload.len())).hint(
                "Bytes went missing: a write accepted only part of the buffer and the rest was never sent. Loop in write_full until the buffer is empty.",
            ),
            &program,
        ));
    }
    if !closed {
        return Err(Failure::new(
            "the whole reply arrived, but the connection was not closed after the client closed its side",
        ));
    }
    Ok(())
}

fn close_mid_header(ctx: &mut Ctx) -> Outcome {
    let (mut program, addr) = start(ctx, &[])?;
    let mut client = ctx.connect(addr)?;
    let mut bytes = frame(b"first");
    bytes.extend_from_slice(&[0x00, 0x00]);
    ctx.step("client 1 sends a whole frame, then only 2 of the 4 bytes of the next header");
    // Counted before the bytes that lead to the report: a fast server may
    // print it before `send` returns here.
    let reported = program.stderr().lines().count();
    client.send(&bytes)?;
    client.shutdown_write()?;
    expect_reply(&mut client, &program, b"first", "Answer each complete frame as soon as it is read.")?;
    expect_end(ctx, &mut client, "after the client closed in the middle of a header")?;
    expect_report(
        ctx,
        &mut program,
        reported,
        "client 1 closed in the middle of a frame header",
        client.local,
        None,
    )?;
    let mut next = ctx.connect(addr)?;
    next.send(&frame(b"second"))?;
    next.shutdown_write()?;
    expect_reply(
        &mut next,
        &program,
        b"second",
        "Keep accepting and serving new clients after one client's error.",
    )?;
    expect_end(ctx, &mut next, "after the client closed its side between frames")
}

fn close_mid_payload(ctx: &mut Ctx) -> Outcome {
    let (mut program, addr) = start(ctx, &[])?;
    let mut waiting = ctx.connect(addr)?;
    ctx.step("client 1 stays connected and quiet for now");
    let mut client = ctx.connect(addr)?;
    let mut bytes = 100u32.to_be_bytes().to_vec();
    bytes.extend_from_slice(&random_bytes(ctx.seed, 40));
    ctx.step("client 2 announces a 100-byte payload, sends 40 bytes of it, and closes");
    let reported = program.stderr().lines().count();
    client.send(&bytes)?;
    client.shutdown_write()?;
    expect_end(ctx, &mut client, "after the client closed 40 bytes into a 100-byte payload")?;
    expect_report(
        ctx,
        &mut program,
        reported,
        "client 2 closed in the middle of a payload",
        client.local,
        None,
    )?;
    waiting.send(&frame(b"still here"))?;
    expect_reply(
        &mut waiting,
        &program,
        b"still here",
        "One client's error must end only its own connection: report it and return from that client's thread, never exit the process.",
    )?;
    waiting.shutdown_write()?;
    expect_end(ctx, &mut waiting, "after the client closed its side between frames")
}

/// Fails if the program has exited: a zombie's /proc figures are not its own
/// any more (a zombie has no memory lines at all), so every reading of them
/// starts here.
fn alive(program: &mut Program, when: &str) -> Outcome {
    match program.poll_exit() {
        None => Ok(()),
        Some(status) => Err(
            Failure::new(format!("your program exited ({}) {when}", crate::process::describe_status(status))).with_panic(program.panic()),
        ),
    }
}

/// A figure from /proc/PID/status of a program that must be alive: if the
/// reading fails because the program exited meanwhile, that exit is the failure.
fn status_kib(program: &mut Program, field: &str, when: &str) -> Result<u64, Failure> {
    alive(program, when)?;
    procfs::status_kib(program.pid(), field).map_err(|f| match alive(program, when) {
        Ok(()) => f,
        Err(exited) => exited,
    })
}

fn oversized_frame(ctx: &mut Ctx) -> Outcome {
    let (mut program, addr) = start(ctx, &[])?;
    let pid = program.pid();
    // A first client warms the server up (a thread, its buffers) so that the
    // measurement below sees only what the big header causes.
    let mut first = ctx.connect(addr)?;
    first.send(&frame(b"warm up"))?;
    expect_reply(&mut first, &program, b"warm up", "Answer each frame with its payload reversed.")?;
    let peak_before = status_kib(&mut program, "VmPeak", "after answering a frame")?;
    let hwm_before = status_kib(&mut program, "VmHWM", "after answering a frame")?;
    ctx.step(format!(
        "your program's peak virtual memory is {} MiB (VmPeak), its peak resident memory {} MiB (VmHWM), from /proc/{pid}/status",
        peak_before / 1024,
        hwm_before / 1024
    ));
    let announced: u32 = 0xFFFF_FF00;
    let mut client = ctx.connect(addr)?;
    ctx.step(format!(
        "client 2 sends only a header announcing {announced} bytes, far above the 1 MiB maximum ({MAX_FRAME} bytes)"
    ));
    let reported = program.stderr().lines().count();
    client.send(&announced.to_be_bytes())?;
    // Watch the memory while waiting for the server to drop the connection.
    let limit_kib = 1024 * 1024; // 1 GiB of growth: the margin covers new threads' stacks and malloc arenas.
    let deadline = Instant::now() + 5 * S;
    client.stream.set_read_timeout(Some(Duration::from_millis(50))).ok();
    let mut buf = [0u8; 64];
    let mut closed = false;
    loop {
        let when = format!("after a header announced {announced} bytes");
        alive(&mut program, &when).map_err(|f| {
            f.hint("Check the length against the maximum before allocating anything for it, and end only that client's connection.")
        })?;
        let peak = status_kib(&mut program, "VmPeak", &when)?;
        if peak.saturating_sub(peak_before) > limit_kib {
            return Err(Failure::new(format!(
                "after a header announced {announced} bytes, your program's peak virtual memory (VmPeak) grew from {} MiB to {} MiB, by more than the 1 GiB a new connection could explain",
                peak_before / 1024,
                peak / 1024
            ))
            .hint("Compare the length with the maximum before vec![0; len] or any other allocation of it: the header is untrusted input."));
        }
        if closed {
            break;
        }
        match client.stream.read(&mut buf) {
            Ok(0) => closed = true,
            Ok(n) => {
                return Err(Failure::new(format!(
                    "expected your server to drop the connection after an oversized header, but it sent {}",
                    transcript::escape(&buf[..n])
                )));
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => closed = true,
            Err(_) => {}
        }
        if !closed && Instant::now() >= deadline {
            return Err(Failure::new(format!(
                "after a header announced {announced} bytes (the maximum is {MAX_FRAME}), your server kept the connection open for 5 s; reject the frame and drop the connection"
            )));
        }
    }
    let when = "after closing the connection of an oversized frame";
    let peak = status_kib(&mut program, "VmPeak", when)?;
    let hwm = status_kib(&mut program, "VmHWM", when)?;
    ctx.step(format!(
        "your server closed the connection; VmPeak is now {} MiB, VmHWM {} MiB",
        peak / 1024,
        hwm / 1024
    ));
    expect_report(
        ctx,
        &mut program,
        reported,
        &format!("client 2 announced {announced} bytes"),
        client.local,
        Some(announced as u64),
    )?;
    let mut next = ctx.connect(addr)?;
    next.send(&frame(b"after"))?;
    expect_reply(
        &mut next,
        &program,
        b"after",
        "Reject the oversized frame for that client only, and keep serving.",
    )
}

fn frame_size_limits(ctx: &mut Ctx) -> Outcome {
    let (mut program, addr) = start(ctx, &[])?;

    // Exactly the maximum is a frame like any other.
    let mut client = ctx.connect(addr)?;
    let payload = random_bytes(ctx.seed, MAX_FRAME as usize);
    ctx.step(format!(
        "client 1 sends a frame of exactly the maximum, {MAX_FRAME} bytes (header 00 10 00 00), and keeps its connection open"
    ));
    if let Err(e) = client.stream.write_all(&frame(&payload)) {
        return Err(ctx.with_program_panic(
            Failure::new(format!(
                "the connection failed while client 1 was sending a frame of exactly {MAX_FRAME} bytes, the maximum, which must be accepted: {}",
                crate::oserror::explain("sending", &e)
            ))
            .hint("A frame of exactly MAX_FRAME bytes is allowed: refuse only a length above the maximum (len > max)."),
            &program,
        ));
    }
    expect_reply(
        &mut client,
        &program,
        &payload,
        "A frame of exactly MAX_FRAME bytes is allowed: refuse only a length above the maximum (len > max).",
    )
    .map_err(|mut f| {
        f.summary = format!(
            "a frame of exactly the maximum, {MAX_FRAME} bytes, must be answered like any other: {}",
            f.summary
        );
        f
    })?;
    client.shutdown_write()?;
    expect_end(ctx, &mut client, "after the client closed its side between frames")?;

    // One byte more, and a header whose top byte makes it 16 MiB + 5, are refused.
    let refused: [(&str, Vec<u8>, u64); 2] = [
        (
            "only the header 00 10 00 01, announcing 1048577 bytes (the maximum + 1)",
            vec![0x00, 0x10, 0x00, 0x01],
            MAX_FRAME + 1,
        ),
        (
            "the header 01 00 00 05, announcing 16777221 bytes (16 MiB + 5: the top byte counts), and 5 bytes `hello`",
            b"\x01\x00\x00\x05hello".to_vec(),
            0x0100_0005,
        ),
    ];
    for (what, bytes, announced) in refused {
        let mut client = ctx.connect(addr)?;
        ctx.step(format!("{} sends {what}, and keeps its connection open", client.name));
        let reported = program.stderr().lines().count();
        client.send(&bytes)?;
        expect_end(
            ctx,
            &mut client,
            &format!("after a header announced {announced} bytes (more than the maximum of {MAX_FRAME})"),
        )
        .map_err(|f| {
            f.hint(format!(
                "Refuse a length above the maximum as soon as the header has arrived: the length is the whole header, u32::from_be_bytes, so {} is {announced}.",
                transcript::escape(&bytes[..4])
            ))
        })?;
        expect_report(
            ctx,
            &mut program,
            reported,
            &format!("{} announced {announced} bytes", client.name),
            client.local,
            Some(announced),
        )?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The loops, in-process, through the probe (grader/probes/e02.rs).

fn run_probe(ctx: &mut Ctx, mode: &str) -> Outcome {
    ctx.step(format!(
        "the grader compiled its checks (grader/probes/e02.rs) together with your src/frame.rs and runs them: {mode}"
    ));
    let mut probe = ctx.spawn_bin(PROBE_ROLE, &[mode], &[])?;
    let Some(status) = probe.wait_exit(10 * S) else {
        // The probe prints `check: ...` before each check; the last one is where it hangs.
        let last = probe
            .stdout_lines()
            .iter()
            .rev()
            .find_map(|l| l.strip_prefix("check: ").map(str::to_string))
            .unwrap_or_default();
        return Err(Failure::new(format!("your code did not return within 10 s during the check: {last}")).hint(
            "Look for a loop that never ends in the code this check calls, for example one that keeps calling read after it returned 0, or write after it accepted 0 bytes.",
        ));
    };
    if status.success() {
        return Ok(());
    }
    if let Some(panic) = probe.panic() {
        return Err(Failure::new(format!("your code panicked during the check: {}", panic.message)).with_panic(Some(panic)));
    }
    let summary =
        stdout_line(&mut probe, "FAIL: ").unwrap_or_else(|| format!("the checks ended with {}", crate::process::describe_status(status)));
    let mut failure = Failure::new(summary);
    if let Some(hint) = stdout_line(&mut probe, "hint: ") {
        failure = failure.hint(hint);
    }
    Err(failure)
}

/// The first line the program printed that starts with `prefix`, without it.
fn stdout_line(program: &mut Program, prefix: &str) -> Option<String> {
    program
        .stdout_lines()
        .iter()
        .find_map(|l| l.strip_prefix(prefix).map(str::to_string))
}

fn read_loop_in_process(ctx: &mut Ctx) -> Outcome {
    run_probe(ctx, "read-loop")
}

fn write_loop_in_process(ctx: &mut Ctx) -> Outcome {
    run_probe(ctx, "write-loop")
}

fn read_frame_max_in_process(ctx: &mut Ctx) -> Outcome {
    run_probe(ctx, "max")
}

#[cfg(test)]
mod tests {
    use super::names_number;

    #[test]
    fn a_report_names_the_length_in_any_accepted_form() {
        for line in [
            "client 127.0.0.1:51236: a frame of 1048577 bytes is larger than the maximum of 1048576",
            "client 127.0.0.1:51236: too big (1 048 577 > 1 048 576)",
            "client 127.0.0.1:51236: frame of 1,048,577 bytes refused",
            "client 127.0.0.1:51236: length 1_048_577",
            "client 127.0.0.1:51236: length 0x100001",
            "client 127.0.0.1:51236: length 0X100001 too big",
            // Grouping must not glue the number to the port before it.
            "client 127.0.0.1:51236 1048577",
        ] {
            assert!(names_number(line, 1_048_577), "{line}");
        }
        for line in [
            "client 127.0.0.1:51236: the frame is larger than the maximum of 1048576",
            "client 127.0.0.1:51236: a frame of 10485770 bytes",
            "client 127.0.0.1:51236: 0x1000010",
        ] {
            assert!(!names_number(line, 1_048_577), "{line}");
        }
    }
}

// In-process checks for exercise 02, compiled by the grader together with the
// learner's src/frame.rs (see grader/src/extras.rs) into `<package>-functions`.
//
// probe-module: frame
//
// Usage: `<package>-functions read-loop|write-loop|max`. Each check prints
// `check: ...` before it starts (so a hang shows where), `ok: ...` when it
// passes, and `FAIL: ...` followed by details when it does not, then the
// program exits with status 1. A `todo!()` in the learner's code panics as
// usual, which the grader reads as "not started".

use crate::under_test::frame::{read_frame, read_full, write_frame, write_full};
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

pub fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("read-loop") => read_loop(),
        Some("write-loop") => write_loop(),
        Some("max") => max(),
        other => {
            eprintln!("usage: read-loop | write-loop | max (got {other:?})");
            std::process::exit(2);
        }
    }
}

/// The largest single allocation made while `TRACKING` is on, so a check can
/// tell whether a function allocated what an untrusted header announced.
struct Counting;

static TRACKING: AtomicBool = AtomicBool::new(false);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn note(size: usize) {
    if TRACKING.load(Ordering::Relaxed) {
        LARGEST.fetch_max(size, Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// How many more calls to `read` the contract accepts after one returned 0
/// (the end of the stream): one, from a program that makes sure.
const READS_AFTER_END_ACCEPTED: usize = 1;

/// A reader that hands out one byte per call and fails with `Interrupted`
/// (EINTR, as when a signal arrives) before every other byte, then reports
/// the end of the stream (0 bytes) forever, counting the calls after the
/// first 0: the contract allows at most one.
struct Trickle {
    data: Vec<u8>,
    at: usize,
    calls: usize,
    reads_after_end: usize,
}

impl Trickle {
    fn new(data: &[u8]) -> Trickle {
        Trickle {
            data: data.to_vec(),
            at: 0,
            calls: 0,
            reads_after_end: 0,
        }
    }
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.calls += 1;
        if self.at == self.data.len() {
            self.reads_after_end += 1;
            if self.reads_after_end > 1 + READS_AFTER_END_ACCEPTED {
                fail(
                    &format!(
                        "read was called {} times after it had returned 0 bytes (the end of the stream); at most {READS_AFTER_END_ACCEPTED} more call is accepted",
                        self.reads_after_end - 1
                    ),
                    "0 bytes means the peer closed: nothing more will ever come, so stop reading (return UnexpectedEof, or Ok(None) between frames)",
                );
            }
            return Ok(0);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        if self.calls % 2 == 1 {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "a signal interrupted read (EINTR)"));
        }
        buf[0] = self.data[self.at];
        self.at += 1;
        Ok(1)
    }
}

/// A writer that accepts at most one byte per call and fails with
/// `Interrupted` before every other byte; or, with `accepts_nothing`, that
/// accepts 0 bytes forever (a writer that can take no more).
struct Stingy {
    written: Vec<u8>,
    calls: usize,
    accepts_nothing: bool,
}

impl Stingy {
    fn new() -> Stingy {
        Stingy {
            written: Vec::new(),
            calls: 0,
            accepts_nothing: false,
        }
    }
}

impl Write for Stingy {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.calls += 1;
        if self.accepts_nothing {
            if self.calls > 1000 {
                fail(
                    "write_full called write more than 1000 times although every call accepted 0 bytes",
                    "a write that accepts 0 bytes will never accept more: return an error of kind WriteZero",
                );
            }
            return Ok(0);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        if self.calls % 2 == 1 {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "a signal interrupted write (EINTR)"));
        }
        self.written.push(buf[0]);
        Ok(1)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A reader or writer that moves the bytes of `data` one per call, then
/// fails with `kind` (an error that is not `Interrupted`) on every call,
/// counting them: an error other than EINTR does not go away, so retrying it
/// loops for ever. More than 1000 calls ends the check.
struct Broken {
    data: Vec<u8>,
    at: usize,
    moved: Vec<u8>,
    calls: usize,
    kind: io::ErrorKind,
}

impl Broken {
    fn new(data: &[u8], kind: io::ErrorKind) -> Broken {
        Broken {
            data: data.to_vec(),
            at: 0,
            moved: Vec::new(),
            calls: 0,
            kind,
        }
    }

    fn next(&mut self, what: &str) -> io::Result<()> {
        self.calls += 1;
        if self.calls > 1000 {
            fail(
                &format!(
                    "{what} was called more than 1000 times although every call after the first {} failed with {:?}",
                    self.data.len(),
                    self.kind
                ),
                "only Interrupted (EINTR) means \"call again\"; any other error is final: return it",
            );
        }
        if self.at < self.data.len() {
            self.at += 1;
            return Ok(());
        }
        Err(io::Error::new(self.kind, format!("{:?}, as the kernel reports a connection that failed", self.kind)))
    }
}

impl Read for Broken {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.next("read")?;
        buf[0] = self.data[self.at - 1];
        Ok(1)
    }
}

impl Write for Broken {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.next("write")?;
        self.moved.push(buf[0]);
        Ok(1)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn read_loop() {
    let text = b"hello, partial world";
    check("read_full fills 20 bytes from a reader that returns one byte per read and Interrupted (EINTR) before every other byte");
    let mut r = Trickle::new(text);
    let mut buf = [0u8; 20];
    match read_full(&mut r, &mut buf) {
        Ok(()) if &buf == text => ok(&format!("read_full returned {} after {} calls to read", show(&buf), r.calls)),
        Ok(()) => fail(
            &format!("read_full returned Ok, but the buffer holds {}, not {}", show(&buf), show(text)),
            "keep the bytes earlier reads returned: read into the part of buf still empty (&mut buf[filled..])",
        ),
        Err(e) => fail_err("read_full returned an error", &e),
    }

    check("read_full asked for 10 bytes from a reader that has 4 and then reports the end (read returns 0)");
    let mut r = Trickle::new(b"abcd");
    let mut buf = [0u8; 10];
    match read_full(&mut r, &mut buf) {
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => ok(&format!("read_full returned UnexpectedEof: {e}")),
        Err(e) => fail_err("read_full should return ErrorKind::UnexpectedEof when the peer closes early", &e),
        Ok(()) => fail(
            &format!(
                "read_full returned Ok although only 4 of 10 bytes arrived; the buffer holds {}",
                show(&buf)
            ),
            "a 0-byte read before buf is full means the message was cut off: return an error of kind UnexpectedEof, not a shorter message",
        ),
    }

    let mut stream = Vec::new();
    for payload in [&b"hi"[..], b"", &[7u8; 300]] {
        stream.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        stream.extend_from_slice(payload);
    }
    check(
        "read_frame reads frames of 2, 0 and 300 bytes (lengths big-endian: 00 00 01 2c is 300) from the same trickling reader, then None at the end",
    );
    let mut r = Trickle::new(&stream);
    for expected in [&b"hi"[..], b"", &[7u8; 300]] {
        match read_frame(&mut r, 1 << 20) {
            Ok(Some(payload)) if payload == expected => {}
            Ok(Some(payload)) => fail(
                &format!(
                    "read_frame returned a payload of {} bytes, {}, where {} was sent",
                    payload.len(),
                    show(&payload),
                    show(expected)
                ),
                "the length is 4 bytes, big-endian (u32::from_be_bytes); the payload is exactly that many bytes after it",
            ),
            Ok(None) => fail(
                &format!(
                    "read_frame returned None (the peer closed) before the frame {} was read",
                    show(expected)
                ),
                "return None only when read returns 0 before the first byte of a header",
            ),
            Err(e) => fail_err(&format!("read_frame failed on the frame {}", show(expected)), &e),
        }
    }
    match read_frame(&mut r, 1 << 20) {
        Ok(None) => ok("read_frame returned the three payloads, then None when the stream ended between frames"),
        Ok(Some(p)) => fail(
            &format!(
                "after the last frame the stream ended, but read_frame returned a frame of {} bytes {}",
                p.len(),
                show(&p)
            ),
            "a 0-byte read before a header is the peer closing, not an empty frame: return Ok(None)",
        ),
        Err(e) => fail_err("the stream ended cleanly between frames, but read_frame returned an error", &e),
    }

    for (what, bytes) in [
        ("in the middle of a header (2 of its 4 bytes)", &b"\x00\x00"[..]),
        ("in the middle of a payload (4 of 10 bytes)", b"\x00\x00\x00\x0aabcd"),
    ] {
        check(&format!("read_frame on a stream that ends {what}"));
        let mut r = Trickle::new(bytes);
        match read_frame(&mut r, 1 << 20) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => ok(&format!("read_frame returned UnexpectedEof: {e}")),
            Err(e) => fail_err("read_frame should report a close inside a frame as ErrorKind::UnexpectedEof", &e),
            Ok(None) => fail(
                &format!("the stream ended {what}, but read_frame returned None, as for a clean close"),
                "a close after the first byte of a header cuts a frame in two: that is an error (UnexpectedEof)",
            ),
            Ok(Some(p)) => fail(
                &format!("the stream ended {what}, but read_frame returned a frame {}", show(&p)),
                "a frame cut off by a close is not a frame: return an error of kind UnexpectedEof",
            ),
        }
    }

    check("read_full asked for 10 bytes from a reader that returns 2 bytes, then fails with ConnectionReset on every call");
    let mut r = Broken::new(b"ab", io::ErrorKind::ConnectionReset);
    let mut buf = [0u8; 10];
    match read_full(&mut r, &mut buf) {
        Err(e) => ok(&format!("read_full returned the error ({:?}: {e})", e.kind())),
        Ok(()) => fail(
            &format!(
                "read_full returned Ok although the reader failed with ConnectionReset after 2 of 10 bytes; the buffer holds {}",
                show(&buf)
            ),
            "an error other than Interrupted ends the read: return it (the ? operator does)",
        ),
    }

    check("read_frame on a reader that fails with ConnectionReset on every call, from the first");
    let mut r = Broken::new(b"", io::ErrorKind::ConnectionReset);
    match read_frame(&mut r, 1 << 20) {
        Err(e) => ok(&format!("read_frame returned the error ({:?}: {e})", e.kind())),
        Ok(None) => fail(
            "read_frame returned None (a clean close) although the reader failed with ConnectionReset",
            "None means read returned 0 before a header; a failed read is an error: return it",
        ),
        Ok(Some(p)) => fail(
            &format!("read_frame returned a frame {} although every read failed", show(&p)),
            "an error other than Interrupted ends the read: return it",
        ),
    }
}

/// `read_frame` and its `max` argument: exactly `max` is a frame, one byte
/// more is refused, the whole 4-byte header counts, and a refused length is
/// never allocated.
fn max() {
    for (max, len, accept) in [(16usize, 16usize, true), (16, 17, false), (0, 0, true), (0, 1, false)] {
        let payload: Vec<u8> = (0..len as u8).map(|i| b'a' + i % 26).collect();
        let mut stream = (len as u32).to_be_bytes().to_vec();
        stream.extend_from_slice(&payload);
        let header = show(&stream[..4]);
        check(&format!(
            "read_frame with max = {max} on a frame of {len} bytes (header {header}, then the {len} bytes)"
        ));
        let mut r = Trickle::new(&stream);
        match (read_frame(&mut r, max), accept) {
            (Ok(Some(p)), true) if p == payload => ok(&format!("read_frame returned the {len}-byte payload")),
            (Err(e), false) if e.kind() == io::ErrorKind::InvalidData => {
                ok(&format!("read_frame refused it with InvalidData: {e}"))
            }
            (Err(e), true) => fail_err(
                &format!("a frame of exactly max = {max} bytes is allowed, but read_frame returned an error"),
                &e,
            ),
            (Err(e), false) => fail_err(
                &format!("read_frame should refuse a frame of {len} bytes, above max = {max}, with ErrorKind::InvalidData"),
                &e,
            ),
            (Ok(Some(p)), true) => fail(
                &format!("read_frame returned {}, where {} was sent", show(&p), show(&payload)),
                "the payload is exactly the bytes after the header, as many as it announces",
            ),
            (Ok(Some(p)), false) => fail(
                &format!(
                    "read_frame returned a frame of {} bytes although max = {max}",
                    p.len()
                ),
                "compare the length with the max argument (not with MAX_FRAME) and refuse it when it is larger: `len > max`",
            ),
            (Ok(None), _) => fail(
                "read_frame returned None (the peer closed) although a whole frame was there",
                "return None only when read returns 0 before the first byte of a header",
            ),
        }
    }

    check("read_frame with max = 1048576 on the header 01 00 00 05 (16777221 bytes: the top byte counts), then 5 bytes");
    let mut r = Trickle::new(b"\x01\x00\x00\x05hello");
    match read_frame(&mut r, 1 << 20) {
        Err(e) if e.kind() == io::ErrorKind::InvalidData => ok(&format!("read_frame refused it: {e}")),
        Err(e) => fail_err("read_frame should refuse a frame of 16777221 bytes with ErrorKind::InvalidData", &e),
        Ok(Some(p)) => fail(
            &format!("read_frame returned a frame of {} bytes, {}, for the header 01 00 00 05", p.len(), show(&p)),
            "the length is all four header bytes, most significant first: u32::from_be_bytes(header) makes 01 00 00 05 16777221",
        ),
        Ok(None) => fail(
            "read_frame returned None (the peer closed) although a header had arrived",
            "return None only when read returns 0 before the first byte of a header",
        ),
    }

    check("read_frame with max = 1024 on a header announcing 4294967040 bytes (ff ff ff 00)");
    let mut r = Trickle::new(b"\xff\xff\xff\x00");
    LARGEST.store(0, Ordering::Relaxed);
    TRACKING.store(true, Ordering::Relaxed);
    let result = read_frame(&mut r, 1024);
    TRACKING.store(false, Ordering::Relaxed);
    let largest = LARGEST.load(Ordering::Relaxed);
    if largest >= 1 << 20 {
        fail(
            &format!("read_frame allocated {largest} bytes in one piece for a frame whose limit is 1024 bytes"),
            "compare the length with max before allocating: the header is untrusted input",
        );
    }
    match result {
        Err(e) if e.kind() == io::ErrorKind::InvalidData => ok(&format!("read_frame rejected it without allocating it: {e}")),
        Err(e) => fail_err("read_frame should reject a frame above max with ErrorKind::InvalidData", &e),
        Ok(r) => fail(
            &format!("read_frame returned {:?} for a frame above the maximum", r.map(|p| p.len())),
            "return an error of kind InvalidData when the length is above max",
        ),
    }
}

fn write_loop() {
    let text = b"hello, partial world";
    check("write_full writes 20 bytes to a writer that accepts one byte per write and returns Interrupted (EINTR) before every other byte");
    let mut w = Stingy::new();
    match write_full(&mut w, text) {
        Ok(()) if w.written == text => ok(&format!("write_full wrote {} in {} calls to write", show(&w.written), w.calls)),
        Ok(()) => fail(
            &format!(
                "write_full returned Ok, but the writer received {}, not {}",
                show(&w.written),
                show(text)
            ),
            "write returns how many bytes it accepted; write the rest (&buf[n..]) until nothing is left",
        ),
        Err(e) => fail_err("write_full returned an error", &e),
    }

    check("write_frame writes frames of 3 and 300 bytes to the same writer");
    let mut w = Stingy::new();
    let big = [9u8; 300];
    let result = write_frame(&mut w, b"abc").and_then(|()| write_frame(&mut w, &big));
    let mut expected = b"\x00\x00\x00\x03abc\x00\x00\x01\x2c".to_vec();
    expected.extend_from_slice(&big);
    match result {
        Ok(()) if w.written == expected => ok(&format!("write_frame wrote {}", show(&w.written))),
        Ok(()) => fail(
            &format!("write_frame wrote {}, expected {}", show(&w.written), show(&expected)),
            "a frame is the payload's length as a big-endian u32 (len.to_be_bytes()), then the payload",
        ),
        Err(e) => fail_err("write_frame returned an error", &e),
    }

    check("write_full on a writer that accepts 0 bytes on every call");
    let mut w = Stingy::new();
    w.accepts_nothing = true;
    match write_full(&mut w, text) {
        Err(e) if e.kind() == io::ErrorKind::WriteZero => ok(&format!("write_full returned WriteZero: {e}")),
        Err(e) => ok(&format!(
            "write_full returned an error ({:?}: {e}); WriteZero is the usual kind",
            e.kind()
        )),
        Ok(()) => fail(
            "write_full returned Ok although the writer accepted none of the 20 bytes",
            "when write returns Ok(0), return an error of kind WriteZero",
        ),
    }

    check("write_full of 20 bytes to a writer that accepts 3 bytes, then fails with BrokenPipe on every call");
    let mut w = Broken::new(b"123", io::ErrorKind::BrokenPipe);
    match write_full(&mut w, text) {
        Err(e) => ok(&format!("write_full returned the error ({:?}: {e})", e.kind())),
        Ok(()) => fail(
            &format!(
                "write_full returned Ok although the writer failed with BrokenPipe after accepting {}",
                show(&w.moved)
            ),
            "an error other than Interrupted means the bytes will never go: return it (the ? operator does), do not report success",
        ),
    }
}

fn check(what: &str) {
    println!("check: {what}");
}

fn ok(what: &str) {
    println!("ok: {what}");
}

fn fail(what: &str, hint: &str) -> ! {
    println!("FAIL: {what}");
    println!("hint: {hint}");
    std::process::exit(1);
}

fn fail_err(what: &str, e: &io::Error) -> ! {
    let hint = match e.kind() {
        io::ErrorKind::Interrupted => {
            "Interrupted (EINTR) means a signal arrived before any byte moved; nothing was lost, so call read/write again"
        }
        io::ErrorKind::UnexpectedEof => "UnexpectedEof is only for a stream that ends before the bytes you need",
        _ => "see the chapter's section on this check",
    };
    fail(&format!("{what}: {:?}: {e}", e.kind()), hint)
}

/// Bytes as a quoted string, non-printable ones escaped, long ones elided.
fn show(bytes: &[u8]) -> String {
    let escape = |b: &[u8]| -> String { b.iter().flat_map(|&c| std::ascii::escape_default(c)).map(char::from).collect() };
    if bytes.len() > 40 {
        format!(
            "\"{}\" ... ({} bytes in all) ... \"{}\"",
            escape(&bytes[..24]),
            bytes.len(),
            escape(&bytes[bytes.len() - 8..])
        )
    } else {
        format!("\"{}\"", escape(bytes))
    }
}

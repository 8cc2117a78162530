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
//! big-endian order ("network byte order"), then that many bytes of payload:
//!
//! ```text
//! +----+----+----+----+----+----+----+----+----+
//! | 00 | 00 | 00 | 05 |  h |  e |  l |  l |  o |
//! +----+----+----+----+----+----+----+----+----+
//!  length (u32, big-endian)   payload (5 bytes)
//! ```
//!
//! Write the four functions below without `read_exact` or `write_all`
//! (clippy.toml forbids them here): the point is to see the loops they hide.
//! Keep this module to `std` only: the grader compiles it on its own to call
//! these functions directly, with readers and writers that misbehave on purpose.

// Until you write them, the functions below leave their arguments and the
// imports unused. Delete this line once you are done.
#![allow(unused_variables, unused_imports, unused_mut, dead_code)]

use std::io::{self, Read, Write};

/// The size of a frame's header: the payload's length as a big-endian `u32`.
pub const HEADER_LEN: usize = 4;

/// The largest payload the server accepts: 1 MiB.
pub const MAX_FRAME: usize = 1 << 20;

/// Fills all of `buf` from `reader`, however many reads that takes.
pub fn read_full<R: Read + ?Sized>(reader: &mut R, buf: &mut [u8]) -> io::Result<()> {
    // TODO: Call read until every byte of buf is filled, keeping what earlier
    // reads returned. Retry when read fails with ErrorKind::Interrupted. If a
    // read returns 0 bytes (the peer closed) before buf is full, return an
    // error of kind ErrorKind::UnexpectedEof.
    todo!()
}

/// Writes all of `buf` to `writer`, however many writes that takes.
pub fn write_full<W: Write + ?Sized>(writer: &mut W, buf: &[u8]) -> io::Result<()> {
    // TODO: Call write until every byte of buf has been accepted, retrying
    // ErrorKind::Interrupted. If write accepts 0 bytes, return an error of
    // kind ErrorKind::WriteZero.
    todo!()
}

/// Reads one frame and returns its payload, or `None` if the peer closed
/// the connection cleanly *between* frames.
pub fn read_frame<R: Read + ?Sized>(reader: &mut R, max: usize) -> io::Result<Option<Vec<u8>>> {
    // TODO: Read the 4-byte header and the payload it announces. A close
    // before the header's first byte returns Ok(None); a close anywhere after
    // it is ErrorKind::UnexpectedEof. Reject a length above max (a frame of
    // exactly max bytes is fine) with ErrorKind::InvalidData, whose message
    // names the length, before allocating anything for the payload.
    todo!()
}

/// Writes one frame: the payload's length, big-endian, then the payload.
pub fn write_frame<W: Write + ?Sized>(writer: &mut W, payload: &[u8]) -> io::Result<()> {
    // TODO: Write the payload's length as a big-endian u32, then the payload,
    // both with write_full.
    todo!()
}

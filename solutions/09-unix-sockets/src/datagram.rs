//! The datagram server: `SOCK_DGRAM` over a Unix socket keeps message
//! boundaries, as UDP does, but unlike UDP it is reliable and ordered (the
//! kernel hands the bytes from one process to another; nothing is lost on
//! the way, and a sender whose receiver's queue is full waits).
//!
//! There is no connection, so each `recv_from` says who sent the datagram:
//! the sender's *own* bound address. A client that wants an answer must bind
//! a path of its own first; a socket that never bound one sends from no
//! address at all, and there is nowhere to reply to.

use crate::lifecycle;
use socket2::Type;
use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::Path;

/// The largest datagram the server answers, in bytes.
pub const MAX_DATAGRAM: usize = 65_536;

/// Binds `path` as a datagram socket and answers each datagram with one
/// datagram of the same bytes, sent to the sender's address.
pub fn serve(path: &Path) -> io::Result<()> {
    let socket = lifecycle::bind_path(path, Type::DGRAM)?;
    // A datagram socket receives from the moment it is bound, so a sender
    // quick enough could use the looser mode for an instant; a real server
    // would set the umask (or bind in a private folder) instead.
    lifecycle::make_private(path)?;
    let socket = UnixDatagram::from(std::os::fd::OwnedFd::from(socket));
    lifecycle::remove_on_exit(path)?;
    println!("listening on {}", path.display());
    // One byte more than the largest datagram would tell a too-long one
    // (recv_from cuts a datagram to the buffer, silently); exactly the
    // largest is enough to answer every datagram whole.
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        // Zero bytes is a datagram too (an empty one), not the end of
        // anything: a datagram socket has no end of stream.
        let (n, from) = socket.recv_from(&mut buf)?;
        if from.is_unnamed() {
            eprintln!("a datagram of {n} bytes from an unbound socket: no address to answer");
            continue;
        }
        // The reply can fail without it being our fault (the sender closed
        // or removed its socket: ECONNREFUSED, ENOENT): drop it and go on.
        if let Err(e) = socket.send_to_addr(&buf[..n], &from) {
            eprintln!("cannot answer {from:?}: {e}");
        }
    }
}

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
    // TODO: Receive datagrams of up to MAX_DATAGRAM bytes in a loop and
    // answer each with one datagram of the same bytes, sent to the sender's
    // address. A sender with no address cannot be answered: skip it. A reply
    // that cannot be sent is not the server's failure: print it, go on.
    todo!()
}

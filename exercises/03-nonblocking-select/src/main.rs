//! Exercise 03: non-blocking sockets and poll. A chat room served by one thread.
//!
//! Exercise 01 gave every client a thread, because `read` *blocks*: it waits
//! until the client sends something, and a thread that waits can do nothing
//! else. A thousand clients cost a thousand threads, each with its own stack.
//!
//! This server turns that around. Every socket is put in *non-blocking* mode
//! (`fcntl(fd, F_SETFL, O_NONBLOCK)`), so `accept`, `read` and `write` never
//! wait: when there is nothing to do they fail at once with `EAGAIN`
//! (`ErrorKind::WouldBlock`), and a `write` to a full send buffer takes only
//! what fits. The one thread waits in a single place instead, `poll(2)`,
//! which sleeps until at least one socket of the whole set is *ready* (has
//! data, a new connection, room to write, or an error) and says which. This
//! is the event loop of nginx, Redis and Node.js.
//!
//! The protocol, a chat room:
//! - on connecting, a client gets `hello <client address>\n`; from then on it
//!   is in the room;
//! - each line a client sends (bytes up to and including `\n`, any bytes but
//!   `\n` allowed in it) is delivered to every *other* client in the room as
//!   `<sender address>: <line>`, for example `127.0.0.1:50412: hi all\n`;
//! - the sender does not get its own line back;
//! - when a client leaves, the complete lines it sent are still delivered,
//!   also those that arrive in the same read as its end of file; a last line
//!   without `\n` is dropped;
//! - one client's error (a reset, a failed write) ends that client, and a
//!   failed `accept` (out of descriptors: EMFILE) ends nothing: the room goes on.
//!
//! The chapter's "The contract" lists every promise the grader checks.
//!
//! Usage: `nonblocking-select [ADDRESS]` (default `127.0.0.1:7878`). Once
//! listening, print exactly one line `listening on <address>`.
//!
//! Check your work with `cargo xtask check 03`; read docs/src/03-nonblocking-select.md.

// Until you write them, the functions below leave their arguments, the
// imports and some helpers unused. Delete this line once you are done.
#![allow(unused_variables, unused_imports, unused_mut, dead_code, clippy::ptr_arg)]

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::process;

fn main() {
    let addr = match std::env::args().nth(1).as_deref().unwrap_or("127.0.0.1:7878").parse::<SocketAddr>() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("error: the address must look like 127.0.0.1:7878 or [::1]:7878 ({e})");
            process::exit(2);
        }
    };
    // std's bind does socket, SO_REUSEADDR, bind and listen in one call
    // (exercise 01 did them one by one).
    let listener = match TcpListener::bind(addr) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("error: cannot bind {addr}: {e}");
            process::exit(1);
        }
    };
    match listener.local_addr() {
        Ok(bound) => println!("listening on {bound}"),
        Err(e) => {
            eprintln!("error: cannot read the bound address: {e}");
            process::exit(1);
        }
    }
    if let Err(e) = serve(listener) {
        eprintln!("error: {e}");
        process::exit(1);
    }
}

/// The most bytes read from one client in one round of the loop.
const READ_PER_ROUND: usize = 64 * 1024;

/// One member of the chat room.
///
/// A non-blocking server cannot wait for a client to finish anything, so
/// everything a client is in the middle of lives here between events: the
/// start of a line whose end has not arrived yet, and the bytes the kernel
/// would not take yet.
struct Client {
    stream: TcpStream,
    peer: SocketAddr,
    /// Bytes received after the last `\n`: the start of a line whose rest is
    /// still on its way (TCP delivers a byte stream, not messages).
    inbox: Vec<u8>,
    /// Bytes for this client that its socket's send buffer had no room for.
    /// A slow reader's share piles up here instead of holding up the loop.
    /// (A real server would cap it and disconnect a client that never reads.)
    outbox: VecDeque<u8>,
    /// The client left or failed; it is dropped, which closes its socket, at
    /// the end of the current round.
    closed: bool,
}

/// Runs the event loop forever, on this one thread.
///
/// Each round: wait in `poll` until something is ready, accept every waiting
/// connection, read from every readable client, deliver the complete lines,
/// write what is queued, and drop the clients that left.
fn serve(listener: TcpListener) -> io::Result<()> {
    // TODO: Put the listener in non-blocking mode, then loop forever: wait for
    // events, accept new connections, read from the readable clients, deliver
    // each complete line to the others, write queued output, and drop the
    // clients that left. Everything happens on this one thread.
    todo!()
}

/// Sleeps in `poll(2)` until the listener or a client is ready.
///
/// Returns whether connections are waiting on the listener, and for each
/// client, in the order of `clients`, whether a read will not block (data,
/// end of file or an error is waiting).
///
/// `poll` takes a list of (descriptor, events of interest) and fills in the
/// events that happened. Every client is watched for POLLIN (readable); only
/// a client with queued output is watched for POLLOUT too, because an idle
/// socket's send buffer always has room: asking for POLLOUT there would wake
/// the loop at once, every time, and turn it into a busy loop. POLLHUP and
/// POLLERR are always reported; a read then returns 0 or the error.
fn wait_for_events(listener: &TcpListener, clients: &[Client]) -> io::Result<(bool, Vec<bool>)> {
    // TODO: Call poll(2) on the listener (POLLIN) and every client (POLLIN, and
    // POLLOUT only while its outbox is not empty), sleeping until something is
    // ready. Return whether the listener is readable and, per client, whether
    // it reported POLLIN, POLLHUP or POLLERR. Treat EINTR as "nothing ready".
    todo!()
}

/// Accepts every connection waiting in the listener's queue.
///
/// One POLLIN on a listener may stand for many finished handshakes, so
/// accept until it says WouldBlock (the queue is empty).
fn accept_all(listener: &TcpListener, clients: &mut Vec<Client>) {
    // TODO: Accept connections until accept says WouldBlock. Put each new
    // socket in non-blocking mode, queue its greeting `hello <peer>\n`, and add
    // it to clients. A failed accept should be reported, not end the server.
    todo!()
}

impl Client {
    /// Reads what has arrived into `inbox`, until the kernel says WouldBlock
    /// or `READ_PER_ROUND` bytes came.
    ///
    /// WouldBlock is not an error: it means "nothing more for now". Reading
    /// until it comes is the habit that edge-triggered `epoll` requires. The
    /// cap keeps a client that sends faster than we read from holding the
    /// loop forever; poll reports its socket again next round.
    fn read_available(&mut self) -> io::Result<()> {
        // TODO: Read into inbox until the socket says WouldBlock or
        // READ_PER_ROUND bytes came. A read of 0 bytes means the client left:
        // mark it closed. Retry Interrupted; return any other error.
        todo!()
    }

    /// Adds bytes to this client's outbox; `flush` sends them.
    fn queue(&mut self, bytes: &[u8]) {
        self.outbox.extend(bytes);
    }

    /// Writes as much of the outbox as the socket takes, keeping the rest.
    ///
    /// A non-blocking `write` copies what fits in the socket's send buffer and
    /// returns how many bytes that was, possibly fewer than offered; when the
    /// buffer is full it fails with WouldBlock. Either way the unsent bytes
    /// must stay queued, in order, for the next time poll says POLLOUT.
    fn flush(&mut self) -> io::Result<()> {
        // TODO: Write from the front of the outbox until it is empty or the
        // socket says WouldBlock, removing exactly the bytes each write accepted.
        // Retry Interrupted; return any other error.
        todo!()
    }
}

/// Takes every complete line (up to and including its `\n`) off the front of
/// `inbox`, leaving an incomplete last line there for the next read.
///
/// One read may hold half a line, or several lines and the start of another:
/// TCP keeps the order of bytes, not the boundaries of the sender's writes.
fn take_lines(inbox: &mut Vec<u8>) -> Vec<Vec<u8>> {
    // TODO: Split every complete line (ending in \n, which it keeps) off the
    // front of inbox and return them in order; leave an incomplete last line
    // in inbox.
    todo!()
}

/// Queues `<sender address>: <line>` for every client except the sender.
///
/// Nothing is written here: a slow reader's bytes wait in its outbox, so one
/// client that does not read never holds up the others.
fn broadcast(clients: &mut [Client], from: usize, line: &[u8]) {
    // TODO: Queue `<sender address>: <line>` for every client except the
    // sender and those already closed.
    todo!()
}

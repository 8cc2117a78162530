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
    // Non-blocking accept: when no connection is waiting, accept fails with
    // WouldBlock instead of putting the whole server to sleep.
    listener.set_nonblocking(true)?;
    let mut clients: Vec<Client> = Vec::new();
    loop {
        let (new_connections, readable) = wait_for_events(&listener, &clients)?;
        if new_connections {
            accept_all(&listener, &mut clients);
        }
        // Read first and deliver afterwards: delivering touches other
        // clients' outboxes, which cannot be borrowed while one client is.
        let mut lines: Vec<(usize, Vec<u8>)> = Vec::new();
        for (i, client) in clients.iter_mut().enumerate() {
            // Clients accepted in this round have no entry in `readable` yet.
            if !readable.get(i).copied().unwrap_or(false) {
                continue;
            }
            if let Err(e) = client.read_available() {
                eprintln!("client {}: {e}", client.peer);
                client.closed = true;
            }
            for line in take_lines(&mut client.inbox) {
                lines.push((i, line));
            }
        }
        for (from, line) in lines {
            broadcast(&mut clients, from, &line);
        }
        // Write whatever is queued now rather than waiting for the next
        // round's POLLOUT: usually the send buffer has room and the bytes go
        // out at once. What does not fit stays queued, and `wait_for_events`
        // then asks to be woken when the socket becomes writable.
        for client in clients.iter_mut().filter(|c| !c.closed && !c.outbox.is_empty()) {
            if let Err(e) = client.flush() {
                eprintln!("client {}: {e}", client.peer);
                client.closed = true;
            }
        }
        // Dropping a Client drops its TcpStream, which close(2)s the socket
        // and takes it out of the next round's watch set.
        clients.retain(|c| !c.closed);
    }
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
    let mut fds = Vec::with_capacity(clients.len() + 1);
    fds.push(PollFd::new(listener.as_fd(), PollFlags::POLLIN));
    for client in clients {
        let mut events = PollFlags::POLLIN;
        if !client.outbox.is_empty() {
            events |= PollFlags::POLLOUT;
        }
        fds.push(PollFd::new(client.stream.as_fd(), events));
    }
    // PollTimeout::NONE: sleep as long as nothing happens. The process uses
    // no CPU at all while it waits here.
    match poll(&mut fds, PollTimeout::NONE) {
        Ok(_) => {}
        // A signal arrived while we slept: nothing is ready, go round again.
        Err(Errno::EINTR) => return Ok((false, vec![false; clients.len()])),
        Err(e) => return Err(e.into()),
    }
    let happened = |fd: &PollFd| fd.revents().unwrap_or(PollFlags::empty());
    let new_connections = happened(&fds[0]).contains(PollFlags::POLLIN);
    // POLLOUT needs no answer here: after reading, the loop tries to flush
    // every client with queued output anyway.
    let readable = fds[1..]
        .iter()
        .map(|fd| happened(fd).intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR))
        .collect();
    Ok((new_connections, readable))
}

/// Accepts every connection waiting in the listener's queue.
///
/// One POLLIN on a listener may stand for many finished handshakes, so
/// accept until it says WouldBlock (the queue is empty).
fn accept_all(listener: &TcpListener, clients: &mut Vec<Client>) {
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                // The accepted socket does not inherit O_NONBLOCK on Linux:
                // set it, or the first read with nothing to read would stop
                // the whole room.
                if let Err(e) = stream.set_nonblocking(true) {
                    eprintln!("client {peer}: {e}");
                    continue;
                }
                let mut client = Client {
                    stream,
                    peer,
                    inbox: Vec::new(),
                    outbox: VecDeque::new(),
                    closed: false,
                };
                client.queue(format!("hello {peer}\n").as_bytes());
                clients.push(client);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // For example EMFILE (out of file descriptors) or a connection
            // reset before we accepted it: report it and leave the rest of the
            // queue for the next round. (A real server would also stop
            // watching the listener for a moment, since poll keeps reporting
            // it ready while EMFILE lasts.)
            Err(e) => {
                eprintln!("accept failed: {e}");
                return;
            }
        }
    }
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
        let mut buf = [0u8; 16 * 1024];
        let mut taken = 0;
        while taken < READ_PER_ROUND {
            match self.stream.read(&mut buf) {
                // End of file: the client closed its side (FIN).
                Ok(0) => {
                    self.closed = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.inbox.extend_from_slice(&buf[..n]);
                    taken += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // ConnectionReset (the client's RST) and other errors end this
                // client, not the server: the caller marks it closed.
                Err(e) => return Err(e),
            }
        }
        Ok(())
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
        while !self.outbox.is_empty() {
            let (front, _) = self.outbox.as_slices();
            match self.stream.write(front) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "the connection accepted no more bytes")),
                Ok(n) => {
                    self.outbox.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // BrokenPipe or ConnectionReset: the client is gone. (Rust
                // ignores SIGPIPE, so this is an error, not a dead server.)
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Takes every complete line (up to and including its `\n`) off the front of
/// `inbox`, leaving an incomplete last line there for the next read.
///
/// One read may hold half a line, or several lines and the start of another:
/// TCP keeps the order of bytes, not the boundaries of the sender's writes.
fn take_lines(inbox: &mut Vec<u8>) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    let mut start = 0;
    while let Some(len) = inbox[start..].iter().position(|&b| b == b'\n') {
        let end = start + len + 1;
        lines.push(inbox[start..end].to_vec());
        start = end;
    }
    // Remove the taken lines in one go: removing them one by one would move
    // the rest of a large inbox once per line.
    inbox.drain(..start);
    lines
}

/// Queues `<sender address>: <line>` for every client except the sender.
///
/// Nothing is written here: a slow reader's bytes wait in its outbox, so one
/// client that does not read never holds up the others.
fn broadcast(clients: &mut [Client], from: usize, line: &[u8]) {
    let mut message = format!("{}: ", clients[from].peer).into_bytes();
    message.extend_from_slice(line);
    for (i, client) in clients.iter_mut().enumerate() {
        if i != from && !client.closed {
            client.queue(&message);
        }
    }
}

//! Exercise 01: bind, listen, accept. A TCP echo server, one thread per client.
//!
//! A server's life has six steps, each a system call:
//!
//! 1. `socket()` creates an endpoint that is not yet attached to any address;
//! 2. `bind()` attaches it to a local IP address and port (port 0 asks the
//!    kernel to choose a free one);
//! 3. `listen(backlog)` turns it into a *listening* socket: the kernel now
//!    completes TCP handshakes on its own and queues up to `backlog` finished
//!    connections until the program accepts them;
//! 4. `accept()` takes one connection off that queue and returns a *new*
//!    socket for it; the listening socket keeps listening;
//! 5. `send()`/`recv()` (Rust's `write`/`read`) exchange bytes on the new socket;
//! 6. `close()` (Rust: dropping the `TcpStream`) ends the connection and frees
//!    its file descriptor.
//!
//! The protocol: for each client, send the line `hello <client address>\n`,
//! then echo back every byte the client sends until it closes its side, then
//! close. Usage: `bind-listen-accept [ADDRESS]` (default `127.0.0.1:7878`).
//! Once listening, print exactly one line `listening on <address>` with the
//! address the kernel actually bound.

use socket2::{Domain, Protocol, Socket, Type};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process;
use std::thread;
use std::time::Duration;

/// How many finished handshakes the kernel may queue before we accept them.
/// Linux caps it at `/proc/sys/net/core/somaxconn` (4096 on recent kernels).
const BACKLOG: i32 = 128;

fn main() {
    let addr = match std::env::args().nth(1).as_deref().unwrap_or("127.0.0.1:7878").parse::<SocketAddr>() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("error: the address must look like 127.0.0.1:7878 or [::1]:7878 ({e})");
            process::exit(2);
        }
    };
    let listener = match bind_listener(addr) {
        Ok(listener) => listener,
        Err(e) => {
            // Report the error once, with its cause, and exit non-zero: a
            // panic's backtrace would bury the one line that matters.
            eprintln!("error: {e}");
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
    serve(listener);
}

/// Creates a listening socket on `addr`, one system call per step.
///
/// `SO_REUSEADDR` matters when the server restarts: the connections of the
/// previous run that it closed first linger in TIME_WAIT for up to a minute
/// (so that late packets of the old connection are not mistaken for a new
/// one), and without this option `bind` refuses the port with EADDRINUSE until
/// they expire. The option does *not* let two live listeners share a port.
/// (std's `TcpListener::bind` sets it silently; building the socket by hand
/// shows the step.)
fn bind_listener(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into()).map_err(|e| name_address(e, addr))?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// Adds the address to an error, keeping its kind, so that the message says
/// *which* address was taken.
fn name_address(e: io::Error, addr: SocketAddr) -> io::Error {
    io::Error::new(e.kind(), format!("cannot bind {addr}: {e}"))
}

/// Accepts clients forever, each on its own thread.
///
/// A thread per client is the simplest way to keep one slow client from
/// holding up the others: while one thread waits in `read`, this loop is
/// already back in `accept`. It costs one thread (and its stack) per
/// connection; exercise 03 serves every client from a single thread instead.
fn serve(listener: TcpListener) {
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                thread::spawn(move || {
                    if let Err(e) = handle_client(stream, peer) {
                        eprintln!("client {peer}: {e}");
                    }
                });
            }
            // A failed accept is about this moment, not about the listening
            // socket: EMFILE ("Too many open files") means every descriptor
            // this process may have is in use, and clears as soon as a client
            // leaves. Report it and go on. Until then every accept fails at
            // once, so pause briefly instead of spinning (a real server backs
            // off further, as Go's net/http does, up to a second).
            Err(e) => {
                eprintln!("accept failed: {e}");
                thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// Greets one client, then echoes until it closes its side.
///
/// `stream` is closed when it is dropped at the end of this function, on
/// every path, including the error ones: that is what returns its file
/// descriptor to the system.
fn handle_client(mut stream: TcpStream, peer: SocketAddr) -> io::Result<()> {
    write_full(&mut stream, format!("hello {peer}\n").as_bytes())?;
    let mut buf = [0u8; 16 * 1024];
    loop {
        // `read` returns what has arrived, at most buf.len() bytes, and waits
        // only when nothing has: never assume it fills the buffer.
        let n = match stream.read(&mut buf) {
            // 0 bytes means the client closed its sending side (a FIN arrived):
            // nothing more will ever come.
            Ok(0) => return Ok(()),
            Ok(n) => n,
            // A signal interrupted the call before any data arrived: retry.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // Any other error (ECONNRESET: the client reset the connection)
            // is final: return it, which drops and so closes the stream.
            Err(e) => return Err(e),
        };
        write_full(&mut stream, &buf[..n])?;
    }
}

/// Writes all of `buf`, looping because `write` may accept only part of it.
///
/// `write` returns how many bytes the kernel copied into the socket's send
/// buffer; the rest is still ours to send. This is what `Write::write_all`
/// and Python's `sendall` do, written out so the loop is visible.
fn write_full(stream: &mut TcpStream, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match stream.write(buf) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "the connection accepted no more bytes")),
            Ok(n) => buf = &buf[n..],
            // EINTR: a signal arrived before anything was sent. Nothing is
            // wrong with the connection; send the same bytes again.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // Anything else (ECONNRESET, EPIPE: the client is gone) will fail
            // the same way every time: retrying would spin forever.
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

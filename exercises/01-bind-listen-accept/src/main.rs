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
//!
//! Check your work with `cargo xtask check 01`; read docs/src/01-bind-listen-accept.md.

// Until you write them, the functions below leave their arguments, the
// imports and some helpers unused. Delete this line once you are done.
#![allow(unused_variables, unused_imports, unused_mut, dead_code)]

use socket2::{Domain, Protocol, Socket, Type};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process;
use std::thread;

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
fn bind_listener(addr: SocketAddr) -> io::Result<TcpListener> {
    // TODO: Create a TCP socket for addr's family with socket2, turn on
    // SO_REUSEADDR, bind it to addr, listen with BACKLOG, and return it as a
    // std TcpListener. If bind fails, return an error whose message names addr.
    todo!()
}

/// Accepts clients forever, each on its own thread.
fn serve(listener: TcpListener) {
    // TODO: Accept connections in a loop and serve each one with
    // handle_client on a new thread, so that one client never waits for
    // another. A failed accept should be reported, not end the server.
    todo!()
}

/// Greets one client, then echoes until it closes its side.
fn handle_client(mut stream: TcpStream, peer: SocketAddr) -> io::Result<()> {
    // TODO: Send `hello <peer>\n`, then read what the client sends and write
    // it back as soon as it arrives, until a read returns 0 bytes (the client
    // closed its side). A read that fails with ErrorKind::Interrupted (a
    // signal arrived) is made again. If a read or write fails otherwise,
    // return the error: it ends this client only. Returning drops the
    // stream, which closes the socket.
    todo!()
}

/// Writes all of `buf`, looping because `write` may accept only part of it.
fn write_full(stream: &mut TcpStream, buf: &[u8]) -> io::Result<()> {
    // TODO: Call write until every byte of buf has been accepted, retrying
    // when it fails with ErrorKind::Interrupted and returning any other
    // error. Do not use write_all: the point is to see the loop it hides.
    todo!()
}

//! Exercise 09: a local service over Unix domain sockets.
//!
//! Two programs on one machine can talk through the kernel without TCP/IP: a
//! *Unix domain socket* (`AF_UNIX`) has a path in the file system as its
//! address instead of an IP address and a port. Docker, systemd, PostgreSQL
//! and X11 serve their local clients this way. The socket file is the
//! address: who may connect is decided by the file's permissions, and the
//! server can ask the kernel which user is at the other end (`SO_PEERCRED`),
//! something no TCP server can know.
//!
//! The file is also a burden TCP does not have: it stays after the server
//! that bound it dies. It is the `AF_UNIX` counterpart of a port left in
//! TIME_WAIT, and `SO_REUSEADDR` does not help: the next `bind` fails with
//! `EADDRINUSE` until someone removes the file.
//!
//! This crate is one program with two modes:
//!
//! - `unix-sockets serve PATH`: a stream server (`SOCK_STREAM`) at PATH that
//!   takes over a stale socket file, refuses to steal a live one, keeps its
//!   file private (mode 0600), refuses clients of other users, echoes each
//!   line, and removes its file when stopped with SIGTERM or SIGINT;
//! - `unix-sockets dgram PATH`: a datagram server (`SOCK_DGRAM`) at PATH that
//!   answers each datagram with one datagram holding the same bytes.
//!
//! Check your work with `cargo xtask check 09`; read docs/src/09-unix-sockets.md.

mod datagram;
mod lifecycle;
mod peer;
mod stream;

use std::path::PathBuf;
use std::process;

const USAGE: &str = "usage: unix-sockets serve PATH
       unix-sockets dgram PATH";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, path) = match args.as_slice() {
        [mode, path] if mode == "serve" || mode == "dgram" => (mode.as_str(), PathBuf::from(path)),
        _ => {
            eprintln!("error: expected a mode (`serve` or `dgram`) and a socket path\n{USAGE}");
            process::exit(2);
        }
    };
    let result = match mode {
        "serve" => stream::serve(&path),
        _ => datagram::serve(&path),
    };
    if let Err(e) = result {
        // Report the error once, with its cause, and exit non-zero.
        eprintln!("error: {e}");
        process::exit(1);
    }
}

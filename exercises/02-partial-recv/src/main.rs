//! Exercise 02: partial reads and writes. A server that answers frames.
//!
//! The protocol: a client sends *frames*, each a 4-byte big-endian length
//! followed by that many bytes of payload (see `frame.rs`). For every frame
//! the server sends back one frame whose payload is the same bytes in
//! reverse order, in the order the frames came. When the client closes its
//! side between two frames, the server closes the connection. A client that
//! closes in the middle of a frame, or announces a frame above `MAX_FRAME`,
//! has its connection dropped and the reason printed on stderr, in one line
//! naming the client's address (and, for a frame above `MAX_FRAME`, the
//! length it announced); other clients are not affected. The chapter's
//! "The contract" lists exactly what the grader checks.
//!
//! Check your work with `cargo xtask check 02`; read docs/src/02-partial-recv.md.
//!
//! Usage: `partial-recv [ADDRESS]` (default `127.0.0.1:7878`). Once
//! listening, the server prints exactly one line `listening on <address>`.

// Until you write handle_client, some imports are unused. Delete this line
// once you are done.
#![allow(unused_imports, unused_variables)]

mod frame;

use frame::{MAX_FRAME, read_frame, write_frame};
use std::io::{self, BufReader, BufWriter, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process;
use std::thread;

fn main() {
    let addr = match std::env::args().nth(1).as_deref().unwrap_or("127.0.0.1:7878").parse::<SocketAddr>() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("error: the address must look like 127.0.0.1:7878 or [::1]:7878 ({e})");
            process::exit(2);
        }
    };
    // Exercise 01 built the listener step by step; std's bind does the same
    // steps (socket, SO_REUSEADDR, bind, listen) in one call.
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
    serve(listener);
}

/// Accepts clients forever, each on its own thread (as in exercise 01).
fn serve(listener: TcpListener) {
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                thread::spawn(move || {
                    // One client's broken frame ends that client's
                    // connection, never the server: report it and go on.
                    if let Err(e) = handle_client(stream) {
                        eprintln!("client {peer}: {e}");
                    }
                });
            }
            Err(e) => eprintln!("accept failed: {e}"),
        }
    }
}

/// Answers one client's frames until it closes its side between two frames.
fn handle_client(stream: TcpStream) -> io::Result<()> {
    // TODO: Read frames with read_frame (at most MAX_FRAME bytes each) until
    // it returns None, and answer each with write_frame: a frame holding the
    // payload's bytes in reverse order. Write the replies through a
    // std::io::BufWriter, and make sure every reply actually leaves before
    // you wait for the next frame.
    todo!()
}

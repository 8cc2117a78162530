//! The server: an echo of lines that notices clients that vanished.
//!
//! Each client is served on its own thread, blocked in `read` most of the
//! time. With keepalive on, the kernel probes an idle client; when the
//! probes go unanswered, that `read` fails with `ETIMEDOUT` and the thread
//! ends, closing the socket. Without keepalive the thread and its socket
//! would wait for a client that will never speak again.

use crate::keepalive::{self, Settings};
use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;

/// Listens on `addr` and serves every client on its own thread.
pub fn run(addr: SocketAddr, settings: Settings) -> io::Result<()> {
    let listener = TcpListener::bind(addr).map_err(|e| io::Error::new(e.kind(), format!("cannot bind {addr}: {e}")))?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                let settings = settings.clone();
                thread::spawn(move || match handle_client(stream, &settings) {
                    Ok(()) => println!("{peer} closed the connection"),
                    Err(e) => println!("{peer} is gone: {e}"),
                });
            }
            Err(e) => eprintln!("accept failed: {e}"),
        }
    }
}

/// Turns keepalive on for one client, then echoes its lines until it closes
/// the connection or the connection fails. Returning closes the socket.
fn handle_client(stream: TcpStream, settings: &Settings) -> io::Result<()> {
    // TODO: Turn keepalive on for this client's socket, then read lines and
    // write each one back until a read returns 0 bytes (the client closed)
    // or fails (return the error: the caller prints it and the socket closes).
    todo!()
}

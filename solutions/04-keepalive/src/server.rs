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
    // On Linux an accepted socket would also inherit keepalive settings
    // made on the listening socket; setting them here, per connection, is
    // portable and says what we mean.
    keepalive::enable(&stream, settings)?;
    // Two handles to one socket: a buffered reader to read whole lines,
    // and the stream itself to write.
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    let mut line = Vec::new();
    loop {
        line.clear();
        // A read returning 0 bytes is the client's orderly close (its FIN).
        // A vanished client makes this read fail with ETIMEDOUT once the
        // keepalive probes went unanswered; `?` then ends the thread.
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        writer.write_all(&line)?;
    }
}

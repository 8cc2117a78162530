//! The client: many requests over one connection (connection reuse).
//!
//! Opening a TCP connection costs a round trip (the handshake) before the
//! first byte of a request can travel, so clients keep one connection open
//! and send request after request over it. HTTP calls that "keep-alive",
//! which has nothing to do with TCP keepalive except the name.
//!
//! Reuse has a price: the server may close a connection that was idle
//! between two requests. The client learns it only when it uses the
//! connection again: its write still succeeds (the kernel accepts the bytes
//! before anyone knows they cannot be delivered), then its read returns 0
//! bytes (the server's FIN) or fails with `ECONNRESET` (the server's kernel
//! answered our late bytes with an RST). The request got no answer; it is
//! sent again, once, on a new connection. Requests here are safe to repeat;
//! a real client retries only requests that are (idempotent ones).
//!
//! A server that *vanished* is different: it will not answer a new
//! connection either, and keepalive reports it with `ETIMEDOUT`. Retrying
//! would hang on `connect`, so the client reports it and exits.

use crate::keepalive::{self, Settings};
use std::io::{self, BufRead, BufReader, ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

/// How long to wait for the server to accept a new connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends every request over one connection and prints each reply.
pub fn run(addr: SocketAddr, settings: Settings, pause: Duration, requests: &[String]) -> io::Result<()> {
    let mut connection = Connection::open(addr, &settings)?;
    for (i, request) in requests.iter().enumerate() {
        if i > 0 {
            // Think time between requests; the server may close an idle connection meanwhile.
            thread::sleep(pause);
        }
        let reply = connection.request(request)?;
        println!("{reply}");
    }
    Ok(())
}

/// One connection to the server, with keepalive on.
struct Connection {
    addr: SocketAddr,
    settings: Settings,
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Connection {
    /// Connects to `addr` and turns keepalive on for the new socket.
    fn open(addr: SocketAddr, settings: &Settings) -> io::Result<Connection> {
        // TODO: Connect to addr within CONNECT_TIMEOUT (an error should name
        // addr), turn keepalive on for the new socket, and keep a buffered
        // reader and a writer for it.
        todo!()
    }

    /// Sends `request` and returns the reply. If the server closed the
    /// connection instead of answering, reconnects and sends it once more.
    fn request(&mut self, request: &str) -> io::Result<String> {
        // TODO: Try the exchange. If it failed because the server closed the
        // connection (see closed_by_server), open a new connection and try
        // exactly once more. If that fails too, return an error whose message
        // starts with `no answer to REQUEST` (main prints `error: ` before
        // it); return any other failure as it is.
        todo!()
    }

    /// One attempt: writes the request line and reads one reply line.
    fn exchange(&mut self, request: &str) -> io::Result<String> {
        // TODO: Write the request as one line, then read one reply line and
        // return it without its newline. A read of 0 bytes is not an empty
        // reply: return an error of kind UnexpectedEof. A read that timed out
        // (keepalive's ETIMEDOUT) means the server vanished: return an error
        // whose message starts with `server vanished`.
        todo!()
    }
}

/// Whether `e` means the server closed the connection (so a new one may work).
fn closed_by_server(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset | ErrorKind::BrokenPipe | ErrorKind::ConnectionAborted
    )
}

//! One connection: request after request until someone closes it.
//!
//! This loop *is* HTTP keep-alive: read a request, answer it completely,
//! and go round again on the same socket. The connection ends when the
//! client closes it, when a request says `Connection: close` (or is HTTP/1.0
//! without `keep-alive`), after an error response (the bytes that follow a
//! malformed request cannot be trusted to start a new one), or when nothing
//! arrives for the idle timeout: an idle persistent connection holds a
//! thread and a socket, so a server bounds how long it waits.

use crate::Config;
use crate::files;
use crate::request::{self, ReadError, Request, Version};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

/// Serves one connection until it ends. Errors end only this connection.
pub fn serve(stream: TcpStream, config: &Config) {
    let _ = serve_requests(stream, config);
}

/// Reads and answers requests on one connection until it ends.
///
/// The idle timeout is the socket's read timeout (`SO_RCVTIMEO`, set with
/// `set_read_timeout`): a read that waits longer fails with `WouldBlock`,
/// and every read that returns bytes starts the wait again. A response often
/// leaves in two writes (the head, then the body); without `TCP_NODELAY`,
/// Nagle's algorithm and the client's delayed ACK hold the second one for up
/// to 40 ms, on every request of a persistent connection.
fn serve_requests(stream: TcpStream, config: &Config) -> io::Result<()> {
    // TODO: Set the read timeout (the idle timeout) and TCP_NODELAY. Wrap
    // the stream in one BufReader and one BufWriter for the whole connection,
    // then loop: read a request (Gone: return; Reject: send the error and
    // close_after_error), skip its body, answer it, and stop after a
    // response whose request did not keep the connection alive.
    todo!()
}

/// The reason phrase of each status this server sends (clients ignore it;
/// people read it).
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        413 => "Content Too Large",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        _ => "Error",
    }
}

/// The status line and header lines, each ending in CRLF, and the empty
/// line. `Content-Length` frames the body, so the client knows where this
/// response ends and the next begins without the connection closing.
fn head(status: u16, version: Version, keep_alive: bool, content_type: &str, length: u64) -> String {
    // TODO: `HTTP/1.1 STATUS REASON`, Content-Length, Content-Type, and
    // `Connection: close` when the connection will close (`keep-alive` to an
    // HTTP/1.0 client that asked for it), each line ending in \r\n, then an
    // empty line.
    todo!()
}

/// A 200 response with the file's bytes (only the head for HEAD), flushed
/// before the next request is read, so responses leave in order.
fn send_file(
    writer: &mut BufWriter<TcpStream>,
    path: &std::path::Path,
    request: &Request,
    keep_alive: bool,
    head_only: bool,
) -> io::Result<()> {
    // TODO: Open the file, write the head with its length, then (not for
    // HEAD) its bytes, and flush.
    todo!()
}

/// An error response with a short text body, framed like any other.
fn send_error(writer: &mut BufWriter<TcpStream>, status: u16, version: Version, keep_alive: bool, head_only: bool) -> io::Result<()> {
    // TODO: A short text body such as `404 Not Found\n`, framed by its
    // Content-Length (no body for HEAD), then flush.
    todo!()
}

/// Closes after an error response without losing it. Closing a socket with
/// unread bytes in its receive queue makes the kernel send an RST instead
/// of a FIN, and a client may then lose the response it has not read yet
/// ("the TCP reset problem", RFC 9112 §9.6). So: FIN first (shutdown of our
/// sending side), then read and discard what the client still sends, for a
/// moment, before closing.
fn close_after_error(stream: &TcpStream) -> io::Result<()> {
    // TODO: shutdown(Shutdown::Write), then read and discard for a moment
    // (a short read timeout) before returning, which closes the socket.
    todo!()
}

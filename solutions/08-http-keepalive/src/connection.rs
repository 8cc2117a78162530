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

fn serve_requests(stream: TcpStream, config: &Config) -> io::Result<()> {
    // The idle timeout is the socket's read timeout (SO_RCVTIMEO): a read
    // that waits longer fails with WouldBlock, and the connection is closed.
    // Each read that returns bytes starts the wait again, so a connection in
    // use is never closed, and an idle one is closed after `idle`.
    stream.set_read_timeout(Some(config.idle))?;
    // One reader for the whole connection: bytes of the next (pipelined)
    // request read along with this one stay in its buffer.
    let mut reader = BufReader::new(stream.try_clone()?);
    // A response often leaves in two writes: the head, then the body (std's
    // io::copy from a file to a socket flushes the head and sends the body
    // with sendfile(2)). Nagle's algorithm holds the second small write
    // until the first is acknowledged, and the client delays that ACK by up
    // to 40 ms: on a persistent connection, every response would wait.
    // TCP_NODELAY turns Nagle off for this socket.
    stream.set_nodelay(true)?;
    let mut writer = BufWriter::with_capacity(64 * 1024, stream.try_clone()?);
    loop {
        let request = match request::read_request(&mut reader) {
            Ok(request) => request,
            // Closed, reset, or idle too long: nothing to answer.
            Err(ReadError::Gone) => return Ok(()),
            Err(ReadError::Reject(status)) => {
                send_error(&mut writer, status, Version::Http11, false, false)?;
                return close_after_error(&stream);
            }
        };
        // A body we do not need is still read, to find where the next
        // request starts.
        if request.content_length > 0 {
            let skipped = io::copy(&mut (&mut reader).take(request.content_length), &mut io::sink())?;
            if skipped < request.content_length {
                return Ok(());
            }
        }
        let keep_alive = request.keep_alive();
        let head_only = request.method == "HEAD";
        match files::resolve(&config.root, &request.target) {
            Ok(path) => send_file(&mut writer, &path, &request, keep_alive, head_only)?,
            Err(400) => {
                send_error(&mut writer, 400, request.version, false, head_only)?;
                return close_after_error(&stream);
            }
            Err(status) => send_error(&mut writer, status, request.version, keep_alive, head_only)?,
        }
        if !keep_alive {
            // Everything is sent: FIN, and the client reads to the end.
            let _ = stream.shutdown(Shutdown::Write);
            return Ok(());
        }
    }
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
    let connection = match (keep_alive, version) {
        (false, _) => "Connection: close\r\n",
        // An HTTP/1.0 client assumes a close unless told otherwise.
        (true, Version::Http10) => "Connection: keep-alive\r\n",
        (true, Version::Http11) => "",
    };
    format!(
        "HTTP/1.1 {status} {}\r\nContent-Length: {length}\r\nContent-Type: {content_type}\r\n{connection}\r\n",
        reason(status)
    )
}

fn send_file(
    writer: &mut BufWriter<TcpStream>,
    path: &std::path::Path,
    request: &Request,
    keep_alive: bool,
    head_only: bool,
) -> io::Result<()> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(_) => return send_error(writer, 404, request.version, keep_alive, head_only),
    };
    let length = file.metadata()?.len();
    writer.write_all(head(200, request.version, keep_alive, files::content_type(path), length).as_bytes())?;
    if !head_only {
        // HEAD: the same head as GET, Content-Length included, no body.
        let copied = io::copy(&mut (&mut file).take(length), writer)?;
        if copied < length {
            // The file shrank while we sent it: the framing is broken, and
            // only closing the connection tells the client so.
            writer.flush()?;
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank"));
        }
    }
    // Each response leaves completely before the next request is read, so
    // pipelined requests are answered in order.
    writer.flush()
}

fn send_error(writer: &mut BufWriter<TcpStream>, status: u16, version: Version, keep_alive: bool, head_only: bool) -> io::Result<()> {
    let body = format!("{status} {}\n", reason(status));
    writer.write_all(head(status, version, keep_alive, "text/plain; charset=utf-8", body.len() as u64).as_bytes())?;
    if !head_only {
        writer.write_all(body.as_bytes())?;
    }
    writer.flush()
}

/// Closes after an error response without losing it. Closing a socket with
/// unread bytes in its receive queue makes the kernel send an RST instead
/// of a FIN, and a client may then lose the response it has not read yet
/// ("the TCP reset problem", RFC 9112 §9.6). So: FIN first (shutdown of our
/// sending side), then read and discard what the client still sends, for a
/// moment, before closing.
fn close_after_error(stream: &TcpStream) -> io::Result<()> {
    let _ = stream.shutdown(Shutdown::Write);
    stream.set_read_timeout(Some(Duration::from_millis(500)))?;
    let mut sink = [0u8; 16 * 1024];
    let mut drained = 0;
    let mut reader = stream;
    while drained < 1024 * 1024 {
        match reader.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
    Ok(())
}

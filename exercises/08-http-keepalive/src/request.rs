//! Reading one request off a connection, with every size bounded.
//!
//! TCP delivers bytes, not requests: a request may come in many pieces (even
//! a byte at a time), and one read may hold the end of one request and the
//! start of the next (a client *pipelining* several). So the connection is
//! read through one `BufReader` that lives as long as the connection: bytes
//! read past the end of this request stay in its buffer for the next one.
//!
//! A request's head is
//!
//! ```text
//! GET /index.html HTTP/1.1\r\n       request line: method, target, version
//! Host: example.org\r\n              header lines: name, colon, value
//! Connection: close\r\n
//! \r\n                               an empty line ends the head
//! ```
//!
//! and a body follows only if `Content-Length` (or `Transfer-Encoding`)
//! announces one. Every size is bounded before it is read, so that no client
//! can make the server buffer without end: a line longer than its limit is
//! refused as soon as the limit is passed, not after it ends.

use std::io::{self, BufRead};

/// The longest request line accepted, without its line ending (RFC 9112
/// §3: "at least 8000 octets" is recommended); longer is 414 URI Too Long.
pub const MAX_REQUEST_LINE: usize = 8192;
/// The longest header section accepted: the header lines, each counted with
/// its line ending, not the request line nor the empty line that ends the
/// head; longer is 431 Request Header Fields Too Large.
pub const MAX_HEADER_SECTION: usize = 8192;
/// The largest body (`Content-Length`) accepted; larger is 413 Content Too
/// Large, sent without reading the body.
pub const MAX_BODY: u64 = 16384;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Http10,
    Http11,
}

/// A request head that parsed and is within every limit.
#[derive(Debug)]
pub struct Request {
    pub method: String,
    pub target: String,
    pub version: Version,
    /// Header fields in arrival order, names lowercased (field names are
    /// case-insensitive, RFC 9110 §5.1), values without surrounding spaces.
    pub headers: Vec<(String, String)>,
    /// The body's length from `Content-Length` (0 without one).
    pub content_length: u64,
}

impl Request {
    /// Whether a header named `name` (lowercase) lists `token`, compared
    /// without regard to case: `Connection: Keep-Alive, Upgrade`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        // TODO: Look at every header named `name` (names are stored
        // lowercase), split its value at commas, and compare each trimmed
        // item with `token` ignoring case.
        todo!()
    }

    /// Whether the connection stays open after the response (RFC 9112
    /// §9.3): HTTP/1.1 is persistent unless the client says
    /// `Connection: close`; HTTP/1.0 closes unless it says
    /// `Connection: keep-alive`.
    pub fn keep_alive(&self) -> bool {
        // TODO: HTTP/1.1 keeps the connection unless `Connection` lists
        // `close`; HTTP/1.0 closes it unless `Connection` lists `keep-alive`.
        todo!()
    }
}

/// Why no request could be read.
#[derive(Debug)]
pub enum ReadError {
    /// The client closed the connection, reset it, or sent nothing for the
    /// idle timeout (the socket's read timeout): nothing to answer, close.
    Gone,
    /// The request is malformed, too large or unsupported: answer with this
    /// status, then close (where the next request would start is unknown).
    Reject(u16),
}

impl From<io::Error> for ReadError {
    fn from(_: io::Error) -> ReadError {
        // WouldBlock/TimedOut (the idle timeout passed), ConnectionReset, ...:
        // all mean this connection is over.
        ReadError::Gone
    }
}

/// One line read by [`read_line`].
enum Line {
    /// The line without its ending, and how many bytes it took with it.
    Complete { text: Vec<u8>, size: usize },
    /// Longer than the limit (found out as soon as the limit was passed).
    TooLong,
    /// The connection ended; `partial` when part of a line had arrived.
    End,
}

/// Reads one line ending in `\n` (CRLF, or a bare LF, which RFC 9112 §2.2
/// allows a recipient to accept), of at most `max` bytes without its ending.
fn read_line(reader: &mut impl BufRead, max: usize) -> io::Result<Line> {
    // TODO: Take bytes from reader.fill_buf() (then reader.consume(n)) up
    // to and including the first `\n`. Strip the `\n` and a `\r` before it.
    // Return Line::TooLong as soon as more than max bytes (max + 1 with a
    // possible `\r`) arrived without a `\n`, and Line::End on a 0-byte read.
    todo!()
}

/// Reads the next request's head from the connection. Bytes after the head
/// (a body, the next request) stay in `reader`.
pub fn read_request(reader: &mut impl BufRead) -> Result<Request, ReadError> {
    // TODO: Read the request line (414 if too long, Gone at the end of the
    // stream) and parse it; read header lines until an empty one, adding
    // each one's size to the header section's total (431 past the limit);
    // then check Host, Content-Length, Transfer-Encoding and the method,
    // in the order the contract gives the statuses.
    todo!()
}

/// `token` characters (RFC 9110 §5.6.2): what a method or a field name is made of.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `METHOD SP TARGET SP HTTP/d.d`, single spaces, nothing else.
fn parse_request_line(line: &[u8]) -> Option<(String, String, Version)> {
    // TODO: Three parts separated by single spaces: a method of tchars, a
    // target starting with `/`, and `HTTP/1.0` or `HTTP/1.x`.
    todo!()
}

/// `name: value`, spaces and tabs around the value ignored; no space
/// before the colon (RFC 9112 §5.1 requires a 400), no line folding.
fn parse_header(line: &[u8]) -> Option<(String, String)> {
    // TODO: Split at the first `:`; the name must be tchars only (no space
    // before the colon); trim spaces and tabs around the value; lowercase
    // the name.
    todo!()
}

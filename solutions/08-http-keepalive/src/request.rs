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
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// Whether the connection stays open after the response (RFC 9112
    /// §9.3): HTTP/1.1 is persistent unless the client says
    /// `Connection: close`; HTTP/1.0 closes unless it says
    /// `Connection: keep-alive`.
    pub fn keep_alive(&self) -> bool {
        match self.version {
            Version::Http11 => !self.has_token("connection", "close"),
            Version::Http10 => self.has_token("connection", "keep-alive"),
        }
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
    let mut line = Vec::new();
    loop {
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            // A signal interrupted the read: nothing happened, read again.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            // read returned 0: the client closed its side (FIN).
            return Ok(Line::End);
        }
        let (take, found) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        line.extend_from_slice(&buf[..take]);
        reader.consume(take);
        if found {
            let size = line.len();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if line.len() > max {
                return Ok(Line::TooLong);
            }
            return Ok(Line::Complete { text: line, size });
        }
        // Without its ending a line of `max` bytes may still be followed by
        // its `\r`; more than that cannot end in time.
        if line.len() > max + 1 {
            return Ok(Line::TooLong);
        }
    }
}

/// Reads the next request's head from the connection. Bytes after the head
/// (a body, the next request) stay in `reader`.
pub fn read_request(reader: &mut impl BufRead) -> Result<Request, ReadError> {
    // The request line. Empty lines before it are ignored (RFC 9112 §2.2).
    let line = loop {
        match read_line(reader, MAX_REQUEST_LINE)? {
            Line::Complete { text, .. } if text.is_empty() => continue,
            Line::Complete { text, .. } => break text,
            Line::TooLong => return Err(ReadError::Reject(414)),
            Line::End => return Err(ReadError::Gone),
        }
    };
    let (method, target, version) = parse_request_line(&line).ok_or(ReadError::Reject(400))?;

    // The header lines, up to the empty line, within one budget of bytes.
    let mut headers = Vec::new();
    let mut section = 0;
    loop {
        let line = match read_line(reader, MAX_HEADER_SECTION)? {
            Line::Complete { text, .. } if text.is_empty() => break,
            Line::Complete { text, size } => {
                section += size;
                text
            }
            Line::TooLong => return Err(ReadError::Reject(431)),
            Line::End => return Err(ReadError::Gone),
        };
        if section > MAX_HEADER_SECTION {
            return Err(ReadError::Reject(431));
        }
        headers.push(parse_header(&line).ok_or(ReadError::Reject(400))?);
    }

    let count = |name: &str| headers.iter().filter(|(n, _)| n == name).count();
    // HTTP/1.1 requires exactly one Host (RFC 9112 §3.2: a server MUST
    // answer 400 to a request without one, or with more than one).
    if version == Version::Http11 && count("host") != 1 {
        return Err(ReadError::Reject(400));
    }
    // Content-Length: digits only; repeated, every copy the same.
    let mut content_length = None;
    for (_, value) in headers.iter().filter(|(n, _)| n == "content-length") {
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ReadError::Reject(400));
        }
        if content_length.is_some_and(|previous: &str| previous != value) {
            return Err(ReadError::Reject(400));
        }
        content_length = Some(value.as_str());
    }
    // A teaching shortcut: RFC 9112 says an HTTP/1.1 server must decode a
    // chunked body; this one refuses every transfer coding (501) instead.
    if count("transfer-encoding") > 0 {
        return Err(ReadError::Reject(501));
    }
    if method != "GET" && method != "HEAD" {
        return Err(ReadError::Reject(501));
    }
    // Digits that do not even fit in a u64 are certainly too large.
    let content_length = match content_length {
        None => 0,
        Some(digits) => digits.parse::<u64>().unwrap_or(u64::MAX),
    };
    if content_length > MAX_BODY {
        return Err(ReadError::Reject(413));
    }
    Ok(Request {
        method,
        target,
        version,
        headers,
        content_length,
    })
}

/// `token` characters (RFC 9110 §5.6.2): what a method or a field name is made of.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `METHOD SP TARGET SP HTTP/d.d`, single spaces, nothing else.
fn parse_request_line(line: &[u8]) -> Option<(String, String, Version)> {
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || method.is_empty() || !method.bytes().all(is_tchar) {
        return None;
    }
    // Only the origin form (`/path?query`) is served.
    if !target.starts_with('/') || !target.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let digits = version.strip_prefix("HTTP/")?.as_bytes();
    if digits.len() != 3 || !digits[0].is_ascii_digit() || digits[1] != b'.' || !digits[2].is_ascii_digit() {
        return None;
    }
    // HTTP/1.2 and later minor versions are read as HTTP/1.1; this server
    // speaks no other major version (a real one would answer 505).
    let version = match (digits[0], digits[2]) {
        (b'1', b'0') => Version::Http10,
        (b'1', _) => Version::Http11,
        _ => return None,
    };
    Some((method.to_string(), target.to_string(), version))
}

/// `name: value`, spaces and tabs around the value ignored; no space
/// before the colon (RFC 9112 §5.1 requires a 400), no line folding.
fn parse_header(line: &[u8]) -> Option<(String, String)> {
    let line = std::str::from_utf8(line).ok()?;
    let (name, value) = line.split_once(':')?;
    if name.is_empty() || !name.bytes().all(is_tchar) {
        return None;
    }
    let value = value.trim_matches([' ', '\t']);
    Some((name.to_ascii_lowercase(), value.to_string()))
}

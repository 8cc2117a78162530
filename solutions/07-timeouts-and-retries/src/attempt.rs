//! One attempt: connect, send the request, read one answer line, each step
//! with a limit.
//!
//! Two waits can hang here, and each needs its own timeout:
//!
//! - `connect(2)` waits for the server's SYN-ACK. A server whose machine is
//!   gone never sends one, and the kernel keeps resending the SYN for about
//!   two minutes (`tcp_syn_retries`). `TcpStream::connect_timeout` gives up
//!   sooner, with `ErrorKind::TimedOut`. A server that is up but not
//!   listening on the port answers at once with an RST instead:
//!   `ECONNREFUSED`, `ErrorKind::ConnectionRefused`.
//! - `read(2)` waits for the answer. A server that accepted and then stalls
//!   keeps the connection open and says nothing. `set_read_timeout`
//!   (`SO_RCVTIMEO`) bounds *one* read; a server that sends one byte just
//!   before each read times out would never trip it. So the read timeout here
//!   is a *deadline* for the whole answer line: each read is allowed only the
//!   time that is left.
//!
//! The fetch's total deadline shortens both waits when it is nearer.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The answer `VALUE text`: the text.
    Value(String),
    /// The answer `ERR text`, the whole line: a definite refusal.
    Error(String),
    /// The answer `BUSY`: the server is overloaded right now.
    Busy,
    /// The connection ended before a whole answer line arrived: a read
    /// returned 0 bytes (a FIN) or failed with `ECONNRESET` (an RST), or the
    /// write failed with `EPIPE` or `ECONNRESET`.
    Closed,
    /// `connect` failed with `ECONNREFUSED`: nobody listens on that port.
    Refused,
    /// `connect` did not complete within the connect timeout.
    ConnectTimeout,
    /// The whole answer line did not arrive within the read timeout.
    ReadTimeout,
    /// Any other error, with its description.
    Failed(String),
}

impl Outcome {
    /// The word of the contract's line `attempt K: WORD`.
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Value(_) => "value",
            Outcome::Error(_) => "error",
            Outcome::Busy => "busy",
            Outcome::Closed => "closed",
            Outcome::Refused => "refused",
            Outcome::ConnectTimeout => "connect timeout",
            Outcome::ReadTimeout => "read timeout",
            Outcome::Failed(_) => "failed",
        }
    }

    /// Whether trying again could give a different result.
    pub fn retryable(&self) -> bool {
        match self {
            // A refusal, a timeout, a connection that broke, a busy server:
            // all can pass (the server restarts, the network recovers, the
            // load goes down), so another attempt may succeed.
            Outcome::Busy | Outcome::Closed | Outcome::Refused | Outcome::ConnectTimeout | Outcome::ReadTimeout | Outcome::Failed(_) => {
                true
            }
            // An answer is final: the value, or a definite "no" (an unknown
            // key stays unknown; asking again only adds load).
            Outcome::Value(_) | Outcome::Error(_) => false,
        }
    }
}

/// Makes one attempt to fetch `key` from `addr`: the connect may take
/// `connect_timeout`, the answer line `read_timeout` from the moment the
/// request was sent, and nothing may run past `deadline`.
pub fn attempt(addr: SocketAddr, key: &str, connect_timeout: Duration, read_timeout: Duration, deadline: Instant) -> Outcome {
    let connect_for = connect_timeout.min(deadline.saturating_duration_since(Instant::now()));
    // `connect_timeout` refuses a zero duration (InvalidInput): no time, no attempt.
    if connect_for.is_zero() {
        return Outcome::ConnectTimeout;
    }
    let mut stream = match TcpStream::connect_timeout(&addr, connect_for) {
        Ok(stream) => stream,
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => return Outcome::Refused,
        Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => return Outcome::ConnectTimeout,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    if let Err(e) = stream.write_all(format!("GET {key}\n").as_bytes()) {
        return broken(e);
    }
    // The read timeout is a deadline for the whole line, from now.
    let answer_by = (Instant::now() + read_timeout).min(deadline);
    let mut line = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        if let Some(end) = line.iter().position(|&b| b == b'\n') {
            line.truncate(end);
            break;
        }
        let left = answer_by.saturating_duration_since(Instant::now());
        // `set_read_timeout(Some(0))` is an error in Rust: check first.
        if left.is_zero() {
            return Outcome::ReadTimeout;
        }
        if let Err(e) = stream.set_read_timeout(Some(left)) {
            return Outcome::Failed(e.to_string());
        }
        match stream.read(&mut buf) {
            // 0 bytes is the server's FIN: no answer will come.
            Ok(0) => return Outcome::Closed,
            Ok(n) => line.extend_from_slice(&buf[..n]),
            // A signal interrupted the read: read again.
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // The read's own timeout (EAGAIN on Unix, TimedOut on Windows):
            // the loop checks the time left.
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => return broken(e),
        }
    }
    let line = String::from_utf8_lossy(&line);
    let line = line.strip_suffix('\r').unwrap_or(&line);
    if let Some(text) = line.strip_prefix("VALUE ") {
        Outcome::Value(text.to_string())
    } else if line == "BUSY" {
        Outcome::Busy
    } else {
        Outcome::Error(line.to_string())
    }
}

/// A failed write or read: the connection broke (a reset or a closed pipe),
/// or something else went wrong.
fn broken(e: io::Error) -> Outcome {
    match e.kind() {
        ErrorKind::ConnectionReset | ErrorKind::BrokenPipe | ErrorKind::ConnectionAborted | ErrorKind::UnexpectedEof => Outcome::Closed,
        _ => Outcome::Failed(e.to_string()),
    }
}

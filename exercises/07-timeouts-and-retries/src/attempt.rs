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
        // TODO: Say which outcomes are worth another attempt (they can pass:
        // the server restarts, the network recovers, the load goes down) and
        // which are final (another attempt would get the same answer).
        todo!()
    }
}

/// Makes one attempt to fetch `key` from `addr`: the connect may take
/// `connect_timeout`, the answer line `read_timeout` from the moment the
/// request was sent, and nothing may run past `deadline`.
pub fn attempt(addr: SocketAddr, key: &str, connect_timeout: Duration, read_timeout: Duration, deadline: Instant) -> Outcome {
    // TODO: Connect within connect_timeout (never past deadline), send
    // `GET KEY` as one line, then read until a whole answer line has arrived,
    // within read_timeout counted from the moment the request was sent (the
    // whole line, not each read; never past deadline either). Turn every way
    // this can end into an Outcome: ECONNREFUSED, a connect that timed out,
    // a read of 0 bytes or a reset (see broken), an answer that came too late,
    // and the three answers `VALUE text`, `BUSY` and `ERR text`.
    todo!()
}

/// A failed write or read: the connection broke (a reset or a closed pipe),
/// or something else went wrong.
fn broken(e: io::Error) -> Outcome {
    match e.kind() {
        ErrorKind::ConnectionReset | ErrorKind::BrokenPipe | ErrorKind::ConnectionAborted | ErrorKind::UnexpectedEof => Outcome::Closed,
        _ => Outcome::Failed(e.to_string()),
    }
}

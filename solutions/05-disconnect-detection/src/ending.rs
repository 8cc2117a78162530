//! The ways a connection ends, and the errors that announce them.

use std::io::{self, ErrorKind};

/// How the connection ended, as this side saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The peer finished sending (its FIN: a read returned 0 bytes).
    Closed,
    /// The peer's kernel sent an RST: `ECONNRESET`.
    Reset,
    /// We wrote after the peer had closed and reset: `EPIPE`.
    BrokenPipe,
    /// Nothing came back in time: the heartbeat (or keepalive's `ETIMEDOUT`) gave up.
    TimedOut,
}

impl Ending {
    /// The word printed after `ended: `.
    pub fn word(self) -> &'static str {
        match self {
            Ending::Closed => "closed",
            Ending::Reset => "reset",
            Ending::BrokenPipe => "broken pipe",
            Ending::TimedOut => "timed out",
        }
    }
}

/// The ending an error from `read` or `write` announces, if it announces one.
pub fn classify(err: &io::Error) -> Option<Ending> {
    match err.kind() {
        // RST from the peer: it closed with unread data, set SO_LINGER to 0,
        // or its process died with data still queued for it. Whatever we
        // sent and it had not read is gone. A server must survive this: it
        // is the peer's doing, not a bug here, so never unwrap() it.
        ErrorKind::ConnectionReset => Some(Ending::Reset),
        // EPIPE: writing to a connection that is already gone. A C or Python
        // program would be killed by SIGPIPE unless it ignores the signal or
        // passes MSG_NOSIGNAL; Rust ignores SIGPIPE before main, so we get
        // this error instead.
        ErrorKind::BrokenPipe => Some(Ending::BrokenPipe),
        // ETIMEDOUT: keepalive probes or TCP_USER_TIMEOUT gave up on a peer
        // that stopped answering. (A read timeout is WouldBlock, not this.)
        ErrorKind::TimedOut => Some(Ending::TimedOut),
        _ => None,
    }
}

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
    // TODO: Map the error kinds that end a connection (a reset, a broken
    // pipe, a timeout) to their Ending, and everything else to None.
    todo!()
}

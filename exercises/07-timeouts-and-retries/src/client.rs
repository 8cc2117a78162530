//! The retry loop: attempts, backoff delays, and the limits that end it.
//!
//! Three limits end the loop, whichever comes first: an answer that is final
//! (a value, or a definite refusal that must not be retried), the number of
//! attempts, and the total deadline. The deadline bounds everything: a
//! connect, a read or a backoff delay under way when it passes is cut short,
//! so the caller waits no longer than it asked for, whatever the network does.

use crate::attempt::{self, Outcome};
use crate::backoff;
use crate::{Final, Settings};
use std::thread;
use std::time::Instant;

/// Fetches the value, printing `attempt K: WORD` after each attempt.
pub fn fetch(settings: &Settings) -> Final {
    // TODO: Make at most settings.attempts attempts, printing the line
    // `attempt K: WORD` (Outcome::word) after each one. Stop at the first
    // outcome that is not retryable: a value, or the server's `ERR ...` line,
    // which becomes the reason for giving up. Between two attempts wait
    // backoff::delay(K, base, cap); after the last one do not wait. Never run
    // past settings.deadline: a delay that would end after it is cut short,
    // and then the reason is `deadline`; when the attempts run out it is
    // `no attempts left`.
    todo!()
}

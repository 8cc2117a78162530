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
    let deadline = settings.deadline;
    for k in 1..=settings.attempts {
        if Instant::now() >= deadline {
            return Final::GaveUp("deadline".into());
        }
        let outcome = attempt::attempt(
            settings.addr,
            &settings.key,
            settings.connect_timeout,
            settings.read_timeout,
            deadline,
        );
        match &outcome {
            Outcome::Failed(why) => println!("attempt {k}: {}: {why}", outcome.word()),
            _ => println!("attempt {k}: {}", outcome.word()),
        }
        if !outcome.retryable() {
            // A final answer: the value, or a "no" that another attempt
            // would only repeat.
            return match outcome {
                Outcome::Value(text) => Final::Value(text),
                Outcome::Error(line) => Final::GaveUp(line),
                other => Final::GaveUp(other.word().to_string()),
            };
        }
        if Instant::now() >= deadline {
            return Final::GaveUp("deadline".into());
        }
        // No delay after the last attempt: nothing follows it.
        if k == settings.attempts {
            break;
        }
        let wait = backoff::delay(k, settings.base, settings.cap);
        let left = deadline.saturating_duration_since(Instant::now());
        if wait >= left {
            // The next attempt would start after the deadline: wait until
            // the deadline (the caller asked for that long), then stop.
            thread::sleep(left);
            return Final::GaveUp("deadline".into());
        }
        thread::sleep(wait);
    }
    Final::GaveUp("no attempts left".into())
}

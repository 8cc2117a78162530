//! How long to wait before trying again: exponential backoff with jitter.
//!
//! A failed attempt says the server, or the way to it, is in trouble right
//! now. Trying again at once adds load exactly when there is least capacity
//! for it; waiting twice as long after each failure (*exponential backoff*)
//! gives the trouble time to pass, and a *cap* keeps the wait reasonable.
//!
//! Backoff alone is not enough. When a server restarts, every client it had
//! fails at the same moment; with the same backoff they all come back at the
//! same instants, a *thundering herd* that knocks the server over again.
//! *Jitter*, a random part of each delay, spreads them out. Here each delay
//! is drawn uniformly between half the backoff and the whole of it ("equal
//! jitter"): never much shorter than the backoff, never in step with others.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The delay before retry number `retry` (1 before the second attempt, 2
/// before the third, ...): with d = min(cap, base × 2^(retry − 1)), a random
/// duration between d/2 and d.
pub fn delay(retry: u32, base: Duration, cap: Duration) -> Duration {
    // TODO: Compute the backoff d = min(cap, base × 2^(retry − 1)) without
    // overflowing for large retry numbers, and return a random duration
    // between d/2 and d (random_between does the drawing).
    todo!()
}

/// A random duration between `low` and `high`, uniformly.
pub fn random_between(low: Duration, high: Duration) -> Duration {
    low + (high.saturating_sub(low)).mul_f64(random_fraction())
}

/// A random number in [0, 1), different in every call and every run.
///
/// std has no random number generator, but its `HashMap` needs random keys
/// against collision attacks: each `RandomState` is seeded from the
/// operating system's randomness (and the next one in the same thread from
/// that seed plus one). Hashing the clock with it gives a number no other
/// run of the program shares. A real program would use the `rand` crate.
fn random_fraction() -> f64 {
    let mut hasher = RandomState::new().build_hasher();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    hasher.write_u128(now);
    // The top 53 bits: as many as an f64 holds exactly.
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

//! The receiver's reorder buffer: turns datagrams in arrival order back into
//! messages in sending order.
//!
//! The receiver remembers `next`, the sequence number it must deliver next.
//! A datagram carrying `next` is delivered at once, followed by every
//! consecutive one that arrived early and was held. An early datagram (a
//! little *ahead* of `next`) is held in a slot until the gap before it fills.
//! A datagram *behind* `next` was already delivered (or given up for lost):
//! it is a duplicate and is dropped.
//!
//! The buffer is a *window*: it holds only sequence numbers from `next` to
//! `next + window - 1`. Anything further ahead is dropped, not stored, so
//! that a flood of datagrams with strange numbers cannot make the receiver
//! allocate without limit. Memory is bounded by `window` times the largest
//! datagram. TCP does the same with its advertised receive window.
//!
//! ```text
//!          next
//!           v
//! ... 41 42 [43] [44] [45] [46] [47] [48] ... [43+window-1] | 43+window ...
//! delivered  gap  held  gap  held                            beyond: dropped
//! ```

use crate::wire::seq_distance;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// What the application learns from the buffer, in order.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// This message is next in order: hand it to the application.
    Deliver(u16, Vec<u8>),
    /// This message never came in time and is given up for lost.
    Lost(u16),
}

/// What became of one arriving datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// Delivered or held: it was new and inside the window.
    Accepted,
    /// Already held, or already delivered or given up: a duplicate.
    Duplicate,
    /// Too far ahead of `next`: dropped without being stored.
    OutOfWindow,
}

pub struct Reorder {
    /// The sequence number to deliver next.
    next: u16,
    /// How many sequence numbers, starting at `next`, may be held.
    window: usize,
    /// `held[k]` is message `next + k` with the time it arrived, if it has.
    /// Never longer than `window`; `held[0]` is always `None` (it would have
    /// been delivered).
    held: VecDeque<Option<(Instant, Vec<u8>)>>,
}

impl Reorder {
    /// An empty buffer expecting `first` next, holding at most `window` messages.
    pub fn new(first: u16, window: usize) -> Reorder {
        Reorder {
            next: first,
            // More than half the sequence space would make "ahead" and
            // "behind" ambiguous (see `seq_distance`).
            window: window.clamp(1, 32_768),
            held: VecDeque::new(),
        }
    }

    /// Takes one arriving data datagram; messages that became deliverable
    /// are appended to `events`, in order.
    pub fn push(&mut self, seq: u16, payload: &[u8], now: Instant, events: &mut Vec<Event>) -> Arrival {
        // TODO: Drop a datagram behind `next` (a duplicate) or `window` or more
        // ahead of it (out of window) without storing it. Otherwise hold a copy
        // of its payload, with its arrival time, in its slot (unless the slot is
        // already full: another duplicate), deliver what became ready, and say
        // what happened.
        todo!()
    }

    /// When the current gap will be declared lost, if there is one: the
    /// loss timeout after the first message *behind* the gap arrived. The
    /// receiver waits for the next datagram at most until then.
    pub fn deadline(&self, loss_timeout: Duration) -> Option<Instant> {
        // TODO: Return the arrival time of the first held message plus the loss
        // timeout (the messages before it are late since it came), or None when
        // nothing is held.
        todo!()
    }

    /// Gives up on missing messages whose timeout has passed: each is
    /// reported lost, and what was held behind them is delivered.
    pub fn expire(&mut self, now: Instant, loss_timeout: Duration, events: &mut Vec<Event>) {
        // TODO: While the deadline has passed, report every missing message before
        // the first held one as lost, move `next` past them, and deliver what is
        // then ready.
        todo!()
    }

    /// Delivers `next` and every consecutive held message after it.
    fn deliver_ready(&mut self, events: &mut Vec<Event>) {
        // TODO: While the message `next` is held, remove it, report it delivered,
        // and advance `next` (65 535 is followed by 0).
        todo!()
    }
}

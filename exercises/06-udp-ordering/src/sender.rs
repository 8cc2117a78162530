//! Part 1, the sender: stamps each message with a sequence number and sends
//! it as one UDP datagram. It never learns what arrived.
//!
//! Usage: `udp-ordering-sender --to ADDR --count N [--first-seq N]
//! [--size BYTES] [--interval-ms MS]`. Sends messages 0 to N-1 (their bytes
//! come from `common::payload`), numbered from `--first-seq` (default 0),
//! one every `--interval-ms` (default 1), prints `sent <N> messages`, and exits.
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
    // TODO: For each message index, build a data datagram from the next
    // sequence number (starting at `first`, wrapping from 65 535 to 0) and
    // common::payload(index, size), send it to `to` with one send_to (report a
    // failure with common::fail), then wait `interval` before the next.
    todo!()
}

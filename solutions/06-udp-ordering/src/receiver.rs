//! Part 1, the receiver: delivers messages in sending order over a network
//! that reorders, duplicates and drops datagrams, and reports what is lost.
//!
//! Usage: `udp-ordering-receiver [--bind ADDR] [--first-seq N] [--window N]
//! [--loss-timeout-ms MS]`. Binds ADDR (default `127.0.0.1:0`), prints
//! `listening on <address>`, then one line per event (see `common`):
//! `deliver <seq> <length> <fingerprint>`, `lost <seq>`,
//! `malformed <length> <total>`. It runs until it is killed.

// The four programs share these modules; each uses only part of them.
#[allow(dead_code)]
mod common;
#[allow(dead_code)]
mod reorder;
#[allow(dead_code)]
mod wire;

use common::Args;
use reorder::{Event, Reorder};
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};
use wire::Datagram;

const USAGE: &str = "udp-ordering-receiver [--bind ADDR] [--first-seq N] [--window N] [--loss-timeout-ms MS]";

fn main() {
    let args = Args::parse(USAGE, &["bind", "first-seq", "window", "loss-timeout-ms"]);
    let bind: SocketAddr = args.get(USAGE, "bind", Some("127.0.0.1:0".parse().expect("a valid default")));
    let first: u16 = args.get(USAGE, "first-seq", Some(0));
    let window: usize = args.get(USAGE, "window", Some(256));
    let loss_timeout = Duration::from_millis(args.get(USAGE, "loss-timeout-ms", Some(500)));

    // A UDP socket needs no listen() or accept(): once bound, datagrams from
    // anybody arrive on it, each with its sender's address.
    let socket = UdpSocket::bind(bind).unwrap_or_else(|e| common::fail(&format!("cannot bind {bind}: {e}")));
    match socket.local_addr() {
        Ok(addr) => println!("listening on {addr}"),
        Err(e) => common::fail(&format!("cannot read the bound address: {e}")),
    }
    if let Err(e) = receive(&socket, first, window, loss_timeout) {
        common::fail(&format!("receiving: {e}"));
    }
}

/// Receives forever, printing deliveries, losses and malformed datagrams.
fn receive(socket: &UdpSocket, first: u16, window: usize, loss_timeout: Duration) -> io::Result<()> {
    // One datagram is read whole or not at all: recvfrom(2) copies at most
    // buf.len() bytes and silently *discards the rest* of a longer datagram
    // (Linux can tell you with MSG_TRUNC; std does not). 64 KiB is more than
    // the largest datagram IPv4 (65 507 bytes) or IPv6 (65 527) can carry, so
    // this buffer is never too small.
    let mut buf = vec![0u8; 64 * 1024];
    let mut reorder = Reorder::new(first, window);
    let mut malformed: u64 = 0;
    let mut events = Vec::new();
    loop {
        // Wait for the next datagram, but only until the current gap's loss
        // timeout: then we must give up on the missing message even if
        // nothing else ever arrives. SO_RCVTIMEO (set_read_timeout) makes
        // recv_from return WouldBlock when the time is up. Zero means "no
        // timeout" to the kernel, so wait at least a millisecond.
        let wait = reorder
            .deadline(loss_timeout)
            .map(|deadline| deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1)));
        socket.set_read_timeout(wait)?;
        match socket.recv_from(&mut buf) {
            Ok((len, _from)) => match wire::decode(&buf[..len]) {
                Some(Datagram::Data { seq, payload }) => {
                    // Duplicates and far-out datagrams need no action: the
                    // buffer has dropped them.
                    let _arrival = reorder.push(seq, payload, Instant::now(), &mut events);
                }
                // Anything else (too short, unknown kind, an ack sent to a
                // receiver) is not ours: count it and carry on.
                _ => {
                    malformed += 1;
                    common::print_malformed(len, malformed);
                }
            },
            // The timeout passed: handled by `expire` below.
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            // A signal arrived while we waited: just wait again.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        reorder.expire(Instant::now(), loss_timeout, &mut events);
        for event in events.drain(..) {
            match event {
                Event::Deliver(seq, payload) => common::print_delivered(seq, &payload),
                Event::Lost(seq) => common::print_lost(seq),
            }
        }
    }
}

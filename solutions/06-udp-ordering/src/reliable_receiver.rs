//! Part 2, the receiver: like part 1's, but it acknowledges what it receives
//! so that the sender can retransmit what was lost. It never gives up on a
//! message: the sender's retransmissions will bring it.
//!
//! Usage: `udp-ordering-reliable-receiver [--bind ADDR] [--first-seq N]
//! [--window N]`. Prints `listening on <address>`, then `deliver` and
//! `malformed` lines like part 1's receiver. Runs until it is killed.

// The four programs share these modules; each uses only part of them.
#[allow(dead_code)]
mod common;
#[allow(dead_code)]
mod reorder;
#[allow(dead_code)]
mod wire;

use common::Args;
use reorder::{Arrival, Event, Reorder};
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::Instant;
use wire::Datagram;

const USAGE: &str = "udp-ordering-reliable-receiver [--bind ADDR] [--first-seq N] [--window N]";

fn main() {
    let args = Args::parse(USAGE, &["bind", "first-seq", "window"]);
    let bind: SocketAddr = args.get(USAGE, "bind", Some("127.0.0.1:0".parse().expect("a valid default")));
    let first: u16 = args.get(USAGE, "first-seq", Some(0));
    let window: usize = args.get(USAGE, "window", Some(256));

    let socket = UdpSocket::bind(bind).unwrap_or_else(|e| common::fail(&format!("cannot bind {bind}: {e}")));
    match socket.local_addr() {
        Ok(addr) => println!("listening on {addr}"),
        Err(e) => common::fail(&format!("cannot read the bound address: {e}")),
    }
    if let Err(e) = receive(&socket, first, window) {
        common::fail(&format!("receiving: {e}"));
    }
}

/// Receives forever: acknowledges, reorders, delivers.
fn receive(socket: &UdpSocket, first: u16, window: usize) -> io::Result<()> {
    // Large enough for any datagram (see part 1's receiver).
    let mut buf = vec![0u8; 64 * 1024];
    let mut reorder = Reorder::new(first, window);
    let mut malformed: u64 = 0;
    let mut events = Vec::new();
    loop {
        let (len, from) = match socket.recv_from(&mut buf) {
            Ok(received) => received,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        match wire::decode(&buf[..len]) {
            Some(Datagram::Data { seq, payload }) => {
                let arrival = reorder.push(seq, payload, Instant::now(), &mut events);
                // Acknowledge duplicates too: a duplicate usually means our
                // earlier acknowledgement was lost, and without a new one the
                // sender would retransmit until it gave up. Only datagrams
                // beyond the window go unacknowledged: we did not keep them,
                // so the sender must send them again later.
                if arrival != Arrival::OutOfWindow {
                    // The ack goes back to wherever the datagram came from.
                    // A lost ack is harmless: the retransmission that follows
                    // is acknowledged again.
                    if let Err(e) = socket.send_to(&wire::encode_ack(seq), from) {
                        eprintln!("cannot acknowledge {seq} to {from}: {e}");
                    }
                }
            }
            _ => {
                malformed += 1;
                common::print_malformed(len, malformed);
            }
        }
        for event in events.drain(..) {
            match event {
                Event::Deliver(seq, payload) => common::print_delivered(seq, &payload),
                // No loss timeout is ever applied here, so nothing is lost.
                Event::Lost(seq) => common::print_lost(seq),
            }
        }
    }
}

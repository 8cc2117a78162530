//! Part 2, the receiver: like part 1's, but it acknowledges what it receives
//! so that the sender can retransmit what was lost. It never gives up on a
//! message: the sender's retransmissions will bring it.
//!
//! Usage: `udp-ordering-reliable-receiver [--bind ADDR] [--first-seq N]
//! [--window N]`. Prints `listening on <address>`, then `deliver` and
//! `malformed` lines like part 1's receiver. Runs until it is killed.
//!
//! Check your work with `cargo xtask check 06`; read docs/src/06-udp-ordering.md.

// Until you write them, the functions below leave their arguments, the
// imports and some helpers unused. Delete this line once you are done.
#![allow(unused_variables, unused_imports, unused_mut, dead_code, clippy::ptr_arg)]

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
    // TODO: Receive datagrams forever. Pass data datagrams to a Reorder (which
    // never declares anything lost here) and acknowledge each one it did not
    // reject as out of window, duplicates included, to the address it came
    // from. Count and report malformed datagrams; print every delivery.
    todo!()
}

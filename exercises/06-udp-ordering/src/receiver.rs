//! Part 1, the receiver: delivers messages in sending order over a network
//! that reorders, duplicates and drops datagrams, and reports what is lost.
//!
//! Usage: `udp-ordering-receiver [--bind ADDR] [--first-seq N] [--window N]
//! [--loss-timeout-ms MS]`. Binds ADDR (default `127.0.0.1:0`), prints
//! `listening on <address>`, then one line per event (see `common`):
//! `deliver <seq> <length> <fingerprint>`, `lost <seq>`,
//! `malformed <length> <total>`. It runs until it is killed.
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
    // TODO: Receive datagrams forever into a buffer large enough for any
    // datagram. Pass data datagrams to a Reorder; count and report malformed
    // ones with common::print_malformed. Never wait past the current gap's
    // deadline, give up on what has expired, and print every delivery and
    // loss with common::print_delivered and common::print_lost.
    todo!()
}

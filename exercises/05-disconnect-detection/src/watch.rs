//! Watching one connection until it ends.
//!
//! Blocked in `read`, a program learns of a FIN (0 bytes) and of an RST
//! (`ECONNRESET`) at once. It learns nothing when the peer vanished: no
//! packet arrives to say so. An *application heartbeat* fixes that without
//! any help from TCP: a read timeout (`SO_RCVTIMEO`, `set_read_timeout`)
//! wakes us when the peer has been silent for a while; we then send `ping`
//! and expect some bytes back. One late answer proves nothing (the peer may
//! be busy, or the network slow), so only several silent intervals in a row
//! mean the peer is dead. Unlike TCP keepalive, a heartbeat also notices a
//! peer whose kernel is alive but whose program hangs.

use crate::ending::{Ending, classify};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

/// Send `ping` after `interval` of silence; give up after `misses` unanswered pings.
#[derive(Debug, Clone, Copy)]
pub struct Heartbeat {
    pub interval: Duration,
    pub misses: u32,
}

/// Reads from `stream` until the connection ends, and says how it ended.
/// Errors that are no ending (say, a bad file descriptor) are returned.
pub fn watch(mut stream: &TcpStream, heartbeat: Option<Heartbeat>) -> io::Result<Ending> {
    // TODO: Read until the connection ends and return how it ended. Count the
    // bytes received. A read of 0 bytes means the peer finished sending: call
    // finish. A line `flood` means: call flood. With a heartbeat, a read must
    // wait at most one interval; each silent interval sends `ping\n`, any
    // bytes received prove the peer alive, and heartbeat.misses unanswered
    // pings in a row mean it is dead (Ending::TimedOut). A read that fails
    // with ErrorKind::Interrupted (a signal) is made again; other errors end
    // the watch through ended_by.
    todo!()
}

/// The peer finished sending: send the reply we owe, then close our side.
fn finish(mut stream: &TcpStream, received: u64) -> io::Result<Ending> {
    // TODO: Send the reply `received <N> bytes\n` that we still owe, then
    // shut down our sending side, and report Ending::Closed (or the ending a
    // failed write announces).
    todo!()
}

/// Writes `tick <i>` lines until a write fails, and says why it failed.
fn flood(mut stream: &TcpStream) -> io::Result<Ending> {
    // TODO: Write `tick 1\n`, `tick 2\n`, ... until a write fails, and
    // return the ending that failure announces.
    todo!()
}

/// The ending `err` announces, or `err` itself if it is no ending.
fn ended_by(err: io::Error) -> io::Result<Ending> {
    classify(&err).ok_or(err)
}

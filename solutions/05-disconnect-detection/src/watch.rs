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
    // With a heartbeat, a read waits at most one interval: it then fails
    // with WouldBlock (EAGAIN), which is our cue to ping. Without one the
    // read blocks for as long as it takes.
    stream.set_read_timeout(heartbeat.map(|h| h.interval))?;
    let mut received: u64 = 0;
    let mut unanswered = 0;
    let mut line = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            // 0 bytes is not "no data yet": it is the peer's FIN. The peer
            // will send nothing more, but it may still be reading (a
            // half-close), so we still send what we owe.
            Ok(0) => return finish(stream, received),
            Ok(n) => {
                received += n as u64;
                // Any bytes prove the peer alive, a pong or anything else.
                unanswered = 0;
                for &byte in &buf[..n] {
                    if byte != b'\n' {
                        line.push(byte);
                        continue;
                    }
                    if line == b"flood" {
                        return flood(stream);
                    }
                    line.clear();
                }
                // Lines are short; do not let a peer that never sends \n grow it for ever.
                if line.len() > 1024 {
                    line.clear();
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                // The read timeout passed in silence.
                let Some(heartbeat) = heartbeat else { continue };
                if unanswered >= heartbeat.misses {
                    return Ok(Ending::TimedOut);
                }
                if let Err(e) = stream.write_all(b"ping\n") {
                    return ended_by(e);
                }
                unanswered += 1;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return ended_by(e),
        }
    }
}

/// The peer finished sending: send the reply we owe, then close our side.
fn finish(mut stream: &TcpStream, received: u64) -> io::Result<Ending> {
    // This write succeeds even if the peer closed completely (the kernel
    // accepts the bytes; the peer's kernel answers them with an RST), so a
    // 0-byte read alone cannot tell a close from a half-close. A peer that
    // only half-closed reads this reply.
    if let Err(e) = stream.write_all(format!("received {received} bytes\n").as_bytes()) {
        return ended_by(e);
    }
    // Our FIN: the peer's read returns 0. It may fail if the RST came
    // already; the connection is over either way.
    let _ = stream.shutdown(Shutdown::Write);
    Ok(Ending::Closed)
}

/// Writes `tick <i>` lines until a write fails, and says why it failed.
fn flood(mut stream: &TcpStream) -> io::Result<Ending> {
    let mut i: u64 = 0;
    loop {
        i += 1;
        // When the peer has closed, the first writes still succeed; once its
        // RST is back, the next write fails with EPIPE (or ECONNRESET).
        if let Err(e) = stream.write_all(format!("tick {i}\n").as_bytes()) {
            return ended_by(e);
        }
    }
}

/// The ending `err` announces, or `err` itself if it is no ending.
fn ended_by(err: io::Error) -> io::Result<Ending> {
    classify(&err).ok_or(err)
}

//! Turning TCP keepalive on for one socket, with our own timings.
//!
//! Keepalive is off on every new socket. Turned on with only `SO_KEEPALIVE`,
//! it uses the system-wide defaults in `/proc/sys/net/ipv4/`:
//! `tcp_keepalive_time` (7200 s: two hours of silence before the first
//! probe), `tcp_keepalive_intvl` (75 s between probes) and
//! `tcp_keepalive_probes` (9 unanswered probes). A dead peer is then noticed
//! after more than two hours, which is useless for most programs. Three
//! per-socket options override them:
//!
//! - `TCP_KEEPIDLE`: how long the connection must be idle before the first probe;
//! - `TCP_KEEPINTVL`: how long to wait between unanswered probes;
//! - `TCP_KEEPCNT`: how many unanswered probes mean the peer is gone.
//!
//! A dead peer is therefore noticed about `idle + interval × count` after the
//! last packet it sent. A live peer's kernel answers every probe, even when
//! the program there is idle or busy, so an idle connection is never dropped.

use socket2::{SockRef, TcpKeepalive};
use std::io;
use std::net::TcpStream;
use std::time::Duration;

/// The keepalive timings to set on a socket.
#[derive(Debug, Clone)]
pub struct Settings {
    pub idle: Duration,
    pub interval: Duration,
    pub count: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            idle: Duration::from_secs(10),
            interval: Duration::from_secs(5),
            count: 3,
        }
    }
}

/// Turns keepalive on for `stream` with all three timings of `settings`.
pub fn enable(stream: &TcpStream, settings: &Settings) -> io::Result<()> {
    // SockRef borrows the std stream's socket so that socket2 can call
    // setsockopt on it. `set_tcp_keepalive` sets SO_KEEPALIVE and then each
    // timing given: TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT. Leaving one
    // out keeps the system default for it (75 s or 9 probes).
    let params = TcpKeepalive::new()
        .with_time(settings.idle)
        .with_interval(settings.interval)
        .with_retries(settings.count);
    SockRef::from(stream).set_tcp_keepalive(&params)
}

//! Exercise 05: disconnect detection. How did the connection end?
//!
//! A connection can end in five ways, and each looks different from this side:
//!
//! | The peer...                                   | What we see                                    |
//! |-----------------------------------------------|------------------------------------------------|
//! | closes (FIN)                                  | `read` returns 0                               |
//! | half-closes (`shutdown(Write)`), still reads  | `read` returns 0; our replies still arrive     |
//! | resets (RST: `SO_LINGER` 0, or exits or closes with unread data) | `ECONNRESET`                |
//! | has closed, and we keep writing               | first write succeeds, a later one `EPIPE`      |
//! | vanished (power, cable, router)               | nothing at all, until a timeout notices        |
//!
//! `disconnect-detection ADDRESS [--heartbeat MS] [--misses K]` connects to
//! ADDRESS and watches the connection:
//!
//! - it counts every byte the peer sends; when the peer has finished sending
//!   (a read returns 0) it still owes one reply, `received <N> bytes\n`;
//! - a line `flood` from the peer makes it write `tick <i>\n` lines without
//!   end, until a write fails;
//! - with `--heartbeat MS` it sends `ping\n` whenever nothing arrived for MS
//!   milliseconds; any bytes from the peer (`pong\n`, say) prove it alive;
//!   after K pings in a row got nothing back (default 3), the peer is dead.
//!
//! When the connection ends it prints one line, `ended: closed`, `ended:
//! reset`, `ended: broken pipe` or `ended: timed out`, and exits with 0.
//!
//! Check your work with `cargo xtask check 05`; read docs/src/05-disconnect-detection.md.

// Until you write them, the functions leave their arguments, the imports
// and some helpers unused. Delete this line once you are done.
#![allow(unused_variables, unused_imports, unused_mut, dead_code)]

mod ending;
mod watch;

use std::net::{SocketAddr, TcpStream};
use std::process;
use std::time::Duration;
use watch::Heartbeat;

const USAGE: &str = "usage: disconnect-detection ADDRESS [--heartbeat MS] [--misses K]";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (addr, heartbeat) = match parse(&args) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("error: {e}\n{USAGE}");
            process::exit(2);
        }
    };
    let stream = match TcpStream::connect_timeout(&addr, Duration::from_secs(10)) {
        Ok(stream) => stream,
        Err(e) => {
            eprintln!("error: cannot connect to {addr}: {e}");
            process::exit(1);
        }
    };
    println!("connected to {addr}");
    match watch::watch(&stream, heartbeat) {
        Ok(ending) => println!("ended: {}", ending.word()),
        Err(e) => {
            eprintln!("error: the connection failed in an unexpected way: {e}");
            process::exit(1);
        }
    }
}

fn parse(args: &[String]) -> Result<(SocketAddr, Option<Heartbeat>), String> {
    let addr = args
        .first()
        .ok_or("missing the address")?
        .parse::<SocketAddr>()
        .map_err(|e| format!("the address must look like 127.0.0.1:7878 ({e})"))?;
    let (mut interval, mut misses) = (None, 3);
    let mut it = args[1..].iter();
    while let Some(arg) = it.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            let value = it.next().ok_or(format!("{name} needs a number"))?;
            value.parse().map_err(|_| format!("{name} needs a number, not `{value}`"))
        };
        match arg.as_str() {
            "--heartbeat" => interval = Some(Duration::from_millis(number("--heartbeat")?.max(1))),
            "--misses" => misses = number("--misses")?.max(1) as u32,
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok((addr, interval.map(|interval| Heartbeat { interval, misses })))
}

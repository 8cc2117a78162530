//! Exercise 04: TCP keepalive, and one connection reused for many requests.
//!
//! A TCP connection that carries no data sends no packets. If the machine at
//! the other end loses power, or a cable or router between the two dies, no
//! FIN and no RST ever arrive: a program blocked in `read` waits forever and
//! a server keeps the dead client's socket, thread and memory forever.
//! *Keepalive* is the cure: after the connection has been idle for a while,
//! the kernel sends a probe (an ACK carrying no data) that a live peer's
//! kernel must answer; if `count` probes in a row go unanswered, the kernel
//! declares the connection dead and the blocked `read` fails with
//! `ETIMEDOUT`.
//!
//! This crate is one program with two roles:
//!
//! - `keepalive server ADDRESS [--idle S] [--interval S] [--count N]`: an
//!   echo server (each line sent back) that turns keepalive on for every
//!   accepted connection and releases clients whose peer vanished;
//! - `keepalive client ADDRESS [--idle S] [--interval S] [--count N]
//!   [--pause MS] REQUEST...`: sends each REQUEST as a line over one
//!   connection, prints each reply line, reconnects when the server closed
//!   the connection between requests, and exits with an error when the
//!   server vanished.
//!
//! Check your work with `cargo xtask check 04`; read docs/src/04-keepalive.md.

// Until you write them, the functions leave their arguments, the imports
// and some helpers unused. Delete this line once you are done.
#![allow(unused_variables, unused_imports, unused_mut, dead_code)]

mod client;
mod keepalive;
mod server;

use keepalive::Settings;
use std::net::SocketAddr;
use std::process;
use std::time::Duration;

const USAGE: &str = "usage: keepalive server ADDRESS [--idle S] [--interval S] [--count N]
       keepalive client ADDRESS [--idle S] [--interval S] [--count N] [--pause MS] REQUEST...";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = match parse(&args) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("error: {e}\n{USAGE}");
            process::exit(2);
        }
    };
    let result = match parsed.role.as_str() {
        "server" => server::run(parsed.addr, parsed.settings),
        _ => client::run(parsed.addr, parsed.settings, parsed.pause, &parsed.requests),
    };
    if let Err(e) = result {
        // Report the error once, with its cause, and exit non-zero.
        eprintln!("error: {e}");
        process::exit(1);
    }
}

struct Args {
    role: String,
    addr: SocketAddr,
    settings: Settings,
    pause: Duration,
    requests: Vec<String>,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let role = args.first().ok_or("missing the role, `server` or `client`")?.clone();
    if role != "server" && role != "client" {
        return Err(format!("the role must be `server` or `client`, not `{role}`"));
    }
    let addr = args
        .get(1)
        .ok_or("missing the address")?
        .parse::<SocketAddr>()
        .map_err(|e| format!("the address must look like 127.0.0.1:7878 ({e})"))?;
    let mut parsed = Args {
        role,
        addr,
        settings: Settings::default(),
        pause: Duration::ZERO,
        requests: Vec::new(),
    };
    let mut it = args[2..].iter();
    while let Some(arg) = it.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            let value = it.next().ok_or(format!("{name} needs a number"))?;
            value.parse().map_err(|_| format!("{name} needs a number, not `{value}`"))
        };
        match arg.as_str() {
            "--idle" => parsed.settings.idle = Duration::from_secs(number("--idle")?),
            "--interval" => parsed.settings.interval = Duration::from_secs(number("--interval")?),
            "--count" => parsed.settings.count = number("--count")? as u32,
            "--pause" => parsed.pause = Duration::from_millis(number("--pause")?),
            flag if flag.starts_with("--") => return Err(format!("unknown option `{flag}`")),
            request => parsed.requests.push(request.to_string()),
        }
    }
    Ok(parsed)
}

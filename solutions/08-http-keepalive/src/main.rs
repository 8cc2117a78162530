//! Exercise 08: an HTTP/1.1 static-file server, from sockets up.
//!
//! HTTP/1.1 is text over one TCP connection: the client writes a request
//! (a request line, header lines, an empty line, perhaps a body), the server
//! writes a response framed the same way, and then, unless one side said
//! `Connection: close`, the *same connection* carries the next request. That
//! reuse is HTTP keep-alive (a persistent connection): it saves a TCP
//! handshake, and a slow start, per request. It is not TCP keepalive
//! (exercise 04), which probes an idle connection to learn whether the peer
//! is still there; the two only share a name.
//!
//! `http-keepalive ADDRESS DIR [--idle-timeout MS]` serves the files under
//! DIR on ADDRESS, one thread per connection, and closes a connection on
//! which nothing arrives for MS milliseconds (default 5000).
//!
//! Check your work with `cargo xtask check 08`; read docs/src/08-http-keepalive.md.

mod connection;
mod files;
mod request;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

const USAGE: &str = "usage: http-keepalive ADDRESS DIR [--idle-timeout MS]";

/// What every connection needs to know: the folder it serves (made
/// absolute, symbolic links resolved, once) and how long it may stay idle.
pub struct Config {
    pub root: PathBuf,
    pub idle: Duration,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (addr, config) = match parse(&args) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("error: {e}\n{USAGE}");
            process::exit(2);
        }
    };
    if let Err(e) = run(addr, config) {
        // Report the error once, with its cause, and exit non-zero.
        eprintln!("error: {e}");
        process::exit(1);
    }
}

/// Listens on `addr` and serves every connection on a thread of its own: a
/// persistent connection may sit idle for a long time, and a client waiting
/// behind it would wait that long.
fn run(addr: SocketAddr, config: Config) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).map_err(|e| std::io::Error::new(e.kind(), format!("cannot bind {addr}: {e}")))?;
    println!("listening on {}", listener.local_addr()?);
    let config = Arc::new(config);
    loop {
        match listener.accept() {
            Ok((stream, _peer)) => {
                let config = Arc::clone(&config);
                thread::spawn(move || connection::serve(stream, &config));
            }
            // A failed accept (a client that reset before we took it, or no
            // descriptor left) concerns one connection, not the server.
            Err(e) => eprintln!("accept failed: {e}"),
        }
    }
}

fn parse(args: &[String]) -> Result<(SocketAddr, Config), String> {
    let addr = args
        .first()
        .ok_or("missing the address")?
        .parse::<SocketAddr>()
        .map_err(|e| format!("the address must look like 127.0.0.1:8080 ({e})"))?;
    let dir = args.get(1).ok_or("missing the folder to serve")?;
    // Canonical once, here: every path served is then checked against this
    // one, with its symbolic links already resolved.
    let root = std::fs::canonicalize(dir).map_err(|e| format!("cannot serve {dir}: {e}"))?;
    if !root.is_dir() {
        return Err(format!("{dir} is not a folder"));
    }
    let mut idle = Duration::from_millis(5000);
    let mut it = args[2..].iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--idle-timeout" => {
                let value = it.next().ok_or("--idle-timeout needs a number of milliseconds")?;
                let ms: u64 = value
                    .parse()
                    .map_err(|_| format!("--idle-timeout needs a number of milliseconds, not `{value}`"))?;
                if ms == 0 {
                    return Err("--idle-timeout must be at least 1 ms".into());
                }
                idle = Duration::from_millis(ms);
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok((addr, Config { root, idle }))
}

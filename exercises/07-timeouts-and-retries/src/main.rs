//! Exercise 07: timeouts and retries.
//!
//! A network call can fail in two ways that look alike from the outside: it
//! can fail *fast* (the server refused the connection, or reset it), or it can
//! *hang* (the server's machine is gone and nothing answers, or the server
//! accepted and never replies). A client without timeouts hangs with it, for
//! minutes or for ever. A client with timeouts fails, and then must decide:
//! try again, or give up? Trying again at once, and for ever, turns one
//! struggling server into a server attacked by every client it has; trying
//! again after a delay that doubles (*exponential backoff*), made random
//! (*jitter*) so that clients do not come back all at the same instant, and
//! within a limit of attempts and of total time, is what robust clients do.
//! And some failures must never be retried: a definite "no" from the server
//! will be "no" again.
//!
//! `timeouts-and-retries ADDRESS KEY [--connect-timeout MS] [--read-timeout MS]
//! [--attempts N] [--base MS] [--cap MS] [--deadline MS]` fetches the value of
//! KEY from the service at ADDRESS: each attempt opens a connection, sends
//! `GET KEY` and reads one answer line (`VALUE text`, `BUSY` or `ERR text`).
//! It prints a line `attempt K: OUTCOME` after each attempt, then
//! `value: TEXT` (exit status 0) or `gave up: WHY` (exit status 1).
//!
//! Check your work with `cargo xtask check 07`; read
//! docs/src/07-timeouts-and-retries.md.

// Until you write them, the functions leave their arguments, the imports
// and some helpers unused. Delete this line once you are done.
#![allow(unused_variables, unused_imports, unused_mut, dead_code)]

mod attempt;
mod backoff;
mod client;

use std::net::SocketAddr;
use std::process;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: timeouts-and-retries ADDRESS KEY [--connect-timeout MS] [--read-timeout MS]
                            [--attempts N] [--base MS] [--cap MS] [--deadline MS]";

/// What the command line asks for.
#[derive(Debug, Clone)]
pub struct Settings {
    pub addr: SocketAddr,
    pub key: String,
    /// How long one `connect` may take.
    pub connect_timeout: Duration,
    /// How long the whole answer line may take to arrive, counted from the
    /// moment the request was sent.
    pub read_timeout: Duration,
    /// How many attempts at most, the first one included.
    pub attempts: u32,
    /// The backoff delay before the second attempt (before jitter).
    pub base: Duration,
    /// The longest backoff delay (before jitter).
    pub cap: Duration,
    /// When the whole fetch must be over, whatever happens.
    pub deadline: Instant,
}

/// How a fetch ended: main prints it and chooses the exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Final {
    /// The server's value: `value: TEXT`, exit status 0.
    Value(String),
    /// Why the client stopped trying: `gave up: WHY`, exit status 1.
    GaveUp(String),
}

fn main() {
    // The deadline counts from the moment the program starts.
    let started = Instant::now();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let settings = match parse(&args, started) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("error: {e}\n{USAGE}");
            process::exit(2);
        }
    };
    match client::fetch(&settings) {
        Final::Value(text) => println!("value: {text}"),
        Final::GaveUp(why) => {
            println!("gave up: {why}");
            process::exit(1);
        }
    }
}

fn parse(args: &[String], started: Instant) -> Result<Settings, String> {
    let addr = args
        .first()
        .ok_or("missing the address")?
        .parse::<SocketAddr>()
        .map_err(|e| format!("the address must look like 127.0.0.1:7878 ({e})"))?;
    let key = args.get(1).ok_or("missing the key")?.clone();
    if key.is_empty() || key.contains(char::is_whitespace) {
        return Err("the key must be one word".into());
    }
    let mut settings = Settings {
        addr,
        key,
        connect_timeout: Duration::from_millis(1000),
        read_timeout: Duration::from_millis(1000),
        attempts: 4,
        base: Duration::from_millis(100),
        cap: Duration::from_millis(2000),
        deadline: started + Duration::from_millis(10_000),
    };
    let mut it = args[2..].iter();
    while let Some(arg) = it.next() {
        let value = it.next().ok_or(format!("{arg} needs a number"))?;
        let number: u64 = value
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .ok_or(format!("{arg} needs a number greater than 0, not `{value}`"))?;
        let ms = Duration::from_millis(number);
        match arg.as_str() {
            "--connect-timeout" => settings.connect_timeout = ms,
            "--read-timeout" => settings.read_timeout = ms,
            "--attempts" => settings.attempts = u32::try_from(number).map_err(|_| "--attempts is too large")?,
            "--base" => settings.base = ms,
            "--cap" => settings.cap = ms,
            "--deadline" => settings.deadline = started + ms,
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    Ok(settings)
}

//! Helpers every program of this exercise shares, written for you: the
//! command line, the messages the senders send, and the lines the receivers
//! print for the grader. Nothing here needs changing.

use std::collections::HashMap;
use std::process;
use std::str::FromStr;

/// Command-line options of the form `--name value`.
pub struct Args {
    values: HashMap<String, String>,
}

impl Args {
    /// Reads `--name value` pairs from the program's arguments. `known` lists
    /// the accepted names; anything else is a usage error.
    pub fn parse(usage: &str, known: &[&str]) -> Args {
        let mut values = HashMap::new();
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let name = flag.strip_prefix("--").unwrap_or(&flag).to_string();
            if !known.contains(&name.as_str()) {
                usage_error(usage, &format!("unknown option `{flag}`"));
            }
            let Some(value) = it.next() else {
                usage_error(usage, &format!("`{flag}` needs a value"));
            };
            values.insert(name, value);
        }
        Args { values }
    }

    /// The value of `--name`, or `default` when it was not given.
    pub fn get<T: FromStr>(&self, usage: &str, name: &str, default: Option<T>) -> T {
        match self.values.get(name) {
            Some(text) => text
                .parse()
                .unwrap_or_else(|_| usage_error(usage, &format!("`--{name} {text}` is not a valid value"))),
            None => default.unwrap_or_else(|| usage_error(usage, &format!("`--{name}` is required"))),
        }
    }
}

fn usage_error(usage: &str, what: &str) -> ! {
    eprintln!("error: {what}\nusage: {usage}");
    process::exit(2);
}

/// Reports an error once, on stderr, and exits with status 1.
pub fn fail(what: &str) -> ! {
    eprintln!("error: {what}");
    process::exit(1);
}

/// The payload of message number `index` (0, 1, 2, ...): `size` bytes that
/// start with `message <index>` and continue with a pattern that depends on
/// the index, so that a truncated or mixed-up message is easy to spot. The
/// grader computes the same bytes to check what your receiver delivered.
pub fn payload(index: u64, size: usize) -> Vec<u8> {
    let mut bytes = format!("message {index} ").into_bytes();
    bytes.truncate(size);
    let mut x = index.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    while bytes.len() < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.push(b'a' + (x % 26) as u8);
    }
    bytes
}

/// A 32-bit FNV-1a fingerprint of `bytes`: the receivers print it instead of
/// the (possibly 65 504-byte) payload itself.
pub fn fingerprint(bytes: &[u8]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for &b in bytes {
        hash ^= b as u32;
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

/// Prints `deliver <seq> <length> <fingerprint>`: the application received
/// this message. The grader reads these lines, in this order.
pub fn print_delivered(seq: u16, payload: &[u8]) {
    println!("deliver {seq} {} {:08x}", payload.len(), fingerprint(payload));
}

/// Prints `lost <seq>`: this message was given up for lost.
pub fn print_lost(seq: u16) {
    println!("lost {seq}");
}

/// Prints `malformed <length> <total so far>` for a datagram that is not a
/// valid message of our protocol.
pub fn print_malformed(len: usize, total: u64) {
    println!("malformed {len} {total}");
}

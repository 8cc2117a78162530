//! Known-wrong versions of exercise 05, each the reference solution with one mistake.

use crate::util::Mutant;

const EX: &str = "05-disconnect-detection";
const WATCH: &str = "src/watch.rs";
const ENDING: &str = "src/ending.rs";

/// Handles a 0-byte read like data: it reads 0 bytes again, for ever.
#[test]
fn zero_read_as_data() {
    Mutant {
        name: "zero-read-as-data",
        exercise: EX,
        mistake: "treats a 0-byte read as data",
        file: WATCH,
        replace: &[("            Ok(0) => return finish(stream, received),\n", "")],
        caught_by: "closed",
        clause: 0,
    }
    .assert_caught();
}

/// Takes the FIN for a full close and never sends the reply it owes.
#[test]
fn drops_reply() {
    Mutant {
        name: "drops-reply",
        exercise: EX,
        mistake: "treats half-close as full close and drops its reply",
        file: WATCH,
        replace: &[(
            "    if let Err(e) = stream.write_all(format!(\"received {received} bytes\\n\").as_bytes()) {",
            "    if let Err(e) = stream.write_all(&format!(\"received {received} bytes\\n\").as_bytes()[..0]) {",
        )],
        caught_by: "half-close",
        clause: 0,
    }
    .assert_caught();
}

/// Unwraps ECONNRESET: the watcher panics when the peer resets.
#[test]
fn panics_on_reset() {
    Mutant {
        name: "panics-on-reset",
        exercise: EX,
        mistake: "panics on ECONNRESET",
        file: ENDING,
        replace: &[(
            "        ErrorKind::ConnectionReset => Some(Ending::Reset),",
            "        ErrorKind::ConnectionReset => panic!(\"connection reset: {err}\"),",
        )],
        caught_by: "reset-linger",
        clause: 0,
    }
    .assert_caught();
}

/// Calls a reset an orderly close.
#[test]
fn reset_called_closed() {
    Mutant {
        name: "reset-called-closed",
        exercise: EX,
        mistake: "reports ECONNRESET as an orderly close",
        file: ENDING,
        replace: &[(
            "        ErrorKind::ConnectionReset => Some(Ending::Reset),",
            "        ErrorKind::ConnectionReset => Some(Ending::Closed),",
        )],
        caught_by: "killed-peer-unread",
        clause: 0,
    }
    .assert_caught();
}

/// Calls every 0-byte read a reset ("the peer must have crashed").
#[test]
fn eof_called_reset() {
    Mutant {
        name: "eof-called-reset",
        exercise: EX,
        mistake: "reports the FIN of a killed peer as a reset",
        file: WATCH,
        replace: &[(
            "    let _ = stream.shutdown(Shutdown::Write);\n    Ok(Ending::Closed)",
            "    let _ = stream.shutdown(Shutdown::Write);\n    Ok(Ending::Reset)",
        )],
        caught_by: "killed-peer-quiet",
        clause: 0,
    }
    .assert_caught();
}

/// Ignores failed writes while flooding, as if EPIPE could not happen.
#[test]
fn ignores_write_errors() {
    Mutant {
        name: "ignores-write-errors",
        exercise: EX,
        mistake: "ignores write errors (EPIPE) and keeps writing",
        file: WATCH,
        replace: &[(
            "        if let Err(e) = stream.write_all(format!(\"tick {i}\\n\").as_bytes()) {\n            return ended_by(e);\n        }",
            "        let _ = stream.write_all(format!(\"tick {i}\\n\").as_bytes());",
        )],
        caught_by: "broken-pipe",
        clause: 0,
    }
    .assert_caught();
}

/// A heartbeat without a read timeout: the read blocks for ever, no ping is sent.
#[test]
fn no_read_timeout() {
    Mutant {
        name: "no-read-timeout",
        exercise: EX,
        mistake: "heartbeat without a read timeout (hangs)",
        file: WATCH,
        replace: &[("    stream.set_read_timeout(heartbeat.map(|h| h.interval))?;", "")],
        caught_by: "silent-peer-heartbeat",
        clause: 0,
    }
    .assert_caught();
}

/// Pings on every silent interval but never gives up on the peer.
#[test]
fn never_gives_up() {
    Mutant {
        name: "never-gives-up",
        exercise: EX,
        mistake: "pings for ever and never declares the peer dead",
        file: WATCH,
        replace: &[(
            "                if unanswered >= heartbeat.misses {",
            "                if unanswered >= u32::MAX {",
        )],
        caught_by: "vanished-peer-heartbeat",
        clause: 0,
    }
    .assert_caught();
}

/// Declares the peer dead after a single unanswered ping.
#[test]
fn one_miss_is_death() {
    Mutant {
        name: "one-miss-is-death",
        exercise: EX,
        mistake: "declares death after one missed heartbeat",
        file: WATCH,
        replace: &[(
            "                if unanswered >= heartbeat.misses {",
            "                if unanswered >= 1 {",
        )],
        caught_by: "slow-peer-alive",
        clause: 0,
    }
    .assert_caught();
}

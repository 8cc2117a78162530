//! Known-wrong versions of exercise 05, each the reference solution with one mistake.

use crate::util::Mutant;

const EX: &str = "05-disconnect-detection";
const WATCH: &str = "src/watch.rs";
const ENDING: &str = "src/ending.rs";
const MAIN: &str = "src/main.rs";

/// The known-wrong programs: each entry is one mistake, in one clause.
pub const MUTANTS: &[Mutant] = &[
    // Handles a 0-byte read like data: it reads 0 bytes again, for ever.
    Mutant {
        name: "zero-read-as-data",
        exercise: EX,
        mistake: "treats a 0-byte read as data",
        file: WATCH,
        replace: &[("            Ok(0) => return finish(stream, received),\n", "")],
        caught_by: "closed",
        clause: 2,
    },
    // Takes the FIN for a full close and never sends the reply it owes.
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
        clause: 1,
    },
    // Unwraps ECONNRESET: the watcher panics when the peer resets.
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
        clause: 3,
    },
    // Calls a reset an orderly close.
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
        clause: 3,
    },
    // Calls every 0-byte read a reset ("the peer must have crashed").
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
        clause: 2,
    },
    // Ignores failed writes while flooding, as if EPIPE could not happen.
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
        clause: 5,
    },
    // A heartbeat without a read timeout: the read blocks for ever, no ping is sent.
    Mutant {
        name: "no-read-timeout",
        exercise: EX,
        mistake: "heartbeat without a read timeout (hangs)",
        file: WATCH,
        replace: &[("    stream.set_read_timeout(heartbeat.map(|h| h.interval))?;", "")],
        caught_by: "silent-peer-heartbeat",
        clause: 7,
    },
    // Pings on every silent interval but never gives up on the peer.
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
        clause: 9,
    },
    // Declares the peer dead after a single unanswered ping.
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
        clause: 9,
    },
    // Keeps only the last read's size: `=` where `+=` was meant.
    Mutant {
        name: "counts-last-read-only",
        exercise: EX,
        mistake: "counts only the bytes of the last read",
        file: WATCH,
        replace: &[("received += n as u64;", "received = n as u64;")],
        caught_by: "count-every-byte",
        clause: 1,
    },
    // Sees `flood` only when a read holds nothing else.
    Mutant {
        name: "flood-only-alone-in-a-read",
        exercise: EX,
        mistake: "recognises `flood` only when it is the whole of a read",
        file: WATCH,
        replace: &[("if line == b\"flood\" {", "if line == b\"flood\" && &buf[..n] == b\"flood\\n\" {")],
        caught_by: "flood-in-pieces",
        clause: 4,
    },
    // Forgets the unfinished line at every read, so a line split over reads is lost.
    Mutant {
        name: "lines-per-read",
        exercise: EX,
        mistake: "drops the unfinished line at each read (a `flood` split over reads is missed)",
        file: WATCH,
        replace: &[("received += n as u64;", "received += n as u64;\n                line.clear();")],
        caught_by: "flood-in-pieces",
        clause: 4,
    },
    // Numbers ticks with a counter that wraps after 1000.
    Mutant {
        name: "tick-numbers-wrap",
        exercise: EX,
        mistake: "numbers ticks with a counter that wraps after 1000",
        file: WATCH,
        replace: &[(
            "stream.write_all(format!(\"tick {i}\\n\").as_bytes())",
            "stream.write_all(format!(\"tick {}\\n\", (i - 1) % 1000 + 1).as_bytes())",
        )],
        caught_by: "flood-in-pieces",
        clause: 4,
    },
    // A flood loop that knows only EPIPE and returns ECONNRESET as an unexpected error.
    Mutant {
        name: "flood-knows-only-epipe",
        exercise: EX,
        mistake: "ends a flood cleanly only on EPIPE; a reset exits with an error",
        file: WATCH,
        replace: &[(
            "        if let Err(e) = stream.write_all(format!(\"tick {i}\\n\").as_bytes()) {\n            return ended_by(e);\n        }",
            "        if let Err(e) = stream.write_all(format!(\"tick {i}\\n\").as_bytes()) {\n            return if e.kind() == ErrorKind::BrokenPipe { Ok(Ending::BrokenPipe) } else { Err(e) };\n        }",
        )],
        caught_by: "reset-during-flood",
        clause: 5,
    },
    // Turns the heartbeat on (every second) even without --heartbeat.
    Mutant {
        name: "heartbeat-by-default",
        exercise: EX,
        mistake: "pings every second even without --heartbeat",
        file: MAIN,
        replace: &[(
            "Ok((addr, interval.map(|interval| Heartbeat { interval, misses })))",
            "Ok((addr, Some(Heartbeat { interval: interval.unwrap_or(Duration::from_secs(1)), misses })))",
        )],
        caught_by: "no-heartbeat-no-ping",
        clause: 6,
    },
    // Takes only a `pong` line as proof of life.
    Mutant {
        name: "only-pong-proves-life",
        exercise: EX,
        mistake: "resets the miss count only on a `pong` line, not on any bytes",
        file: WATCH,
        replace: &[
            (
                "                // Any bytes prove the peer alive, a pong or anything else.\n                unanswered = 0;\n",
                "",
            ),
            (
                "                    if line == b\"flood\" {",
                "                    if line == b\"pong\" {\n                        unanswered = 0;\n                    }\n                    if line == b\"flood\" {",
            ),
        ],
        caught_by: "slow-peer-alive",
        clause: 8,
    },
    // Declares death as soon as the K-th ping is sent, one interval early. The
    // slow peer answers right after that ping, so this is caught without any
    // timing bound (the silent peer's lower bound can miss it on a loaded machine).
    Mutant {
        name: "dies-at-the-kth-ping",
        exercise: EX,
        mistake: "declares the peer dead right after sending the K-th ping, not one silent interval later",
        file: WATCH,
        replace: &[(
            "                unanswered += 1;\n",
            "                unanswered += 1;\n                if unanswered >= heartbeat.misses {\n                    return Ok(Ending::TimedOut);\n                }\n",
        )],
        caught_by: "slow-peer-alive",
        clause: 9,
    },
    // Sends K + 1 pings before giving up (`>` where `>=` was meant).
    Mutant {
        name: "one-ping-too-many",
        exercise: EX,
        mistake: "sends K + 1 pings into a silence before giving up",
        file: WATCH,
        replace: &[("if unanswered >= heartbeat.misses {", "if unanswered > heartbeat.misses {")],
        caught_by: "silent-peer-heartbeat",
        clause: 9,
    },
    // Uses 2 misses when --misses is not given, instead of 3.
    Mutant {
        name: "default-misses-two",
        exercise: EX,
        mistake: "gives up after 2 misses by default instead of 3",
        file: MAIN,
        replace: &[(
            "let (mut interval, mut misses) = (None, 3);",
            "let (mut interval, mut misses) = (None, 2);",
        )],
        caught_by: "silent-peer-heartbeat",
        clause: 9,
    },
    // Reads --misses but always gives up after 3.
    Mutant {
        name: "ignores-misses",
        exercise: EX,
        mistake: "ignores --misses and always gives up after 3 unanswered pings",
        file: MAIN,
        replace: &[(
            "\"--misses\" => misses = number(\"--misses\")?.max(1) as u32,",
            "\"--misses\" => misses = number(\"--misses\").map(|_| 3)?,",
        )],
        caught_by: "slow-peer-alive",
        clause: 9,
    },
    // Does not classify ETIMEDOUT: the watcher exits with an error instead of `ended: timed out`.
    Mutant {
        name: "etimedout-unclassified",
        exercise: EX,
        mistake: "does not map ETIMEDOUT to an ending",
        file: ENDING,
        replace: &[("ErrorKind::TimedOut => Some(Ending::TimedOut),", "ErrorKind::TimedOut => None,")],
        caught_by: "tcp-gave-up",
        clause: 10,
    },
    // Takes ETIMEDOUT for a read timeout (as code written for Windows, where a
    // read timeout is TimedOut, might): it pings on, then reads the dead
    // socket's 0 bytes as a FIN.
    Mutant {
        name: "etimedout-as-silence",
        exercise: EX,
        mistake: "treats ETIMEDOUT as a silent interval",
        file: WATCH,
        replace: &[(
            "Err(e) if e.kind() == ErrorKind::WouldBlock => {",
            "Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {",
        )],
        caught_by: "tcp-gave-up",
        clause: 10,
    },
    // Prints its `ended:` line, then exits with a non-zero status.
    Mutant {
        name: "exits-non-zero",
        exercise: EX,
        mistake: "exits with status 3 after printing `ended:`",
        file: MAIN,
        replace: &[(
            "Ok(ending) => println!(\"ended: {}\", ending.word()),",
            "Ok(ending) => {\n            println!(\"ended: {}\", ending.word());\n            process::exit(3)\n        }",
        )],
        caught_by: "closed",
        clause: 11,
    },
    // Prints its `ended:` line twice.
    Mutant {
        name: "ends-twice",
        exercise: EX,
        mistake: "prints the `ended:` line twice",
        file: MAIN,
        replace: &[(
            "Ok(ending) => println!(\"ended: {}\", ending.word()),",
            "Ok(ending) => println!(\"ended: {0}\\nended: {0}\", ending.word()),",
        )],
        caught_by: "reset-during-flood",
        clause: 11,
    },
    // Ends the watch when a signal interrupts a read: `Interrupted` goes to
    // `ended_by`, which knows no ending for it, so the watcher fails.
    Mutant {
        name: "interrupted-read-ends",
        exercise: EX,
        mistake: "a read that fails with ErrorKind::Interrupted ends the watch instead of being made again",
        file: WATCH,
        replace: &[("            Err(e) if e.kind() == ErrorKind::Interrupted => {}\n", "")],
        caught_by: "interrupted-reads",
        clause: 12,
    },
    // Takes an interrupted read for a silent interval: pings at once, and
    // counts it as a ping without answer.
    Mutant {
        name: "interrupted-read-as-silence",
        exercise: EX,
        mistake: "a read that fails with ErrorKind::Interrupted counts as a read timeout: it sends a ping",
        file: WATCH,
        replace: &[(
            "            Err(e) if e.kind() == ErrorKind::WouldBlock => {",
            "            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {",
        )],
        caught_by: "interrupted-reads",
        clause: 12,
    },
    // Pings on a fixed cadence, every interval since the last ping, whatever
    // the peer sends: a chatty peer is pinged although it is never silent.
    Mutant {
        name: "pings-on-a-fixed-cadence",
        exercise: EX,
        mistake: "times each ping from the previous ping (a deadline that bytes from the peer do not move), not from the peer's last byte",
        file: WATCH,
        replace: &[
            (
                "    let mut buf = [0u8; 4096];\n    loop {\n        match stream.read(&mut buf) {",
                "    let mut buf = [0u8; 4096];\n    let mut next_ping = std::time::Instant::now() + heartbeat.map_or(Duration::ZERO, |h| h.interval);\n    loop {\n        if heartbeat.is_some() {\n            let left = next_ping.saturating_duration_since(std::time::Instant::now());\n            stream.set_read_timeout(Some(left.max(Duration::from_millis(1))))?;\n        }\n        match stream.read(&mut buf) {",
            ),
            (
                "                unanswered += 1;\n",
                "                unanswered += 1;\n                next_ping = std::time::Instant::now() + heartbeat.interval;\n",
            ),
        ],
        caught_by: "chatty-peer-not-pinged",
        clause: 7,
    },
    // Takes any line that starts with `flood` for the command.
    Mutant {
        name: "flood-prefix",
        exercise: EX,
        mistake: "floods on every line that starts with `flood` (`flooding` too)",
        file: WATCH,
        replace: &[(
            "                    if line == b\"flood\" {",
            "                    if line.starts_with(b\"flood\") {",
        )],
        caught_by: "almost-flood",
        clause: 4,
    },
    // Looks for `flood` at the end of a line, as a search in the text does.
    Mutant {
        name: "flood-suffix",
        exercise: EX,
        mistake: "floods on every line that ends with `flood` (`no flood` too)",
        file: WATCH,
        replace: &[(
            "                    if line == b\"flood\" {",
            "                    if line.ends_with(b\"flood\") {",
        )],
        caught_by: "almost-flood",
        clause: 4,
    },
    // Compares the command without regard to case.
    Mutant {
        name: "flood-any-case",
        exercise: EX,
        mistake: "floods on `Flood` too: compares the line without regard to case",
        file: WATCH,
        replace: &[(
            "                    if line == b\"flood\" {",
            "                    if line.eq_ignore_ascii_case(b\"flood\") {",
        )],
        caught_by: "almost-flood",
        clause: 4,
    },
];

/// Not a mistake: a watcher that writes its reply in three writes, as
/// `writeln!` does, and reports the ending a failed write announces. After a
/// full close the peer's RST can fail a later write with EPIPE, so it may read
/// `ended: broken pipe`, which clause 2 accepts. Once a false fail of the
/// grader; it must pass every test about the reply and the close.
#[test]
fn reply_in_several_writes_passes() {
    let variant = Mutant {
        name: "reply-in-several-writes",
        exercise: EX,
        mistake: "none: the reply goes out in three writes",
        file: WATCH,
        replace: &[(
            "    if let Err(e) = stream.write_all(format!(\"received {received} bytes\\n\").as_bytes()) {",
            "    if let Err(e) = stream\n        .write_all(b\"received \")\n        .and_then(|()| stream.write_all(received.to_string().as_bytes()))\n        .and_then(|()| stream.write_all(b\" bytes\\n\"))\n    {",
        )],
        caught_by: "(none: a correct program)",
        clause: 0,
    };
    let target = variant.build();
    let mut options = crate::util::options();
    options.only = ["closed", "killed-peer-quiet", "half-close", "count-every-byte"]
        .map(String::from)
        .to_vec();
    let report = grader::runner::run_exercise(crate::util::exercise(EX), &target, &options);
    assert_eq!(report.tests.len(), 4, "the four tests should have run");
    for test in &report.tests {
        assert!(
            matches!(test.status, grader::runner::Status::Passed),
            "a correct watcher whose reply goes out in three writes should pass {} but it {}: {}\n{}",
            test.id,
            test.status.word(),
            test.summary,
            test.transcript
        );
    }
}

//! Known-wrong versions of exercise 07, each the reference solution with one
//! mistake that breaks one clause of the contract
//! (docs/src/07-timeouts-and-retries.md).

use crate::util::Mutant;

const EX: &str = "07-timeouts-and-retries";
const MAIN: &str = "src/main.rs";
const ATTEMPT: &str = "src/attempt.rs";
const BACKOFF: &str = "src/backoff.rs";
const CLIENT: &str = "src/client.rs";

/// The known-wrong programs: each entry is one mistake, in one clause.
pub const MUTANTS: &[Mutant] = &[
    // Sends the request without its `\n`: the service never sees a whole line.
    Mutant {
        name: "request-without-newline",
        exercise: EX,
        mistake: "sends `GET KEY` without its newline",
        file: ATTEMPT,
        replace: &[("format!(\"GET {key}\\n\")", "format!(\"GET {key}\")")],
        caught_by: "first-try-value",
        clause: 1,
    },
    // Keeps the first word of `VALUE text` only, as a split on spaces does.
    Mutant {
        name: "value-first-word",
        exercise: EX,
        mistake: "keeps only the first word of the value",
        file: ATTEMPT,
        replace: &[(
            "Outcome::Value(text.to_string())",
            "Outcome::Value(text.split(' ').next().unwrap_or(\"\").to_string())",
        )],
        caught_by: "first-try-value",
        clause: 2,
    },
    // Numbers the attempt lines from 0, as a loop index does.
    Mutant {
        name: "attempts-from-zero",
        exercise: EX,
        mistake: "numbers attempts from 0",
        file: CLIENT,
        replace: &[(
            "_ => println!(\"attempt {k}: {}\", outcome.word()),",
            "_ => println!(\"attempt {}: {}\", k - 1, outcome.word()),",
        )],
        caught_by: "first-try-value",
        clause: 3,
    },
    // A plain `connect`: towards a vanished server it waits for the kernel's SYN retries, about two minutes.
    Mutant {
        name: "no-connect-timeout",
        exercise: EX,
        mistake: "connects with no timeout",
        file: ATTEMPT,
        replace: &[(
            "TcpStream::connect_timeout(&addr, connect_for)",
            "{\n        let _ = connect_for;\n        TcpStream::connect(addr)\n    }",
        )],
        caught_by: "connect-timeout",
        clause: 4,
    },
    // Bounds the connect with the read timeout (2 s in the test) instead of the connect timeout.
    Mutant {
        name: "read-timeout-for-connect",
        exercise: EX,
        mistake: "uses the read timeout for the connect",
        file: ATTEMPT,
        replace: &[("let connect_for = connect_timeout.min(", "let connect_for = read_timeout.min(")],
        caught_by: "connect-timeout",
        clause: 4,
    },
    // No read timeout: a service that accepted and stalls holds the attempt until the deadline.
    Mutant {
        name: "no-read-timeout",
        exercise: EX,
        mistake: "reads the answer with no timeout",
        file: ATTEMPT,
        replace: &[("stream.set_read_timeout(Some(left))", "stream.set_read_timeout(None)")],
        caught_by: "read-timeout",
        clause: 5,
    },
    // The read timeout restarts at every read (plain `set_read_timeout`): an answer trickled one byte at a time never trips it.
    Mutant {
        name: "read-timeout-per-read",
        exercise: EX,
        mistake: "applies the read timeout to each read instead of the whole answer",
        file: ATTEMPT,
        replace: &[(
            "        let left = answer_by.saturating_duration_since(Instant::now());",
            "        let _ = answer_by;\n        let left = read_timeout.min(deadline.saturating_duration_since(Instant::now()));",
        )],
        caught_by: "trickled-answer",
        clause: 5,
    },
    // Gives the answer the connect timeout (100 ms in the test) instead of the read timeout: a slow answer within the read timeout is abandoned.
    Mutant {
        name: "read-timeout-from-connect-timeout",
        exercise: EX,
        mistake: "waits for the answer only as long as the connect timeout",
        file: ATTEMPT,
        replace: &[(
            "let answer_by = (Instant::now() + read_timeout).min(deadline);",
            "let answer_by = (Instant::now() + connect_timeout).min(deadline);",
        )],
        caught_by: "slow-answer-kept",
        clause: 5,
    },
    // Gives up at the first refusal, as if nobody would ever listen on the port.
    Mutant {
        name: "refused-is-final",
        exercise: EX,
        mistake: "treats ECONNREFUSED as final",
        file: ATTEMPT,
        replace: &[
            (
                "Outcome::Busy | Outcome::Closed | Outcome::Refused | Outcome::ConnectTimeout",
                "Outcome::Busy | Outcome::Closed | Outcome::ConnectTimeout",
            ),
            (
                "Outcome::Value(_) | Outcome::Error(_) => false,",
                "Outcome::Value(_) | Outcome::Error(_) | Outcome::Refused => false,",
            ),
        ],
        caught_by: "refused",
        clause: 6,
    },
    // Treats a read that failed (ECONNRESET) as a final answer and gives up.
    Mutant {
        name: "reset-is-final",
        exercise: EX,
        mistake: "treats a reset connection as a final error",
        file: ATTEMPT,
        replace: &[(
            "            Err(e) => return broken(e),",
            "            Err(e) => return Outcome::Error(e.to_string()),",
        )],
        caught_by: "retries-then-value",
        clause: 6,
    },
    // Treats a read of 0 bytes before the answer as a final answer and gives up.
    Mutant {
        name: "eof-is-final",
        exercise: EX,
        mistake: "treats a connection closed before the answer as final",
        file: ATTEMPT,
        replace: &[(
            "Ok(0) => return Outcome::Closed,",
            "Ok(0) => return Outcome::Error(\"the server closed the connection\".into()),",
        )],
        caught_by: "retries-then-value",
        clause: 6,
    },
    // Gives up when the service says `BUSY`, which says "later", not "no".
    Mutant {
        name: "busy-is-final",
        exercise: EX,
        mistake: "treats BUSY as final",
        file: ATTEMPT,
        replace: &[
            (
                "Outcome::Busy | Outcome::Closed | Outcome::Refused",
                "Outcome::Closed | Outcome::Refused",
            ),
            (
                "Outcome::Value(_) | Outcome::Error(_) => false,",
                "Outcome::Value(_) | Outcome::Error(_) | Outcome::Busy => false,",
            ),
        ],
        caught_by: "retries-then-value",
        clause: 6,
    },
    // Retries a definite `ERR`, which only repeats the same answer and adds load.
    Mutant {
        name: "retries-err",
        exercise: EX,
        mistake: "retries an ERR answer",
        file: ATTEMPT,
        replace: &[
            (
                "| Outcome::ReadTimeout | Outcome::Failed(_) => {",
                "| Outcome::ReadTimeout | Outcome::Failed(_) | Outcome::Error(_) => {",
            ),
            ("Outcome::Value(_) | Outcome::Error(_) => false,", "Outcome::Value(_) => false,"),
        ],
        caught_by: "permanent-error",
        clause: 6,
    },
    // The same delay before every retry: no exponential backoff.
    Mutant {
        name: "constant-delay",
        exercise: EX,
        mistake: "waits the base delay before every retry, never doubling it",
        file: BACKOFF,
        replace: &[(
            "let doubled = base.saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)));",
            "let doubled = base;\n    let _ = retry;",
        )],
        caught_by: "retries-then-value",
        clause: 7,
    },
    // Doubles the delay for ever: no cap.
    Mutant {
        name: "no-cap",
        exercise: EX,
        mistake: "doubles the delay without a cap",
        file: BACKOFF,
        replace: &[("let d = doubled.min(cap);", "let d = doubled;\n    let _ = cap;")],
        caught_by: "backoff-capped",
        clause: 7,
    },
    // Waits exactly d: every client that failed together comes back together.
    Mutant {
        name: "no-jitter",
        exercise: EX,
        mistake: "waits exactly d, with no random part",
        file: BACKOFF,
        replace: &[("random_between(d / 2, d)", "random_between(d, d)")],
        caught_by: "jitter",
        clause: 7,
    },
    // "Full jitter", between 0 and d: a good policy, but not the contract's window [d/2, d].
    Mutant {
        name: "full-jitter",
        exercise: EX,
        mistake: "draws the delay between 0 and d instead of d/2 and d",
        file: BACKOFF,
        replace: &[("random_between(d / 2, d)", "random_between(Duration::ZERO, d)")],
        caught_by: "jitter",
        clause: 7,
    },
    // Counts retries instead of attempts: N + 1 connections.
    Mutant {
        name: "one-attempt-too-many",
        exercise: EX,
        mistake: "makes N + 1 attempts",
        file: CLIENT,
        replace: &[
            ("for k in 1..=settings.attempts {", "for k in 1..=settings.attempts + 1 {"),
            ("if k == settings.attempts {", "if k == settings.attempts + 1 {"),
        ],
        caught_by: "gives-up-after-attempts",
        clause: 8,
    },
    // An exclusive range: N − 1 attempts.
    Mutant {
        name: "one-attempt-too-few",
        exercise: EX,
        mistake: "makes N − 1 attempts",
        file: CLIENT,
        replace: &[("for k in 1..=settings.attempts {", "for k in 1..settings.attempts {")],
        caught_by: "retries-then-value",
        clause: 8,
    },
    // Sleeps after every attempt, the last one included, before giving up.
    Mutant {
        name: "sleeps-after-last-attempt",
        exercise: EX,
        mistake: "waits a backoff delay after the last attempt too",
        file: CLIENT,
        replace: &[("        if k == settings.attempts {\n            break;\n        }\n", "")],
        caught_by: "gives-up-after-attempts",
        clause: 8,
    },
    // Takes the deadline a hundred times too long: as good as none.
    Mutant {
        name: "ignores-deadline",
        exercise: EX,
        mistake: "ignores --deadline",
        file: MAIN,
        replace: &[(
            "\"--deadline\" => settings.deadline = started + ms,",
            "\"--deadline\" => settings.deadline = started + ms * 100,",
        )],
        caught_by: "deadline",
        clause: 9,
    },
    // Checks the deadline between attempts only: a connect or read under way runs its whole timeout past it.
    Mutant {
        name: "deadline-between-attempts-only",
        exercise: EX,
        mistake: "checks the deadline only between attempts",
        file: CLIENT,
        replace: &[(
            "            settings.read_timeout,\n            deadline,\n",
            "            settings.read_timeout,\n            Instant::now() + std::time::Duration::from_secs(3600),\n",
        )],
        caught_by: "deadline",
        clause: 9,
    },
    // Sleeps the whole backoff delay although the deadline passes during it.
    Mutant {
        name: "delay-not-cut",
        exercise: EX,
        mistake: "sleeps the whole delay even past the deadline",
        file: CLIENT,
        replace: &[("            thread::sleep(left);\n", "            thread::sleep(wait);\n")],
        caught_by: "deadline",
        clause: 9,
    },
    // Gives up as soon as the next delay would end past the deadline, before the deadline has passed.
    Mutant {
        name: "gives-up-before-deadline",
        exercise: EX,
        mistake: "gives up at once when the next delay would end past the deadline",
        file: CLIENT,
        replace: &[("            thread::sleep(left);\n", "            let _ = left;\n")],
        caught_by: "deadline",
        clause: 9,
    },
];

//! Known-wrong versions of exercise 06, each the reference solution with one mistake.

use crate::util::Mutant;

const EX: &str = "06-udp-ordering";
const WIRE: &str = "src/wire.rs";
const REORDER: &str = "src/reorder.rs";
const RECEIVER: &str = "src/receiver.rs";
const RELIABLE_SENDER: &str = "src/reliable_sender.rs";

/// Delivers every datagram the moment it arrives: out of order.
#[test]
fn delivers_in_arrival_order() {
    Mutant {
        name: "arrival-order",
        exercise: EX,
        mistake: "delivers datagrams in arrival order",
        file: REORDER,
        replace: &[(
            "        let distance = seq_distance(self.next, seq);",
            "        self.next = seq;\n        let distance = seq_distance(self.next, seq);",
        )],
        caught_by: "in-order",
        clause: 0,
    }
    .assert_caught();
}

/// Delivers a copy that arrives after the original was delivered.
#[test]
fn keeps_duplicates() {
    Mutant {
        name: "keeps-duplicates",
        exercise: EX,
        mistake: "delivers duplicates of messages already delivered",
        file: REORDER,
        replace: &[(
            "        if distance < 0 {",
            "        if distance < 0 {\n            events.push(Event::Deliver(seq, payload.to_vec()));",
        )],
        caught_by: "in-order",
        clause: 0,
    }
    .assert_caught();
}

/// Never declares a missing message lost: waits for it forever.
#[test]
fn waits_forever() {
    Mutant {
        name: "waits-forever",
        exercise: EX,
        mistake: "waits forever for a lost message",
        file: REORDER,
        replace: &[(
            "        self.held.iter().flatten().next().map(|(arrived, _)| *arrived + loss_timeout)",
            "        let _ = loss_timeout;\n        None",
        )],
        caught_by: "losses",
        clause: 0,
    }
    .assert_caught();
}

/// Compares sequence numbers as plain integers: wrong at the wrap.
#[test]
fn ignores_wraparound() {
    Mutant {
        name: "ignores-wraparound",
        exercise: EX,
        mistake: "compares sequence numbers without wraparound",
        file: WIRE,
        replace: &[("    to.wrapping_sub(from) as i16 as i32", "    to as i32 - from as i32")],
        caught_by: "wraparound",
        clause: 0,
    }
    .assert_caught();
}

/// Stores every datagram ahead of `next`, however far: an unbounded buffer.
#[test]
fn unbounded_reorder_buffer() {
    Mutant {
        name: "unbounded-buffer",
        exercise: EX,
        mistake: "holds datagrams however far ahead of the window they are",
        file: REORDER,
        replace: &[("        if slot >= self.window {", "        if slot >= usize::MAX {")],
        caught_by: "flood",
        clause: 0,
    }
    .assert_caught();
}

/// Receives into 512 bytes: larger datagrams are silently cut short.
#[test]
fn small_receive_buffer() {
    Mutant {
        name: "512-byte-buffer",
        exercise: EX,
        mistake: "receives into a 512-byte buffer",
        file: RECEIVER,
        replace: &[("    let mut buf = vec![0u8; 64 * 1024];", "    let mut buf = vec![0u8; 512];")],
        caught_by: "max-size",
        clause: 0,
    }
    .assert_caught();
}

/// Reads the header without checking the length: panics on a short datagram.
#[test]
fn panics_on_short_datagram() {
    Mutant {
        name: "panics-on-short",
        exercise: EX,
        mistake: "indexes the header of a datagram shorter than 3 bytes",
        file: WIRE,
        replace: &[("    if bytes.len() < HEADER_LEN {\n        return None;\n    }\n", "")],
        caught_by: "malformed",
        clause: 0,
    }
    .assert_caught();
}

/// Blocks in recv_from with no timeout: no timer, so a lost datagram or ack stalls it.
#[test]
fn no_retransmission_timer() {
    Mutant {
        name: "no-timer",
        exercise: EX,
        mistake: "waits for acknowledgements without a timer, so it never retransmits on its own",
        file: RELIABLE_SENDER,
        replace: &[(
            "        socket.set_read_timeout(Some(wait))?;",
            "        let _ = wait;\n        socket.set_read_timeout(None)?;",
        )],
        caught_by: "reliable",
        clause: 0,
    }
    .assert_caught();
}

/// Retransmits forever when nothing is ever acknowledged.
#[test]
fn never_gives_up() {
    Mutant {
        name: "never-gives-up",
        exercise: EX,
        mistake: "retransmits without ever giving up",
        file: RELIABLE_SENDER,
        replace: &[(
            "                if message.retries == max_retries {",
            "                if message.retries == u32::MAX {",
        )],
        caught_by: "gives-up",
        clause: 0,
    }
    .assert_caught();
}

/// Retransmits every unacknowledged message every millisecond, ignoring its timer.
#[test]
fn retransmits_without_timer() {
    Mutant {
        name: "busy-retransmit",
        exercise: EX,
        mistake: "retransmits on every turn of the loop instead of when the timer runs out",
        file: RELIABLE_SENDER,
        replace: &[
            ("            if now >= message.sent_at + rto {", "            if true {"),
            (
                "        let wait = earliest.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));",
                "        let _ = earliest;\n        let wait = Duration::from_millis(1);",
            ),
        ],
        caught_by: "gives-up",
        clause: 0,
    }
    .assert_caught();
}

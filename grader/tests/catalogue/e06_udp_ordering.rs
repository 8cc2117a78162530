//! Known-wrong versions of exercise 06, each the reference solution with one mistake.

use crate::util::Mutant;

const EX: &str = "06-udp-ordering";
const WIRE: &str = "src/wire.rs";
const REORDER: &str = "src/reorder.rs";
const RECEIVER: &str = "src/receiver.rs";
const SENDER: &str = "src/sender.rs";
const RELIABLE_RECEIVER: &str = "src/reliable_receiver.rs";
const RELIABLE_SENDER: &str = "src/reliable_sender.rs";

/// The known-wrong programs: each entry is one mistake, in one clause.
pub const MUTANTS: &[Mutant] = &[
    // Delivers every datagram the moment it arrives: out of order.
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
        clause: 4,
    },
    // Delivers a copy that arrives after the original was delivered.
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
        clause: 4,
    },
    // Never declares a missing message lost: waits for it forever.
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
        clause: 8,
    },
    // Compares sequence numbers as plain integers: wrong at the wrap.
    Mutant {
        name: "ignores-wraparound",
        exercise: EX,
        mistake: "compares sequence numbers without wraparound",
        file: WIRE,
        replace: &[("    to.wrapping_sub(from) as i16 as i32", "    to as i32 - from as i32")],
        caught_by: "wraparound",
        clause: 6,
    },
    // Stores every datagram ahead of `next`, however far: an unbounded buffer.
    Mutant {
        name: "unbounded-buffer",
        exercise: EX,
        mistake: "holds datagrams however far ahead of the window they are",
        file: REORDER,
        replace: &[("        if slot >= self.window {", "        if slot >= usize::MAX {")],
        caught_by: "flood",
        clause: 7,
    },
    // Receives into 512 bytes: larger datagrams are silently cut short.
    Mutant {
        name: "512-byte-buffer",
        exercise: EX,
        mistake: "receives into a 512-byte buffer",
        file: RECEIVER,
        replace: &[("    let mut buf = vec![0u8; 64 * 1024];", "    let mut buf = vec![0u8; 512];")],
        caught_by: "max-size",
        clause: 5,
    },
    // Reads the header without checking the length: panics on a short datagram.
    Mutant {
        name: "panics-on-short",
        exercise: EX,
        mistake: "indexes the header of a datagram shorter than 3 bytes",
        file: WIRE,
        replace: &[("    if bytes.len() < HEADER_LEN {\n        return None;\n    }\n", "")],
        caught_by: "malformed",
        clause: 3,
    },
    // Blocks in recv_from with no timeout: no timer, so a lost datagram or ack stalls it.
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
        clause: 14,
    },
    // Retransmits forever when nothing is ever acknowledged.
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
        clause: 15,
    },
    // Retransmits every unacknowledged message every millisecond, ignoring its timer.
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
        clause: 14,
    },
    // Writes the sequence number little-endian: the receiver reads another number.
    Mutant {
        name: "le-seq",
        exercise: EX,
        mistake: "encodes the sequence number little-endian",
        file: WIRE,
        replace: &[(
            "    bytes.extend_from_slice(&seq.to_be_bytes());",
            "    bytes.extend_from_slice(&seq.to_le_bytes());",
        )],
        caught_by: "sender",
        clause: 1,
    },
    // Sends every datagram at once, ignoring --interval-ms.
    Mutant {
        name: "unpaced",
        exercise: EX,
        mistake: "sends all messages back to back, without the interval",
        file: SENDER,
        replace: &[("        thread::sleep(interval);", "        let _ = interval;")],
        caught_by: "sender",
        clause: 2,
    },
    // Takes a 3-byte datagram (an empty message) for a malformed one.
    Mutant {
        name: "empty-is-malformed",
        exercise: EX,
        mistake: "rejects a data datagram with an empty payload",
        file: WIRE,
        replace: &[(
            "        DATA => Some(Datagram::Data {",
            "        DATA if bytes.len() > HEADER_LEN => Some(Datagram::Data {",
        )],
        caught_by: "malformed",
        clause: 5,
    },
    // Holds next + W too: a window one wider than asked.
    Mutant {
        name: "window-plus-one",
        exercise: EX,
        mistake: "holds numbers up to next + window instead of next + window - 1",
        file: REORDER,
        replace: &[("        if slot >= self.window {", "        if slot > self.window {")],
        caught_by: "window-edge",
        clause: 7,
    },
    // Drops next + W - 1: a window one narrower than asked.
    Mutant {
        name: "window-minus-one",
        exercise: EX,
        mistake: "drops next + window - 1, the last number inside the window",
        file: REORDER,
        replace: &[("        if slot >= self.window {", "        if slot + 1 >= self.window {")],
        caught_by: "window-edge",
        clause: 7,
    },
    // Reads --loss-timeout-ms as microseconds: late messages are declared lost.
    Mutant {
        name: "timeout-in-micros",
        exercise: EX,
        mistake: "reads the loss timeout as microseconds, so a message held back a few milliseconds is reported lost",
        file: RECEIVER,
        replace: &[(
            "Duration::from_millis(args.get(USAGE, \"loss-timeout-ms\", Some(500)))",
            "Duration::from_micros(args.get(USAGE, \"loss-timeout-ms\", Some(500)))",
        )],
        caught_by: "losses",
        clause: 8,
    },
    // Times a gap from the newest held arrival: every arrival pushes the loss back.
    Mutant {
        name: "timer-from-newest",
        exercise: EX,
        mistake: "times the gap from the latest arrival instead of the first message behind it",
        file: REORDER,
        replace: &[(
            "        self.held.iter().flatten().next().map(|(arrived, _)| *arrived + loss_timeout)",
            "        self.held.iter().flatten().map(|(arrived, _)| *arrived).max().map(|arrived| arrived + loss_timeout)",
        )],
        caught_by: "loss-timing",
        clause: 8,
    },
    // Takes any datagram whose first byte is not 'A' for data.
    Mutant {
        name: "any-kind-is-data",
        exercise: EX,
        mistake: "takes a datagram with an unknown kind byte for data",
        file: WIRE,
        replace: &[(
            "        DATA => Some(Datagram::Data {",
            "        kind if kind != ACK => Some(Datagram::Data {",
        )],
        caught_by: "malformed",
        clause: 9,
    },
    // The reliable receiver prints each delivery twice.
    Mutant {
        name: "reliable-delivers-twice",
        exercise: EX,
        mistake: "the reliable receiver prints every delivery twice",
        file: RELIABLE_RECEIVER,
        replace: &[(
            "                Event::Deliver(seq, payload) => common::print_delivered(seq, &payload),",
            "                Event::Deliver(seq, payload) => {\n                    common::print_delivered(seq, &payload);\n                    common::print_delivered(seq, &payload);\n                }",
        )],
        caught_by: "acks",
        clause: 10,
    },
    // Acknowledges everything to the first address it heard from.
    Mutant {
        name: "acks-first-address",
        exercise: EX,
        mistake: "sends every acknowledgement to the address of the first datagram",
        file: RELIABLE_RECEIVER,
        replace: &[
            (
                "    let mut events = Vec::new();\n    loop {",
                "    let mut events = Vec::new();\n    let mut peer = None;\n    loop {",
            ),
            (
                "socket.send_to(&wire::encode_ack(seq), from)",
                "socket.send_to(&wire::encode_ack(seq), *peer.get_or_insert(from))",
            ),
        ],
        caught_by: "acks",
        clause: 11,
    },
    // Acknowledges only new messages, not duplicates.
    Mutant {
        name: "no-ack-for-duplicates",
        exercise: EX,
        mistake: "does not acknowledge duplicates, whose earlier acknowledgement may have been lost",
        file: RELIABLE_RECEIVER,
        replace: &[(
            "                if arrival != Arrival::OutOfWindow {",
            "                if arrival == Arrival::Accepted {",
        )],
        caught_by: "acks",
        clause: 11,
    },
    // Acknowledges datagrams beyond the window, which it did not keep.
    Mutant {
        name: "acks-out-of-window",
        exercise: EX,
        mistake: "acknowledges data beyond the window, which it dropped",
        file: RELIABLE_RECEIVER,
        replace: &[(
            "                if arrival != Arrival::OutOfWindow {",
            "                if arrival != Arrival::OutOfWindow || true {",
        )],
        caught_by: "acks",
        clause: 11,
    },
    // Stop-and-wait: one message in flight whatever --window says.
    Mutant {
        name: "stop-and-wait",
        exercise: EX,
        mistake: "keeps one message in flight (stop-and-wait) instead of the window",
        file: RELIABLE_SENDER,
        replace: &[("size, window.max(1), rto", "size, 1, rto")],
        caught_by: "in-flight",
        clause: 12,
    },
    // One message more in flight than the window allows.
    Mutant {
        name: "flight-plus-one",
        exercise: EX,
        mistake: "keeps window + 1 messages in flight",
        file: RELIABLE_SENDER,
        replace: &[(
            "        while flight.len() < window && next_index < count {",
            "        while flight.len() <= window && next_index < count {",
        )],
        caught_by: "in-flight",
        clause: 12,
    },
    // Takes 'A' with extra bytes for an acknowledgement.
    Mutant {
        name: "ack-length-unchecked",
        exercise: EX,
        mistake: "takes any datagram starting with 'A' for an acknowledgement, whatever its length",
        file: WIRE,
        replace: &[(
            "        ACK if bytes.len() == HEADER_LEN => Some(Datagram::Ack { seq }),",
            "        ACK => Some(Datagram::Ack { seq }),",
        )],
        caught_by: "in-flight",
        clause: 13,
    },
    // Checks its timers only when recv_from times out, and restarts the wait on
    // every datagram: while anything keeps arriving, nothing is retransmitted.
    Mutant {
        name: "timer-reset-by-arrivals",
        exercise: EX,
        mistake: "retransmits only after a whole --rto-ms without any datagram arriving",
        file: RELIABLE_SENDER,
        replace: &[
            (
                "    let mut buf = [0u8; 64];\n    loop {",
                "    let mut buf = [0u8; 64];\n    let mut timed_out = false;\n    loop {",
            ),
            (
                "        for message in flight.iter_mut().filter(|m| !m.acked) {",
                "        for message in flight.iter_mut().filter(|m| !m.acked && timed_out) {",
            ),
            (
                "        let wait = earliest.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));",
                "        let _ = earliest;\n        let wait = rto;",
            ),
            (
                "            Ok((len, _from)) => {",
                "            Ok((len, _from)) => {\n                timed_out = false;",
            ),
            ("                ) => {}", "                ) => timed_out = true,"),
        ],
        caught_by: "in-flight",
        clause: 14,
    },
    // Gives up after R - 1 retransmissions.
    Mutant {
        name: "gives-up-early",
        exercise: EX,
        mistake: "gives up after --max-retries - 1 retransmissions",
        file: RELIABLE_SENDER,
        replace: &[(
            "                if message.retries == max_retries {",
            "                if message.retries + 1 == max_retries {",
        )],
        caught_by: "gives-up",
        clause: 15,
    },
    // Gives up after R + 1 retransmissions.
    Mutant {
        name: "gives-up-late",
        exercise: EX,
        mistake: "gives up after --max-retries + 1 retransmissions",
        file: RELIABLE_SENDER,
        replace: &[(
            "                if message.retries == max_retries {",
            "                if message.retries == max_retries + 1 {",
        )],
        caught_by: "gives-up",
        clause: 15,
    },
    // Reports success once everything is sent, before it is acknowledged.
    Mutant {
        name: "done-when-sent",
        exercise: EX,
        mistake: "exits with status 0 once every message is sent, without waiting for the acknowledgements",
        file: RELIABLE_SENDER,
        replace: &[(
            "        if flight.is_empty() && next_index == count {",
            "        if next_index == count {",
        )],
        caught_by: "in-flight",
        clause: 16,
    },
    // Ignores --rto-ms and retransmits on its default timer of 200 ms.
    Mutant {
        name: "ignores-rto",
        exercise: EX,
        mistake: "ignores --rto-ms and always waits 200 ms before retransmitting",
        file: RELIABLE_SENDER,
        replace: &[(
            "    let rto = Duration::from_millis(args.get(USAGE, \"rto-ms\", Some(200)));",
            "    let _: u64 = args.get(USAGE, \"rto-ms\", Some(200));\n    let rto = Duration::from_millis(200);",
        )],
        caught_by: "gives-up",
        clause: 14,
    },
    // Stores a duplicate of a held message over the first copy, as a map's
    // `insert` does: its arrival time moves, and the gap's loss timer restarts.
    Mutant {
        name: "held-duplicate-restarts-timer",
        exercise: EX,
        mistake: "a duplicate of a held message replaces the held copy and its arrival time",
        file: REORDER,
        replace: &[(
            "        if self.held[slot].is_some() {\n            return Arrival::Duplicate;\n        }\n",
            "",
        )],
        caught_by: "loss-timing",
        clause: 8,
    },
    // Forgets that a number behind `next` is a duplicate: its negative distance
    // turns into a huge slot, so it is taken for one beyond the window and the
    // reliable receiver no longer acknowledges it again.
    Mutant {
        name: "behind-next-as-beyond-window",
        exercise: EX,
        mistake: "does not tell a datagram behind next (a duplicate of a delivered message) from one beyond the window",
        file: REORDER,
        replace: &[(
            "        if distance < 0 {\n            // Behind `next`: delivered or declared lost long ago. Delivering\n            // it again would hand the application the same message twice.\n            return Arrival::Duplicate;\n        }\n",
            "",
        )],
        caught_by: "acks",
        clause: 11,
    },
];

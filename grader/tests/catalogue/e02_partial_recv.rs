//! Known-wrong versions of exercise 02, each the reference solution with one mistake.

use crate::util::Mutant;

const EX: &str = "02-partial-recv";
const FRAME: &str = "src/frame.rs";
const MAIN: &str = "src/main.rs";

/// The known-wrong programs: each entry is one mistake, in one clause.
pub const MUTANTS: &[Mutant] = &[
    // Assumes one read returns everything asked for: read_full reads once.
    Mutant {
        name: "single-read",
        exercise: EX,
        mistake: "read_full calls read once and assumes the buffer is full",
        file: FRAME,
        replace: &[("    while filled < buf.len() {", "    if filled < buf.len() {")],
        caught_by: "one-byte-segments",
        clause: 3,
    },
    // Takes the client's close (a 0-byte read) for an empty frame, and answers it forever.
    Mutant {
        name: "zero-read-as-empty-frame",
        exercise: EX,
        mistake: "read_frame returns an empty frame when read returns 0, so the server spins answering it",
        file: FRAME,
        replace: &[(
            "            Ok(0) => return Ok(None),",
            "            Ok(0) => return Ok(Some(Vec::new())),",
        )],
        caught_by: "close-mid-header",
        clause: 6,
    },
    // Puts lengths on the wire little-endian (both ways, consistently wrong).
    Mutant {
        name: "little-endian-length",
        exercise: EX,
        mistake: "reads and writes the length as little-endian",
        file: FRAME,
        replace: &[
            ("u32::from_be_bytes(header)", "u32::from_le_bytes(header)"),
            ("&len.to_be_bytes()", "&len.to_le_bytes()"),
        ],
        caught_by: "pipelined-replies",
        clause: 2,
    },
    // Allocates whatever the header announces.
    Mutant {
        name: "no-maximum",
        exercise: EX,
        mistake: "never checks the length against the maximum",
        file: FRAME,
        replace: &[("    if len > max {", "    if false && len > max {")],
        caught_by: "oversized-frame",
        clause: 8,
    },
    // Calls write once and ignores how many bytes it accepted.
    Mutant {
        name: "single-write",
        exercise: EX,
        mistake: "write_full calls write once",
        file: FRAME,
        replace: &[("    while !buf.is_empty() {", "    if !buf.is_empty() {")],
        caught_by: "large-reply",
        clause: 5,
    },
    // Writes replies into the BufWriter and never flushes it.
    Mutant {
        name: "never-flushed",
        exercise: EX,
        mistake: "never flushes the BufWriter, so replies leave only when it fills or the connection ends",
        file: MAIN,
        replace: &[("        writer.flush()?;\n", "")],
        caught_by: "pipelined-replies",
        clause: 4,
    },
    // Reads the header's last three bytes with a single read.
    Mutant {
        name: "header-single-read",
        exercise: EX,
        mistake: "reads the rest of the header with one read",
        file: FRAME,
        replace: &[(
            "    read_full(reader, &mut header[1..]).map_err(|e| explain(e, \"in the middle of a frame header\"))?;",
            "    let _ = reader.read(&mut header[1..])?;",
        )],
        caught_by: "split-header",
        clause: 3,
    },
    // Reads the payload with a single read.
    Mutant {
        name: "payload-single-read",
        exercise: EX,
        mistake: "reads the payload with one read",
        file: FRAME,
        replace: &[(
            "    read_full(reader, &mut payload).map_err(|e| explain(e, \"in the middle of a frame's payload\"))?;",
            "    let _ = reader.read(&mut payload)?;",
        )],
        caught_by: "random-segments",
        clause: 3,
    },
    // Wraps the socket in a new BufReader for every frame, losing what the old one had buffered.
    Mutant {
        name: "bufreader-per-frame",
        exercise: EX,
        mistake: "creates a new BufReader for each frame",
        file: MAIN,
        replace: &[(
            "read_frame(&mut reader, MAX_FRAME)?",
            "read_frame(&mut BufReader::new(&stream), MAX_FRAME)?",
        )],
        caught_by: "coalesced-frames",
        clause: 3,
    },
    // Treats a close in the middle of a buffer as its end: a cut-off frame is answered.
    Mutant {
        name: "eof-ends-buffer",
        exercise: EX,
        mistake: "read_full returns Ok when the peer closes early, leaving zeros in the rest of the buffer",
        file: FRAME,
        replace: &[(
            "            Ok(0) => {\n                return Err(io::Error::new(",
            "            Ok(0) => {\n                return Ok(());\n            }\n            Ok(usize::MAX) => {\n                return Err(io::Error::new(",
        )],
        caught_by: "close-mid-payload",
        clause: 7,
    },
    // Ends the whole server when one client's frame is broken.
    Mutant {
        name: "exits-on-client-error",
        exercise: EX,
        mistake: "exits the process when a client's connection fails",
        file: MAIN,
        replace: &[(
            "                        eprintln!(\"client {peer}: {e}\");\n",
            "                        eprintln!(\"client {peer}: {e}\");\n                        process::exit(1);\n",
        )],
        caught_by: "close-mid-payload",
        clause: 11,
    },
    // Returns Interrupted (EINTR) from read_full instead of retrying.
    Mutant {
        name: "read-interrupted-not-retried",
        exercise: EX,
        mistake: "read_full gives up on ErrorKind::Interrupted",
        file: FRAME,
        replace: &[(
            "            // call read again.\n            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}\n",
            "            // call read again.\n",
        )],
        caught_by: "read-loop-in-process",
        clause: 12,
    },
    // Keeps reading after read returned 0: spins forever at the end of the stream.
    Mutant {
        name: "read-full-ignores-eof",
        exercise: EX,
        mistake: "read_full treats a 0-byte read like any other and reads again",
        file: FRAME,
        replace: &[(
            "            Ok(0) => {\n                return Err(",
            "            Ok(0) if false => {\n                return Err(",
        )],
        caught_by: "read-loop-in-process",
        clause: 13,
    },
    // Returns Interrupted (EINTR) from write_full instead of retrying.
    Mutant {
        name: "write-interrupted-not-retried",
        exercise: EX,
        mistake: "write_full gives up on ErrorKind::Interrupted",
        file: FRAME,
        replace: &[(
            "            Ok(n) => buf = &buf[n..],\n            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}\n",
            "            Ok(n) => buf = &buf[n..],\n",
        )],
        caught_by: "write-loop-in-process",
        clause: 14,
    },
    // Prints the address it was asked for, not the one it is bound to: port 0 instead of the kernel's choice.
    Mutant {
        name: "listening-on-requested-address",
        exercise: EX,
        mistake: "prints `listening on 127.0.0.1:0`, the requested address, instead of the bound one",
        file: MAIN,
        replace: &[(
            "        Ok(bound) => println!(\"listening on {bound}\"),",
            "        Ok(_) => println!(\"listening on {addr}\"),",
        )],
        caught_by: "one-byte-segments",
        clause: 1,
    },
    // Refuses a frame of exactly the maximum: `>=` where `>` is meant.
    Mutant {
        name: "inclusive-maximum",
        exercise: EX,
        mistake: "refuses a length equal to max (`len >= max`)",
        file: FRAME,
        replace: &[("    if len > max {", "    if len >= max {")],
        caught_by: "frame-size-limits",
        clause: 8,
    },
    // Accepts one byte more than the maximum, and waits for its payload.
    Mutant {
        name: "maximum-plus-one",
        exercise: EX,
        mistake: "the server passes MAX_FRAME + 1 as read_frame's maximum",
        file: MAIN,
        replace: &[("read_frame(&mut reader, MAX_FRAME)?", "read_frame(&mut reader, MAX_FRAME + 1)?")],
        caught_by: "frame-size-limits",
        clause: 8,
    },
    // Reads the length from the header's last three bytes: `01 00 00 05` reads as 5.
    Mutant {
        name: "top-byte-ignored",
        exercise: EX,
        mistake: "ignores the header's most significant byte",
        file: FRAME,
        replace: &[(
            "u32::from_be_bytes(header)",
            "u32::from_be_bytes([0, header[1], header[2], header[3]])",
        )],
        caught_by: "frame-size-limits",
        clause: 8,
    },
    // Compares the length with MAX_FRAME instead of the max it was given.
    Mutant {
        name: "ignores-max-argument",
        exercise: EX,
        mistake: "read_frame compares the length with MAX_FRAME, not with its max argument",
        file: FRAME,
        replace: &[("    if len > max {", "    if len > MAX_FRAME {")],
        caught_by: "read-frame-max-in-process",
        clause: 8,
    },
    // Allocates the announced length, then checks it: refuses the frame, but only after reserving 4 GiB.
    Mutant {
        name: "allocates-before-check",
        exercise: EX,
        mistake: "allocates the payload before comparing its length with the maximum",
        file: FRAME,
        replace: &[
            (
                "    if len > max {\n",
                "    let mut payload = vec![0u8; len];\n    if len > max {\n",
            ),
            (
                "    // Only now, with the length checked, is it safe to allocate it.\n    let mut payload = vec![0u8; len];\n",
                "",
            ),
        ],
        caught_by: "oversized-frame",
        clause: 9,
    },
    // Reports a dropped connection without saying which client it was.
    Mutant {
        name: "report-without-address",
        exercise: EX,
        mistake: "prints `error: ...` on stderr, without the client's address",
        file: MAIN,
        replace: &[(
            "                        eprintln!(\"client {peer}: {e}\");\n",
            "                        eprintln!(\"error: {e}\");\n",
        )],
        caught_by: "close-mid-header",
        clause: 10,
    },
    // Refuses an oversized frame without saying how large it was.
    Mutant {
        name: "refusal-without-length",
        exercise: EX,
        mistake: "the refusal's message does not name the announced length",
        file: FRAME,
        replace: &[(
            "format!(\"a frame of {len} bytes is larger than the maximum of {max}\")",
            "format!(\"the frame is larger than the maximum of {max}\")",
        )],
        caught_by: "oversized-frame",
        clause: 10,
    },
    // Takes a 0-byte read for "nothing yet" twice before believing it.
    Mutant {
        name: "eof-read-again",
        exercise: EX,
        mistake: "read_full calls read twice more after it returned 0 before reporting UnexpectedEof",
        file: FRAME,
        replace: &[
            ("    let mut filled = 0;\n", "    let mut filled = 0;\n    let mut zeros = 0;\n"),
            (
                "            Ok(0) => {\n                return Err(io::Error::new(",
                "            Ok(0) if {\n                zeros += 1;\n                zeros < 3\n            } => {}\n            Ok(0) => {\n                return Err(io::Error::new(",
            ),
        ],
        caught_by: "read-loop-in-process",
        clause: 13,
    },
    // Retries every write error, not only `Interrupted`: a writer whose peer is
    // gone (EPIPE) is written to for ever.
    Mutant {
        name: "write-retries-every-error",
        exercise: EX,
        mistake: "write_full retries every error, as if each were Interrupted",
        file: FRAME,
        replace: &[(
            "            Ok(n) => buf = &buf[n..],\n            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}",
            "            Ok(n) => buf = &buf[n..],\n            Err(_) => {}",
        )],
        caught_by: "write-loop-in-process",
        clause: 14,
    },
    // Swallows a write error: the caller is told every byte went out.
    Mutant {
        name: "write-error-swallowed",
        exercise: EX,
        mistake: "write_full returns Ok(()) when write fails with an error other than Interrupted",
        file: FRAME,
        replace: &[(
            "            Ok(n) => buf = &buf[n..],\n            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}\n            Err(e) => return Err(e),",
            "            Ok(n) => buf = &buf[n..],\n            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}\n            Err(_) => return Ok(()),",
        )],
        caught_by: "write-loop-in-process",
        clause: 14,
    },
    // Retries every read error in read_full: a reset connection is read for ever.
    Mutant {
        name: "read-full-retries-every-error",
        exercise: EX,
        mistake: "read_full retries every read error, as if each were Interrupted",
        file: FRAME,
        replace: &[(
            "            // call read again.\n            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}",
            "            // call read again.\n            Err(_) => {}",
        )],
        caught_by: "read-loop-in-process",
        clause: 12,
    },
    // Takes a failed first read for the peer's clean close: a reset between
    // frames looks like a goodbye.
    Mutant {
        name: "read-frame-error-as-close",
        exercise: EX,
        mistake: "read_frame returns Ok(None), a clean close, when the read of a header's first byte fails",
        file: FRAME,
        replace: &[(
            "            Ok(_) => break,\n            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}\n            Err(e) => return Err(e),",
            "            Ok(_) => break,\n            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}\n            Err(_) => return Ok(None),",
        )],
        caught_by: "read-loop-in-process",
        clause: 12,
    },
];

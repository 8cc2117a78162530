//! Known-wrong versions of exercise 03, each the reference solution with one mistake.

use crate::util::Mutant;

const EX: &str = "03-nonblocking-select";
const MAIN: &str = "src/main.rs";

/// The known-wrong programs: each entry is one mistake, in one clause.
pub const MUTANTS: &[Mutant] = &[
    // Leaves accepted sockets blocking: after reading a line, the next read
    // waits for the sender to say more, and the whole room stops.
    Mutant {
        name: "blocks-on-read",
        exercise: EX,
        mistake: "leaves client sockets in blocking mode",
        file: MAIN,
        replace: &[(
            "if let Err(e) = stream.set_nonblocking(true) {",
            "if let Err(e) = stream.set_nonblocking(false) {",
        )],
        caught_by: "silent-client",
        clause: 9,
    },
    // Reads every client each round, whatever poll said, on blocking sockets:
    // the first client with nothing to say stops the server.
    Mutant {
        name: "reads-every-client",
        exercise: EX,
        mistake: "reads every (blocking) client each round instead of the ones poll reported",
        file: MAIN,
        replace: &[
            (
                "if let Err(e) = stream.set_nonblocking(true) {",
                "if let Err(e) = stream.set_nonblocking(false) {",
            ),
            (
                "            if !readable.get(i).copied().unwrap_or(false) {",
                "            if readable.is_empty() && false {",
            ),
        ],
        caught_by: "silent-client",
        clause: 9,
    },
    // Polls with a zero timeout: the loop never sleeps.
    Mutant {
        name: "busy-loop",
        exercise: EX,
        mistake: "polls with a zero timeout, spinning on WouldBlock",
        file: MAIN,
        replace: &[(
            "    match poll(&mut fds, PollTimeout::NONE) {",
            "    match poll(&mut fds, PollTimeout::ZERO) {",
        )],
        caught_by: "no-busy-loop",
        clause: 16,
    },
    // Asks for POLLOUT on every socket: an idle socket is always writable, so
    // poll returns at once, forever.
    Mutant {
        name: "always-pollout",
        exercise: EX,
        mistake: "asks for POLLOUT even when nothing is queued",
        file: MAIN,
        replace: &[(
            "        if !client.outbox.is_empty() {\n            events |= PollFlags::POLLOUT;",
            "        if !client.closed {\n            events |= PollFlags::POLLOUT;",
        )],
        caught_by: "no-busy-loop",
        clause: 16,
    },
    // Throws the outbox away after a write that took only part of it.
    Mutant {
        name: "drops-partial-write",
        exercise: EX,
        mistake: "clears the outbox after a partial write",
        file: MAIN,
        replace: &[(
            "                    self.outbox.drain(..n);",
            "                    self.outbox.clear();",
        )],
        caught_by: "slow-reader",
        clause: 10,
    },
    // Switches the socket to blocking for each write: a client that does not
    // read stops the loop once its buffers are full.
    Mutant {
        name: "blocking-writes",
        exercise: EX,
        mistake: "writes in blocking mode, waiting for the slow client",
        file: MAIN,
        replace: &[(
            "            match self.stream.write(front) {",
            "            self.stream.set_nonblocking(false)?;\n            let written = self.stream.write(front);\n            self.stream.set_nonblocking(true)?;\n            match written {",
        )],
        caught_by: "slow-reader",
        clause: 10,
    },
    // Ignores end of file: a client that left stays in the room, its socket
    // open and reported readable forever.
    Mutant {
        name: "never-removes-closed",
        exercise: EX,
        mistake: "never marks a client closed when read returns 0",
        file: MAIN,
        replace: &[(
            "                Ok(0) => {\n                    self.closed = true;\n                    return Ok(());",
            "                Ok(0) => {\n                    return Ok(());",
        )],
        caught_by: "disconnects",
        clause: 11,
    },
    // Lets one client's ECONNRESET end the whole server.
    Mutant {
        name: "exits-on-reset",
        exercise: EX,
        mistake: "returns a client's read error from the event loop",
        file: MAIN,
        replace: &[(
            "            if let Err(e) = client.read_available() {\n                eprintln!(\"client {}: {e}\", client.peer);\n                client.closed = true;\n            }",
            "            client.read_available()?;",
        )],
        caught_by: "disconnects",
        clause: 12,
    },
    // Starts a thread for every client (here one that only waits).
    Mutant {
        name: "thread-per-client",
        exercise: EX,
        mistake: "starts a thread per client",
        file: MAIN,
        replace: &[(
            "                clients.push(client);",
            "                std::thread::spawn(|| {\n                    loop {\n                        std::thread::park();\n                    }\n                });\n                clients.push(client);",
        )],
        caught_by: "one-thread",
        clause: 15,
    },
    // Sends each line back to its sender too.
    Mutant {
        name: "echoes-to-sender",
        exercise: EX,
        mistake: "delivers a line to its sender as well",
        file: MAIN,
        replace: &[("        if i != from && !client.closed {", "        if !client.closed {")],
        caught_by: "broadcast",
        clause: 4,
    },
    // Takes everything up to the last `\n` as one line: several lines that
    // arrive together get one prefix.
    Mutant {
        name: "one-message-per-read",
        exercise: EX,
        mistake: "delivers all complete lines of a read as one message",
        file: MAIN,
        replace: &[(
            "    while let Some(len) = inbox[start..].iter().position(|&b| b == b'\\n') {",
            "    while let Some(len) = inbox[start..].iter().rposition(|&b| b == b'\\n') {",
        )],
        caught_by: "framing",
        clause: 5,
    },
    // Throws away the start of a line whose end has not arrived yet.
    Mutant {
        name: "drops-partial-lines",
        exercise: EX,
        mistake: "clears the inbox after taking the complete lines",
        file: MAIN,
        replace: &[("    inbox.drain(..start);", "    inbox.clear();")],
        caught_by: "framing",
        clause: 5,
    },
    // Waits with select(2): nix's FdSet panics on the first descriptor at or
    // above FD_SETSIZE (1024).
    Mutant {
        name: "uses-select",
        exercise: EX,
        mistake: "waits with select(2), which cannot watch descriptors >= FD_SETSIZE",
        file: MAIN,
        replace: &[(
            "fn wait_for_events(listener: &TcpListener, clients: &[Client]) -> io::Result<(bool, Vec<bool>)> {",
            "fn wait_for_events(listener: &TcpListener, clients: &[Client]) -> io::Result<(bool, Vec<bool>)> {
    use nix::sys::select::{FdSet, select};
    let mut readers = FdSet::new();
    let mut writers = FdSet::new();
    readers.insert(listener.as_fd());
    for client in clients {
        readers.insert(client.stream.as_fd());
        if !client.outbox.is_empty() {
            writers.insert(client.stream.as_fd());
        }
    }
    match select(None, Some(&mut readers), Some(&mut writers), None, None::<&mut nix::sys::time::TimeVal>) {
        Ok(_) => {}
        Err(Errno::EINTR) => return Ok((false, vec![false; clients.len()])),
        Err(e) => return Err(e.into()),
    }
    let readable = clients.iter().map(|c| readers.contains(c.stream.as_fd())).collect();
    Ok((readers.contains(listener.as_fd()), readable))
}

#[allow(dead_code)]
fn wait_for_events_with_poll(listener: &TcpListener, clients: &[Client]) -> io::Result<(bool, Vec<bool>)> {",
        )],
        caught_by: "many-clients",
        clause: 14,
    },
    // Prints the address it was asked for instead of the one the kernel bound:
    // with port 0 the line says `:0`, which nobody can connect to.
    Mutant {
        name: "prints-requested-address",
        exercise: EX,
        mistake: "prints the address from the command line, not the bound one",
        file: MAIN,
        replace: &[(
            "        Ok(bound) => println!(\"listening on {bound}\"),",
            "        Ok(_) => println!(\"listening on {addr}\"),",
        )],
        caught_by: "broadcast",
        clause: 1,
    },
    // Greets a client with its IP address only, without the port.
    Mutant {
        name: "greets-without-port",
        exercise: EX,
        mistake: "greets with `hello IP` instead of `hello IP:PORT`",
        file: MAIN,
        replace: &[(
            "client.queue(format!(\"hello {peer}\\n\").as_bytes());",
            "client.queue(format!(\"hello {}\\n\", peer.ip()).as_bytes());",
        )],
        caught_by: "broadcast",
        clause: 2,
    },
    // Turns each line into a String on the way: bytes that are not UTF-8
    // become U+FFFD.
    Mutant {
        name: "lossy-utf8",
        exercise: EX,
        mistake: "relays String::from_utf8_lossy(line) instead of the bytes",
        file: MAIN,
        replace: &[(
            "    message.extend_from_slice(line);",
            "    message.extend_from_slice(String::from_utf8_lossy(line).as_bytes());",
        )],
        caught_by: "framing",
        clause: 3,
    },
    // A line buffer of 64 KiB: a line that fills it before its `\n` arrives
    // is thrown away, and its tail arrives as a line of its own.
    Mutant {
        name: "caps-line-length",
        exercise: EX,
        mistake: "drops a line once 64 KiB of it arrived without its end",
        file: MAIN,
        replace: &[(
            "                    self.inbox.extend_from_slice(&buf[..n]);",
            "                    self.inbox.extend_from_slice(&buf[..n]);\n                    if self.inbox.len() >= 64 * 1024 && !self.inbox.contains(&b'\\n') {\n                        self.inbox.clear();\n                    }",
        )],
        caught_by: "long-line",
        clause: 6,
    },
    // Drops a client as soon as its read returns 0, without delivering the
    // complete lines that arrived in the same read.
    Mutant {
        name: "drops-last-lines",
        exercise: EX,
        mistake: "skips the lines of a client whose read ended in end of file",
        file: MAIN,
        replace: &[(
            "            for line in take_lines(&mut client.inbox) {",
            "            if client.closed {\n                continue;\n            }\n            for line in take_lines(&mut client.inbox) {",
        )],
        caught_by: "last-lines",
        clause: 7,
    },
    // Ends a client's unfinished last line for it when the client leaves, and
    // delivers it.
    Mutant {
        name: "delivers-unfinished-line",
        exercise: EX,
        mistake: "completes and delivers the unfinished last line of a client that closes",
        file: MAIN,
        replace: &[(
            "                Ok(0) => {\n                    self.closed = true;",
            "                Ok(0) => {\n                    if !self.inbox.is_empty() {\n                        self.inbox.push(b'\\n');\n                    }\n                    self.closed = true;",
        )],
        caught_by: "last-lines",
        clause: 8,
    },
    // Ends the program when a client leaves: what is left is a zombie, whose
    // /proc entry reads as a sleeping process.
    Mutant {
        name: "exits-when-a-client-leaves",
        exercise: EX,
        mistake: "exits when a read returns 0",
        file: MAIN,
        replace: &[(
            "                Ok(0) => {\n                    self.closed = true;\n                    return Ok(());\n                }",
            "                Ok(0) => process::exit(0),",
        )],
        caught_by: "no-busy-loop",
        clause: 11,
    },
    // Writes queued output before reading, and lets a write error end the
    // program: a client that resets with output queued for it ends the room.
    Mutant {
        name: "exits-on-write-error",
        exercise: EX,
        mistake: "returns a client's write error from the event loop",
        file: MAIN,
        replace: &[(
            "        if new_connections {\n            accept_all(&listener, &mut clients);\n        }",
            "        if new_connections {\n            accept_all(&listener, &mut clients);\n        }\n        for client in clients.iter_mut().filter(|c| !c.outbox.is_empty()) {\n            client.flush()?;\n        }",
        )],
        caught_by: "reset-while-queued",
        clause: 12,
    },
    // Ends the program when accept fails (EMFILE when out of descriptors).
    Mutant {
        name: "exits-on-accept-error",
        exercise: EX,
        mistake: "exits when accept fails",
        file: MAIN,
        replace: &[(
            "                eprintln!(\"accept failed: {e}\");\n                return;",
            "                eprintln!(\"accept failed: {e}\");\n                process::exit(1);",
        )],
        caught_by: "out-of-descriptors",
        clause: 13,
    },
    // Accepts on a helper thread that lives only as long as `accept_all`.
    Mutant {
        name: "helper-thread-per-accept",
        exercise: EX,
        mistake: "runs accept_all on a short-lived scoped thread",
        file: MAIN,
        replace: &[(
            "        if new_connections {\n            accept_all(&listener, &mut clients);\n        }",
            "        if new_connections {\n            std::thread::scope(|s| {\n                s.spawn(|| accept_all(&listener, &mut clients));\n            });\n        }",
        )],
        caught_by: "one-thread",
        clause: 15,
    },
    // Naps 1 ms between zero-timeout polls: seldom runnable and cheap in CPU,
    // but awake a thousand times a second.
    Mutant {
        name: "naps-between-polls",
        exercise: EX,
        mistake: "sleeps 1 ms, then polls with a zero timeout",
        file: MAIN,
        replace: &[(
            "    match poll(&mut fds, PollTimeout::NONE) {",
            "    std::thread::sleep(std::time::Duration::from_millis(1));\n    match poll(&mut fds, PollTimeout::ZERO) {",
        )],
        caught_by: "no-busy-loop",
        clause: 16,
    },
    // Polls with a zero timeout while any output is queued: idle rooms sleep,
    // but a client that does not read makes the loop spin.
    Mutant {
        name: "spins-while-output-waits",
        exercise: EX,
        mistake: "polls with a zero timeout while an outbox is not empty",
        file: MAIN,
        replace: &[(
            "    match poll(&mut fds, PollTimeout::NONE) {",
            "    let timeout = if clients.iter().any(|c| !c.outbox.is_empty()) { PollTimeout::ZERO } else { PollTimeout::NONE };\n    match poll(&mut fds, timeout) {",
        )],
        caught_by: "asleep-while-queued",
        clause: 16,
    },
    // Reads a client until WouldBlock: the per-round cap never applies
    // (`taken` stays 0), so a client whose bytes keep coming is read for as
    // long as they come, and the others' lines wait.
    Mutant {
        name: "reads-until-wouldblock",
        exercise: EX,
        mistake: "reads each client until WouldBlock, with no cap per round",
        file: MAIN,
        replace: &[("                    taken += n;", "                    taken *= n;")],
        caught_by: "fair-turns",
        clause: 17,
    },
];

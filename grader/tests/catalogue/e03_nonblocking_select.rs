//! Known-wrong versions of exercise 03, each the reference solution with one mistake.

use crate::util::Mutant;

const EX: &str = "03-nonblocking-select";
const MAIN: &str = "src/main.rs";

/// Leaves accepted sockets blocking: after reading a line, the next read
/// waits for the sender to say more, and the whole room stops.
#[test]
fn blocks_on_read() {
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
        clause: 0,
    }
    .assert_caught();
}

/// Reads every client each round, whatever poll said, on blocking sockets:
/// the first client with nothing to say stops the server.
#[test]
fn reads_every_client() {
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
        clause: 0,
    }
    .assert_caught();
}

/// Polls with a zero timeout: the loop never sleeps.
#[test]
fn busy_loop() {
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
        clause: 0,
    }
    .assert_caught();
}

/// Asks for POLLOUT on every socket: an idle socket is always writable, so
/// poll returns at once, forever.
#[test]
fn always_pollout() {
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
        clause: 0,
    }
    .assert_caught();
}

/// Throws the outbox away after a write that took only part of it.
#[test]
fn drops_partial_write() {
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
        clause: 0,
    }
    .assert_caught();
}

/// Switches the socket to blocking for each write: a client that does not
/// read stops the loop once its buffers are full.
#[test]
fn blocking_writes() {
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
        clause: 0,
    }
    .assert_caught();
}

/// Ignores end of file: a client that left stays in the room, its socket
/// open and reported readable forever.
#[test]
fn never_removes_closed() {
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
        clause: 0,
    }
    .assert_caught();
}

/// Lets one client's ECONNRESET end the whole server.
#[test]
fn exits_on_reset() {
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
        clause: 0,
    }
    .assert_caught();
}

/// Starts a thread for every client (here one that only waits).
#[test]
fn thread_per_client() {
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
        clause: 0,
    }
    .assert_caught();
}

/// Sends each line back to its sender too.
#[test]
fn echoes_to_sender() {
    Mutant {
        name: "echoes-to-sender",
        exercise: EX,
        mistake: "delivers a line to its sender as well",
        file: MAIN,
        replace: &[("        if i != from && !client.closed {", "        if !client.closed {")],
        caught_by: "broadcast",
        clause: 0,
    }
    .assert_caught();
}

/// Takes everything up to the last `\n` as one line: several lines that
/// arrive together get one prefix.
#[test]
fn one_message_per_read() {
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
        clause: 0,
    }
    .assert_caught();
}

/// Throws away the start of a line whose end has not arrived yet.
#[test]
fn drops_partial_lines() {
    Mutant {
        name: "drops-partial-lines",
        exercise: EX,
        mistake: "clears the inbox after taking the complete lines",
        file: MAIN,
        replace: &[("    inbox.drain(..start);", "    inbox.clear();")],
        caught_by: "framing",
        clause: 0,
    }
    .assert_caught();
}

/// Waits with select(2): nix's FdSet panics on the first descriptor at or
/// above FD_SETSIZE (1024).
#[test]
fn uses_select() {
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
        clause: 0,
    }
    .assert_caught();
}

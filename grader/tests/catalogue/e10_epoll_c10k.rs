//! Known-wrong versions of exercise 10, each the reference solution with one mistake.

use crate::util::Mutant;

const EX: &str = "10-epoll-c10k";
const MAIN: &str = "src/main.rs";

/// The known-wrong programs: each entry is one mistake, in one clause.
pub const MUTANTS: &[Mutant] = &[
    // Prints the address it was asked for, port 0 included, instead of the one
    // the kernel bound.
    Mutant {
        name: "prints-requested-address",
        exercise: EX,
        mistake: "prints the requested address instead of listener.local_addr()",
        file: MAIN,
        replace: &[(
            "println!(\"listening on {}\", listener.local_addr()?);",
            "println!(\"listening on {addr}\");",
        )],
        caught_by: "broadcast",
        clause: 1,
    },
    // Greets with a line of its own instead of the contract's.
    Mutant {
        name: "wrong-greeting",
        exercise: EX,
        mistake: "greets with `welcome <peer>` instead of `hello <peer>`",
        file: MAIN,
        replace: &[("format!(\"hello {peer}\\n\")", "format!(\"welcome {peer}\\n\")")],
        caught_by: "broadcast",
        clause: 2,
    },
    // Sends each line back to its sender too.
    Mutant {
        name: "echoes-to-sender",
        exercise: EX,
        mistake: "queues a line for its sender as well",
        file: MAIN,
        replace: &[(
            "if i != from && self.slots[i].as_ref().is_some_and(|c| !c.closed) {",
            "if self.slots[i].as_ref().is_some_and(|c| !c.closed) {",
        )],
        caught_by: "broadcast",
        clause: 3,
    },
    // Delivers the unfinished end of each read as if it were a line.
    Mutant {
        name: "read-is-a-line",
        exercise: EX,
        mistake: "delivers what is left after the last \\n as a line of its own",
        file: MAIN,
        replace: &[(
            "        inbox.drain(..start);\n        lines",
            "        if start < inbox.len() {\n            lines.push(inbox[start..].to_vec());\n            start = inbox.len();\n        }\n        inbox.drain(..start);\n        lines",
        )],
        caught_by: "framing",
        clause: 4,
    },
    // Reads one buffer per EPOLLIN event: edge-triggered, the rest waits for
    // an event that never comes.
    Mutant {
        name: "one-read-per-event",
        exercise: EX,
        mistake: "reads once per edge-triggered event instead of until WouldBlock",
        file: MAIN,
        replace: &[(
            "Ok(n) => self.inbox.extend_from_slice(&buf[..n]),",
            "Ok(n) => {\n                        self.inbox.extend_from_slice(&buf[..n]);\n                        return Ok(());\n                    }",
        )],
        caught_by: "burst",
        clause: 5,
    },
    // Registers clients level-triggered (no EPOLLET). It serves correctly, but
    // it is not the task, and /proc/PID/fdinfo shows it.
    Mutant {
        name: "level-triggered",
        exercise: EX,
        mistake: "registers clients without EPOLLET",
        file: MAIN,
        replace: &[
            (
                ".add(&stream, EpollEvent::new(EpollFlags::EPOLLIN | EpollFlags::EPOLLET, i as u64))?;",
                ".add(&stream, EpollEvent::new(EpollFlags::EPOLLIN, i as u64))?;",
            ),
            (
                "let mut flags = EpollFlags::EPOLLIN | EpollFlags::EPOLLET;",
                "let mut flags = EpollFlags::EPOLLIN;",
            ),
        ],
        caught_by: "edge-triggered",
        clause: 6,
    },
    // Watches every client for EPOLLOUT from the start and never stops.
    // Edge-triggered it does not spin, so only the registration shows it.
    Mutant {
        name: "always-epollout",
        exercise: EX,
        mistake: "registers every client with EPOLLOUT, whether output waits or not",
        file: MAIN,
        replace: &[
            (
                ".add(&stream, EpollEvent::new(EpollFlags::EPOLLIN | EpollFlags::EPOLLET, i as u64))?;",
                ".add(&stream, EpollEvent::new(EpollFlags::EPOLLIN | EpollFlags::EPOLLOUT | EpollFlags::EPOLLET, i as u64))?;",
            ),
            ("watching_output: false,", "watching_output: true,"),
            ("if waiting != client.watching_output {", "if waiting && !client.watching_output {"),
        ],
        caught_by: "edge-triggered",
        clause: 6,
    },
    // Never asks for EPOLLOUT: what a full socket did not take waits until
    // something else happens to that client.
    Mutant {
        name: "never-epollout",
        exercise: EX,
        mistake: "never watches a client for EPOLLOUT",
        file: MAIN,
        replace: &[(
            "                    if waiting {\n                        flags |= EpollFlags::EPOLLOUT;\n                    }\n",
            "",
        )],
        caught_by: "slow-reader-among-thousands",
        clause: 7,
    },
    // Writes in blocking mode: a client that does not read stops the loop
    // once its socket is full.
    Mutant {
        name: "blocking-writes",
        exercise: EX,
        mistake: "writes in blocking mode, waiting for the slow client",
        file: MAIN,
        replace: &[(
            "                match self.stream.write(front) {",
            "                self.stream.set_nonblocking(false)?;\n                let written = self.stream.write(front);\n                self.stream.set_nonblocking(true)?;\n                match written {",
        )],
        caught_by: "slow-reader-among-thousands",
        clause: 7,
    },
    // Throws the outbox away after a write that took only part of it.
    Mutant {
        name: "drops-partial-write",
        exercise: EX,
        mistake: "clears the outbox after a partial write",
        file: MAIN,
        replace: &[(
            "                        self.outbox.drain(..n);",
            "                        self.outbox.clear();",
        )],
        caught_by: "slow-reader-among-thousands",
        clause: 7,
    },
    // Forgets the clients that left without closing their sockets.
    Mutant {
        name: "leaks-sockets",
        exercise: EX,
        mistake: "never closes the socket of a client that left",
        file: MAIN,
        replace: &[("                    drop(client);", "                    std::mem::forget(client);")],
        caught_by: "disconnects",
        clause: 8,
    },
    // Lets one client's ECONNRESET end the whole server.
    Mutant {
        name: "exits-on-reset",
        exercise: EX,
        mistake: "returns a client's read error from the event loop",
        file: MAIN,
        replace: &[(
            "                    if let Err(e) = client.read_all() {\n                        eprintln!(\"client {}: {e}\", client.peer);\n                        client.closed = true;\n                    }",
            "                    client.read_all()?;",
        )],
        caught_by: "disconnects",
        clause: 9,
    },
    // Accepts one connection per event of the edge-triggered listener: the
    // others wait in the queue for an event that comes only with the next
    // connection.
    Mutant {
        name: "one-accept-per-event",
        exercise: EX,
        mistake: "accepts once per edge-triggered event instead of until WouldBlock",
        file: MAIN,
        replace: &[(
            "                        if let Err(e) = self.admit(stream, peer) {\n                            eprintln!(\"client {peer}: {e}\");\n                        }",
            "                        if let Err(e) = self.admit(stream, peer) {\n                            eprintln!(\"client {peer}: {e}\");\n                        }\n                        return;",
        )],
        caught_by: "c10k",
        clause: 10,
    },
    // Starts a thread for every client (here one that only waits).
    Mutant {
        name: "thread-per-client",
        exercise: EX,
        mistake: "starts a thread per client",
        file: MAIN,
        replace: &[(
            "            self.queue(i, format!(\"hello {peer}\\n\").as_bytes());",
            "            std::thread::spawn(|| {\n                loop {\n                    std::thread::park();\n                }\n            });\n            self.queue(i, format!(\"hello {peer}\\n\").as_bytes());",
        )],
        caught_by: "one-thread",
        clause: 11,
    },
    // Waits with a zero timeout: the loop never sleeps.
    Mutant {
        name: "busy-loop",
        exercise: EX,
        mistake: "waits in epoll_wait with a zero timeout",
        file: MAIN,
        replace: &[(
            "room.epoll.wait(&mut events, EpollTimeout::NONE)",
            "room.epoll.wait(&mut events, EpollTimeout::ZERO)",
        )],
        caught_by: "no-busy-loop",
        clause: 12,
    },
];

//! Known-wrong versions of exercise 04, each the reference solution with one
//! mistake that breaks one clause of the contract (docs/src/04-keepalive.md).

use crate::util::Mutant;

const EX: &str = "04-keepalive";
const KEEPALIVE: &str = "src/keepalive.rs";
const SERVER: &str = "src/server.rs";
const CLIENT: &str = "src/client.rs";

/// The known-wrong programs: each entry is one mistake, in one clause.
pub const MUTANTS: &[Mutant] = &[
    // Prints the address it was asked for (port 0) instead of the one it is bound to.
    Mutant {
        name: "listening-requested-address",
        exercise: EX,
        mistake: "prints `listening on` with the requested address instead of the bound one",
        file: SERVER,
        replace: &[(
            "    println!(\"listening on {}\", listener.local_addr()?);",
            "    println!(\"listening on {addr}\");",
        )],
        caught_by: "server-options",
        clause: 1,
    },
    // Serves each client on the accepting thread, one after another.
    Mutant {
        name: "one-client-at-a-time",
        exercise: EX,
        mistake: "serves clients one at a time instead of a thread per client",
        file: SERVER,
        replace: &[(
            "                thread::spawn(move || match handle_client(stream, &settings) {\n                    Ok(()) => println!(\"{peer} closed the connection\"),\n                    Err(e) => println!(\"{peer} is gone: {e}\"),\n                });",
            "                let _ = thread::current;\n                match handle_client(stream, &settings) {\n                    Ok(()) => println!(\"{peer} closed the connection\"),\n                    Err(e) => println!(\"{peer} is gone: {e}\"),\n                }",
        )],
        caught_by: "serves-clients-at-once",
        clause: 2,
    },
    // Echoes each line with its trailing whitespace trimmed (`\r`, spaces, tabs), as `lines()` and `trim_end` do.
    Mutant {
        name: "echo-trims-lines",
        exercise: EX,
        mistake: "echoes each line trimmed of trailing whitespace instead of byte for byte",
        file: SERVER,
        replace: &[(
            "        writer.write_all(&line)?;",
            "        writer.write_all(&[String::from_utf8_lossy(&line).trim_end().as_bytes(), b\"\\n\"].concat())?;",
        )],
        caught_by: "serves-clients-at-once",
        clause: 2,
    },
    // Never turns keepalive on: SO_KEEPALIVE stays off.
    Mutant {
        name: "no-keepalive",
        exercise: EX,
        mistake: "keepalive never enabled",
        file: KEEPALIVE,
        replace: &[(
            "    SockRef::from(stream).set_tcp_keepalive(&params)",
            "    let _ = params;\n    Ok(())",
        )],
        caught_by: "server-options",
        clause: 3,
    },
    // Sets the idle time only: 75 s between probes and 9 probes come from the system.
    Mutant {
        name: "idle-only",
        exercise: EX,
        mistake: "keepalive idle time set, interval and probe count left at the system defaults",
        file: KEEPALIVE,
        replace: &[(
            "        .with_time(settings.idle)\n        .with_interval(settings.interval)\n        .with_retries(settings.count);",
            "        .with_time(settings.idle);",
        )],
        caught_by: "server-options",
        clause: 3,
    },
    // Turns keepalive on in the client only; the server's accepted sockets have none.
    Mutant {
        name: "server-without-keepalive",
        exercise: EX,
        mistake: "the server never enables keepalive on accepted sockets",
        file: SERVER,
        replace: &[("    keepalive::enable(&stream, settings)?;", "    let _ = settings;")],
        caught_by: "server-options",
        clause: 3,
    },
    // Reads again after a read returned 0 bytes: the thread spins and never closes the socket.
    Mutant {
        name: "spins-on-eof",
        exercise: EX,
        mistake: "treats a 0-byte read as an empty line and reads again",
        file: SERVER,
        replace: &[(
            "        if reader.read_until(b'\\n', &mut line)? == 0 {\n            return Ok(());\n        }",
            "        if reader.read_until(b'\\n', &mut line)? == 0 {\n            continue;\n        }",
        )],
        caught_by: "server-releases-closed-clients",
        clause: 4,
    },
    // Exits the whole server when one client's connection fails (a reset, for example).
    Mutant {
        name: "exits-on-client-error",
        exercise: EX,
        mistake: "the server exits when one client's read fails",
        file: SERVER,
        replace: &[(
            "                    Err(e) => println!(\"{peer} is gone: {e}\"),",
            "                    Err(e) => {\n                        eprintln!(\"{peer} is gone: {e}\");\n                        std::process::exit(1)\n                    }",
        )],
        caught_by: "server-releases-closed-clients",
        clause: 4,
    },
    // Polls a non-blocking listener in a loop: the accepting thread never sleeps.
    Mutant {
        name: "busy-accept",
        exercise: EX,
        mistake: "the accept loop spins on a non-blocking listener",
        file: SERVER,
        replace: &[
            (
                "    println!(\"listening on {}\", listener.local_addr()?);",
                "    println!(\"listening on {}\", listener.local_addr()?);\n    listener.set_nonblocking(true)?;",
            ),
            (
                "            Err(e) => eprintln!(\"accept failed: {e}\"),",
                "            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}\n            Err(e) => eprintln!(\"accept failed: {e}\"),",
            ),
        ],
        caught_by: "server-releases-closed-clients",
        clause: 4,
    },
    // Exits the whole server when keepalive reports that one client vanished.
    Mutant {
        name: "exits-when-client-vanishes",
        exercise: EX,
        mistake: "the server exits when one client's read fails with ETIMEDOUT",
        file: SERVER,
        replace: &[(
            "                    Err(e) => println!(\"{peer} is gone: {e}\"),",
            "                    Err(e) if e.kind() == io::ErrorKind::TimedOut => std::process::exit(1),\n                    Err(e) => println!(\"{peer} is gone: {e}\"),",
        )],
        caught_by: "server-releases-vanished-client",
        clause: 5,
    },
    // Adds a read timeout of the idle time: quiet clients are dropped before keepalive could know anything.
    Mutant {
        name: "server-read-timeout-idle",
        exercise: EX,
        mistake: "the server also sets a read timeout of --idle seconds",
        file: SERVER,
        replace: &[(
            "    keepalive::enable(&stream, settings)?;",
            "    keepalive::enable(&stream, settings)?;\n    stream.set_read_timeout(Some(settings.idle))?;",
        )],
        caught_by: "server-releases-vanished-client",
        clause: 5,
    },
    // Adds a read timeout of idle + interval × count to keepalive: a live client that is quiet is dropped.
    Mutant {
        name: "read-timeout-too",
        exercise: EX,
        mistake: "the server also drops clients after a read timeout of idle + interval × count",
        file: SERVER,
        replace: &[(
            "    keepalive::enable(&stream, settings)?;",
            "    keepalive::enable(&stream, settings)?;\n    stream.set_read_timeout(Some(settings.idle + settings.interval * settings.count))?;",
        )],
        caught_by: "server-releases-vanished-client",
        clause: 6,
    },
    // Opens a new connection for every request.
    Mutant {
        name: "connection-per-request",
        exercise: EX,
        mistake: "opens a new connection for every request",
        file: CLIENT,
        replace: &[(
            "        let reply = connection.request(request)?;",
            "        connection = Connection::open(addr, &settings)?;\n        let reply = connection.request(request)?;",
        )],
        caught_by: "one-connection",
        clause: 7,
    },
    // Turns SO_KEEPALIVE on and nothing else: two hours of silence before the first probe.
    Mutant {
        name: "system-defaults",
        exercise: EX,
        mistake: "keepalive on with the system defaults (7200 s idle, 75 s interval, 9 probes)",
        file: KEEPALIVE,
        replace: &[(
            "    SockRef::from(stream).set_tcp_keepalive(&params)",
            "    let _ = params;\n    SockRef::from(stream).set_keepalive(true)",
        )],
        caught_by: "client-options",
        clause: 8,
    },
    // Turns keepalive on in the server only; the client's connections have none.
    Mutant {
        name: "client-without-keepalive",
        exercise: EX,
        mistake: "the client never enables keepalive",
        file: CLIENT,
        replace: &[("        keepalive::enable(&stream, settings)?;\n", "")],
        caught_by: "client-options",
        clause: 8,
    },
    // Turns keepalive on for the client's first connection only, not for a reconnection.
    Mutant {
        name: "client-keepalive-first-only",
        exercise: EX,
        mistake: "the client's reconnection has no keepalive",
        file: CLIENT,
        replace: &[
            (
                "        keepalive::enable(&stream, settings)?;\n",
                "        if settings.count > 0 {\n            keepalive::enable(&stream, settings)?;\n        }\n",
            ),
            (
                "Connection::open(self.addr, &self.settings).and_then(",
                "Connection::open(self.addr, &Settings { count: 0, ..self.settings.clone() }).and_then(",
            ),
        ],
        caught_by: "client-options",
        clause: 8,
    },
    // Ignores --pause: the next request follows the reply at once.
    Mutant {
        name: "ignores-pause",
        exercise: EX,
        mistake: "never pauses between requests",
        file: CLIENT,
        replace: &[("            thread::sleep(pause);", "            let _ = (pause, thread::current);")],
        caught_by: "pauses-between-requests",
        clause: 9,
    },
    // Pauses twice as long as asked.
    Mutant {
        name: "pause-twice",
        exercise: EX,
        mistake: "sleeps twice --pause between requests",
        file: CLIENT,
        replace: &[("            thread::sleep(pause);", "            thread::sleep(pause * 2);")],
        caught_by: "pauses-between-requests",
        clause: 9,
    },
    // Gives up when the server closed the connection instead of reconnecting.
    Mutant {
        name: "no-reconnect",
        exercise: EX,
        mistake: "treats the server's close between requests as fatal",
        file: CLIENT,
        replace: &[(
            "            Err(e) if closed_by_server(&e) => {",
            "            Err(e) if closed_by_server(&e) && request.is_empty() => {",
        )],
        caught_by: "reconnects-after-close",
        clause: 10,
    },
    // Reconnects after a FIN (a 0-byte read) but not after an RST (ECONNRESET, EPIPE).
    Mutant {
        name: "reconnect-on-eof-only",
        exercise: EX,
        mistake: "only a 0-byte read counts as the server's close; a reset is fatal",
        file: CLIENT,
        replace: &[(
            "        ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset | ErrorKind::BrokenPipe | ErrorKind::ConnectionAborted",
            "        ErrorKind::UnexpectedEof",
        )],
        caught_by: "reconnects-after-reset",
        clause: 10,
    },
    // Reconnects, but moves on to the next request: the unanswered one is never sent again.
    Mutant {
        name: "drops-unanswered",
        exercise: EX,
        mistake: "reconnects but silently drops the request that got no answer",
        file: CLIENT,
        replace: &[(
            "                    *self = fresh;\n                    self.exchange(request)",
            "                    *self = fresh;\n                    Ok(String::new())",
        )],
        caught_by: "retries-unanswered",
        clause: 10,
    },
    // Retries an unanswered request for ever instead of once.
    Mutant {
        name: "retries-forever",
        exercise: EX,
        mistake: "retries an unanswered request without limit",
        file: CLIENT,
        replace: &[(
            "                    *self = fresh;\n                    self.exchange(request)",
            "                    *self = fresh;\n                    self.request(request)",
        )],
        caught_by: "retries-unanswered",
        clause: 11,
    },
    // Gives up after one retry, but in words of its own instead of the contract's line.
    Mutant {
        name: "give-up-in-other-words",
        exercise: EX,
        mistake: "reports a request that failed twice without the line `error: no answer to REQUEST`",
        file: CLIENT,
        replace: &[(
            "format!(\"no answer to {request}: {e}\")",
            "format!(\"request {request:?} got no answer, even after reconnecting once: {e}\")",
        )],
        caught_by: "retries-unanswered",
        clause: 11,
    },
    // Treats ETIMEDOUT like a closed connection and reconnects to a vanished server.
    Mutant {
        name: "reconnects-after-timeout",
        exercise: EX,
        mistake: "reconnects after keepalive reported the server vanished",
        file: CLIENT,
        replace: &[(
            "        ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset | ErrorKind::BrokenPipe | ErrorKind::ConnectionAborted",
            "        ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset | ErrorKind::BrokenPipe | ErrorKind::ConnectionAborted | ErrorKind::TimedOut",
        )],
        caught_by: "client-tells-vanished-from-slow",
        clause: 12,
    },
    // Reports the vanished server in words of its own instead of the contract's line.
    Mutant {
        name: "vanished-in-other-words",
        exercise: EX,
        mistake: "reports ETIMEDOUT without the line `error: server vanished`",
        file: CLIENT,
        replace: &[(
            "format!(\"server vanished: keepalive probes to {} went unanswered ({e})\", self.addr)",
            "format!(\"the server {} stopped answering ({e})\", self.addr)",
        )],
        caught_by: "client-tells-vanished-from-slow",
        clause: 12,
    },
    // Gives up on a reply after a read timeout of the idle time, before keepalive could know anything.
    Mutant {
        name: "client-read-timeout-idle",
        exercise: EX,
        mistake: "the client reports a vanished server after a read timeout of --idle seconds",
        file: CLIENT,
        replace: &[
            (
                "        keepalive::enable(&stream, settings)?;\n",
                "        keepalive::enable(&stream, settings)?;\n        stream.set_read_timeout(Some(settings.idle))?;\n",
            ),
            (
                "            Err(e) if e.kind() == ErrorKind::TimedOut => Err(io::Error::new(",
                "            Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => Err(io::Error::new(",
            ),
        ],
        caught_by: "client-tells-vanished-from-slow",
        clause: 12,
    },
    // Declares the server vanished after a read timeout of idle + interval × count: a slow server is abandoned.
    Mutant {
        name: "client-read-timeout-instead",
        exercise: EX,
        mistake: "the client reports a vanished server after a read timeout of idle + interval × count",
        file: CLIENT,
        replace: &[
            (
                "        keepalive::enable(&stream, settings)?;\n",
                "        keepalive::enable(&stream, settings)?;\n        stream.set_read_timeout(Some(settings.idle + settings.interval * settings.count))?;\n",
            ),
            (
                "            Err(e) if e.kind() == ErrorKind::TimedOut => Err(io::Error::new(",
                "            Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => Err(io::Error::new(",
            ),
        ],
        caught_by: "client-tells-vanished-from-slow",
        clause: 13,
    },
    // Takes a reset on the retry for a vanished server: the request that failed
    // twice is reported as `server vanished` instead of `no answer to REQUEST`.
    Mutant {
        name: "second-reset-as-vanished",
        exercise: EX,
        mistake: "when the retry of a request ends with an RST, reports `server vanished` instead of `no answer to REQUEST`",
        file: CLIENT,
        replace: &[(
            "                    ErrorKind::TimedOut => e,\n",
            "                    ErrorKind::TimedOut => e,\n                    ErrorKind::ConnectionReset => io::Error::new(ErrorKind::TimedOut, format!(\"server vanished: {e}\")),\n",
        )],
        caught_by: "retries-unanswered",
        clause: 11,
    },
    // Trims the reply instead of removing only its `\n`: spaces and tabs at its
    // ends are lost.
    Mutant {
        name: "trims-reply",
        exercise: EX,
        mistake: "prints reply.trim(), dropping spaces and tabs at the ends of the reply",
        file: CLIENT,
        replace: &[(
            "            Ok(_) => Ok(reply.trim_end_matches('\\n').to_string()),",
            "            Ok(_) => Ok(reply.trim().to_string()),",
        )],
        caught_by: "one-connection",
        clause: 7,
    },
];

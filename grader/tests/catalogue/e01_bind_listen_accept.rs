//! Known-wrong versions of exercise 01, each the reference solution with one mistake.

use crate::util::Mutant;

const EX: &str = "01-bind-listen-accept";
const MAIN: &str = "src/main.rs";

/// Forgets `SO_REUSEADDR`: a restart fails while old connections are in TIME_WAIT.
#[test]
fn no_reuseaddr() {
    Mutant {
        name: "no-reuseaddr",
        exercise: EX,
        mistake: "never sets SO_REUSEADDR",
        file: MAIN,
        replace: &[("    socket.set_reuse_address(true)?;\n", "")],
        caught_by: "restart-time-wait",
        clause: 0,
    }
    .assert_caught();
}

/// Keeps every client socket open forever: one leaked descriptor per client.
#[test]
fn never_closes() {
    Mutant {
        name: "never-closes",
        exercise: EX,
        mistake: "never closes client sockets",
        file: MAIN,
        replace: &[(
            "            Ok(0) => return Ok(()),",
            "            Ok(0) => {\n                std::mem::forget(stream);\n                return Ok(());\n            }",
        )],
        caught_by: "closes-sockets",
        clause: 0,
    }
    .assert_caught();
}

/// Calls `write` once and ignores how many bytes it accepted.
#[test]
fn single_write() {
    Mutant {
        name: "single-write",
        exercise: EX,
        mistake: "a single write without a loop",
        file: MAIN,
        replace: &[(
            "    while !buf.is_empty() {\n        match stream.write(buf) {",
            "    let _ = stream.write(buf)?;\n    buf = &[];\n    while !buf.is_empty() {\n        match stream.write(buf) {",
        )],
        caught_by: "short-writes",
        clause: 0,
    }
    .assert_caught();
}

/// Serves each client on the accepting thread: one client at a time.
#[test]
fn one_at_a_time() {
    Mutant {
        name: "one-at-a-time",
        exercise: EX,
        mistake: "serves one client at a time",
        file: MAIN,
        replace: &[
            ("                thread::spawn(move || {", "                (move || {"),
            (
                "                });\n            }\n            // A failed",
                "                })();\n            }\n            // A failed",
            ),
        ],
        caught_by: "clients-at-once",
        clause: 0,
    }
    .assert_caught();
}

/// Prints the address it was given instead of the one the kernel bound.
#[test]
fn wrong_address() {
    Mutant {
        name: "wrong-address",
        exercise: EX,
        mistake: "prints the requested address (port 0) instead of local_addr()",
        file: MAIN,
        replace: &[(
            "        Ok(bound) => println!(\"listening on {bound}\"),",
            "        Ok(_) => println!(\"listening on {addr}\"),",
        )],
        caught_by: "printed-address",
        clause: 0,
    }
    .assert_caught();
}

/// Unwraps the bind error: a panic instead of a clear message.
#[test]
fn panics_when_port_taken() {
    Mutant {
        name: "panics-when-port-taken",
        exercise: EX,
        mistake: "panics when the port is taken",
        file: MAIN,
        replace: &[(
            "    socket.bind(&addr.into()).map_err(|e| name_address(e, addr))?;",
            "    socket.bind(&addr.into()).expect(\"bind failed\");",
        )],
        caught_by: "port-in-use",
        clause: 0,
    }
    .assert_caught();
}

/// Creates an IPv4 socket whatever the address: binding `[::1]` fails.
#[test]
fn ipv4_only() {
    Mutant {
        name: "ipv4-only",
        exercise: EX,
        mistake: "always creates an IPv4 socket",
        file: MAIN,
        replace: &[("Socket::new(Domain::for_address(addr),", "Socket::new(Domain::IPV4,")],
        caught_by: "ipv6",
        clause: 0,
    }
    .assert_caught();
}

/// Decodes the bytes as UTF-8 text and echoes the lossy result.
#[test]
fn echoes_text() {
    Mutant {
        name: "echoes-text",
        exercise: EX,
        mistake: "echoes String::from_utf8_lossy of the bytes, not the bytes",
        file: MAIN,
        replace: &[(
            "        write_full(&mut stream, &buf[..n])?;",
            "        write_full(&mut stream, String::from_utf8_lossy(&buf[..n]).as_bytes())?;",
        )],
        caught_by: "echo-binary",
        clause: 0,
    }
    .assert_caught();
}

/// Stops echoing after the first read: a large message is cut short.
#[test]
fn echoes_one_read() {
    Mutant {
        name: "echoes-one-read",
        exercise: EX,
        mistake: "echoes only the first read, then closes",
        file: MAIN,
        replace: &[(
            "        write_full(&mut stream, &buf[..n])?;",
            "        write_full(&mut stream, &buf[..n])?;\n        return Ok(());",
        )],
        caught_by: "echo-1mib",
        clause: 0,
    }
    .assert_caught();
}

/// Ends the server after its first client: the second one is refused.
#[test]
fn serves_one_client() {
    Mutant {
        name: "serves-one-client",
        exercise: EX,
        mistake: "accepts one client and then stops accepting",
        file: MAIN,
        replace: &[(
            "            Err(e) => eprintln!(\"accept failed: {e}\"),\n        }",
            "            Err(e) => eprintln!(\"accept failed: {e}\"),\n        }\n        std::thread::park();",
        )],
        caught_by: "clients-in-turn",
        clause: 0,
    }
    .assert_caught();
}

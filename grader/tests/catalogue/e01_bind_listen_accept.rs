//! Known-wrong versions of exercise 01, each the reference solution with one mistake.

use crate::util::Mutant;

const EX: &str = "01-bind-listen-accept";
const MAIN: &str = "src/main.rs";

/// The known-wrong programs: each entry is one mistake, in one clause.
pub const MUTANTS: &[Mutant] = &[
    // Forgets `SO_REUSEADDR`: a restart fails while old connections are in TIME_WAIT.
    Mutant {
        name: "no-reuseaddr",
        exercise: EX,
        mistake: "never sets SO_REUSEADDR",
        file: MAIN,
        replace: &[("    socket.set_reuse_address(true)?;\n", "")],
        caught_by: "restart-time-wait",
        clause: 10,
    },
    // Keeps every client socket open forever: one leaked descriptor per client.
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
        clause: 5,
    },
    // Calls `write` once and ignores how many bytes it accepted.
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
        clause: 6,
    },
    // Serves each client on the accepting thread: one client at a time.
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
        clause: 9,
    },
    // Prints the address it was given instead of the one the kernel bound.
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
        clause: 1,
    },
    // Unwraps the bind error: a panic instead of a clear message.
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
        clause: 11,
    },
    // Creates an IPv4 socket whatever the address: binding `[::1]` fails.
    Mutant {
        name: "ipv4-only",
        exercise: EX,
        mistake: "always creates an IPv4 socket",
        file: MAIN,
        replace: &[("Socket::new(Domain::for_address(addr),", "Socket::new(Domain::IPV4,")],
        caught_by: "ipv6",
        clause: 2,
    },
    // Decodes the bytes as UTF-8 text and echoes the lossy result.
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
        clause: 4,
    },
    // Stops echoing after the first read: a large message is cut short.
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
        clause: 4,
    },
    // Ends the server after its first client: the second one is refused.
    Mutant {
        name: "serves-one-client",
        exercise: EX,
        mistake: "accepts one client and then stops accepting",
        file: MAIN,
        replace: &[(
            "                thread::sleep(Duration::from_millis(100));\n            }\n        }",
            "                thread::sleep(Duration::from_millis(100));\n            }\n        }\n        std::thread::park();",
        )],
        caught_by: "clients-in-turn",
        clause: 8,
    },
    // Greets each client with the server's own address instead of the client's.
    Mutant {
        name: "greets-server-address",
        exercise: EX,
        mistake: "greets with the server's address (local_addr) instead of the client's",
        file: MAIN,
        replace: &[(
            "    write_full(&mut stream, format!(\"hello {peer}\\n\").as_bytes())?;",
            "    let peer = stream.local_addr()?;\n    write_full(&mut stream, format!(\"hello {peer}\\n\").as_bytes())?;",
        )],
        caught_by: "printed-address",
        clause: 3,
    },
    // Holds the echo back until the client closes its side, then sends it all.
    Mutant {
        name: "echoes-at-end",
        exercise: EX,
        mistake: "collects everything the client sends and echoes it only after the client closes",
        file: MAIN,
        replace: &[
            (
                "    let mut buf = [0u8; 16 * 1024];\n    loop {",
                "    let mut buf = [0u8; 16 * 1024];\n    let mut all = Vec::new();\n    loop {",
            ),
            (
                "            Ok(0) => return Ok(()),",
                "            Ok(0) => return write_full(&mut stream, &all),",
            ),
            (
                "        write_full(&mut stream, &buf[..n])?;",
                "        all.extend_from_slice(&buf[..n]);",
            ),
        ],
        caught_by: "closes-sockets",
        clause: 4,
    },
    // Treats EINTR like any other write error: the client's service ends.
    Mutant {
        name: "interrupted-is-fatal",
        exercise: EX,
        mistake: "write_full returns ErrorKind::Interrupted as an error instead of retrying",
        file: MAIN,
        replace: &[("            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}\n", "")],
        caught_by: "interrupted-writes",
        clause: 7,
    },
    // Serves clients from a fixed pool of 64 worker threads: the 65th silent
    // client waits for a worker that never comes free.
    Mutant {
        name: "fixed-pool",
        exercise: EX,
        mistake: "serves clients on a fixed pool of 64 worker threads",
        file: MAIN,
        replace: &[
            (
                "fn serve(listener: TcpListener) {\n    loop {",
                "fn serve(listener: TcpListener) {\n    let (jobs, queue) = std::sync::mpsc::channel::<(TcpStream, SocketAddr)>();\n    let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));\n    for _ in 0..64 {\n        let queue = queue.clone();\n        thread::spawn(move || {\n            loop {\n                let job = queue.lock().unwrap().recv();\n                let Ok((stream, peer)) = job else { return };\n                if let Err(e) = handle_client(stream, peer) {\n                    eprintln!(\"client {peer}: {e}\");\n                }\n            }\n        });\n    }\n    loop {",
            ),
            (
                "                thread::spawn(move || {\n                    if let Err(e) = handle_client(stream, peer) {\n                        eprintln!(\"client {peer}: {e}\");\n                    }\n                });",
                "                let _ = jobs.send((stream, peer));",
            ),
        ],
        caught_by: "clients-at-once",
        clause: 9,
    },
    // Sets SO_REUSEPORT as well: a second copy binds the same live port and
    // the two share its clients.
    Mutant {
        name: "shares-port",
        exercise: EX,
        mistake: "sets SO_REUSEPORT, so two live copies share the port",
        file: MAIN,
        replace: &[(
            "    socket.set_reuse_address(true)?;\n",
            "    socket.set_reuse_address(true)?;\n    unsafe extern \"C\" {\n        fn setsockopt(fd: i32, level: i32, name: i32, value: *const std::ffi::c_void, len: u32) -> i32;\n    }\n    let one: i32 = 1;\n    // SOL_SOCKET = 1, SO_REUSEPORT = 15 on Linux.\n    if unsafe { setsockopt(std::os::fd::AsRawFd::as_raw_fd(&socket), 1, 15, (&one as *const i32).cast(), 4) } != 0 {\n        return Err(io::Error::last_os_error());\n    }\n",
        )],
        caught_by: "second-copy",
        clause: 11,
    },
    // Ends the server at the first failed accept (EMFILE).
    Mutant {
        name: "accept-error-ends-server",
        exercise: EX,
        mistake: "returns from serve (ending the program) when accept fails",
        file: MAIN,
        replace: &[(
            "                eprintln!(\"accept failed: {e}\");\n                thread::sleep(Duration::from_millis(100));",
            "                eprintln!(\"accept failed: {e}\");\n                return;",
        )],
        caught_by: "accept-error",
        clause: 12,
    },
    // Retries every write error, not only EINTR: after a reset, write_full
    // loops on EPIPE at full speed forever and never closes the socket.
    Mutant {
        name: "retries-write-errors",
        exercise: EX,
        mistake: "write_full retries every error, not only ErrorKind::Interrupted",
        file: MAIN,
        replace: &[(
            "            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}\n",
            "            Err(_) => {}\n            #[allow(unreachable_patterns)]\n",
        )],
        caught_by: "client-resets",
        clause: 13,
    },
    // Exits the whole program when one client's connection fails.
    Mutant {
        name: "client-error-ends-server",
        exercise: EX,
        mistake: "exits the program when serving one client fails",
        file: MAIN,
        replace: &[(
            "                        eprintln!(\"client {peer}: {e}\");\n                    }\n                });",
            "                        eprintln!(\"client {peer}: {e}\");\n                        process::exit(1);\n                    }\n                });",
        )],
        caught_by: "client-resets",
        clause: 13,
    },
    // Closes the failed client's socket (handle_client dropped the stream
    // when it returned), then keeps its thread spinning: the descriptor
    // count is right, but the program burns a core for a client that left.
    Mutant {
        name: "spins-after-client-error",
        exercise: EX,
        mistake: "after a client's error, its thread loops forever instead of ending",
        file: MAIN,
        replace: &[(
            "                        eprintln!(\"client {peer}: {e}\");\n                    }\n                });",
            "                        eprintln!(\"client {peer}: {e}\");\n                        loop {\n                            std::hint::spin_loop();\n                        }\n                    }\n                });",
        )],
        caught_by: "client-resets",
        clause: 13,
    },
    // Echoes line by line: bytes without a newline wait for one.
    Mutant {
        name: "echoes-by-line",
        exercise: EX,
        mistake: "echoes each complete line (read_until b'\\n'), so bytes without a newline wait",
        file: MAIN,
        replace: &[(
            "    let mut buf = [0u8; 16 * 1024];\n    loop {",
            "    let mut reader = io::BufReader::new(stream.try_clone()?);\n    let mut line = Vec::new();\n    loop {\n        line.clear();\n        match io::BufRead::read_until(&mut reader, b'\\n', &mut line) {\n            Ok(0) => return Ok(()),\n            Ok(_) => write_full(&mut stream, &line)?,\n            Err(e) => return Err(e),\n        }\n    }\n    #[allow(unreachable_code)]\n    let mut buf = [0u8; 16 * 1024];\n    #[allow(unreachable_code)]\n    loop {",
        )],
        caught_by: "closes-sockets",
        clause: 4,
    },
    // Treats an interrupted read as the end of the client: a signal while the
    // thread waits for data drops a client that did nothing wrong.
    Mutant {
        name: "read-interrupted-is-fatal",
        exercise: EX,
        mistake: "handle_client returns ErrorKind::Interrupted from read as an error instead of reading again",
        file: MAIN,
        replace: &[("            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,\n", "")],
        caught_by: "interrupted-reads",
        clause: 7,
    },
];

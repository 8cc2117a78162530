//! Known-wrong versions of exercise 09, each the reference solution with one
//! mistake that breaks one clause of the contract (docs/src/09-unix-sockets.md).

use crate::util::Mutant;

const EX: &str = "09-unix-sockets";
const LIFECYCLE: &str = "src/lifecycle.rs";
const STREAM: &str = "src/stream.rs";
const DATAGRAM: &str = "src/datagram.rs";

/// The known-wrong programs: each entry is one mistake, in one clause.
pub const MUTANTS: &[Mutant] = &[
    // Binds but never calls listen: every connect is refused.
    Mutant {
        name: "never-listens",
        exercise: EX,
        mistake: "binds the path but never calls listen(2), so connect is refused",
        file: STREAM,
        replace: &[("    socket.listen(128)?;\n", "")],
        caught_by: "echoes-lines",
        clause: 1,
    },
    // Serves each client on the accepting thread, one after another.
    Mutant {
        name: "one-client-at-a-time",
        exercise: EX,
        mistake: "serves clients one at a time on the accepting thread",
        file: STREAM,
        replace: &[(
            "                thread::spawn(move || {\n                    if let Err(e) = handle_client(stream) {\n                        eprintln!(\"client: {e}\");\n                    }\n                });",
            "                let _ = thread::current;\n                if let Err(e) = handle_client(stream) {\n                    eprintln!(\"client: {e}\");\n                }",
        )],
        caught_by: "echoes-lines",
        clause: 3,
    },
    // Never sets the socket file's mode: it keeps 0777 minus the umask.
    Mutant {
        name: "mode-left-to-umask",
        exercise: EX,
        mistake: "never changes the socket file's mode (0777 minus the umask, srwxr-xr-x)",
        file: LIFECYCLE,
        replace: &[(
            "    fs::set_permissions(path, fs::Permissions::from_mode(MODE))\n",
            "    fs::set_permissions(path, fs::metadata(path)?.permissions())\n",
        )],
        caught_by: "socket-file-mode",
        clause: 2,
    },
    // Lets the group in too: mode 0660.
    Mutant {
        name: "mode-group-writable",
        exercise: EX,
        mistake: "gives the socket file mode 0660 (the group may connect too)",
        file: LIFECYCLE,
        replace: &[("pub const MODE: u32 = 0o600;", "pub const MODE: u32 = 0o660;")],
        caught_by: "socket-file-mode",
        clause: 2,
    },
    // Serves every client, whoever connected.
    Mutant {
        name: "no-peer-check",
        exercise: EX,
        mistake: "never asks SO_PEERCRED who connected: every user is served",
        file: STREAM,
        replace: &[("    if uid != peer::my_uid() {", "    if uid != uid {")],
        caught_by: "refuses-other-users",
        clause: 4,
    },
    // Reads and echoes the client's first line before checking who it is.
    Mutant {
        name: "checks-after-first-line",
        exercise: EX,
        mistake: "answers the client's first line before checking its user",
        file: STREAM,
        replace: &[(
            "    let uid = peer::peer_uid(&stream)?;\n",
            "    let mut first = Vec::new();\n    BufReader::new(&stream).read_until(b'\\n', &mut first)?;\n    (&stream).write_all(&first)?;\n    let uid = peer::peer_uid(&stream)?;\n",
        )],
        caught_by: "refuses-other-users",
        clause: 4,
    },
    // Refuses with the line but keeps the connection open.
    Mutant {
        name: "refused-but-open",
        exercise: EX,
        mistake: "sends `refused` but keeps the other user's connection open",
        file: STREAM,
        replace: &[(
            "        stream.write_all(REFUSED)?;\n",
            "        stream.write_all(REFUSED)?;\n        std::mem::forget(stream);\n",
        )],
        caught_by: "refuses-other-users",
        clause: 4,
    },
    // Treats any existing file as a live server: a stale file blocks every restart.
    Mutant {
        name: "stale-file-blocks-restart",
        exercise: EX,
        mistake: "never removes a stale socket file, so bind fails with EADDRINUSE after a crash",
        file: LIFECYCLE,
        replace: &[(
            "        Err(e) if e.kind() == ErrorKind::ConnectionRefused => Ok(false),\n",
            "        Err(e) if e.kind() == ErrorKind::ConnectionRefused => Ok(true),\n",
        )],
        caught_by: "restart-after-kill",
        clause: 5,
    },
    // Removes whatever socket is at the path before binding: steals a live one.
    Mutant {
        name: "steals-live-socket",
        exercise: EX,
        mistake: "removes the socket file at the path without asking whether a server listens there",
        file: LIFECYCLE,
        replace: &[(
            "    if someone_listens(path, kind)? {",
            "    if false && someone_listens(path, kind)? {",
        )],
        caught_by: "second-copy-refuses",
        clause: 6,
    },
    // Refuses correctly, but removes the live server's file on its way out.
    Mutant {
        name: "refusing-copy-removes-file",
        exercise: EX,
        mistake: "the copy that refuses removes the live server's socket file as it exits",
        file: LIFECYCLE,
        replace: &[(
            "    if someone_listens(path, kind)? {\n",
            "    if someone_listens(path, kind)? {\n        let _ = fs::remove_file(path);\n",
        )],
        caught_by: "second-copy-refuses",
        clause: 6,
    },
    // Refuses a live server's path, but with a line of its own.
    Mutant {
        name: "in-use-line-differs",
        exercise: EX,
        mistake: "reports a live server with a line other than the contract's",
        file: LIFECYCLE,
        replace: &[(
            "            format!(\"another server is listening on {}\", path.display()),",
            "            format!(\"{} is in use\", path.display()),",
        )],
        caught_by: "second-copy-refuses",
        clause: 6,
    },
    // Never looks at the file's type: a regular file reads as a stale socket.
    Mutant {
        name: "removes-regular-file",
        exercise: EX,
        mistake: "never checks that the file at the path is a socket, so a regular file is removed as stale",
        file: LIFECYCLE,
        replace: &[(
            "    if !meta.file_type().is_socket() {",
            "    if !meta.file_type().is_socket() && false {",
        )],
        caught_by: "not-a-socket",
        clause: 7,
    },
    // Exits on SIGTERM without removing the socket file.
    Mutant {
        name: "never-unlinks",
        exercise: EX,
        mistake: "exits on SIGTERM without removing its socket file",
        file: LIFECYCLE,
        replace: &[("            let _ = fs::remove_file(&path);\n", "            let _ = &path;\n")],
        caught_by: "sigterm-removes-file",
        clause: 8,
    },
    // Waits for SIGTERM only: Ctrl-C (SIGINT) is not an orderly exit.
    Mutant {
        name: "sigterm-only",
        exercise: EX,
        mistake: "waits for SIGTERM but not SIGINT",
        file: LIFECYCLE,
        replace: &[("    signals.add(Signal::SIGINT);\n", "")],
        caught_by: "datagram-sigint-removes-file",
        clause: 8,
    },
    // Receives into a buffer one byte short of the largest datagram.
    Mutant {
        name: "buffer-one-short",
        exercise: EX,
        mistake: "receives into a buffer of 65535 bytes, so a datagram of 65536 is cut",
        file: DATAGRAM,
        replace: &[(
            "    let mut buf = vec![0u8; MAX_DATAGRAM];",
            "    let mut buf = vec![0u8; MAX_DATAGRAM - 1];",
        )],
        caught_by: "datagram-boundaries",
        clause: 9,
    },
    // Takes an empty datagram for the end and stops answering.
    Mutant {
        name: "empty-datagram-ends",
        exercise: EX,
        mistake: "takes a 0-byte datagram for the end of the conversation and stops",
        file: DATAGRAM,
        replace: &[(
            "        if from.is_unnamed() {",
            "        if n == 0 {\n            return Ok(());\n        }\n        if from.is_unnamed() {",
        )],
        caught_by: "datagram-boundaries",
        clause: 9,
    },
    // Serves `dgram` with a stream socket: no datagram can reach it.
    Mutant {
        name: "stream-for-datagrams",
        exercise: EX,
        mistake: "binds a SOCK_STREAM socket in the datagram mode",
        file: DATAGRAM,
        replace: &[(
            "    let socket = lifecycle::bind_path(path, Type::DGRAM)?;",
            "    let socket = lifecycle::bind_path(path, Type::STREAM)?;",
        )],
        caught_by: "datagram-boundaries",
        clause: 9,
    },
    // Gives up when a reply cannot be delivered.
    Mutant {
        name: "reply-error-fatal",
        exercise: EX,
        mistake: "returns the error when an answer cannot be sent, ending the server",
        file: DATAGRAM,
        replace: &[(
            "        if let Err(e) = socket.send_to_addr(&buf[..n], &from) {\n            eprintln!(\"cannot answer {from:?}: {e}\");\n        }",
            "        socket.send_to_addr(&buf[..n], &from)?;",
        )],
        caught_by: "datagram-unanswerable",
        clause: 10,
    },
    // Expects every sender to have a path, and panics on an unbound one.
    Mutant {
        name: "unwraps-sender-path",
        exercise: EX,
        mistake: "unwraps the sender's path, panicking on an unbound sender",
        file: DATAGRAM,
        replace: &[(
            "        if from.is_unnamed() {",
            "        if from.as_pathname().unwrap().as_os_str().is_empty() {",
        )],
        caught_by: "datagram-unanswerable",
        clause: 10,
    },
];

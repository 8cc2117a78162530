//! Known-wrong versions of exercise 08, each the reference solution with one
//! mistake that breaks one clause of the contract (docs/src/08-http-keepalive.md).

use crate::util::Mutant;

const EX: &str = "08-http-keepalive";

/// The known-wrong programs: each entry is one mistake, in one clause.
pub const MUTANTS: &[Mutant] = &[
    // Serves connections one at a time, on the accepting thread.
    Mutant {
        name: "single-threaded",
        exercise: EX,
        mistake: "serves connections one at a time, on the accepting thread",
        file: "src/main.rs",
        replace: &[(
            "                thread::spawn(move || connection::serve(stream, &config));",
            "                let _ = thread::current;\n                connection::serve(stream, &config);",
        )],
        caught_by: "connections-at-once",
        clause: 1,
    },
    // Never flushes its BufWriter after a file: the response waits for the buffer to fill.
    Mutant {
        name: "no-flush-per-response",
        exercise: EX,
        mistake: "never flushes its BufWriter after a file: the response waits for the buffer to fill",
        file: "src/connection.rs",
        replace: &[(
            "    // pipelined requests are answered in order.\n    writer.flush()\n",
            "    // pipelined requests are answered in order.\n    Ok(())\n",
        )],
        caught_by: "wrk-no-errors",
        clause: 3,
    },
    // Looks the path up without percent-decoding it (`%20` stays `%20`).
    Mutant {
        name: "no-percent-decoding",
        exercise: EX,
        mistake: "looks the path up without percent-decoding it (`%20` stays `%20`)",
        file: "src/files.rs",
        replace: &[(
            "    let decoded = percent_decode(path).ok_or(400u16)?;",
            "    let _ = percent_decode(path);\n    let decoded = path.as_bytes().to_vec();",
        )],
        caught_by: "get-files",
        clause: 3,
    },
    // Sends the file's bytes after the head of a HEAD response.
    Mutant {
        name: "head-sends-body",
        exercise: EX,
        mistake: "sends the file's bytes after the head of a HEAD response",
        file: "src/connection.rs",
        replace: &[(
            "    if !head_only {\n        // HEAD: the same head as GET",
            "    if !head_only || head_only {\n        // HEAD: the same head as GET",
        )],
        caught_by: "head",
        clause: 4,
    },
    // Sends error responses without Content-Length.
    Mutant {
        name: "no-content-length-on-errors",
        exercise: EX,
        mistake: "sends error responses without Content-Length",
        file: "src/connection.rs",
        replace: &[(
            "    writer.write_all(head(status, version, keep_alive, \"text/plain; charset=utf-8\", body.len() as u64).as_bytes())?;",
            "    writer.write_all(head(status, version, keep_alive, \"text/plain; charset=utf-8\", body.len() as u64).replacen(&format!(\"Content-Length: {}\\r\\n\", body.len()), \"\", 1).as_bytes())?;",
        )],
        caught_by: "get-files",
        clause: 5,
    },
    // Closes the connection after every response (no keep-alive).
    Mutant {
        name: "closes-after-every-response",
        exercise: EX,
        mistake: "closes the connection after every response (no keep-alive)",
        file: "src/connection.rs",
        replace: &[(
            "        if !keep_alive {\n            // Everything is sent",
            "        if !keep_alive || keep_alive {\n            // Everything is sent",
        )],
        caught_by: "persistent-by-default",
        clause: 6,
    },
    // Keeps HTTP/1.1 connections open even after `Connection: close`.
    Mutant {
        name: "ignores-connection-close",
        exercise: EX,
        mistake: "keeps HTTP/1.1 connections open even after `Connection: close`",
        file: "src/request.rs",
        replace: &[(
            "            Version::Http11 => !self.has_token(\"connection\", \"close\"),",
            "            Version::Http11 => true,",
        )],
        caught_by: "connection-close",
        clause: 6,
    },
    // Keeps HTTP/1.0 connections open like HTTP/1.1 ones.
    Mutant {
        name: "http10-kept-open",
        exercise: EX,
        mistake: "keeps HTTP/1.0 connections open like HTTP/1.1 ones",
        file: "src/request.rs",
        replace: &[(
            "            Version::Http10 => self.has_token(\"connection\", \"keep-alive\"),",
            "            Version::Http10 => !self.has_token(\"connection\", \"close\"),",
        )],
        caught_by: "http10-closes",
        clause: 6,
    },
    // Closes HTTP/1.1 connections unless the request says `Connection: keep-alive`, as for HTTP/1.0.
    Mutant {
        name: "http11-needs-keep-alive",
        exercise: EX,
        mistake: "closes HTTP/1.1 connections unless the request says `Connection: keep-alive`, as for HTTP/1.0",
        file: "src/request.rs",
        replace: &[(
            "            Version::Http11 => !self.has_token(\"connection\", \"close\"),",
            "            Version::Http11 => self.has_token(\"connection\", \"keep-alive\"),",
        )],
        caught_by: "curl-reuses",
        clause: 6,
    },
    // Makes a new BufReader for each request, dropping the bytes of pipelined requests it had buffered.
    Mutant {
        name: "bufreader-per-request",
        exercise: EX,
        mistake: "makes a new BufReader for each request, dropping the bytes of pipelined requests it had buffered",
        file: "src/connection.rs",
        replace: &[(
            "        let request = match request::read_request(&mut reader) {",
            "        let mut reader = BufReader::new(stream.try_clone()?);\n        let request = match request::read_request(&mut reader) {",
        )],
        caught_by: "pipelined",
        clause: 7,
    },
    // Does not read a request's body, so its bytes are read as the next request.
    Mutant {
        name: "body-not-skipped",
        exercise: EX,
        mistake: "does not read a request's body, so its bytes are read as the next request",
        file: "src/connection.rs",
        replace: &[(
            "        if request.content_length > 0 {",
            "        if request.content_length > 0 && false {",
        )],
        caught_by: "body-limit",
        clause: 2,
    },
    // Gives up on a line that did not arrive whole in one read.
    Mutant {
        name: "one-read-per-line",
        exercise: EX,
        mistake: "gives up on a line that did not arrive whole in one read",
        file: "src/request.rs",
        replace: &[(
            "        if line.len() > max + 1 {\n            return Ok(Line::TooLong);\n        }",
            "        if line.len() > max + 1 {\n            return Ok(Line::TooLong);\n        }\n        return Ok(Line::End);",
        )],
        caught_by: "split-requests",
        clause: 2,
    },
    // Accepts only CRLF line endings, not a bare LF.
    Mutant {
        name: "requires-crlf",
        exercise: EX,
        mistake: "accepts only CRLF line endings, not a bare LF",
        file: "src/request.rs",
        replace: &[(
            "            if line.last() == Some(&b'\\r') {\n                line.pop();\n            }",
            "            if line.pop() != Some(b'\\r') {\n                return Ok(Line::End);\n            }",
        )],
        caught_by: "lenient-syntax",
        clause: 2,
    },
    // Trims spaces but not tabs around header values.
    Mutant {
        name: "tabs-not-trimmed",
        exercise: EX,
        mistake: "trims spaces but not tabs around header values",
        file: "src/request.rs",
        replace: &[(
            "    let value = value.trim_matches([' ', '\\t']);",
            "    let value = value.trim_matches(' ');",
        )],
        caught_by: "lenient-syntax",
        clause: 2,
    },
    // Sets no read timeout: idle connections stay open forever.
    Mutant {
        name: "no-idle-timeout",
        exercise: EX,
        mistake: "sets no read timeout: idle connections stay open forever",
        file: "src/connection.rs",
        replace: &[(
            "    stream.set_read_timeout(Some(config.idle))?;\n    // One reader",
            "    stream.set_read_timeout(None)?;\n    // One reader",
        )],
        caught_by: "idle-timeout",
        clause: 8,
    },
    // Counts the idle timeout from the accept, not from the last byte received.
    Mutant {
        name: "idle-from-accept",
        exercise: EX,
        mistake: "counts the idle timeout from the accept, not from the last byte received",
        file: "src/connection.rs",
        replace: &[(
            "    loop {\n        let request = match request::read_request(&mut reader) {",
            "    let accepted = std::time::Instant::now();\n    loop {\n        stream.set_read_timeout(Some(config.idle.saturating_sub(accepted.elapsed()).max(Duration::from_millis(1))))?;\n        let request = match request::read_request(&mut reader) {",
        )],
        caught_by: "idle-timeout",
        clause: 8,
    },
    // Accepts an HTTP/1.1 request without Host.
    Mutant {
        name: "no-host-check",
        exercise: EX,
        mistake: "accepts an HTTP/1.1 request without Host",
        file: "src/request.rs",
        replace: &[(
            "    if version == Version::Http11 && count(\"host\") != 1 {",
            "    if version == Version::Http11 && count(\"host\") > 1 {",
        )],
        caught_by: "malformed",
        clause: 9,
    },
    // Refuses a request line of exactly 8192 bytes (>= instead of >).
    Mutant {
        name: "request-line-limit-off-by-one",
        exercise: EX,
        mistake: "refuses a request line of exactly 8192 bytes (>= instead of >)",
        file: "src/request.rs",
        replace: &[("            if line.len() > max {", "            if line.len() >= max {")],
        caught_by: "request-line-limit",
        clause: 10,
    },
    // Refuses a header section of exactly 8192 bytes (>= instead of >).
    Mutant {
        name: "header-limit-off-by-one",
        exercise: EX,
        mistake: "refuses a header section of exactly 8192 bytes (>= instead of >)",
        file: "src/request.rs",
        replace: &[(
            "        if section > MAX_HEADER_SECTION {",
            "        if section >= MAX_HEADER_SECTION {",
        )],
        caught_by: "header-limit",
        clause: 10,
    },
    // Refuses a body of exactly 16384 bytes (>= instead of >).
    Mutant {
        name: "body-limit-off-by-one",
        exercise: EX,
        mistake: "refuses a body of exactly 16384 bytes (>= instead of >)",
        file: "src/request.rs",
        replace: &[("    if content_length > MAX_BODY {", "    if content_length >= MAX_BODY {")],
        caught_by: "body-limit",
        clause: 10,
    },
    // Serves `get` like `GET` (method names are case-sensitive).
    Mutant {
        name: "methods-any-case",
        exercise: EX,
        mistake: "serves `get` like `GET` (method names are case-sensitive)",
        file: "src/request.rs",
        replace: &[(
            "    if method != \"GET\" && method != \"HEAD\" {",
            "    if !method.eq_ignore_ascii_case(\"GET\") && !method.eq_ignore_ascii_case(\"HEAD\") {",
        )],
        caught_by: "unsupported",
        clause: 11,
    },
    // Checks that the real path starts with the folder's as strings, so a sibling folder `www-private` passes.
    Mutant {
        name: "prefix-as-string",
        exercise: EX,
        mistake: "checks that the real path starts with the folder's as strings, so a sibling folder `www-private` passes",
        file: "src/files.rs",
        replace: &[(
            "    if !real.starts_with(root) {",
            "    if !real.to_string_lossy().starts_with(&*root.to_string_lossy()) {",
        )],
        caught_by: "stays-inside",
        clause: 12,
    },
    // Never resolves symbolic links, so a link inside the folder leads outside.
    Mutant {
        name: "links-not-resolved",
        exercise: EX,
        mistake: "never resolves symbolic links, so a link inside the folder leads outside",
        file: "src/files.rs",
        replace: &[(
            "    let real = std::fs::canonicalize(&full).map_err(|_| 404u16)?;",
            "    let real = full.clone();\n    if !real.exists() {\n        return Err(404);\n    }",
        )],
        caught_by: "stays-inside",
        clause: 12,
    },
    // Serves at most 4 connections at once, like a fixed pool of 4 threads: the fifth waits until one closes.
    Mutant {
        name: "pool-of-four",
        exercise: EX,
        mistake: "serves at most 4 connections at once (a fixed pool of 4 threads)",
        file: "src/main.rs",
        replace: &[(
            "                thread::spawn(move || connection::serve(stream, &config));",
            "                use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};\n                static ACTIVE: AtomicUsize = AtomicUsize::new(0);\n                while ACTIVE.load(SeqCst) >= 4 {\n                    thread::sleep(Duration::from_millis(1));\n                }\n                ACTIVE.fetch_add(1, SeqCst);\n                thread::spawn(move || {\n                    connection::serve(stream, &config);\n                    ACTIVE.fetch_sub(1, SeqCst);\n                });",
        )],
        caught_by: "ab-keep-alive",
        clause: 1,
    },
];

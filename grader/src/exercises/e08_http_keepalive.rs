//! Hidden tests for exercise 08: an HTTP/1.1 static-file server with
//! persistent connections.
//!
//! The program is `http-keepalive ADDRESS DIR --idle-timeout MS`. Each test
//! builds DIR in its scratch folder (the sandbox hides the workspace; the
//! scratch folder is the one place the program can read), with a secret file
//! *next to* DIR that must never appear in any response. Its contract is the
//! numbered list under "The task" in docs/src/08-http-keepalive.md.
//!
//! Most tests speak raw bytes over a socket, so that they can send exactly
//! the edge cases (a request a byte at a time, five in one write, a line of
//! exactly 8192 bytes); two run real clients nobody here wrote, `curl` and
//! `wrk` (`fixtures::tools`), skipped with the reason where they are missing.
//! Responses are graded by their status code, the headers the contract
//! requires (`Content-Length`, `Connection: close`) and their bodies, never by
//! reason phrases or other headers.

use crate::ctx::{Ctx, Failure, IO_TIMEOUT, Outcome, random_bytes};
use crate::fixtures::tools;
use crate::platform::Need;
use crate::process::Program;
use crate::registry::{Sharing, TestCase};
use crate::transcript::{self, Transcript};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The limits of the contract (clause 10).
const MAX_REQUEST_LINE: usize = 8192;
const MAX_HEADER_SECTION: usize = 8192;
const MAX_BODY: usize = 16384;
/// The idle timeout of tests that are not about it: longer than any test.
const LONG_IDLE: &str = "10000";
/// The idle timeout of `idle-timeout`, and how the test uses it.
const IDLE_MS: u64 = 500;
/// The gap between requests that must keep a connection open (well inside
/// the timeout; the four gaps between five requests add up to more than it).
const BUSY_GAP: Duration = Duration::from_millis(150);
const REQUESTS: usize = 5;
/// How much earlier than the timeout a close may come (timer granularity),
/// and how much later on a loaded machine.
const IDLE_EARLY: Duration = Duration::from_millis(30);
const IDLE_LATE: Duration = Duration::from_millis(1500);
/// How soon a connection must close after a response that ends it.
const CLOSE_SOON: Duration = Duration::from_secs(2);
/// How long a test waits for a response.
const ANSWER: Duration = Duration::from_secs(3);

pub const TESTS: &[TestCase] = &[
    TestCase {
        id: "get-files",
        scenario: "GET of files in the served folder, each on a new connection: a text file, a 70 000-byte binary one, an empty one, one in a subfolder, `/with%20space.txt`, a target with a query; and of a missing file, a folder and `/`: 200 with Content-Length and the file's exact bytes, or 404.",
        clauses: &[1, 3, 5],
        points: 5,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "An HTTP response is a head (status line, header lines, an empty line) and a body whose length Content-Length gives: the client knows where the response ends without the connection closing.",
        hint: "Write `HTTP/1.1 200 OK\\r\\nContent-Length: N\\r\\n\\r\\n` and then exactly N bytes of the file; percent-decode the path and drop the query before looking for the file.",
        docs_anchor: "files-status-codes-and-content-length",
        run: get_files,
    },
    TestCase {
        id: "head",
        scenario: "HEAD of a 70 000-byte file and of a missing one, each with `Connection: close`: the same status and Content-Length as GET, then the end of the connection with no body byte.",
        clauses: &[4, 5],
        points: 5,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "HEAD asks for the head of the GET response only: a body after it would be read as the start of the next response.",
        hint: "For HEAD, send the same head as for GET, Content-Length included, and skip the body.",
        docs_anchor: "head",
        run: head,
    },
    TestCase {
        id: "persistent-by-default",
        scenario: "One HTTP/1.1 connection carries five requests one after another (GET, GET of a missing file, HEAD, GET of a large file, GET): each is answered on it, and it is still open after each response.",
        clauses: &[6],
        points: 5,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "HTTP/1.1 connections are persistent by default: after a response the server reads the next request on the same connection, so a client pays for one handshake, not one per request.",
        hint: "Loop on each connection: read a request, answer it completely, and read the next; close only when the request said `Connection: close`, or on an error.",
        docs_anchor: "persistent-connections-and-connection-close",
        run: persistent_by_default,
    },
    TestCase {
        id: "connection-close",
        scenario: "An HTTP/1.1 request with `Connection: close`, on a server whose idle timeout is 10 s: the response must carry `Connection: close` and the server must close the connection within 2 s.",
        clauses: &[6],
        points: 5,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "`Connection: close` is the client saying this is its last request: the server answers, says `Connection: close` too, and closes.",
        hint: "Look for the token `close` in the Connection header, case-insensitively; answer, then close the socket (shutdown(Write) first so the client reads to the end).",
        docs_anchor: "persistent-connections-and-connection-close",
        run: connection_close,
    },
    TestCase {
        id: "http10-closes",
        scenario: "An HTTP/1.0 request without a Connection header (and without Host): the server answers 200 with the file and closes the connection within 2 s (idle timeout 10 s).",
        clauses: &[6],
        points: 5,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "HTTP/1.0 connections close after one response unless the client asks for `Connection: keep-alive`: an HTTP/1.0 client may be waiting for the close to know the response is over.",
        hint: "For an HTTP/1.0 request, keep the connection only when its Connection header lists keep-alive.",
        docs_anchor: "persistent-connections-and-connection-close",
        run: http10_closes,
    },
    TestCase {
        id: "pipelined",
        scenario: "Five requests in one write (GET, HEAD, GET of a missing file, GET with a 5-byte body, GET of a 70 000-byte file): five responses, complete and in that order.",
        clauses: &[2, 7],
        points: 5,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "A client may pipeline: send several requests without waiting. One read then holds more than one request; the bytes after the first belong to the next, and responses go out in the order the requests came.",
        hint: "Keep one BufReader for the whole connection (never a new one per request: it would drop what it had buffered), read the body a request announces, and answer each request completely before reading the next.",
        docs_anchor: "pipelined-requests",
        run: pipelined,
    },
    TestCase {
        id: "split-requests",
        scenario: "A request arrives a byte at a time (each byte its own segment, 2 ms apart), then another arrives in two pieces split inside its final empty line: both are answered.",
        clauses: &[2],
        points: 5,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "TCP delivers bytes, not messages: a request may come in as many pieces as it has bytes, and a read returns whatever has arrived.",
        hint: "Read until the empty line that ends the head, however many reads it takes (BufRead::read_until, or fill_buf/consume); never parse what a single read returned.",
        docs_anchor: "pipelined-requests",
        run: split_requests,
    },
    TestCase {
        id: "lenient-syntax",
        scenario: "Requests the RFC allows a server to accept: lines ending in a bare LF, header names in mixed case (`hOsT`, `cOnTeNt-LeNgTh`), no space or tabs around a value (`Connection:\\t close \\t`): each is answered, a body is skipped, and the close is honoured.",
        clauses: &[2],
        points: 5,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "Header names are case-insensitive, whitespace around a value is optional, and a recipient may accept a bare LF as a line ending (RFC 9112 §2.2, §5.1).",
        hint: "Compare header names with eq_ignore_ascii_case (or lowercase them), trim spaces and tabs around values, and end a line at `\\n`, dropping a `\\r` before it.",
        docs_anchor: "what-a-request-may-look-like",
        run: lenient_syntax,
    },
    TestCase {
        id: "idle-timeout",
        scenario: "With --idle-timeout 500: a connection that sends five requests 150 ms apart stays open throughout; then, idle, it must be closed by the server not before 470 ms and within 2 s after its last request; a connection that never sends anything is closed the same way.",
        clauses: &[8],
        points: 5,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "An idle persistent connection holds a socket and a thread; a server closes it after an idle timeout, counted from the last byte received, so a connection in use is never closed.",
        hint: "stream.set_read_timeout(Some(idle)): a read that waits longer fails with WouldBlock, and then close the connection. The timeout restarts with every read, so never count it from the accept.",
        docs_anchor: "the-idle-timeout",
        run: idle_timeout,
    },
    TestCase {
        id: "connections-at-once",
        scenario: "Client 1 sends half a request and waits, client 2 connects and sends nothing; client 3's request must still be answered within 3 s, and then client 1's, once it finishes.",
        clauses: &[1],
        points: 5,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "A persistent connection may stay open, idle, for the whole idle timeout: a server that serves one connection at a time makes everyone else wait that long.",
        hint: "Serve each accepted connection on a thread of its own (std::thread::spawn).",
        docs_anchor: "files-status-codes-and-content-length",
        run: connections_at_once,
    },
    TestCase {
        id: "malformed",
        scenario: "Ten malformed requests, each on a new connection (two-part request line, a double space, a header line without a colon, a space before a colon, a folded line, HTTP/1.1 without Host, two Hosts, a Content-Length that is not a number, two different Content-Lengths, a broken %-escape): each gets 400 with `Connection: close`, and the connection closes.",
        clauses: &[9],
        points: 5,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "A request that does not parse cannot be answered, and the bytes after it cannot be trusted to start the next one: 400 Bad Request, then close.",
        hint: "Check the request line (three parts, single spaces), each header line (a token, a colon, a value), Host (exactly one in HTTP/1.1), Content-Length (digits) and %-escapes; answer 400 with Connection: close and close.",
        docs_anchor: "errors-400-413-414-431-501",
        run: malformed,
    },
    TestCase {
        id: "request-line-limit",
        scenario: "A request line of exactly 8192 bytes (a missing file) gets 404; one of 8193 bytes gets 414 and the connection closes.",
        clauses: &[10],
        points: 5,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "Every size a client controls is bounded before it is read, so no client can make the server buffer without end; the limit is exact, and 414 URI Too Long says which one was passed.",
        hint: "Read the request line with a cap: more than 8192 bytes before its line ending is 414. Exactly 8192 is fine.",
        docs_anchor: "limits",
        run: request_line_limit,
    },
    TestCase {
        id: "header-limit",
        scenario: "A header section (header lines with their CRLF, not the request line nor the empty line) of exactly 8192 bytes gets 200; one of 8193 bytes gets 431 and the connection closes.",
        clauses: &[10],
        points: 5,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "The header section is bounded as a whole, not line by line: many short lines can be as large as one long one. 431 Request Header Fields Too Large says so.",
        hint: "Add each header line's size, its line ending included, to a running total; more than 8192 is 431.",
        docs_anchor: "limits",
        run: header_limit,
    },
    TestCase {
        id: "body-limit",
        scenario: "A GET with a 16384-byte body (Content-Length: 16384) and a GET after it in the same write: 200 and 200; a GET announcing 16385 bytes, sent without its body: 413 within 3 s, and the connection closes.",
        clauses: &[2, 10],
        points: 5,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "Content-Length says how many bytes follow the head; they must be read (or skipped) to find the next request. Too large, and the server refuses before reading any of it.",
        hint: "After the head, read and discard exactly Content-Length bytes; when it is over 16384 answer 413 at once, without waiting for the body.",
        docs_anchor: "limits",
        run: body_limit,
    },
    TestCase {
        id: "unsupported",
        scenario: "POST, PUT, DELETE, BREW and a lowercase `get` (methods are case-sensitive), and a GET with `Transfer-Encoding: chunked`, each on a new connection: 501 with `Connection: close`, and the connection closes.",
        clauses: &[11],
        points: 5,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "501 Not Implemented: the request is well formed, but this server does not do what it asks. Method names are case-sensitive.",
        hint: "Serve GET and HEAD exactly as spelled; anything else, or any Transfer-Encoding, is 501, then close.",
        docs_anchor: "errors-400-413-414-431-501",
        run: unsupported,
    },
    TestCase {
        id: "stays-inside",
        scenario: "Targets that try to leave the served folder (`/../secret.txt`, `%2e%2e`, `%2f`, `//` and an absolute path, a symbolic link to the secret, a linked folder, a link into a sibling folder whose name starts like the served one's) each get a 4xx status and never the secret's bytes; a symbolic link to a file inside is served.",
        clauses: &[12],
        points: 10,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "The target is the client's text: decoded, `%2e%2e` is `..`; `Path::join` with an absolute path replaces the base; a symbolic link can lead anywhere. Only the real path, checked component-wise against the folder's real path, is safe.",
        hint: "Percent-decode, refuse `..` segments, push only non-empty segments, then canonicalize and check real.starts_with(root) on Paths (components), not on strings.",
        docs_anchor: "the-served-folder-is-a-wall",
        run: stays_inside,
    },
    TestCase {
        id: "curl-reuses",
        scenario: "curl fetches three URLs in one run (a file, a missing one, another file): 200, 404, 200 with the right bodies, over one connection (curl's num_connects: 1, 0, 0).",
        clauses: &[3, 6],
        points: 5,
        limit: Duration::from_secs(15),
        needs: &[Need::Linux, Need::Curl],
        sharing: Sharing::Shared,
        concept: "A real client re-uses a connection only when the response told it exactly where it ends (Content-Length) and did not say Connection: close.",
        hint: "Run `curl -v http://ADDR/a.txt http://ADDR/b.txt` yourself: it says `Re-using existing connection` when your server kept it open.",
        docs_anchor: "real-clients-curl-wrk-and-ab",
        run: curl_reuses,
    },
    TestCase {
        id: "wrk-no-errors",
        scenario: "wrk runs for 1 s with 8 connections over 2 threads, and a 2 s timeout: it must finish with zero connect, read, write, timeout and status errors, and more than 0 requests.",
        clauses: &[1, 3, 6],
        points: 5,
        limit: Duration::from_secs(15),
        needs: &[Need::Linux, Need::Wrk],
        sharing: Sharing::Shared,
        concept: "A load generator keeps many persistent connections busy at once: anything a single careful client never does (connections at the same time, thousands of requests) shows up as errors.",
        hint: "Run `wrk -t2 -c8 -d2s http://ADDR/a.txt` yourself and read its `Socket errors` and `Non-2xx` lines.",
        docs_anchor: "real-clients-curl-wrk-and-ab",
        run: wrk_no_errors,
    },
    TestCase {
        id: "ab-keep-alive",
        scenario: "ApacheBench sends 400 HTTP/1.0 requests with `Connection: Keep-Alive` over 8 connections at once (`ab -k -n 400 -c 8 -s 3`): it must complete all 400 with 0 failed and 0 non-2xx responses, and exit with status 0.",
        clauses: &[1, 6],
        points: 5,
        limit: Duration::from_secs(15),
        needs: &[Need::Linux, Need::Ab],
        sharing: Sharing::Shared,
        concept: "A load generator holds many connections at once and waits for every request it sent: a server that serves only some connections at a time leaves the others' requests unanswered.",
        hint: "Run `ab -k -n 400 -c 8 http://ADDR/a.txt` yourself; ab says `apr_pollset_poll: The timeout specified has expired` when some requests were never answered.",
        docs_anchor: "real-clients-curl-wrk-and-ab",
        run: ab_keep_alive,
    },
];

// ---------------------------------------------------------------- the served folder

/// The folder a test serves, in its scratch folder, and the secret next to it.
struct Site {
    root: PathBuf,
    /// The absolute path of the secret file (beside `root`, not in it).
    secret_path: PathBuf,
    /// Bytes that only the secret files hold.
    secret: Vec<u8>,
    a_txt: Vec<u8>,
    b_bin: Vec<u8>,
    c_html: Vec<u8>,
    space: Vec<u8>,
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    std::fs::write(path, bytes).map_err(|e| Failure::io(&format!("writing {}", path.display()), &e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
            .map_err(|e| Failure::io(&format!("opening {} to reading", path.display()), &e))?;
    }
    Ok(())
}

fn make_dir(path: &Path) -> Result<(), Failure> {
    std::fs::create_dir_all(path).map_err(|e| Failure::io(&format!("creating {}", path.display()), &e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| Failure::io(&format!("opening {} to reading", path.display()), &e))?;
    }
    Ok(())
}

fn text(seed: u64, len: usize) -> Vec<u8> {
    random_bytes(seed, len)
        .into_iter()
        .map(|b| b"abcdefghijklmnopqrstuvwxyz0123456789 \n"[b as usize % 38])
        .collect()
}

/// Builds the served folder `www` in the test's scratch folder:
///
/// ```text
/// secret.txt                     never served
/// www-private/key.txt            never served (its folder's name starts with "www")
/// www/a.txt, b.bin (70 000 bytes), empty.txt, "with space.txt", sub/c.html
/// www/link-in -> a.txt           served
/// www/link-out -> ../secret.txt, www/linkdir-out -> .., www/link-sibling -> ../www-private/key.txt
/// ```
fn site(ctx: &Ctx) -> Result<Site, Failure> {
    let scratch = ctx.scratch()?;
    let root = scratch.join("www");
    make_dir(&root.join("sub"))?;
    make_dir(&scratch.join("www-private"))?;
    let seed = ctx.seed;
    let mut secret = format!("SECRET-{seed:016x}-").into_bytes();
    secret.extend(text(seed ^ 0x5ec, 40));
    let secret_path = scratch.join("secret.txt");
    write_file(&secret_path, &secret)?;
    write_file(&scratch.join("www-private/key.txt"), &secret)?;
    let site = Site {
        root,
        secret_path,
        secret,
        a_txt: text(seed ^ 1, 1000),
        b_bin: random_bytes(seed ^ 2, 70_000),
        c_html: format!("<!doctype html><title>c</title><p>{seed}</p>\n").into_bytes(),
        space: text(seed ^ 3, 33),
    };
    write_file(&site.root.join("a.txt"), &site.a_txt)?;
    write_file(&site.root.join("b.bin"), &site.b_bin)?;
    write_file(&site.root.join("empty.txt"), b"")?;
    write_file(&site.root.join("with space.txt"), &site.space)?;
    write_file(&site.root.join("sub/c.html"), &site.c_html)?;
    #[cfg(unix)]
    for (link, to) in [
        ("link-in", "a.txt"),
        ("link-out", "../secret.txt"),
        ("linkdir-out", ".."),
        ("link-sibling", "../www-private/key.txt"),
    ] {
        std::os::unix::fs::symlink(to, site.root.join(link)).map_err(|e| Failure::io(&format!("creating the symbolic link {link}"), &e))?;
    }
    ctx.step(format!(
        "the grader made the folder {} (a.txt: 1000 bytes, b.bin: 70000 bytes, empty.txt, `with space.txt`, sub/c.html, symbolic links) and, next to it, secret.txt, which must never be served",
        site.root.display()
    ));
    Ok(site)
}

/// Starts the server on the test's site and waits for `listening on`.
fn start(ctx: &mut Ctx, site: &Site, idle_ms: &str) -> Result<(Program, SocketAddr), Failure> {
    let root = site.root.display().to_string();
    let mut program = ctx.spawn(&["127.0.0.1:0", &root, "--idle-timeout", idle_ms])?;
    let addr = ctx.wait_listening(&mut program)?;
    Ok((program, addr))
}

// ---------------------------------------------------------------- an HTTP connection

/// A response as the contract grades it.
struct Response {
    status: u16,
    /// Header fields, names lowercased, values trimmed.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Whether a header lists `token` (comma-separated, any case).
    fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }
}

/// How a wait for the end of a connection ended.
enum End {
    /// A read returned 0 bytes (FIN) or failed with ECONNRESET (RST).
    Closed,
    /// Bytes arrived instead.
    Bytes(Vec<u8>),
    /// Nothing happened before the deadline.
    StillOpen,
}

/// A loopback connection to the program that logs every byte and reads
/// responses framed by Content-Length.
struct Http {
    stream: TcpStream,
    name: String,
    /// Received, not yet consumed.
    buf: Vec<u8>,
    transcript: Transcript,
}

impl Http {
    fn connect(ctx: &mut Ctx, addr: SocketAddr, name: &str) -> Result<Http, Failure> {
        let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).map_err(|e| Failure::io(&format!("{name} connecting to {addr}"), &e))?;
        stream.set_write_timeout(Some(IO_TIMEOUT)).ok();
        // Each write its own segment, as a client's would be.
        stream.set_nodelay(true).ok();
        ctx.step(format!("{name} connected to {addr}"));
        Ok(Http {
            stream,
            name: name.to_string(),
            buf: Vec::new(),
            transcript: ctx.transcript.clone(),
        })
    }

    fn send(&mut self, bytes: &[u8]) -> Outcome {
        self.stream
            .write_all(bytes)
            .map_err(|e| Failure::io(&format!("{} sending {} bytes", self.name, bytes.len()), &e))?;
        self.transcript
            .step(format!("{} sent {} bytes: {}", self.name, bytes.len(), transcript::escape(bytes)));
        Ok(())
    }

    /// Sends `bytes` one byte per write, `gap` apart (no log per byte).
    fn send_bytewise(&mut self, bytes: &[u8], gap: Duration) -> Outcome {
        for b in bytes {
            self.stream
                .write_all(std::slice::from_ref(b))
                .map_err(|e| Failure::io(&format!("{} sending a byte", self.name), &e))?;
            std::thread::sleep(gap);
        }
        self.transcript.step(format!(
            "{} sent {} bytes one at a time, {} ms apart: {}",
            self.name,
            bytes.len(),
            gap.as_millis(),
            transcript::escape(bytes)
        ));
        Ok(())
    }

    /// One read of at most 64 KiB before `deadline`: Ok(0) is the end of the
    /// connection; ECONNRESET also reads as the end.
    fn read_some(&mut self, deadline: Instant) -> io::Result<Option<usize>> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        self.stream.set_read_timeout(Some(left.min(IO_TIMEOUT))).ok();
        let mut chunk = vec![0u8; 64 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(Some(n))
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Ok(Some(0)),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                ) =>
            {
                Ok(Some(usize::MAX))
            }
            Err(e) => Err(e),
        }
    }

    fn log_received(&self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.transcript.step(format!(
                "{} received {} bytes: {}",
                self.name,
                bytes.len(),
                transcript::escape(bytes)
            ));
        }
    }

    /// Reads one response (`head_only`: the response to a HEAD, without a
    /// body) within `timeout`; `what` names it in a failure.
    fn response(&mut self, head_only: bool, what: &str, timeout: Duration) -> Result<Response, Failure> {
        let deadline = Instant::now() + timeout;
        // The head, up to the empty line.
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if self.buf.len() > 64 * 1024 {
                let got = std::mem::take(&mut self.buf);
                self.log_received(&got);
                return Err(Failure::new(format!(
                    "expected {what}, but 64 KiB arrived without the empty line (\\r\\n\\r\\n) that ends a response's head"
                )));
            }
            match self.read_some(deadline) {
                Ok(Some(0)) => {
                    let got = std::mem::take(&mut self.buf);
                    self.log_received(&got);
                    return Err(Failure::new(format!(
                        "expected {what}, but the connection was closed after {} bytes of it{}",
                        got.len(),
                        if got.is_empty() { " (nothing was sent back)" } else { "" }
                    )));
                }
                Ok(Some(_)) => {}
                Ok(None) => {
                    let got = std::mem::take(&mut self.buf);
                    self.log_received(&got);
                    return Err(Failure::new(format!(
                        "expected {what} within {:.1} s, but {}",
                        timeout.as_secs_f64(),
                        if got.is_empty() {
                            "nothing arrived".to_string()
                        } else {
                            format!("only {} bytes arrived, without the empty line that ends a head", got.len())
                        }
                    )));
                }
                Err(e) => return Err(Failure::io(&format!("{} reading {what}", self.name), &e)),
            }
        };
        let head: Vec<u8> = self.buf.drain(..head_end).collect();
        let text = String::from_utf8_lossy(&head[..head.len() - 4]).to_string();
        let mut lines = text.split("\r\n");
        let status_line = lines.next().unwrap_or("");
        let status = parse_status_line(status_line).ok_or_else(|| {
            self.log_received(&head);
            Failure::new(format!(
                "expected {what}, starting with a status line `HTTP/1.1 NNN reason`, but the first line is {}",
                transcript::escape(status_line.as_bytes())
            ))
        })?;
        let mut headers = Vec::new();
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                self.log_received(&head);
                return Err(Failure::new(format!(
                    "expected {what}, but its head has a line that is not `name: value`: {} (every line of a head ends in \\r\\n, and the head ends with one empty line)",
                    transcript::escape(line.as_bytes())
                )));
            };
            headers.push((name.trim().to_ascii_lowercase(), value.trim_matches([' ', '\t']).to_string()));
        }
        let lengths: Vec<&str> = headers
            .iter()
            .filter(|(n, _)| n == "content-length")
            .map(|(_, v)| v.as_str())
            .collect();
        let length = match lengths.as_slice() {
            [one] => one.parse::<usize>().ok(),
            _ => None,
        }
        .ok_or_else(|| {
            self.log_received(&head);
            Failure::new(format!(
                "expected {what} with one `Content-Length: N` header (the contract requires it on every response, so the client knows where the body ends), but its head has {}",
                if lengths.is_empty() { "none".to_string() } else { format!("{lengths:?}") }
            ))
        })?;
        let mut body = Vec::new();
        if !head_only {
            while self.buf.len() < length {
                match self.read_some(deadline) {
                    Ok(end @ (Some(0) | None)) => {
                        self.log_received(&head);
                        let got = std::mem::take(&mut self.buf);
                        self.log_received(&got);
                        return Err(Failure::new(format!(
                            "expected {what}: its head says Content-Length: {length}, but {} body bytes arrived before {}",
                            got.len(),
                            if end.is_some() {
                                "the connection closed".to_string()
                            } else {
                                format!("the deadline ({:.1} s)", timeout.as_secs_f64())
                            }
                        )));
                    }
                    Ok(Some(_)) => {}
                    Err(e) => return Err(Failure::io(&format!("{} reading {what}", self.name), &e)),
                }
            }
            body = self.buf.drain(..length).collect();
        }
        let mut shown = head.clone();
        shown.extend_from_slice(&body);
        self.log_received(&shown);
        Ok(Response { status, headers, body })
    }

    /// Waits up to `timeout` for the end of the connection.
    fn end(&mut self, timeout: Duration) -> Result<End, Failure> {
        if !self.buf.is_empty() {
            return Ok(End::Bytes(std::mem::take(&mut self.buf)));
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.read_some(deadline) {
                Ok(Some(0)) => {
                    self.transcript
                        .step(format!("{} saw the connection closed by the server", self.name));
                    return Ok(End::Closed);
                }
                Ok(Some(usize::MAX)) => {}
                Ok(Some(_)) => {
                    let got = std::mem::take(&mut self.buf);
                    self.log_received(&got);
                    return Ok(End::Bytes(got));
                }
                Ok(None) => return Ok(End::StillOpen),
                Err(e) => return Err(Failure::io(&format!("{} waiting for the end of the connection", self.name), &e)),
            }
        }
    }

    /// The server must close the connection within `timeout`, sending
    /// nothing more.
    fn expect_closed(&mut self, timeout: Duration, after: &str) -> Outcome {
        match self.end(timeout)? {
            End::Closed => Ok(()),
            End::Bytes(got) => Err(Failure::new(format!(
                "expected the server to close the connection after {after}, but {} more bytes came: {}",
                got.len(),
                transcript::escape(&got)
            ))),
            End::StillOpen => Err(Failure::new(format!(
                "expected the server to close the connection after {after}, but it was still open {:.1} s later",
                timeout.as_secs_f64()
            ))),
        }
    }
}

/// `HTTP/1.1 NNN` then a space (the reason may be empty).
fn parse_status_line(line: &str) -> Option<u16> {
    let rest = line.strip_prefix("HTTP/1.1 ")?;
    let code = rest.get(..3)?;
    if !code.bytes().all(|b| b.is_ascii_digit()) || !matches!(rest.as_bytes().get(3), Some(b' ') | None) {
        return None;
    }
    code.parse().ok()
}

fn get(target: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n").into_bytes()
}

/// Checks status and body of a response.
fn expect(response: &Response, what: &str, status: u16, body: Option<&[u8]>) -> Outcome {
    if response.status != status {
        return Err(Failure::new(format!(
            "expected {what} to have status {status}, but it is {}",
            response.status
        )));
    }
    if let Some(body) = body
        && response.body != body
    {
        let at = response
            .body
            .iter()
            .zip(body)
            .position(|(a, b)| a != b)
            .unwrap_or(body.len().min(response.body.len()));
        return Err(Failure::new(format!(
            "expected {what} to carry the file's {} bytes, but its body ({} bytes) differs from byte {at} on",
            body.len(),
            response.body.len()
        )));
    }
    Ok(())
}

/// Checks a response the connection must end after: status, `Connection:
/// close`, then the close itself.
fn expect_final(conn: &mut Http, response: &Response, what: &str, status: u16) -> Outcome {
    expect(response, what, status, None)?;
    if !response.has_token("connection", "close") {
        return Err(Failure::new(format!(
            "expected {what} ({status}) to carry `Connection: close` (the server closes after it), but its Connection header is {:?}",
            response.header("connection")
        )));
    }
    conn.expect_closed(CLOSE_SOON, what)
}

/// Sends one request on a new connection and reads its response.
fn exchange(ctx: &mut Ctx, addr: SocketAddr, name: &str, request: &[u8], head_only: bool, what: &str) -> Result<(Http, Response), Failure> {
    let mut conn = Http::connect(ctx, addr, name)?;
    conn.send(request)?;
    let response = conn.response(head_only, what, ANSWER)?;
    Ok((conn, response))
}

// ---------------------------------------------------------------- the tests

fn get_files(ctx: &mut Ctx) -> Outcome {
    let site = site(ctx)?;
    let (_program, addr) = start(ctx, &site, LONG_IDLE)?;
    let cases: [(&str, u16, Option<&[u8]>); 9] = [
        ("/a.txt", 200, Some(&site.a_txt)),
        ("/b.bin", 200, Some(&site.b_bin)),
        ("/empty.txt", 200, Some(b"")),
        ("/sub/c.html", 200, Some(&site.c_html)),
        ("/with%20space.txt", 200, Some(&site.space)),
        ("/a.txt?x=1&y=/b.bin", 200, Some(&site.a_txt)),
        ("/missing.txt", 404, None),
        ("/sub", 404, None),
        ("/", 404, None),
    ];
    for (i, (target, status, body)) in cases.into_iter().enumerate() {
        let what = format!("the response to GET {target}");
        let (_conn, response) = exchange(ctx, addr, &format!("client {}", i + 1), &get(target), false, &what)?;
        expect(&response, &what, status, body)?;
    }
    Ok(())
}

fn head(ctx: &mut Ctx) -> Outcome {
    let site = site(ctx)?;
    let (_program, addr) = start(ctx, &site, LONG_IDLE)?;
    for (i, (target, status)) in [("/b.bin", 200), ("/missing.txt", 404)].into_iter().enumerate() {
        let request = format!("HEAD {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        let what = format!("the response to HEAD {target}");
        let (mut conn, response) = exchange(ctx, addr, &format!("client {}", i + 1), request.as_bytes(), true, &what)?;
        expect(&response, &what, status, None)?;
        if status == 200 && response.header("content-length") != Some(&site.b_bin.len().to_string()) {
            return Err(Failure::new(format!(
                "expected {what} to say Content-Length: {} (what GET would send), but it says {:?}",
                site.b_bin.len(),
                response.header("content-length")
            )));
        }
        match conn.end(CLOSE_SOON)? {
            End::Closed => {}
            End::Bytes(got) => {
                return Err(Failure::new(format!(
                    "expected nothing after the head of {what}, but {} bytes followed (a body: HEAD gets none; a client would read them as the next response)",
                    got.len()
                )));
            }
            End::StillOpen => {
                return Err(Failure::new(format!(
                    "expected the server to close the connection after {what} (the request said Connection: close), but it was still open {:.1} s later",
                    CLOSE_SOON.as_secs_f64()
                )));
            }
        }
    }
    Ok(())
}

fn persistent_by_default(ctx: &mut Ctx) -> Outcome {
    let site = site(ctx)?;
    let (_program, addr) = start(ctx, &site, LONG_IDLE)?;
    let mut conn = Http::connect(ctx, addr, "client 1")?;
    let steps: [(&str, &str, u16, Option<&[u8]>); 5] = [
        ("GET", "/a.txt", 200, Some(&site.a_txt)),
        ("GET", "/missing.txt", 404, None),
        ("HEAD", "/a.txt", 200, None),
        ("GET", "/b.bin", 200, Some(&site.b_bin)),
        ("GET", "/sub/c.html", 200, Some(&site.c_html)),
    ];
    for (i, (method, target, status, body)) in steps.into_iter().enumerate() {
        let what = format!("the response to request {} ({method} {target}) on the same connection", i + 1);
        conn.send(format!("{method} {target} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())?;
        let response = conn.response(method == "HEAD", &what, ANSWER).map_err(|f| {
            if i > 0 {
                f.hint("HTTP/1.1 keeps a connection open after a response unless the request said Connection: close: read the next request on the same socket.")
            } else {
                f
            }
        })?;
        expect(&response, &what, status, body)?;
        if response.has_token("connection", "close") {
            return Err(Failure::new(format!(
                "expected {what} to keep the connection open (HTTP/1.1, no Connection: close in the request), but it says Connection: close"
            )));
        }
    }
    Ok(())
}

fn connection_close(ctx: &mut Ctx) -> Outcome {
    let site = site(ctx)?;
    let (_program, addr) = start(ctx, &site, LONG_IDLE)?;
    let request = b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    let what = "the response to GET /a.txt with Connection: close";
    let (mut conn, response) = exchange(ctx, addr, "client 1", request, false, what)?;
    expect(&response, what, 200, Some(&site.a_txt))?;
    expect_final(&mut conn, &response, what, 200)
}

fn http10_closes(ctx: &mut Ctx) -> Outcome {
    let site = site(ctx)?;
    let (_program, addr) = start(ctx, &site, LONG_IDLE)?;
    let what = "the response to an HTTP/1.0 GET /a.txt";
    let (mut conn, response) = exchange(ctx, addr, "client 1", b"GET /a.txt HTTP/1.0\r\n\r\n", false, what)?;
    expect(&response, what, 200, Some(&site.a_txt))?;
    conn.expect_closed(CLOSE_SOON, &format!("{what} (HTTP/1.0 without Connection: keep-alive closes)"))
}

fn pipelined(ctx: &mut Ctx) -> Outcome {
    let site = site(ctx)?;
    let (_program, addr) = start(ctx, &site, LONG_IDLE)?;
    let mut all = Vec::new();
    all.extend(get("/a.txt"));
    all.extend(b"HEAD /b.bin HTTP/1.1\r\nHost: localhost\r\n\r\n");
    all.extend(get("/missing.txt"));
    all.extend(b"GET /sub/c.html HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello");
    all.extend(get("/b.bin"));
    let mut conn = Http::connect(ctx, addr, "client 1")?;
    conn.send(&all)?;
    let expected: [(&str, bool, u16, Option<&[u8]>); 5] = [
        ("GET /a.txt", false, 200, Some(&site.a_txt)),
        ("HEAD /b.bin", true, 200, None),
        ("GET /missing.txt", false, 404, None),
        ("GET /sub/c.html (with a 5-byte body)", false, 200, Some(&site.c_html)),
        ("GET /b.bin", false, 200, Some(&site.b_bin)),
    ];
    for (i, (request, head_only, status, body)) in expected.into_iter().enumerate() {
        let what = format!("response {} of 5, to {request}", i + 1);
        let response = conn.response(head_only, &what, ANSWER)?;
        expect(&response, &what, status, body)?;
    }
    Ok(())
}

fn split_requests(ctx: &mut Ctx) -> Outcome {
    let site = site(ctx)?;
    let (_program, addr) = start(ctx, &site, LONG_IDLE)?;
    let mut conn = Http::connect(ctx, addr, "client 1")?;
    conn.send_bytewise(&get("/a.txt"), Duration::from_millis(2))?;
    let response = conn.response(false, "the response to a GET sent a byte at a time", ANSWER)?;
    expect(&response, "the response to a GET sent a byte at a time", 200, Some(&site.a_txt))?;
    let request = get("/sub/c.html");
    let cut = request.len() - 3;
    conn.send(&request[..cut])?;
    std::thread::sleep(Duration::from_millis(50));
    conn.send(&request[cut..])?;
    let what = "the response to a GET split inside its final \\r\\n\\r\\n";
    let response = conn.response(false, what, ANSWER)?;
    expect(&response, what, 200, Some(&site.c_html))
}

fn lenient_syntax(ctx: &mut Ctx) -> Outcome {
    let site = site(ctx)?;
    let (_program, addr) = start(ctx, &site, LONG_IDLE)?;
    let mut conn = Http::connect(ctx, addr, "client 1")?;
    conn.send(b"GET /a.txt HTTP/1.1\nHost: localhost\n\n")?;
    let what = "the response to a request whose lines end in a bare \\n";
    let response = conn.response(false, what, ANSWER)?;
    expect(&response, what, 200, Some(&site.a_txt))?;
    conn.send(b"GET /sub/c.html HTTP/1.1\r\nhOsT:localhost\r\ncOnTeNt-LeNgTh: \t3\t \r\n\r\nabcGET /with%20space.txt HTTP/1.1\r\nHOST: localhost\r\nConnection:\t close \t\r\n\r\n")?;
    let what = "the response to a request with mixed-case names and a 3-byte body";
    let response = conn.response(false, what, ANSWER)?;
    expect(&response, what, 200, Some(&site.c_html))?;
    let what = "the response to the request after that body, with `Connection:\\t close \\t`";
    let response = conn.response(false, what, ANSWER)?;
    expect(&response, what, 200, Some(&site.space))?;
    conn.expect_closed(CLOSE_SOON, what)
}

fn idle_timeout(ctx: &mut Ctx) -> Outcome {
    let site = site(ctx)?;
    let (_program, addr) = start(ctx, &site, &IDLE_MS.to_string())?;
    let idle = Duration::from_millis(IDLE_MS);
    // Client 2 never sends anything: the clock runs from the connect.
    let mut quiet = Http::connect(ctx, addr, "client 2 (silent)")?;
    let quiet_since = Instant::now();
    let mut conn = Http::connect(ctx, addr, "client 1")?;
    let mut last_sent = Instant::now();
    for i in 0..REQUESTS {
        if i > 0 {
            std::thread::sleep(BUSY_GAP);
        }
        last_sent = Instant::now();
        conn.send(&get("/a.txt"))?;
        let what = format!(
            "the response to request {} of {REQUESTS} ({} ms after the previous response, inside the idle timeout of {IDLE_MS} ms)",
            i + 1,
            BUSY_GAP.as_millis()
        );
        let response = conn.response(false, &what, ANSWER).map_err(|f| {
            f.hint("The idle timeout counts from the last byte received, not from the accept: a connection that keeps sending requests is never idle.")
        })?;
        expect(&response, &what, 200, Some(&site.a_txt))?;
    }
    ctx.step(format!(
        "client 1 now stays idle; the server must close it {IDLE_MS} ms after its last request"
    ));
    for (conn, since, who) in [
        (&mut conn, last_sent, "its last request"),
        (&mut quiet, quiet_since, "it connected"),
    ] {
        let wait = (since + idle + IDLE_LATE).saturating_duration_since(Instant::now());
        let end = conn.end(wait)?;
        let at = since.elapsed();
        match end {
            End::Closed if at + IDLE_EARLY < idle => {
                return Err(Failure::new(format!(
                    "expected {} to stay open for the idle timeout ({IDLE_MS} ms) after {who}, but the server closed it after {} ms",
                    conn.name,
                    at.as_millis()
                )));
            }
            End::Closed => ctx.step(format!("{} was closed {} ms after {who}", conn.name, at.as_millis())),
            End::Bytes(got) => {
                return Err(Failure::new(format!(
                    "expected the server to close idle {} without a response, but {} bytes came",
                    conn.name,
                    got.len()
                )));
            }
            End::StillOpen => {
                return Err(Failure::new(format!(
                    "expected the server to close {} {IDLE_MS} ms after {who} (the idle timeout), but it was still open after {} ms",
                    conn.name,
                    at.as_millis()
                )));
            }
        }
    }
    Ok(())
}

fn connections_at_once(ctx: &mut Ctx) -> Outcome {
    let site = site(ctx)?;
    let (_program, addr) = start(ctx, &site, LONG_IDLE)?;
    let mut first = Http::connect(ctx, addr, "client 1")?;
    let request = get("/a.txt");
    first.send(&request[..20])?;
    let _silent = Http::connect(ctx, addr, "client 2")?;
    let mut third = Http::connect(ctx, addr, "client 3")?;
    third.send(&get("/sub/c.html"))?;
    let what = "the response to client 3 (clients 1 and 2 are connected and not done)";
    let response = third.response(false, what, ANSWER).map_err(|f| {
        f.hint("Serve each connection on a thread of its own: a connection that is open and quiet must not hold up the others.")
    })?;
    expect(&response, what, 200, Some(&site.c_html))?;
    first.send(&request[20..])?;
    let what = "the response to client 1, which finished its request";
    let response = first.response(false, what, ANSWER)?;
    expect(&response, what, 200, Some(&site.a_txt))
}

fn malformed(ctx: &mut Ctx) -> Outcome {
    let site = site(ctx)?;
    let (_program, addr) = start(ctx, &site, LONG_IDLE)?;
    let cases: [(&str, &[u8]); 10] = [
        ("a request line of two parts", b"GET /a.txt\r\nHost: localhost\r\n\r\n"),
        ("two spaces in the request line", b"GET  /a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"),
        (
            "a header line without a colon",
            b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nAccept text/plain\r\n\r\n",
        ),
        ("a space before a colon", b"GET /a.txt HTTP/1.1\r\nHost : localhost\r\n\r\n"),
        (
            "a folded header line",
            b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nAccept: text/plain,\r\n text/html\r\n\r\n",
        ),
        ("HTTP/1.1 without Host", b"GET /a.txt HTTP/1.1\r\nAccept: */*\r\n\r\n"),
        (
            "two Host headers",
            b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nHost: example.org\r\n\r\n",
        ),
        (
            "a Content-Length that is not a number",
            b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3x\r\n\r\n3x\r\n",
        ),
        (
            "two different Content-Lengths",
            b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
        ),
        ("a broken %-escape", b"GET /a%zz.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"),
    ];
    for (i, (why, request)) in cases.into_iter().enumerate() {
        let what = format!("the response to a request with {why}");
        let (mut conn, response) = exchange(ctx, addr, &format!("client {}", i + 1), request, false, &what)?;
        expect_final(&mut conn, &response, &what, 400)?;
    }
    Ok(())
}

/// A GET whose request line is exactly `len` bytes (a missing file).
fn long_line(len: usize) -> Vec<u8> {
    let fixed = "GET /".len() + " HTTP/1.1".len();
    let target = format!("/{}", "x".repeat(len - fixed));
    let line = format!("GET {target} HTTP/1.1");
    assert_eq!(line.len(), len);
    format!("{line}\r\nHost: localhost\r\n\r\n").into_bytes()
}

fn request_line_limit(ctx: &mut Ctx) -> Outcome {
    let site = site(ctx)?;
    let (_program, addr) = start(ctx, &site, LONG_IDLE)?;
    let what = format!("the response to a request line of exactly {MAX_REQUEST_LINE} bytes (a missing file)");
    let (_conn, response) = exchange(ctx, addr, "client 1", &long_line(MAX_REQUEST_LINE), false, &what)?;
    expect(&response, &what, 404, None)?;
    let what = format!("the response to a request line of {} bytes", MAX_REQUEST_LINE + 1);
    let (mut conn, response) = exchange(ctx, addr, "client 2", &long_line(MAX_REQUEST_LINE + 1), false, &what)?;
    expect_final(&mut conn, &response, &what, 414)
}

/// A GET of /a.txt whose header section (lines with their CRLF) is exactly `len` bytes.
fn big_headers(len: usize) -> Vec<u8> {
    let mut section = String::from("Host: localhost\r\n");
    let mut n = 0;
    // Lines of 100 bytes, then one that makes up the rest (at least 20).
    while len - section.len() >= 120 {
        section.push_str(&format!("X-Fill-{n:04}: {}\r\n", "f".repeat(100 - 15)));
        n += 1;
    }
    let rest = len - section.len();
    section.push_str(&format!("X-Last: {}\r\n", "l".repeat(rest - 10)));
    assert_eq!(section.len(), len);
    format!("GET /a.txt HTTP/1.1\r\n{section}\r\n").into_bytes()
}

fn header_limit(ctx: &mut Ctx) -> Outcome {
    let site = site(ctx)?;
    let (_program, addr) = start(ctx, &site, LONG_IDLE)?;
    let what = format!("the response to a header section of exactly {MAX_HEADER_SECTION} bytes");
    let (_conn, response) = exchange(ctx, addr, "client 1", &big_headers(MAX_HEADER_SECTION), false, &what)?;
    expect(&response, &what, 200, Some(&site.a_txt))?;
    let what = format!("the response to a header section of {} bytes", MAX_HEADER_SECTION + 1);
    let (mut conn, response) = exchange(ctx, addr, "client 2", &big_headers(MAX_HEADER_SECTION + 1), false, &what)?;
    expect_final(&mut conn, &response, &what, 431)
}

fn body_limit(ctx: &mut Ctx) -> Outcome {
    let site = site(ctx)?;
    let (_program, addr) = start(ctx, &site, LONG_IDLE)?;
    let mut conn = Http::connect(ctx, addr, "client 1")?;
    let mut request = format!("GET /a.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: {MAX_BODY}\r\n\r\n").into_bytes();
    request.extend(text(ctx.seed ^ 7, MAX_BODY));
    request.extend(get("/sub/c.html"));
    conn.send(&request)?;
    let what = format!("the response to a GET with a body of exactly {MAX_BODY} bytes");
    let response = conn.response(false, &what, ANSWER)?;
    expect(&response, &what, 200, Some(&site.a_txt))?;
    let what = format!("the response to the GET after that {MAX_BODY}-byte body");
    let response = conn.response(false, &what, ANSWER)?;
    expect(&response, &what, 200, Some(&site.c_html))?;
    let mut conn = Http::connect(ctx, addr, "client 2")?;
    conn.send(format!("GET /a.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n", MAX_BODY + 1).as_bytes())?;
    let what = format!("the response to a GET announcing a body of {} bytes (not sent)", MAX_BODY + 1);
    let response = conn.response(false, &what, ANSWER).map_err(|f| {
        f.hint("Refuse a Content-Length over the limit as soon as the head is read, before reading (or waiting for) the body.")
    })?;
    expect_final(&mut conn, &response, &what, 413)
}

fn unsupported(ctx: &mut Ctx) -> Outcome {
    let site = site(ctx)?;
    let (_program, addr) = start(ctx, &site, LONG_IDLE)?;
    let cases: [(&str, &[u8]); 6] = [
        ("POST", b"POST /a.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\nhi"),
        ("PUT", b"PUT /a.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n"),
        ("DELETE", b"DELETE /a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"),
        ("BREW", b"BREW /a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"),
        ("get (lowercase)", b"get /a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"),
        (
            "GET with Transfer-Encoding: chunked",
            b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        ),
    ];
    for (i, (why, request)) in cases.into_iter().enumerate() {
        let what = format!("the response to {why}");
        let (mut conn, response) = exchange(ctx, addr, &format!("client {}", i + 1), request, false, &what)?;
        expect_final(&mut conn, &response, &what, 501)?;
    }
    Ok(())
}

fn stays_inside(ctx: &mut Ctx) -> Outcome {
    let site = site(ctx)?;
    let (_program, addr) = start(ctx, &site, LONG_IDLE)?;
    let absolute = site.secret_path.display().to_string();
    let targets = [
        "/../secret.txt".to_string(),
        "/sub/../../secret.txt".to_string(),
        "/%2e%2e/secret.txt".to_string(),
        "/%2E%2E%2Fsecret.txt".to_string(),
        "/..%2fsecret.txt".to_string(),
        "/sub/%2e%2e/%2e%2e/secret.txt".to_string(),
        format!("/{absolute}"),
        format!("/%2F{}", absolute.trim_start_matches('/')),
        "/link-out".to_string(),
        "/linkdir-out/secret.txt".to_string(),
        "/link-sibling".to_string(),
    ];
    for (i, target) in targets.iter().enumerate() {
        let request = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        let mut conn = Http::connect(ctx, addr, &format!("client {}", i + 1))?;
        conn.send(request.as_bytes())?;
        let what = format!("the response to GET {target}");
        let response = conn.response(false, &what, ANSWER);
        // Whatever came, the secret must not be in it.
        let mut seen = conn.buf.clone();
        if let Ok(r) = &response {
            seen.extend_from_slice(&r.body);
        }
        if seen.windows(site.secret.len()).any(|w| w == site.secret.as_slice()) {
            return Err(Failure::new(format!(
                "GET {target} was answered with the bytes of a file outside the served folder ({}): a path must never escape it",
                if target.contains("sibling") {
                    "www-private/key.txt"
                } else {
                    "secret.txt"
                }
            )));
        }
        let response = response?;
        if !(400..500).contains(&response.status) {
            return Err(Failure::new(format!(
                "expected {what} to have a 4xx status (400, 403 or 404: it leads outside the served folder), but it is {}",
                response.status
            )));
        }
    }
    let what = "the response to GET /link-in (a symbolic link to a.txt, inside the folder)";
    let (_conn, response) = exchange(ctx, addr, "client 12", &get("/link-in"), false, what)?;
    expect(&response, what, 200, Some(&site.a_txt))
}

fn curl_reuses(ctx: &mut Ctx) -> Outcome {
    let site = site(ctx)?;
    let (_program, addr) = start(ctx, &site, LONG_IDLE)?;
    let mut args: Vec<String> = [
        "-q",
        "-s",
        "--http1.1",
        "--noproxy",
        "*",
        "--max-time",
        "5",
        "--max-filesize",
        "1000000",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for target in ["/a.txt", "/missing.txt", "/sub/c.html"] {
        args.push("-w".into());
        args.push("\n[socklings %{http_code} %{num_connects}]\n".into());
        args.push(format!("http://{addr}{target}"));
    }
    let run = tools::run(ctx, "curl", &args, Duration::from_secs(8))?;
    if !run.status.success() {
        return Err(Failure::new(format!(
            "expected curl to exit with status 0, but it exited with {} ({})",
            run.status,
            String::from_utf8_lossy(&run.stderr).trim()
        )));
    }
    // Bodies and the -w lines, in order; the 404's body is yours, so only
    // the marker lines after it are compared.
    let out = run.stdout;
    let mut expected = site.a_txt.clone();
    expected.extend(b"\n[socklings 200 1]\n");
    let Some(rest) = out.strip_prefix(expected.as_slice()) else {
        return Err(Failure::new(
            "expected curl's first transfer to print a.txt's bytes and `200 1` (status 200, one new connection), but its output differs (see the transcript)",
        ));
    };
    let marker = b"\n[socklings 404 ";
    let Some(at) = rest.windows(marker.len()).position(|w| w == marker) else {
        return Err(Failure::new(
            "expected curl's second transfer (/missing.txt) to end with status 404, but it did not (see the transcript)",
        ));
    };
    let rest = &rest[at + marker.len()..];
    if !rest.starts_with(b"0]\n") {
        return Err(Failure::new(
            "curl opened a new connection for its second request: the first response did not let it re-use the connection (a missing or wrong Content-Length, a Connection: close, or a server that closed)",
        ));
    }
    let mut tail = site.c_html.clone();
    tail.extend(b"\n[socklings 200 0]\n");
    if &rest[3..] != tail.as_slice() {
        return Err(Failure::new(
            "expected curl's third transfer to print sub/c.html's bytes and `200 0` (status 200, no new connection: the 404 response kept it open), but its output differs (see the transcript)",
        ));
    }
    Ok(())
}

/// wrk's summary in one fixed line, printed by its `done` hook.
const WRK_SCRIPT: &str = r#"done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("socklings requests=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, e.connect, e.read, e.write, e.status, e.timeout))
end
"#;

fn wrk_no_errors(ctx: &mut Ctx) -> Outcome {
    let site = site(ctx)?;
    let (_program, addr) = start(ctx, &site, LONG_IDLE)?;
    // The script lives outside the scratch folder, where the program cannot
    // change what wrk runs, under a name it cannot guess (created with
    // O_EXCL, so not through a link planted in the temporary folder); it is
    // removed when `file` is dropped.
    let mut file = tempfile::Builder::new()
        .prefix("socklings-wrk-")
        .suffix(".lua")
        .tempfile()
        .map_err(|e| Failure::io("creating wrk's script", &e))?;
    file.write_all(WRK_SCRIPT.as_bytes())
        .map_err(|e| Failure::io("writing wrk's script", &e))?;
    let script = file.path().to_path_buf();
    let args: Vec<String> = [
        "-t2",
        "-c8",
        "-d1s",
        "--timeout",
        "2s",
        "-s",
        &script.display().to_string(),
        &format!("http://{addr}/a.txt"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let run = tools::run(ctx, "wrk", &args, Duration::from_secs(8))?;
    let out = String::from_utf8_lossy(&run.stdout).to_string();
    let Some(line) = out.lines().find_map(|l| l.strip_prefix("socklings ")) else {
        return Err(Failure::new(format!(
            "expected wrk to finish and print its summary, but it did not (exit status {}; see the transcript)",
            run.status
        )));
    };
    let field = |name: &str| -> u64 {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(u64::MAX)
    };
    let errors: Vec<String> = ["connect", "read", "write", "status", "timeout"]
        .iter()
        .filter(|n| field(n) != 0)
        .map(|n| format!("{n} errors: {}", field(n)))
        .collect();
    if !errors.is_empty() {
        return Err(Failure::new(format!(
            "expected wrk to finish with zero errors, but it counted {} ({} requests): read errors are responses it could not parse, or connections your server closed without saying Connection: close; timeouts are requests left unanswered for 2 s; status errors are responses other than 2xx/3xx",
            errors.join(", "),
            field("requests")
        )));
    }
    if field("requests") == 0 {
        return Err(Failure::new("expected wrk to complete some requests in 1 s, but it completed none"));
    }
    Ok(())
}

fn ab_keep_alive(ctx: &mut Ctx) -> Outcome {
    let site = site(ctx)?;
    let (_program, addr) = start(ctx, &site, LONG_IDLE)?;
    let args: Vec<String> = ["-q", "-k", "-n", "400", "-c", "8", "-s", "3", &format!("http://{addr}/a.txt")]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let run = tools::run(ctx, "ab", &args, Duration::from_secs(10))?;
    let out = String::from_utf8_lossy(&run.stdout).to_string();
    // ab's report, one `Name:   value` per line.
    let value = |name: &str| -> Option<String> {
        out.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next().map(str::to_string))
    };
    if !run.status.success() {
        return Err(Failure::new(format!(
            "expected ab to complete its 400 requests and exit with status 0, but it exited with {} ({}): requests it sent were left unanswered for 3 s, or a connection broke in the middle of a response",
            run.status,
            String::from_utf8_lossy(&run.stderr).trim()
        )));
    }
    let complete = value("Complete requests:");
    let failed = value("Failed requests:");
    if complete.as_deref() != Some("400") || failed.as_deref() != Some("0") {
        return Err(Failure::new(format!(
            "expected ab to report 400 complete requests and 0 failed, but it reports {complete:?} complete and {failed:?} failed (failed: a connection error, a response cut short, or a body whose length differs from the first one's)"
        )));
    }
    if let Some(non_2xx) = value("Non-2xx responses:") {
        return Err(Failure::new(format!(
            "expected every response to be 200, but ab counted {non_2xx} non-2xx responses"
        )));
    }
    Ok(())
}

//! Hidden tests for exercise 09: a local service over Unix domain sockets.
//!
//! The program has two modes: `unix-sockets serve PATH`, a stream server that
//! takes over a stale socket file but never a live one, keeps its file at
//! mode 0600, refuses clients of other users (`SO_PEERCRED`) and echoes
//! lines; and `unix-sockets dgram PATH`, a datagram server that answers
//! each datagram with one datagram of the same bytes. Both remove their
//! socket file on SIGTERM or SIGINT. Its contract is the numbered list under
//! "The task" in docs/src/09-unix-sockets.md; each test names the clauses it
//! checks.
//!
//! Paths: the program runs in the test's scratch folder (`sandbox::Cell`),
//! which both it and the grader can reach, and gets a short relative PATH
//! (`s.sock`); the grader uses the same file by its absolute path there. The
//! grader never removes or writes a file the program made; it only looks
//! (`lstat`, never following a link) and connects.
//!
//! Users: where the grader is root, the program runs as the sandbox user,
//! and a root client would be "another user" to it; so every client the
//! grader means as the program's own connects as the program's uid and gid
//! (read from `/proc/PID/status`), and the other user is a third uid with
//! the program's gid, through `fixtures::unix_peer`. Elsewhere the grader
//! and the program share one user, and the other-user test is skipped.

use crate::ctx::{Ctx, Failure, Outcome};
use crate::fixtures::unix_peer::{self, Identity};
use crate::platform::Need;
use crate::process::{Program, describe_status};
use crate::registry::{Sharing, TestCase};
use crate::transcript::{self, Transcript};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a program may take to exit when it must (clauses 6 to 8): a
/// few system calls, with a wide margin for a loaded machine. A correct
/// program is done in milliseconds, and the tests go on as soon as it is.
const PROMPT: Duration = Duration::from_secs(3);
/// How long a program may take to print `listening on PATH` (as `Ctx::wait_listening`).
const STARTUP: Duration = Duration::from_secs(5);
/// How long the grader waits for an answer it expects.
const ANSWER: Duration = Duration::from_secs(3);
/// The mode the socket file must have (clause 2).
const MODE: u32 = 0o600;
/// The largest datagram the program must answer (clause 9).
const MAX_DATAGRAM: usize = 65_536;
/// The uid of the "other user" (a third user, neither root nor the
/// program's) where the program's own uid is not this one.
const OTHER_UID: u32 = 64_124;
/// The fixed lines of the contract.
const REFUSED: &[u8] = b"refused\n";
const IN_USE: &str = "error: another server is listening on ";

pub const TESTS: &[TestCase] = &[
    TestCase {
        id: "echoes-lines",
        scenario: "The server runs with `serve s.sock`; client 1 connects and stays silent while client 2 sends two lines in one write (spaces, a tab, UTF-8 and a CR in them), which must come back byte for byte; then client 1 is echoed, and client 2 closes its sending side and must see the server close too.",
        clauses: &[1, 3],
        points: 10,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "A Unix stream socket is used like a TCP one (bind, listen, accept, a byte stream per client), with a path in the file system as its address.",
        hint: "Create the socket with socket2 (Socket::new(Domain::UNIX, Type::STREAM, None)), bind(&SockAddr::unix(path)?), listen, then accept in a loop and serve each client on a thread of its own.",
        docs_anchor: "lines-echoed-to-your-own-user",
        run: echoes_lines,
    },
    TestCase {
        id: "socket-file-mode",
        scenario: "The server runs with `serve s.sock` and a second copy with `dgram d.sock`; once each printed `listening on PATH`, the grader looks at its file (lstat): it must be a socket of mode 0600 (srw-------).",
        clauses: &[2],
        points: 10,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "The socket file's permissions decide who may connect: connect(2) needs write permission on it. bind creates it with 0777 minus the umask (usually srwxr-xr-x), so other users could connect until you change it.",
        hint: "After bind and before listen, std::fs::set_permissions(path, Permissions::from_mode(0o600)); until listen, every connect is refused anyway.",
        docs_anchor: "the-socket-files-mode",
        run: socket_file_mode,
    },
    TestCase {
        id: "refuses-other-users",
        scenario: "The server runs with `serve s.sock`; a client of another user (uid 64124, the server's gid, allowed past the file's mode as root would be) connects and sends a line: it must receive exactly `refused\\n` and see the connection closed within 3 s; then a client of the server's own user is still echoed.",
        clauses: &[4],
        points: 15,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux, Need::OtherUser],
        sharing: Sharing::Shared,
        concept: "The kernel records who connected to a Unix socket (SO_PEERCRED: pid, uid, gid); a server decides from it whom to serve, whatever the file's mode let through (root, or a looser folder or file).",
        hint: "Right after accept, before reading anything, compare peer::peer_uid(&stream) with peer::my_uid(); if they differ, write `refused\\n` and drop the stream.",
        docs_anchor: "clients-of-other-users-are-refused",
        run: refuses_other_users,
    },
    TestCase {
        id: "restart-after-kill",
        scenario: "The server runs with `serve s.sock` and echoes a line; the grader kills it with SIGKILL, so s.sock stays behind with nobody listening (connect gives ECONNREFUSED); a new server started with `serve s.sock` must take the path over, print `listening on s.sock` within 5 s, and echo.",
        clauses: &[5],
        points: 15,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "A socket file outlives the server that bound it: after a crash the next bind fails with EADDRINUSE, the AF_UNIX counterpart of TIME_WAIT, and SO_REUSEADDR does not help. connect tells a stale file (ECONNREFUSED) from a live server.",
        hint: "When bind fails with AddrInUse and the path is a socket, try UnixStream::connect(path): on ConnectionRefused, remove the file and bind again.",
        docs_anchor: "a-stale-socket-file-is-taken-over",
        run: restart_after_kill,
    },
    TestCase {
        id: "second-copy-refuses",
        scenario: "The server runs with `serve s.sock`; a second copy started with `serve s.sock` must exit with status 1 within 3 s and the stderr line `error: another server is listening on s.sock`; s.sock must still be the first server's file (same inode), and a new client must still reach the first server.",
        clauses: &[6],
        points: 15,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "Removing a socket file blindly before bind steals the path from a running server: it keeps running, but no new client can find it. Ask first (connect), and take the path only from a dead server.",
        hint: "If connect to the existing socket succeeds, a server is alive there: return an error `another server is listening on PATH` without touching the file (and do not remove it on your way out: it is not yours).",
        docs_anchor: "a-live-server-is-never-robbed",
        run: second_copy_refuses,
    },
    TestCase {
        id: "not-a-socket",
        scenario: "A server runs with `serve s.sock`; the grader writes a regular file notes.txt beside it, and a copy started with `serve notes.txt` must exit with status 1 within 3 s and leave notes.txt as it was.",
        clauses: &[7],
        points: 5,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "bind fails with EADDRINUSE whatever the file at the path is, and connect to a regular file fails with ECONNREFUSED just as to a stale socket: only the file's type (lstat) says it is not a socket, and then it is somebody's data.",
        hint: "Before removing anything, check std::fs::symlink_metadata(path)?.file_type().is_socket() (std::os::unix::fs::FileTypeExt); if it is not a socket, return an error.",
        docs_anchor: "a-file-that-is-not-a-socket-is-left-alone",
        run: not_a_socket,
    },
    TestCase {
        id: "sigterm-removes-file",
        scenario: "The server runs with `serve s.sock` and a client is connected and echoed; the grader sends SIGTERM: the server must exit with status 0 within 3 s and s.sock must be gone.",
        clauses: &[8],
        points: 10,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "An orderly exit removes the socket file, so the next start finds a free path and a client gets ENOENT (nothing there) rather than ECONNREFUSED. SIGTERM is how service managers stop a server.",
        hint: "Block SIGTERM and SIGINT before starting any thread (SigSet::thread_block) and wait for them on a thread of their own (SigSet::wait); then std::fs::remove_file(path) and std::process::exit(0).",
        docs_anchor: "an-orderly-exit-removes-the-file",
        run: sigterm_removes_file,
    },
    TestCase {
        id: "datagram-boundaries",
        scenario: "The program runs with `dgram d.sock`; the grader's socket, bound to c.sock, sends datagrams of 1, 0, 65536, 17 and 1000 bytes back to back; each must be answered by one datagram of the same bytes, in order, sent to c.sock.",
        clauses: &[9],
        points: 10,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "SOCK_DGRAM keeps message boundaries: one send is one recv, an empty datagram included, and recv_from cuts a datagram longer than its buffer without a word. The reply goes to the sender's own bound address.",
        hint: "Receive with recv_from into a buffer of 65536 bytes, and answer with send_to_addr(&buf[..n], &from); a 0-byte datagram is a message, not an end.",
        docs_anchor: "datagrams-answered-whole",
        run: datagram_boundaries,
    },
    TestCase {
        id: "datagram-unanswerable",
        scenario: "The program runs with `dgram d.sock`; an unbound socket sends a datagram (no address to answer), then a socket bound to gone.sock sends one after gone.sock was removed (the reply fails); then a socket bound to c.sock must still get its answer.",
        clauses: &[10],
        points: 5,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "A datagram's sender address is whatever its socket bound, possibly nothing: an unbound sender cannot be answered, and a path can vanish before the reply is sent. Neither is the server's failure.",
        hint: "Skip a datagram whose address is_unnamed(), and on an error from send_to_addr print it and keep serving instead of returning it.",
        docs_anchor: "datagrams-nobody-can-receive",
        run: datagram_unanswerable,
    },
    TestCase {
        id: "datagram-sigint-removes-file",
        scenario: "The program runs with `dgram d.sock` and answers a datagram; the grader sends SIGINT (Ctrl-C): it must exit with status 0 within 3 s and d.sock must be gone.",
        clauses: &[8],
        points: 5,
        limit: Duration::from_secs(10),
        needs: &[Need::Linux],
        sharing: Sharing::Shared,
        concept: "Ctrl-C sends SIGINT, not SIGTERM; an orderly exit on either removes the socket file.",
        hint: "Wait for SIGINT as well as SIGTERM, in the datagram mode as in the stream mode.",
        docs_anchor: "an-orderly-exit-removes-the-file",
        run: datagram_sigint_removes_file,
    },
];

// ---------------------------------------------------------------- helpers

/// Starts `unix-sockets MODE NAME` and waits for `listening on NAME`;
/// returns the program and the socket file's absolute path.
fn start(ctx: &Ctx, name: &str, mode: &str, file: &str) -> Result<(Program, PathBuf), Failure> {
    let mut program = ctx.spawn_copy(name, &[mode, file])?;
    wait_listening(ctx, &mut program, file)?;
    let path = scratch(ctx)?.join(file);
    Ok((program, path))
}

fn wait_listening(ctx: &Ctx, program: &mut Program, file: &str) -> Outcome {
    let line = format!("listening on {file}");
    program.wait_for_stdout(&format!("a line `{line}`"), STARTUP.min(ctx.remaining()), |l| {
        (l.trim_end() == line).then_some(())
    })?;
    ctx.step(format!("{} said `{line}`", program.name()));
    Ok(())
}

/// The test's scratch folder: the program's working folder.
fn scratch(ctx: &Ctx) -> Result<PathBuf, Failure> {
    ctx.scratch()
}

/// The uid and gid the program runs as.
fn identity(program: &Program) -> Result<Identity, Failure> {
    unix_peer::identity_of(program.pid())
        .map_err(|e| Failure::new(format!("the grader could not read your program's user from /proc: {e}")))
}

/// What is at `path`, without following a link: `None` if nothing.
fn look(path: &Path) -> Result<Option<std::fs::Metadata>, Failure> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => Ok(Some(meta)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Failure::new(format!("the grader could not look at {}: {e}", path.display()))),
    }
}

fn describe_file(meta: &std::fs::Metadata) -> String {
    let kind = meta.file_type();
    let what = if kind.is_socket() {
        "a socket"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_dir() {
        "a folder"
    } else if kind.is_file() {
        "a regular file"
    } else {
        "a special file"
    };
    format!("{what}, mode {:04o}, inode {}", meta.permissions().mode() & 0o7777, meta.ino())
}

/// Sends `signal` to the program.
fn signal(ctx: &Ctx, program: &Program, signal: nix::sys::signal::Signal) -> Outcome {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(program.pid() as i32), signal)
        .map_err(|e| Failure::new(format!("the grader could not send {signal} to your program: {e}")))?;
    ctx.step(format!("the grader sent {signal} to {}", program.name()));
    Ok(())
}

/// A Unix stream client of the grader whose every byte goes into the transcript.
struct Peer {
    stream: UnixStream,
    name: String,
    transcript: Transcript,
    pending: Vec<u8>,
}

/// Connects `name` to `path` as `who` (see `fixtures::unix_peer`).
fn connect(ctx: &Ctx, name: &str, path: &Path, who: Identity, override_permissions: bool) -> Result<Peer, Failure> {
    let stream = unix_peer::connect_as(path, who, override_permissions)
        .map_err(|e| Failure::io(&format!("{name} (uid {}) connecting to {}", who.uid, path.display()), &e))?;
    stream.set_write_timeout(Some(ANSWER)).ok();
    ctx.step(format!("{name} (uid {}, gid {}) connected to {}", who.uid, who.gid, path.display()));
    Ok(Peer {
        stream,
        name: name.to_string(),
        transcript: ctx.transcript.clone(),
        pending: Vec::new(),
    })
}

/// How a read on a peer ended, if it did not bring bytes.
enum End {
    Closed,
    Reset,
    TimedOut,
}

impl Peer {
    fn send(&mut self, bytes: &[u8]) -> Outcome {
        self.stream
            .write_all(bytes)
            .map_err(|e| Failure::io(&format!("{} sending {} bytes", self.name, bytes.len()), &e))?;
        self.transcript
            .step(format!("{} sent {} bytes: {}", self.name, bytes.len(), transcript::escape(bytes)));
        Ok(())
    }

    /// Reads until `done(bytes so far)` or the stream ends or `timeout` passes.
    fn read_until(&mut self, timeout: Duration, done: impl Fn(&[u8]) -> bool) -> Result<(Vec<u8>, Option<End>), Failure> {
        let deadline = Instant::now() + timeout;
        let mut got = std::mem::take(&mut self.pending);
        let mut buf = [0u8; 4096];
        let end = loop {
            if done(&got) {
                break None;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break Some(End::TimedOut);
            }
            self.stream.set_read_timeout(Some(left)).ok();
            match self.stream.read(&mut buf) {
                Ok(0) => break Some(End::Closed),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::ConnectionReset => break Some(End::Reset),
                Err(e) => return Err(Failure::io(&format!("{} reading", self.name), &e)),
            }
        };
        if !got.is_empty() {
            self.transcript
                .step(format!("{} received {} bytes: {}", self.name, got.len(), transcript::escape(&got)));
        }
        Ok((got, end))
    }

    /// Sends `line` and expects it back, byte for byte.
    fn echo(&mut self, line: &[u8]) -> Outcome {
        self.send(line)?;
        let (got, end) = self.read_until(ANSWER, |got| got.len() >= line.len())?;
        if got.len() > line.len() {
            self.pending = got[line.len()..].to_vec();
        }
        if got.starts_with(REFUSED) {
            return Err(Failure::new(format!(
                "{} runs as your program's own user, yet it received `refused`: compare the peer's uid (peer::peer_uid) with your program's effective uid (peer::my_uid), and refuse only when they differ",
                self.name
            )));
        }
        let got = &got[..got.len().min(line.len())];
        if let Some(diff) = transcript::diff(line, got) {
            let why = match end {
                Some(End::Closed) => " and then the server closed the connection",
                Some(End::Reset) => " and then the connection was reset",
                Some(End::TimedOut) => " before the grader stopped waiting",
                None => "",
            };
            return Err(Failure::new(format!(
                "{} expected its {} bytes back within {:.0} s{why}; {diff}",
                self.name,
                line.len(),
                ANSWER.as_secs_f64()
            )));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- stream

fn echoes_lines(ctx: &mut Ctx) -> Outcome {
    let (program, path) = start(ctx, "your program", "serve", "s.sock")?;
    let own = identity(&program)?;
    let mut quiet = connect(ctx, "client 1", &path, own, false)?;
    let mut talker = connect(ctx, "client 2", &path, own, false)?;
    let mut two = b"a line with  spaces\tand a tab\r\n".to_vec();
    two.extend_from_slice(format!("\u{e9}t\u{e9} {:016x}\n", ctx.seed).as_bytes());
    talker.echo(&two)?;
    quiet.echo(b"client 1 speaks at last\n")?;
    talker
        .stream
        .shutdown(std::net::Shutdown::Write)
        .map_err(|e| Failure::io("client 2 closing its sending side", &e))?;
    ctx.step("client 2 closed its sending side (shutdown(SHUT_WR): the server's next read returns 0)");
    let (extra, end) = talker.read_until(ANSWER, |_| false)?;
    match end {
        Some(End::Closed) | Some(End::Reset) if extra.is_empty() => {
            ctx.step("client 2 saw the server close its end");
            Ok(())
        }
        Some(End::TimedOut) => Err(Failure::new(format!(
            "client 2 closed its sending side, but {:.0} s later the server had not closed its end; a read of 0 bytes means the client is done: return, and the stream is dropped and closed",
            ANSWER.as_secs_f64()
        ))),
        _ => Err(Failure::new(format!(
            "after its echo, client 2 received {} bytes it did not send",
            extra.len()
        ))),
    }
}

fn socket_file_mode(ctx: &mut Ctx) -> Outcome {
    let (_stream, stream_path) = start(ctx, "your program", "serve", "s.sock")?;
    let (_dgram, dgram_path) = start(ctx, "your datagram server", "dgram", "d.sock")?;
    for (mode, path) in [("serve", &stream_path), ("dgram", &dgram_path)] {
        let Some(meta) = look(path)? else {
            return Err(Failure::new(format!(
                "after `listening on` your program in mode {mode} had no file at {}",
                path.display()
            )));
        };
        ctx.step(format!("{} is {}", path.display(), describe_file(&meta)));
        if !meta.file_type().is_socket() {
            return Err(Failure::new(format!(
                "{} should be the socket your program bound, but it is {}",
                path.display(),
                describe_file(&meta)
            )));
        }
        let got = meta.permissions().mode() & 0o7777;
        if got != MODE {
            return Err(Failure::new(format!(
                "the socket file of mode {mode} has mode {got:04o}; expected {MODE:04o} (srw-------): connect needs write permission on the file, so {} other users could connect. bind creates the file with 0777 minus the umask; change it after bind",
                if got & 0o022 != 0 {
                    "with group or other write bits"
                } else {
                    "with this mode"
                }
            )));
        }
    }
    Ok(())
}

fn refuses_other_users(ctx: &mut Ctx) -> Outcome {
    let (program, path) = start(ctx, "your program", "serve", "s.sock")?;
    let own = identity(&program)?;
    let other = Identity {
        uid: if own.uid == OTHER_UID { OTHER_UID + 1 } else { OTHER_UID },
        gid: own.gid,
    };
    ctx.step(format!(
        "your program runs as uid {}, gid {}; the other user is uid {}, in the same group, and passes the file's mode as root would (CAP_DAC_OVERRIDE)",
        own.uid, own.gid, other.uid
    ));
    // The other user passes every permission check: make sure it connects
    // to the socket your program made, not through a link planted beside it.
    match look(&path)? {
        Some(meta) if meta.file_type().is_socket() => {}
        Some(meta) => {
            return Err(Failure::new(format!(
                "{} should be your program's socket, but it is {}",
                path.display(),
                describe_file(&meta)
            )));
        }
        None => return Err(Failure::new(format!("{} is missing", path.display()))),
    }
    let mut stranger = connect(ctx, "the other user's client", &path, other, true)?;
    // The line may be refused before it is even read: a closed connection
    // is then the expected outcome, not a failure to send.
    if let Err(e) = stranger.stream.write_all(b"let me in\n") {
        ctx.step(format!("the other user's client could not send its line ({e})"));
    } else {
        ctx.step("the other user's client sent 10 bytes: let me in\\n");
    }
    let (got, end) = stranger.read_until(ANSWER, |got| got.len() > REFUSED.len())?;
    if got.starts_with(b"let me in") {
        return Err(Failure::new(format!(
            "your server echoed the line of a client of uid {}, although it runs as uid {}; check SO_PEERCRED right after accept and refuse another user before reading anything",
            other.uid, own.uid
        )));
    }
    if got != REFUSED {
        return Err(Failure::new(format!(
            "a client of another user (uid {}) should receive exactly `refused\\n` and then see the connection closed; it received {}",
            other.uid,
            transcript::escape(&got)
        )));
    }
    match end {
        Some(End::Closed) | Some(End::Reset) => {
            ctx.step("the other user's connection was closed after `refused`");
        }
        _ => {
            return Err(Failure::new(format!(
                "the other user's client received `refused\\n` but the connection was still open {:.0} s later; close it (drop the stream) after the line",
                ANSWER.as_secs_f64()
            )));
        }
    }
    let mut friend = connect(ctx, "client 2", &path, own, false)?;
    friend.echo(b"still serving my own user\n")
}

fn restart_after_kill(ctx: &mut Ctx) -> Outcome {
    let (mut first, path) = start(ctx, "your first server", "serve", "s.sock")?;
    let own = identity(&first)?;
    connect(ctx, "client 1", &path, own, false)?.echo(b"before the crash\n")?;
    first.kill();
    ctx.step("the grader killed your first server with SIGKILL (as a crash would: no chance to clean up)");
    match look(&path)? {
        Some(meta) => ctx.step(format!(
            "{} is still there: {}; nobody listens on it",
            path.display(),
            describe_file(&meta)
        )),
        None => {
            return Err(Failure::new(format!(
                "after SIGKILL, {} was gone; the grader cannot test a stale file this way (did your program remove it at start-up and serve from somewhere else?)",
                path.display()
            )));
        }
    }
    if let Err(e) = UnixStream::connect(&path) {
        ctx.step(format!(
            "the grader's connect to the stale file fails: {}",
            crate::oserror::explain("connect", &e)
        ));
    }
    let mut second = ctx.spawn_copy("your second server", &["serve", "s.sock"])?;
    wait_listening(ctx, &mut second, "s.sock").map_err(|f| {
        let stderr = second.stderr();
        let said = stderr.lines().next().unwrap_or("nothing").to_string();
        Failure::new(format!(
            "{} Your second server found the file the killed one left (its stderr said: {said}). Nobody listens there: connect gives ECONNREFUSED, so the file is stale; remove it and bind again",
            f.summary
        ))
        .with_panic(f.panic)
    })?;
    connect(ctx, "client 2", &path, own, false)?.echo(b"after the restart\n")
}

fn second_copy_refuses(ctx: &mut Ctx) -> Outcome {
    let (first, path) = start(ctx, "your first server", "serve", "s.sock")?;
    let own = identity(&first)?;
    let before = look(&path)?.ok_or_else(|| Failure::new(format!("{} is missing", path.display())))?;
    ctx.step(format!("{} is {}", path.display(), describe_file(&before)));
    let mut second = ctx.spawn_copy("your second copy", &["serve", "s.sock"])?;
    let deadline = Instant::now() + PROMPT;
    let status = loop {
        if let Some(status) = second.poll_exit() {
            second.wait_exit(Duration::ZERO);
            break status;
        }
        if second.stdout_lines().iter().any(|l| l.starts_with("listening on")) {
            return Err(Failure::new(
                "your second copy said `listening on s.sock` while your first server was running there: it took the path from a live server, whose clients can no longer find it. Connect first; if that succeeds, someone is listening, so exit with status 1",
            ));
        }
        if Instant::now() >= deadline {
            return Err(Failure::new(format!(
                "your second copy was still running {:.0} s after it started, although a server is listening on s.sock; it should exit with status 1",
                PROMPT.as_secs_f64()
            )));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    if let Some(panic) = second.panic() {
        return Err(Failure::new(format!("your second copy panicked ({})", panic.message)).with_panic(Some(panic)));
    }
    if status.code() != Some(1) {
        return Err(Failure::new(format!(
            "your second copy exited with {}; expected status 1",
            describe_status(status)
        )));
    }
    let fixed = format!("{IN_USE}s.sock");
    if !second.stderr().lines().any(|l| l.trim_end() == fixed) {
        return Err(Failure::new(format!(
            "your second copy exited with status 1, but its stderr has no line `{fixed}`, the line the task asks for"
        )));
    }
    match look(&path)? {
        Some(after) if after.ino() == before.ino() && after.dev() == before.dev() => {
            ctx.step(format!(
                "{} is still your first server's file (inode {})",
                path.display(),
                after.ino()
            ));
        }
        Some(after) => {
            return Err(Failure::new(format!(
                "{} is now {}, no longer your first server's (inode {}): the second copy replaced it, so the first server lost its address",
                path.display(),
                describe_file(&after),
                before.ino()
            )));
        }
        None => {
            return Err(Failure::new(format!(
                "after your second copy exited, {} was gone: the first server still runs but no client can find it. A copy that did not bind the path must not remove it",
                path.display()
            )));
        }
    }
    connect(ctx, "client 1", &path, own, false)?.echo(b"are you still there?\n")
}

fn not_a_socket(ctx: &mut Ctx) -> Outcome {
    let (first, _) = start(ctx, "your program", "serve", "s.sock")?;
    let own = identity(&first)?;
    let notes = scratch(ctx)?.join("notes.txt");
    let content = format!("somebody's notes, seed {}\n", ctx.seed);
    // A new file (O_CREAT | O_EXCL: never through a link the program may
    // have planted in its folder), given to the program's user through the
    // open descriptor: it is the user's own file (a path mistyped onto one of
    // its files), so every permission check lets the program through and
    // only looking at the file's type stops it.
    let written = (|| -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&notes)?;
        file.write_all(content.as_bytes())?;
        if unix_peer::mine() != own {
            std::os::unix::fs::fchown(&file, Some(own.uid), Some(own.gid))?;
        }
        Ok(())
    })();
    written.map_err(|e| Failure::new(format!("the grader could not create {}: {e}", notes.display())))?;
    let before = look(&notes)?.ok_or_else(|| Failure::new("notes.txt vanished at once"))?;
    ctx.step(format!(
        "the grader wrote {} ({} bytes): {}",
        notes.display(),
        content.len(),
        describe_file(&before)
    ));
    let mut copy = ctx.spawn_copy("your second copy", &["serve", "notes.txt"])?;
    let Some(status) = copy.wait_exit(PROMPT) else {
        return Err(Failure::new(format!(
            "your program was still running {:.0} s after it started with `serve notes.txt`, a regular file; it should exit with status 1",
            PROMPT.as_secs_f64()
        )));
    };
    if let Some(panic) = copy.panic() {
        return Err(Failure::new(format!("your program panicked ({})", panic.message)).with_panic(Some(panic)));
    }
    match look(&notes)? {
        Some(after) if after.ino() == before.ino() && after.file_type().is_file() => {
            let now = std::fs::read_to_string(&notes).unwrap_or_default();
            if now != content {
                return Err(Failure::new(
                    "notes.txt was changed; a file that is not a socket must be left as it was",
                ));
            }
        }
        Some(after) => {
            return Err(Failure::new(format!(
                "notes.txt was replaced: it is now {}. A file that is not a socket is somebody's data: never remove it",
                describe_file(&after)
            )));
        }
        None => {
            return Err(Failure::new(
                "notes.txt, a regular file, was removed. bind fails with EADDRINUSE on any file, and connect to a regular file gives ECONNREFUSED just as a stale socket does: check the file's type (lstat) before removing anything",
            ));
        }
    }
    if status.code() != Some(1) {
        return Err(Failure::new(format!(
            "with `serve notes.txt` (a regular file) your program exited with {}; expected status 1",
            describe_status(status)
        )));
    }
    ctx.step("notes.txt is untouched");
    Ok(())
}

/// Sends `sig`, then expects exit status 0 within `PROMPT` and no file at `path`.
fn expect_orderly_exit(ctx: &Ctx, program: &mut Program, path: &Path, sig: nix::sys::signal::Signal) -> Outcome {
    signal(ctx, program, sig)?;
    let Some(status) = program.wait_exit(PROMPT) else {
        return Err(Failure::new(format!(
            "your program was still running {:.0} s after {sig}; it should remove its socket file and exit with status 0",
            PROMPT.as_secs_f64()
        )));
    };
    if !status.success() {
        return Err(Failure::new(format!(
            "after {sig} your program exited with {}; an orderly exit has status 0",
            describe_status(status)
        ))
        .with_panic(program.panic()));
    }
    if let Some(meta) = look(path)? {
        return Err(Failure::new(format!(
            "your program exited after {sig}, but left {} behind ({}); remove the socket file before exiting, or the next client gets ECONNREFUSED instead of ENOENT, and the next start finds a stale file",
            path.display(),
            describe_file(&meta)
        )));
    }
    ctx.step(format!("{} is gone", path.display()));
    Ok(())
}

fn sigterm_removes_file(ctx: &mut Ctx) -> Outcome {
    let (mut program, path) = start(ctx, "your program", "serve", "s.sock")?;
    let own = identity(&program)?;
    let mut client = connect(ctx, "client 1", &path, own, false)?;
    client.echo(b"goodbye soon\n")?;
    expect_orderly_exit(ctx, &mut program, &path, nix::sys::signal::Signal::SIGTERM)
}

// ---------------------------------------------------------------- datagrams

/// A datagram socket of the grader bound to `name` in the scratch folder as
/// the program's user `own`, so that the program may send the answers there
/// (sending needs write permission on the file, as connecting does).
fn bound_client(ctx: &Ctx, name: &str, own: Identity) -> Result<(UnixDatagram, PathBuf), Failure> {
    let path = scratch(ctx)?.join(name);
    let socket = unix_peer::bind_datagram_as(&path, own)
        .map_err(|e| Failure::io(&format!("the grader binding {} as uid {}", path.display(), own.uid), &e))?;
    // Room for a few answers of the largest size at once.
    let sock = socket2::SockRef::from(&socket);
    let _ = sock.set_send_buffer_size(4 * MAX_DATAGRAM);
    let _ = sock.set_recv_buffer_size(4 * MAX_DATAGRAM);
    socket.set_write_timeout(Some(ANSWER)).ok();
    ctx.step(format!("the grader's socket is bound to {}", path.display()));
    Ok((socket, path))
}

fn send_datagram(ctx: &Ctx, socket: &UnixDatagram, who: &str, to: &Path, bytes: &[u8]) -> Outcome {
    socket.send_to(bytes, to).map_err(|e| {
        Failure::io(
            &format!("{who} sending a datagram of {} bytes to {}", bytes.len(), to.display()),
            &e,
        )
    })?;
    ctx.step(format!("{who} sent a datagram of {} bytes: {}", bytes.len(), short(bytes)));
    Ok(())
}

/// Bytes for the transcript: whole if short, else the length and both ends.
fn short(bytes: &[u8]) -> String {
    if bytes.len() <= 48 {
        transcript::escape(bytes)
    } else {
        format!(
            "{} ... {}",
            transcript::escape(&bytes[..16]),
            transcript::escape(&bytes[bytes.len() - 16..])
        )
    }
}

/// A datagram the grader received: its bytes and its sender's path, if any.
type Datagram = (Vec<u8>, Option<PathBuf>);

/// Receives one datagram within `ANSWER`; `None` if none came.
fn recv_datagram(socket: &UnixDatagram) -> Result<Option<Datagram>, Failure> {
    let mut buf = vec![0u8; MAX_DATAGRAM + 1];
    socket.set_read_timeout(Some(ANSWER)).ok();
    match socket.recv_from(&mut buf) {
        Ok((n, from)) => Ok(Some((buf[..n].to_vec(), from.as_pathname().map(Path::to_path_buf)))),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Ok(None),
        Err(e) => Err(Failure::io("the grader receiving a datagram", &e)),
    }
}

/// Expects the next datagram on `socket` to be `sent`, whole.
fn expect_answer(ctx: &Ctx, socket: &UnixDatagram, sent: &[u8], which: &str) -> Outcome {
    let Some((got, from)) = recv_datagram(socket)? else {
        return Err(Failure::new(format!(
            "no answer to {which} (a datagram of {} bytes) arrived within {:.0} s",
            sent.len(),
            ANSWER.as_secs_f64()
        )));
    };
    ctx.step(format!(
        "the grader received a datagram of {} bytes from {}: {}",
        got.len(),
        from.as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "an unbound socket".into()),
        short(&got)
    ));
    if got == sent {
        return Ok(());
    }
    let detail = if got.len() < sent.len() && sent.starts_with(&got) {
        format!(
            "it holds the first {} of the {} bytes: a datagram longer than the buffer given to recv_from is cut to it, silently",
            got.len(),
            sent.len()
        )
    } else {
        transcript::diff(sent, &got).unwrap_or_default()
    };
    Err(Failure::new(format!(
        "the answer to {which} should be one datagram holding the same {} bytes; {detail}",
        sent.len()
    )))
}

fn datagram_boundaries(ctx: &mut Ctx) -> Outcome {
    let (program, server) = start(ctx, "your program", "dgram", "d.sock")?;
    let own = identity(&program)?;
    let (client, _) = bound_client(ctx, "c.sock", own)?;
    let sizes = [1, 0, MAX_DATAGRAM, 17, 1000];
    let noise = crate::ctx::random_bytes(ctx.seed, MAX_DATAGRAM + 1100);
    let datagrams: Vec<Vec<u8>> = sizes.iter().enumerate().map(|(i, &n)| noise[i * 5..i * 5 + n].to_vec()).collect();
    for d in &datagrams {
        send_datagram(ctx, &client, "the grader", &server, d)?;
    }
    for (i, d) in datagrams.iter().enumerate() {
        expect_answer(ctx, &client, d, &format!("datagram {} of {}", i + 1, datagrams.len()))
            .map_err(|f| match sizes[i] {
                0 => Failure::new(format!(
                    "{} An empty datagram is a message of its own: recv_from returns 0 for it, which on a datagram socket is not an end of anything",
                    f.summary
                )),
                _ => f,
            })?;
    }
    if let Some((extra, _)) = recv_datagram_now(&client)? {
        return Err(Failure::new(format!(
            "after the five answers another datagram of {} bytes arrived: each datagram gets exactly one answer",
            extra.len()
        )));
    }
    Ok(())
}

/// A datagram already waiting on `socket`, without waiting.
fn recv_datagram_now(socket: &UnixDatagram) -> Result<Option<Datagram>, Failure> {
    socket.set_nonblocking(true).ok();
    let mut buf = vec![0u8; MAX_DATAGRAM + 1];
    let got = match socket.recv_from(&mut buf) {
        Ok((n, from)) => Ok(Some((buf[..n].to_vec(), from.as_pathname().map(Path::to_path_buf)))),
        Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(Failure::io("the grader receiving a datagram", &e)),
    };
    socket.set_nonblocking(false).ok();
    got
}

fn datagram_unanswerable(ctx: &mut Ctx) -> Outcome {
    let (mut program, server) = start(ctx, "your program", "dgram", "d.sock")?;
    let own = identity(&program)?;
    let unbound = UnixDatagram::unbound().map_err(|e| Failure::io("the grader creating a socket", &e))?;
    send_datagram(ctx, &unbound, "an unbound socket (no address)", &server, b"who am I?")?;
    let (gone, gone_path) = bound_client(ctx, "gone.sock", own)?;
    std::fs::remove_file(&gone_path)
        .map_err(|e| Failure::new(format!("the grader could not remove its own {}: {e}", gone_path.display())))?;
    ctx.step(format!(
        "the grader removed {}: its socket still sends from that name, but nothing can be sent to it",
        gone_path.display()
    ));
    send_datagram(ctx, &gone, "the socket once bound to gone.sock", &server, b"answer me if you can")?;
    let (client, _) = bound_client(ctx, "c.sock", own)?;
    let hello = format!("hello {:x}", ctx.seed).into_bytes();
    send_datagram(ctx, &client, "the grader's socket on c.sock", &server, &hello)?;
    expect_answer(ctx, &client, &hello, "c.sock's datagram").map_err(|f| {
        match program.poll_exit() {
            Some(status) => Failure::new(format!(
                "your program exited ({}) after datagrams it could not answer (one from an unbound socket, one whose sender's path was removed); those are skipped, not fatal",
                describe_status(status)
            ))
            .with_panic(program.panic()),
            None => f,
        }
    })
}

fn datagram_sigint_removes_file(ctx: &mut Ctx) -> Outcome {
    let (mut program, server) = start(ctx, "your program", "dgram", "d.sock")?;
    let own = identity(&program)?;
    let (client, _) = bound_client(ctx, "c.sock", own)?;
    send_datagram(ctx, &client, "the grader", &server, b"ping")?;
    expect_answer(ctx, &client, b"ping", "the datagram")?;
    expect_orderly_exit(ctx, &mut program, &server, nix::sys::signal::Signal::SIGINT)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every datagram size the boundaries test sends fits in the noise it
    /// cuts them from.
    #[test]
    fn datagrams_fit_the_noise() {
        let sizes = [1, 0, MAX_DATAGRAM, 17, 1000];
        assert!(sizes.iter().enumerate().all(|(i, n)| i * 5 + n <= MAX_DATAGRAM + 1100));
    }

    #[test]
    fn short_shows_both_ends() {
        assert!(short(b"abc").contains("abc"));
        assert!(short(&[b'x'; 100]).contains(" ... "));
    }

    /// `connect` to a regular file fails with ECONNREFUSED, exactly as to a
    /// stale socket (the chapter's table; why clause 7 needs `lstat`).
    #[test]
    fn a_regular_file_refuses_like_a_stale_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.txt");
        std::fs::write(&path, "notes").unwrap();
        let err = UnixStream::connect(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
        let err = std::os::unix::net::UnixListener::bind(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse);
    }

    /// A Unix stream socket closed with unread bytes in it resets its peer:
    /// the peer reads what was sent, then ECONNRESET (clause 4's "Accepted").
    #[test]
    fn closing_with_unread_bytes_resets_the_peer() {
        let (mut client, mut server) = UnixStream::pair().unwrap();
        client.write_all(b"let me in\n").unwrap();
        server.write_all(REFUSED).unwrap();
        drop(server);
        let mut got = vec![0u8; REFUSED.len()];
        client.read_exact(&mut got).unwrap();
        assert_eq!(got, REFUSED);
        let err = client.read(&mut [0u8; 16]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    }

    /// Unix datagrams keep their boundaries, an empty one included, and
    /// `recv_from` cuts one longer than its buffer without an error.
    #[test]
    fn datagrams_keep_boundaries_and_are_cut_silently() {
        let (a, b) = UnixDatagram::pair().unwrap();
        a.send(b"").unwrap();
        a.send(&[7u8; MAX_DATAGRAM]).unwrap();
        let mut buf = vec![0u8; MAX_DATAGRAM];
        assert_eq!(b.recv(&mut buf).unwrap(), 0);
        assert_eq!(b.recv(&mut buf[..MAX_DATAGRAM - 1]).unwrap(), MAX_DATAGRAM - 1);
        b.set_nonblocking(true).unwrap();
        assert_eq!(b.recv(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
    }

    /// A socket file stays after its socket is closed, and connect to it
    /// then fails with ECONNREFUSED: the stale file the tests build.
    #[test]
    fn stale_file_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        assert!(look(&path).unwrap().is_some());
        let err = UnixStream::connect(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    }
}

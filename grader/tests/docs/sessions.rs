//! The book's shell sessions with `nc`, `socat`, `ss`, `strace`, `tcpdump`
//! and `xxd`, run for real: each test takes the commands from the chapter's
//! ```` ```console ```` block (its port replaced by a free one), runs them
//! against the reference solutions, and checks that the output looks like
//! the one the book shows. "Looks like": every run of digits (ports, pids,
//! sequence numbers, times) matches any other, whitespace is ignored, and a
//! line the book trims with `...` only has to start the same.
//!
//! A test whose tool is missing (or, for `tcpdump`, the privilege to capture:
//! `CAP_NET_RAW`, root here) says `skipped: …` on stderr and checks nothing:
//! `.ci/run` installs the tools (`.devcontainer/tools.txt`), so in CI they
//! all run. Every wait has a deadline, and every process a test starts is
//! killed with its process group when the test ends.

use crate::util;
use grader::Kind;
use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long any one step may take on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(10);

// ------------------------------------------------------------ the book

/// A console block: each command with the lines it printed.
type Session = Vec<(String, Vec<String>)>;

/// The commands and outputs of the first console block of `page` that has
/// a `$ ` line starting with `first`.
fn session(page: &str, first: &str) -> Session {
    let text = std::fs::read_to_string(util::root().join("docs").join("src").join(page)).unwrap();
    let mut blocks: Vec<Vec<&str>> = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("```") {
            inside = !inside && line.starts_with("```console");
            if inside {
                blocks.push(Vec::new());
            }
        } else if inside {
            blocks.last_mut().unwrap().push(line);
        }
    }
    let block = blocks
        .into_iter()
        .find(|b| {
            b.iter().any(|l| {
                l.strip_prefix("$ ")
                    .map(|c| c.strip_prefix("sudo ").unwrap_or(c))
                    .is_some_and(|c| c.starts_with(first))
            })
        })
        .unwrap_or_else(|| panic!("{page} has no console block with `$ {first}`"));
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in block {
        match line.strip_prefix("$ ") {
            Some(command) => {
                let command = command.strip_prefix("sudo ").unwrap_or(command);
                out.push((command.to_string(), Vec::new()))
            }
            None => out.last_mut().expect("a block starts with a command").1.push(line.to_string()),
        }
    }
    out
}

/// The output the book shows after the command starting with `command`.
fn shown<'a>(session: &'a [(String, Vec<String>)], command: &str) -> &'a [String] {
    &session
        .iter()
        .find(|(c, _)| c.starts_with(command))
        .unwrap_or_else(|| panic!("no `$ {command}` in the session"))
        .1
}

/// The command starting with `command`, without its trailing `&` or
/// `# comment`, and with `port` in place of the book's `book_port`.
fn command(session: &[(String, Vec<String>)], command: &str, book_port: u16, port: u16) -> String {
    let line = &session
        .iter()
        .find(|(c, _)| c.starts_with(command))
        .unwrap_or_else(|| panic!("no `$ {command}` in the session"))
        .0;
    let line = line.split("  #").next().unwrap().trim();
    let line = line.strip_suffix('&').unwrap_or(line).trim();
    line.replace(&book_port.to_string(), &port.to_string())
}

/// A line as compared: digit runs as `#`, no whitespace.
fn shape(line: &str) -> String {
    let mut out = String::new();
    let mut digits = false;
    for c in line.chars() {
        if c.is_ascii_digit() {
            if !digits {
                out.push('#');
            }
            digits = true;
        } else {
            digits = false;
            if !c.is_whitespace() {
                out.push(c);
            }
        }
    }
    out
}

/// Whether `actual` looks like the book's `expected` line.
fn looks_like(expected: &str, actual: &str) -> bool {
    let expected = shape(expected);
    let expected = expected.strip_suffix("...").unwrap_or(&expected);
    shape(actual).starts_with(expected)
}

/// Every line the book shows has a line like it in `actual`, in the same order.
fn assert_shows(what: &str, expected: &[String], actual: &str) {
    let mut lines = actual.lines();
    for line in expected {
        assert!(
            lines.any(|a| looks_like(line, a)),
            "{what}: the book shows\n    {line}\nbut no line like it came (in the book's order); the output was:\n{actual}"
        );
    }
}

/// Every line the book shows has a line like it in `actual`, each a different
/// one, in any order (for output whose order depends on timing).
fn assert_shows_any_order(what: &str, expected: &[String], actual: &str) {
    let mut left: Vec<&str> = actual.lines().collect();
    for line in expected {
        let at = left
            .iter()
            .position(|a| looks_like(line, a))
            .unwrap_or_else(|| panic!("{what}: the book shows\n    {line}\nbut no line like it came; the output was:\n{actual}"));
        left.remove(at);
    }
}

// ------------------------------------------------------------ the machine

/// Why this machine cannot run a session with `tools` (and, with
/// `capture`, the privilege tcpdump needs), or `None`.
fn cannot_run(tools: &[&str], capture: bool) -> Option<String> {
    let path = format!("{}:/usr/sbin:/sbin", std::env::var("PATH").unwrap_or_default());
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|tool| !std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
        .collect();
    if !missing.is_empty() {
        return Some(format!(
            "{} not installed (.ci/run installs .devcontainer/tools.txt)",
            missing.join(", ")
        ));
    }
    // tcpdump opens a packet socket, which needs CAP_NET_RAW (bit 13 of the
    // effective capabilities; root has it).
    if capture && !has_capability(13) {
        return Some("tcpdump needs CAP_NET_RAW (root, or the dev container)".into());
    }
    None
}

/// Whether this process holds capability number `bit` (`CapEff` in
/// `/proc/self/status`).
fn has_capability(bit: u32) -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << bit) != 0)
}

/// Skips the calling test, with its reason, when the machine cannot run it.
macro_rules! needs {
    ($tools:expr, $capture:expr) => {
        if let Some(reason) = cannot_run(&$tools, $capture) {
            eprintln!("skipped: {reason}");
            return;
        }
    };
}

/// The solutions whose programs the sessions run.
const SOLUTIONS: [&str; 3] = ["01-bind-listen-accept", "02-partial-recv", "05-disconnect-detection"];

/// The program of the reference solution of `id` (one of [`SOLUTIONS`]).
/// All are built by one `cargo build` the first time one is asked for: the
/// programs only, without the exercises' extra build checks, which the
/// sessions do not need.
fn solution(id: &'static str) -> PathBuf {
    assert!(SOLUTIONS.contains(&id), "add {id} to SOLUTIONS");
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let cargo = util::cargo();
    let built = BUILT.get_or_init(|| {
        let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        command
            .current_dir(util::root())
            .args(["build", "--quiet", "--target-dir"])
            .arg(&cargo.target_dir);
        for id in SOLUTIONS {
            command.arg("--package").arg(util::exercise(id).package_for(Kind::Solutions));
        }
        let out = command.output().map_err(|e| format!("cannot run cargo: {e}"))?;
        out.status.success().then_some(()).ok_or_else(|| text(&out.stderr))
    });
    if let Err(log) = built {
        panic!("the solutions do not build:\n{log}");
    }
    cargo.bin_dir().join(util::exercise(id).package_for(Kind::Solutions))
}

/// A port nobody holds right now (the kernel's choice for port 0).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits for `what` with a deadline; panics with `what` when it never comes.
fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "waited {PATIENCE:?} for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether a socket in `state` (`0A` LISTEN, `07` a bound UDP socket) has
/// local port `port`, in `/proc/net/tcp` or `/proc/net/udp`.
fn proc_net_has(table: &str, port: u16, state: &str) -> bool {
    let text = std::fs::read_to_string(format!("/proc/net/{table}")).unwrap_or_default();
    let port = format!(":{port:04X}");
    text.lines().skip(1).any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.len() > 3 && fields[1].ends_with(&port) && fields[3] == state
    })
}

/// A command running in the background, in its own process group, its
/// output collected as it comes; the group is killed when it is dropped.
struct Background {
    child: Child,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Background {
    /// Runs `script` with bash in `dir`, its stdin a pipe the test holds.
    fn start(script: &str, dir: &Path) -> Background {
        let mut child = Command::new("bash")
            .args(["-c", script])
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `{script}`: {e}"));
        let mut readers = Vec::new();
        let mut collect = |mut from: Box<dyn Read + Send>| {
            let into = Arc::new(Mutex::new(Vec::new()));
            let to = into.clone();
            readers.push(std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = from.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    to.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            }));
            into
        };
        let stdout = collect(Box::new(child.stdout.take().unwrap()));
        let stderr = collect(Box::new(child.stderr.take().unwrap()));
        Background {
            child,
            stdout,
            stderr,
            readers,
        }
    }

    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned()
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// Writes `bytes` to its stdin.
    fn send(&mut self, bytes: &[u8]) {
        self.child.stdin.as_mut().unwrap().write_all(bytes).unwrap();
    }

    /// Closes its stdin (the end of its input).
    fn close_input(&mut self) {
        drop(self.child.stdin.take());
    }

    /// Whether it has exited.
    fn exited(&mut self) -> bool {
        self.child.try_wait().unwrap().is_some()
    }

    /// Kills the whole process group with `signal` (SIGKILL on drop).
    fn signal(&self, signal: nix::sys::signal::Signal) {
        let group = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::killpg(group, signal);
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.signal(nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

/// Runs `script` with bash in `dir` to its end (within `PATIENCE`).
fn run(script: &str, dir: &Path) -> Output {
    let mut background = Background::start(script, dir);
    background.close_input();
    wait_until(&format!("`{script}` to finish"), || background.exited());
    let status = background.child.wait().unwrap();
    // Anything it left in its group goes too; then the pipes close and the
    // readers have everything.
    background.signal(nix::sys::signal::Signal::SIGKILL);
    for reader in background.readers.drain(..) {
        let _ = reader.join();
    }
    Output {
        status,
        stdout: background.stdout.lock().unwrap().clone(),
        stderr: background.stderr.lock().unwrap().clone(),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Exercise 01's reference solution on a port of the kernel's choice: the
/// server and its port.
fn server_01(dir: &Path) -> (Background, u16) {
    server("01-bind-listen-accept", dir)
}

/// The reference solution of `id` (a server printing `listening on ADDR`)
/// on a port of the kernel's choice: the server and its port.
fn server(id: &'static str, dir: &Path) -> (Background, u16) {
    let program = solution(id);
    let server = Background::start(&format!("exec {} 127.0.0.1:0", program.display()), dir);
    wait_until(&format!("{id}'s solution to say it is listening"), || {
        server.stdout().contains("listening on 127.0.0.1:")
    });
    let port = listening_port(&server.stdout());
    (server, port)
}

/// The port in a line `listening on 127.0.0.1:PORT`.
fn listening_port(out: &str) -> u16 {
    out.lines()
        .find_map(|l| l.strip_prefix("listening on 127.0.0.1:"))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no `listening on 127.0.0.1:PORT` in {out:?}"))
}

fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

// ------------------------------------------------------------ the sessions

/// docs/src/tools/nc-socat.md, "nc": an `nc -l` listener prints what an
/// `nc -N` client sends, over TCP and over UDP (`-u`).
#[test]
fn session_nc_listens_and_sends() {
    needs!(["nc"], false);
    let book = session("tools/nc-socat.md", "nc -l");
    let dir = scratch();

    let port = free_port();
    let listener = Background::start(&format!("exec {}", command(&book, "nc -l", 7901, port)), dir.path());
    wait_until("nc -l to listen", || proc_net_has("tcp", port, "0A"));
    let client = run(&command(&book, "printf 'hi", 7901, port), dir.path());
    assert!(client.status.success(), "{}", text(&client.stderr));
    wait_until("the listener to print what came", || !listener.stdout().is_empty());
    wait_until("the whole line", || listener.stdout().ends_with('\n'));
    assert_shows("nc -l", shown(&book, "printf 'hi"), &listener.stdout());

    let port = free_udp_port();
    let listener = Background::start(&format!("exec {}", command(&book, "nc -u -l", 9000, port)), dir.path());
    wait_until("nc -u -l to bind", || proc_net_has("udp", port, "07"));
    let _client = Background::start(&command(&book, "printf 'datagram", 9000, port), dir.path());
    wait_until("the UDP listener to print the datagram", || listener.stdout().ends_with('\n'));
    assert_shows("nc -u -l", shown(&book, "printf 'datagram"), &listener.stdout());
}

/// docs/src/tools/nc-socat.md, "socat": an echo server over TCP and over a
/// Unix socket, and `ss -xl` showing the Unix listener.
#[test]
fn session_socat_echoes_over_tcp_and_unix_sockets() {
    needs!(["socat", "ss"], false);
    let book = session("tools/nc-socat.md", "socat TCP-LISTEN");
    let dir = scratch();
    let port = free_port();
    let _tcp = Background::start(&format!("exec {}", command(&book, "socat TCP-LISTEN", 7900, port)), dir.path());
    wait_until("socat to listen", || proc_net_has("tcp", port, "0A"));
    let echoed = run(&command(&book, "printf 'one", 7900, port), dir.path());
    assert_shows("socat over TCP", shown(&book, "printf 'one"), &text(&echoed.stdout));
    assert_eq!(text(&echoed.stdout), "one\ntwo\n");

    // The book's /tmp/demo.sock, in a folder of this test's own.
    let socket = dir.path().join("demo.sock");
    let in_dir = |c: String| c.replace("/tmp/demo.sock", &socket.display().to_string());
    let _unix = Background::start(&format!("exec {}", in_dir(command(&book, "socat UNIX-LISTEN", 0, 0))), dir.path());
    wait_until("socat to make its Unix socket", || socket.exists());
    let echoed = run(&in_dir(command(&book, "echo 'over", 0, 0)), dir.path());
    assert_shows("socat over a Unix socket", shown(&book, "echo 'over"), &text(&echoed.stdout));
    let listed = run(&in_dir(command(&book, "ss -xl", 0, 0)), dir.path());
    let expected: Vec<String> = shown(&book, "ss -xl").iter().map(|l| in_dir(l.clone())).collect();
    assert_shows("ss -xl", &expected, &text(&listed.stdout));
}

/// docs/src/tools/nc-socat.md, "socat -v": a logging proxy in front of
/// exercise 01's solution; the client sees the greeting and the echo, and
/// the proxy's log shows each direction (`<` from the server, `>` to it)
/// with its length and offsets.
#[test]
fn session_socat_logs_what_it_relays() {
    needs!(["socat", "nc"], false);
    let book = session("tools/nc-socat.md", "socat -v");
    let dir = scratch();
    let (_server, server_port) = server_01(dir.path());
    let port = free_port();
    let proxy = command(&book, "socat -v", 7902, port).replace("7878", &server_port.to_string());
    let proxy = Background::start(&format!("exec {proxy}"), dir.path());
    wait_until("the proxy to listen", || proc_net_has("tcp", port, "0A"));
    let client = run(&command(&book, "(sleep 0.3", 7902, port), dir.path());
    // The book's lines: the client's output first, then the proxy's log.
    let lines = shown(&book, "(sleep 0.3");
    let split = lines.iter().position(|l| l.starts_with('<')).expect("the log starts with `<`");
    assert_shows("the client, through the proxy", &lines[..split], &text(&client.stdout));
    wait_until("the proxy to log the echo", || proxy.stderr().matches("ping").count() >= 2);
    assert_shows("socat -v's log", &lines[split..], &proxy.stderr());
}

/// docs/src/tools/ss.md, "Reading the columns": exercise 01's solution
/// with one `nc` client; `ss` shows the listener with its backlog, and both
/// ends of the connection with their owners (the server's name cut to 15
/// characters).
#[test]
fn session_ss_shows_a_listener_and_a_connection() {
    needs!(["ss", "nc"], false);
    let book = session("tools/ss.md", "ss -ltn");
    let dir = scratch();
    let (_server, port) = server_01(dir.path());
    let mut client = Background::start(&format!("exec nc 127.0.0.1 {port}"), dir.path());
    client.send(b"ping\n");
    wait_until("the greeting and the echo", || client.stdout().ends_with("ping\n"));
    let listening = run(&command(&book, "ss -ltn", 7878, port), dir.path());
    assert_shows("ss -ltn", shown(&book, "ss -ltn"), &text(&listening.stdout));
    let connected = run(&command(&book, "ss -tnp", 7878, port), dir.path());
    assert_shows_any_order("ss -tnp", shown(&book, "ss -tnp"), &text(&connected.stdout));
}

/// docs/src/tools/ss.md, "Timers and internals" and "Watching states": with
/// one client that sent `ping`, `ss -tni` shows TCP's view of the server's
/// end (22 + 5 bytes sent, 5 received); after the server is killed and the
/// client closes, the server's end sits in TIME-WAIT.
#[test]
fn session_ss_shows_internals_and_time_wait() {
    needs!(["ss", "nc"], false);
    let internals = session("tools/ss.md", "ss -tni");
    let states = session("tools/ss.md", "ss -tan state time-wait");
    let dir = scratch();
    let (server, port) = server_01(dir.path());
    let mut client = Background::start(&format!("exec nc 127.0.0.1 {port}"), dir.path());
    client.send(b"ping\n");
    wait_until("the greeting and the echo", || client.stdout().ends_with("ping\n"));

    let shown_internals = shown(&internals, "ss -tni");
    let ss = command(&internals, "ss -tni", 7878, port);
    // The kernel counts the bytes acknowledged a moment after they arrive.
    wait_until("ss -tni to show bytes_acked:27", || {
        text(&run(&ss, dir.path()).stdout).contains("bytes_acked:27")
    });
    let out = text(&run(&ss, dir.path()).stdout);
    // The header and the connection's line, as the book shows them.
    assert_shows("ss -tni", &shown_internals[..2], &out);
    // The internals line: the congestion control differs between machines
    // (bbr, cubic), so each `name:` the book shows is looked for, and the
    // byte counts the book explains must be exact.
    let info = out.lines().nth(2).unwrap_or_else(|| panic!("no internals line:\n{out}"));
    for field in shown_internals[2].split_whitespace().filter(|f| f.contains(':')) {
        let name = &field[..=field.find(':').unwrap()];
        assert!(
            info.contains(name),
            "ss -tni: the book shows `{field}`, and this line has no `{name}`:\n{out}"
        );
    }
    for exact in ["bytes_sent:27", "bytes_acked:27", "bytes_received:5"] {
        assert!(
            shown_internals[2].contains(exact) && info.contains(exact),
            "ss -tni: `{exact}` expected:\n{out}"
        );
    }

    // Kill the server while the client is connected; the client sees the
    // end and closes too.
    server.signal(nix::sys::signal::Signal::SIGKILL);
    client.close_input();
    wait_until("nc to end once the server is gone", || client.exited());
    let out = text(&run(&command(&states, "ss -tan state time-wait", 7878, port), dir.path()).stdout);
    assert_shows("ss -tan state time-wait", shown(&states, "ss -tan state time-wait"), &out);
    // The server's end is in TIME-WAIT. It need not be the only line, nor
    // the first: the connection that found the server listening (closed by
    // its client first) may sit there too, in the kernel's hash order.
    let server_end = format!("127.0.0.1:{port}");
    assert!(
        out.lines()
            .skip(1)
            .any(|line| line.split_whitespace().nth(2) == Some(server_end.as_str())),
        "the server's end (local port {port}) is in TIME-WAIT:\n{out}"
    );
}

/// docs/src/tools/strace.md, "A client": `strace` of `nc -N` sending `ping`
/// to exercise 01's solution. Whether the greeting and the echo arrive in one
/// `read` or two depends on timing, so those reads are compared together.
#[test]
fn session_strace_shows_a_client() {
    needs!(["strace", "nc"], false);
    let book = session("tools/strace.md", "strace");
    let dir = scratch();
    std::fs::write(dir.path().join("ping.txt"), "ping\n").unwrap();
    let (_server, port) = server_01(dir.path());
    let traced = run(&command(&book, "strace", 7878, port), dir.path());
    let trace = text(&traced.stderr);
    assert!(traced.status.success(), "{trace}");
    assert_eq!(shape(&text(&traced.stdout)), shape("hello 127.0.0.1:1\nping\n"), "what nc printed");
    // nc reads /etc/nsswitch.conf and /etc/services on descriptor 3 before
    // its TCP socket gets it.
    let trace = trace[trace
        .find("socket(AF_INET")
        .unwrap_or_else(|| panic!("no socket(AF_INET) in the trace:\n{trace}"))..]
        .to_string();
    let timing = |l: &String| l.starts_with("read(3,") || l.starts_with("write(1,");
    let steady: Vec<String> = shown(&book, "strace").iter().filter(|l| !timing(l)).cloned().collect();
    assert_shows("strace nc", &steady, &trace);
    // What the reads on the socket returned, together, is what the book's did.
    let received = |lines: &mut dyn Iterator<Item = &str>| -> String {
        lines
            .filter(|l| l.starts_with("read(3, \""))
            .filter_map(|l| l["read(3, \"".len()..].split("\", ").next())
            .collect()
    };
    let book_reads = received(&mut shown(&book, "strace").iter().map(String::as_str));
    let reads = received(&mut trace.lines());
    assert_eq!(shape(&reads), shape(&book_reads), "the reads of nc's socket:\n{trace}");
}

/// docs/src/start/lifecycles.md, "What it looks like from the inside":
/// `strace -f -e trace=network` of exercise 01's solution serving one `nc`
/// client that sends `ping` and closes.
#[test]
fn session_strace_shows_a_server() {
    needs!(["strace", "nc"], false);
    let book = session("start/lifecycles.md", "strace");
    let dir = scratch();
    let port = free_port();
    let program = solution("01-bind-listen-accept");
    let traced = command(&book, "strace", 7879, port).replace("target/debug/bind-listen-accept-solution", &program.display().to_string());
    let server = Background::start(&format!("exec {traced}"), dir.path());
    wait_until("the traced server to listen", || server.stdout().contains("listening on"));
    let client = run(&format!("printf 'ping\\n' | nc -N 127.0.0.1 {port}"), dir.path());
    assert!(text(&client.stdout).ends_with("ping\n"), "{}", text(&client.stdout));
    wait_until("the client's thread to end", || server.stderr().contains("+++ exited with 0 +++"));
    let trace = rejoined(&server.stderr());
    // When strace notices the new thread, and where the main thread's next
    // `accept4` is printed, depend on timing: those two lines may come in
    // either order, or run into each other. Every other line comes in the
    // book's order.
    let steady: Vec<String> = shown(&book, "strace")
        .iter()
        .filter(|l| !l.contains(" attached") && !l.contains("<unfinished"))
        .cloned()
        .collect();
    assert!(steady.len() >= 10, "the book shows the server's calls and its thread's");
    assert_shows("strace -f of the server", &steady, &trace);
    assert!(trace.contains(" attached"), "strace follows the new thread:\n{trace}");
}

/// strace's output with each call that another thread's line interrupted
/// (`recvfrom(4,  <unfinished ...>` then, later, `<... recvfrom resumed>"",
/// ...`) put back together on one line, where the call was made.
fn rejoined(trace: &str) -> String {
    let mut pending: Vec<(String, usize)> = Vec::new();
    let mut out: Vec<String> = Vec::new();
    for line in trace.lines() {
        let (pid, call) = match line.strip_prefix("[pid").and_then(|rest| rest.find(']')) {
            Some(end) => line.split_at(4 + end + 1),
            None => ("", line),
        };
        let call = call.trim_start();
        if let Some(start) = call.strip_suffix("<unfinished ...>") {
            pending.push((pid.to_string(), out.len()));
            out.push(format!("{pid} {}", start.trim_end()));
            continue;
        }
        if let Some((_, rest)) = call.strip_prefix("<... ").and_then(|r| r.split_once(" resumed>"))
            && let Some(i) = pending.iter().position(|(p, _)| p == pid)
        {
            let (_, at) = pending.remove(i);
            out[at] = format!("{} {rest}", out[at]);
            continue;
        }
        out.push(line.to_string());
    }
    out.join("\n")
}

/// tcpdump on loopback until `count` packets are printed: its command from
/// the book, with `-l` (line-buffered, as the book's table says, for a pipe).
fn capture(book_command: &str, dir: &Path) -> Background {
    let command = book_command.replacen("tcpdump ", "tcpdump -l ", 1);
    let tcpdump = Background::start(&format!("exec {command}"), dir);
    wait_until("tcpdump to start capturing", || tcpdump.stderr().contains("listening on"));
    tcpdump
}

/// The lines of tcpdump's output that are packets (they start with a time).
fn packets(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| l.len() > 16 && l.as_bytes()[2] == b':' && l.contains(" IP "))
        .map(str::to_string)
        .collect()
}

/// docs/src/tools/tcpdump.md, "One connection, start to end" and "Seeing
/// the bytes": two captures of `nc` sending `ping` to exercise 01's
/// solution and closing a moment later. The handshake opens and the
/// closing handshake ends the capture as in the book, the data segments
/// are the 5-byte ping, the 22-byte greeting and the 5-byte echo (their
/// order, and which ACKs ride on data, depend on timing), and `-A` shows
/// the greeting's text.
#[test]
fn session_tcpdump_shows_one_connection() {
    needs!(["tcpdump", "nc"], true);
    let whole = session("tools/tcpdump.md", "tcpdump -i lo -n 'tcp port 7878'");
    let bytes = session("tools/tcpdump.md", "tcpdump -i lo -n -A");
    let dir = scratch();
    let (_server, port) = server_01(dir.path());
    let first = capture(&command(&whole, "tcpdump -i lo -n 'tcp", 7878, port), dir.path());
    let second = capture(&command(&bytes, "tcpdump -i lo -n -A", 7878, port), dir.path());
    let client = run(&format!("(printf 'ping\\n'; sleep 0.2) | nc -N 127.0.0.1 {port}"), dir.path());
    assert!(text(&client.stdout).ends_with("ping\n"), "{}", text(&client.stdout));
    wait_until("tcpdump to print the last ACK", || {
        packets(&first.stdout()).iter().filter(|l| l.contains("Flags [F.]")).count() == 2
            && packets(&first.stdout()).last().is_some_and(|l| l.contains("Flags [.]"))
    });
    let out = first.stdout();
    let got = packets(&out);
    let book = shown(&whole, "tcpdump");
    assert_shows("the handshake", &book[..3], &got[..3].join("\n"));
    assert_shows("the closing handshake", &book[book.len() - 3..], &got[got.len() - 3..].join("\n"));
    let lengths = |lines: &[String]| {
        let mut found: Vec<String> = lines
            .iter()
            .filter(|l| l.contains("Flags [P.]"))
            .filter_map(|l| l.rsplit("length ").next().map(str::to_string))
            .collect();
        found.sort();
        found
    };
    assert_eq!(lengths(&got), lengths(book), "the data segments (lengths):\n{out}");

    wait_until("tcpdump -A to print the echo", || {
        packets(&second.stdout()).len() >= shown(&bytes, "tcpdump").iter().filter(|l| l.contains(" IP ")).count()
    });
    let out = second.stdout();
    let headers: Vec<String> = shown(&bytes, "tcpdump").iter().filter(|l| l.contains(" IP ")).cloned().collect();
    assert_shows_any_order("tcpdump -A", &headers, &out);
    assert!(
        out.lines().any(|l| l.ends_with(&format!(
            "hello 127.0.0.1:{}",
            got[0].split(' ').nth(2).unwrap().rsplit('.').next().unwrap()
        ))) && out.lines().any(|l| l.ends_with("ping")),
        "tcpdump -A shows the greeting and the ping as text:\n{out}"
    );
}

/// docs/src/tools/tcpdump.md, "A refused connection": where nobody listens,
/// the SYN is answered by a reset, and `nc -v` says "Connection refused".
#[test]
fn session_tcpdump_shows_a_refused_connection() {
    needs!(["tcpdump", "nc"], true);
    let book = session("tools/tcpdump.md", "tcpdump -i lo -n 'tcp port 7899'");
    let dir = scratch();
    let port = free_port();
    let tcpdump = capture(&command(&book, "tcpdump", 7899, port), dir.path());
    let refused = run(&command(&book, "nc -v", 7899, port), dir.path());
    assert!(!refused.status.success());
    assert_shows("nc -v", shown(&book, "nc -v"), &text(&refused.stderr));
    wait_until("tcpdump to print the reset", || packets(&tcpdump.stdout()).len() >= 2);
    assert_shows("tcpdump", shown(&book, "tcpdump"), &tcpdump.stdout());
}

/// docs/src/concepts/byte-order.md: a 4-byte big-endian length before
/// `hello`, seen with `xxd`; the output is exactly the book's.
#[test]
fn session_xxd_shows_a_length_prefix() {
    needs!(["python3", "xxd"], false);
    let book = session("concepts/byte-order.md", "printf");
    let out = run(&command(&book, "printf", 0, 0), scratch().path());
    assert_eq!(text(&out.stdout).lines().collect::<Vec<_>>(), shown(&book, "printf"));
}

/// docs/src/02-partial-recv.md, "Try it by hand": exercise 02's solution
/// answers the frame `hello` with `olleh`, also when the header comes in two
/// pieces a second apart; and, where tcpdump can capture, the segments are
/// the ones the chapter describes: 2 bytes, then 7, and the 9-byte reply in
/// one segment.
#[test]
fn session_partial_recv_by_hand() {
    needs!(["nc", "xxd"], false);
    let whole = session("02-partial-recv.md", "printf");
    let split = session("02-partial-recv.md", "(printf");
    let dir = scratch();
    let (_server, port) = server("02-partial-recv", dir.path());
    let out = run(&command(&whole, "printf", 7878, port), dir.path());
    assert_eq!(text(&out.stdout).lines().collect::<Vec<_>>(), shown(&whole, "printf"));

    let capturing = match cannot_run(&["tcpdump"], true) {
        Some(reason) => {
            eprintln!("skipped, the segments: {reason}");
            None
        }
        None => Some(capture(
            &command(&session("02-partial-recv.md", "tcpdump"), "tcpdump", 7878, port),
            dir.path(),
        )),
    };
    let out = run(&command(&split, "(printf", 7878, port), dir.path());
    assert_eq!(text(&out.stdout).lines().collect::<Vec<_>>(), shown(&split, "(printf"));
    let Some(tcpdump) = capturing else { return };
    let data = |tcpdump: &Background| -> Vec<String> {
        packets(&tcpdump.stdout())
            .into_iter()
            .filter(|l| l.contains("Flags [P.]"))
            .map(|l| {
                let from_server = l.split(' ').nth(2).is_some_and(|a| a.ends_with(&format!(".{port}")));
                let length = l.rsplit("length ").next().unwrap_or("").to_string();
                format!("{} {length}", if from_server { "server" } else { "client" })
            })
            .collect()
    };
    wait_until("tcpdump to print the reply", || data(&tcpdump).len() >= 3);
    assert_eq!(
        data(&tcpdump),
        ["client 2", "client 7", "server 9"],
        "the segments of the split header and the reply:\n{}",
        tcpdump.stdout()
    );
}

/// docs/src/05-disconnect-detection.md, "Try it by hand": a peer that sends
/// `hello` and half-closes; exercise 05's solution says it connected, sends
/// its `received 6 bytes` reply (which `nc` prints) and ends `closed`.
#[test]
fn session_disconnect_detection_by_hand() {
    needs!(["nc"], false);
    let book = session("05-disconnect-detection.md", "printf");
    let dir = scratch();
    let port = free_port();
    let peer = Background::start(&command(&book, "printf", 7000, port), dir.path());
    wait_until("nc -l to listen", || proc_net_has("tcp", port, "0A"));
    let program = solution("05-disconnect-detection");
    let watcher =
        command(&book, "cargo run", 7000, port).replace("cargo run -q -p disconnect-detection --", &program.display().to_string());
    let out = run(&watcher, dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    wait_until("nc to print the reply", || peer.stdout().ends_with('\n'));
    let both = format!("{}{}", text(&out.stdout), peer.stdout());
    assert_shows_any_order("the watcher and nc", shown(&book, "cargo run"), &both);
    assert_shows(
        "the watcher",
        &[shown(&book, "cargo run")[0].clone(), shown(&book, "cargo run")[2].clone()],
        &text(&out.stdout),
    );
}

/// docs/src/concepts/keepalive.md, `ss -o`: two connections with keepalive
/// on, one with the kernel's default idle time (two hours, unless this
/// machine changed `net.ipv4.tcp_keepalive_time`) and one with
/// `TCP_KEEPIDLE=60`; `ss -tno` shows each one's keepalive timer.
#[test]
fn session_ss_shows_keepalive_timers() {
    needs!(["ss"], false);
    let book = session("concepts/keepalive.md", "ss -tno");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let default = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    socket2::SockRef::from(&default).set_keepalive(true).unwrap();
    let minute = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let keepalive = socket2::TcpKeepalive::new().with_time(Duration::from_secs(60));
    socket2::SockRef::from(&minute).set_tcp_keepalive(&keepalive).unwrap();
    let out = text(&run(&command(&book, "ss -tno", 7881, port), scratch().path()).stdout);
    assert_shows("ss -tno", shown(&book, "ss -tno"), &out);
    let timer = |stream: &std::net::TcpStream| {
        let local = format!("127.0.0.1:{} ", stream.local_addr().unwrap().port());
        let line = out.lines().find(|l| l.contains(&local)).unwrap_or("");
        line.split("timer:(").nth(1).unwrap_or("").to_string()
    };
    assert!(
        timer(&minute).starts_with("keepalive,") && (timer(&minute).contains("sec") || timer(&minute).contains("min")),
        "{out}"
    );
    assert!(timer(&default).starts_with("keepalive,"), "{out}");
}

/// docs/src/concepts/keepalive.md, "HTTP keep-alive": `curl -sv` fetching
/// twice from Python's `http.server`, which speaks HTTP/1.0 (two
/// connections, each closed), then from the same server speaking HTTP/1.1
/// (the second request reuses the first connection).
#[test]
fn session_curl_shows_http_keep_alive() {
    needs!(["curl", "python3"], false);
    let old = session("concepts/keepalive.md", "curl -sv -o /dev/null -o /dev/null http://127.0.0.1:8765/");
    let new = session("concepts/keepalive.md", "curl -sv -o /dev/null -o /dev/null http://127.0.0.1:8767/");
    let dir = scratch();
    std::fs::write(dir.path().join("index.html"), "hello\n").unwrap();
    // Both servers start at once: Python takes a while to start.
    let servers: Vec<(&Session, u16, &str, u16, Background)> = [(&old, 8765, "HTTP/1.0"), (&new, 8767, "HTTP/1.1")]
        .into_iter()
        .map(|(book, book_port, version)| {
            let port = free_port();
            let script = format!(
                "import http.server as h; h.SimpleHTTPRequestHandler.protocol_version = '{version}'; \
                 h.ThreadingHTTPServer(('127.0.0.1', {port}), h.SimpleHTTPRequestHandler).serve_forever()"
            );
            let server = Background::start(&format!("exec python3 -c \"{script}\""), dir.path());
            (book, book_port, version, port, server)
        })
        .collect();
    for (book, book_port, version, port, _server) in &servers {
        wait_until("the HTTP server to listen", || proc_net_has("tcp", *port, "0A"));
        let out = run(&command(book, "curl", *book_port, *port), dir.path());
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_shows(&format!("curl -sv against {version}"), shown(book, "curl"), &text(&out.stderr));
    }
}

/// docs/src/start/sockets.md, "IPv4 and IPv6": the loopback interface has
/// `127.0.0.1/8` and, where this machine has IPv6 loopback (the dev
/// container does), `::1/128`.
#[test]
fn session_ip_shows_loopback() {
    needs!(["ip"], false);
    let book = session("start/sockets.md", "ip -br addr show lo");
    let out = text(&run(&command(&book, "ip", 0, 0), scratch().path()).stdout);
    let mut expected = shown(&book, "ip")[0].clone();
    if let Some(reason) = grader::platform::Need::Ipv6.missing() {
        eprintln!("skipped, the IPv6 address: {reason}");
        expected = expected.replace(" ::1/128", "");
    }
    assert_shows("ip -br addr show lo", &[expected], &out);
}

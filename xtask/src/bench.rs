//! `cargo xtask bench`: the same chat room (exercise 03's protocol) served by
//! three designs, a thread per client, one thread with `poll`, one thread
//! with `epoll`, measured with 10 to 10,000 connected clients; writes the
//! table and chart of docs/src/concepts/scaling-designs.md.
//!
//! This is a benchmark, not a test: nothing here passes or fails on a time.
//! The designs are the release builds of
//! - bench/thread-per-client (`thread-per-client-chat`), a bench-only program;
//! - solutions/03-nonblocking-select (`nonblocking-select-solution`);
//! - solutions/10-epoll-c10k (`epoll-c10k-solution`), skipped, with a note,
//!   while that exercise is absent from the workspace.
//!
//! For each design and each number of clients N it
//! 1. starts the server and connects N clients in batches of 100, reading each
//!    greeting (`hello ...`), and notes the server's CPU time for the joins;
//!    a server that stops accepting or greeting (for example because it cannot
//!    start another thread) ends the run there, and that is the result;
//! 2. with everyone connected, lets four *probes* chat for a fixed time: each
//!    probe has a sender among the first members and a receiver among the
//!    last four to join, and sends its next line as soon as its receiver got
//!    the previous one. Every line goes to the N - 1 other members (that is
//!    the protocol); the bench reads all of them (one `epoll` thread for the
//!    idle members) and counts what was delivered;
//! 3. has the first sender type one long line a byte at a time, a write per
//!    byte 1 ms (plus 3 µs per client) apart, so that each byte wakes the server for almost no work:
//!    the cost of one wakeup, which is where the designs differ most;
//! 4. reports the server's threads (`/proc/PID/task`), peak resident memory
//!    (`VmHWM`) and address space (`VmPeak`), the growth of the kernel's
//!    stacks (`KernelStack` in `/proc/meminfo`), its CPU time (`utime + stime`, read
//!    in nanoseconds from every thread's `schedstat`) per client joining, per
//!    message delivered and per keystroke, its context switches per message
//!    (every thread's `voluntary_ctxt_switches` and
//!    `nonvoluntary_ctxt_switches`), and the 50th and 99th
//!    percentile of the time from a line's `write` to its arrival at a
//!    receiver, which the servers reach last: the time to reach the whole room.

#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

use grader::build::Cargo;
use grader::manifest::Manifest;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const DEFAULT_CLIENTS: &[usize] = &[10, 100, 1000, 10_000];
const QUICK_CLIENTS: &[usize] = &[10, 100, 1000];
/// Probes chatting at the same time, each a sender and a receiver.
const PROBES: usize = 4;
/// How long the probes chat in each run, unless `--window-ms` says otherwise.
const DEFAULT_WINDOW_MS: u64 = 1000;
const QUICK_WINDOW_MS: u64 = 300;
const PAGE: &str = "docs/src/concepts/scaling-designs.md";
const CHART: &str = "docs/src/bench-designs.svg";
const TABLE_START: &str = "<!-- bench-table:start (written by `cargo xtask bench`) -->";
const TABLE_END: &str = "<!-- bench-table:end -->";

/// One way to serve the chat room.
struct Design {
    /// The name `--only` takes.
    key: &'static str,
    label: &'static str,
    package: &'static str,
    /// The crate's folder: a design whose folder is missing is skipped.
    dir: &'static str,
    colour: &'static str,
}

const DESIGNS: &[Design] = &[
    Design {
        key: "thread",
        label: "thread per client",
        package: "thread-per-client-chat",
        dir: "bench/thread-per-client",
        colour: "#d1495b",
    },
    Design {
        key: "poll",
        label: "poll (03)",
        package: "nonblocking-select-solution",
        dir: "solutions/03-nonblocking-select",
        colour: "#00798c",
    },
    Design {
        key: "epoll",
        label: "epoll (10)",
        package: "epoll-c10k-solution",
        dir: "solutions/10-epoll-c10k",
        colour: "#edae49",
    },
];

/// The measurements of one design with one number of clients.
#[derive(Default)]
struct Row {
    design: usize,
    clients: usize,
    /// Why the run stopped before every client was in the room, if it did.
    failed: Option<String>,
    /// Clients in the room when the measurements were taken.
    joined: usize,
    threads: usize,
    hwm_kib: u64,
    rss_kib: u64,
    /// Peak address space (`VmPeak`): thread stacks are reserved here whole.
    address_space_kib: u64,
    /// Growth of the machine's kernel stacks (`KernelStack` in /proc/meminfo)
    /// while the clients joined.
    kernel_stacks_kib: u64,
    /// Server CPU time per client while the clients joined (accept, greet).
    join_cpu_us: f64,
    lines: u64,
    delivered: u64,
    cpu_us_per_message: f64,
    switches_per_message: f64,
    /// Bytes typed one write at a time, the server's CPU time per byte, and
    /// the share of one CPU it used meanwhile.
    keystrokes: u64,
    cpu_us_per_keystroke: f64,
    typing_busy: f64,
    p50_us: f64,
    p99_us: f64,
}

struct Args {
    clients: Vec<usize>,
    /// The designs to measure (`--only thread,poll`); all when empty.
    only: Vec<String>,
    window_ms: u64,
    write: bool,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut parsed = Args {
        clients: DEFAULT_CLIENTS.to_vec(),
        only: Vec::new(),
        window_ms: DEFAULT_WINDOW_MS,
        write: true,
    };
    let mut clients_given = false;
    let mut window_given = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--clients" => {
                let value = it.next().ok_or("--clients needs a list such as 10,100,1000")?;
                parsed.clients = value
                    .split(',')
                    .map(|v| v.trim().parse::<usize>().map_err(|_| format!("--clients: `{v}` is not a number")))
                    .collect::<Result<_, _>>()?;
                if parsed.clients.iter().any(|&n| n < 2 * PROBES) {
                    return Err(format!("--clients: each count must be at least {}", 2 * PROBES));
                }
                clients_given = true;
            }
            "--window-ms" => {
                let value = it.next().ok_or("--window-ms needs a number of milliseconds")?;
                parsed.window_ms = value.parse().map_err(|_| format!("--window-ms: `{value}` is not a number"))?;
                window_given = true;
            }
            "--quick" => {
                if !clients_given {
                    parsed.clients = QUICK_CLIENTS.to_vec();
                }
                if !window_given {
                    parsed.window_ms = QUICK_WINDOW_MS;
                }
            }
            "--only" => {
                let value = it.next().ok_or("--only needs a list such as thread,poll,epoll")?;
                for key in value.split(',') {
                    if !DESIGNS.iter().any(|d| d.key == key) {
                        return Err(format!("--only: `{key}` is not one of thread, poll, epoll"));
                    }
                    parsed.only.push(key.to_string());
                }
            }
            "--no-write" => parsed.write = false,
            other => return Err(format!("unknown argument `{other}` for bench")),
        }
    }
    Ok(parsed)
}

pub fn run(manifest: &Manifest, args: &[String]) -> Result<ExitCode, String> {
    let args = parse(args)?;
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (manifest, args);
        Err("the benchmark reads /proc and uses epoll: it runs on Linux only".into())
    }
    #[cfg(target_os = "linux")]
    {
        run_linux(manifest, &args)
    }
}

#[cfg(target_os = "linux")]
fn run_linux(manifest: &Manifest, args: &Args) -> Result<ExitCode, String> {
    let max = args.clients.iter().copied().max().unwrap_or(0);
    // This process holds one socket per client (and a second descriptor for
    // each probe), and so does each server, which inherits the raised limit,
    // as the grader raises it (grader::fdlimit).
    let limit = grader::fdlimit::ensure_open_files(max as u64 + 200)?;
    let mut present = Vec::new();
    for (d, design) in DESIGNS.iter().enumerate() {
        if !args.only.is_empty() && !args.only.iter().any(|k| k == design.key) {
            continue;
        }
        if manifest.root.join(design.dir).join("Cargo.toml").is_file() {
            present.push(d);
        } else {
            println!(
                "{}: skipped, {} is not in this workspace (package `{}`)",
                design.label, design.dir, design.package
            );
        }
    }
    let cargo = Cargo::for_workspace(&manifest.root, false);
    println!("building the servers (release) ...");
    let bin_dir = build_release(&cargo, &present)?;
    println!(
        "{PROBES} probes chat for {} ms per run; open-file limit {limit}; {}\n",
        args.window_ms,
        machine_limits()
    );
    let mut rows = Vec::new();
    for &d in &present {
        for &n in &args.clients {
            let row = measure::run(d, &bin_dir.join(DESIGNS[d].package), n, args.window_ms)?;
            println!("{}", summary(&row));
            rows.push(row);
        }
    }
    let table = table(&rows, args.window_ms);
    println!("\n{table}");
    if args.write {
        write_table(&manifest.root.join(PAGE), &table)?;
        std::fs::write(manifest.root.join(CHART), svg(&rows)).map_err(|e| format!("writing {CHART}: {e}"))?;
        println!("wrote the table into {PAGE} and the chart to {CHART}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Builds the servers with optimisations; returns their folder.
fn build_release(cargo: &Cargo, designs: &[usize]) -> Result<PathBuf, String> {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(program);
    command.current_dir(&cargo.root).args(["build", "--release", "--quiet"]);
    for &d in designs {
        command.args(["--package", DESIGNS[d].package]);
    }
    command.arg("--target-dir").arg(&cargo.target_dir);
    let status = command.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("building the servers failed (see above)".into());
    }
    Ok(cargo.target_dir.join("release"))
}

/// The kernel's limits on threads and memory map areas, which a thread per
/// client meets first (each thread's stack is one map area plus a guard page).
fn machine_limits() -> String {
    let read = |path: &str| std::fs::read_to_string(path).map(|s| s.trim().to_string()).unwrap_or("?".into());
    format!(
        "kernel.threads-max {}, kernel.pid_max {}, vm.max_map_count {}",
        read("/proc/sys/kernel/threads-max"),
        read("/proc/sys/kernel/pid_max"),
        read("/proc/sys/vm/max_map_count")
    )
}

fn summary(row: &Row) -> String {
    let head = format!("{:<18} {:>6} clients:", DESIGNS[row.design].label, row.clients);
    let body = format!(
        "{:>6} threads, peak RSS {:>6.1} MiB (now {:.1}), kernel stacks +{:.1} MiB, join {:>5.0} µs CPU/client, {:>8} messages, {:>5.2} µs CPU/message, {:>6.3} switches/message, {:>5} keystrokes, {:>6.1} µs CPU/keystroke ({:>3.0}% busy), p50 {}, p99 {}",
        row.threads,
        row.hwm_kib as f64 / 1024.0,
        row.rss_kib as f64 / 1024.0,
        row.kernel_stacks_kib as f64 / 1024.0,
        row.join_cpu_us,
        row.delivered,
        row.cpu_us_per_message,
        row.switches_per_message,
        row.keystrokes,
        row.cpu_us_per_keystroke,
        row.typing_busy * 100.0,
        duration(row.p50_us),
        duration(row.p99_us)
    );
    match &row.failed {
        Some(reason) => format!("{head} stopped at {} clients: {reason}; {body}", row.joined),
        None => format!("{head} {body}"),
    }
}

/// 850 µs, 12.3 ms.
fn duration(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

/// The measuring itself: clients, probes, and the server's /proc files.
#[cfg(target_os = "linux")]
mod measure {
    use super::{PROBES, Row};
    use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags};
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::os::fd::AsFd;
    use std::path::Path;
    use std::process::{Child, Command, Stdio};
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{Arc, Mutex, mpsc};
    use std::time::{Duration, Instant};

    /// How long to wait for one greeting or one line before calling the
    /// server stuck: far above any latency measured here.
    const STUCK: Duration = Duration::from_secs(20);
    /// Each sender sends at least this many lines, even past the window, so
    /// that the percentiles of slow runs rest on a few hundred samples.
    const MIN_LINES_PER_PROBE: u64 = 5;
    /// The typist's pause between two bytes: 1 ms, plus 3 µs per client so
    /// that even a server whose every wakeup costs work for each client
    /// (poll: about 1 µs per client here) takes each byte on its own and
    /// sleeps before the next. The same pause for every design.
    fn typing_pause(clients: usize) -> Duration {
        Duration::from_micros(1000 + 3 * clients as u64)
    }

    /// A server process, killed when dropped.
    struct Running(Child);

    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    pub fn run(design: usize, program: &Path, n: usize, window_ms: u64) -> Result<Row, String> {
        let mut child = Command::new(program)
            .arg("127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting {}: {e}", program.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let mut child = Running(child);
        let pid = child.0.id();
        // The server's complaints (a refused thread, a failed accept, its
        // last words): the first ones explain a run that stopped early.
        let complaints = Arc::new(Mutex::new(Vec::<String>::new()));
        let listener = {
            let complaints = Arc::clone(&complaints);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let mut kept = complaints.lock().unwrap();
                    if kept.len() < 3 && !line.trim().is_empty() {
                        kept.push(line);
                    }
                }
            })
        };
        let mut first = String::new();
        BufReader::new(stdout)
            .read_line(&mut first)
            .map_err(|e| format!("reading the server's first line: {e}"))?;
        let addr: SocketAddr = first
            .trim()
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| format!("{} printed {first:?}, not `listening on ADDR`", program.display()))?;
        let mut row = Row {
            design,
            clients: n,
            ..Row::default()
        };

        // 1. Join, in batches smaller than the listen backlog (128), reading
        // each batch's greetings before the next.
        let cpu_before_join = usage(pid).cpu_ns;
        let kernel_stacks_before = meminfo("KernelStack:");
        // The server's threads, memory and kernel stacks, read after every
        // batch: a server that dies on the way can be read no more.
        let mut seen = (0, (0, 0, 0), 0);
        let mut members: Vec<BufReader<TcpStream>> = Vec::with_capacity(n);
        while members.len() < n && row.failed.is_none() {
            seen = (threads(pid), memory(pid), meminfo("KernelStack:"));
            let start = members.len();
            for _ in start..(start + 100).min(n) {
                match TcpStream::connect(addr) {
                    Ok(stream) => {
                        stream.set_read_timeout(Some(STUCK)).ok();
                        stream.set_nodelay(true).ok();
                        members.push(BufReader::new(stream));
                    }
                    Err(e) => {
                        row.failed = Some(format!("connect failed ({e})"));
                        break;
                    }
                }
            }
            for (i, member) in members.iter_mut().enumerate().skip(start) {
                let mut greeting = Vec::new();
                match member.read_until(b'\n', &mut greeting) {
                    Ok(_) if greeting.starts_with(b"hello ") => {}
                    Ok(0) => {
                        row.failed = Some(format!("client {} was disconnected before its greeting", i + 1));
                        break;
                    }
                    Ok(_) => {
                        row.failed = Some(format!(
                            "client {} got {:?} instead of a greeting",
                            i + 1,
                            String::from_utf8_lossy(&greeting)
                        ));
                        break;
                    }
                    Err(e) => {
                        row.failed = Some(format!("client {} got no greeting ({e})", i + 1));
                        break;
                    }
                }
            }
        }
        let joined_cpu = usage(pid).cpu_ns.saturating_sub(cpu_before_join);
        row.joined = members.len();
        row.join_cpu_us = joined_cpu as f64 / 1000.0 / row.joined.max(1) as f64;
        if let Some(reason) = &mut row.failed {
            // Did the server die, or only refuse some clients?
            let deadline = Instant::now() + Duration::from_secs(1);
            let mut exited = child.0.try_wait().ok().flatten();
            while exited.is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
                exited = child.0.try_wait().ok().flatten();
            }
            if let Some(status) = exited {
                use std::os::unix::process::ExitStatusExt;
                match status.signal() {
                    Some(signal) => reason.push_str(&format!("; the server was killed by signal {signal}")),
                    None => reason.push_str(&format!("; the server exited ({status})")),
                }
                // Its standard error is closed now: every last word is in.
                let _ = listener.join();
            }
            let said = complaints.lock().unwrap().join(" / ");
            if !said.is_empty() {
                reason.push_str(&format!("; it said: {said}"));
            }
            (row.threads, (row.hwm_kib, row.rss_kib, row.address_space_kib)) = (seen.0, seen.1);
            row.kernel_stacks_kib = seen.2.saturating_sub(kernel_stacks_before);
            return Ok(row);
        }
        row.threads = threads(pid);
        // Every thread has a kernel stack (16 KiB on x86-64) besides its own:
        // kernel memory, in no process's RSS. /proc/meminfo counts them all,
        // the whole machine's, so other programs move this a little.
        row.kernel_stacks_kib = meminfo("KernelStack:").saturating_sub(kernel_stacks_before);

        // 2. Chat. The senders are the first PROBES members, the receivers
        // the last PROBES; everyone else, senders included, is drained by one
        // epoll thread that only counts lines.
        let receivers: Vec<BufReader<TcpStream>> = members.split_off(members.len() - PROBES);
        let mut senders = Vec::new();
        for member in &members[..PROBES] {
            let stream = member.get_ref();
            senders.push((
                stream.try_clone().map_err(|e| e.to_string())?,
                stream.local_addr().map_err(|e| e.to_string())?,
            ));
        }
        let drained = Arc::new(AtomicU64::new(0));
        let received = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let drain = {
            let (drained, stop) = (Arc::clone(&drained), Arc::clone(&stop));
            std::thread::spawn(move || drain(members, &drained, &stop))
        };
        let before_chat = usage(pid);
        let base = Instant::now();
        let window = Duration::from_millis(window_ms);
        // Each receiver tells the sender of the same number when that
        // sender's line has arrived, and keeps every latency it measured.
        let mut acks = Vec::new();
        let mut receiver_threads = Vec::new();
        let sender_addrs: Vec<String> = senders.iter().map(|(_, a)| a.to_string()).collect();
        for (p, mut receiver) in receivers.into_iter().enumerate() {
            let (ack_tx, ack_rx) = mpsc::channel::<u64>();
            acks.push(ack_rx);
            let sender_addrs = sender_addrs.clone();
            let received = Arc::clone(&received);
            receiver_threads.push(std::thread::spawn(move || -> Result<Vec<f64>, String> {
                let mut latencies = Vec::new();
                let mut line = Vec::new();
                loop {
                    line.clear();
                    match receiver.read_until(b'\n', &mut line) {
                        Ok(0) => return Ok(latencies),
                        Ok(_) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {
                            return Err(format!("receiver {p} waited {STUCK:?} for a line"));
                        }
                        Err(e) => return Err(format!("receiver {p}: {e}")),
                    }
                    // `<sender address>: probe P line S sent T\n`, or the
                    // typed line `<sender address>: typed xxx...\n`.
                    let text = String::from_utf8_lossy(&line);
                    if text.split_once(": ").is_some_and(|(_, rest)| rest.starts_with("typed ")) {
                        received.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let Some((from, rest)) = text.split_once(": probe ") else {
                        return Err(format!("receiver {p} got {text:?}"));
                    };
                    let fields: Vec<u64> = rest.split_whitespace().filter_map(|w| w.parse().ok()).collect();
                    let [sender, seq, sent_ns] = fields[..] else {
                        return Err(format!("receiver {p} got {text:?}"));
                    };
                    if sender_addrs.get(sender as usize).map(String::as_str) != Some(from) {
                        return Err(format!("receiver {p} got {text:?} from the wrong address"));
                    }
                    received.fetch_add(1, Ordering::Relaxed);
                    latencies.push((base.elapsed().as_nanos() as u64).saturating_sub(sent_ns) as f64 / 1000.0);
                    if sender as usize == p {
                        let _ = ack_tx.send(seq);
                    }
                }
            }));
        }
        let mut sender_threads = Vec::new();
        for (p, ((mut stream, _), ack)) in senders.into_iter().zip(acks).enumerate() {
            sender_threads.push(std::thread::spawn(move || -> Result<(TcpStream, u64), String> {
                let mut seq = 0;
                while base.elapsed() < window || seq < MIN_LINES_PER_PROBE {
                    let line = format!("probe {p} line {seq} sent {}\n", base.elapsed().as_nanos());
                    stream.write_all(line.as_bytes()).map_err(|e| format!("sender {p}: {e}"))?;
                    match ack.recv_timeout(STUCK) {
                        Ok(got) if got == seq => {}
                        Ok(got) => return Err(format!("sender {p} sent line {seq}, its receiver saw line {got}")),
                        Err(_) => return Err(format!("sender {p}: line {seq} did not arrive within {STUCK:?}")),
                    }
                    seq += 1;
                }
                Ok((stream, seq))
            }));
        }
        let mut lines = 0;
        let mut typist = None;
        for handle in sender_threads {
            let (stream, sent) = handle.join().map_err(|_| "a sender panicked".to_string())??;
            lines += sent;
            typist.get_or_insert(stream);
        }
        row.lines = lines;
        // Every line goes to the N - 1 members other than its sender. Wait
        // until they all arrived (the server may still be writing the last).
        let delivered = || drained.load(Ordering::Relaxed) + received.load(Ordering::Relaxed);
        let all_arrived = |expected: u64| {
            let deadline = Instant::now() + STUCK;
            while delivered() < expected && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            delivered() >= expected
        };
        let mut expected = lines * (n - 1) as u64;
        all_arrived(expected);
        let after_chat = usage(pid);
        let cpu_ns = after_chat.cpu_ns.saturating_sub(before_chat.cpu_ns);
        let switched = after_chat.switches().saturating_sub(before_chat.switches());
        let chat_delivered = delivered();

        // 3. Typing: the first sender types one long line a byte at a time,
        // a write per byte with a pause between, so that every byte wakes
        // the server on its own with almost nothing to do: the cost of a
        // wakeup itself. The line's end, one broadcast, is sent only after
        // the server's CPU time was read.
        let mut typist = typist.ok_or("no sender")?;
        let typing_window = Duration::from_millis((window_ms / 2).max(100));
        let typing_started = Instant::now();
        let mut typed = typist.write_all(b"typed ").map(|_| 6).map_err(|e| format!("typist: {e}"))?;
        while typing_started.elapsed() < typing_window {
            std::thread::sleep(typing_pause(n));
            typist.write_all(b"x").map_err(|e| format!("typist: {e}"))?;
            typed += 1;
        }
        // Wait until the server has handled the last byte: its CPU time
        // stops growing.
        let mut after_typing = usage(pid);
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            let now = usage(pid);
            let settled = now.cpu_ns == after_typing.cpu_ns;
            after_typing = now;
            if settled {
                break;
            }
        }
        let typing_wall = typing_started.elapsed();
        let typing_ns = after_typing.cpu_ns.saturating_sub(after_chat.cpu_ns) as f64;
        typist.write_all(b"\n").map_err(|e| format!("typist: {e}"))?;
        expected += (n - 1) as u64;
        all_arrived(expected);
        row.keystrokes = typed;
        // Each keystroke is one wakeup as long as the server is done with the
        // previous one when it arrives (busy well under 100%).
        row.cpu_us_per_keystroke = typing_ns / 1000.0 / typed.max(1) as f64;
        row.typing_busy = typing_ns / typing_wall.as_nanos().max(1) as f64;

        (row.hwm_kib, row.rss_kib, row.address_space_kib) = memory(pid);
        row.threads = row.threads.max(threads(pid));
        // Ending the server closes every connection: the receivers see their
        // end of file and return what they measured.
        drop(child);
        stop.store(true, Ordering::Relaxed);
        let mut latencies = Vec::new();
        for handle in receiver_threads {
            latencies.extend(handle.join().map_err(|_| "a receiver panicked".to_string())??);
        }
        let _ = drain.join();
        row.delivered = delivered();
        if row.delivered < expected {
            row.failed = Some(format!("{} of {expected} messages arrived within {STUCK:?}", row.delivered));
        }
        row.cpu_us_per_message = cpu_ns as f64 / 1000.0 / chat_delivered.max(1) as f64;
        row.switches_per_message = switched as f64 / chat_delivered.max(1) as f64;
        latencies.sort_by(f64::total_cmp);
        let percentile = |q: f64| {
            latencies
                .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
                .copied()
                .unwrap_or(0.0)
        };
        row.p50_us = percentile(0.50);
        row.p99_us = percentile(0.99);
        Ok(row)
    }

    /// Reads every member's socket until `stop`, counting the lines: one
    /// thread and `epoll(7)`, so the bench itself stays cheap with 10,000
    /// members and does not scan them all on every wakeup as `poll` would.
    fn drain(members: Vec<BufReader<TcpStream>>, drained: &AtomicU64, stop: &AtomicBool) {
        let Ok(epoll) = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC) else {
            return;
        };
        let streams: Vec<TcpStream> = members.into_iter().map(BufReader::into_inner).collect();
        for (i, stream) in streams.iter().enumerate() {
            let _ = epoll.add(stream.as_fd(), EpollEvent::new(EpollFlags::EPOLLIN, i as u64));
        }
        let mut events = vec![EpollEvent::empty(); 1024];
        let mut buf = vec![0u8; 64 * 1024];
        while !stop.load(Ordering::Relaxed) {
            let Ok(ready) = epoll.wait(&mut events, 50u16) else {
                continue;
            };
            for event in &events[..ready] {
                // Level-triggered: one read per wakeup is enough, epoll
                // reports the socket again if more is waiting. The read does
                // not block, since epoll said there is something to read.
                let mut stream = &streams[event.data() as usize];
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        let _ = epoll.delete(stream.as_fd());
                    }
                    Ok(got) => {
                        let lines = buf[..got].iter().filter(|&&b| b == b'\n').count();
                        drained.fetch_add(lines as u64, Ordering::Relaxed);
                    }
                }
            }
        }
    }

    fn threads(pid: u32) -> usize {
        std::fs::read_dir(format!("/proc/{pid}/task")).map(|d| d.count()).unwrap_or(0)
    }

    /// Peak resident memory, current resident memory and peak address space
    /// (`VmHWM`, `VmRSS`, `VmPeak`), in KiB.
    fn memory(pid: u32) -> (u64, u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        (field(&status, "VmHWM:"), field(&status, "VmRSS:"), field(&status, "VmPeak:"))
    }

    /// A line of /proc/meminfo, in KiB.
    fn meminfo(key: &str) -> u64 {
        field(&std::fs::read_to_string("/proc/meminfo").unwrap_or_default(), key)
    }

    fn field(status: &str, key: &str) -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// The server's CPU time (user plus system) and context switches so far,
    /// added up over its threads.
    ///
    /// `utime + stime` in `/proc/PID/stat` counts in clock ticks (10 ms
    /// here), too coarse for a few hundred wakeups; each thread's
    /// `/proc/PID/task/TID/schedstat` gives the same time on the CPU in
    /// nanoseconds (its first field). Each thread's `status` counts its
    /// context switches: voluntary (it slept: in `read`, `poll`, on a lock)
    /// and nonvoluntary (the scheduler gave its CPU to another task).
    fn usage(pid: u32) -> Usage {
        let mut usage = Usage::default();
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return usage;
        };
        for task in tasks.flatten() {
            let schedstat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
            usage.cpu_ns += schedstat.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
            usage.voluntary += field(&status, "voluntary_ctxt_switches:");
            usage.nonvoluntary += field(&status, "nonvoluntary_ctxt_switches:");
        }
        usage
    }

    /// What `usage` adds up.
    #[derive(Default)]
    struct Usage {
        cpu_ns: u64,
        voluntary: u64,
        nonvoluntary: u64,
    }

    impl Usage {
        fn switches(&self) -> u64 {
            self.voluntary + self.nonvoluntary
        }
    }
}

fn table(rows: &[Row], window_ms: u64) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "Measured by `cargo xtask bench` on {} ({} CPUs), {PROBES} probes chatting for {window_ms} ms per run. \
         CPU and context switches are the server's: per client while they join, per message delivered (a line reaching one member) \
         while they chat, and per keystroke (one wakeup each) while one client types a line a byte at a time \
         (busy: the share of one CPU the server used meanwhile).\n\n",
        std::env::consts::OS,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    ));
    out.push_str("| design | clients | threads | peak RSS (MiB) | address space (MiB) | kernel stacks (MiB) | join CPU (µs/client) | messages | CPU (µs/message) | switches/message | CPU (µs/keystroke) | busy while typing | p50 | p99 |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for row in rows {
        if let Some(reason) = &row.failed {
            out.push_str(&format!(
                "| {} | {} | {} | {:.1} | {:.0} | {:.1} | stopped at {} clients: {} | | | | | | | |\n",
                DESIGNS[row.design].label,
                row.clients,
                row.threads,
                row.hwm_kib as f64 / 1024.0,
                row.address_space_kib as f64 / 1024.0,
                row.kernel_stacks_kib as f64 / 1024.0,
                row.joined,
                reason.replace('|', "/")
            ));
            continue;
        }
        out.push_str(&format!(
            "| {} | {} | {} | {:.1} | {:.0} | {:.1} | {:.0} | {} | {:.2} | {:.3} | {:.1} | {:.0}% | {} | {} |\n",
            DESIGNS[row.design].label,
            row.clients,
            row.threads,
            row.hwm_kib as f64 / 1024.0,
            row.address_space_kib as f64 / 1024.0,
            row.kernel_stacks_kib as f64 / 1024.0,
            row.join_cpu_us,
            row.delivered,
            row.cpu_us_per_message,
            row.switches_per_message,
            row.cpu_us_per_keystroke,
            row.typing_busy * 100.0,
            duration(row.p50_us),
            duration(row.p99_us)
        ));
    }
    out
}

/// Replaces the text between the table markers in the page.
fn write_table(page: &Path, table: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(page).map_err(|e| format!("reading {}: {e}", page.display()))?;
    let (Some(start), Some(end)) = (text.find(TABLE_START), text.find(TABLE_END)) else {
        return Err(format!("{} has no `{TABLE_START}` ... `{TABLE_END}` markers", page.display()));
    };
    let updated = format!("{}{TABLE_START}\n{table}{}", &text[..start], &text[end..]);
    std::fs::write(page, updated).map_err(|e| format!("writing {}: {e}", page.display()))
}

/// A chart panel: its title and how to read its value from a row (`None`
/// where the run has no such value).
type Panel = (&'static str, fn(&Row) -> Option<f64>);

/// A hand-written SVG: six panels (threads, peak memory, CPU per join, per
/// message and per keystroke, p99 latency), each against the number of clients, both axes logarithmic
/// (the values span several powers of ten), one line per design. A run that
/// stopped early is drawn as a cross at its number of clients.
fn svg(rows: &[Row]) -> String {
    const W: f64 = 330.0;
    const H: f64 = 250.0;
    const COLUMNS: usize = 3;
    let ok = |r: &Row| r.failed.is_none();
    let panels: [Panel; 6] = [
        ("server threads", |r| Some(r.threads as f64)),
        ("peak resident memory (MiB)", |r| Some(r.hwm_kib as f64 / 1024.0)),
        ("CPU per client joining (µs)", |r| r.failed.is_none().then_some(r.join_cpu_us)),
        ("CPU per message delivered (µs)", |r| {
            r.failed.is_none().then_some(r.cpu_us_per_message)
        }),
        ("CPU per keystroke (µs)", |r| r.failed.is_none().then_some(r.cpu_us_per_keystroke)),
        ("p99 time to reach the room (ms)", |r| {
            r.failed.is_none().then_some(r.p99_us / 1000.0)
        }),
    ];
    let clients: Vec<usize> = {
        let mut c: Vec<usize> = rows.iter().map(|r| r.clients).collect();
        c.sort();
        c.dedup();
        c
    };
    let (lo, hi) = (
        (*clients.first().unwrap_or(&1) as f64).log10(),
        (*clients.last().unwrap_or(&10) as f64).log10(),
    );
    let span = if hi > lo { hi - lo } else { 1.0 };
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
        W * COLUMNS as f64,
        H * 2.0 + 30.0
    );
    for (p, (title, value)) in panels.iter().enumerate() {
        let x0 = (p % COLUMNS) as f64 * W + 50.0;
        let y0 = (p / COLUMNS) as f64 * H + 30.0;
        let (pw, ph) = (W - 75.0, H - 80.0);
        let values: Vec<f64> = rows.iter().filter_map(value).filter(|v| *v > 0.0).collect();
        // The y axis: whole powers of ten around the values.
        let ymin = values.iter().copied().fold(f64::INFINITY, f64::min);
        let ymax = values.iter().copied().fold(0.0_f64, f64::max);
        let (ylo, yhi) = if values.is_empty() {
            (0.0, 1.0)
        } else {
            let (a, b) = (ymin.log10().floor(), ymax.log10().ceil());
            (a, if b > a { b } else { a + 1.0 })
        };
        let ypos = |v: f64| y0 + ph - ph * ((v.max(10f64.powf(ylo)).log10() - ylo) / (yhi - ylo));
        let xpos = |n: usize| x0 + pw * ((n as f64).log10() - lo) / span;
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-weight=\"bold\">{title}</text>\n",
            x0 + pw / 2.0,
            y0 - 10.0
        ));
        out.push_str(&format!(
            "<polyline points=\"{x0},{y0} {x0},{} {},{}\" fill=\"none\" stroke=\"#444\"/>\n",
            y0 + ph,
            x0 + pw,
            y0 + ph
        ));
        let mut k = ylo;
        while k <= yhi {
            let y = ypos(10f64.powf(k));
            out.push_str(&format!(
                "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n<line x1=\"{x0}\" y1=\"{y:.1}\" x2=\"{}\" y2=\"{y:.1}\" stroke=\"#eee\"/>\n",
                x0 - 4.0,
                y + 4.0,
                short(10f64.powf(k)),
                x0 + pw
            ));
            k += 1.0;
        }
        for &n in &clients {
            out.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                xpos(n),
                y0 + ph + 14.0,
                short(n as f64)
            ));
        }
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">connected clients</text>\n",
            x0 + pw / 2.0,
            y0 + ph + 30.0
        ));
        for (d, design) in DESIGNS.iter().enumerate() {
            let mine: Vec<&Row> = rows.iter().filter(|r| r.design == d).collect();
            let points: Vec<(f64, f64)> = mine
                .iter()
                .filter(|r| ok(r))
                .filter_map(|r| value(r).map(|v| (xpos(r.clients), ypos(v))))
                .collect();
            let line: Vec<String> = points.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
            out.push_str(&format!(
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\n",
                line.join(" "),
                design.colour
            ));
            for (x, y) in &points {
                out.push_str(&format!(
                    "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"{}\"/>\n",
                    design.colour
                ));
            }
            for r in mine.iter().filter(|r| !ok(r)) {
                let (x, y) = (xpos(r.clients), y0 + ph - 8.0);
                out.push_str(&format!(
                    "<path d=\"M{} {} L{} {} M{} {} L{} {}\" stroke=\"{}\" stroke-width=\"2\"/>\n",
                    x - 5.0,
                    y - 5.0,
                    x + 5.0,
                    y + 5.0,
                    x - 5.0,
                    y + 5.0,
                    x + 5.0,
                    y - 5.0,
                    design.colour
                ));
            }
        }
    }
    let present: Vec<usize> = DESIGNS
        .iter()
        .enumerate()
        .map(|(d, _)| d)
        .filter(|d| rows.iter().any(|r| r.design == *d))
        .collect();
    for (i, &d) in present.iter().enumerate() {
        let x = 60.0 + i as f64 * 220.0;
        out.push_str(&format!(
            "<rect x=\"{x}\" y=\"{}\" width=\"14\" height=\"4\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>\n",
            H * 2.0 + 12.0,
            DESIGNS[d].colour,
            x + 20.0,
            H * 2.0 + 17.0,
            DESIGNS[d].label
        ));
    }
    if rows.iter().any(|r| !ok(r)) {
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\">× stopped before every client joined</text>\n",
            60.0 + present.len() as f64 * 220.0,
            H * 2.0 + 17.0
        ));
    }
    out.push_str("</svg>\n");
    out
}

/// A short axis label: 0.01, 0.1, 1, 10, 100, 1k, 10k.
fn short(v: f64) -> String {
    if v >= 1000.0 {
        format!("{}k", v / 1000.0)
    } else if v >= 1.0 {
        format!("{v:.0}")
    } else {
        // 0.1, 0.01, ...: as many decimals as the power of ten needs.
        let decimals = (-v.log10()).ceil() as usize;
        format!("{v:.decimals$}")
    }
}

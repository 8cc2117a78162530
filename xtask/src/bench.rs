//! `cargo xtask bench`: measures the exercise 01 server (a thread per client)
//! and the exercise 03 server (one thread, poll) with 10 to 1,000 connected
//! clients, and writes the table and chart that docs/src/03-nonblocking-select.md shows.
//!
//! This is a benchmark, not a test: nothing here passes or fails on a time.
//! For each server and each number of clients N it
//! 1. starts the release build of the reference solution;
//! 2. connects N clients and waits for every greeting;
//! 3. reads the server's threads (`/proc/PID/task`) and resident memory
//!    (`VmRSS` in `/proc/PID/status`) with the N clients connected;
//! 4. runs four probes at once, each making a fixed number of round trips,
//!    and reports round trips per second and the 50th and 99th percentile of
//!    their latency.
//!
//! A round trip is not the same work for both servers, and the chapter says
//! so: for the echo server it is one client's line coming back to it; for the
//! chat room it is one client's line reaching a second client, and on the
//! way the server also writes it to the N - 2 other (idle) members.

use grader::build::Cargo;
use grader::manifest::Manifest;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const DEFAULT_CLIENTS: &[usize] = &[10, 100, 500, 1000];
/// Probes running at the same time, each on its own thread.
const PROBES: usize = 4;
const DEFAULT_ROUND_TRIPS: usize = 250;
const CHAPTER: &str = "docs/src/03-nonblocking-select.md";
const CHART: &str = "docs/src/03-nonblocking-select-bench.svg";
const TABLE_START: &str = "<!-- bench-table:start (written by `cargo xtask bench`) -->";
const TABLE_END: &str = "<!-- bench-table:end -->";

#[derive(Clone, Copy, PartialEq)]
enum Workload {
    /// Exercise 01: the server sends each line back to its sender.
    Echo,
    /// Exercise 03: the server sends each line to every other client.
    Chat,
}

struct Server {
    label: &'static str,
    package: &'static str,
    workload: Workload,
}

const SERVERS: &[Server] = &[
    Server {
        label: "01 thread per client (echo)",
        package: "bind-listen-accept-solution",
        workload: Workload::Echo,
    },
    Server {
        label: "03 one thread, poll (chat)",
        package: "nonblocking-select-solution",
        workload: Workload::Chat,
    },
];

struct Row {
    server: usize,
    clients: usize,
    threads: usize,
    rss_kib: u64,
    round_trips_per_s: f64,
    p50_us: f64,
    p99_us: f64,
    writes_per_line: usize,
}

struct Args {
    clients: Vec<usize>,
    round_trips: usize,
    write: bool,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut parsed = Args {
        clients: DEFAULT_CLIENTS.to_vec(),
        round_trips: DEFAULT_ROUND_TRIPS,
        write: true,
    };
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
            }
            "--round-trips" => {
                let value = it.next().ok_or("--round-trips needs a number")?;
                parsed.round_trips = value.parse().map_err(|_| format!("--round-trips: `{value}` is not a number"))?;
            }
            "--no-write" => parsed.write = false,
            other => return Err(format!("unknown argument `{other}` for bench")),
        }
    }
    Ok(parsed)
}

pub fn run(manifest: &Manifest, args: &[String]) -> Result<ExitCode, String> {
    let args = parse(args)?;
    if !cfg!(target_os = "linux") {
        return Err("the benchmark reads /proc and runs on Linux only".into());
    }
    let max = args.clients.iter().copied().max().unwrap_or(0);
    // This process holds one socket per client, and so does each server,
    // which inherits the raised limit.
    let limit = grader::fdlimit::ensure_open_files(max as u64 + 100)?;
    let cargo = Cargo::for_workspace(&manifest.root, false);
    println!("building the reference servers (release) ...");
    let bin_dir = build_release(&cargo)?;
    println!(
        "{} probes x {} round trips per run; open-file limit {limit}\n",
        PROBES, args.round_trips
    );
    let mut rows = Vec::new();
    for (s, server) in SERVERS.iter().enumerate() {
        for &n in &args.clients {
            let row = measure(s, server, &bin_dir.join(server.package), n, args.round_trips)?;
            println!(
                "{:<30} {:>5} clients: {:>5} threads, {:>7.1} MiB, {:>8.0} round trips/s, p50 {:>7.0} µs, p99 {:>7.0} µs",
                server.label,
                n,
                row.threads,
                row.rss_kib as f64 / 1024.0,
                row.round_trips_per_s,
                row.p50_us,
                row.p99_us
            );
            rows.push(row);
        }
    }
    let table = table(&rows, args.round_trips);
    println!("\n{table}");
    if args.write {
        let chapter = manifest.root.join(CHAPTER);
        write_table(&chapter, &table)?;
        std::fs::write(manifest.root.join(CHART), svg(&rows)).map_err(|e| format!("writing {CHART}: {e}"))?;
        println!("wrote the table into {CHAPTER} and the chart to {CHART}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Builds both reference servers with optimisations; returns their folder.
fn build_release(cargo: &Cargo) -> Result<PathBuf, String> {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(program);
    command.current_dir(&cargo.root).args(["build", "--release", "--quiet"]);
    for server in SERVERS {
        command.args(["--package", server.package]);
    }
    command.arg("--target-dir").arg(&cargo.target_dir);
    let status = command.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("building the reference servers failed (see above)".into());
    }
    Ok(cargo.target_dir.join("release"))
}

/// A server process, killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A connected client that reads line by line.
struct Member {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    local: SocketAddr,
}

impl Member {
    fn line(&mut self) -> Result<Vec<u8>, String> {
        let mut line = Vec::new();
        match self.reader.read_until(b'\n', &mut line) {
            Ok(0) => Err("the server closed a connection".into()),
            Ok(_) => Ok(line),
            Err(e) => Err(format!("reading from the server: {e}")),
        }
    }
}

fn measure(s: usize, server: &Server, program: &Path, n: usize, round_trips: usize) -> Result<Row, String> {
    let mut child = Command::new(program)
        .arg("127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting {}: {e}", program.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let child = Running(child);
    let pid = child.0.id();
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .map_err(|e| format!("reading the server's first line: {e}"))?;
    let addr: SocketAddr = first
        .trim()
        .strip_prefix("listening on ")
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("{} printed {first:?}, not `listening on ADDR`", server.package))?;

    // Connect in batches smaller than the listen backlog, reading each
    // batch's greetings before the next.
    let mut members: Vec<Member> = Vec::with_capacity(n);
    while members.len() < n {
        let first = members.len();
        for _ in first..(first + 100).min(n) {
            let stream = TcpStream::connect(addr).map_err(|e| format!("connecting client {}: {e}", members.len() + 1))?;
            stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
            stream.set_nodelay(true).ok();
            let local = stream.local_addr().map_err(|e| e.to_string())?;
            let writer = stream.try_clone().map_err(|e| e.to_string())?;
            members.push(Member {
                reader: BufReader::new(stream),
                writer,
                local,
            });
        }
        for member in &mut members[first..] {
            member.line()?;
        }
    }
    let threads = std::fs::read_dir(format!("/proc/{pid}/task")).map(|d| d.count()).unwrap_or(0);
    let rss_kib = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0);

    // The probes: for the echo server one member each, for the chat room a
    // sender and a receiver each. The other members stay idle.
    let needed = if server.workload == Workload::Chat { 2 * PROBES } else { PROBES };
    let mut probes: Vec<Vec<Member>> = Vec::new();
    let mut rest = members.split_off(needed);
    std::mem::swap(&mut rest, &mut members);
    let mut iter = rest.into_iter();
    for _ in 0..PROBES {
        let take = if server.workload == Workload::Chat { 2 } else { 1 };
        probes.push(iter.by_ref().take(take).collect());
    }
    let started = Instant::now();
    let handles: Vec<_> = probes
        .into_iter()
        .enumerate()
        .map(|(p, mut pair)| {
            let workload = server.workload;
            std::thread::spawn(move || -> Result<Vec<Duration>, String> {
                let mut latencies = Vec::with_capacity(round_trips);
                for seq in 0..round_trips {
                    let line = format!("probe {p} round trip {seq:06}\n").into_bytes();
                    let sent = Instant::now();
                    pair[0].writer.write_all(&line).map_err(|e| e.to_string())?;
                    match workload {
                        Workload::Echo => {
                            let back = pair[0].line()?;
                            if back != line {
                                return Err(format!("the echo server sent back {:?}", String::from_utf8_lossy(&back)));
                            }
                        }
                        Workload::Chat => {
                            let mut expected = format!("{}: ", pair[0].local).into_bytes();
                            expected.extend_from_slice(&line);
                            // The receiver also gets the other probes' lines.
                            while pair[1].line()? != expected {}
                        }
                    }
                    latencies.push(sent.elapsed());
                }
                Ok(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for handle in handles {
        latencies.extend(handle.join().map_err(|_| "a probe thread panicked".to_string())??);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let percentile = |q: f64| {
        let i = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies.get(i).map(|d| d.as_secs_f64() * 1e6).unwrap_or(0.0)
    };
    // The idle members stay connected until the measurement is over.
    drop(members);
    drop(child);
    Ok(Row {
        server: s,
        clients: n,
        threads,
        rss_kib,
        round_trips_per_s: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50_us: percentile(0.50),
        p99_us: percentile(0.99),
        writes_per_line: if server.workload == Workload::Chat { n - 1 } else { 1 },
    })
}

fn table(rows: &[Row], round_trips: usize) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "Measured by `cargo xtask bench` on {} ({} CPUs): {PROBES} probes at once, {round_trips} round trips each.\n\n",
        std::env::consts::OS,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    ));
    out.push_str("| server | clients | threads | RSS (MiB) | writes per line | round trips/s | lines written/s | p50 (µs) | p99 (µs) |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for row in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {:.1} | {} | {:.0} | {:.0} | {:.0} | {:.0} |\n",
            SERVERS[row.server].label,
            row.clients,
            row.threads,
            row.rss_kib as f64 / 1024.0,
            row.writes_per_line,
            row.round_trips_per_s,
            row.round_trips_per_s * row.writes_per_line as f64,
            row.p50_us,
            row.p99_us
        ));
    }
    out
}

/// Replaces the text between the table markers in the chapter.
fn write_table(chapter: &Path, table: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(chapter).map_err(|e| format!("reading {}: {e}", chapter.display()))?;
    let (Some(start), Some(end)) = (text.find(TABLE_START), text.find(TABLE_END)) else {
        return Err(format!("{} has no `{TABLE_START}` ... `{TABLE_END}` markers", chapter.display()));
    };
    let updated = format!("{}{TABLE_START}\n{table}{}", &text[..start], &text[end..]);
    std::fs::write(chapter, updated).map_err(|e| format!("writing {}: {e}", chapter.display()))
}

/// A hand-written SVG: three panels (threads, memory, p99 latency) against
/// the number of clients on a logarithmic axis, one line per server.
/// A chart panel: its title and how to read its value from a row.
type Panel = (&'static str, fn(&Row) -> f64);

fn svg(rows: &[Row]) -> String {
    const W: f64 = 300.0;
    const H: f64 = 240.0;
    const COLOURS: [&str; 2] = ["#d1495b", "#00798c"];
    let panels: [Panel; 3] = [
        ("threads", |r| r.threads as f64),
        ("resident memory (MiB)", |r| r.rss_kib as f64 / 1024.0),
        ("p99 round trip (µs)", |r| r.p99_us),
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
        W * 3.0,
        H + 40.0
    );
    for (p, (title, value)) in panels.iter().enumerate() {
        let x0 = p as f64 * W + 50.0;
        let (pw, ph, y0) = (W - 70.0, H - 70.0, 30.0);
        let max = nice(rows.iter().map(value).fold(0.0_f64, f64::max).max(1.0));
        out.push_str(&format!(
            "<text x=\"{}\" y=\"18\" text-anchor=\"middle\" font-weight=\"bold\">{title}</text>\n",
            x0 + pw / 2.0
        ));
        out.push_str(&format!(
            "<polyline points=\"{x0},{y0} {x0},{} {},{}\" fill=\"none\" stroke=\"#444\"/>\n",
            y0 + ph,
            x0 + pw,
            y0 + ph
        ));
        for k in 0..=4 {
            let v = max * k as f64 / 4.0;
            let y = y0 + ph - ph * k as f64 / 4.0;
            out.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n<line x1=\"{x0}\" y1=\"{y:.1}\" x2=\"{}\" y2=\"{y:.1}\" stroke=\"#eee\"/>\n",
                x0 - 4.0,
                y + 4.0,
                short(v),
                x0 + pw
            ));
        }
        let xpos = |n: usize| x0 + pw * ((n as f64).log10() - lo) / span;
        for &n in &clients {
            out.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{n}</text>\n",
                xpos(n),
                y0 + ph + 14.0
            ));
        }
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">connected clients</text>\n",
            x0 + pw / 2.0,
            y0 + ph + 30.0
        ));
        for (s, colour) in COLOURS.iter().enumerate().take(SERVERS.len()) {
            let points: Vec<String> = rows
                .iter()
                .filter(|r| r.server == s)
                .map(|r| format!("{:.1},{:.1}", xpos(r.clients), y0 + ph - ph * value(r) / max))
                .collect();
            out.push_str(&format!(
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>\n",
                points.join(" ")
            ));
            for point in &points {
                let (x, y) = point.split_once(',').unwrap_or(("0", "0"));
                out.push_str(&format!("<circle cx=\"{x}\" cy=\"{y}\" r=\"3\" fill=\"{colour}\"/>\n"));
            }
        }
    }
    for (s, server) in SERVERS.iter().enumerate() {
        let x = 60.0 + s as f64 * 300.0;
        out.push_str(&format!(
            "<rect x=\"{x}\" y=\"{}\" width=\"14\" height=\"4\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>\n",
            H + 18.0,
            COLOURS[s],
            x + 20.0,
            H + 23.0,
            server.label
        ));
    }
    out.push_str("</svg>\n");
    out
}

/// The smallest of a few round numbers times a power of ten that is at least `v`:
/// the top of an axis whose quarters are round numbers.
fn nice(v: f64) -> f64 {
    let power = 10f64.powf(v.log10().floor());
    [1.0, 1.2, 1.6, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|&top| top >= v)
        .unwrap_or(10.0 * power)
}

/// A short axis label: 1200 -> 1.2k.
fn short(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if v >= 1000.0 {
        format!("{:.1}k", v / 1000.0)
    } else if v >= 10.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

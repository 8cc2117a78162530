//! `cargo xtask watch [EX]`: checks the exercise being worked on again
//! whenever a file under `exercises/` is saved, and moves on to the next one
//! when it passes.
//!
//! Changes are found by polling: every interval (1 s by default) the size and
//! modification time of every file under `exercises/` is compared with the
//! last look. File-change events (inotify, FSEvents) are lost on WSL2 with
//! Windows files and on network filesystems (rustlings issues #417, #444), and
//! polling works everywhere, so it is the only mechanism: one
//! `stat` per file per second costs nothing next to a build.
//!
//! Keys, each followed by Enter: `h` the next hint, `c` check again now,
//! `n` skip to the next exercise, `q` quit.

use crate::style::Style;
use grader::Kind;
use grader::manifest::Manifest;
use grader::runner::ExerciseStatus;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

/// After a change is seen, wait this long for the editor to finish writing
/// (many save through a temporary file and a rename) before building.
const SETTLE: Duration = Duration::from_millis(300);

enum Key {
    Hint,
    Check,
    Next,
    Quit,
}

pub fn run(manifest: &Manifest, args: &[String]) -> Result<ExitCode, String> {
    let mut interval = Duration::from_secs(1);
    let mut names = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--interval" => {
                let v = it.next().ok_or("--interval needs milliseconds")?;
                let ms: u64 = v.parse().map_err(|_| format!("--interval needs milliseconds, not `{v}`"))?;
                interval = Duration::from_millis(ms.max(50));
            }
            flag if flag.starts_with("--") => return Err(format!("unknown option `{flag}` for watch")),
            name => names.push(name.to_string()),
        }
    }
    if names.len() > 1 {
        return Err("usage: cargo xtask watch [EX] [--interval MS]".into());
    }
    let mut current = match names.first() {
        Some(name) => {
            let wanted = crate::select(manifest, std::slice::from_ref(name))?[0];
            manifest.exercises.iter().position(|e| e.id == wanted.id).unwrap_or(0)
        }
        None => 0,
    };
    if manifest.exercises.is_empty() {
        return Err("exercises.toml lists no exercises".into());
    }

    let keys = spawn_key_reader();
    let style = Style::for_stdout();
    let watched = manifest.root.join("exercises");
    let mut seen = snapshot(&watched);
    let seed = 1 + SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() % 1_000_000)
        .unwrap_or(0);
    let mut recheck = true;
    loop {
        if recheck {
            recheck = false;
            let exercise = &manifest.exercises[current];
            let reports = crate::check::check(manifest, &[exercise], Kind::Exercises, seed, style)?;
            if reports.iter().all(|r| r.status == ExerciseStatus::Passed) {
                if current + 1 == manifest.exercises.len() {
                    println!("\n{}", style.green("Every exercise passes. Well done!"));
                    return Ok(ExitCode::SUCCESS);
                }
                current += 1;
                println!("\n{} moving on to {}\n", style.green("Passed:"), manifest.exercises[current].id);
                recheck = true;
                continue;
            }
            println!(
                "\n{}",
                style.dim(&format!(
                    "Watching exercises/ for saved changes (polling every {} ms). Keys + Enter: h hint, c check, n next, q quit.",
                    interval.as_millis()
                ))
            );
        }
        match keys.recv_timeout(interval) {
            Ok(Key::Quit) => return Ok(ExitCode::SUCCESS),
            Ok(Key::Hint) => {
                let id = manifest.exercises[current].id.clone();
                crate::hint::run(manifest, &[id])?;
            }
            Ok(Key::Check) => recheck = true,
            Ok(Key::Next) => {
                current = (current + 1) % manifest.exercises.len();
                recheck = true;
            }
            Err(_) => {
                let now = snapshot(&watched);
                if now != seen {
                    // Let the editor finish, then take the state we will check.
                    std::thread::sleep(SETTLE);
                    seen = snapshot(&watched);
                    println!("\n{}\n", style.dim("A change was saved; checking again."));
                    recheck = true;
                }
            }
        }
    }
}

/// Size and modification time of every file under `dir`, skipping `target`
/// folders and `cargo xtask reset`'s backups.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, Option<SystemTime>)> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name == "target" || name == "backups" {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                found.insert(entry.path(), (meta.len(), meta.modified().ok()));
            }
        }
    }
    found
}

/// Reads keys from standard input on its own thread. When input ends (no
/// terminal, as in CI), the thread ends and watching goes on.
fn spawn_key_reader() -> mpsc::Receiver<Key> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            let key = match line.trim() {
                "q" | "quit" => Key::Quit,
                "h" | "hint" => Key::Hint,
                "n" | "next" => Key::Next,
                "c" | "check" | "" => Key::Check,
                _ => continue,
            };
            if tx.send(key).is_err() {
                break;
            }
        }
    });
    rx
}
